//! The Freelance Protocol (spec 10/FLP) as types: what a server reads ([`ServerInput`]) and
//! what a client reads ([`FromServer`]), each parsed from a message as it comes off a ROUTER
//! socket (address first) and built back into one.
//!
//! - A ping is one frame, `PING`; the server answers one frame, `PONG`.
//! - A request is two or more frames: the client control frame (CCF), then the body. The server
//!   answers with the CCF unmodified, then one or more frames of reply body.

use crate::error::{Error, Result};
use crate::{Frame, Msg};

/// The ping command, one frame.
pub const PING: &str = "PING";
/// The answer to a ping, one frame.
pub const PONG: &str = "PONG";

/// A message a Freelance server reads from its ROUTER socket.
///
/// ```
/// use zmq_patterns::freelance::ServerInput;
/// use zmq_patterns::Msg;
/// let input = ServerInput::parse(Msg::from_iter(["client-1", "PING"])).unwrap();
/// assert!(matches!(input, ServerInput::Ping { .. }));
/// let input = ServerInput::parse(Msg::from_iter(["client-1", "7", "random name"])).unwrap();
/// let ServerInput::Request(request) = input else { panic!("a request") };
/// assert!(request.control == "7");
/// assert!(ServerInput::parse(Msg::from_iter(["client-1", "HELLO"])).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerInput {
    /// `[client]["PING"]`: the server must answer `PONG`.
    Ping {
        /// The client's address (the ROUTER's identity frame).
        client: Frame,
    },
    /// `[client][control][body...]`: a request.
    Request(Request),
}

/// A request a Freelance server has read: who sent it, its control frame and its body.
///
/// ```
/// use zmq_patterns::freelance::{Request, ServerInput};
/// use zmq_patterns::Msg;
/// let ServerInput::Request(request) =
///     ServerInput::parse(Msg::from_iter(["client-1", "7", "random name"])).unwrap()
/// else { panic!() };
/// let reply = request.reply(Msg::from_iter(["OK"]));
/// assert_eq!(reply, Msg::from_iter(["client-1", "7", "OK"]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The client's address (the ROUTER's identity frame).
    pub client: Frame,
    /// The client control frame: the server returns it unmodified.
    pub control: Frame,
    /// The request body, one frame or more.
    pub body: Msg,
}

impl Request {
    /// The reply to this request, ready to send on the server's ROUTER socket:
    /// `[client][control][body...]`. An empty `body` becomes one empty frame, since a reply
    /// has at least one frame of body.
    ///
    /// ```
    /// # use zmq_patterns::freelance::Request;
    /// # use zmq_patterns::{Frame, Msg};
    /// let request = Request { client: "c".into(), control: "1".into(), body: Msg::from_iter(["x"]) };
    /// assert_eq!(request.reply(Msg::new()), Msg::from_iter(["c", "1", ""]));
    /// ```
    pub fn reply(self, mut body: Msg) -> Msg {
        if body.is_empty() {
            body.push_back(Frame::empty());
        }
        body.push_front(self.control);
        body.push_front(self.client);
        body
    }
}

impl ServerInput {
    /// Parses a message as read from a server's ROUTER socket. Anything but
    /// `[client]["PING"]` or `[client][control][body...]` (at least one body frame) is
    /// [`Error::Protocol`].
    ///
    /// ```
    /// use zmq_patterns::freelance::ServerInput;
    /// use zmq_patterns::Msg;
    /// assert!(ServerInput::parse(Msg::new()).unwrap_err().is_protocol());
    /// assert!(ServerInput::parse(Msg::from_iter(["client-1"])).is_err());
    /// ```
    pub fn parse(mut msg: Msg) -> Result<ServerInput> {
        let client = msg
            .pop_front()
            .ok_or_else(|| Error::protocol("empty message"))?;
        match msg.len() {
            0 => Err(Error::protocol("no command after the address")),
            1 if msg[0] == PING => Ok(ServerInput::Ping { client }),
            1 => Err(Error::protocol(format!(
                "one-frame command {:?} is not PING",
                msg[0].to_string_lossy()
            ))),
            _ => {
                let control = msg
                    .pop_front()
                    .ok_or_else(|| Error::protocol("no control frame"))?;
                Ok(ServerInput::Request(Request {
                    client,
                    control,
                    body: msg,
                }))
            }
        }
    }

    /// The message this input was parsed from.
    ///
    /// ```
    /// use zmq_patterns::freelance::ServerInput;
    /// use zmq_patterns::Msg;
    /// let msg = Msg::from_iter(["c", "PING"]);
    /// assert_eq!(ServerInput::parse(msg.clone()).unwrap().into_msg(), msg);
    /// ```
    pub fn into_msg(self) -> Msg {
        match self {
            ServerInput::Ping { client } => Msg::from_iter([client, Frame::from(PING)]),
            ServerInput::Request(Request {
                client,
                control,
                mut body,
            }) => {
                body.push_front(control);
                body.push_front(client);
                body
            }
        }
    }
}

/// The answer to a ping from `client`: `[client]["PONG"]`.
///
/// ```
/// use zmq_patterns::{freelance, Msg};
/// assert_eq!(freelance::pong("client-1"), Msg::from_iter(["client-1", "PONG"]));
/// ```
pub fn pong(client: impl Into<Frame>) -> Msg {
    Msg::from_iter([client.into(), Frame::from(PONG)])
}

/// A ping to `server` (its endpoint, which is its identity), ready for a client's ROUTER.
///
/// ```
/// use zmq_patterns::{freelance, Msg};
/// assert_eq!(freelance::ping("tcp://localhost:5555"),
///            Msg::from_iter(["tcp://localhost:5555", "PING"]));
/// ```
pub fn ping(server: impl Into<Frame>) -> Msg {
    Msg::from_iter([server.into(), Frame::from(PING)])
}

/// A request to `server`: `[server][control][body...]` (an empty body becomes one empty frame).
///
/// ```
/// use zmq_patterns::{freelance, Msg};
/// let msg = freelance::request("tcp://localhost:5555", "1", Msg::from_iter(["random name"]));
/// assert_eq!(msg, Msg::from_iter(["tcp://localhost:5555", "1", "random name"]));
/// ```
pub fn request(server: impl Into<Frame>, control: impl Into<Frame>, mut body: Msg) -> Msg {
    if body.is_empty() {
        body.push_back(Frame::empty());
    }
    body.push_front(control.into());
    body.push_front(server.into());
    body
}

/// A message a Freelance client reads from its ROUTER socket.
///
/// ```
/// use zmq_patterns::freelance::FromServer;
/// use zmq_patterns::Msg;
/// let pong = FromServer::parse(Msg::from_iter(["tcp://localhost:5555", "PONG"])).unwrap();
/// assert!(pong.server() == "tcp://localhost:5555");
/// let reply = FromServer::parse(Msg::from_iter(["tcp://localhost:5555", "1", "OK"])).unwrap();
/// assert!(matches!(reply, FromServer::Reply { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromServer {
    /// `[server]["PONG"]`: the server is alive.
    Pong {
        /// The server's identity, its public endpoint.
        server: Frame,
    },
    /// `[server][control][body...]`: a reply.
    Reply {
        /// The server's identity, its public endpoint.
        server: Frame,
        /// The control frame of the request this answers.
        control: Frame,
        /// The reply body, one frame or more.
        body: Msg,
    },
}

impl FromServer {
    /// Parses a message as read from a client's ROUTER socket. Anything but
    /// `[server]["PONG"]` or `[server][control][body...]` (at least one body frame) is
    /// [`Error::Protocol`].
    ///
    /// ```
    /// use zmq_patterns::freelance::FromServer;
    /// use zmq_patterns::Msg;
    /// assert!(FromServer::parse(Msg::from_iter(["server", "1"])).unwrap_err().is_protocol());
    /// ```
    pub fn parse(mut msg: Msg) -> Result<FromServer> {
        let server = msg
            .pop_front()
            .ok_or_else(|| Error::protocol("empty message"))?;
        match msg.len() {
            0 => Err(Error::protocol("nothing after the address")),
            1 if msg[0] == PONG => Ok(FromServer::Pong { server }),
            1 => Err(Error::protocol(format!(
                "one-frame message {:?} is not PONG",
                msg[0].to_string_lossy()
            ))),
            _ => {
                let control = msg
                    .pop_front()
                    .ok_or_else(|| Error::protocol("no control frame"))?;
                Ok(FromServer::Reply {
                    server,
                    control,
                    body: msg,
                })
            }
        }
    }

    /// The server this came from.
    ///
    /// ```
    /// use zmq_patterns::freelance::FromServer;
    /// let pong = FromServer::Pong { server: "tcp://localhost:5555".into() };
    /// assert!(pong.server() == "tcp://localhost:5555");
    /// ```
    pub fn server(&self) -> &Frame {
        match self {
            FromServer::Pong { server } | FromServer::Reply { server, .. } => server,
        }
    }

    /// The message this was parsed from.
    ///
    /// ```
    /// use zmq_patterns::freelance::FromServer;
    /// use zmq_patterns::Msg;
    /// let msg = Msg::from_iter(["s", "1", "OK"]);
    /// assert_eq!(FromServer::parse(msg.clone()).unwrap().into_msg(), msg);
    /// ```
    pub fn into_msg(self) -> Msg {
        match self {
            FromServer::Pong { server } => Msg::from_iter([server, Frame::from(PONG)]),
            FromServer::Reply {
                server,
                control,
                mut body,
            } => {
                body.push_front(control);
                body.push_front(server);
                body
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(frames: &[&str]) -> Msg {
        Msg::from_iter(frames.iter().copied())
    }

    #[test]
    fn server_input_accepts_ping_and_requests_only() {
        assert_eq!(
            ServerInput::parse(msg(&["c", "PING"])).unwrap(),
            ServerInput::Ping { client: "c".into() }
        );
        let ServerInput::Request(r) = ServerInput::parse(msg(&["c", "9", "a", "b"])).unwrap()
        else {
            panic!("a request")
        };
        assert!(r.client == "c" && r.control == "9");
        assert_eq!(r.body, msg(&["a", "b"]));
        // a CCF that happens to read PING is still a request (two frames or more)
        assert!(matches!(
            ServerInput::parse(msg(&["c", "PING", "x"])).unwrap(),
            ServerInput::Request(_)
        ));
        for bad in [&[][..], &["c"], &["c", "ping"], &["c", "PONG"], &["c", ""]] {
            assert!(
                ServerInput::parse(msg(bad)).unwrap_err().is_protocol(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn from_server_accepts_pong_and_replies_only() {
        assert_eq!(
            FromServer::parse(msg(&["s", "PONG"])).unwrap(),
            FromServer::Pong { server: "s".into() }
        );
        assert!(matches!(
            FromServer::parse(msg(&["s", "1", "OK"])).unwrap(),
            FromServer::Reply { .. }
        ));
        for bad in [&[][..], &["s"], &["s", "PING"], &["s", "1"]] {
            assert!(
                FromServer::parse(msg(bad)).unwrap_err().is_protocol(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn replies_return_the_control_frame_unmodified() {
        let control = Frame::new([0u8, 255, 7]);
        let request = Request {
            client: "c".into(),
            control: control.clone(),
            body: msg(&["x"]),
        };
        let reply = request.reply(msg(&["OK"]));
        assert!(reply[1] == control);
        let parsed = FromServer::parse(reply).unwrap();
        assert!(matches!(parsed, FromServer::Reply { control: c, .. } if c == control));
    }

    #[test]
    fn built_messages_parse_back() {
        let m = request("s", "3", Msg::new());
        assert_eq!(m, msg(&["s", "3", ""]));
        let ServerInput::Request(r) = ServerInput::parse(m).unwrap() else {
            panic!()
        };
        assert_eq!(r.body, msg(&[""]));
        assert!(matches!(
            ServerInput::parse(ping("s")).unwrap(),
            ServerInput::Ping { .. }
        ));
        assert!(matches!(
            FromServer::parse(pong("c")).unwrap(),
            FromServer::Pong { .. }
        ));
    }
}
