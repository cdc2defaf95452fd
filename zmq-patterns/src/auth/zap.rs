//! The ZeroMQ Authentication Protocol (spec 27/ZAP) as types: [`ZapRequest`] that libzmq sends
//! to the handler, [`ZapReply`] that the handler answers with. Parsing is strict and never
//! panics; what parses builds back to the same frames.

use std::fmt;

use crate::auth::Metadata;
use crate::error::{Error, Result};
use crate::msg::Msg;

/// The endpoint a ZAP handler binds (a REP socket, or a ROUTER) in the servers' context.
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The one protocol version there is: `1.0`, the first frame of every request and reply.
pub const ZAP_VERSION: &str = "1.0";

/// The length of a CURVE public key in bytes.
pub const CURVE_KEY_LEN: usize = 32;

/// The security mechanism a client used, with its credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `NULL`: no credentials (zero frames).
    Null,
    /// `PLAIN`: a user name and a password (two frames), in clear text.
    Plain {
        /// The user name (`ZMQ_PLAIN_USERNAME`).
        username: String,
        /// The password (`ZMQ_PLAIN_PASSWORD`).
        password: String,
    },
    /// `CURVE`: the client's long-term public key (one frame of 32 bytes).
    Curve {
        /// The key, binary.
        public_key: [u8; CURVE_KEY_LEN],
    },
}

impl Mechanism {
    /// Its name on the wire: `NULL`, `PLAIN` or `CURVE`.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::auth::Mechanism::Null.name(), "NULL");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::Null => "NULL",
            Mechanism::Plain { .. } => "PLAIN",
            Mechanism::Curve { .. } => "CURVE",
        }
    }
}

impl fmt::Debug for Mechanism {
    /// Never shows a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mechanism::Null => f.write_str("Null"),
            Mechanism::Plain { username, .. } => f
                .debug_struct("Plain")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Mechanism::Curve { public_key } => f
                .debug_struct("Curve")
                .field("public_key", &crate::cert::z85(public_key))
                .finish(),
        }
    }
}

/// A ZAP request: what libzmq asks the handler about a connecting client.
///
/// ```text
/// "1.0" | request id | domain | address | routing id | mechanism | credentials...
/// ```
///
/// ```
/// use zmq_patterns::auth::{Mechanism, ZapRequest};
/// use zmq_patterns::Msg;
/// let msg = Msg::from_iter(["1.0", "7", "global", "127.0.0.1", "", "PLAIN", "admin", "secret"]);
/// let request = ZapRequest::parse(&msg)?;
/// assert_eq!(request.address, "127.0.0.1");
/// assert!(matches!(&request.mechanism, Mechanism::Plain { username, .. } if username == "admin"));
/// assert_eq!(request.to_msg(), msg);
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// Opaque; the reply echoes it.
    pub request_id: Vec<u8>,
    /// The server socket's `ZMQ_ZAP_DOMAIN` (may be empty).
    pub domain: String,
    /// The client's IP address, as text (`127.0.0.1`, `::1`).
    pub address: String,
    /// The connection's routing id (`ZMQ_ROUTING_ID` of the client), often empty.
    pub identity: Vec<u8>,
    /// The mechanism and its credentials.
    pub mechanism: Mechanism,
}

/// The longest string field, and the longest identity, in bytes: "All string fields are at
/// most 255 characters and are ASCII only."
pub const FIELD_MAX: usize = 255;

/// A string field: ASCII, at most [`FIELD_MAX`] bytes.
fn text(msg: &Msg, index: usize, what: &str) -> Result<String> {
    let frame = msg
        .get(index)
        .ok_or_else(|| Error::protocol(format!("zap: no {what} frame")))?;
    if frame.len() > FIELD_MAX {
        return Err(Error::protocol(format!(
            "zap: a {what} of {} bytes, at most {FIELD_MAX}",
            frame.len()
        )));
    }
    match frame.as_str() {
        Some(s) if s.is_ascii() => Ok(s.to_string()),
        _ => Err(Error::protocol(format!("zap: the {what} is not ASCII"))),
    }
}

/// `text` made fit for a string field: ASCII (others become `?`), at most [`FIELD_MAX`].
fn fit(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .take(FIELD_MAX)
        .collect()
}

impl ZapRequest {
    /// Parses a request strictly: version `1.0`; a domain, address and mechanism that are
    /// ASCII strings of at most 255 bytes, an identity of at most 255; mechanism `NULL` with no
    /// credential frame, `PLAIN` with two (strings as the others), `CURVE` with one of exactly
    /// 32 bytes. An empty domain is accepted: libzmq sends one for a server socket without a
    /// ZAP domain, although the spec asks for a non-empty string. Anything else is [`Error::Protocol`] saying what is wrong
    /// (answer it with [`ZapReply::malformed`]); never a panic.
    ///
    /// ```
    /// use zmq_patterns::{auth::ZapRequest, Msg};
    /// assert!(ZapRequest::parse(&Msg::from_iter(["1.0", "1", "", "::1", "", "NULL"])).is_ok());
    /// for bad in [
    ///     &["2.0", "1", "", "::1", "", "NULL"][..],     // version
    ///     &["1.0", "1", "", "::1", "", "NULL", "x"],    // NULL has no credentials
    ///     &["1.0", "1", "", "::1", "", "PLAIN", "user"], // PLAIN has two
    ///     &["1.0", "1", "", "::1", "", "CURVE", "short"], // a key is 32 bytes
    ///     &["1.0", "1", "", "::1", "", "GSSAPI", "me"],  // not a mechanism served here
    ///     &["1.0", "1", "", "::1", ""],                  // no mechanism
    /// ] {
    ///     assert!(ZapRequest::parse(&Msg::from_iter(bad.iter().copied())).is_err());
    /// }
    /// ```
    pub fn parse(msg: &Msg) -> Result<ZapRequest> {
        let version = msg
            .front()
            .ok_or_else(|| Error::protocol("zap: an empty request"))?;
        if version.as_bytes() != ZAP_VERSION.as_bytes() {
            return Err(Error::protocol(format!(
                "zap: version {:.16}, not {ZAP_VERSION}",
                version.to_string_lossy()
            )));
        }
        if msg.len() < 6 {
            return Err(Error::protocol(format!(
                "zap: a request of {} frames, at least 6 needed",
                msg.len()
            )));
        }
        let request_id = msg[1].to_vec();
        let domain = text(msg, 2, "domain")?;
        let address = text(msg, 3, "address")?;
        let identity = msg[4].to_vec();
        if identity.len() > FIELD_MAX {
            return Err(Error::protocol(format!(
                "zap: an identity of {} bytes, at most {FIELD_MAX}",
                identity.len()
            )));
        }
        let name = text(msg, 5, "mechanism")?;
        let credentials = msg.len() - 6;
        let count = |wanted: usize| {
            if credentials == wanted {
                Ok(())
            } else {
                Err(Error::protocol(format!(
                    "zap: {name} with {credentials} credential frames, not {wanted}"
                )))
            }
        };
        let mechanism = match name.as_str() {
            "NULL" => {
                count(0)?;
                Mechanism::Null
            }
            "PLAIN" => {
                count(2)?;
                Mechanism::Plain {
                    username: text(msg, 6, "user name")?,
                    password: text(msg, 7, "password")?,
                }
            }
            "CURVE" => {
                count(1)?;
                let public_key = msg[6].as_bytes().try_into().map_err(|_| {
                    Error::protocol(format!(
                        "zap: a CURVE key of {} bytes, not {CURVE_KEY_LEN}",
                        msg[6].len()
                    ))
                })?;
                Mechanism::Curve { public_key }
            }
            other => {
                return Err(Error::protocol(format!(
                    "zap: mechanism {other:.16} is not NULL, PLAIN or CURVE"
                )));
            }
        };
        Ok(ZapRequest {
            request_id,
            domain,
            address,
            identity,
            mechanism,
        })
    }

    /// The request as frames.
    ///
    /// ```
    /// use zmq_patterns::auth::{Mechanism, ZapRequest};
    /// let request = ZapRequest {
    ///     request_id: b"1".to_vec(),
    ///     domain: String::new(),
    ///     address: "10.0.0.1".into(),
    ///     identity: vec![],
    ///     mechanism: Mechanism::Null,
    /// };
    /// assert_eq!(request.to_msg().len(), 6);
    /// ```
    pub fn to_msg(&self) -> Msg {
        let mut msg = Msg::from_iter([ZAP_VERSION.as_bytes(), &self.request_id]);
        msg.push_back(self.domain.as_str());
        msg.push_back(self.address.as_str());
        msg.push_back(&self.identity[..]);
        msg.push_back(self.mechanism.name());
        match &self.mechanism {
            Mechanism::Null => {}
            Mechanism::Plain { username, password } => {
                msg.push_back(username.as_str());
                msg.push_back(password.as_str());
            }
            Mechanism::Curve { public_key } => msg.push_back(&public_key[..]),
        }
        msg
    }
}

/// A ZAP status code: the only four the spec has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `200`: the client is authenticated.
    Success,
    /// `300`: a temporary error; the client may retry.
    TemporaryError,
    /// `400`: authentication failed (also the answer to a malformed request).
    AuthFailure,
    /// `500`: the handler failed.
    InternalError,
}

impl Status {
    /// The three digits on the wire.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::auth::Status::AuthFailure.code(), "400");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            Status::Success => "200",
            Status::TemporaryError => "300",
            Status::AuthFailure => "400",
            Status::InternalError => "500",
        }
    }

    /// The status of a code, exactly `200`, `300`, `400` or `500`.
    ///
    /// ```
    /// use zmq_patterns::auth::Status;
    /// assert_eq!(Status::from_code(b"200"), Some(Status::Success));
    /// assert_eq!(Status::from_code(b"201"), None);
    /// ```
    pub fn from_code(code: &[u8]) -> Option<Status> {
        match code {
            b"200" => Some(Status::Success),
            b"300" => Some(Status::TemporaryError),
            b"400" => Some(Status::AuthFailure),
            b"500" => Some(Status::InternalError),
            _ => None,
        }
    }
}

/// A ZAP reply: the handler's decision.
///
/// ```text
/// "1.0" | request id | status code | status text | user id | metadata
/// ```
///
/// ```
/// use zmq_patterns::auth::{Metadata, Status, ZapReply};
/// let reply = ZapReply::success(b"7".to_vec(), "admin", Metadata::new());
/// let msg = reply.to_msg();
/// assert!(msg[2] == "200" && msg[4] == "admin");
/// assert_eq!(ZapReply::parse(&msg)?, reply);
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapReply {
    /// The request's id, echoed.
    pub request_id: Vec<u8>,
    /// The decision.
    pub status: Status,
    /// Why, for a person (`OK`, `No access`...).
    pub status_text: String,
    /// Who the client is, for the application (`zmq::Message::gets("User-Id")`); empty for
    /// nobody in particular.
    pub user_id: String,
    /// Properties libzmq attaches to the client's messages.
    pub metadata: Metadata,
}

impl ZapReply {
    /// A `200 OK` for `user_id` (made ASCII and at most 255 bytes), with these properties.
    ///
    /// ```
    /// let reply = zmq_patterns::auth::ZapReply::success(vec![], "", Default::default());
    /// assert_eq!(reply.status_text, "OK");
    /// ```
    pub fn success(request_id: Vec<u8>, user_id: &str, metadata: Metadata) -> ZapReply {
        ZapReply {
            request_id,
            status: Status::Success,
            status_text: "OK".into(),
            user_id: fit(user_id),
            metadata,
        }
    }

    /// A `400` with this text (made ASCII and at most 255 bytes), no user id.
    ///
    /// ```
    /// let reply = zmq_patterns::auth::ZapReply::denied(b"9".to_vec(), "No access");
    /// assert_eq!(reply.status.code(), "400");
    /// ```
    pub fn denied(request_id: Vec<u8>, why: &str) -> ZapReply {
        ZapReply {
            request_id,
            status: Status::AuthFailure,
            status_text: fit(why),
            user_id: String::new(),
            metadata: Metadata::new(),
        }
    }

    /// The `400` answer to a request that did not parse: its second frame (if any) as the id,
    /// the parser's complaint as the text.
    ///
    /// ```
    /// use zmq_patterns::{auth::{ZapReply, ZapRequest}, Msg};
    /// let msg = Msg::from_iter(["0.9", "42"]);
    /// let error = ZapRequest::parse(&msg).unwrap_err();
    /// let reply = ZapReply::malformed(&msg, &error);
    /// assert_eq!(reply.request_id, b"42");
    /// assert_eq!(reply.status.code(), "400");
    /// ```
    pub fn malformed(msg: &Msg, error: &Error) -> ZapReply {
        let id = msg.get(1).map(|f| f.to_vec()).unwrap_or_default();
        let text = match error {
            Error::Protocol(what) => what.clone(),
            other => other.to_string(),
        };
        ZapReply::denied(id, &text)
    }

    /// The reply as frames.
    ///
    /// ```
    /// let msg = zmq_patterns::auth::ZapReply::denied(vec![], "No").to_msg();
    /// assert_eq!(msg.len(), 6);
    /// ```
    pub fn to_msg(&self) -> Msg {
        let mut msg = Msg::from_iter([ZAP_VERSION.as_bytes(), &self.request_id]);
        msg.push_back(self.status.code());
        msg.push_back(self.status_text.as_str());
        msg.push_back(self.user_id.as_str());
        msg.push_back(self.metadata.encode());
        msg
    }

    /// Parses a reply strictly: six frames, version `1.0`, one of the four status codes,
    /// ASCII status text and user id of at most 255 bytes, no user id unless the status is
    /// `200`, well-formed metadata; [`Error::Protocol`] otherwise.
    ///
    /// ```
    /// use zmq_patterns::{auth::ZapReply, Msg};
    /// assert!(ZapReply::parse(&Msg::from_iter(["1.0", "1", "200", "OK", "", ""])).is_ok());
    /// assert!(ZapReply::parse(&Msg::from_iter(["1.0", "1", "201", "OK", "", ""])).is_err());
    /// ```
    pub fn parse(msg: &Msg) -> Result<ZapReply> {
        if msg.len() != 6 {
            return Err(Error::protocol(format!(
                "zap: a reply of {} frames, not 6",
                msg.len()
            )));
        }
        if msg[0].as_bytes() != ZAP_VERSION.as_bytes() {
            return Err(Error::protocol("zap: a reply version that is not 1.0"));
        }
        let status = Status::from_code(&msg[2]).ok_or_else(|| {
            Error::protocol(format!(
                "zap: status {:.16} is not 200, 300, 400 or 500",
                msg[2].to_string_lossy()
            ))
        })?;
        let user_id = text(msg, 4, "user id")?;
        if status != Status::Success && !user_id.is_empty() {
            return Err(Error::protocol(format!(
                "zap: a user id with status {}",
                status.code()
            )));
        }
        Ok(ZapReply {
            request_id: msg[1].to_vec(),
            status,
            status_text: text(msg, 3, "status text")?,
            user_id,
            metadata: Metadata::parse(&msg[5])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(frames: &[&[u8]]) -> Msg {
        Msg::from_iter(frames.iter().copied())
    }

    #[test]
    fn each_mechanism_has_its_frame_count() {
        let head: &[&[u8]] = &[b"1.0", b"1", b"d", b"127.0.0.1", b""];
        let with = |mech: &[u8], creds: &[&[u8]]| {
            let mut frames = head.to_vec();
            frames.push(mech);
            frames.extend_from_slice(creds);
            ZapRequest::parse(&msg(&frames))
        };
        assert!(with(b"NULL", &[]).is_ok());
        assert!(with(b"NULL", &[b""]).is_err());
        assert!(with(b"PLAIN", &[b"u", b"p"]).is_ok());
        assert!(with(b"PLAIN", &[b"u"]).is_err());
        assert!(with(b"PLAIN", &[b"u", b"p", b"x"]).is_err());
        assert!(with(b"PLAIN", &[b"\xff", b"p"]).is_err());
        assert!(with(b"PLAIN", &["é".as_bytes(), b"p"]).is_err()); // UTF-8, not ASCII
        assert!(with(b"PLAIN", &[b"u", &[b'p'; 256]]).is_err());
        assert!(with(b"PLAIN", &[b"u", &[b'p'; 255]]).is_ok());
        assert!(with(b"CURVE", &[&[7; 32]]).is_ok());
        assert!(with(b"CURVE", &[&[7; 31]]).is_err());
        assert!(with(b"CURVE", &[&[7; 32], b""]).is_err());
        assert!(with(b"CURVE", &[]).is_err());
        assert!(with(b"null", &[]).is_err());
        assert!(ZapRequest::parse(&Msg::new()).is_err());
        // An identity of at most 255 bytes
        let long = [7u8; 256];
        let id: &[&[u8]] = &[b"1.0", b"1", b"", b"::1", &long[..255], b"NULL"];
        assert!(ZapRequest::parse(&msg(id)).is_ok());
        let id: &[&[u8]] = &[b"1.0", b"1", b"", b"::1", &long, b"NULL"];
        assert!(ZapRequest::parse(&msg(id)).is_err());
    }

    #[test]
    fn a_password_never_shows_in_debug() {
        let m = Mechanism::Plain {
            username: "admin".into(),
            password: "secret".into(),
        };
        assert!(!format!("{m:?}").contains("secret"));
    }

    #[test]
    fn replies_have_the_four_codes_only() {
        for code in ["200", "300", "400", "500"] {
            let reply = ZapReply::parse(&msg(&[b"1.0", b"", code.as_bytes(), b"", b"", b""]));
            assert_eq!(reply.unwrap().status.code(), code);
        }
        for code in ["100", "2000", "", "20"] {
            assert!(ZapReply::parse(&msg(&[b"1.0", b"", code.as_bytes(), b"", b"", b""])).is_err());
        }
        assert!(ZapReply::parse(&msg(&[b"1.1", b"", b"200", b"", b"", b""])).is_err());
        assert!(ZapReply::parse(&msg(&[b"1.0", b"", b"200", b"", b""])).is_err());
        // "For other statuses, it SHALL be empty."
        assert!(ZapReply::parse(&msg(&[b"1.0", b"", b"200", b"", b"joe", b""])).is_ok());
        assert!(ZapReply::parse(&msg(&[b"1.0", b"", b"400", b"", b"joe", b""])).is_err());
        // What the handler builds always parses, whatever text it is given
        let reply = ZapReply::denied(vec![], &"é".repeat(300));
        assert_eq!(ZapReply::parse(&reply.to_msg()).unwrap(), reply);
        assert_eq!(reply.status_text.len(), FIELD_MAX);
    }
}
