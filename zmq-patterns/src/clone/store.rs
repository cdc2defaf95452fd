//! [`Store`]: the state a Clone server keeps (guide chapter 5, Clone models five and six; spec
//! 12/CHP): the map, the sequence counter, ephemeral values and the passive server's pending
//! list.
//!
//! The store never reads a clock: every call that needs the time takes `now: Instant`, so a
//! server passes `Instant::now()` and a test passes instants it made up.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use crate::kvmsg::{KvMap, KvMsg, Limits, MapFull, Uuid};

/// The property that makes a value ephemeral: its lifetime in whole seconds, as a client sets it
/// (`ttl=30`). `0`, or no property, means "never expires".
pub const TTL: &str = "ttl";

/// Why a [`Store`] did not take an update. The message is dropped; a server logs it.
///
/// ```
/// use zmq_patterns::clone::{Refused, Store};
/// use zmq_patterns::kvmsg::KvMsg;
/// let mut m = KvMsg::new("k", 0, "v").unwrap();
/// m.set_prop("ttl", "soon").unwrap();
/// let refused = Store::default().publish(m, std::time::Instant::now()).unwrap_err();
/// assert!(matches!(refused, Refused::Ttl(_)));
/// assert_eq!(refused.to_string(), "ttl property \"soon\" is not a number of seconds");
/// ```
#[derive(Debug)]
pub enum Refused {
    /// The `ttl` property is not a decimal number of seconds.
    Ttl(String),
    /// The map has no room for it (the message is inside).
    Full(MapFull<KvMsg>),
    /// The update with this UUID was applied already (a client's copy of an update that the
    /// peer published before this server took over).
    Duplicate(Uuid),
    /// A passive server cannot hold an update without a UUID: it could never match it with
    /// the active server's copy.
    NoUuid,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Ttl(value) => {
                write!(f, "ttl property {value:.40?} is not a number of seconds")
            }
            Refused::Full(full) => full.fmt(f),
            Refused::Duplicate(uuid) => write!(f, "update {uuid} was applied already"),
            Refused::NoUuid => f.write_str("an update without a UUID cannot be held"),
        }
    }
}

impl std::error::Error for Refused {}

/// The lifetime a message's `ttl` property asks for: `None` for no property or `0` (never
/// expires; the guide's model six deleted a `ttl=0` key at once, zguide #425), else that many
/// seconds. Anything but decimal digits (at most 20) is [`Refused::Ttl`].
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::clone::ttl;
/// use zmq_patterns::kvmsg::KvMsg;
/// let mut m = KvMsg::new("k", 0, "v").unwrap();
/// assert_eq!(ttl(&m).unwrap(), None);
/// m.set_prop("ttl", "0").unwrap();
/// assert_eq!(ttl(&m).unwrap(), None);
/// m.set_prop("ttl", "29").unwrap();
/// assert_eq!(ttl(&m).unwrap(), Some(Duration::from_secs(29)));
/// m.set_prop("ttl", "-1").unwrap();
/// assert!(ttl(&m).is_err());
/// ```
pub fn ttl(msg: &KvMsg) -> Result<Option<Duration>, Refused> {
    let Some(value) = msg.prop(TTL) else {
        return Ok(None);
    };
    parse_ttl(value)
}

/// The `ttl` property's value: see [`ttl`].
///
/// ```
/// use zmq_patterns::clone::parse_ttl;
/// assert_eq!(parse_ttl("5").unwrap().unwrap().as_secs(), 5);
/// assert!(parse_ttl("").is_err() && parse_ttl("+5").is_err() && parse_ttl("5s").is_err());
/// ```
pub fn parse_ttl(value: &str) -> Result<Option<Duration>, Refused> {
    let bad = || Refused::Ttl(value.to_string());
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match value.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(secs) => Ok(Some(Duration::from_secs(secs))),
        Err(_) => Err(bad()),
    }
}

/// How long a [`Store`]'s pending list keeps what it holds.
///
/// ```
/// use zmq_patterns::clone::PendingLimits;
/// let limits = PendingLimits { max: 100, ..PendingLimits::default() };
/// assert_eq!(limits.seen_for, PendingLimits::default().seen_for);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLimits {
    /// Most updates held, and most UUIDs remembered (each); past it the oldest goes (default
    /// 10,000).
    pub max: usize,
    /// How long the UUID of an update the active server published is remembered, to drop the
    /// client's own copy when it arrives later (default 60 s).
    pub seen_for: Duration,
}

impl Default for PendingLimits {
    fn default() -> PendingLimits {
        PendingLimits {
            max: 10_000,
            seen_for: Duration::from_secs(60),
        }
    }
}

/// An update a passive server heard from a client and not yet from the active server.
#[derive(Debug, Clone)]
struct Held {
    msg: KvMsg,
    uuid: Uuid,
    expires: Option<Instant>,
}

/// The state of a Clone server (models five and six, spec 12/CHP).
///
/// - The key-value map, bounded ([`Limits`]), and the sequence number of the last update.
/// - Ephemeral values: an update whose `ttl` property is N > 0 expires N seconds after the
///   server took it; [`Store::expire`] deletes what has expired and hands back the deletes to
///   publish (empty body, the next sequence numbers). A `ttl` of 0, or none, never expires.
/// - Model six's pending list: a passive server [holds](Store::hold) the updates it collects
///   from clients until the active server publishes the same update (matched by UUID,
///   [`Store::apply`]); when it takes over it [publishes](Store::take_over) what is still
///   held. Held updates expire by their TTL too (the guide's pending list ignored it, zguide
///   #897), and the UUIDs of updates already applied are remembered so that a late client
///   copy is not applied twice.
///
/// The `ttl` property of stored and published messages is the client's, in seconds; the
/// expiry instant lives beside the map. (The guide's C server rewrote the property to an
/// absolute time in milliseconds and sent that in snapshots, where a client read it as
/// seconds.)
///
/// ```
/// use std::time::{Duration, Instant};
/// use zmq_patterns::clone::Store;
/// use zmq_patterns::kvmsg::KvMsg;
/// let t0 = Instant::now();
/// let mut store = Store::default();
/// let mut update = KvMsg::new("/client/1", 0, "hello").unwrap();
/// update.set_prop("ttl", "2").unwrap();
/// let published = store.publish(update, t0).unwrap();
/// assert_eq!(published.sequence(), 1);
///
/// assert!(store.expire(t0 + Duration::from_secs(1)).is_empty());
/// let deletes = store.expire(t0 + Duration::from_secs(2));
/// assert_eq!((deletes[0].key(), deletes[0].sequence(), deletes[0].body()), ("/client/1", 2, &b""[..]));
/// assert!(store.map().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Store {
    map: KvMap<KvMsg>,
    sequence: u64,
    expiry: HashMap<String, Instant>,
    by_expiry: BTreeSet<(Instant, String)>,
    held: VecDeque<Held>,
    seen: VecDeque<(Uuid, Instant)>,
    pending_limits: PendingLimits,
}

impl Default for Store {
    fn default() -> Store {
        Store::new(Limits::default())
    }
}

impl Store {
    /// An empty store, sequence 0, with these map limits and the default [`PendingLimits`].
    ///
    /// ```
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::Limits;
    /// let store = Store::new(Limits { max_keys: 10, ..Limits::default() });
    /// assert_eq!((store.sequence(), store.map().limits().max_keys), (0, 10));
    /// ```
    pub fn new(limits: Limits) -> Store {
        Store {
            map: KvMap::new(limits),
            sequence: 0,
            expiry: HashMap::new(),
            by_expiry: BTreeSet::new(),
            held: VecDeque::new(),
            seen: VecDeque::new(),
            pending_limits: PendingLimits::default(),
        }
    }

    /// The same store with these pending-list limits.
    ///
    /// ```
    /// use zmq_patterns::clone::{PendingLimits, Store};
    /// let store = Store::default().with_pending_limits(PendingLimits { max: 1, ..Default::default() });
    /// assert_eq!(store.pending_limits().max, 1);
    /// ```
    pub fn with_pending_limits(mut self, limits: PendingLimits) -> Store {
        self.pending_limits = limits;
        self
    }

    /// The pending-list limits.
    ///
    /// ```
    /// use zmq_patterns::clone::{PendingLimits, Store};
    /// assert_eq!(Store::default().pending_limits(), PendingLimits::default());
    /// ```
    pub fn pending_limits(&self) -> PendingLimits {
        self.pending_limits
    }

    /// The sequence number of the last update (the one a snapshot's `KTHXBAI` carries).
    ///
    /// ```
    /// assert_eq!(zmq_patterns::clone::Store::default().sequence(), 0);
    /// ```
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The key-value map, to answer a snapshot request with
    /// ([`kvmsg::snapshot::send`](crate::kvmsg::snapshot::send)).
    ///
    /// ```
    /// assert!(zmq_patterns::clone::Store::default().map().is_empty());
    /// ```
    pub fn map(&self) -> &KvMap<KvMsg> {
        &self.map
    }

    /// When `key` expires, if it is an ephemeral value.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let (t0, mut store) = (Instant::now(), Store::default());
    /// let mut m = KvMsg::new("k", 0, "v").unwrap();
    /// m.set_prop("ttl", "3").unwrap();
    /// store.publish(m, t0).unwrap();
    /// assert_eq!(store.expiry("k"), Some(t0 + Duration::from_secs(3)));
    /// assert_eq!(store.expiry("x"), None);
    /// ```
    pub fn expiry(&self, key: &str) -> Option<Instant> {
        self.expiry.get(key).copied()
    }

    /// The active server's collector: numbers an update from a client with the next sequence
    /// number, stores it (an empty body deletes the key), notes when it expires, and returns
    /// the copy to publish. A refused update takes no sequence number and changes nothing.
    ///
    /// ```
    /// use std::time::Instant;
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let mut store = Store::default();
    /// let now = Instant::now();
    /// assert_eq!(store.publish(KvMsg::new("a", 0, "1").unwrap(), now).unwrap().sequence(), 1);
    /// assert_eq!(store.publish(KvMsg::new("a", 0, "").unwrap(), now).unwrap().sequence(), 2);
    /// assert!(store.map().is_empty());
    /// ```
    pub fn publish(&mut self, msg: KvMsg, now: Instant) -> Result<KvMsg, Refused> {
        if let Some(uuid) = msg.uuid() {
            if self.seen.iter().any(|(seen, _)| seen == uuid) {
                return Err(Refused::Duplicate(*uuid));
            }
        }
        let expires = ttl(&msg)?.and_then(|ttl| now.checked_add(ttl));
        self.publish_expiring(msg, expires)
    }

    /// Numbers, stores and returns `msg`, which expires at `expires`.
    fn publish_expiring(
        &mut self,
        mut msg: KvMsg,
        expires: Option<Instant>,
    ) -> Result<KvMsg, Refused> {
        msg.set_sequence(self.sequence + 1);
        self.store(msg.clone(), expires)?;
        self.sequence += 1;
        Ok(msg)
    }

    /// Stores `msg` in the map and its expiry beside it.
    fn store(&mut self, msg: KvMsg, expires: Option<Instant>) -> Result<(), Refused> {
        let key = msg.key().to_string();
        let deletes = msg.body().is_empty();
        self.map.store(msg).map_err(Refused::Full)?;
        if let Some(old) = self.expiry.remove(&key) {
            self.by_expiry.remove(&(old, key.clone()));
        }
        if let (Some(at), false) = (expires, deletes) {
            self.by_expiry.insert((at, key.clone()));
            self.expiry.insert(key, at);
        }
        Ok(())
    }

    /// The passive server's subscriber: an update the active server published. Clears the
    /// client's copy off the pending list (or, if that has not arrived yet, remembers the UUID
    /// so that [`Store::hold`] drops it when it does), and applies the update if it is newer
    /// than the store's sequence number. True if applied.
    ///
    /// ```
    /// use std::time::Instant;
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let (now, mut store) = (Instant::now(), Store::default());
    /// let mut update = KvMsg::new("k", 0, "v").unwrap();
    /// update.set_uuid();
    /// assert!(store.hold(update.clone(), now).unwrap());
    /// update.set_sequence(1);
    /// assert!(store.apply(update.clone(), now).unwrap());
    /// assert_eq!((store.sequence(), store.pending_len()), (1, 0));
    /// assert!(!store.apply(update, now).unwrap()); // not newer
    /// ```
    pub fn apply(&mut self, msg: KvMsg, now: Instant) -> Result<bool, Refused> {
        if let Some(uuid) = msg.uuid().copied() {
            match self.held.iter().position(|h| h.uuid == uuid) {
                Some(at) => {
                    self.held.remove(at);
                }
                None => self.remember(uuid, now),
            }
        }
        if msg.sequence() <= self.sequence {
            return Ok(false);
        }
        let expires = ttl(&msg)?.and_then(|ttl| now.checked_add(ttl));
        let sequence = msg.sequence();
        self.store(msg, expires)?;
        self.sequence = sequence;
        Ok(true)
    }

    /// Remembers the UUID of an update applied already.
    fn remember(&mut self, uuid: Uuid, now: Instant) {
        if self.seen.len() >= self.pending_limits.max {
            self.seen.pop_front();
        }
        self.seen.push_back((uuid, now));
    }

    /// The passive server's collector: holds an update from a client until the active server
    /// publishes it. False if the active server's copy came first (the update is dropped).
    /// A full list drops its oldest update (logged).
    ///
    /// ```
    /// use std::time::Instant;
    /// use zmq_patterns::clone::{Refused, Store};
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let (now, mut store) = (Instant::now(), Store::default());
    /// let mut update = KvMsg::new("k", 7, "v").unwrap();
    /// update.set_uuid();
    /// store.apply(update.clone(), now).unwrap(); // the active server's copy first
    /// assert!(!store.hold(update, now).unwrap());
    /// assert!(matches!(store.hold(KvMsg::new("k", 0, "v").unwrap(), now), Err(Refused::NoUuid)));
    /// ```
    pub fn hold(&mut self, msg: KvMsg, now: Instant) -> Result<bool, Refused> {
        let uuid = *msg.uuid().ok_or(Refused::NoUuid)?;
        let expires = ttl(&msg)?.and_then(|ttl| now.checked_add(ttl));
        if let Some(at) = self.seen.iter().position(|(seen, _)| *seen == uuid) {
            self.seen.remove(at);
            return Ok(false);
        }
        if self.held.len() >= self.pending_limits.max {
            if let Some(gone) = self.held.pop_front() {
                log::warn!(
                    "pending list full ({}): update {} of {} dropped",
                    self.pending_limits.max,
                    gone.uuid,
                    gone.msg.key()
                );
            }
        }
        self.held.push_back(Held { msg, uuid, expires });
        Ok(true)
    }

    /// How many updates the pending list holds.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::clone::Store::default().pending_len(), 0);
    /// ```
    pub fn pending_len(&self) -> usize {
        self.held.len()
    }

    /// The passive server becomes active: publishes what the pending list still holds, in the
    /// order it came, each with the next sequence number and the rest of its lifetime (its
    /// `ttl` property becomes the whole seconds left, rounded up). Updates whose TTL has run out
    /// are dropped, not published. Returns the updates to publish, and those refused (a full
    /// map).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let (t0, mut store) = (Instant::now(), Store::default());
    /// for (key, ttl) in [("a", "2"), ("b", "10"), ("c", "0")] {
    ///     let mut update = KvMsg::new(key, 0, "v").unwrap();
    ///     update.set_uuid();
    ///     update.set_prop("ttl", ttl).unwrap();
    ///     store.hold(update, t0).unwrap();
    /// }
    /// let (published, refused) = store.take_over(t0 + Duration::from_secs(3));
    /// assert!(refused.is_empty());
    /// let got: Vec<_> = published.iter().map(|m| (m.key(), m.sequence(), m.prop("ttl").unwrap())).collect();
    /// assert_eq!(got, [("b", 1, "7"), ("c", 2, "0")]);
    /// ```
    pub fn take_over(&mut self, now: Instant) -> (Vec<KvMsg>, Vec<Refused>) {
        let (mut published, mut refused) = (Vec::new(), Vec::new());
        for Held {
            mut msg,
            uuid,
            expires,
        } in std::mem::take(&mut self.held)
        {
            if let Some(at) = expires {
                let Some(left) = at.checked_duration_since(now).filter(|d| !d.is_zero()) else {
                    log::debug!("pending update {uuid} of {} expired", msg.key());
                    continue;
                };
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                // a decimal number is a valid property value
                let _ = msg.set_prop(TTL, &secs.to_string());
            }
            match self.publish_expiring(msg, expires) {
                Ok(msg) => {
                    self.remember(uuid, now);
                    published.push(msg);
                }
                Err(e) => refused.push(e),
            }
        }
        (published, refused)
    }

    /// Deletes every ephemeral value that has expired at `now`, and drops expired updates from
    /// the pending list and forgotten UUIDs. Returns the deletes to publish, in expiry order:
    /// each is the stored message with an empty body and the next sequence number. (A passive
    /// server does not call it: it gets the active server's deletes.)
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let (t0, mut store) = (Instant::now(), Store::default());
    /// for (key, ttl) in [("slow", "5"), ("never", "0"), ("fast", "1")] {
    ///     let mut update = KvMsg::new(key, 0, "v").unwrap();
    ///     update.set_prop("ttl", ttl).unwrap();
    ///     store.publish(update, t0).unwrap();
    /// }
    /// let deletes = store.expire(t0 + Duration::from_secs(60));
    /// let got: Vec<_> = deletes.iter().map(|m| (m.key(), m.sequence())).collect();
    /// assert_eq!(got, [("fast", 4), ("slow", 5)]);
    /// assert_eq!(store.map().len(), 1);
    /// ```
    pub fn expire(&mut self, now: Instant) -> Vec<KvMsg> {
        let mut deletes = Vec::new();
        while let Some((at, key)) = self.by_expiry.first().cloned() {
            if at > now {
                break;
            }
            self.by_expiry.pop_first();
            self.expiry.remove(&key);
            let Some(mut msg) = self.map.remove(&key) else {
                continue;
            };
            self.sequence += 1;
            msg.set_sequence(self.sequence);
            msg.set_body("");
            deletes.push(msg);
        }
        self.expire_pending(now);
        deletes
    }

    /// Drops the updates on the pending list whose TTL has run out at `now`, and forgets the
    /// UUIDs remembered for longer than [`PendingLimits::seen_for`]; the map stays as it is.
    /// For a passive server, which must not delete values itself (it gets the active server's
    /// deletes). [`Store::expire`] does this too.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let (t0, mut passive) = (Instant::now(), Store::default());
    /// let mut update = KvMsg::new("k", 0, "v").unwrap();
    /// update.set_uuid();
    /// update.set_prop("ttl", "1").unwrap();
    /// passive.hold(update, t0).unwrap();
    /// passive.expire_pending(t0 + Duration::from_secs(1));
    /// assert_eq!(passive.pending_len(), 0);
    /// ```
    pub fn expire_pending(&mut self, now: Instant) {
        self.held.retain(|h| match h.expires {
            Some(at) if at <= now => {
                log::debug!("pending update {} of {} expired", h.uuid, h.msg.key());
                false
            }
            _ => true,
        });
        let seen_for = self.pending_limits.seen_for;
        self.seen
            .retain(|(_, at)| now.saturating_duration_since(*at) < seen_for);
    }

    /// Replaces the map with a snapshot taken from the peer server (model six's passive server,
    /// [`kvmsg::snapshot::recv`](crate::kvmsg::snapshot::recv)), at the snapshot's sequence
    /// number. Ephemeral values expire their `ttl` after `now`; a malformed `ttl` never
    /// expires (logged). The pending list keeps what the snapshot does not hold: an update
    /// held with the UUID of a value in the snapshot is applied already, and goes.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::{KvMap, KvMsg};
    /// let (t0, mut store) = (Instant::now(), Store::default());
    /// let mut snapshot = KvMap::default();
    /// let mut m = KvMsg::new("k", 3, "v").unwrap();
    /// m.set_prop("ttl", "4").unwrap();
    /// snapshot.store(m).unwrap();
    /// store.load(snapshot, 9, t0);
    /// assert_eq!((store.sequence(), store.map().len()), (9, 1));
    /// assert_eq!(store.expiry("k"), Some(t0 + Duration::from_secs(4)));
    /// ```
    pub fn load(&mut self, map: KvMap<KvMsg>, sequence: u64, now: Instant) {
        self.expiry.clear();
        self.by_expiry.clear();
        for msg in map.iter() {
            match ttl(msg) {
                Ok(Some(ttl)) => {
                    if let Some(at) = now.checked_add(ttl) {
                        self.expiry.insert(msg.key().to_string(), at);
                        self.by_expiry.insert((at, msg.key().to_string()));
                    }
                }
                Ok(None) => {}
                Err(e) => log::warn!("snapshot: {}: {e}", msg.key()),
            }
        }
        let in_snapshot: std::collections::HashSet<Uuid> =
            map.iter().filter_map(|m| m.uuid().copied()).collect();
        self.held.retain(|h| !in_snapshot.contains(&h.uuid));
        self.map = map;
        self.sequence = sequence;
    }

    /// Empties the map and forgets expiries (a server that becomes passive, before it takes a
    /// new snapshot). The sequence number and the pending list stay.
    ///
    /// ```
    /// use std::time::Instant;
    /// use zmq_patterns::clone::Store;
    /// use zmq_patterns::kvmsg::KvMsg;
    /// let mut store = Store::default();
    /// store.publish(KvMsg::new("k", 0, "v").unwrap(), Instant::now()).unwrap();
    /// store.clear();
    /// assert!(store.map().is_empty() && store.sequence() == 1);
    /// ```
    pub fn clear(&mut self) {
        self.map = KvMap::new(self.map.limits());
        self.expiry.clear();
        self.by_expiry.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, body: &str, ttl: Option<&str>) -> KvMsg {
        let mut m = KvMsg::new(key, 0, body).unwrap();
        m.set_uuid();
        if let Some(ttl) = ttl {
            m.set_prop(TTL, ttl).unwrap();
        }
        m
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn ttl_zero_or_absent_never_expires() {
        // zguide #425: the guide deleted a ttl=0 key at the first flush
        let t0 = Instant::now();
        let mut store = Store::default();
        store.publish(kv("zero", "v", Some("0")), t0).unwrap();
        store.publish(kv("none", "v", None), t0).unwrap();
        assert!(store.expire(t0).is_empty());
        assert!(store.expire(t0 + secs(1_000_000)).is_empty());
        assert_eq!(store.map().len(), 2);
        assert_eq!(store.sequence(), 2);
    }

    #[test]
    fn expiry_follows_the_latest_update_of_a_key() {
        let t0 = Instant::now();
        let mut store = Store::default();
        store.publish(kv("k", "1", Some("1")), t0).unwrap();
        // a later value without TTL makes the key lasting
        store.publish(kv("k", "2", None), t0).unwrap();
        assert!(store.expire(t0 + secs(5)).is_empty());
        // and a TTL again makes it ephemeral, counted from that update
        store
            .publish(kv("k", "3", Some("2")), t0 + secs(5))
            .unwrap();
        assert!(store.expire(t0 + secs(6)).is_empty());
        let deletes = store.expire(t0 + secs(7));
        assert_eq!(deletes.len(), 1);
        assert_eq!((deletes[0].sequence(), deletes[0].size()), (4, 0));
        assert_eq!(store.expiry("k"), None);
        // a client's delete forgets the expiry too
        store.publish(kv("d", "v", Some("1")), t0).unwrap();
        store.publish(kv("d", "", None), t0).unwrap();
        assert!(store.expire(t0 + secs(100)).is_empty());
    }

    #[test]
    fn refused_updates_take_no_sequence_number() {
        let t0 = Instant::now();
        let mut store = Store::new(Limits {
            max_keys: 1,
            ..Limits::default()
        });
        store.publish(kv("a", "v", None), t0).unwrap();
        assert!(matches!(
            store.publish(kv("b", "v", None), t0),
            Err(Refused::Full(_))
        ));
        for bad in ["x", "-1", "1.5", " 1", "", "123456789012345678901"] {
            assert!(
                matches!(
                    store.publish(kv("a", "w", Some(bad)), t0),
                    Err(Refused::Ttl(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(store.sequence(), 1);
        assert_eq!(store.map().get("a").unwrap().body(), b"v");
        // a ttl too long for the clock never expires rather than overflowing
        store
            .publish(kv("a", "w", Some(&u64::MAX.to_string())), t0)
            .unwrap();
        assert_eq!(store.expiry("a"), None);
    }

    #[test]
    fn pending_updates_match_by_uuid_whichever_copy_comes_first() {
        let t0 = Instant::now();
        let mut passive = Store::default();
        let client_first = kv("a", "1", None);
        let active_first = kv("b", "2", None);
        assert!(passive.hold(client_first.clone(), t0).unwrap());
        let mut from_active = client_first.clone();
        from_active.set_sequence(1);
        assert!(passive.apply(from_active, t0).unwrap());
        let mut from_active = active_first.clone();
        from_active.set_sequence(2);
        assert!(passive.apply(from_active, t0).unwrap());
        assert!(!passive.hold(active_first, t0).unwrap());
        assert_eq!(passive.pending_len(), 0);
        let (published, _) = passive.take_over(t0);
        assert!(published.is_empty());
        assert_eq!(passive.sequence(), 2);
    }

    #[test]
    fn pending_updates_expire_by_their_ttl() {
        // zguide #897: the guide's pending list ignored the TTL
        let t0 = Instant::now();
        let mut passive = Store::default();
        passive.hold(kv("short", "v", Some("1")), t0).unwrap();
        passive.hold(kv("long", "v", Some("10")), t0).unwrap();
        passive.hold(kv("lasting", "v", Some("0")), t0).unwrap();
        assert!(passive.expire(t0 + secs(1)).is_empty());
        assert_eq!(passive.pending_len(), 2);
        let (published, refused) = passive.take_over(t0 + Duration::from_millis(2500));
        assert!(refused.is_empty());
        let keys: Vec<_> = published.iter().map(|m| m.key()).collect();
        assert_eq!(keys, ["long", "lasting"]);
        assert_eq!(published[0].prop(TTL), Some("8"));
        // the published update keeps its original deadline, not a new one
        assert_eq!(passive.expiry("long"), Some(t0 + secs(10)));
        assert_eq!(passive.expiry("lasting"), None);
        let deletes = passive.expire(t0 + secs(10));
        assert_eq!(deletes.len(), 1);
        assert_eq!(deletes[0].key(), "long");
    }

    #[test]
    fn a_late_client_copy_is_not_applied_twice_after_take_over() {
        let t0 = Instant::now();
        let mut server = Store::default();
        // the active's copy came, the client's copy had not when this server took over
        let update = kv("k", "v", None);
        let mut from_active = update.clone();
        from_active.set_sequence(1);
        server.apply(from_active, t0).unwrap();
        let (published, _) = server.take_over(t0);
        assert!(published.is_empty());
        assert!(matches!(
            server.publish(update.clone(), t0),
            Err(Refused::Duplicate(_))
        ));
        // a pending update published at take-over is not applied again either
        let held = kv("h", "v", None);
        server.hold(held.clone(), t0).unwrap();
        let (published, _) = server.take_over(t0);
        assert_eq!(published.len(), 1);
        assert!(server.publish(held, t0).is_err());
        assert_eq!(server.sequence(), 2);
        // UUIDs are forgotten after seen_for
        server.expire(t0 + PendingLimits::default().seen_for);
        assert!(server.publish(update, t0).is_ok());
    }

    #[test]
    fn the_pending_list_is_bounded() {
        let t0 = Instant::now();
        let mut passive = Store::default().with_pending_limits(PendingLimits {
            max: 3,
            seen_for: secs(60),
        });
        for i in 0..10 {
            passive.hold(kv(&format!("k{i}"), "v", None), t0).unwrap();
            let mut other = kv(&format!("s{i}"), "v", None);
            other.set_sequence(i + 1);
            passive.apply(other, t0).unwrap();
        }
        assert_eq!(passive.pending_len(), 3);
        assert_eq!(passive.seen.len(), 3);
        let (published, _) = passive.take_over(t0);
        let keys: Vec<_> = published.iter().map(|m| m.key()).collect();
        assert_eq!(keys, ["k7", "k8", "k9"]);
    }

    #[test]
    fn apply_ignores_old_updates_and_load_replaces_the_map() {
        let t0 = Instant::now();
        let mut passive = Store::default();
        let mut m = kv("k", "v", Some("3"));
        m.set_sequence(5);
        assert!(passive.apply(m.clone(), t0).unwrap());
        assert_eq!(passive.expiry("k"), Some(t0 + secs(3)));
        m.set_body("old");
        m.set_sequence(4);
        assert!(!passive.apply(m, t0).unwrap());
        assert_eq!(passive.map().get("k").unwrap().body(), b"v");
        passive.clear();
        assert!(passive.expire(t0 + secs(3)).is_empty());
        let mut snapshot = KvMap::default();
        snapshot.store(kv("x", "1", Some("bad"))).unwrap();
        snapshot.store(kv("y", "1", None)).unwrap();
        let applied = kv("z", "1", None);
        snapshot.store(applied.clone()).unwrap();
        passive.hold(applied, t0).unwrap();
        passive.hold(kv("z", "2", None), t0).unwrap();
        passive.load(snapshot, 12, t0);
        assert_eq!((passive.sequence(), passive.map().len()), (12, 3));
        assert_eq!(
            passive.pending_len(),
            1,
            "the update in the snapshot is not pending"
        );
        assert!(passive.expire(t0 + secs(1000)).is_empty());
    }
}
