//! [`Beacon`]: CZMQ's `zbeacon`, an actor that broadcasts a payload at an interval and hears
//! the others' beacons.

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::io::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::beacon::{Interface, Udp};
use crate::error::{Error, Result};
use crate::{Actor, ActorPipe, Frame, Msg, Poller};

/// The largest payload a beacon carries, in bytes (CZMQ's `UDP_FRAME_MAX`). Longer datagrams
/// are not beacons: they are dropped and counted.
pub const PAYLOAD_MAX: usize = 255;

/// A beacon heard from another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The sender's address.
    pub from: IpAddr,
    /// What it broadcast.
    pub payload: Vec<u8>,
}

/// Broadcasts a small payload on a UDP port at an interval and hears the other nodes' beacons:
/// CZMQ's `zbeacon`, the base of the guide's presence service ([`Presence`] is built on it).
///
/// It binds the port on the interface [`Interface::choose`] picks (an explicit name or address,
/// else the first broadcast-capable one; [`Beacon::interface`] says which). Nothing is sent
/// until [`Beacon::publish`], nothing delivered until [`Beacon::subscribe`]. Beacons that equal
/// the one this node publishes are its own, echoed by UDP, and skipped (two nodes must publish
/// different payloads to hear each other). A datagram longer than [`PAYLOAD_MAX`], or one the
/// application is too slow to take (the pipe's high-water mark is reached), is dropped and
/// counted ([`Beacon::dropped`]), never a panic.
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::beacon::Beacon;
/// let ctx = zmq::Context::new();
/// let a = Beacon::new(&ctx, 0, Some("lo"))?; // port 0: any free port, this host only
/// let b = Beacon::new(&ctx, a.port(), Some("lo"))?;
/// b.publish(b"NODE/2", Duration::from_millis(50))?;
/// a.subscribe(b"NODE/")?;
/// let heard = a.recv()?;
/// assert_eq!(heard.payload, b"NODE/2");
/// assert!(heard.from.is_loopback());
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
///
/// [`Presence`]: crate::beacon::Presence
#[doc(alias = "zbeacon")]
pub struct Beacon {
    actor: Actor,
    port: u16,
    interface: Option<Interface>,
    dropped: Arc<AtomicU64>,
}

impl Beacon {
    /// Binds UDP `port` to broadcast on `interface` (a name such as `eth0`, an address, or
    /// `None` for the first broadcast-capable interface) and starts the actor. Port 0 takes
    /// any free port (then only beacons sent to that port are heard). CZMQ's `CONFIGURE`.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("127.0.0.1"))?;
    /// assert_ne!(beacon.port(), 0);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "zbeacon_new")]
    pub fn new(ctx: &zmq::Context, port: u16, interface: Option<&str>) -> Result<Beacon> {
        let udp = Udp::bind_to(port, interface)?;
        let port = udp.port();
        let interface = udp.interface().cloned();
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = dropped.clone();
        let actor = Actor::new(ctx, move |pipe| {
            pipe.ready()?;
            Agent {
                udp,
                transmit: None,
                filter: None,
                dropped: counter,
            }
            .run(&pipe)
        })?;
        Ok(Beacon {
            actor,
            port,
            interface,
            dropped,
        })
    }

    /// The UDP port of the beacons.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// assert_ne!(beacon.port(), 0);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The interface the beacons go out on; `None` when the host has only loopback and none
    /// was asked for (then they go to 255.255.255.255).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// assert_eq!(beacon.interface().unwrap().name, "lo");
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn interface(&self) -> Option<&Interface> {
        self.interface.as_ref()
    }

    /// This node's address on the beacon's interface, which peers see as the sender of its
    /// beacons (CZMQ's `CONFIGURE` reply, the "hostname"); `None` as for
    /// [`Beacon::interface`].
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// assert_eq!(beacon.address(), Some(std::net::Ipv4Addr::LOCALHOST));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "hostname")]
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.interface.as_ref().map(|i| i.address)
    }

    /// Broadcasts `payload` now and then every `interval`, until [`Beacon::silence`] or the
    /// next `publish`. A payload longer than [`PAYLOAD_MAX`] is refused
    /// (`std::io::ErrorKind::InvalidInput`), and so is a zero interval.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// beacon.publish(b"tcp://10.0.0.7:5670", Duration::from_secs(1))?;
    /// assert!(beacon.publish(&[0; 256], Duration::from_secs(1)).is_err());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "PUBLISH")]
    pub fn publish(&self, payload: &[u8], interval: Duration) -> Result<()> {
        if payload.len() > PAYLOAD_MAX {
            return Err(invalid(format!(
                "a beacon payload of {} bytes (at most {PAYLOAD_MAX})",
                payload.len()
            )));
        }
        if interval.is_zero() {
            return Err(invalid("a beacon interval of zero".into()));
        }
        let millis = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        let mut command = Msg::from_iter([&b"PUBLISH"[..], payload]);
        command.push_back(millis.to_string());
        self.command(command)
    }

    /// Stops broadcasting.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// beacon.publish(b"here", Duration::from_secs(1))?;
    /// beacon.silence()?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "SILENCE")]
    pub fn silence(&self) -> Result<()> {
        self.command(Msg::from_iter(["SILENCE"]))
    }

    /// Delivers the beacons whose payload starts with `prefix` (all of them for an empty
    /// prefix), replacing any earlier filter.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// beacon.subscribe(b"")?; // every beacon
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "SUBSCRIBE")]
    pub fn subscribe(&self, prefix: &[u8]) -> Result<()> {
        self.command(Msg::from_iter([&b"SUBSCRIBE"[..], prefix]))
    }

    /// Stops delivering beacons.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// beacon.subscribe(b"")?;
    /// beacon.unsubscribe()?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "UNSUBSCRIBE")]
    pub fn unsubscribe(&self) -> Result<()> {
        self.command(Msg::from_iter(["UNSUBSCRIBE"]))
    }

    /// Waits for the next beacon that passes the filter. Blocks; poll the beacon (it derefs
    /// to its pipe socket, on which each beacon is `[sender address][payload]`, as CZMQ's) to
    /// wait with a timeout beside other sockets.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let ctx = zmq::Context::new();
    /// let a = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// let b = zmq_patterns::beacon::Beacon::new(&ctx, a.port(), Some("lo"))?;
    /// a.subscribe(b"")?;
    /// b.publish(b"!", Duration::from_millis(20))?;
    /// assert_eq!(a.recv()?.payload, b"!");
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn recv(&self) -> Result<Heard> {
        let msg = Msg::recv(&self.actor)?;
        let (Some(from), Some(payload), 2) = (msg.front(), msg.get(1), msg.len()) else {
            return Err(Error::protocol(format!("beacon: a bad event {msg:?}")));
        };
        let from = from
            .to_string_lossy()
            .parse()
            .map_err(|_| Error::protocol(format!("beacon: a bad sender {from}")))?;
        Ok(Heard {
            from,
            payload: payload.to_vec(),
        })
    }

    /// How many datagrams were dropped so far: longer than [`PAYLOAD_MAX`], or heard while
    /// the application was not taking beacons fast enough.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// let beacon = zmq_patterns::beacon::Beacon::new(&ctx, 0, Some("lo"))?;
    /// assert_eq!(beacon.dropped(), 0);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The counter behind [`Beacon::dropped`], for a service built on the beacon.
    pub(crate) fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    fn command(&self, command: Msg) -> Result<()> {
        command.send(&self.actor).map_err(|e| e.error)
    }
}

impl std::ops::Deref for Beacon {
    type Target = zmq::Socket;
    /// The pipe the beacons come on, for a poller.
    fn deref(&self) -> &zmq::Socket {
        &self.actor
    }
}

impl std::fmt::Debug for Beacon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Beacon")
            .field("port", &self.port)
            .field("interface", &self.interface)
            .finish_non_exhaustive()
    }
}

fn invalid(what: String) -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("beacon: {what}"),
    ))
}

/// Counts one dropped datagram; logs the 1st, 2nd, 4th, 8th... so a flood leaves a few lines.
pub(crate) fn count_drop(counter: &AtomicU64, what: &str, why: &str) {
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_power_of_two() {
        log::warn!("{what}: dropped {why} ({n} dropped so far)");
    }
}

/// The actor's side.
struct Agent {
    udp: Udp,
    /// What we publish, how often, and when next.
    transmit: Option<(Frame, Duration, Instant)>,
    filter: Option<Frame>,
    dropped: Arc<AtomicU64>,
}

impl Agent {
    fn run(mut self, pipe: &ActorPipe) -> Result<()> {
        // One byte more than a beacon can be, so a longer datagram shows as one
        let mut buf = [0u8; PAYLOAD_MAX + 1];
        loop {
            let timeout = self
                .transmit
                .as_ref()
                .map(|(_, _, at)| at.saturating_duration_since(Instant::now()));
            let mut poller = Poller::new();
            poller.add(pipe);
            poller.add_fd(self.udp.as_raw_fd());
            poller.poll(timeout)?;
            if poller.is_readable(0) {
                // Every waiting command before any datagram: a beacon that arrives after
                // `subscribe` returned must meet the new filter, not the old one (Presence
                // sends PUBLISH then SUBSCRIBE; taking one command a turn dropped the first
                // beacons heard)
                while let Some(msg) = Msg::try_recv(pipe)? {
                    if pipe.is_term(&msg) {
                        return Ok(());
                    }
                    self.command(msg);
                }
            }
            if poller.is_readable(1) {
                self.beacons_in(pipe, &mut buf)?;
            }
            if let Some((payload, interval, at)) = &mut self.transmit {
                let now = Instant::now();
                if now >= *at {
                    // A failed send (an interface going down) is worth a warning, not the end
                    if let Err(e) = self.udp.send(payload) {
                        log::warn!("beacon: {e}");
                    }
                    *at = now + *interval;
                }
            }
        }
    }

    /// A command from the application (always well formed: the methods above make them).
    fn command(&mut self, msg: Msg) {
        let name = msg.front().map(|f| f.to_string_lossy()).unwrap_or_default();
        match (name.as_str(), msg.len()) {
            ("PUBLISH", 3) => {
                let millis = msg[2].to_string_lossy().parse().unwrap_or(1000);
                log::debug!(
                    "beacon: publishing {} bytes every {millis} ms",
                    msg[1].len()
                );
                let now = Instant::now();
                self.transmit = Some((msg[1].clone(), Duration::from_millis(millis), now));
            }
            ("SILENCE", 1) => self.transmit = None,
            ("SUBSCRIBE", 2) => self.filter = Some(msg[1].clone()),
            ("UNSUBSCRIBE", 1) => self.filter = None,
            _ => log::warn!("beacon: unknown command {msg:?}"),
        }
    }

    /// Reads every waiting datagram and passes on those that match the filter.
    fn beacons_in(&mut self, pipe: &ActorPipe, buf: &mut [u8]) -> Result<()> {
        loop {
            let (n, from) = match self.udp.recv(buf) {
                Ok(got) => got,
                Err(Error::Timeout) => return Ok(()),
                Err(e) => return Err(e),
            };
            if n > PAYLOAD_MAX {
                count_drop(&self.dropped, "beacon", &format!("{n} bytes from {from}"));
                continue;
            }
            let payload = &buf[..n];
            let Some(filter) = &self.filter else { continue };
            if !payload.starts_with(filter) {
                continue;
            }
            if matches!(&self.transmit, Some((own, ..)) if own[..] == *payload) {
                continue; // our own, echoed
            }
            let event = Msg::from_iter([from.ip().to_string().as_bytes(), payload]);
            if let Err(e) = event.try_send(pipe) {
                if !e.error.is_shutdown() && e.error.zmq() != Some(zmq::Error::EAGAIN) {
                    return Err(e.error);
                }
                count_drop(
                    &self.dropped,
                    "beacon",
                    &format!("a beacon from {from}: {}", e.error),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    fn next(beacon: &Beacon, within: Duration) -> Option<Heard> {
        let mut poller = Poller::new();
        poller.add(beacon);
        (poller.poll(Some(within)).unwrap() == 1).then(|| beacon.recv().unwrap())
    }

    #[test]
    fn beacons_pass_the_filter_and_own_ones_are_skipped() {
        let ctx = zmq::Context::new();
        let a = Beacon::new(&ctx, 0, Some("lo")).unwrap();
        let b = Beacon::new(&ctx, a.port(), Some("lo")).unwrap();
        let every = Duration::from_millis(20);
        a.publish(b"NODE/1", every).unwrap();
        b.publish(b"NODE/2", every).unwrap();
        a.subscribe(b"NODE/").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"OTHER", ("127.0.0.1", a.port())).unwrap();
        for _ in 0..10 {
            let heard = next(&a, Duration::from_secs(5)).expect("a beacon");
            assert_eq!(heard.payload, b"NODE/2", "own or unfiltered beacon");
            assert_eq!(heard.from, IpAddr::from(Ipv4Addr::LOCALHOST));
        }
        assert_eq!(a.dropped(), 0);
    }

    /// A beacon sent after `subscribe` returned is heard, however many commands came before
    /// (the actor used to take one command a turn and read datagrams in between, so the first
    /// beacons met the old filter: Presence's test lost its first JOINED in CI).
    #[test]
    fn a_beacon_after_subscribe_returned_is_heard() {
        let ctx = zmq::Context::new();
        let a = Beacon::new(&ctx, 0, Some("lo")).unwrap();
        for _ in 0..200 {
            a.unsubscribe().unwrap();
        }
        a.subscribe(b"").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"first", ("127.0.0.1", a.port())).unwrap();
        let heard = next(&a, Duration::from_secs(5)).expect("the first beacon was dropped");
        assert_eq!(heard.payload, b"first");
    }

    #[test]
    fn nothing_is_delivered_before_subscribe_or_after_unsubscribe() {
        let ctx = zmq::Context::new();
        let a = Beacon::new(&ctx, 0, Some("lo")).unwrap();
        let b = Beacon::new(&ctx, a.port(), Some("lo")).unwrap();
        b.publish(b"x", Duration::from_millis(10)).unwrap();
        assert!(next(&a, Duration::from_millis(100)).is_none());
        a.subscribe(b"").unwrap();
        assert!(next(&a, Duration::from_secs(5)).is_some());
        a.unsubscribe().unwrap();
        // What was already on the pipe, then nothing
        while next(&a, Duration::from_millis(100)).is_some() {}
        assert!(next(&a, Duration::from_millis(100)).is_none());
    }

    #[test]
    fn silence_stops_the_beacons() {
        let ctx = zmq::Context::new();
        let a = Beacon::new(&ctx, 0, Some("lo")).unwrap();
        let b = Beacon::new(&ctx, a.port(), Some("lo")).unwrap();
        a.subscribe(b"").unwrap();
        b.publish(b"x", Duration::from_millis(10)).unwrap();
        assert!(next(&a, Duration::from_secs(5)).is_some());
        b.silence().unwrap();
        while next(&a, Duration::from_millis(100)).is_some() {}
        assert!(next(&a, Duration::from_millis(200)).is_none());
    }

    #[test]
    fn oversized_and_empty_datagrams_do_no_harm() {
        let ctx = zmq::Context::new();
        let a = Beacon::new(&ctx, 0, Some("lo")).unwrap();
        a.subscribe(b"").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = ("127.0.0.1", a.port());
        sender.send_to(&[7u8; PAYLOAD_MAX + 1], to).unwrap();
        sender.send_to(&[7u8; 9000], to).unwrap();
        sender.send_to(b"", to).unwrap();
        sender.send_to(&[1u8; PAYLOAD_MAX], to).unwrap();
        assert_eq!(next(&a, Duration::from_secs(5)).unwrap().payload, b"");
        let full = next(&a, Duration::from_secs(5)).unwrap();
        assert_eq!(full.payload, vec![1u8; PAYLOAD_MAX]);
        assert_eq!(a.dropped(), 2);
    }

    #[test]
    fn a_slow_application_loses_beacons_not_memory() {
        let ctx = zmq::Context::new();
        let a = Beacon::new(&ctx, 0, Some("lo")).unwrap();
        a.subscribe(b"").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while a.dropped() == 0 && Instant::now() < deadline {
            for _ in 0..100 {
                sender.send_to(b"flood", ("127.0.0.1", a.port())).unwrap();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(a.dropped() > 0, "the pipe never filled");
    }

    #[test]
    fn bad_arguments_are_refused() {
        let ctx = zmq::Context::new();
        let a = Beacon::new(&ctx, 0, Some("lo")).unwrap();
        let e = a.publish(&[0; 256], Duration::from_secs(1)).unwrap_err();
        assert!(e.to_string().contains("256 bytes"), "{e}");
        assert!(a.publish(b"x", Duration::ZERO).is_err());
        assert!(Beacon::new(&ctx, 0, Some("nope9")).is_err());
    }
}
