//! Authentication (spec 27/ZAP): the protocol between libzmq and a handler as types
//! ([`ZapRequest`], [`ZapReply`], [`Metadata`]), and [`Authenticator`], a handler actor with
//! address lists, PLAIN passwords ([`Passwords`]) and CURVE certificates
//! ([`crate::cert`]), configured per domain: CZMQ's `zauth`, pyzmq's `ThreadAuthenticator`.
//!
//! A CURVE server is made with [`Certificate::apply_server`](crate::cert::Certificate::apply_server),
//! which is safe by default: it needs a running [`Authenticator`] for the socket, or
//! [`CurveClients::Any`] said explicitly ([`Error::Insecure`](crate::Error::Insecure)
//! otherwise).
//!
//! NULL and PLAIN work with every libzmq. CURVE needs a libzmq built with libsodium, which the
//! `zmq` crate's own build is not: the CURVE calls return
//! [`Error::Unsupported`](crate::Error::Unsupported) there ([`crate::cert::curve_available`]).
//!
//! The guide's security examples (CZMQ's `examples/security`) are ported on this module:
//! `grasslands`, `strawhouse`, `woodhouse`.

mod authenticator;
mod curve_server;
mod metadata;
mod passwords;
mod policy;
mod zap;

pub use authenticator::Authenticator;
pub use curve_server::CurveClients;
pub(crate) use curve_server::check_clients;
pub use metadata::{Metadata, NAME_MAX, metadata_name_is_valid};
pub use passwords::Passwords;
pub use policy::ANY_DOMAIN;
pub use zap::{
    CURVE_KEY_LEN, FIELD_MAX, Mechanism, Status, ZAP_ENDPOINT, ZAP_VERSION, ZapReply, ZapRequest,
};
