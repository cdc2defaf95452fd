//! Key-value messages for the Clone pattern (guide chapter 5, "Reliable Pub-Sub"; spec 12/CHP):
//! the guide's `kvsimple` and `kvmsg` classes, a bounded store of them, and the snapshot
//! exchange (`ICANHAZ?` ... `KTHXBAI`).
//!
//! | here | guide | wire |
//! |---|---|---|
//! | [`KvSimple`] | `kvsimple` (Clone models 1–4) | `[key][sequence][body]` |
//! | [`KvMsg`] | `kvmsg` (models 5–6, CHP) | `[key][sequence][uuid][properties][body]` |
//! | [`KvMap`] | `kvmsg_store` into a `zhash` | a key → message map, bounded; an empty body deletes |
//! | [`snapshot`] | `clonesrv2`/`clonecli2` | `ICANHAZ?` request, `KTHXBAI` end of snapshot |
//!
//! The key is a UTF-8 string of at most [`KEY_MAX`] bytes, the sequence number a big-endian
//! 64-bit integer. Every parser is strict and reads the whole message: a wrong number of frames,
//! a sequence frame that is not 8 bytes, a UUID that is neither empty nor 16 bytes, malformed
//! properties or an oversized key is [`Error::Protocol`], never a panic,
//! and nothing is left on the socket. What a parser accepts serialises back to the same frames.
//!
//! ```
//! use zmq_patterns::kvmsg::{KvMap, KvSimple, Limits, Stored};
//! let ctx = zmq::Context::new();
//! let (publisher, subscriber) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
//! publisher.bind("inproc://kvmsg-doc").unwrap();
//! subscriber.connect("inproc://kvmsg-doc").unwrap();
//!
//! KvSimple::new("5678", 1, "123456").unwrap().send(&publisher).unwrap();
//! let update = KvSimple::recv(&subscriber).unwrap();
//! let mut kvmap = KvMap::new(Limits::default());
//! assert_eq!(kvmap.store(update).unwrap(), Stored::Inserted);
//! assert_eq!(kvmap.get("5678").unwrap().body(), b"123456");
//! ```

use std::fmt;

use crate::error::{Error, Result};
use crate::{Frame, Msg};

pub mod full;
pub mod map;
pub mod simple;
pub mod snapshot;

pub use full::{KvMsg, PROPS_MAX, Uuid};
pub use map::{KvMap, Limits, MapFull, Stored};
pub use simple::KvSimple;
pub use snapshot::{ICANHAZ, KTHXBAI, SnapshotRequest};

/// The longest key, in bytes (the guide's `KVMSG_KEY_MAX`; the C truncated longer keys, here
/// they are refused).
pub const KEY_MAX: usize = 255;

/// What [`KvSimple`] and [`KvMsg`] have in common, so that a [`KvMap`] and the [`snapshot`]
/// helpers work with either.
///
/// ```
/// use zmq_patterns::kvmsg::{KeyValue, KvMsg, KvSimple};
/// fn describe<M: KeyValue>(m: &M) -> String {
///     format!("{} #{} ({} bytes)", m.key(), m.sequence(), m.body().len())
/// }
/// assert_eq!(describe(&KvSimple::new("k", 3, "abc").unwrap()), "k #3 (3 bytes)");
/// assert_eq!(describe(&KvMsg::new("k", 4, "").unwrap()), "k #4 (0 bytes)");
/// ```
pub trait KeyValue: Sized + Clone + fmt::Display {
    /// A message with this key, sequence number and body; [`Error::Protocol`] for a key that
    /// [`check_key`] refuses.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KeyValue, KvSimple};
    /// let m = <KvSimple as KeyValue>::build("KTHXBAI", 7, "".into()).unwrap();
    /// assert_eq!(m.sequence(), 7);
    /// ```
    fn build(key: &str, sequence: u64, body: Frame) -> Result<Self>;
    /// The key.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KeyValue, KvSimple};
    /// assert_eq!(KeyValue::key(&KvSimple::new("k", 0, "v").unwrap()), "k");
    /// ```
    fn key(&self) -> &str;
    /// The sequence number.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KeyValue, KvSimple};
    /// assert_eq!(KeyValue::sequence(&KvSimple::new("k", 9, "v").unwrap()), 9);
    /// ```
    fn sequence(&self) -> u64;
    /// Sets the sequence number (a Clone server numbers the updates it republishes).
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KeyValue, KvSimple};
    /// let mut m = KvSimple::new("k", 0, "v").unwrap();
    /// KeyValue::set_sequence(&mut m, 5);
    /// assert_eq!(m.sequence(), 5);
    /// ```
    fn set_sequence(&mut self, sequence: u64);
    /// The body (the value); empty means "delete this key".
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KeyValue, KvSimple};
    /// assert_eq!(KeyValue::body(&KvSimple::new("k", 0, "v").unwrap()), b"v");
    /// ```
    fn body(&self) -> &[u8];
    /// The bytes this message holds that count against a [`KvMap`]'s [`Limits::max_bytes`]:
    /// key, body and (for [`KvMsg`]) properties.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KeyValue, KvSimple};
    /// assert_eq!(KvSimple::new("key", 0, "body").unwrap().footprint(), 7);
    /// ```
    fn footprint(&self) -> usize;
    /// Parses a whole message; see the module's rules.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KeyValue, KvSimple};
    /// use zmq_patterns::Msg;
    /// assert!(<KvSimple as KeyValue>::parse(Msg::from_iter(["k"])).unwrap_err().is_protocol());
    /// ```
    fn parse(msg: Msg) -> Result<Self>;
    /// The message's frames, copied (the message stays, e.g. in a map).
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KeyValue, KvSimple};
    /// assert_eq!(KeyValue::to_msg(&KvSimple::new("k", 0, "v").unwrap()).len(), 3);
    /// ```
    fn to_msg(&self) -> Msg;
}

/// Checks a key: UTF-8 by type, at most [`KEY_MAX`] bytes.
///
/// ```
/// use zmq_patterns::kvmsg::{check_key, KEY_MAX};
/// assert!(check_key("/client/1234").is_ok());
/// assert!(check_key(&"k".repeat(KEY_MAX + 1)).unwrap_err().is_protocol());
/// ```
pub fn check_key(key: &str) -> Result<()> {
    if key.len() > KEY_MAX {
        return Err(Error::protocol(format!(
            "a key of {} bytes is longer than {KEY_MAX}",
            key.len()
        )));
    }
    Ok(())
}

/// The key frame as a string: UTF-8, at most [`KEY_MAX`] bytes.
pub(crate) fn parse_key(frame: &Frame) -> Result<String> {
    if frame.len() > KEY_MAX {
        return Err(Error::protocol(format!(
            "a key of {} bytes is longer than {KEY_MAX}",
            frame.len()
        )));
    }
    match frame.as_str() {
        Some(key) => Ok(key.to_string()),
        None => Err(Error::protocol("the key is not UTF-8")),
    }
}

/// The sequence frame: exactly 8 bytes, big-endian.
pub(crate) fn parse_sequence(frame: &Frame) -> Result<u64> {
    match <[u8; 8]>::try_from(frame.as_bytes()) {
        Ok(bytes) => Ok(u64::from_be_bytes(bytes)),
        Err(_) => Err(Error::protocol(format!(
            "a sequence frame of {} bytes, not 8",
            frame.len()
        ))),
    }
}

/// The error for a message of `got` frames where `want` are expected.
pub(crate) fn frame_count(want: usize, msg: &Msg) -> Error {
    Error::protocol(format!(
        "{} frames ({} bytes), not {want}",
        msg.len(),
        msg.content_size()
    ))
}

/// The guide's `kvmsg_dump` line: `[seq:1][key:k][size:4] ` then properties, then the body in hex.
pub(crate) fn dump(
    f: &mut fmt::Formatter<'_>,
    sequence: u64,
    key: &str,
    props: &[(String, String)],
    body: &[u8],
) -> fmt::Result {
    write!(f, "[seq:{sequence}][key:{key}][size:{}] ", body.len())?;
    if !props.is_empty() {
        f.write_str("[")?;
        for (name, value) in props {
            write!(f, "{name}={value};")?;
        }
        f.write_str("]")?;
    }
    for b in body {
        write!(f, "{b:02X}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_exactly_eight_big_endian_bytes() {
        let f = Frame::new(0x0102_0304_0506_0708u64.to_be_bytes());
        assert_eq!(parse_sequence(&f).unwrap(), 0x0102_0304_0506_0708);
        for n in [0, 1, 7, 9, 16] {
            assert!(
                parse_sequence(&Frame::new(vec![0u8; n]))
                    .unwrap_err()
                    .is_protocol()
            );
        }
    }

    #[test]
    fn keys_are_utf8_and_bounded() {
        assert_eq!(parse_key(&Frame::from("")).unwrap(), "");
        assert_eq!(
            parse_key(&Frame::from("k".repeat(KEY_MAX))).unwrap().len(),
            KEY_MAX
        );
        assert!(parse_key(&Frame::from("k".repeat(KEY_MAX + 1))).is_err());
        assert!(parse_key(&Frame::new([0xff, 0xfe])).is_err());
    }
}
