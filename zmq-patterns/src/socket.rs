//! [`SocketExt`]: the guide's `zhelpers.h` string and identity helpers on a plain `zmq::Socket`
//! (CZMQ's `zstr`).

use rand::Rng;

use crate::error::{Error, Result};
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

/// String and identity helpers for any `zmq::Socket`: `use zmq_patterns::SocketExt;`.
///
/// The names avoid `zmq`'s own `send_str`/`recv_string`, which stay available.
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
