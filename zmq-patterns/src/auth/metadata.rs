//! [`Metadata`]: the name/value properties a ZAP reply carries to the server (ZMTP 3.0's
//! metadata encoding, which spec 27/ZAP uses for its last reply frame).

use crate::error::{Error, Result};

/// The longest property name ZMTP can carry, in bytes.
pub const NAME_MAX: usize = 255;

/// Properties that a ZAP handler returns with a successful reply, in order; libzmq attaches
/// them to every message from that peer (`zmq::Message::gets(name)`).
///
/// On the wire each property is a one-byte name length, the name, a four-byte big-endian value
/// length and the value. Names are 1 to 255 characters from `A-Z a-z 0-9 - _ . +`, as ZMTP
/// says.
///
/// ```
/// use zmq_patterns::auth::Metadata;
/// let mut meta = Metadata::new();
/// meta.insert("Name", "Client test certificate")?;
/// let wire = meta.encode();
/// assert_eq!(&wire[..5], b"\x04Name");
/// assert_eq!(Metadata::parse(&wire)?, meta);
/// assert!(meta.insert("no spaces", "x").is_err());
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    properties: Vec<(String, Vec<u8>)>,
}

/// True for a name ZMTP accepts.
///
/// ```
/// use zmq_patterns::auth::metadata_name_is_valid;
/// assert!(metadata_name_is_valid("X-Role.v2+b_c"));
/// assert!(!metadata_name_is_valid(""));
/// assert!(!metadata_name_is_valid("é"));
/// ```
pub fn metadata_name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
}

impl Metadata {
    /// No properties.
    ///
    /// ```
    /// assert!(zmq_patterns::auth::Metadata::new().is_empty());
    /// ```
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Adds a property (or replaces the value of one with the same name). A name ZMTP cannot
    /// carry, or a value of 2³¹ bytes or more, is [`Error::Protocol`].
    ///
    /// ```
    /// let mut meta = zmq_patterns::auth::Metadata::new();
    /// meta.insert("Role", "admin")?;
    /// meta.insert("Role", "user")?;
    /// assert_eq!(meta.get("Role"), Some(&b"user"[..]));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn insert(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<()> {
        if !metadata_name_is_valid(name) {
            return Err(Error::protocol(format!(
                "metadata: a property name must be 1 to {NAME_MAX} of A-Z a-z 0-9 - _ . +, not {name:?}"
            )));
        }
        let value = value.as_ref();
        if value.len() > 0x7FFF_FFFF {
            return Err(Error::protocol("metadata: a value of 2 GiB or more"));
        }
        match self.properties.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.to_vec(),
            None => self.properties.push((name.to_string(), value.to_vec())),
        }
        Ok(())
    }

    /// The value of a property.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::auth::Metadata::new().get("Role"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &v[..])
    }

    /// The properties in order.
    ///
    /// ```
    /// let mut meta = zmq_patterns::auth::Metadata::new();
    /// meta.insert("A", "1")?;
    /// assert_eq!(meta.iter().next(), Some(("A", &b"1"[..])));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.properties.iter().map(|(n, v)| (n.as_str(), &v[..]))
    }

    /// How many properties there are.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::auth::Metadata::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// True when there is none.
    ///
    /// ```
    /// assert!(zmq_patterns::auth::Metadata::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// The wire form (empty for no properties).
    ///
    /// ```
    /// let mut meta = zmq_patterns::auth::Metadata::new();
    /// meta.insert("A", "xy")?;
    /// assert_eq!(meta.encode(), b"\x01A\x00\x00\x00\x02xy");
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.properties {
            // insert() keeps both lengths in range
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        }
        out
    }

    /// Parses the wire form strictly: every length in range, no bytes left over, valid names,
    /// no name twice. Any bytes give `Ok` or [`Error::Protocol`], never a panic.
    ///
    /// ```
    /// use zmq_patterns::auth::Metadata;
    /// assert!(Metadata::parse(b"")?.is_empty());
    /// assert!(Metadata::parse(b"\x01A\x00\x00\x00\x05xy").is_err()); // value cut short
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn parse(mut bytes: &[u8]) -> Result<Metadata> {
        let mut meta = Metadata::new();
        while let Some((&name_len, rest)) = bytes.split_first() {
            let name_len = usize::from(name_len);
            let (Some(name), Some(len)) = (rest.get(..name_len), rest.get(name_len..name_len + 4))
            else {
                return Err(Error::protocol("metadata: a property cut short"));
            };
            let name = std::str::from_utf8(name)
                .ok()
                .filter(|n| metadata_name_is_valid(n))
                .ok_or_else(|| Error::protocol("metadata: a bad property name"))?;
            // 4 bytes, checked just above
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let value = rest
                .get(name_len + 4..)
                .and_then(|r| r.get(..len))
                .ok_or_else(|| Error::protocol("metadata: a value cut short"))?;
            if meta.get(name).is_some() {
                return Err(Error::protocol(format!("metadata: {name} twice")));
            }
            meta.insert(name, value)?;
            bytes = &rest[name_len + 4 + len..];
        }
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_what_is_not_metadata() {
        let mut meta = Metadata::new();
        meta.insert("Name", "x").unwrap();
        meta.insert("Empty", "").unwrap();
        assert_eq!(Metadata::parse(&meta.encode()).unwrap(), meta);
        for bad in [
            &b"\x00\x00\x00\x00\x00"[..],                  // empty name
            b"\x01",                                       // name cut short
            b"\x01A\x00\x00",                              // length cut short
            b"\x01 \x00\x00\x00\x00",                      // bad character
            b"\x01A\x00\x00\x00\x00\x01A\x00\x00\x00\x00", // twice
            b"\x01A\xff\xff\xff\xff",                      // huge length
        ] {
            assert!(Metadata::parse(bad).is_err(), "{bad:?}");
        }
    }
}
