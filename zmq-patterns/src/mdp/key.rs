//! [`Key`]: the bytes of a peer identity or a service name, as the broker's maps hold them.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::frame::{self, Frame};

/// Bytes held in the key itself up to this many (libzmq's own identities are 5 bytes, service
/// names are short); longer ones go to the heap.
const INLINE: usize = 30;

/// The bytes of an identity frame or a service name, owned by the broker's maps.
///
/// A [`Frame`] reaches its bytes through libzmq (`zmq_msg_data` and `zmq_msg_size`, two calls
/// each time), and the broker hashes and compares identities a dozen times per request; a key
/// holds its bytes itself, so that hashing and comparing are plain memory reads. It hashes and
/// compares as its bytes, so maps keyed by it can be looked up with a `&[u8]`.
#[derive(Clone)]
pub(crate) enum Key {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Key {
    /// A key holding a copy of `bytes`.
    pub(crate) fn new(bytes: &[u8]) -> Key {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE => {
                let mut inline = [0; INLINE];
                inline[..bytes.len()].copy_from_slice(bytes);
                Key::Inline(len, inline)
            }
            _ => Key::Heap(bytes.into()),
        }
    }

    /// The key's bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline(len, inline) => &inline[..usize::from(*len)],
            Key::Heap(bytes) => bytes,
        }
    }

    /// A new frame with the key's bytes, to send.
    pub(crate) fn to_frame(&self) -> Frame {
        Frame::new(self.as_bytes())
    }

    /// The bytes in upper-case hex, as [`Frame::strhex`].
    pub(crate) fn strhex(&self) -> String {
        frame::hex(self.as_bytes())
    }
}

impl From<&Frame> for Key {
    fn from(frame: &Frame) -> Key {
        Key::new(frame.as_bytes())
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl PartialEq<Frame> for Key {
    fn eq(&self, other: &Frame) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Hash for Key {
    /// As the bytes hash, so that [`Borrow<[u8]>`](Borrow) is sound.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for Key {
    /// As a [`Frame`] with the same bytes shows (`[NNN] text` or `[NNN] HEX`, a precision
    /// limiting the bytes shown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        frame::fmt_bytes(self.as_bytes(), f)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn short_and_long_keys_hold_their_bytes() {
        for len in [0, 1, 5, INLINE - 1, INLINE, INLINE + 1, 255, 256, 5000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let key = Key::new(&bytes);
            assert_eq!(key.as_bytes(), &bytes[..], "{len}");
            assert_eq!(matches!(key, Key::Inline(..)), len <= INLINE, "{len}");
            let frame = Frame::new(&bytes[..]);
            assert!(key == frame && Key::from(&frame).as_bytes() == &bytes[..]);
            assert!(key.to_frame() == bytes[..]);
        }
    }

    #[test]
    fn keys_compare_and_hash_as_their_bytes() {
        let mut map = HashMap::new();
        map.insert(Key::new(b"A"), 1);
        map.insert(Key::new(&[b'B'; 100]), 2);
        map.insert(Key::new(b""), 3);
        assert_eq!(map.get(&b"A"[..]), Some(&1));
        assert_eq!(map.get(&[b'B'; 100][..]), Some(&2));
        assert_eq!(map.get(&b""[..]), Some(&3));
        assert_eq!(map.get(&b"A\0"[..]), None);
        assert!(Key::new(b"A") != Key::new(b"A\0"));
        // Inline bytes past the length never count.
        assert!(Key::new(b"AB") != Key::new(b"A"));
    }

    #[test]
    fn keys_print_as_frames_do() {
        for bytes in [&b"echo"[..], b"\x00\x6b\x8b\x45\x67", &[b'x'; 80]] {
            let (key, frame) = (Key::new(bytes), Frame::new(bytes));
            assert_eq!(format!("{key}"), format!("{frame}"));
            assert_eq!(format!("{key:.8}"), format!("{frame:.8}"));
            assert_eq!(key.strhex(), frame.strhex());
        }
    }
}
