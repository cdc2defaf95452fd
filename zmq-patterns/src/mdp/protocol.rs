//! The Majordomo Protocol 0.1 messages (spec 7/MDP) as types: parse a [`Msg`] into one, or
//! get an error saying what is wrong with it; build a [`Msg`] from one.

use std::fmt;

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::msg::Msg;

/// The header of every client message: `MDPC01`.
pub const CLIENT: &str = "MDPC01";
/// The header of every worker message: `MDPW01`.
pub const WORKER: &str = "MDPW01";
/// Service names with this prefix are answered by the broker itself (spec 8/MMI).
pub const MMI_PREFIX: &str = "mmi.";

/// An MDP/Worker command (one byte on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Command {
    /// `\x01`: worker to broker, "I serve this service".
    Ready = 1,
    /// `\x02`: broker to worker, a client's request.
    Request = 2,
    /// `\x03`: worker to broker, the reply to a request.
    Reply = 3,
    /// `\x04`: both ways, "I am alive".
    Heartbeat = 4,
    /// `\x05`: both ways, "goodbye".
    Disconnect = 5,
}

impl Command {
    /// The command a one-byte frame holds, if any.
    ///
    /// ```
    /// use zmq_patterns::{mdp::Command, Frame};
    /// assert_eq!(Command::from_frame(&Frame::new([4u8])), Some(Command::Heartbeat));
    /// assert_eq!(Command::from_frame(&Frame::new([9u8])), None);
    /// assert_eq!(Command::from_frame(&Frame::from("\x01\x01")), None);
    /// ```
    pub fn from_frame(frame: &Frame) -> Option<Command> {
        match frame.as_bytes() {
            [1] => Some(Command::Ready),
            [2] => Some(Command::Request),
            [3] => Some(Command::Reply),
            [4] => Some(Command::Heartbeat),
            [5] => Some(Command::Disconnect),
            _ => None,
        }
    }

    /// The command as its one-byte frame.
    ///
    /// ```
    /// assert!(zmq_patterns::mdp::Command::Ready.frame() == b"\x01");
    /// ```
    pub fn frame(self) -> Frame {
        Frame::new([self as u8])
    }

    /// The command's name as the guide prints it (`READY`, `REQUEST`, ...).
    ///
    /// ```
    /// assert_eq!(zmq_patterns::mdp::Command::Disconnect.name(), "DISCONNECT");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Command::Ready => "READY",
            Command::Request => "REQUEST",
            Command::Reply => "REPLY",
            Command::Heartbeat => "HEARTBEAT",
            Command::Disconnect => "DISCONNECT",
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn bad(what: impl Into<String>) -> Error {
    Error::protocol(what)
}

/// Takes the next frame or says which one is missing.
fn take(msg: &mut Msg, what: &str) -> Result<Frame> {
    msg.pop_front()
        .ok_or_else(|| bad(format!("missing {what} frame")))
}

fn take_empty(msg: &mut Msg) -> Result<()> {
    let f = take(msg, "empty delimiter")?;
    if !f.is_empty() {
        return Err(bad(format!("expected an empty delimiter, got {f}")));
    }
    Ok(())
}

fn take_header(msg: &mut Msg, want: &str) -> Result<()> {
    let f = take(msg, "protocol header")?;
    if f != want {
        return Err(bad(format!("expected header {want}, got {f:.32}")));
    }
    Ok(())
}

fn take_command(msg: &mut Msg) -> Result<Command> {
    let f = take(msg, "command")?;
    Command::from_frame(&f).ok_or_else(|| bad(format!("unknown command {f:.16}")))
}

fn no_more(msg: &Msg, command: Command) -> Result<()> {
    if msg.is_empty() {
        Ok(())
    } else {
        Err(bad(format!("{command} with {} extra frames", msg.len())))
    }
}

/// A message a worker sends to the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromWorker {
    /// The worker is ready to serve `service`.
    Ready {
        /// The service name.
        service: Frame,
    },
    /// The reply to a request from `client`.
    Reply {
        /// The client's address, as the broker gave it in the request.
        client: Frame,
        /// The reply's body frames.
        body: Msg,
    },
    /// The worker is alive.
    Heartbeat,
    /// The worker is leaving.
    Disconnect,
}

impl FromWorker {
    /// Parses what follows the header: `[command][...]`.
    fn parse_command(mut msg: Msg) -> Result<FromWorker> {
        let command = take_command(&mut msg)?;
        match command {
            Command::Ready => {
                let service = take(&mut msg, "service name")?;
                no_more(&msg, command)?;
                Ok(FromWorker::Ready { service })
            }
            Command::Reply => {
                let client = take(&mut msg, "client address")?;
                take_empty(&mut msg)?;
                Ok(FromWorker::Reply { client, body: msg })
            }
            Command::Heartbeat => no_more(&msg, command).map(|()| FromWorker::Heartbeat),
            Command::Disconnect => no_more(&msg, command).map(|()| FromWorker::Disconnect),
            Command::Request => Err(bad("REQUEST is not a worker command")),
        }
    }

    /// The message as a worker's DEALER sends it: `[""][MDPW01][command][...]`.
    ///
    /// ```
    /// use zmq_patterns::mdp::FromWorker;
    /// let m = FromWorker::Ready { service: "echo".into() }.into_msg();
    /// assert_eq!(m.len(), 4);
    /// assert!(m[1] == "MDPW01" && m[2] == b"\x01" && m[3] == "echo");
    /// ```
    pub fn into_msg(self) -> Msg {
        let mut msg = Msg::new();
        let command = match self {
            FromWorker::Ready { service } => {
                msg.push_back(service);
                Command::Ready
            }
            FromWorker::Reply { client, body } => {
                msg = body;
                msg.push_envelope(client);
                Command::Reply
            }
            FromWorker::Heartbeat => Command::Heartbeat,
            FromWorker::Disconnect => Command::Disconnect,
        };
        msg.push_front(command.frame());
        msg.push_front(WORKER);
        msg.push_front(Frame::empty());
        msg
    }

    /// The command of this message.
    ///
    /// ```
    /// use zmq_patterns::mdp::{Command, FromWorker};
    /// assert_eq!(FromWorker::Heartbeat.command(), Command::Heartbeat);
    /// ```
    pub fn command(&self) -> Command {
        match self {
            FromWorker::Ready { .. } => Command::Ready,
            FromWorker::Reply { .. } => Command::Reply,
            FromWorker::Heartbeat => Command::Heartbeat,
            FromWorker::Disconnect => Command::Disconnect,
        }
    }
}

/// A message the broker sends to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToWorker {
    /// A request from `client`.
    Request {
        /// The client's address: the worker sends it back with the reply.
        client: Frame,
        /// The request's body frames.
        body: Msg,
    },
    /// The broker is alive.
    Heartbeat,
    /// The broker drops this worker: it should reconnect.
    Disconnect,
}

impl ToWorker {
    /// Parses what a worker's DEALER receives: `[""][MDPW01][command][...]`.
    ///
    /// ```
    /// use zmq_patterns::{mdp::ToWorker, Msg};
    /// let m = Msg::from_iter([&b""[..], b"MDPW01", b"\x02", b"client-1", b"", b"Hello"]);
    /// let ToWorker::Request { client, body } = ToWorker::parse(m).unwrap() else { panic!() };
    /// assert!(client == "client-1" && body[0] == "Hello");
    /// assert!(ToWorker::parse(Msg::from_iter(["", "MDPW01", "\x09"])).is_err());
    /// ```
    pub fn parse(mut msg: Msg) -> Result<ToWorker> {
        take_empty(&mut msg)?;
        take_header(&mut msg, WORKER)?;
        let command = take_command(&mut msg)?;
        match command {
            Command::Request => {
                let client = take(&mut msg, "client address")?;
                take_empty(&mut msg)?;
                Ok(ToWorker::Request { client, body: msg })
            }
            Command::Heartbeat => no_more(&msg, command).map(|()| ToWorker::Heartbeat),
            Command::Disconnect => no_more(&msg, command).map(|()| ToWorker::Disconnect),
            other => Err(bad(format!("{other} is not a broker command"))),
        }
    }

    /// The message as the broker's ROUTER sends it to `worker`:
    /// `[worker][""][MDPW01][command][...]`.
    ///
    /// ```
    /// use zmq_patterns::{mdp::ToWorker, Frame};
    /// let m = ToWorker::Heartbeat.into_msg(Frame::from("W1"));
    /// assert_eq!(m.len(), 4);
    /// ```
    pub fn into_msg(self, worker: Frame) -> Msg {
        let mut msg = Msg::new();
        let command = match self {
            ToWorker::Request { client, body } => {
                msg = body;
                msg.push_envelope(client);
                Command::Request
            }
            ToWorker::Heartbeat => Command::Heartbeat,
            ToWorker::Disconnect => Command::Disconnect,
        };
        msg.push_front(command.frame());
        msg.push_front(WORKER);
        msg.push_envelope(worker);
        msg
    }
}

/// What arrives on a broker's ROUTER socket, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerInput {
    /// A client's request: `[sender][""][MDPC01][service][body...]`.
    Client {
        /// The client's address.
        sender: Frame,
        /// The service asked for.
        service: Frame,
        /// The request body (at least one frame).
        body: Msg,
    },
    /// A worker's command: `[sender][""][MDPW01][command][...]`.
    Worker {
        /// The worker's address.
        sender: Frame,
        /// What it said.
        command: FromWorker,
    },
}

impl BrokerInput {
    /// Parses one message from a broker's ROUTER socket. Every malformed message is an
    /// [`Error::Protocol`] that says what is wrong, never a panic.
    ///
    /// ```
    /// use zmq_patterns::{mdp::BrokerInput, Msg};
    /// let m = Msg::from_iter(["C1", "", "MDPC01", "echo", "Hello"]);
    /// assert!(matches!(BrokerInput::parse(m).unwrap(), BrokerInput::Client { .. }));
    /// let err = BrokerInput::parse(Msg::from_iter(["C1", "", "MDPX99"])).unwrap_err();
    /// assert!(err.to_string().contains("unknown protocol header"));
    /// ```
    pub fn parse(mut msg: Msg) -> Result<BrokerInput> {
        let sender = take(&mut msg, "sender address")?;
        Self::parse_from(sender, msg).map_err(|(_, e)| e)
    }

    /// Parses what follows the sender's address; on error, hands the sender back with the
    /// error, so that the broker knows whom to treat as invalid.
    pub(crate) fn parse_from(
        sender: Frame,
        msg: Msg,
    ) -> std::result::Result<BrokerInput, (Frame, Error)> {
        match Self::parse_body(msg) {
            Ok(Body::Client { service, body }) => Ok(BrokerInput::Client {
                sender,
                service,
                body,
            }),
            Ok(Body::Worker(command)) => Ok(BrokerInput::Worker { sender, command }),
            Err(e) => Err((sender, e)),
        }
    }

    fn parse_body(mut msg: Msg) -> Result<Body> {
        take_empty(&mut msg)?;
        let header = take(&mut msg, "protocol header")?;
        if header == CLIENT {
            let service = take(&mut msg, "service name")?;
            if msg.is_empty() {
                return Err(bad("client request without a body"));
            }
            Ok(Body::Client { service, body: msg })
        } else if header == WORKER {
            Ok(Body::Worker(FromWorker::parse_command(msg)?))
        } else {
            Err(bad(format!("unknown protocol header {header:.32}")))
        }
    }
}

/// A [`BrokerInput`] without its sender.
enum Body {
    Client { service: Frame, body: Msg },
    Worker(FromWorker),
}

/// A client request as a REQ socket sends it (the socket adds the delimiter):
/// `[MDPC01][service][body...]`. A DEALER client pushes an empty frame in front.
///
/// ```
/// let m = zmq_patterns::mdp::client_request("echo", ["Hello world"].into_iter().collect());
/// assert!(m[0] == "MDPC01" && m[1] == "echo" && m[2] == "Hello world");
/// ```
pub fn client_request(service: impl Into<Frame>, body: Msg) -> Msg {
    let mut msg = body;
    msg.push_front(service);
    msg.push_front(CLIENT);
    msg
}

/// Parses a reply as a client receives it, `[MDPC01][service][body...]`, with or without the
/// leading empty delimiter a DEALER client sees; returns the service and the body.
///
/// ```
/// use zmq_patterns::{mdp, Msg};
/// let (service, body) = mdp::parse_client_reply(Msg::from_iter(["", "MDPC01", "echo", "hi"])).unwrap();
/// assert!(service == "echo" && body[0] == "hi");
/// assert!(mdp::parse_client_reply(Msg::from_iter(["MDPC01"])).is_err());
/// ```
pub fn parse_client_reply(mut msg: Msg) -> Result<(Frame, Msg)> {
    if msg.front().is_some_and(|f| f.is_empty()) {
        msg.pop_front();
    }
    take_header(&mut msg, CLIENT)?;
    let service = take(&mut msg, "service name")?;
    Ok((service, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker_msg(parts: &[&[u8]]) -> Result<BrokerInput> {
        let mut m: Msg = parts.iter().map(Frame::new).collect();
        m.push_front("W1");
        BrokerInput::parse(m)
    }

    #[test]
    fn round_trips() {
        for w in [
            FromWorker::Ready {
                service: "echo".into(),
            },
            FromWorker::Reply {
                client: "C1".into(),
                body: Msg::from_iter(["a", "b"]),
            },
            FromWorker::Heartbeat,
            FromWorker::Disconnect,
        ] {
            let mut m = w.clone().into_msg();
            m.push_front("W1"); // what the ROUTER adds
            match BrokerInput::parse(m).unwrap() {
                BrokerInput::Worker { sender, command } => {
                    assert!(sender == "W1");
                    assert_eq!(command, w);
                }
                other => panic!("{other:?}"),
            }
        }
        for t in [
            ToWorker::Request {
                client: "C1".into(),
                body: Msg::from_iter(["x"]),
            },
            ToWorker::Heartbeat,
            ToWorker::Disconnect,
        ] {
            let mut m = t.clone().into_msg("W1".into());
            assert!(m.pop_front().unwrap() == "W1"); // the ROUTER takes the address off
            assert_eq!(ToWorker::parse(m).unwrap(), t);
        }
        let mut req = client_request("echo", Msg::from_iter(["Hello"]));
        req.push_envelope("C1");
        assert_eq!(
            BrokerInput::parse(req).unwrap(),
            BrokerInput::Client {
                sender: "C1".into(),
                service: "echo".into(),
                body: Msg::from_iter(["Hello"])
            }
        );
    }

    #[test]
    fn malformed_input_is_an_error_that_says_why() {
        let cases: Vec<(Vec<&[u8]>, &str)> = vec![
            (vec![], "missing empty delimiter"),
            (vec![b"x"], "expected an empty delimiter"),
            (vec![b""], "missing protocol header"),
            (vec![b"", b"MDPC01"], "missing service name"),
            (vec![b"", b"MDPC01", b"echo"], "without a body"),
            (vec![b"", b"MDPW01"], "missing command"),
            (vec![b"", b"MDPW01", b"\x07"], "unknown command"),
            (vec![b"", b"MDPW01", b""], "unknown command"),
            (vec![b"", b"MDPW01", b"\x01"], "missing service name"),
            (vec![b"", b"MDPW01", b"\x02", b"x"], "not a worker command"),
            (vec![b"", b"MDPW01", b"\x03"], "missing client address"),
            (
                vec![b"", b"MDPW01", b"\x03", b"C1"],
                "missing empty delimiter",
            ),
            (
                vec![b"", b"MDPW01", b"\x03", b"C1", b"x"],
                "expected an empty",
            ),
            (vec![b"", b"MDPW01", b"\x04", b"x"], "extra frames"),
            (vec![b"", b"\xff\xfe"], "unknown protocol header"),
        ];
        for (parts, want) in cases {
            let err = worker_msg(&parts).unwrap_err();
            assert!(err.to_string().contains(want), "{parts:?}: {err}");
        }
        assert!(BrokerInput::parse(Msg::new()).is_err());
    }
}
