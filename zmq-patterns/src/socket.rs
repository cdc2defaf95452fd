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

/// String, identity and dump helpers for any `zmq::Socket`: `use zmq_patterns::SocketExt;`.
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
/// assert_eq!(b.recv_text().unwrap(), "key");
/// assert_eq!(b.recv_text().unwrap(), "value");
/// ```
pub trait SocketExt {
    /// Sends `text` as a one-part message (the guide's `s_send`).
    fn send_text(&self, text: &str) -> Result<()>;
    /// Sends `text` as a part with more to follow (the guide's `s_sendmore`).
    fn send_text_more(&self, text: &str) -> Result<()>;
    /// Receives one part as text, blocking (the guide's `s_recv`). Bytes that are not UTF-8
    /// are replaced, never a panic; further parts of the same message stay queued. Wakes on
    /// Ctrl-C once [`interrupt`](crate::interrupt) handling is installed.
    fn recv_text(&self) -> Result<String>;
    /// Receives one part as text if one is waiting: `Ok(None)` if not.
    fn try_recv_text(&self) -> Result<Option<String>>;
    /// Sets a random printable identity (`%04X-%04X`) and returns it (the guide's `s_set_id`).
    /// Call it before `connect`.
    fn set_random_identity(&self) -> Result<String>;
    /// Receives the next message and prints it as the guide's `s_dump` does.
    fn dump(&self) -> Result<Msg>;
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
    /// ```
    fn recv_text(&self) -> Result<String> {
        let mut msg = zmq::Message::new();
        crate::frame::recv_into(self, &mut msg, 0)?;
        Ok(String::from_utf8_lossy(&msg).into_owned())
    }

    /// ```
    /// # use zmq_patterns::SocketExt;
    /// # let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// assert_eq!(s.try_recv_text().unwrap(), None);
    /// ```
    fn try_recv_text(&self) -> Result<Option<String>> {
        let mut msg = zmq::Message::new();
        match self.recv(&mut msg, zmq::DONTWAIT) {
            Ok(()) => Ok(Some(String::from_utf8_lossy(&msg).into_owned())),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(Error::from(e)),
        }
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
    /// # let ctx = zmq::Context::new();
    /// # let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// # a.bind("inproc://ext-dump").unwrap(); b.connect("inproc://ext-dump").unwrap();
    /// a.send("Hello", 0).unwrap();
    /// let msg = b.dump().unwrap(); // prints "----...\n[005] Hello"
    /// assert_eq!(msg.len(), 1);
    /// ```
    fn dump(&self) -> Result<Msg> {
        let msg = Msg::recv(self)?;
        msg.dump();
        Ok(msg)
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
}
