//! CURVE certificates (CZMQ's `zcert` and `zcertstore`): Z85 keys ([`PublicKey`],
//! [`SecretKey`], [`KeyPair`]), a [`Certificate`] with metadata in CZMQ's file format, and a
//! [`CertStore`] over a directory of client certificates that notices changed files.
//!
//! Keys, files and stores work with any libzmq. What needs CURVE itself (generating a key
//! pair, [`Certificate::apply`], [`Certificate::apply_server`], [`CurveClient::apply`]) returns [`Error::Unsupported`](crate::Error::Unsupported)
//! when the linked libzmq has none, as the `zmq` crate's own build has not ([`curve_available`]).
//! This crate carries no cryptography of its own: a key pair made without CURVE could not be
//! used by this libzmq anyway.

mod certificate;
mod client;
mod keys;
mod store;
mod zpl;

pub(crate) use certificate::read_password_file;
pub use certificate::{Certificate, FILE_MAX, secret_path};
pub use client::CurveClient;
pub use keys::{
    KEY_LEN, KeyPair, PublicKey, SecretKey, curve_available, require_curve, z85, z85_key,
};
pub use store::CertStore;
