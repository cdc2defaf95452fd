//! [`CurveClient`]: what a CURVE client socket needs, its own certificate and the server's key.

use crate::cert::{Certificate, PublicKey};
use crate::error::Result;

/// A CURVE client's keys: its own certificate (with the secret key) and the server's public
/// key, to set on each socket it connects with (a client that reconnects on a new socket, as
/// the Lazy Pirate and Majordomo clients do, sets them every time).
///
/// ```
/// use zmq_patterns::cert::{Certificate, CurveClient, KeyPair, PublicKey, SecretKey};
/// let cert = Certificate::from_pair(KeyPair { public: PublicKey([1; 32]), secret: SecretKey([2; 32]) });
/// let curve = CurveClient::new(cert, PublicKey([3; 32]));
/// let ctx = zmq::Context::new();
/// let socket = ctx.socket(zmq::DEALER).unwrap();
/// assert_eq!(curve.apply(&socket).is_ok(), zmq_patterns::cert::curve_available());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurveClient {
    /// The client's own certificate; it needs its secret key.
    pub cert: Certificate,
    /// The server's public key.
    pub server: PublicKey,
}

impl CurveClient {
    /// The keys of a client with this certificate, of the server with this public key.
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, CurveClient, PublicKey};
    /// let curve = CurveClient::new(Certificate::from_public(PublicKey([1; 32])), PublicKey([3; 32]));
    /// assert_eq!(curve.server, PublicKey([3; 32]));
    /// ```
    pub fn new(cert: Certificate, server: PublicKey) -> CurveClient {
        CurveClient { cert, server }
    }

    /// Sets the keys on `socket`, before it connects: the certificate's
    /// ([`Certificate::apply`]) and `ZMQ_CURVE_SERVERKEY`. [`Error::Unsupported`] without
    /// CURVE, [`Error::Protocol`] for a certificate without a secret key.
    ///
    /// [`Error::Unsupported`]: crate::Error::Unsupported
    /// [`Error::Protocol`]: crate::Error::Protocol
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, CurveClient, PublicKey};
    /// let curve = CurveClient::new(Certificate::from_public(PublicKey([1; 32])), PublicKey([3; 32]));
    /// let ctx = zmq::Context::new();
    /// assert!(curve.apply(&ctx.socket(zmq::DEALER).unwrap()).is_err()); // no secret key
    /// ```
    pub fn apply(&self, socket: &zmq::Socket) -> Result<()> {
        self.cert.apply(socket)?;
        socket.set_curve_serverkey(&self.server.0)?;
        Ok(())
    }
}
