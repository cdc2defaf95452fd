//! The crate's error type.

use std::fmt;

/// The result type of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in `zmq-patterns`.
///
/// A libzmq error keeps its [`zmq::Error`] code, except `EINTR`, which becomes
/// [`Error::Interrupted`] so that a Ctrl-C is easy to tell from a real failure:
///
/// ```
/// use zmq_patterns::Error;
/// let e: Error = zmq::Error::EINTR.into();
/// assert!(e.is_interrupted());
/// let e: Error = zmq::Error::EAGAIN.into();
/// assert_eq!(e.zmq(), Some(zmq::Error::EAGAIN));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// libzmq returned this error.
    Zmq(zmq::Error),
    /// A blocking call was interrupted by a signal (`EINTR`), usually Ctrl-C or SIGTERM.
    Interrupted,
    /// Nothing arrived within the time allowed: a timeout set on this crate's calls, or a
    /// socket's `RCVTIMEO` on a blocking receive (libzmq's `EAGAIN` there). The one timeout
    /// error of the crate; a non-blocking call that finds nothing says `Ok(None)` instead.
    Timeout,
    /// A peer sent a message that does not follow the protocol (read whole and dropped); the
    /// text says what is wrong.
    Protocol(String),
    /// Stored data (a file of a [`titanic::Store`](crate::titanic::Store)) is not what this
    /// crate writes: truncated, corrupt, or not a regular file. The text says which and why.
    Corrupt(String),
    /// An actor's thread failed: it panicked, ended before it was ready, or did not
    /// stop in time.
    Actor(String),
    /// An operating-system error outside libzmq.
    Io(std::io::Error),
    /// The linked libzmq cannot do what was asked: CURVE security in a libzmq built without
    /// libsodium, as the one the `zmq` crate compiles by default is. The text says what was
    /// asked and how to get it.
    ///
    /// ```
    /// use zmq_patterns::Error;
    /// let e = Error::Unsupported("CURVE".into());
    /// assert!(e.is_unsupported());
    /// ```
    Unsupported(String),
    /// A CURVE server socket would admit every client that knows its public key without the
    /// caller saying so: no ZAP handler runs in the socket's context (libzmq then lets every
    /// such client in), or the [`Authenticator`](crate::auth::Authenticator) given has no CURVE
    /// configuration for the socket's ZAP domain. Made by
    /// [`Certificate::apply_server`](crate::cert::Certificate::apply_server); the text says
    /// which, and that [`CurveClients::Any`](crate::auth::CurveClients::Any) is the explicit
    /// way to admit any client.
    ///
    /// ```
    /// use zmq_patterns::Error;
    /// let e = Error::Insecure("no ZAP handler".into());
    /// assert!(e.is_insecure());
    /// ```
    Insecure(String),
    /// A Binary Star pair is broken ([`bstar::Refusal::DualActives`] or
    /// [`bstar::Refusal::DualPassives`](crate::bstar::Refusal)): the server must stop.
    ///
    /// [`bstar::Refusal::DualActives`]: crate::bstar::Refusal::DualActives
    Bstar(crate::bstar::Refusal),
    /// A bind or connect failed; the error names the endpoint (libzmq's own says only
    /// `Address already in use`). Made by [`SocketExt::bind_to`](crate::SocketExt::bind_to) and
    /// [`SocketExt::connect_to`](crate::SocketExt::connect_to).
    ///
    /// ```
    /// use zmq_patterns::{EndpointAction, EndpointReason, Error};
    /// let e = Error::Endpoint {
    ///     action: EndpointAction::Bind,
    ///     endpoint: "tcp://*:5555".into(),
    ///     reason: EndpointReason::Zmq(zmq::Error::EADDRINUSE),
    /// };
    /// assert_eq!(e.to_string(), "cannot bind tcp://*:5555: Address already in use");
    /// assert!(e.is_endpoint() && e.is_address_in_use());
    /// ```
    Endpoint {
        /// What was tried.
        action: EndpointAction,
        /// The endpoint, as given.
        endpoint: String,
        /// Why it failed.
        reason: EndpointReason,
    },
}

/// What an [`Error::Endpoint`] tried: a bind or a connect.
///
/// ```
/// assert_eq!(zmq_patterns::EndpointAction::Connect.to_string(), "connect");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointAction {
    /// `zmq_bind`.
    Bind,
    /// `zmq_connect`.
    Connect,
}

impl fmt::Display for EndpointAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointAction::Bind => "bind",
            EndpointAction::Connect => "connect",
        })
    }
}

/// Why an [`Error::Endpoint`] bind or connect failed.
///
/// ```
/// use zmq_patterns::{EndpointAction, EndpointReason, Error};
/// let e = Error::Endpoint {
///     action: EndpointAction::Connect,
///     endpoint: "localhost:5555".into(),
///     reason: EndpointReason::NoTransport,
/// };
/// assert_eq!(
///     e.to_string(),
///     "cannot connect localhost:5555: an endpoint needs a transport, e.g. tcp://localhost:5555"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum EndpointReason {
    /// libzmq refused it: `EADDRINUSE`, `EINVAL` for a malformed address, `EPROTONOSUPPORT` for
    /// an unknown transport, `ETERM` for a terminated context...
    Zmq(zmq::Error),
    /// The endpoint has no `transport://` in front (`localhost:5555`), which libzmq refuses
    /// with a bare `Invalid argument`.
    NoTransport,
    /// The host of a `tcp://` connect does not resolve. libzmq would accept the connect and
    /// retry in the background for ever, silently; this crate checks first.
    UnknownHost {
        /// The host name, as given.
        host: String,
        /// What the resolver said.
        source: std::io::Error,
    },
}

impl Error {
    /// True when this error is [`Error::Interrupted`].
    ///
    /// ```
    /// assert!(zmq_patterns::Error::Interrupted.is_interrupted());
    /// ```
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted)
    }

    /// The libzmq error code, if this came from libzmq.
    ///
    /// ```
    /// use zmq_patterns::Error;
    /// assert_eq!(Error::from(zmq::Error::ETERM).zmq(), Some(zmq::Error::ETERM));
    /// assert_eq!(Error::Timeout.zmq(), None);
    /// ```
    pub fn zmq(&self) -> Option<zmq::Error> {
        match self {
            Error::Zmq(e) => Some(*e),
            Error::Endpoint {
                reason: EndpointReason::Zmq(e),
                ..
            } => Some(*e),
            Error::Interrupted => Some(zmq::Error::EINTR),
            _ => None,
        }
    }

    /// True when the context was terminated (`ETERM`): the usual way out of a thread's loop.
    /// A bind or connect on a terminated context ([`Error::Endpoint`]) counts too.
    ///
    /// ```
    /// assert!(zmq_patterns::Error::from(zmq::Error::ETERM).is_terminated());
    /// ```
    pub fn is_terminated(&self) -> bool {
        self.zmq() == Some(zmq::Error::ETERM)
    }

    /// True for the errors that mean "the program is being asked to stop": an interrupt or a
    /// terminated context. Loops of servers and workers end quietly on these.
    ///
    /// ```
    /// use zmq_patterns::Error;
    /// assert!(Error::Interrupted.is_shutdown());
    /// assert!(!Error::Timeout.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.is_interrupted() || self.is_terminated()
    }

    /// True when this error is [`Error::Protocol`]: a peer sent something unexpected, which was
    /// read whole and dropped.
    ///
    /// ```
    /// assert!(zmq_patterns::Error::protocol("two parts").is_protocol());
    /// ```
    pub fn is_protocol(&self) -> bool {
        matches!(self, Error::Protocol(_))
    }

    /// True when this error is [`Error::Timeout`].
    ///
    /// ```
    /// assert!(zmq_patterns::Error::Timeout.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }

    /// True when this error is [`Error::Corrupt`].
    ///
    /// ```
    /// assert!(zmq_patterns::Error::Corrupt("a truncated file".into()).is_corrupt());
    /// ```
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Error::Corrupt(_))
    }

    /// True when this error is [`Error::Unsupported`]: the linked libzmq lacks a capability
    /// (CURVE).
    ///
    /// ```
    /// let e = zmq_patterns::cert::KeyPair::generate();
    /// if zmq::has("curve") != Some(true) {
    ///     assert!(e.unwrap_err().is_unsupported());
    /// }
    /// ```
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported(_))
    }

    /// True when this error is [`Error::Insecure`]: a CURVE server socket was asked for with
    /// nothing to check its clients.
    ///
    /// ```
    /// assert!(zmq_patterns::Error::Insecure("no ZAP handler".into()).is_insecure());
    /// assert!(!zmq_patterns::Error::Timeout.is_insecure());
    /// ```
    pub fn is_insecure(&self) -> bool {
        matches!(self, Error::Insecure(_))
    }

    /// The Binary Star refusal, when this error is [`Error::Bstar`].
    ///
    /// ```
    /// use zmq_patterns::{bstar::Refusal, Error};
    /// assert_eq!(Error::Bstar(Refusal::DualActives).bstar(), Some(Refusal::DualActives));
    /// assert_eq!(Error::Timeout.bstar(), None);
    /// ```
    pub fn bstar(&self) -> Option<crate::bstar::Refusal> {
        match self {
            Error::Bstar(refusal) => Some(*refusal),
            _ => None,
        }
    }

    /// True when this error is [`Error::Endpoint`]: a bind or connect failed.
    ///
    /// ```
    /// use zmq_patterns::SocketExt;
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PUB).unwrap();
    /// assert!(s.bind_to("*:5555").unwrap_err().is_endpoint());
    /// ```
    pub fn is_endpoint(&self) -> bool {
        matches!(self, Error::Endpoint { .. })
    }

    /// True when a bind failed because the address is taken (`EADDRINUSE`): another program,
    /// or another copy of this one, is bound there.
    ///
    /// ```
    /// use zmq_patterns::SocketExt;
    /// let ctx = zmq::Context::new();
    /// let (a, b) = (ctx.socket(zmq::PUB).unwrap(), ctx.socket(zmq::PUB).unwrap());
    /// a.bind_to("inproc://taken").unwrap();
    /// assert!(b.bind_to("inproc://taken").unwrap_err().is_address_in_use());
    /// ```
    pub fn is_address_in_use(&self) -> bool {
        self.zmq() == Some(zmq::Error::EADDRINUSE)
    }

    /// A [`Error::Protocol`] error with this text.
    ///
    /// ```
    /// let e = zmq_patterns::Error::protocol("empty message");
    /// assert_eq!(e.to_string(), "protocol error: empty message");
    /// ```
    pub fn protocol(what: impl Into<String>) -> Error {
        Error::Protocol(what.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Zmq(e) => write!(f, "{e}"),
            Error::Interrupted => f.write_str("interrupted"),
            Error::Timeout => f.write_str("timed out"),
            Error::Protocol(what) => write!(f, "protocol error: {what}"),
            Error::Corrupt(what) => write!(f, "corrupt data: {what}"),
            Error::Actor(what) => write!(f, "actor failed: {what}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::Insecure(what) => write!(f, "insecure: {what}"),
            Error::Bstar(refusal) => write!(f, "{refusal}"),
            Error::Endpoint {
                action,
                endpoint,
                reason,
            } => {
                write!(f, "cannot {action} {endpoint}: ")?;
                match reason {
                    EndpointReason::Zmq(e) => write!(f, "{e}"),
                    EndpointReason::NoTransport => {
                        write!(f, "an endpoint needs a transport, e.g. tcp://{endpoint}")
                    }
                    EndpointReason::UnknownHost { host, source } => {
                        write!(f, "unknown host {host} ({source})")
                    }
                }
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // These print their inner error as their own text: returning it as the source
            // too would print it twice in a chain (`{:#}` of anyhow: `Address already in use:
            // Address already in use`). An io::Error's own source, if it has one, is next.
            Error::Io(e) => std::error::Error::source(e),
            // An endpoint error's text already says why (`cannot bind X: Address already in
            // use`), the same.
            _ => None,
        }
    }
}

impl From<zmq::Error> for Error {
    fn from(e: zmq::Error) -> Self {
        match e {
            zmq::Error::EINTR => Error::Interrupted,
            e => Error::Zmq(e),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::Interrupted {
            Error::Interrupted
        } else {
            Error::Io(e)
        }
    }
}

/// A send that failed, with the message handed back so that it can be sent again (for example
/// after `EAGAIN`) without a copy. C's `zmsg_send` leaked or double-freed here; Rust gives the
/// message back.
///
/// ```
/// use zmq_patterns::{Msg, SendError};
/// let ctx = zmq::Context::new();
/// let dealer = ctx.socket(zmq::DEALER).unwrap(); // no peer: a non-blocking send fails
/// let msg = Msg::from_iter(["hello", "world"]);
/// let SendError { error, msg } = msg.try_send(&dealer).unwrap_err();
/// assert_eq!(error.zmq(), Some(zmq::Error::EAGAIN));
/// assert_eq!(msg.len(), 2); // nothing lost
/// ```
#[derive(Debug)]
pub struct SendError<T> {
    /// Why the send failed.
    pub error: Error,
    /// What was not sent. For a multipart message whose first part went out, the parts that
    /// did not (libzmq sends the rest of a message once its first part is accepted, so in
    /// practice this is the whole message).
    pub msg: T,
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "send failed: {}", self.error)
    }
}

impl<T: fmt::Debug> std::error::Error for SendError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Self {
        e.error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eintr_is_interrupted_and_others_keep_their_code() {
        assert!(Error::from(zmq::Error::EINTR).is_interrupted());
        assert!(Error::from(zmq::Error::ETERM).is_terminated());
        assert!(!Error::from(zmq::Error::EAGAIN).is_shutdown());
        let io = std::io::Error::from(std::io::ErrorKind::Interrupted);
        assert!(Error::from(io).is_interrupted());
    }

    /// An error chain (`{:#}` of anyhow, or walking `source()`) says each thing once.
    #[test]
    fn a_chain_does_not_repeat_the_inner_error() {
        let errors = [
            Error::from(zmq::Error::EADDRINUSE),
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "cannot bind UDP port 9999: Address already in use",
            )),
        ];
        for e in errors {
            let mut chain = vec![e.to_string()];
            let mut next = std::error::Error::source(&e);
            while let Some(inner) = next {
                chain.push(inner.to_string());
                next = inner.source();
            }
            assert_eq!(chain.len(), 1, "{chain:?}");
        }
    }

    #[test]
    fn send_error_converts_to_error() {
        let e: Error = SendError {
            error: Error::Timeout,
            msg: (),
        }
        .into();
        assert!(matches!(e, Error::Timeout));
    }
}
