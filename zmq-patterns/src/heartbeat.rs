//! Heartbeating for the Paranoid Pirate Protocol (spec 6/PPP), usable by a queue and by a
//! worker: [`Liveness`] tracks a peer from the worker's side (with reconnect back-off), and
//! [`ReadyQueue`] keeps a queue's ready workers in least-recently-used order with expiry.

use std::collections::{HashMap, VecDeque};

use crate::frame::Frame;

/// PPP's READY command: a worker's first message, `\x01`.
pub const READY: &[u8] = b"\x01";
/// PPP's HEARTBEAT command, both ways: `\x02`.
pub const HEARTBEAT: &[u8] = b"\x02";

/// The timings of a heartbeat; `Default` gives the guide's Paranoid Pirate values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// How often to send a heartbeat, in ms (guide: 1000).
    pub interval_ms: i64,
    /// Intervals of silence after which the peer counts as dead (guide: 3).
    pub liveness: u32,
    /// First reconnect delay, in ms (guide: 1000).
    pub reconnect_initial_ms: i64,
    /// Longest reconnect delay after doubling, in ms (guide: 32000).
    pub reconnect_max_ms: i64,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            interval_ms: 1000,
            liveness: 3,
            reconnect_initial_ms: 1000,
            reconnect_max_ms: 32_000,
        }
    }
}

impl HeartbeatConfig {
    /// How long a silent peer lives: `interval_ms * liveness`.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::heartbeat::HeartbeatConfig::default().expiry_ms(), 3000);
    /// ```
    pub fn expiry_ms(&self) -> i64 {
        self.interval_ms * i64::from(self.liveness)
    }
}

/// The worker's view of its queue (the guide's `ppworker` loop): how many heartbeats may still
/// be missed, when to send the next one, and how long to wait before reconnecting.
///
/// Poll with [`Liveness::poll_timeout`]; call [`Liveness::heard`] for every message from the
/// peer and [`Liveness::silence`] when a poll timed out; send a heartbeat whenever
/// [`Liveness::heartbeat_due`] says so.
///
/// ```
/// use zmq_patterns::heartbeat::{HeartbeatConfig, Liveness};
/// let mut l = Liveness::new(HeartbeatConfig::default(), 0);
/// assert_eq!(l.silence(), None);
/// assert_eq!(l.silence(), None);
/// assert_eq!(l.silence(), Some(1000)); // dead: reconnect in 1 s
/// l.reconnected(0);
/// for _ in 0..2 { l.silence(); }
/// assert_eq!(l.silence(), Some(2000)); // backs off
/// l.heard();                              // a message resets both
/// assert_eq!(l.reconnect_ms(), 1000);
/// ```
#[derive(Debug, Clone)]
pub struct Liveness {
    config: HeartbeatConfig,
    left: u32,
    reconnect_ms: i64,
    heartbeat_at: i64,
}

impl Liveness {
    /// Fresh state at time `now_ms` (see [`clock::mono_ms`](crate::clock::mono_ms)).
    ///
    /// ```
    /// let l = zmq_patterns::heartbeat::Liveness::new(Default::default(), 0);
    /// assert_eq!(l.poll_timeout(), 1000);
    /// ```
    pub fn new(config: HeartbeatConfig, now_ms: i64) -> Liveness {
        Liveness {
            config,
            left: config.liveness.max(1),
            reconnect_ms: config.reconnect_initial_ms,
            heartbeat_at: now_ms + config.interval_ms,
        }
    }

    /// How long one poll waits: the heartbeat interval.
    ///
    /// ```
    /// let l = zmq_patterns::heartbeat::Liveness::new(Default::default(), 0);
    /// assert_eq!(l.poll_timeout(), 1000);
    /// ```
    pub fn poll_timeout(&self) -> i64 {
        self.config.interval_ms
    }

    /// The peer said something: it is alive, and the back-off starts again from the beginning.
    ///
    /// ```
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), 0);
    /// l.silence();
    /// l.heard();
    /// assert_eq!(l.left(), 3);
    /// ```
    pub fn heard(&mut self) {
        self.left = self.config.liveness.max(1);
        self.reconnect_ms = self.config.reconnect_initial_ms;
    }

    /// A poll interval passed in silence. Returns `Some(delay_ms)` when the peer is now
    /// considered dead: wait that long, reconnect, then call [`Liveness::reconnected`]. The
    /// next delay doubles, up to the maximum.
    ///
    /// ```
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), 0);
    /// assert_eq!(l.silence(), None);
    /// ```
    pub fn silence(&mut self) -> Option<i64> {
        self.left = self.left.saturating_sub(1);
        if self.left > 0 {
            return None;
        }
        let delay = self.reconnect_ms;
        self.reconnect_ms = (self.reconnect_ms * 2).min(self.config.reconnect_max_ms);
        Some(delay)
    }

    /// After a reconnect at `now_ms`: full liveness again, next heartbeat one interval away;
    /// the back-off is kept until the peer is heard.
    ///
    /// ```
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), 0);
    /// l.reconnected(5000);
    /// assert!(!l.heartbeat_due(5500));
    /// ```
    pub fn reconnected(&mut self, now_ms: i64) {
        self.left = self.config.liveness.max(1);
        self.heartbeat_at = now_ms + self.config.interval_ms;
    }

    /// True (once per interval) when a heartbeat should be sent at `now_ms`.
    ///
    /// ```
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), 0);
    /// assert!(!l.heartbeat_due(999));
    /// assert!(l.heartbeat_due(1000));
    /// assert!(!l.heartbeat_due(1001));
    /// ```
    pub fn heartbeat_due(&mut self, now_ms: i64) -> bool {
        if now_ms < self.heartbeat_at {
            return false;
        }
        self.heartbeat_at = now_ms + self.config.interval_ms;
        true
    }

    /// Heartbeats that may still be missed.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::heartbeat::Liveness::new(Default::default(), 0).left(), 3);
    /// ```
    pub fn left(&self) -> u32 {
        self.left
    }

    /// The delay the next reconnect would wait.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::heartbeat::Liveness::new(Default::default(), 0).reconnect_ms(), 1000);
    /// ```
    pub fn reconnect_ms(&self) -> i64 {
        self.reconnect_ms
    }
}

/// A queue's ready workers, least recently ready first, each expiring `expiry_ms` after it
/// was last heard (the guide's `ppqueue` worker list).
///
/// Every operation is O(1) amortised: entries are never searched or removed from the middle;
/// a worker heard again gets a new ticket and its old entry is skipped when it reaches the
/// front (the C queue scans the list on every message).
///
/// ```
/// use zmq_patterns::{heartbeat::ReadyQueue, Frame};
/// let mut q = ReadyQueue::new(3000);
/// q.ready(Frame::from("W1"), 0);
/// q.ready(Frame::from("W2"), 10);
/// q.ready(Frame::from("W1"), 20); // heard again: now the most recent
/// assert!(q.pop(100).unwrap() == "W2");
/// assert!(q.pop(100).unwrap() == "W1");
/// assert!(q.pop(100).is_none());
/// ```
#[derive(Debug, Default)]
pub struct ReadyQueue {
    expiry_ms: i64,
    /// identity -> (ticket, expiry) of its live entry.
    live: HashMap<Frame, (u64, i64)>,
    order: VecDeque<(Frame, u64)>,
    next_ticket: u64,
}

impl ReadyQueue {
    /// An empty queue whose workers expire `expiry_ms` after they were last heard.
    ///
    /// ```
    /// assert!(zmq_patterns::heartbeat::ReadyQueue::new(3000).is_empty());
    /// ```
    /// `i64::MAX` means workers never expire.
    pub fn new(expiry_ms: i64) -> ReadyQueue {
        ReadyQueue {
            expiry_ms,
            ..Default::default()
        }
    }

    /// A worker said READY or HEARTBEAT (or replied) at `now_ms`: it goes to the back, ready.
    ///
    /// ```
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(3000);
    /// q.ready("W1".into(), 0);
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn ready(&mut self, id: Frame, now_ms: i64) {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.live
            .insert(id.clone(), (ticket, now_ms.saturating_add(self.expiry_ms)));
        self.order.push_back((id, ticket));
        // Heartbeats from ready workers leave stale entries behind; drop them now and then.
        if self.order.len() > 2 * self.live.len() + 32 {
            let live = &self.live;
            self.order
                .retain(|(id, t)| live.get(id).is_some_and(|(lt, _)| lt == t));
        }
    }

    /// Takes the least recently ready worker that has not expired at `now_ms`.
    ///
    /// ```
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(100);
    /// q.ready("W1".into(), 0);
    /// assert!(q.pop(500).is_none()); // expired
    /// ```
    pub fn pop(&mut self, now_ms: i64) -> Option<Frame> {
        while let Some((id, ticket)) = self.order.pop_front() {
            match self.live.get(&id) {
                Some(&(t, expiry)) if t == ticket => {
                    self.live.remove(&id);
                    if expiry > now_ms {
                        return Some(id);
                    }
                }
                _ => {} // stale entry
            }
        }
        None
    }

    /// Forgets a worker (it left or misbehaved).
    ///
    /// ```
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(3000);
    /// q.ready("W1".into(), 0);
    /// q.remove(&"W1".into());
    /// assert!(q.is_empty());
    /// ```
    pub fn remove(&mut self, id: &Frame) {
        self.live.remove(id);
    }

    /// Drops the workers that expired by `now_ms`; returns them.
    ///
    /// ```
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(100);
    /// q.ready("W1".into(), 0);
    /// q.ready("W2".into(), 50);
    /// assert_eq!(q.purge(120).len(), 1);
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn purge(&mut self, now_ms: i64) -> Vec<Frame> {
        let mut gone = Vec::new();
        // Entries are in the order workers were heard, so expiries rise along the queue.
        while let Some((id, ticket)) = self.order.front() {
            match self.live.get(id) {
                Some(&(t, expiry)) if t == *ticket => {
                    if expiry > now_ms {
                        break;
                    }
                    self.live.remove(id);
                    gone.push(id.clone());
                }
                _ => {}
            }
            self.order.pop_front();
        }
        gone
    }

    /// The ready workers, least recently ready first (to send them heartbeats).
    ///
    /// ```
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(3000);
    /// q.ready("W1".into(), 0);
    /// assert_eq!(q.iter().count(), 1);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &Frame> + '_ {
        self.order
            .iter()
            .filter(|(id, t)| self.live.get(id).is_some_and(|(lt, _)| lt == t))
            .map(|(id, _)| id)
    }

    /// Number of ready workers.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::heartbeat::ReadyQueue::new(1).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// True if no worker is ready.
    ///
    /// ```
    /// assert!(zmq_patterns::heartbeat::ReadyQueue::new(1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_maximum_and_resets_when_heard() {
        let cfg = HeartbeatConfig {
            interval_ms: 10,
            liveness: 2,
            reconnect_initial_ms: 100,
            reconnect_max_ms: 350,
        };
        let mut l = Liveness::new(cfg, 0);
        let mut delays = Vec::new();
        for _ in 0..5 {
            assert_eq!(l.silence(), None);
            delays.push(l.silence().unwrap());
            l.reconnected(0);
        }
        assert_eq!(delays, vec![100, 200, 350, 350, 350]);
        l.heard();
        assert_eq!(l.reconnect_ms(), 100);
    }

    #[test]
    fn an_expiry_of_i64_max_means_never() {
        let mut q = ReadyQueue::new(i64::MAX);
        q.ready("W1".into(), 1_000);
        assert!(q.purge(i64::MAX - 1).is_empty());
        assert!(q.pop(2_000).is_some_and(|w| w == "W1"));
    }

    #[test]
    fn queue_is_lru_with_expiry_and_ignores_stale_entries() {
        let mut q = ReadyQueue::new(100);
        for (i, id) in ["A", "B", "C"].iter().enumerate() {
            q.ready(Frame::from(*id), i as i64);
        }
        // A heartbeats many times: it moves to the back, no duplicates
        for t in 10..50 {
            q.ready(Frame::from("A"), t);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(
            q.iter().map(|f| f.to_string_lossy()).collect::<Vec<_>>(),
            ["B", "C", "A"]
        );
        assert!(
            q.order.len() <= 2 * 3 + 32 + 1,
            "stale entries pile up: {}",
            q.order.len()
        );
        // at t=101 B and C (heard at 1 and 2) expired, A (heard at 49) lives
        let gone = q.purge(102);
        assert_eq!(gone.len(), 2);
        assert!(q.pop(102).unwrap() == "A");
        assert!(q.pop(102).is_none());
        // a removed worker is never returned
        q.ready(Frame::from("D"), 200);
        q.remove(&Frame::from("D"));
        assert!(q.pop(200).is_none());
    }
}
