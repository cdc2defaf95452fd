//! [`KvSimple`]: the guide's `kvsimple` class, a key-value message of three frames.

use std::fmt;

use super::{KeyValue, check_key, dump, frame_count, parse_key, parse_sequence};
use crate::error::{Error, Result, SendError};
use crate::{Frame, Msg};

/// A key-value message as Clone models 1–4 send it: three frames, `[key][sequence][body]`, the
/// key a string of at most [`KEY_MAX`](super::KEY_MAX) bytes, the sequence 8 bytes big-endian,
/// the body any bytes. It prints as the guide's `kvmsg_dump` does.
///
/// ```
/// use zmq_patterns::kvmsg::KvSimple;
/// let mut kvmsg = KvSimple::new("key", 1, "body").unwrap();
/// assert_eq!(kvmsg.to_string(), "[seq:1][key:key][size:4] 626F6479");
/// kvmsg.set_sequence(2);
/// kvmsg.set_body("");
/// assert_eq!((kvmsg.key(), kvmsg.sequence(), kvmsg.size()), ("key", 2, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvSimple {
    key: String,
    sequence: u64,
    body: Frame,
}

impl KvSimple {
    /// A message with this key, sequence number and body; [`Error::Protocol`] if the key is
    /// longer than [`KEY_MAX`](super::KEY_MAX) bytes.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvSimple;
    /// assert_eq!(KvSimple::new("1234", 1, "567890").unwrap().body(), b"567890");
    /// assert!(KvSimple::new("k".repeat(256), 1, "").is_err());
    /// ```
    pub fn new(key: impl Into<String>, sequence: u64, body: impl Into<Frame>) -> Result<KvSimple> {
        let key = key.into();
        check_key(&key)?;
        Ok(KvSimple {
            key,
            sequence,
            body: body.into(),
        })
    }

    /// The key.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::kvmsg::KvSimple::new("k", 0, "").unwrap().key(), "k");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Sets the key; [`Error::Protocol`] (and no change) if it is too long.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvSimple::new("k", 0, "").unwrap();
    /// m.set_key("other").unwrap();
    /// assert_eq!(m.key(), "other");
    /// ```
    pub fn set_key(&mut self, key: impl Into<String>) -> Result<()> {
        let key = key.into();
        check_key(&key)?;
        self.key = key;
        Ok(())
    }

    /// The sequence number.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::kvmsg::KvSimple::new("k", 7, "").unwrap().sequence(), 7);
    /// ```
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Sets the sequence number.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvSimple::new("k", 0, "").unwrap();
    /// m.set_sequence(u64::MAX);
    /// assert_eq!(m.sequence(), u64::MAX);
    /// ```
    pub fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }

    /// The body.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::kvmsg::KvSimple::new("k", 0, "v").unwrap().body(), b"v");
    /// ```
    pub fn body(&self) -> &[u8] {
        self.body.as_bytes()
    }

    /// Sets the body.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvSimple::new("k", 0, "").unwrap();
    /// m.set_body(vec![1u8, 2, 3]);
    /// assert_eq!(m.body(), [1, 2, 3]);
    /// ```
    pub fn set_body(&mut self, body: impl Into<Frame>) {
        self.body = body.into();
    }

    /// The body's size in bytes (`kvmsg_size`).
    ///
    /// ```
    /// assert_eq!(zmq_patterns::kvmsg::KvSimple::new("k", 0, "abc").unwrap().size(), 3);
    /// ```
    pub fn size(&self) -> usize {
        self.body.len()
    }

    /// Parses a whole message: exactly three frames, a key of at most
    /// [`KEY_MAX`](super::KEY_MAX) UTF-8 bytes, an 8-byte sequence; else [`Error::Protocol`].
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvSimple;
    /// use zmq_patterns::Msg;
    /// let m = KvSimple::parse(Msg::from_iter([&b"k"[..], &[0, 0, 0, 0, 0, 0, 0, 9], b"v"])).unwrap();
    /// assert_eq!(m.sequence(), 9);
    /// assert!(KvSimple::parse(Msg::from_iter(["k", "9", "v"])).unwrap_err().is_protocol());
    /// ```
    pub fn parse(mut msg: Msg) -> Result<KvSimple> {
        if msg.len() != 3 {
            return Err(frame_count(3, &msg));
        }
        let key = parse_key(&msg[0])?;
        let sequence = parse_sequence(&msg[1])?;
        let body = msg.pop_back().unwrap_or_default();
        Ok(KvSimple {
            key,
            sequence,
            body,
        })
    }

    /// Receives the next message whole and parses it (`kvmsg_recv`). A malformed message is
    /// read whole and comes back as [`Error::Protocol`]: log it and receive again.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvSimple;
    /// let ctx = zmq::Context::new();
    /// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// a.bind("inproc://kvsimple-recv").unwrap();
    /// b.connect("inproc://kvsimple-recv").unwrap();
    /// a.send_multipart(["two", "frames"], 0).unwrap();
    /// KvSimple::new("k", 1, "v").unwrap().send(&a).unwrap();
    /// assert!(KvSimple::recv(&b).unwrap_err().is_protocol());
    /// assert_eq!(KvSimple::recv(&b).unwrap().key(), "k");
    /// ```
    pub fn recv(socket: &zmq::Socket) -> Result<KvSimple> {
        let msg = Msg::recv(socket)?;
        let parsed = Self::parse(msg);
        if let Ok(kv) = &parsed {
            log::trace!("kvsimple in: {kv}");
        }
        parsed
    }

    /// Like [`KvSimple::recv`] if a message is waiting: `Ok(None)` if not.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::SUB).unwrap();
    /// assert!(zmq_patterns::kvmsg::KvSimple::try_recv(&s).unwrap().is_none());
    /// ```
    pub fn try_recv(socket: &zmq::Socket) -> Result<Option<KvSimple>> {
        match Msg::try_recv(socket)? {
            Some(msg) => Self::parse(msg).map(Some),
            None => Ok(None),
        }
    }

    /// Sends the message (`kvmsg_send`), consuming it; if the send fails the message comes back
    /// in the [`SendError`].
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvSimple;
    /// let ctx = zmq::Context::new();
    /// let dealer = ctx.socket(zmq::DEALER).unwrap();
    /// dealer.set_sndtimeo(0).unwrap(); // no peer: the send fails at once
    /// let back = KvSimple::new("k", 1, "v").unwrap().send(&dealer).unwrap_err().msg;
    /// assert_eq!(back.key(), "k");
    /// ```
    pub fn send(self, socket: &zmq::Socket) -> Result<(), SendError<KvSimple>> {
        log::trace!("kvsimple out: {self}");
        let KvSimple {
            key,
            sequence,
            body,
        } = self;
        let back = |error: Error, body: Frame, key: String| SendError {
            error,
            msg: KvSimple {
                key,
                sequence,
                body,
            },
        };
        // libzmq takes the rest of a message once it has taken its first part
        if let Err(e) = socket.send(key.as_bytes(), zmq::SNDMORE) {
            return Err(back(e.into(), body, key));
        }
        if let Err(e) = socket.send(&sequence.to_be_bytes()[..], zmq::SNDMORE) {
            return Err(back(e.into(), body, key));
        }
        body.send(socket, 0)
            .map_err(|SendError { error, msg }| back(error, msg, key))
    }

    /// Sends a copy of the message, which stays (e.g. in a map).
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvSimple;
    /// let ctx = zmq::Context::new();
    /// let publisher = ctx.socket(zmq::PUB).unwrap();
    /// let m = KvSimple::new("k", 1, "v").unwrap();
    /// m.send_copy(&publisher).unwrap();
    /// m.send_copy(&publisher).unwrap();
    /// ```
    pub fn send_copy(&self, socket: &zmq::Socket) -> Result<()> {
        log::trace!("kvsimple out: {self}");
        self.to_msg().send(socket).map_err(Error::from)
    }

    /// The three frames, copied.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvSimple;
    /// let m = KvSimple::new("k", 1, "v").unwrap();
    /// assert_eq!(KvSimple::parse(m.to_msg()).unwrap(), m);
    /// ```
    pub fn to_msg(&self) -> Msg {
        self.clone().into_msg()
    }

    /// The three frames.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvSimple;
    /// let msg = KvSimple::new("k", 258, "v").unwrap().into_msg();
    /// assert_eq!(msg[1].as_bytes(), [0, 0, 0, 0, 0, 0, 1, 2]);
    /// ```
    pub fn into_msg(self) -> Msg {
        let mut msg = Msg::new();
        msg.push_back(self.key);
        msg.push_back(Frame::new(self.sequence.to_be_bytes()));
        msg.push_back(self.body);
        msg
    }
}

impl fmt::Display for KvSimple {
    /// The guide's `kvmsg_dump`: `[seq:1][key:key][size:4] 626F6479`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        dump(f, self.sequence, &self.key, &[], self.body())
    }
}

impl KeyValue for KvSimple {
    fn build(key: &str, sequence: u64, body: Frame) -> Result<Self> {
        KvSimple::new(key, sequence, body)
    }
    fn key(&self) -> &str {
        &self.key
    }
    fn sequence(&self) -> u64 {
        self.sequence
    }
    fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }
    fn body(&self) -> &[u8] {
        self.body.as_bytes()
    }
    fn footprint(&self) -> usize {
        self.key.len() + self.body.len()
    }
    fn parse(msg: Msg) -> Result<Self> {
        KvSimple::parse(msg)
    }
    fn to_msg(&self) -> Msg {
        KvSimple::to_msg(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (zmq::Context, zmq::Socket, zmq::Socket) {
        let ctx = zmq::Context::new();
        let output = ctx.socket(zmq::DEALER).unwrap();
        output.bind(&format!("inproc://{name}")).unwrap();
        let input = ctx.socket(zmq::DEALER).unwrap();
        input.connect(&format!("inproc://{name}")).unwrap();
        (ctx, output, input)
    }

    #[test]
    fn the_guides_self_test_round_trips() {
        let (_ctx, output, input) = pair("kvsimple-selftest");
        let kvmsg = KvSimple::new("key", 1, "body").unwrap();
        kvmsg.send_copy(&output).unwrap();
        kvmsg.send(&output).unwrap();
        for _ in 0..2 {
            let got = KvSimple::recv(&input).unwrap();
            assert_eq!(
                (got.key(), got.sequence(), got.body()),
                ("key", 1, &b"body"[..])
            );
        }
    }

    #[test]
    fn malformed_messages_are_protocol_errors() {
        let seq = [0u8; 8];
        let bad: Vec<Vec<&[u8]>> = vec![
            vec![],
            vec![b"k"],
            vec![b"k", &seq],
            vec![b"k", &seq, b"v", b"extra"],
            vec![b"k", b"1234567", b"v"],
            vec![b"k", b"123456789", b"v"],
            vec![b"\xff", &seq, b"v"],
        ];
        for frames in bad {
            let msg: Msg = frames.iter().copied().collect();
            assert!(
                KvSimple::parse(msg).unwrap_err().is_protocol(),
                "{frames:?}"
            );
        }
        let long = vec![b'k'; 256];
        let msg: Msg = [&long[..], &seq, b"v"].into_iter().collect();
        assert!(KvSimple::parse(msg).is_err());
    }

    #[test]
    fn a_failed_send_hands_the_message_back_whole() {
        let ctx = zmq::Context::new();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_sndtimeo(0).unwrap();
        let m = KvSimple::new("k", 42, "v").unwrap();
        let back = m.clone().send(&dealer).unwrap_err();
        assert_eq!(back.error.zmq(), Some(zmq::Error::EAGAIN));
        assert_eq!(back.msg, m);
    }
}
