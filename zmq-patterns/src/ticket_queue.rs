//! [`TicketQueue`]: keys in the order they were last pushed, each with a value, where pushing a
//! key again moves it to the back and removing one is O(1). The queues of ready and busy
//! workers in [`heartbeat::ReadyQueue`](crate::heartbeat::ReadyQueue) and
//! [`mdp::Broker`](crate::mdp::Broker) are all of this one kind.
//!
//! Each push gets a new ticket. The map holds each live key's current ticket and value; the
//! order queue holds (key, ticket) pairs, and a pair whose ticket is no longer the key's is
//! stale: it is skipped when it reaches the front (lazy deletion), so nothing is ever searched
//! or removed from the middle. Stale pairs left behind by keys pushed again and again (a worker
//! that heartbeats) are dropped in one pass once they outnumber the live keys (more than
//! `2 × live + 32` pairs in all), so the queue never holds more than about twice its live keys:
//! its memory follows the number of workers, not the number of messages they send. Every
//! operation is O(1) amortised.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;

/// The maps' hasher: foldhash, seeded at random per process and per map. A broker looks up
/// identity frames a dozen times per request, and SipHash (std's default) cost more than all of
/// the broker's own logic; foldhash takes a fraction of that, and its random seeds still keep a
/// peer from choosing colliding identities blindly. What peers can make the maps hold is bounded
/// by the callers (workers are connections; services and requests have limits).
pub(crate) type FastHash = foldhash::fast::RandomState;

/// Slack before a compaction, so that small queues are not compacted on every push.
const SLACK: usize = 32;

/// Keys in the order they were last pushed, each with a value, with O(1) amortised push (or
/// move to the back), remove, front and pop, and memory bounded by about twice the live keys.
pub(crate) struct TicketQueue<K, V> {
    /// Each live key's current ticket and value.
    live: HashMap<K, (u64, V), FastHash>,
    /// (key, ticket) pairs, oldest first; stale pairs are skipped.
    order: VecDeque<(K, u64)>,
    next_ticket: u64,
}

/// An empty queue (it allocates nothing until the first push).
impl<K, V> Default for TicketQueue<K, V> {
    fn default() -> Self {
        TicketQueue {
            live: HashMap::default(),
            order: VecDeque::new(),
            next_ticket: 0,
        }
    }
}

impl<K: fmt::Debug + Hash + Eq + Clone, V: fmt::Debug> fmt::Debug for TicketQueue<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<K: Hash + Eq + Clone, V> TicketQueue<K, V> {
    /// Puts `key` at the back with `value`, taking it out of where it was; returns its old
    /// value if it was there.
    pub(crate) fn push_back(&mut self, key: K, value: V) -> Option<V> {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        let old = self.live.insert(key.clone(), (ticket, value));
        self.order.push_back((key, ticket));
        self.compact_if_stale();
        old.map(|(_, v)| v)
    }

    /// Takes `key` out; returns its value if it was there.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let old = self.live.remove(key).map(|(_, v)| v);
        if old.is_some() {
            self.compact_if_stale();
        }
        old
    }

    /// The oldest live key and its value.
    pub(crate) fn front(&mut self) -> Option<(&K, &V)> {
        self.skip_stale();
        let (key, _) = self.order.front()?;
        self.live.get(key).map(|(_, v)| (key, v))
    }

    /// Takes out the oldest live key and its value (one hash per pair looked at).
    pub(crate) fn pop_front(&mut self) -> Option<(K, V)> {
        while let Some((key, ticket)) = self.order.pop_front() {
            if let Entry::Occupied(entry) = self.live.entry(key) {
                if entry.get().0 == ticket {
                    let (key, (_, value)) = entry.remove_entry();
                    return Some((key, value));
                }
            }
        }
        None
    }

    /// The live keys and values, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.order
            .iter()
            .filter_map(|(key, ticket)| match self.live.get(key) {
                Some((t, v)) if t == ticket => Some((key, v)),
                _ => None,
            })
    }

    /// Number of live keys.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    /// True if no key is live.
    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Number of (key, ticket) pairs stored, live and stale: what the queue costs.
    #[cfg(test)]
    pub(crate) fn stored(&self) -> usize {
        self.order.len()
    }

    fn is_live(&self, key: &K, ticket: u64) -> bool {
        self.live.get(key).is_some_and(|(t, _)| *t == ticket)
    }

    fn skip_stale(&mut self) {
        while let Some((key, ticket)) = self.order.front() {
            if self.is_live(key, *ticket) {
                break;
            }
            self.order.pop_front();
        }
    }

    /// Drops every stale pair once they outnumber the live keys (amortised: at least
    /// `live + SLACK` pushes or removes happen between two compactions of `2 × live + SLACK`
    /// pairs), and gives back the memory of a queue that shrank a lot.
    fn compact_if_stale(&mut self) {
        if self.order.len() <= 2 * self.live.len() + SLACK {
            return;
        }
        let live = &self.live;
        self.order
            .retain(|(key, ticket)| live.get(key).is_some_and(|(t, _)| t == ticket));
        if self.order.capacity() > 4 * (self.order.len() + SLACK) {
            self.order.shrink_to(2 * (self.order.len() + SLACK));
        }
        if self.live.capacity() > 4 * (self.live.len() + SLACK) {
            self.live.shrink_to(2 * (self.live.len() + SLACK));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Frame;

    fn keys(q: &TicketQueue<Frame, u32>) -> Vec<Vec<u8>> {
        q.iter().map(|(k, _)| k.as_bytes().to_vec()).collect()
    }

    #[test]
    fn pushing_again_moves_to_the_back_and_replaces_the_value() {
        let mut q = TicketQueue::default();
        assert!(q.push_back(Frame::from("A"), 1).is_none());
        q.push_back(Frame::from("B"), 2);
        assert_eq!(q.push_back(Frame::from("A"), 3), Some(1));
        assert_eq!(keys(&q), [b"B".to_vec(), b"A".to_vec()]);
        assert_eq!(q.len(), 2);
        assert_eq!(q.iter().last().map(|(_, v)| *v), Some(3));
        assert_eq!(
            q.front().map(|(k, v)| (k.clone(), *v)),
            Some(("B".into(), 2))
        );
        assert_eq!(q.pop_front(), Some(("B".into(), 2)));
        assert_eq!(q.pop_front(), Some(("A".into(), 3)));
        assert_eq!(q.pop_front(), None);
        assert!(q.is_empty() && q.front().is_none());
    }

    #[test]
    fn a_removed_key_is_never_returned() {
        let mut q = TicketQueue::default();
        for (i, k) in ["A", "B", "C"].into_iter().enumerate() {
            q.push_back(Frame::from(k), i as u32);
        }
        assert_eq!(q.remove(&Frame::from("A")), Some(0));
        assert_eq!(q.remove(&Frame::from("A")), None);
        assert_eq!(keys(&q), [b"B".to_vec(), b"C".to_vec()]);
        assert!(q.front().is_some_and(|(k, _)| *k == "B"));
        assert_eq!(q.pop_front().map(|(k, _)| k), Some("B".into()));
    }

    /// Keys are compared as bytes: two identities that are the same as lossy text are two keys.
    #[test]
    fn keys_are_bytes_not_text() {
        let mut q = TicketQueue::default();
        q.push_back(Frame::new(b"\xff\x01"), 1);
        q.push_back(Frame::new(b"\xfe\x01"), 2);
        assert_eq!(q.len(), 2);
        q.remove(&Frame::new(b"\xff\x01"));
        assert_eq!(q.pop_front(), Some((Frame::new(b"\xfe\x01"), 2)));
    }

    /// A key pushed a million times (a worker that floods heartbeats) costs a bounded number
    /// of stored pairs; so does a queue that grows and then shrinks.
    #[test]
    fn stored_pairs_stay_within_twice_the_live_keys() {
        let mut q = TicketQueue::default();
        q.push_back(Frame::from("other"), 0);
        for i in 0..1_000_000 {
            q.push_back(Frame::from("flood"), i);
            assert!(q.stored() <= 2 * q.len() + SLACK + 1);
        }
        assert_eq!(q.len(), 2);
        assert_eq!(keys(&q), [b"other".to_vec(), b"flood".to_vec()]);
        for i in 0..10_000u32 {
            q.push_back(Frame::new(i.to_be_bytes()), i);
        }
        for i in 0..10_000u32 {
            q.remove(&Frame::new(i.to_be_bytes()));
            assert!(q.stored() <= 2 * q.len() + SLACK + 1);
        }
        assert_eq!(q.len(), 2);
        assert!(q.order.capacity() < 1000, "{}", q.order.capacity());
    }
}
