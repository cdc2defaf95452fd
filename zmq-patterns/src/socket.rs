//! [`SocketExt`]: the guide's `zhelpers.h` string and identity helpers on a plain `zmq::Socket`
//! (CZMQ's `zstr`), and a bind and connect whose errors name the endpoint.

use std::net::{IpAddr, ToSocketAddrs};

use rand::Rng;

use crate::error::{EndpointAction, EndpointReason, Error, Result};
use crate::msg::Msg;

/// A random printable identity, `%04X-%04X`, as the guide's `s_set_id` makes.
///
/// ```
/// let id = zmq_patterns::random_identity();
/// assert_eq!(id.len(), 9);
/// assert_eq!(&id[4..5], "-");
/// ```
pub fn random_identity() -> String {
    let mut rng = rand::thread_rng();
    format!(
        "{:04X}-{:04X}",
        rng.gen_range(0..0x10000),
        rng.gen_range(0..0x10000)
    )
}

/// String, identity and endpoint helpers for any `zmq::Socket`: `use zmq_patterns::SocketExt;`.
///
/// The names avoid `zmq`'s own `send_str`/`recv_string`/`bind`/`connect`, which stay available.
///
/// ```
/// use zmq_patterns::SocketExt;
/// let ctx = zmq::Context::new();
/// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
/// a.bind("inproc://ext-doc").unwrap();
/// b.connect("inproc://ext-doc").unwrap();
/// a.send_text_more("key").unwrap();
/// a.send_text("value").unwrap();
/// assert_eq!(b.recv_text_part().unwrap(), "key");
/// assert_eq!(b.recv_text_part().unwrap(), "value");
/// ```
pub trait SocketExt {
    /// Sends `text` as a one-part message (the guide's `s_send`).
    fn send_text(&self, text: &str) -> Result<()>;
    /// Sends `text` as a part with more to follow (the guide's `s_sendmore`).
    fn send_text_more(&self, text: &str) -> Result<()>;
    /// Receives one single-part message as text, blocking (the guide's `s_recv`). Bytes that
    /// are not UTF-8 are replaced, never a panic. The whole message is always read: one of
    /// more than one part is [`Error::Protocol`] (check with [`Error::is_protocol`]), so a
    /// stray multipart message never leaves parts behind to be taken for the next message. A
    /// REP socket must still send a reply after that error. Wakes on Ctrl-C once
    /// [`interrupt`](crate::interrupt) handling is installed.
    fn recv_text(&self) -> Result<String>;
    /// Like [`SocketExt::recv_text`] if a message is waiting: `Ok(None)` if not.
    fn try_recv_text(&self) -> Result<Option<String>>;
    /// Receives one message as text, like [`SocketExt::recv_text`], but a message of more than
    /// one part, read whole, is logged (`warn`) and dropped: `Ok(None)`. For the sockets that
    /// need not answer what they receive (PULL, SUB, DEALER...), so that no peer can stop the
    /// program with a message of the wrong shape. On a REP socket use
    /// [`SocketExt::recv_text_or_reply`], which answers it.
    fn recv_text_or_drop(&self) -> Result<Option<String>>;
    /// Receives the next request on a REP socket as text. A request of more than one part is
    /// read whole, logged (`warn`) and answered with `bad_reply` (a REP socket must send a
    /// reply before it can receive again), and the next request is awaited: no peer can stop a
    /// server with a request of the wrong shape.
    fn recv_text_or_reply(&self, bad_reply: &str) -> Result<String>;
    /// Receives one part as text, blocking, leaving further parts of the same message queued:
    /// for reading a multipart message part by part, as the guide's `s_recv` does.
    fn recv_text_part(&self) -> Result<String>;
    /// Sets a random printable identity (`%04X-%04X`) and returns it (the guide's `s_set_id`).
    /// Call it before `connect`.
    fn set_random_identity(&self) -> Result<String>;
    /// Binds to `endpoint` as `zmq`'s own `bind` does, with an error that says what failed:
    /// `cannot bind tcp://*:5555: Address already in use` ([`Error::Endpoint`]; check it with
    /// [`Error::is_address_in_use`]), where `bind` says only `Address already in use`. An
    /// endpoint without a transport (`*:5555`) is refused with a text that shows the fix.
    /// Logs `bound <endpoint>` (`debug`).
    fn bind_to(&self, endpoint: &str) -> Result<()>;
    /// Connects to `endpoint` as `zmq`'s own `connect` does, with an error that names it
    /// ([`Error::Endpoint`]). Two mistakes that libzmq would not report are caught first: an
    /// endpoint without a transport (`localhost:5555`), and the host of a `tcp://` endpoint
    /// that does not resolve, where libzmq accepts the connect and retries for ever in
    /// silence. The host is looked up once, here (it may block for as long as the system's
    /// resolver takes); `*`, IP addresses and other transports are not looked up. Logs
    /// `connected <endpoint>` (`debug`).
    fn connect_to(&self, endpoint: &str) -> Result<()>;
}

/// The error of a bind or connect to `endpoint`.
fn endpoint_error(action: EndpointAction, endpoint: &str, reason: EndpointReason) -> Error {
    Error::Endpoint {
        action,
        endpoint: endpoint.to_string(),
        reason,
    }
}

/// The host and port of a `tcp://` endpoint to connect to, if the host is a name to look up:
/// not `*`, not an IP address. A source address (`tcp://eth0:0;host:port`) is skipped.
fn tcp_host_to_resolve(endpoint: &str) -> Option<(&str, u16)> {
    let address = endpoint.strip_prefix("tcp://")?;
    let destination = address.rsplit(';').next()?;
    let (host, port) = destination.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.is_empty() || host == "*" || bracketed || host.parse::<IpAddr>().is_ok() {
        return None;
    }
    Some((host, port))
}

/// Checks what libzmq would take without a word: a transport, and for a tcp connect a host
/// that resolves.
pub(crate) fn check_endpoint(action: EndpointAction, endpoint: &str) -> Result<()> {
    if !endpoint.contains("://") {
        return Err(endpoint_error(
            action,
            endpoint,
            EndpointReason::NoTransport,
        ));
    }
    if action == EndpointAction::Connect {
        if let Some((host, port)) = tcp_host_to_resolve(endpoint) {
            let found = (host, port)
                .to_socket_addrs()
                .and_then(|mut addrs| match addrs.next() {
                    Some(_) => Ok(()),
                    None => Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no address",
                    )),
                });
            if let Err(source) = found {
                let reason = EndpointReason::UnknownHost {
                    host: host.to_string(),
                    source,
                };
                return Err(endpoint_error(action, endpoint, reason));
            }
        }
    }
    Ok(())
}

/// `zmq`'s connect with an error that names the endpoint, without the checks of
/// [`SocketExt::connect_to`]: for a reconnect to an endpoint checked once already.
pub(crate) fn connect_checked(socket: &zmq::Socket, endpoint: &str) -> Result<()> {
    socket
        .connect(endpoint)
        .map_err(|e| endpoint_error(EndpointAction::Connect, endpoint, EndpointReason::Zmq(e)))?;
    log::debug!("connected {endpoint}");
    Ok(())
}

/// The text of a received message, if it has exactly one part.
fn single_part_text(msg: Msg) -> Result<String> {
    if msg.len() == 1 {
        if let Some(part) = msg.front() {
            return Ok(part.to_string_lossy());
        }
    }
    Err(Error::protocol(format!(
        "expected a one-part message, got {} parts ({} bytes)",
        msg.len(),
        msg.content_size()
    )))
}

impl SocketExt for zmq::Socket {
    /// ```
    /// # use zmq_patterns::SocketExt;
    /// # let ctx = zmq::Context::new();
    /// # let s = ctx.socket(zmq::PUB).unwrap();
    /// s.send_text("nobody listens").unwrap();
    /// ```
    fn send_text(&self, text: &str) -> Result<()> {
        Ok(self.send(text, 0)?)
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// # let ctx = zmq::Context::new();
    /// # let s = ctx.socket(zmq::PUB).unwrap();
    /// s.send_text_more("A").unwrap();
    /// s.send_text("body").unwrap();
    /// ```
    fn send_text_more(&self, text: &str) -> Result<()> {
        Ok(self.send(text, zmq::SNDMORE)?)
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// # let ctx = zmq::Context::new();
    /// # let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// # a.bind("inproc://ext-recv").unwrap(); b.connect("inproc://ext-recv").unwrap();
    /// a.send(&b"\xff ok"[..], 0).unwrap();
    /// assert_eq!(b.recv_text().unwrap(), "\u{fffd} ok");
    /// a.send_multipart(["two", "parts"], 0).unwrap();
    /// assert!(b.recv_text().unwrap_err().is_protocol()); // both parts read and dropped
    /// a.send("next", 0).unwrap();
    /// assert_eq!(b.recv_text().unwrap(), "next");
    /// ```
    fn recv_text(&self) -> Result<String> {
        single_part_text(Msg::recv(self)?)
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// # let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// assert_eq!(s.try_recv_text().unwrap(), None);
    /// ```
    fn try_recv_text(&self) -> Result<Option<String>> {
        Msg::try_recv(self)?.map(single_part_text).transpose()
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// # let ctx = zmq::Context::new();
    /// # let (a, b) = (ctx.socket(zmq::PUSH).unwrap(), ctx.socket(zmq::PULL).unwrap());
    /// # a.bind("inproc://ext-drop").unwrap(); b.connect("inproc://ext-drop").unwrap();
    /// a.send_multipart(["10", "20"], 0).unwrap(); // not a task
    /// a.send("30", 0).unwrap();
    /// assert_eq!(b.recv_text_or_drop().unwrap(), None); // read whole, logged, dropped
    /// assert_eq!(b.recv_text_or_drop().unwrap().as_deref(), Some("30"));
    /// ```
    fn recv_text_or_drop(&self) -> Result<Option<String>> {
        match self.recv_text() {
            Err(e) if e.is_protocol() => {
                log::warn!("message dropped: {e}");
                Ok(None)
            }
            other => other.map(Some),
        }
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// let ctx = zmq::Context::new();
    /// let server = ctx.socket(zmq::REP).unwrap();
    /// server.bind("inproc://ext-reply").unwrap();
    /// let client = ctx.socket(zmq::DEALER).unwrap(); // sends what a REQ socket would not
    /// client.connect("inproc://ext-reply").unwrap();
    /// client.send_multipart(["", "Hello", "extra"], 0).unwrap();
    /// client.send_multipart(["", "Hello"], 0).unwrap();
    ///
    /// // The first request is answered by the call itself, which returns the second
    /// assert_eq!(server.recv_text_or_reply("ERROR: bad request").unwrap(), "Hello");
    /// server.send_text("World").unwrap();
    /// assert_eq!(client.recv_multipart(0).unwrap()[1], b"ERROR: bad request");
    /// assert_eq!(client.recv_multipart(0).unwrap()[1], b"World");
    /// ```
    fn recv_text_or_reply(&self, bad_reply: &str) -> Result<String> {
        loop {
            match self.recv_text() {
                Err(e) if e.is_protocol() => {
                    log::warn!("request answered with {bad_reply:?}: {e}");
                    self.send_text(bad_reply)?;
                }
                other => return other,
            }
        }
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// # let ctx = zmq::Context::new();
    /// # let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// # a.bind("inproc://ext-part").unwrap(); b.connect("inproc://ext-part").unwrap();
    /// a.send_multipart(["", "workload"], 0).unwrap();
    /// assert_eq!(b.recv_text_part().unwrap(), ""); // the delimiter
    /// assert_eq!(b.recv_text_part().unwrap(), "workload");
    /// ```
    fn recv_text_part(&self) -> Result<String> {
        let mut msg = zmq::Message::new();
        crate::frame::recv_into(self, &mut msg, 0)?;
        Ok(String::from_utf8_lossy(&msg).into_owned())
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// # let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::REQ).unwrap();
    /// let id = s.set_random_identity().unwrap();
    /// assert_eq!(s.get_identity().unwrap(), id.as_bytes());
    /// ```
    fn set_random_identity(&self) -> Result<String> {
        let id = random_identity();
        self.set_identity(id.as_bytes())?;
        Ok(id)
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// let ctx = zmq::Context::new();
    /// let (first, second) = (ctx.socket(zmq::REP).unwrap(), ctx.socket(zmq::REP).unwrap());
    /// first.bind_to("tcp://127.0.0.1:*").unwrap();
    /// let endpoint = first.get_last_endpoint().unwrap().unwrap();
    /// let e = second.bind_to(&endpoint).unwrap_err();
    /// assert!(e.is_address_in_use());
    /// assert_eq!(e.to_string(), format!("cannot bind {endpoint}: Address already in use"));
    /// ```
    fn bind_to(&self, endpoint: &str) -> Result<()> {
        check_endpoint(EndpointAction::Bind, endpoint)?;
        self.bind(endpoint)
            .map_err(|e| endpoint_error(EndpointAction::Bind, endpoint, EndpointReason::Zmq(e)))?;
        log::debug!("bound {endpoint}");
        Ok(())
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::REQ).unwrap();
    /// s.connect_to("tcp://localhost:5555").unwrap(); // nobody need be there yet
    /// let e = s.connect_to("localhost:5555").unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "cannot connect localhost:5555: an endpoint needs a transport, e.g. tcp://localhost:5555"
    /// );
    /// let e = s.connect_to("tcp://no-such-host.invalid:5555").unwrap_err();
    /// assert!(e.to_string().starts_with(
    ///     "cannot connect tcp://no-such-host.invalid:5555: unknown host no-such-host.invalid"
    /// ));
    /// ```
    fn connect_to(&self, endpoint: &str) -> Result<()> {
        check_endpoint(EndpointAction::Connect, endpoint)?;
        connect_checked(self, endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_address_names_the_endpoint() {
        let ctx = zmq::Context::new();
        let first = ctx.socket(zmq::REP).unwrap();
        first.bind_to("tcp://127.0.0.1:*").unwrap();
        let endpoint = first.get_last_endpoint().unwrap().unwrap();
        let e = ctx
            .socket(zmq::REP)
            .unwrap()
            .bind_to(&endpoint)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("cannot bind {endpoint}: Address already in use")
        );
        assert!(e.is_endpoint() && e.is_address_in_use() && !e.is_shutdown());
        assert_eq!(e.zmq(), Some(zmq::Error::EADDRINUSE));
    }

    #[test]
    fn a_missing_transport_shows_the_fix() {
        let ctx = zmq::Context::new();
        let s = ctx.socket(zmq::REQ).unwrap();
        let e = s.connect_to("localhost:5555").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot connect localhost:5555: an endpoint needs a transport, e.g. tcp://localhost:5555"
        );
        let e = s.bind_to("*:5555").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot bind *:5555: an endpoint needs a transport, e.g. tcp://*:5555"
        );
        assert!(matches!(
            e,
            Error::Endpoint {
                action: EndpointAction::Bind,
                reason: EndpointReason::NoTransport,
                ..
            }
        ));
    }

    #[test]
    fn an_unknown_host_is_named_not_retried_in_silence() {
        let ctx = zmq::Context::new();
        let s = ctx.socket(zmq::REQ).unwrap();
        let e = s.connect_to("tcp://no-such-host.invalid:5555").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(
                "cannot connect tcp://no-such-host.invalid:5555: unknown host no-such-host.invalid ("
            ),
            "{text}"
        );
        assert!(matches!(
            e,
            Error::Endpoint {
                reason: EndpointReason::UnknownHost { ref host, .. },
                ..
            } if host == "no-such-host.invalid"
        ));
        // After a source address too
        let e = s
            .connect_to("tcp://127.0.0.1:0;no-such-host.invalid:5555")
            .unwrap_err();
        assert!(e.to_string().contains("unknown host no-such-host.invalid"));
    }

    #[test]
    fn only_host_names_are_looked_up() {
        assert_eq!(
            tcp_host_to_resolve("tcp://localhost:5555"),
            Some(("localhost", 5555))
        );
        assert_eq!(
            tcp_host_to_resolve("tcp://eth0:0;example.invalid:1"),
            Some(("example.invalid", 1))
        );
        for skipped in [
            "tcp://*:5555",
            "tcp://127.0.0.1:5555",
            "tcp://[::1]:5555",
            "tcp://::1:5555",
            "tcp://localhost:*",
            "ipc:///tmp/x",
            "inproc://x",
            "udp://name:5555",
        ] {
            assert_eq!(tcp_host_to_resolve(skipped), None, "{skipped}");
        }
        // And a good connect still works, to a name and to an address
        let ctx = zmq::Context::new();
        let s = ctx.socket(zmq::DEALER).unwrap();
        s.connect_to("tcp://localhost:5555").unwrap();
        s.connect_to("tcp://127.0.0.1:5555").unwrap();
        s.connect_to("inproc://not-yet-bound").unwrap();
    }

    #[test]
    fn other_libzmq_errors_name_the_endpoint_too() {
        let ctx = zmq::Context::new();
        let s = ctx.socket(zmq::REQ).unwrap();
        let e = s.connect_to("tcpp://localhost:5555").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot connect tcpp://localhost:5555: Protocol not supported"
        );
        // A bind on a terminated context is a shutdown, as any ETERM is
        let e = endpoint_error(
            EndpointAction::Bind,
            "inproc://x",
            EndpointReason::Zmq(zmq::Error::ETERM),
        );
        assert!(e.is_terminated() && e.is_shutdown(), "{e}");
    }

    #[test]
    fn identity_has_the_guide_shape() {
        for _ in 0..100 {
            let id = random_identity();
            assert_eq!(id.len(), 9);
            assert!(id.chars().enumerate().all(|(i, c)| if i == 4 {
                c == '-'
            } else {
                c.is_ascii_hexdigit() && !c.is_ascii_lowercase()
            }));
        }
    }

    #[test]
    fn text_round_trip_and_try_recv() {
        let ctx = zmq::Context::new();
        let a = ctx.socket(zmq::PAIR).unwrap();
        let b = ctx.socket(zmq::PAIR).unwrap();
        a.bind("inproc://ext-test").unwrap();
        b.connect("inproc://ext-test").unwrap();
        assert_eq!(b.try_recv_text().unwrap(), None);
        a.send_text("héllo").unwrap();
        assert_eq!(b.recv_text().unwrap(), "héllo");
    }

    #[test]
    fn bad_messages_are_read_whole_then_dropped_or_answered() {
        let ctx = zmq::Context::new();
        let (a, b) = (
            ctx.socket(zmq::PAIR).unwrap(),
            ctx.socket(zmq::PAIR).unwrap(),
        );
        a.bind("inproc://ext-bad").unwrap();
        b.connect("inproc://ext-bad").unwrap();
        a.send_multipart([&[0xff_u8][..], &[0u8; 4096][..], b""], 0)
            .unwrap();
        a.send("", 0).unwrap();
        assert_eq!(b.recv_text_or_drop().unwrap(), None);
        assert_eq!(b.recv_text_or_drop().unwrap().as_deref(), Some(""));

        let rep = ctx.socket(zmq::REP).unwrap();
        rep.bind("inproc://ext-bad-rep").unwrap();
        let req = ctx.socket(zmq::REQ).unwrap();
        req.connect("inproc://ext-bad-rep").unwrap();
        req.set_rcvtimeo(5000).unwrap();
        let server = std::thread::spawn(move || {
            let text = rep.recv_text_or_reply("bad").unwrap();
            rep.send_text(&text.to_uppercase()).unwrap();
        });
        req.send_multipart(["two", "parts"], 0).unwrap();
        assert_eq!(req.recv_text().unwrap(), "bad");
        req.send_text("one").unwrap();
        assert_eq!(req.recv_text().unwrap(), "ONE");
        server.join().unwrap();
    }
}
