//! [`KvMap`]: the Clone pattern's hash map of key-value messages (`kvmsg_store` into a `zhash`),
//! bounded.

use std::collections::BTreeMap;
use std::fmt;

use super::KeyValue;

/// How much a [`KvMap`] may hold.
///
/// ```
/// use zmq_patterns::kvmsg::Limits;
/// let limits = Limits { max_keys: 10, ..Limits::default() };
/// assert_eq!(limits.max_bytes, Limits::default().max_bytes);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most keys (default 100,000; the guide's servers make keys 0..9999).
    pub max_keys: usize,
    /// Most bytes of keys, bodies and properties together (default 64 MiB).
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_keys: 100_000,
            max_bytes: 64 << 20,
        }
    }
}

/// What [`KvMap::store`] did.
///
/// ```
/// use zmq_patterns::kvmsg::{KvMap, KvSimple, Stored};
/// let mut map = KvMap::default();
/// assert_eq!(map.store(KvSimple::new("k", 1, "v").unwrap()).unwrap(), Stored::Inserted);
/// assert_eq!(map.store(KvSimple::new("k", 2, "w").unwrap()).unwrap(), Stored::Updated);
/// assert_eq!(map.store(KvSimple::new("k", 3, "").unwrap()).unwrap(), Stored::Deleted);
/// assert_eq!(map.store(KvSimple::new("k", 4, "").unwrap()).unwrap(), Stored::Absent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A new key.
    Inserted,
    /// A new value for a key it had.
    Updated,
    /// An empty body deleted the key.
    Deleted,
    /// An empty body for a key it did not have: nothing to do.
    Absent,
}

/// A store refused: it would have held more than its [`Limits`]. The message comes back.
///
/// ```
/// use zmq_patterns::kvmsg::{KvMap, KvSimple, Limits};
/// let mut map = KvMap::new(Limits { max_keys: 1, ..Limits::default() });
/// map.store(KvSimple::new("a", 1, "v").unwrap()).unwrap();
/// let full = map.store(KvSimple::new("b", 2, "v").unwrap()).unwrap_err();
/// assert_eq!(full.msg.key(), "b");
/// assert_eq!(full.to_string(), "the map is full: 1 keys, 2 bytes (at most 1 keys, 67108864 bytes)");
/// ```
#[derive(Debug)]
pub struct MapFull<M> {
    /// The message that was not stored.
    pub msg: M,
    /// Keys in the map.
    pub keys: usize,
    /// Bytes in the map.
    pub bytes: usize,
    /// The map's limits.
    pub limits: Limits,
}

impl<M> fmt::Display for MapFull<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the map is full: {} keys, {} bytes (at most {} keys, {} bytes)",
            self.keys, self.bytes, self.limits.max_keys, self.limits.max_bytes
        )
    }
}

impl<M: fmt::Debug> std::error::Error for MapFull<M> {}

/// A map of key-value messages by key, kept in key order, within [`Limits`].
///
/// [`KvMap::store`] is the guide's `kvmsg_store` with spec 12/CHP's rule: a message with a body
/// replaces the key's message, an empty body deletes the key. (The guide's `kvsimple` stored
/// empty bodies too; its Clone models never send one.)
///
/// ```
/// use zmq_patterns::kvmsg::{KvMap, KvMsg};
/// let mut map = KvMap::default();
/// map.store(KvMsg::new("/client/a", 1, "1").unwrap()).unwrap();
/// map.store(KvMsg::new("/server/b", 2, "2").unwrap()).unwrap();
/// let keys: Vec<&str> = map.iter().map(|m| m.key()).collect();
/// assert_eq!(keys, ["/client/a", "/server/b"]);
/// assert_eq!(map.subtree("/client/").count(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct KvMap<M> {
    map: BTreeMap<String, M>,
    bytes: usize,
    limits: Limits,
}

impl<M: KeyValue> Default for KvMap<M> {
    fn default() -> Self {
        KvMap::new(Limits::default())
    }
}

impl<M: KeyValue> KvMap<M> {
    /// An empty map with these limits.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMap, KvSimple, Limits};
    /// let map: KvMap<KvSimple> = KvMap::new(Limits::default());
    /// assert!(map.is_empty());
    /// ```
    pub fn new(limits: Limits) -> KvMap<M> {
        KvMap {
            map: BTreeMap::new(),
            bytes: 0,
            limits,
        }
    }

    /// Stores `msg` under its key, or deletes the key if the body is empty. If the map would
    /// grow past its limits it is left as it was and the message comes back in [`MapFull`]
    /// (a deletion, or an update that does not grow the map, always succeeds).
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMap, KvSimple, Limits};
    /// let mut map = KvMap::new(Limits { max_keys: 10, max_bytes: 4 });
    /// map.store(KvSimple::new("k", 1, "abc").unwrap()).unwrap();
    /// assert!(map.store(KvSimple::new("k", 2, "abcd").unwrap()).is_err());
    /// assert_eq!(map.get("k").unwrap().body(), b"abc");
    /// ```
    pub fn store(&mut self, msg: M) -> Result<Stored, MapFull<M>> {
        let old = self.map.get(msg.key()).map(KeyValue::footprint);
        if msg.body().is_empty() {
            return Ok(match self.map.remove(msg.key()) {
                Some(gone) => {
                    self.bytes -= gone.footprint();
                    Stored::Deleted
                }
                None => Stored::Absent,
            });
        }
        let bytes = self.bytes - old.unwrap_or(0) + msg.footprint();
        let keys = self.map.len() + usize::from(old.is_none());
        if (bytes > self.limits.max_bytes && bytes > self.bytes) || keys > self.limits.max_keys {
            return Err(MapFull {
                msg,
                keys: self.map.len(),
                bytes: self.bytes,
                limits: self.limits,
            });
        }
        self.bytes = bytes;
        self.map.insert(msg.key().to_string(), msg);
        Ok(if old.is_some() {
            Stored::Updated
        } else {
            Stored::Inserted
        })
    }

    /// The message stored under `key`.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMap, KvSimple};
    /// let mut map = KvMap::default();
    /// map.store(KvSimple::new("k", 1, "v").unwrap()).unwrap();
    /// assert_eq!(map.get("k").unwrap().sequence(), 1);
    /// assert!(map.get("x").is_none());
    /// ```
    pub fn get(&self, key: &str) -> Option<&M> {
        self.map.get(key)
    }

    /// Removes `key`, returning its message.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMap, KvSimple};
    /// let mut map = KvMap::default();
    /// map.store(KvSimple::new("k", 1, "v").unwrap()).unwrap();
    /// assert!(map.remove("k").is_some() && map.is_empty() && map.bytes() == 0);
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<M> {
        let gone = self.map.remove(key)?;
        self.bytes -= gone.footprint();
        Some(gone)
    }

    /// Number of keys.
    ///
    /// ```
    /// let map: zmq_patterns::kvmsg::KvMap<zmq_patterns::kvmsg::KvSimple> = Default::default();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if the map holds nothing.
    ///
    /// ```
    /// let map: zmq_patterns::kvmsg::KvMap<zmq_patterns::kvmsg::KvMsg> = Default::default();
    /// assert!(map.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes held, as [`Limits::max_bytes`] counts them.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMap, KvSimple};
    /// let mut map = KvMap::default();
    /// map.store(KvSimple::new("ab", 1, "cde").unwrap()).unwrap();
    /// assert_eq!(map.bytes(), 5);
    /// ```
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The map's limits.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMap, KvSimple, Limits};
    /// assert_eq!(KvMap::<KvSimple>::default().limits(), Limits::default());
    /// ```
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The messages in key order.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMap, KvSimple};
    /// let mut map = KvMap::default();
    /// map.store(KvSimple::new("b", 1, "v").unwrap()).unwrap();
    /// map.store(KvSimple::new("a", 2, "v").unwrap()).unwrap();
    /// assert_eq!(map.iter().map(|m| m.sequence()).collect::<Vec<_>>(), [2, 1]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &M> {
        self.map.values()
    }

    /// The messages whose key starts with `prefix` (a CHP subtree such as `/client/`), in key
    /// order; all of them for `""`.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{KvMap, KvSimple};
    /// let mut map = KvMap::default();
    /// for key in ["/a/1", "/a/2", "/b/1"] {
    ///     map.store(KvSimple::new(key, 1, "v").unwrap()).unwrap();
    /// }
    /// assert_eq!(map.subtree("/a/").count(), 2);
    /// assert_eq!(map.subtree("").count(), 3);
    /// ```
    pub fn subtree<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a M> + 'a {
        self.map
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(_, m)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kvmsg::{KvMsg, KvSimple};

    fn kv(key: &str, body: &str) -> KvSimple {
        KvSimple::new(key, 0, body).unwrap()
    }

    #[test]
    fn counts_bytes_through_inserts_updates_and_deletes() {
        let mut map = KvMap::default();
        map.store(kv("a", "123")).unwrap();
        map.store(kv("bb", "1")).unwrap();
        assert_eq!(map.bytes(), 7);
        map.store(kv("a", "1")).unwrap();
        assert_eq!(map.bytes(), 5);
        assert_eq!(map.store(kv("bb", "")).unwrap(), Stored::Deleted);
        assert_eq!((map.len(), map.bytes()), (1, 2));
        let mut m = KvMsg::new("p", 0, "v").unwrap();
        m.set_prop("ttl", "1").unwrap();
        let mut props = KvMap::default();
        props.store(m).unwrap();
        assert_eq!(props.bytes(), 2 + "ttl=1\n".len());
    }

    #[test]
    fn refuses_past_its_limits_and_still_updates_and_deletes() {
        let mut map = KvMap::new(Limits {
            max_keys: 2,
            max_bytes: 10,
        });
        map.store(kv("a", "1")).unwrap();
        map.store(kv("b", "1")).unwrap();
        assert_eq!(map.store(kv("c", "1")).unwrap_err().keys, 2);
        map.store(kv("a", "1234567")).unwrap(); // 8 + 2 = 10 bytes
        assert!(map.store(kv("a", "12345678")).is_err());
        assert_eq!(map.get("a").unwrap().body(), b"1234567");
        map.store(kv("a", "")).unwrap();
        map.store(kv("c", "1")).unwrap();
        assert_eq!((map.len(), map.bytes()), (2, 4));
    }

    #[test]
    fn subtrees_are_prefixes() {
        let mut map = KvMap::default();
        for key in ["/a", "/a/", "/a/x", "/ab", "/b/"] {
            map.store(kv(key, "v")).unwrap();
        }
        let keys: Vec<&str> = map.subtree("/a/").map(|m| m.key()).collect();
        assert_eq!(keys, ["/a/", "/a/x"]);
    }
}
