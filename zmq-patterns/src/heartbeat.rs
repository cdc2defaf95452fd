//! Heartbeating for the Paranoid Pirate Protocol (spec 6/PPP), usable by a queue and by a
//! worker: [`Liveness`] tracks a peer from the worker's side (with reconnect back-off), and
//! [`ReadyQueue`] keeps a queue's ready workers in least-recently-used order with expiry.
//!
//! Times are [`Duration`]s and [`Instant`]s; the caller passes `now` in, so that the logic is
//! plain data that a test can drive with made-up instants.

use std::time::{Duration, Instant};

use crate::frame::Frame;
use crate::ticket_queue::TicketQueue;

/// PPP's READY command: a worker's first message, `\x01`.
pub const READY: &[u8] = b"\x01";
/// PPP's HEARTBEAT command, both ways: `\x02`.
pub const HEARTBEAT: &[u8] = b"\x02";

/// The timings of a heartbeat; `Default` gives the guide's Paranoid Pirate values.
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::heartbeat::HeartbeatConfig;
/// let config = HeartbeatConfig { interval: Duration::from_millis(500), ..Default::default() };
/// assert_eq!(config.expiry(), Duration::from_millis(1500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// How often to send a heartbeat (guide: 1 s).
    pub interval: Duration,
    /// Intervals of silence after which the peer counts as dead (guide: 3).
    pub liveness: u32,
    /// First reconnect delay (guide: 1 s).
    pub reconnect_initial: Duration,
    /// Longest reconnect delay after doubling (guide: 32 s).
    pub reconnect_max: Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            interval: Duration::from_secs(1),
            liveness: 3,
            reconnect_initial: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(32),
        }
    }
}

impl HeartbeatConfig {
    /// How long a silent peer lives: `interval * liveness`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = zmq_patterns::heartbeat::HeartbeatConfig::default();
    /// assert_eq!(config.expiry(), Duration::from_secs(3));
    /// ```
    pub fn expiry(&self) -> Duration {
        self.interval.saturating_mul(self.liveness.max(1))
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
/// use std::time::{Duration, Instant};
/// use zmq_patterns::heartbeat::{HeartbeatConfig, Liveness};
/// let now = Instant::now();
/// let mut l = Liveness::new(HeartbeatConfig::default(), now);
/// assert_eq!(l.silence(), None);
/// assert_eq!(l.silence(), None);
/// assert_eq!(l.silence(), Some(Duration::from_secs(1))); // dead: reconnect in 1 s
/// l.reconnected(now);
/// for _ in 0..2 { l.silence(); }
/// assert_eq!(l.silence(), Some(Duration::from_secs(2))); // backs off
/// l.heard();                                               // a message resets both
/// assert_eq!(l.reconnect_delay(), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone)]
pub struct Liveness {
    config: HeartbeatConfig,
    left: u32,
    reconnect: Duration,
    heartbeat_at: Instant,
}

impl Liveness {
    /// Fresh state at `now`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let l = zmq_patterns::heartbeat::Liveness::new(Default::default(), Instant::now());
    /// assert_eq!(l.poll_timeout(), Duration::from_secs(1));
    /// ```
    pub fn new(config: HeartbeatConfig, now: Instant) -> Liveness {
        Liveness {
            config,
            left: config.liveness.max(1),
            reconnect: config.reconnect_initial,
            heartbeat_at: now + config.interval,
        }
    }

    /// The settings it was made with.
    ///
    /// ```
    /// use std::time::Instant;
    /// use zmq_patterns::heartbeat::{HeartbeatConfig, Liveness};
    /// let l = Liveness::new(HeartbeatConfig::default(), Instant::now());
    /// assert_eq!(l.config().liveness, 3);
    /// ```
    pub fn config(&self) -> &HeartbeatConfig {
        &self.config
    }

    /// How long one poll waits: the heartbeat interval.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let l = zmq_patterns::heartbeat::Liveness::new(Default::default(), Instant::now());
    /// assert_eq!(l.poll_timeout(), Duration::from_secs(1));
    /// ```
    pub fn poll_timeout(&self) -> Duration {
        self.config.interval
    }

    /// The peer said something: it is alive, and the back-off starts again from the beginning.
    ///
    /// ```
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), std::time::Instant::now());
    /// l.silence();
    /// l.heard();
    /// assert_eq!(l.left(), 3);
    /// ```
    pub fn heard(&mut self) {
        self.left = self.config.liveness.max(1);
        self.reconnect = self.config.reconnect_initial;
    }

    /// A poll interval passed in silence. Returns `Some(delay)` when the peer is now
    /// considered dead: wait that long, reconnect, then call [`Liveness::reconnected`]. The
    /// next delay doubles, up to the maximum.
    ///
    /// ```
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), std::time::Instant::now());
    /// assert_eq!(l.silence(), None);
    /// ```
    pub fn silence(&mut self) -> Option<Duration> {
        self.left = self.left.saturating_sub(1);
        if self.left > 0 {
            log::debug!(
                "heartbeat: peer silent for an interval ({:?}); {} more and it is gone",
                self.config.interval,
                self.left
            );
            return None;
        }
        let delay = self.reconnect;
        log::debug!(
            "heartbeat: peer expired (silent for {:?}); reconnecting in {delay:?}",
            self.config.expiry()
        );
        self.reconnect = self
            .reconnect
            .saturating_mul(2)
            .min(self.config.reconnect_max)
            .max(self.config.reconnect_initial);
        Some(delay)
    }

    /// After a reconnect at `now`: full liveness again, next heartbeat one interval away; the
    /// back-off is kept until the peer is heard.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let start = Instant::now();
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), start);
    /// l.reconnected(start + Duration::from_secs(5));
    /// assert!(!l.heartbeat_due(start + Duration::from_millis(5500)));
    /// ```
    pub fn reconnected(&mut self, now: Instant) {
        self.left = self.config.liveness.max(1);
        self.heartbeat_at = now + self.config.interval;
    }

    /// True (once per interval) when a heartbeat should be sent at `now`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let start = Instant::now();
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), start);
    /// assert!(!l.heartbeat_due(start + Duration::from_millis(999)));
    /// assert!(l.heartbeat_due(start + Duration::from_millis(1000)));
    /// assert!(!l.heartbeat_due(start + Duration::from_millis(1001)));
    /// ```
    pub fn heartbeat_due(&mut self, now: Instant) -> bool {
        if now < self.heartbeat_at {
            return false;
        }
        self.heartbeat_at = now + self.config.interval;
        true
    }

    /// When the next heartbeat is due (poll no longer than until then).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let start = Instant::now();
    /// let l = zmq_patterns::heartbeat::Liveness::new(Default::default(), start);
    /// assert_eq!(l.next_heartbeat(), start + Duration::from_secs(1));
    /// ```
    pub fn next_heartbeat(&self) -> Instant {
        self.heartbeat_at
    }

    /// Says a message just went to the peer at `now`: the next heartbeat is one interval
    /// later (a busy sender need not heartbeat as well).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let start = Instant::now();
    /// let mut l = zmq_patterns::heartbeat::Liveness::new(Default::default(), start);
    /// l.sent(start + Duration::from_millis(900));
    /// assert!(!l.heartbeat_due(start + Duration::from_millis(1500)));
    /// ```
    pub fn sent(&mut self, now: Instant) {
        self.heartbeat_at = now + self.config.interval;
    }

    /// Heartbeats that may still be missed.
    ///
    /// ```
    /// let l = zmq_patterns::heartbeat::Liveness::new(Default::default(), std::time::Instant::now());
    /// assert_eq!(l.left(), 3);
    /// ```
    pub fn left(&self) -> u32 {
        self.left
    }

    /// The delay the next reconnect would wait.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let l = zmq_patterns::heartbeat::Liveness::new(Default::default(), Instant::now());
    /// assert_eq!(l.reconnect_delay(), Duration::from_secs(1));
    /// ```
    pub fn reconnect_delay(&self) -> Duration {
        self.reconnect
    }
}

/// A queue's ready workers, least recently ready first, each expiring `expiry` after it was
/// last heard (the guide's `ppqueue` worker list).
///
/// Every operation is O(1) amortised, and memory follows the number of ready workers, not the
/// number of heartbeats they send: a worker heard again moves to the back without a search
/// (the C queue scans the list on every message), as in the queues of
/// [`mdp::Broker`](crate::mdp::Broker), which are of the same kind.
///
/// ```
/// use std::time::{Duration, Instant};
/// use zmq_patterns::{heartbeat::ReadyQueue, Frame};
/// let t = Instant::now();
/// let ms = |n| t + Duration::from_millis(n);
/// let mut q = ReadyQueue::new(Duration::from_secs(3));
/// q.ready(Frame::from("W1"), ms(0));
/// q.ready(Frame::from("W2"), ms(10));
/// q.ready(Frame::from("W1"), ms(20)); // heard again: now the most recent
/// assert!(q.pop(ms(100)).unwrap() == "W2");
/// assert!(q.pop(ms(100)).unwrap() == "W1");
/// assert!(q.pop(ms(100)).is_none());
/// ```
#[derive(Debug)]
pub struct ReadyQueue {
    expiry: Duration,
    /// Ready workers, least recently heard first, with when each expires (`None`: never).
    queue: TicketQueue<Frame, Option<Instant>>,
}

impl ReadyQueue {
    /// An empty queue whose workers expire `expiry` after they were last heard;
    /// `Duration::MAX` means never.
    ///
    /// ```
    /// assert!(zmq_patterns::heartbeat::ReadyQueue::new(std::time::Duration::from_secs(3)).is_empty());
    /// ```
    pub fn new(expiry: Duration) -> ReadyQueue {
        ReadyQueue {
            expiry,
            queue: TicketQueue::default(),
        }
    }

    /// A worker said READY or HEARTBEAT (or replied) at `now`: it goes to the back, ready.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(Duration::from_secs(3));
    /// q.ready("W1".into(), Instant::now());
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn ready(&mut self, id: Frame, now: Instant) {
        self.queue.push_back(id, now.checked_add(self.expiry));
    }

    /// Takes the least recently ready worker that has not expired at `now`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = Instant::now();
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(Duration::from_millis(100));
    /// q.ready("W1".into(), t);
    /// assert!(q.pop(t + Duration::from_millis(500)).is_none()); // expired
    /// ```
    pub fn pop(&mut self, now: Instant) -> Option<Frame> {
        while let Some((id, expiry)) = self.queue.pop_front() {
            if expiry.is_none_or(|e| e > now) {
                return Some(id);
            }
            log::debug!(
                "heartbeat: ready worker {} expired (silent for {:?})",
                id.strhex(),
                self.expiry
            );
        }
        None
    }

    /// Forgets a worker (it left or misbehaved).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(Duration::from_secs(3));
    /// q.ready("W1".into(), Instant::now());
    /// q.remove(&"W1".into());
    /// assert!(q.is_empty());
    /// ```
    pub fn remove(&mut self, id: &Frame) {
        self.queue.remove(id);
    }

    /// Drops the workers that expired by `now`; returns them.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = Instant::now();
    /// let ms = |n| t + Duration::from_millis(n);
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(Duration::from_millis(100));
    /// q.ready("W1".into(), ms(0));
    /// q.ready("W2".into(), ms(50));
    /// assert_eq!(q.purge(ms(120)).len(), 1);
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn purge(&mut self, now: Instant) -> Vec<Frame> {
        let mut gone = Vec::new();
        // Workers are in the order they were heard, so expiries rise along the queue.
        while let Some((_, &expiry)) = self.queue.front() {
            if expiry.is_none_or(|e| e > now) {
                break;
            }
            if let Some((id, _)) = self.queue.pop_front() {
                log::debug!(
                    "heartbeat: ready worker {} expired (silent for {:?})",
                    id.strhex(),
                    self.expiry
                );
                gone.push(id);
            }
        }
        gone
    }

    /// The ready workers, least recently ready first (to send them heartbeats).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut q = zmq_patterns::heartbeat::ReadyQueue::new(Duration::from_secs(3));
    /// q.ready("W1".into(), Instant::now());
    /// assert_eq!(q.iter().count(), 1);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &Frame> + '_ {
        self.queue.iter().map(|(id, _)| id)
    }

    /// Number of ready workers.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::heartbeat::ReadyQueue::new(std::time::Duration::MAX).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True if no worker is ready.
    ///
    /// ```
    /// assert!(zmq_patterns::heartbeat::ReadyQueue::new(std::time::Duration::MAX).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_doubles_to_the_maximum_and_resets_when_heard() {
        let cfg = HeartbeatConfig {
            interval: ms(10),
            liveness: 2,
            reconnect_initial: ms(100),
            reconnect_max: ms(350),
        };
        let t = Instant::now();
        let mut l = Liveness::new(cfg, t);
        let mut delays = Vec::new();
        for _ in 0..5 {
            assert_eq!(l.silence(), None);
            delays.push(l.silence().unwrap().as_millis());
            l.reconnected(t);
        }
        assert_eq!(delays, vec![100, 200, 350, 350, 350]);
        l.heard();
        assert_eq!(l.reconnect_delay(), ms(100));
    }

    #[test]
    fn missed_heartbeats_expiry_and_reconnect_delay_are_logged() {
        use log::Level::Debug;
        let cap = crate::test_log::capture();
        let cfg = HeartbeatConfig {
            interval: ms(10),
            liveness: 2,
            reconnect_initial: ms(100),
            reconnect_max: ms(350),
        };
        let t = Instant::now();
        let mut l = Liveness::new(cfg, t);
        l.silence();
        assert!(cap.has(
            Debug,
            &["heartbeat: peer silent for an interval (10ms); 1 more"]
        ));
        l.silence();
        assert!(cap.has(
            Debug,
            &["heartbeat: peer expired (silent for 20ms); reconnecting in 100ms"]
        ));
        let mut q = ReadyQueue::new(ms(100));
        q.ready("W1".into(), t);
        q.ready("W2".into(), t);
        q.purge(t + ms(200));
        let w1 = format!(
            "heartbeat: ready worker {} expired",
            Frame::from("W1").strhex()
        );
        assert!(cap.has(Debug, &[&w1, "(silent for 100ms)"]));
        let w2 = format!(
            "heartbeat: ready worker {} expired",
            Frame::from("W2").strhex()
        );
        assert!(cap.has(Debug, &[&w2]));
    }

    #[test]
    fn an_expiry_of_duration_max_means_never() {
        let t = Instant::now();
        let mut q = ReadyQueue::new(Duration::MAX);
        q.ready("W1".into(), t);
        assert!(q.purge(t + Duration::from_secs(1 << 40)).is_empty());
        assert!(q.pop(t + ms(2_000)).is_some_and(|w| w == "W1"));
    }

    #[test]
    fn queue_is_lru_with_expiry_and_ignores_stale_entries() {
        let t0 = Instant::now();
        let at = |n: u64| t0 + ms(n);
        let mut q = ReadyQueue::new(ms(100));
        for (i, id) in ["A", "B", "C"].iter().enumerate() {
            q.ready(Frame::from(*id), at(i as u64));
        }
        // A heartbeats many times: it moves to the back, no duplicates
        for t in 10..50 {
            q.ready(Frame::from("A"), at(t));
        }
        assert_eq!(q.len(), 3);
        assert_eq!(
            q.iter().map(|f| f.to_string_lossy()).collect::<Vec<_>>(),
            ["B", "C", "A"]
        );
        assert!(
            q.queue.stored() <= 2 * 3 + 32 + 1,
            "stale entries pile up: {}",
            q.queue.stored()
        );
        // at t=101 B and C (heard at 1 and 2) expired, A (heard at 49) lives
        let gone = q.purge(at(102));
        assert_eq!(gone.len(), 2);
        assert!(q.pop(at(102)).unwrap() == "A");
        assert!(q.pop(at(102)).is_none());
        // a removed worker is never returned
        q.ready(Frame::from("D"), at(200));
        q.remove(&Frame::from("D"));
        assert!(q.pop(at(200)).is_none());
    }
}
