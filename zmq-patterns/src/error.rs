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
    /// An actor's thread failed: it panicked, returned an error before it was ready, or did not
    /// stop in time.
    Actor(String),
    /// An operating-system error outside libzmq.
    Io(std::io::Error),
    /// A Binary Star pair is broken ([`bstar::Refusal::DualActives`] or
    /// [`bstar::Refusal::DualPassives`](crate::bstar::Refusal)): the server must stop.
    ///
    /// [`bstar::Refusal::DualActives`]: crate::bstar::Refusal::DualActives
    Bstar(crate::bstar::Refusal),
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
            Error::Interrupted => Some(zmq::Error::EINTR),
            _ => None,
        }
    }

    /// True when the context was terminated (`ETERM`): the usual way out of a thread's loop.
    ///
    /// ```
    /// assert!(zmq_patterns::Error::from(zmq::Error::ETERM).is_terminated());
    /// ```
    pub fn is_terminated(&self) -> bool {
        matches!(self, Error::Zmq(zmq::Error::ETERM))
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
            Error::Bstar(refusal) => write!(f, "{refusal}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Zmq(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Bstar(refusal) => Some(refusal),
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
