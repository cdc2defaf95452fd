//! CURVE keys in Z85 text: [`PublicKey`], [`SecretKey`], [`KeyPair`].

use std::fmt;

use crate::error::{Error, Result};

/// The length of a CURVE key in bytes; in Z85 text it is 40 characters.
pub const KEY_LEN: usize = 32;

/// The Z85 alphabet (spec 32/Z85), in value order.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// True when the linked libzmq has CURVE (`zmq::has("curve") == Some(true)`). The `zmq`
/// crate's own build of libzmq has not: see [`Error::Unsupported`].
///
/// ```
/// if !zmq_patterns::cert::curve_available() {
///     assert!(zmq_patterns::cert::KeyPair::generate().is_err());
/// }
/// ```
pub fn curve_available() -> bool {
    zmq::has("curve") == Some(true)
}

/// `Ok` when CURVE is available, else [`Error::Unsupported`] naming `what` and saying how to
/// get CURVE: for a program that checks before it reads its key files.
///
/// ```
/// let done = zmq_patterns::cert::require_curve("a CURVE broker");
/// assert_eq!(done.is_ok(), zmq_patterns::cert::curve_available());
/// if let Err(e) = done {
///     assert!(e.to_string().starts_with("unsupported: a CURVE broker needs CURVE"));
/// }
/// ```
pub fn require_curve(what: &str) -> Result<()> {
    if curve_available() {
        return Ok(());
    }
    Err(Error::Unsupported(format!(
        "{what} needs CURVE, which this libzmq lacks (the zmq crate's own build of libzmq has no \
         libsodium): link a system libzmq built with libsodium instead (Debian's libzmq3-dev), \
         with `[target.<triple>.zmq] rustc-link-lib = [\"zmq\"]` in .cargo/config.toml"
    )))
}

/// A key as Z85 text (40 characters for 32 bytes), by libzmq's encoder.
///
/// ```
/// assert_eq!(zmq_patterns::cert::z85(&[0; 32]).len(), 40);
/// ```
pub fn z85(key: &[u8; KEY_LEN]) -> String {
    // A multiple of 4 bytes always encodes
    zmq::z85_encode(key).unwrap_or_default()
}

/// Decodes 40 characters of Z85 into a key; anything else (another length, a character
/// outside the alphabet, a group over 2³²−1) is [`Error::Protocol`]. Written here rather than
/// with `zmq::z85_decode`, which leaks its input buffer on every call and does not report
/// characters libzmq rejects.
///
/// ```
/// use zmq_patterns::cert::{z85, z85_key};
/// let key = [7u8; 32];
/// assert_eq!(z85_key(&z85(&key))?, key);
/// assert!(z85_key("too short").is_err());
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
pub fn z85_key(text: &str) -> Result<[u8; KEY_LEN]> {
    let bytes = text.as_bytes();
    if bytes.len() != KEY_LEN / 4 * 5 {
        return Err(Error::protocol(format!(
            "a Z85 key of {} characters, not 40",
            bytes.len()
        )));
    }
    let mut key = [0u8; KEY_LEN];
    for (group, out) in bytes.chunks(5).zip(key.chunks_mut(4)) {
        let mut value: u64 = 0;
        for &c in group {
            let digit = ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or_else(|| Error::protocol("a Z85 key with a character outside Z85"))?;
            value = value * 85 + digit as u64;
        }
        let value = u32::try_from(value)
            .map_err(|_| Error::protocol("a Z85 key with a group over 2^32-1"))?;
        out.copy_from_slice(&value.to_be_bytes());
    }
    Ok(key)
}

/// A CURVE public key.
///
/// ```
/// use zmq_patterns::cert::PublicKey;
/// let key = PublicKey::from_z85("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7")?; // the guide's
/// assert_eq!(PublicKey::from_z85(&key.to_z85())?, key);
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey(pub [u8; KEY_LEN]);

impl PublicKey {
    /// Parses 40 characters of Z85 ([`z85_key`]).
    ///
    /// ```
    /// assert!(zmq_patterns::cert::PublicKey::from_z85("").is_err());
    /// ```
    pub fn from_z85(text: &str) -> Result<PublicKey> {
        z85_key(text).map(PublicKey)
    }

    /// The key as Z85 text.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::cert::PublicKey([0; 32]).to_z85(), "0".repeat(40));
    /// ```
    pub fn to_z85(&self) -> String {
        z85(&self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_z85())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

/// A CURVE secret key. Its `Debug` does not show it; it is zeroed when dropped.
///
/// ```
/// let key = zmq_patterns::cert::SecretKey([9; 32]);
/// assert_eq!(format!("{key:?}"), "SecretKey(***)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(pub [u8; KEY_LEN]);

impl SecretKey {
    /// Parses 40 characters of Z85 ([`z85_key`]).
    ///
    /// ```
    /// assert!(zmq_patterns::cert::SecretKey::from_z85(&"0".repeat(40)).is_ok());
    /// ```
    pub fn from_z85(text: &str) -> Result<SecretKey> {
        z85_key(text).map(SecretKey)
    }

    /// The key as Z85 text.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::cert::SecretKey([0; 32]).to_z85().len(), 40);
    /// ```
    pub fn to_z85(&self) -> String {
        z85(&self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        // Best effort: the optimiser may keep copies elsewhere
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference to a byte of this key.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// A CURVE key pair.
///
/// ```
/// use zmq_patterns::cert::KeyPair;
/// match KeyPair::generate() {
///     Ok(pair) => assert_eq!(pair.public.to_z85().len(), 40),
///     Err(e) => assert!(e.is_unsupported()), // the zmq crate's own libzmq has no CURVE
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// The public half, given to peers.
    pub public: PublicKey,
    /// The secret half, kept.
    pub secret: SecretKey,
}

impl KeyPair {
    /// A new random key pair, from libzmq (`zmq_curve_keypair`). [`Error::Unsupported`] when
    /// the linked libzmq has no CURVE: this crate does not carry its own cryptography.
    ///
    /// ```
    /// let pair = zmq_patterns::cert::KeyPair::generate();
    /// assert_eq!(pair.is_ok(), zmq_patterns::cert::curve_available());
    /// ```
    pub fn generate() -> Result<KeyPair> {
        require_curve("generating a CURVE key pair")?;
        let pair = zmq::CurveKeyPair::new()?;
        Ok(KeyPair {
            public: PublicKey(pair.public_key),
            secret: SecretKey(pair.secret_key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z85_matches_the_spec_vector_and_libzmq() {
        // 32/Z85's test vector: 86 4F D2 6F B5 59 F7 5B is "HelloWorld"
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
        let text = z85(&key);
        assert!(text.starts_with("HelloWorld"));
        assert_eq!(z85_key(&text).unwrap(), key);
        // Every byte value through libzmq's encoder and back through ours
        let all: Vec<u8> = (0..=255).collect();
        for chunk in all.chunks(32) {
            let key: [u8; 32] = chunk.try_into().unwrap();
            assert_eq!(z85_key(&z85(&key)).unwrap(), key);
        }
    }

    #[test]
    fn z85_refuses_what_is_not_a_key() {
        assert!(z85_key(&"#".repeat(40)).is_err()); // 84*85^4... over 2^32-1
        assert!(z85_key(&format!("{} ", "0".repeat(39))).is_err());
        assert!(z85_key(&"0".repeat(41)).is_err());
        assert!(z85_key(&"é".repeat(20)).is_err());
    }

    #[test]
    fn without_curve_generating_is_unsupported_and_says_how() {
        if curve_available() {
            eprintln!("skipped: this libzmq has CURVE");
            return;
        }
        let e = KeyPair::generate().unwrap_err();
        assert!(e.is_unsupported());
        assert!(e.to_string().contains("libsodium"), "{e}");
    }
}
