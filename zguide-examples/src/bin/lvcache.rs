//! Last value cache (guide chapter 5, "Last Value Caching"): a proxy that remembers the last
//! update of every topic and sends it to a subscriber the moment it subscribes, so a late
//! joiner need not wait for the publisher's next update.
//!
//! Connects a SUB socket to the publisher (`--frontend`, subscribed to everything) and binds an
//! XPUB socket for subscribers (`--backend`). Every update, `[topic][value]`, is stored and
//! forwarded; every subscription the XPUB reports (one frame: `1` + topic) is answered with the
//! cached `[topic][value]`, printing `Sending cached topic NNN`.
//!
//! Run beside it: `pathopub tcp://localhost:5557`, then `pathosub tcp://localhost:5558` (one
//! or more): each prints `Save Roger` at once instead of after minutes.
//! Ctrl-C stops it (exit status 0).
//!
//! How it differs from the C original:
//! - The C connects its SUB socket to `tcp://*:5557`, which libzmq rejects; this one connects
//!   to `tcp://localhost:5557` (`--frontend`), where `pathopub tcp://localhost:5557` binds.
//! - It sets `ZMQ_XPUB_VERBOSE`, so the XPUB reports every subscription, not only the first to
//!   a topic: a second subscriber to a cached topic gets the value too (the guide's text asks
//!   for this in a real LVC; the C relies on random topics seldom colliding).
//! - It prints `Sending cached topic` only when it has something to send (the C printed it for
//!   every subscription).
//! - The cache is bounded, as its topics come from the network: at most `--max-topics` topics,
//!   each at most `--max-topic-bytes` long with a value of at most `--max-value-bytes`. An
//!   update beyond that is still forwarded but not cached (and removes the topic's older value,
//!   which is no longer its last one); it is logged (`warn`, now and then). An update that is
//!   not `[topic][value]` and a message from the XPUB that is not a one-frame (un)subscription
//!   are logged and dropped, never a crash. A subscriber that sends a message longer than
//!   `--max-subscription-bytes` is disconnected (libzmq would keep a huge subscription as a
//!   tree of one node per byte).

use std::collections::HashMap;

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Msg, Poller, SocketExt};

#[derive(Parser)]
#[command(about = "Last value cache: answers each new subscription with the topic's last value")]
struct Args {
    /// Endpoint of the publisher (the SUB socket connects here).
    #[arg(long, default_value = "tcp://localhost:5557")]
    frontend: String,
    /// Endpoint for subscribers (the XPUB socket binds here).
    #[arg(long, default_value = "tcp://*:5558")]
    backend: String,
    /// Most topics kept in the cache; updates of further topics are forwarded, not cached.
    #[arg(long, default_value_t = 10_000)]
    max_topics: usize,
    /// Longest topic cached, in bytes.
    #[arg(long, default_value_t = 256)]
    max_topic_bytes: usize,
    /// Largest value cached, in bytes.
    #[arg(long, default_value_t = 8192)]
    max_value_bytes: usize,
    /// Largest message a subscriber may send, in bytes (a subscription is one byte and the
    /// topic): one that sends a larger message is disconnected (`ZMQ_MAXMSGSIZE`).
    #[arg(long, default_value_t = 4096)]
    max_subscription_bytes: i64,
}

/// What [`Cache::store`] did with an update.
#[derive(Debug, PartialEq, Eq)]
enum Stored {
    /// Cached (new topic, or a newer value of a known one).
    Yes,
    /// Not cached: the cache holds `--max-topics` other topics.
    Full,
    /// Not cached: the topic or the value is longer than allowed; an older value of the topic
    /// was removed.
    TooLarge,
}

/// The last value of each topic, bounded in topics and in bytes per entry.
struct Cache {
    values: HashMap<Vec<u8>, Vec<u8>>,
    max_topics: usize,
    max_topic_bytes: usize,
    max_value_bytes: usize,
}

impl Cache {
    fn new(max_topics: usize, max_topic_bytes: usize, max_value_bytes: usize) -> Cache {
        Cache {
            values: HashMap::new(),
            max_topics,
            max_topic_bytes,
            max_value_bytes,
        }
    }

    /// Keeps `value` as the last value of `topic`, if it fits.
    fn store(&mut self, topic: &[u8], value: &[u8]) -> Stored {
        if topic.len() > self.max_topic_bytes || value.len() > self.max_value_bytes {
            // The cached value is no longer the last one: a late subscriber must not get it
            self.values.remove(topic);
            return Stored::TooLarge;
        }
        if let Some(previous) = self.values.get_mut(topic) {
            previous.clear();
            previous.extend_from_slice(value);
            return Stored::Yes;
        }
        if self.values.len() >= self.max_topics {
            return Stored::Full;
        }
        self.values.insert(topic.to_vec(), value.to_vec());
        Stored::Yes
    }

    fn get(&self, topic: &[u8]) -> Option<&[u8]> {
        self.values.get(topic).map(Vec::as_slice)
    }
}

/// Counts an event that a peer can repeat at will, and says when to log it: the 1st, 2nd, 4th,
/// 8th... time, so a flood leaves a few lines, not one per message.
#[derive(Default)]
struct Tally(u64);

impl Tally {
    fn bump(&mut self) -> Option<u64> {
        self.0 += 1;
        self.0.is_power_of_two().then_some(self.0)
    }
}

/// A topic for printing: its text if it is printable ASCII, else hex, at most 64 bytes of it.
fn shown(topic: &[u8]) -> String {
    const LIMIT: usize = 64;
    let head = &topic[..topic.len().min(LIMIT)];
    let mut text = if head.iter().all(|b| (0x20..0x7f).contains(b)) {
        String::from_utf8_lossy(head).into_owned()
    } else {
        head.iter().map(|b| format!("{b:02X}")).collect()
    };
    if topic.len() > LIMIT {
        text.push_str("...");
    }
    text
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let frontend = ctx.socket(zmq::SUB)?;
        frontend.set_linger(0)?;
        frontend.connect_to(&args.frontend)?;
        let backend = ctx.socket(zmq::XPUB)?;
        backend.set_linger(0)?;
        // Report every subscription, also a second one to the same topic
        backend.set_xpub_verbose(true)?;
        // libzmq keeps every subscription in a tree of one node per byte: cap their size
        backend.set_maxmsgsize(args.max_subscription_bytes)?;
        bind(&backend, &args.backend, "--backend")?;

        // Subscribe to every single topic from publisher
        frontend.set_subscribe(b"")?;
        zguide_examples::console!(
            "I: last value cache is active: publisher at {}, subscribers at {}",
            args.frontend,
            args.backend
        );

        // Store last instance of each topic in a cache
        let mut cache = Cache::new(args.max_topics, args.max_topic_bytes, args.max_value_bytes);
        let (mut full, mut too_large, mut bad_updates, mut bad_events) = Default::default();
        let mut poller = Poller::new();
        let from_publisher = poller.add(&frontend);
        let from_subscribers = poller.add(&backend);

        // We route topic updates from frontend to backend, and we handle subscriptions by
        // sending whatever we cached, if anything
        loop {
            poller.poll(None)?;

            // Any new topic data we cache and then forward
            if poller.is_readable(from_publisher) {
                let update = Msg::recv(&frontend)?;
                on_update(
                    update,
                    &mut cache,
                    &backend,
                    [&mut full, &mut too_large, &mut bad_updates],
                )?;
            }
            // When we get a new subscription, we pull data from the cache
            if poller.is_readable(from_subscribers) {
                let event = Msg::recv(&backend)?;
                on_event(event, &cache, &backend, &mut bad_events)?;
            }
        }
    })
}

/// Caches and forwards one update from the publisher.
fn on_update(
    update: Msg,
    cache: &mut Cache,
    backend: &zmq::Socket,
    [full, too_large, bad]: [&mut Tally; 3],
) -> anyhow::Result<()> {
    let (Some(topic), Some(value), 2) = (update.get(0), update.get(1), update.len()) else {
        if let Some(n) = bad.bump() {
            log::warn!(
                "dropping an update of {} frames, not [topic][value] ({n} so far)",
                update.len()
            );
        }
        return Ok(());
    };
    match cache.store(topic, value) {
        Stored::Yes => log::debug!("cached topic {}", shown(topic)),
        Stored::Full => {
            if let Some(n) = full.bump() {
                log::warn!(
                    "cache full ({} topics): topic {} forwarded, not cached ({n} such updates so far)",
                    cache.max_topics,
                    shown(topic)
                );
            }
        }
        Stored::TooLarge => {
            if let Some(n) = too_large.bump() {
                log::warn!(
                    "topic {} ({} bytes) with a value of {} bytes forwarded, not cached: \
                     limits are {} and {} bytes ({n} such updates so far)",
                    shown(topic),
                    topic.len(),
                    value.len(),
                    cache.max_topic_bytes,
                    cache.max_value_bytes
                );
            }
        }
    }
    update.send(backend).map_err(|e| e.error)?;
    Ok(())
}

/// Answers one message from the XPUB: a subscription (`1` + topic) with the cached value.
fn on_event(
    event: Msg,
    cache: &Cache,
    backend: &zmq::Socket,
    bad: &mut Tally,
) -> anyhow::Result<()> {
    // Event is one byte 0=unsub or 1=sub, followed by topic
    let data = match (event.len(), event.front()) {
        (1, Some(frame)) => frame.as_bytes(),
        _ => &[][..],
    };
    match data.split_first() {
        Some((1, topic)) => match cache.get(topic) {
            Some(value) => {
                println!("Sending cached topic {}", shown(topic));
                Msg::from_iter([topic, value])
                    .send(backend)
                    .map_err(|e| e.error)?;
            }
            None => log::debug!("subscription to {}: nothing cached", shown(topic)),
        },
        Some((0, topic)) => log::debug!("unsubscription from {}", shown(topic)),
        _ => {
            if let Some(n) = bad.bump() {
                log::warn!(
                    "dropping a message from a subscriber that is not a subscription \
                     ({} frames, first {}) ({n} so far)",
                    event.len(),
                    event
                        .front()
                        .map_or_else(String::new, |f| format!("{f:.16}"))
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_the_last_value_within_its_bounds() {
        let mut cache = Cache::new(2, 4, 8);
        assert_eq!(cache.store(b"001", b"Save"), Stored::Yes);
        assert_eq!(cache.store(b"001", b"Roger"), Stored::Yes);
        assert_eq!(cache.get(b"001"), Some(&b"Roger"[..]));
        assert_eq!(cache.store(b"002", b"x"), Stored::Yes);
        // A third topic does not fit; known topics still take new values
        assert_eq!(cache.store(b"003", b"x"), Stored::Full);
        assert_eq!(cache.get(b"003"), None);
        assert_eq!(cache.store(b"002", b"y"), Stored::Yes);
        // Too long: not cached, and the older value goes, which makes room
        assert_eq!(cache.store(b"001", b"123456789"), Stored::TooLarge);
        assert_eq!(cache.get(b"001"), None);
        assert_eq!(cache.store(b"00001", b"x"), Stored::TooLarge);
        assert_eq!(cache.store(b"003", b""), Stored::Yes);
        assert_eq!(cache.values.len(), 2);
    }

    #[test]
    fn a_flood_is_logged_now_and_then() {
        let mut tally = Tally::default();
        let logged: Vec<u64> = (0..100).filter_map(|_| tally.bump()).collect();
        assert_eq!(logged, [1, 2, 4, 8, 16, 32, 64]);
    }

    #[test]
    fn topics_print_as_text_or_hex_and_are_cut() {
        assert_eq!(shown(b"042"), "042");
        assert_eq!(shown(&[0, 0xff]), "00FF");
        assert_eq!(shown(&[b'a'; 100]), format!("{}...", "a".repeat(64)));
    }
}
