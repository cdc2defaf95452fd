//! [`KvMsg`]: the guide's `kvmsg` class, a key-value message of five frames with a UUID and
//! properties, as spec 12/CHP sends it (KVPUB, KVSET, KVSYNC, KTHXBAI, HUGZ).

use std::fmt;

use rand::RngCore;

use super::{KeyValue, check_key, dump, frame_count, parse_key, parse_sequence};
use crate::error::{Error, Result, SendError};
use crate::{Frame, Msg};

/// The largest properties frame, in bytes, that a parser or [`KvMsg::set_prop`] accepts.
pub const PROPS_MAX: usize = 64 * 1024;

/// A 16-byte UUID as [`KvMsg`] carries it: random bytes ([`Uuid::random`]; the C used
/// libuuid's `uuid_generate`), printed as 32 uppercase hex digits.
///
/// ```
/// use zmq_patterns::kvmsg::Uuid;
/// let uuid = Uuid::from([0xab; 16]);
/// assert_eq!(uuid.to_string(), "AB".repeat(16));
/// assert_ne!(Uuid::random(), Uuid::random());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid([u8; 16]);

impl Uuid {
    /// 16 random bytes, with the version 4 and variant bits set as RFC 4122 asks.
    ///
    /// ```
    /// let uuid = zmq_patterns::kvmsg::Uuid::random();
    /// assert_eq!(uuid.as_bytes()[6] >> 4, 4);
    /// ```
    pub fn random() -> Uuid {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }

    /// The 16 bytes.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::kvmsg::Uuid::from([1; 16]).as_bytes(), &[1; 16]);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl From<[u8; 16]> for Uuid {
    fn from(bytes: [u8; 16]) -> Uuid {
        Uuid(bytes)
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// A key-value message of five frames: `[key][sequence][uuid][properties][body]`.
///
/// - key: a string of at most [`KEY_MAX`](super::KEY_MAX) bytes; sequence: 8 bytes big-endian;
/// - uuid: 16 bytes, or empty (CHP: "frame 2 MAY be empty");
/// - properties: zero or more `name=value\n` lines (UTF-8, a name neither empty nor holding
///   `=`, each name once), at most [`PROPS_MAX`] bytes;
/// - body: any bytes; empty means "delete this key" ([`KvMap`](super::KvMap)).
///
/// It prints as the guide's `kvmsg_dump` does.
///
/// ```
/// use zmq_patterns::kvmsg::KvMsg;
/// let mut kvmsg = KvMsg::new("key", 2, "body").unwrap();
/// kvmsg.set_prop("prop1", "value1").unwrap();
/// kvmsg.set_prop("prop2", "value1").unwrap();
/// kvmsg.set_prop("prop2", "value2").unwrap();
/// kvmsg.set_uuid();
/// assert_eq!(kvmsg.prop("prop2"), Some("value2"));
/// assert_eq!(kvmsg.to_string(), "[seq:2][key:key][size:4] [prop1=value1;prop2=value2;]626F6479");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvMsg {
    key: String,
    sequence: u64,
    uuid: Option<Uuid>,
    props: Vec<(String, String)>,
    body: Frame,
}

impl KvMsg {
    /// A message with this key, sequence number and body, no UUID and no properties;
    /// [`Error::Protocol`] if the key is too long.
    ///
    /// ```
    /// let m = zmq_patterns::kvmsg::KvMsg::new("k", 1, "v").unwrap();
    /// assert!(m.uuid().is_none() && m.props().next().is_none());
    /// ```
    pub fn new(key: impl Into<String>, sequence: u64, body: impl Into<Frame>) -> Result<KvMsg> {
        let key = key.into();
        check_key(&key)?;
        Ok(KvMsg {
            key,
            sequence,
            uuid: None,
            props: Vec::new(),
            body: body.into(),
        })
    }

    /// The key.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::kvmsg::KvMsg::new("k", 0, "").unwrap().key(), "k");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Sets the key; [`Error::Protocol`] (and no change) if it is too long.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 0, "").unwrap();
    /// assert!(m.set_key("x".repeat(300)).is_err());
    /// assert_eq!(m.key(), "k");
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
    /// assert_eq!(zmq_patterns::kvmsg::KvMsg::new("k", 3, "").unwrap().sequence(), 3);
    /// ```
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Sets the sequence number.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 0, "").unwrap();
    /// m.set_sequence(8);
    /// assert_eq!(m.sequence(), 8);
    /// ```
    pub fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }

    /// The UUID, if the message has one.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 0, "").unwrap();
    /// m.set_uuid();
    /// assert!(m.uuid().is_some());
    /// ```
    pub fn uuid(&self) -> Option<&Uuid> {
        self.uuid.as_ref()
    }

    /// Gives the message a new random UUID (`kvmsg_set_uuid`) and returns it.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 0, "").unwrap();
    /// let uuid = m.set_uuid();
    /// assert_eq!(m.uuid(), Some(&uuid));
    /// ```
    pub fn set_uuid(&mut self) -> Uuid {
        let uuid = Uuid::random();
        self.uuid = Some(uuid);
        uuid
    }

    /// Sets or clears the UUID.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMsg, Uuid};
    /// let mut m = KvMsg::new("k", 0, "").unwrap();
    /// m.set_uuid_to(Some(Uuid::from([7; 16])));
    /// assert_eq!(m.uuid().unwrap().as_bytes(), &[7; 16]);
    /// m.set_uuid_to(None);
    /// assert!(m.uuid().is_none());
    /// ```
    pub fn set_uuid_to(&mut self, uuid: Option<Uuid>) {
        self.uuid = uuid;
    }

    /// The value of property `name`, if set (the C returned `""` for a missing one).
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 0, "").unwrap();
    /// m.set_prop("ttl", "30").unwrap();
    /// assert_eq!(m.prop("ttl"), Some("30"));
    /// assert_eq!(m.prop("tt"), None);
    /// ```
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets property `name` to `value`, replacing an earlier value. [`Error::Protocol`] (and no
    /// change) for a name that is empty or holds `=` or a newline, a value that holds a newline,
    /// or properties that would grow past [`PROPS_MAX`] bytes.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 0, "").unwrap();
    /// assert!(m.set_prop("a=b", "c").is_err());
    /// assert!(m.set_prop("a", "b\nc").is_err());
    /// m.set_prop("a", "b=c").unwrap(); // '=' is fine in a value
    /// assert_eq!(m.prop("a"), Some("b=c"));
    /// ```
    pub fn set_prop(&mut self, name: &str, value: &str) -> Result<()> {
        if name.is_empty() || name.contains(['=', '\n']) {
            return Err(Error::protocol(format!(
                "property name {name:?} is empty or holds '=' or a newline"
            )));
        }
        if value.contains('\n') {
            return Err(Error::protocol(format!(
                "property {name}: the value holds a newline"
            )));
        }
        let old = self.prop(name).map_or(0, |v| name.len() + v.len() + 2);
        if self.props_size() - old + name.len() + value.len() + 2 > PROPS_MAX {
            return Err(Error::protocol(format!(
                "properties would grow past {PROPS_MAX} bytes"
            )));
        }
        match self.props.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.to_string(),
            None => self.props.push((name.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// The properties, `(name, value)`, in the order they were set or received.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 0, "").unwrap();
    /// m.set_prop("a", "1").unwrap();
    /// assert_eq!(m.props().collect::<Vec<_>>(), [("a", "1")]);
    /// ```
    pub fn props(&self) -> impl Iterator<Item = (&str, &str)> {
        self.props.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The size of the properties frame in bytes.
    fn props_size(&self) -> usize {
        self.props.iter().map(|(n, v)| n.len() + v.len() + 2).sum()
    }

    /// The body.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::kvmsg::KvMsg::new("k", 0, "v").unwrap().body(), b"v");
    /// ```
    pub fn body(&self) -> &[u8] {
        self.body.as_bytes()
    }

    /// Sets the body.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 0, "v").unwrap();
    /// m.set_body("");
    /// assert_eq!(m.size(), 0);
    /// ```
    pub fn set_body(&mut self, body: impl Into<Frame>) {
        self.body = body.into();
    }

    /// The body's size in bytes.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::kvmsg::KvMsg::new("k", 0, "vv").unwrap().size(), 2);
    /// ```
    pub fn size(&self) -> usize {
        self.body.len()
    }

    /// Parses a whole message; see [`KvMsg`] for the rules. Anything else is
    /// [`Error::Protocol`].
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvMsg;
    /// use zmq_patterns::Msg;
    /// let seq = [0u8, 0, 0, 0, 0, 0, 0, 1];
    /// let m = KvMsg::parse(Msg::from_iter([&b"k"[..], &seq, b"", b"ttl=3\n", b"v"])).unwrap();
    /// assert_eq!(m.prop("ttl"), Some("3"));
    /// assert!(KvMsg::parse(Msg::from_iter([&b"k"[..], &seq, b"123", b"", b"v"])).is_err());
    /// assert!(KvMsg::parse(Msg::from_iter([&b"k"[..], &seq, b"", b"ttl", b"v"])).is_err());
    /// ```
    pub fn parse(mut msg: Msg) -> Result<KvMsg> {
        if msg.len() != 5 {
            return Err(frame_count(5, &msg));
        }
        let key = parse_key(&msg[0])?;
        let sequence = parse_sequence(&msg[1])?;
        let uuid = match msg[2].len() {
            0 => None,
            16 => {
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&msg[2]);
                Some(Uuid(bytes))
            }
            n => {
                return Err(Error::protocol(format!(
                    "a UUID frame of {n} bytes, not 16 or empty"
                )));
            }
        };
        let props = parse_props(&msg[3])?;
        let body = msg.pop_back().unwrap_or_default();
        Ok(KvMsg {
            key,
            sequence,
            uuid,
            props,
            body,
        })
    }

    /// Receives the next message whole and parses it (`kvmsg_recv`). A malformed message is
    /// read whole and comes back as [`Error::Protocol`]: log it and receive again.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let ctx = zmq::Context::new();
    /// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// a.bind("inproc://kvmsg-recv").unwrap();
    /// b.connect("inproc://kvmsg-recv").unwrap();
    /// a.send_multipart(["k", "12345678", "", "", "v"], 0).unwrap(); // fine: 8 bytes
    /// a.send_multipart(["k", "1234", "", "", "v"], 0).unwrap();
    /// assert_eq!(KvMsg::recv(&b).unwrap().sequence(), 0x3132333435363738);
    /// assert!(KvMsg::recv(&b).unwrap_err().is_protocol());
    /// ```
    pub fn recv(socket: &zmq::Socket) -> Result<KvMsg> {
        let parsed = Self::parse(Msg::recv(socket)?);
        if let Ok(kv) = &parsed {
            log::trace!("kvmsg in: {kv}");
        }
        parsed
    }

    /// Like [`KvMsg::recv`] if a message is waiting: `Ok(None)` if not.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::SUB).unwrap();
    /// assert!(zmq_patterns::kvmsg::KvMsg::try_recv(&s).unwrap().is_none());
    /// ```
    pub fn try_recv(socket: &zmq::Socket) -> Result<Option<KvMsg>> {
        match Msg::try_recv(socket)? {
            Some(msg) => Self::parse(msg).map(Some),
            None => Ok(None),
        }
    }

    /// Sends the message (`kvmsg_send`), consuming it; if the send fails the message comes back
    /// in the [`SendError`].
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let ctx = zmq::Context::new();
    /// let dealer = ctx.socket(zmq::DEALER).unwrap();
    /// dealer.set_sndtimeo(0).unwrap(); // no peer: the send fails at once
    /// let back = KvMsg::new("k", 1, "v").unwrap().send(&dealer).unwrap_err().msg;
    /// assert_eq!(back.body(), b"v");
    /// ```
    pub fn send(self, socket: &zmq::Socket) -> Result<(), SendError<KvMsg>> {
        log::trace!("kvmsg out: {self}");
        let KvMsg {
            key,
            sequence,
            uuid,
            props,
            body,
        } = self;
        let back =
            |error: Error, body: Frame, key: String, props: Vec<(String, String)>| SendError {
                error,
                msg: KvMsg {
                    key,
                    sequence,
                    uuid,
                    props,
                    body,
                },
            };
        // libzmq takes the rest of a message once it has taken its first part
        let uuid_bytes: &[u8] = uuid.as_ref().map_or(&[], |u| &u.0[..]);
        let props_frame = encode_props(&props);
        let head: [&[u8]; 4] = [
            key.as_bytes(),
            &sequence.to_be_bytes(),
            uuid_bytes,
            &props_frame,
        ];
        let failed = head
            .into_iter()
            .find_map(|part| socket.send(part, zmq::SNDMORE).err());
        if let Some(e) = failed {
            return Err(back(e.into(), body, key, props));
        }
        body.send(socket, 0)
            .map_err(|SendError { error, msg }| back(error, msg, key, props))
    }

    /// Sends a copy of the message, which stays (e.g. in a map).
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let ctx = zmq::Context::new();
    /// let publisher = ctx.socket(zmq::PUB).unwrap();
    /// KvMsg::new("k", 1, "v").unwrap().send_copy(&publisher).unwrap();
    /// ```
    pub fn send_copy(&self, socket: &zmq::Socket) -> Result<()> {
        log::trace!("kvmsg out: {self}");
        self.to_msg().send(socket).map_err(Error::from)
    }

    /// The five frames, copied.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let m = KvMsg::new("k", 1, "v").unwrap();
    /// assert_eq!(KvMsg::parse(m.to_msg()).unwrap(), m);
    /// ```
    pub fn to_msg(&self) -> Msg {
        self.clone().into_msg()
    }

    /// The five frames.
    ///
    /// ```
    /// let mut m = zmq_patterns::kvmsg::KvMsg::new("k", 1, "v").unwrap();
    /// m.set_prop("ttl", "5").unwrap();
    /// let msg = m.into_msg();
    /// assert!(msg[2].is_empty() && msg[3] == "ttl=5\n");
    /// ```
    pub fn into_msg(self) -> Msg {
        let mut msg = Msg::new();
        msg.push_back(self.key);
        msg.push_back(Frame::new(self.sequence.to_be_bytes()));
        msg.push_back(match self.uuid {
            Some(uuid) => Frame::new(uuid.0),
            None => Frame::empty(),
        });
        msg.push_back(encode_props(&self.props));
        msg.push_back(self.body);
        msg
    }
}

/// `name=value\n` per property.
fn encode_props(props: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in props {
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

/// The properties frame: empty, or `name=value\n` lines (the last one ended too).
fn parse_props(frame: &Frame) -> Result<Vec<(String, String)>> {
    if frame.len() > PROPS_MAX {
        return Err(Error::protocol(format!(
            "a properties frame of {} bytes, more than {PROPS_MAX}",
            frame.len()
        )));
    }
    let text = frame
        .as_str()
        .ok_or_else(|| Error::protocol("the properties are not UTF-8"))?;
    let mut props: Vec<(String, String)> = Vec::new();
    if text.is_empty() {
        return Ok(props);
    }
    let Some(lines) = text.strip_suffix('\n') else {
        return Err(Error::protocol(
            "the last property does not end in a newline",
        ));
    };
    for line in lines.split('\n') {
        let Some((name, value)) = line.split_once('=') else {
            return Err(Error::protocol(format!("property {line:.40?} has no '='")));
        };
        if name.is_empty() {
            return Err(Error::protocol("a property without a name"));
        }
        if props.iter().any(|(n, _)| n == name) {
            return Err(Error::protocol(format!("property {name:.40?} given twice")));
        }
        props.push((name.to_string(), value.to_string()));
    }
    Ok(props)
}

impl fmt::Display for KvMsg {
    /// The guide's `kvmsg_dump`: `[seq:2][key:key][size:4] [prop1=value1;]626F6479`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        dump(f, self.sequence, &self.key, &self.props, self.body())
    }
}

impl KeyValue for KvMsg {
    fn build(key: &str, sequence: u64, body: Frame) -> Result<Self> {
        KvMsg::new(key, sequence, body)
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
        self.key.len() + self.body.len() + self.props_size()
    }
    fn parse(msg: Msg) -> Result<Self> {
        KvMsg::parse(msg)
    }
    fn to_msg(&self) -> Msg {
        KvMsg::to_msg(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 1];

    fn parse(frames: [&[u8]; 5]) -> Result<KvMsg> {
        KvMsg::parse(frames.into_iter().collect())
    }

    #[test]
    fn the_guides_self_test_round_trips() {
        let ctx = zmq::Context::new();
        let output = ctx.socket(zmq::DEALER).unwrap();
        output.bind("inproc://kvmsg-selftest").unwrap();
        let input = ctx.socket(zmq::DEALER).unwrap();
        input.connect("inproc://kvmsg-selftest").unwrap();

        let mut kvmsg = KvMsg::new("key", 1, "body").unwrap();
        let uuid = kvmsg.set_uuid();
        kvmsg.send(&output).unwrap();
        let got = KvMsg::recv(&input).unwrap();
        assert_eq!((got.key(), got.uuid()), ("key", Some(&uuid)));

        let mut kvmsg = KvMsg::new("key", 2, "body").unwrap();
        kvmsg.set_prop("prop1", "value1").unwrap();
        kvmsg.set_prop("prop2", "value1").unwrap();
        kvmsg.set_prop("prop2", "value2").unwrap();
        kvmsg.send_copy(&output).unwrap();
        let got = KvMsg::recv(&input).unwrap();
        assert_eq!(got.prop("prop2"), Some("value2"));
        assert_eq!(got, kvmsg);
    }

    #[test]
    fn properties_are_strict() {
        assert!(parse([b"k", &SEQ, b"", b"", b"v"]).is_ok());
        assert!(parse([b"k", &SEQ, b"", b"a=\nb=c=d\n", b"v"]).is_ok());
        for props in [
            &b"a=1"[..],
            b"\n",
            b"=1\n",
            b"a\n",
            b"a=1\na=2\n",
            b"a=1\n\n",
            b"\xff=1\n",
        ] {
            assert!(
                parse([b"k", &SEQ, b"", props, b"v"])
                    .unwrap_err()
                    .is_protocol(),
                "{props:?}"
            );
        }
        let big = vec![b'a'; PROPS_MAX + 1];
        assert!(parse([b"k", &SEQ, b"", &big, b"v"]).is_err());
    }

    #[test]
    fn uuids_are_16_bytes_or_absent() {
        assert!(parse([b"k", &SEQ, &[9; 16], b"", b"v"]).unwrap().uuid() == Some(&Uuid([9; 16])));
        for n in [1, 15, 17, 32] {
            assert!(parse([b"k", &SEQ, &vec![0; n], b"", b"v"]).is_err());
        }
        assert!(KvMsg::parse(Msg::from_iter(["k"; 4])).is_err());
        assert!(KvMsg::parse(Msg::from_iter(["k"; 6])).is_err());
    }

    #[test]
    fn set_prop_keeps_the_frame_bounded() {
        let mut m = KvMsg::new("k", 0, "").unwrap();
        let long = "v".repeat(PROPS_MAX / 2);
        m.set_prop("a", &long).unwrap();
        assert!(m.set_prop("b", &long).is_err());
        m.set_prop("a", "short").unwrap(); // replacing frees room
        m.set_prop("b", &long).unwrap();
        assert_eq!(KvMsg::parse(m.to_msg()).unwrap(), m);
    }

    #[test]
    fn a_failed_send_hands_the_message_back_whole() {
        let ctx = zmq::Context::new();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_sndtimeo(0).unwrap();
        let mut m = KvMsg::new("k", 42, "v").unwrap();
        m.set_uuid();
        m.set_prop("ttl", "1").unwrap();
        assert_eq!(m.clone().send(&dealer).unwrap_err().msg, m);
    }
}
