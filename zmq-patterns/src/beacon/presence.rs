//! [`Presence`]: which nodes are on the network, from their UDP beacons (the guide's
//! `interface` class, chapter 8).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::beacon::actor::count_drop;
use crate::beacon::{Beacon, Heard};
use crate::error::Result;
use crate::{Actor, ActorPipe, Msg, Poller};

/// A node's identity in its beacons: 16 random bytes.
pub type NodeId = [u8; 16];

/// How a [`Presence`] beacons and when it forgets a silent peer.
#[derive(Debug, Clone)]
pub struct PresenceConfig {
    /// UDP port of the beacons (the guide's 9999).
    pub port: u16,
    /// Interface to use, by name or address ([`Interface::choose`](crate::beacon::Interface::choose));
    /// `None`: the first that is not loopback.
    pub interface: Option<String>,
    /// Time between our beacons (the guide's one second).
    pub interval: Duration,
    /// A peer silent this long has left (the guide's five seconds).
    pub expiry: Duration,
    /// Most peers tracked at once; beacons of more new peers are dropped (and counted) until
    /// some leave. Bounds what a flood of made-up identities can cost.
    pub max_peers: usize,
}

impl Default for PresenceConfig {
    /// Port 9999, the first interface, a beacon a second, peers gone after five seconds, at
    /// most 10,000 peers.
    ///
    /// ```
    /// let c = zmq_patterns::beacon::PresenceConfig::default();
    /// assert_eq!((c.port, c.interval.as_millis(), c.expiry.as_millis()), (9999, 1000, 5000));
    /// ```
    fn default() -> PresenceConfig {
        PresenceConfig {
            port: 9999,
            interface: None,
            interval: Duration::from_secs(1),
            expiry: Duration::from_secs(5),
            max_peers: 10_000,
        }
    }
}

/// The identity in a beacon datagram: 16 raw bytes (the C `interface`'s form, which we send)
/// or 32 hexadecimal digits (the Python `interface.py`'s form); anything else is `None`.
///
/// ```
/// use zmq_patterns::beacon::parse_beacon;
/// let id = [0xabu8; 16];
/// assert_eq!(parse_beacon(&id), Some(id));
/// assert_eq!(parse_beacon(b"ABABABABABABABABABABABABABABABAB"), Some(id));
/// assert_eq!(parse_beacon(b"!"), None);
/// ```
pub fn parse_beacon(datagram: &[u8]) -> Option<NodeId> {
    match datagram.len() {
        16 => datagram.try_into().ok(),
        32 => {
            let mut id = [0u8; 16];
            for (i, pair) in datagram.chunks_exact(2).enumerate() {
                let text = std::str::from_utf8(pair).ok()?;
                if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                id[i] = u8::from_str_radix(text, 16).ok()?;
            }
            Some(id)
        }
        _ => None,
    }
}

/// A node identity as the guide prints it: 32 upper-case hexadecimal digits.
///
/// ```
/// assert_eq!(zmq_patterns::beacon::node_id_hex(&[0x0f; 16]), "0F".repeat(16));
/// ```
pub fn node_id_hex(id: &NodeId) -> String {
    id.iter().map(|b| format!("{b:02X}")).collect()
}

/// Presence on a network: an actor that broadcasts this node's random identity on a UDP port
/// at an interval (through a [`Beacon`]), hears the other nodes' beacons (its own skipped) and
/// reports `[JOINED][id]` when a node is first heard and `[LEFT][id]` when it has been silent
/// for the expiry time, ids as 32 hexadecimal digits. The guide's `interface` (`udpping3`).
///
/// Datagrams that are not beacons (see [`parse_beacon`]) are dropped and counted
/// ([`Presence::dropped`]); so are beacons of new peers past
/// [`PresenceConfig::max_peers`].
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::beacon::{Presence, PresenceConfig};
/// let ctx = zmq::Context::new();
/// let config = |port| PresenceConfig {
///     port,
///     interface: Some("lo".into()), // this host only
///     interval: Duration::from_millis(50),
///     ..Default::default()
/// };
/// let a = Presence::new(&ctx, config(0))?;
/// let b = Presence::new(&ctx, config(a.port()))?;
/// let joined = a.recv()?; // [JOINED][b's id]
/// assert_eq!(joined.front().unwrap(), "JOINED");
/// assert_eq!(joined[1], b.id_hex().as_str());
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[doc(alias = "interface")]
pub struct Presence {
    actor: Actor,
    id: NodeId,
    port: u16,
    interface: Option<crate::beacon::Interface>,
    /// Datagrams that were not beacons, and new peers past the limit.
    dropped: Arc<AtomicU64>,
    /// Datagrams the beacon under it dropped (oversized, or the agent too slow).
    beacon_dropped: Arc<AtomicU64>,
}

impl Presence {
    /// Binds the beacon port and starts the actor; the first beacon goes out at once.
    ///
    /// ```
    /// # use zmq_patterns::beacon::{Presence, PresenceConfig};
    /// let ctx = zmq::Context::new();
    /// let config = PresenceConfig { port: 0, interface: Some("lo".into()), ..Default::default() };
    /// let presence = Presence::new(&ctx, config)?;
    /// assert_eq!(presence.id_hex().len(), 32);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "interface_new")]
    pub fn new(ctx: &zmq::Context, config: PresenceConfig) -> Result<Presence> {
        let beacon = Beacon::new(ctx, config.port, config.interface.as_deref())?;
        let id: NodeId = rand::random();
        beacon.publish(&id, config.interval)?;
        beacon.subscribe(b"")?;
        let port = beacon.port();
        let interface = beacon.interface().cloned();
        let dropped = Arc::new(AtomicU64::new(0));
        let beacon_dropped = beacon.dropped_counter();
        let counter = dropped.clone();
        log::debug!("presence: node {} on port {port}", node_id_hex(&id));
        let actor = Actor::new(ctx, move |pipe| {
            pipe.ready()?;
            Agent {
                beacon,
                id,
                config,
                peers: HashMap::new(),
                dropped: counter,
            }
            .run(&pipe)
        })?;
        Ok(Presence {
            actor,
            id,
            port,
            interface,
            dropped,
            beacon_dropped,
        })
    }

    /// This node's identity.
    ///
    /// ```
    /// # use zmq_patterns::beacon::{Presence, PresenceConfig};
    /// # let ctx = zmq::Context::new();
    /// # let config = PresenceConfig { port: 0, interface: Some("lo".into()), ..Default::default() };
    /// let presence = Presence::new(&ctx, config)?;
    /// assert_eq!(zmq_patterns::beacon::node_id_hex(&presence.id()), presence.id_hex());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's identity as 32 hexadecimal digits, as events give the others'.
    ///
    /// ```
    /// # use zmq_patterns::beacon::{Presence, PresenceConfig};
    /// # let ctx = zmq::Context::new();
    /// # let config = PresenceConfig { port: 0, interface: Some("lo".into()), ..Default::default() };
    /// let presence = Presence::new(&ctx, config)?;
    /// assert!(presence.id_hex().bytes().all(|b| b.is_ascii_hexdigit()));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn id_hex(&self) -> String {
        node_id_hex(&self.id)
    }

    /// The UDP port of the beacons (useful when the configuration asked for port 0).
    ///
    /// ```
    /// # use zmq_patterns::beacon::{Presence, PresenceConfig};
    /// # let ctx = zmq::Context::new();
    /// # let config = PresenceConfig { port: 0, interface: Some("lo".into()), ..Default::default() };
    /// assert_ne!(Presence::new(&ctx, config)?.port(), 0);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The interface the beacons go out on; `None` when the host has only loopback and none
    /// was asked for.
    ///
    /// ```
    /// # use zmq_patterns::beacon::{Presence, PresenceConfig};
    /// # let ctx = zmq::Context::new();
    /// # let config = PresenceConfig { port: 0, interface: Some("lo".into()), ..Default::default() };
    /// assert_eq!(Presence::new(&ctx, config)?.interface().unwrap().name, "lo");
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn interface(&self) -> Option<&crate::beacon::Interface> {
        self.interface.as_ref()
    }

    /// Waits for the next event: `[JOINED][id]` or `[LEFT][id]`. Blocks; poll the presence
    /// (it derefs to its pipe socket) to wait with a timeout beside other sockets.
    /// [`Error::Interrupted`](crate::Error::Interrupted) on Ctrl-C when the crate's interrupt handling is on.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use zmq_patterns::beacon::{Presence, PresenceConfig};
    /// # let ctx = zmq::Context::new();
    /// # let config = |port| PresenceConfig { port, interface: Some("lo".into()),
    /// #     interval: Duration::from_millis(50), ..Default::default() };
    /// let a = Presence::new(&ctx, config(0))?;
    /// let b = Presence::new(&ctx, config(a.port()))?;
    /// let event = a.recv()?;
    /// assert_eq!(event.len(), 2);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "interface_recv")]
    pub fn recv(&self) -> Result<Msg> {
        Msg::recv(&self.actor)
    }

    /// How many datagrams were dropped so far: not beacons, or from new peers past the limit.
    ///
    /// ```
    /// # use zmq_patterns::beacon::{Presence, PresenceConfig};
    /// # let ctx = zmq::Context::new();
    /// # let config = PresenceConfig { port: 0, interface: Some("lo".into()), ..Default::default() };
    /// assert_eq!(Presence::new(&ctx, config)?.dropped(), 0);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed) + self.beacon_dropped.load(Ordering::Relaxed)
    }
}

impl std::ops::Deref for Presence {
    type Target = zmq::Socket;
    /// The pipe the events come on, for a poller.
    fn deref(&self) -> &zmq::Socket {
        &self.actor
    }
}

/// The actor's side.
struct Agent {
    beacon: Beacon,
    id: NodeId,
    config: PresenceConfig,
    /// Peers by identity, with the moment each expires.
    peers: HashMap<NodeId, Instant>,
    dropped: Arc<AtomicU64>,
}

impl Agent {
    fn run(mut self, pipe: &ActorPipe) -> Result<()> {
        loop {
            let next_expiry = self.peers.values().min().copied();
            let timeout = next_expiry.map(|at| at.saturating_duration_since(Instant::now()));
            let mut poller = Poller::new();
            poller.add(pipe);
            poller.add(&self.beacon);
            poller.poll(timeout)?;
            if poller.is_readable(0) {
                let msg = Msg::recv(pipe)?;
                if pipe.is_term(&msg) {
                    return Ok(());
                }
                log::warn!("presence: unknown command {msg:?}");
            }
            if poller.is_readable(1) {
                let heard = self.beacon.recv()?;
                self.beacon_in(pipe, heard)?;
            }
            self.reap(pipe, Instant::now())?;
        }
    }

    /// A new peer is reported, a known one kept alive.
    fn beacon_in(&mut self, pipe: &ActorPipe, heard: Heard) -> Result<()> {
        let from = heard.from;
        let Some(id) = parse_beacon(&heard.payload) else {
            let why = format!("{} bytes from {from}, not a beacon", heard.payload.len());
            count_drop(&self.dropped, "presence", &why);
            return Ok(());
        };
        if id == self.id {
            return Ok(()); // our own, in the Python form
        }
        let expires = Instant::now() + self.config.expiry;
        if let Some(at) = self.peers.get_mut(&id) {
            *at = expires;
            return Ok(());
        }
        if self.peers.len() >= self.config.max_peers {
            let why = format!("a new peer from {from} past max_peers");
            count_drop(&self.dropped, "presence", &why);
            return Ok(());
        }
        self.peers.insert(id, expires);
        let hex = node_id_hex(&id);
        log::debug!("presence: {hex} joined (from {from})");
        Msg::from_iter(["JOINED", hex.as_str()])
            .send(pipe)
            .map_err(|e| e.error)
    }

    /// Reports and forgets the peers whose time is up.
    fn reap(&mut self, pipe: &ActorPipe, now: Instant) -> Result<()> {
        let gone: Vec<NodeId> = self
            .peers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.peers.remove(&id);
            let hex = node_id_hex(&id);
            log::debug!("presence: {hex} left");
            Msg::from_iter(["LEFT", hex.as_str()]).send(pipe)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    fn config(port: u16) -> PresenceConfig {
        PresenceConfig {
            port,
            interface: Some("lo".into()),
            interval: Duration::from_millis(20),
            expiry: Duration::from_millis(200),
            ..Default::default()
        }
    }

    /// The next event within five seconds.
    fn event(p: &Presence) -> (String, String) {
        let mut poller = Poller::new();
        poller.add(p);
        assert_eq!(
            poller.poll(Some(Duration::from_secs(5))).unwrap(),
            1,
            "no event"
        );
        let msg = p.recv().unwrap();
        (msg[0].to_string_lossy(), msg[1].to_string_lossy())
    }

    #[test]
    fn nodes_join_and_leave() {
        let ctx = zmq::Context::new();
        let a = Presence::new(&ctx, config(0)).unwrap();
        let b = Presence::new(&ctx, config(a.port())).unwrap();
        assert_eq!(event(&a), ("JOINED".into(), b.id_hex()));
        assert_eq!(event(&b), ("JOINED".into(), a.id_hex()));
        drop(b);
        let started = Instant::now();
        assert_eq!(event(&a).0, "LEFT");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn python_beacons_count_and_garbage_is_dropped() {
        let ctx = zmq::Context::new();
        let a = Presence::new(&ctx, config(0)).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = ("127.0.0.1", a.port());
        for junk in [
            &b""[..],
            b"!",
            &[0u8; 15],
            &[0u8; 17],
            &[b'G'; 32],
            &[0u8; 2000],
        ] {
            sender.send_to(junk, to).unwrap();
        }
        let python = "0123456789abcdef0123456789ABCDEF";
        sender.send_to(python.as_bytes(), to).unwrap();
        assert_eq!(event(&a), ("JOINED".into(), python.to_uppercase()));
        assert_eq!(a.dropped(), 6);
    }

    #[test]
    fn new_peers_past_the_limit_are_dropped() {
        let ctx = zmq::Context::new();
        let a = Presence::new(
            &ctx,
            PresenceConfig {
                max_peers: 2,
                expiry: Duration::from_secs(60),
                ..config(0)
            },
        )
        .unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..5u8 {
            sender.send_to(&[i; 16], ("127.0.0.1", a.port())).unwrap();
        }
        assert_eq!(event(&a).0, "JOINED");
        assert_eq!(event(&a).0, "JOINED");
        let deadline = Instant::now() + Duration::from_secs(5);
        while a.dropped() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(a.dropped(), 3);
    }
}
