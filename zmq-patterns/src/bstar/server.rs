//! [`Server`]: a Binary Star server on the [`Reactor`] (the guide's `bstar` class): it
//! exchanges states with its peer, runs the [`Fsm`], and passes the client requests it may serve
//! to the application's voter handler.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::fsm::{Change, Event, Fsm, Refusal, Role, State};
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::reactor::{Flow, Reactor};
use crate::socket::SocketExt;

/// The guide's heartbeat: each server publishes its state this often, and a peer silent for
/// twice as long is gone.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_millis(1000);

/// One server of a Binary Star pair.
///
/// It publishes its state on a PUB socket bound at `local` every heartbeat, and subscribes to
/// its peer's at `remote` (PUB-SUB, as the guide explains: no other pair of sockets neither
/// blocks on a missing peer nor loses it across restarts). Client requests arrive on the
/// *voter* socket ([`Server::bind_voter`]); each one is a vote for this server: when the
/// [`Fsm`] accepts it, the application's voter handler reads and answers it, else the server
/// reads and drops it, and the client tries the other server.
///
/// A state message that is not one frame of `"1"` to `"4"` is logged and dropped: it neither
/// counts as a sign of the peer's life nor reaches the state machine. When the pair is broken
/// (both active or both passive), [`Server::run`] ends with [`Error::Bstar`].
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::bstar::{Role, Server, State};
/// use zmq_patterns::reactor::{Flow, Reactor};
/// use zmq_patterns::{Msg, SocketExt};
/// let ctx = zmq::Context::new();
/// // a primary alone: no backup at inproc://doc-bstar-b
/// let mut server = Server::new(&ctx, Role::Primary, "inproc://doc-bstar-p", "inproc://doc-bstar-b")?;
/// server.set_heartbeat(Duration::from_millis(20));
/// server.bind_voter("inproc://doc-bstar-voter", zmq::ROUTER)?;
/// let client = ctx.socket(zmq::REQ)?;
/// client.connect("inproc://doc-bstar-voter")?;
///
/// let mut reactor = Reactor::new();
/// // A lone primary serves once its backup has been silent for two heartbeats: a vote sent
/// // before that would be dropped. So the client asks after three.
/// reactor.add_timer(Duration::from_millis(60), 1, |_, _| {
///     client.send_text("1")?;
///     Ok(Flow::Continue)
/// });
/// let mut answered = 0;
/// server.register(
///     &mut reactor,
///     |_, answered: &mut u32, voter| {
///         Msg::recv(voter)?.send(voter).map_err(|e| e.error)?; // echo
///         *answered += 1;
///         Ok(Flow::Stop)
///     },
///     |_, _, change| {
///         println!("I: {change}"); // "I: request from client, ready active"
///         Ok(Flow::Continue)
///     },
/// )?;
/// reactor.run(&mut answered)?;
/// assert_eq!(client.recv_text()?, "1");
/// assert_eq!(server.state(), State::Active);
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
pub struct Server {
    ctx: zmq::Context,
    role: Role,
    heartbeat: Duration,
    fsm: RefCell<Fsm>,
    started: Cell<bool>,
    statepub: zmq::Socket,
    statesub: zmq::Socket,
    remote: String,
    relinked: Cell<Instant>,
    voter: Option<zmq::Socket>,
}

impl Server {
    /// A server for `role` that publishes its state at `local` (bound) and hears its peer's
    /// at `remote` (connected), with the guide's heartbeat of one second.
    ///
    /// ```
    /// use zmq_patterns::bstar::{Role, Server, State};
    /// let ctx = zmq::Context::new();
    /// let server = Server::new(&ctx, Role::Backup, "inproc://doc-new-b", "inproc://doc-new-p")?;
    /// assert_eq!(server.state(), State::Backup);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn new(ctx: &zmq::Context, role: Role, local: &str, remote: &str) -> Result<Server> {
        let statepub = ctx.socket(zmq::PUB)?;
        statepub.set_linger(0)?;
        statepub.bind_to(local)?;
        let statesub = ctx.socket(zmq::SUB)?;
        statesub.set_linger(0)?;
        statesub.set_subscribe(b"")?;
        // A state is one digit: anything much larger is not from a Binary Star peer. libzmq
        // ends a connection that breaks this limit and, on a connecting socket, never makes it
        // again: the heartbeat relinks a peer that stays silent (see `relink_if_silent`).
        statesub.set_maxmsgsize(64)?;
        statesub.connect_to(remote)?;
        log::debug!("bstar: {role:?} publishing state at {local}, peer at {remote}");
        Ok(Server {
            ctx: ctx.clone(),
            role,
            heartbeat: DEFAULT_HEARTBEAT,
            fsm: RefCell::new(Fsm::new(role, DEFAULT_HEARTBEAT, Instant::now())),
            started: Cell::new(false),
            statepub,
            statesub,
            remote: remote.to_string(),
            relinked: Cell::new(Instant::now()),
            voter: None,
        })
    }

    /// Sets the heartbeat (default one second); both servers of a pair must use the same.
    /// Takes effect at the first [`Server::register`]; later it changes nothing.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use zmq_patterns::bstar::{Role, Server};
    /// # let ctx = zmq::Context::new();
    /// let mut server = Server::new(&ctx, Role::Primary, "inproc://doc-hb-p", "inproc://doc-hb-b")?;
    /// server.set_heartbeat(Duration::from_millis(250));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn set_heartbeat(&mut self, heartbeat: Duration) {
        self.heartbeat = heartbeat.max(Duration::from_millis(1));
    }

    /// Binds the voter socket, of type `kind` (a ROUTER, usually), at `endpoint`: the socket
    /// on which clients' requests arrive. One voter per server. To set socket options first,
    /// make the socket yourself and hand it over with [`Server::set_voter`].
    ///
    /// ```
    /// # use zmq_patterns::bstar::{Role, Server};
    /// # let ctx = zmq::Context::new();
    /// let mut server = Server::new(&ctx, Role::Primary, "inproc://doc-v-p", "inproc://doc-v-b")?;
    /// server.bind_voter("inproc://doc-v-voter", zmq::ROUTER)?;
    /// assert!(server.voter().is_some());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "bstar_voter")]
    pub fn bind_voter(&mut self, endpoint: &str, kind: zmq::SocketType) -> Result<()> {
        if self.voter.is_some() {
            return Err(Error::Zmq(zmq::Error::EINVAL));
        }
        let voter = self.ctx.socket(kind)?;
        voter.set_linger(0)?;
        voter.bind_to(endpoint)?;
        log::debug!("bstar: voter bound at {endpoint}");
        self.set_voter(voter)
    }

    /// Takes `voter`, a socket the application made, set up and bound (or connected) itself, as
    /// the voter: for options that must be set before a bind to count, such as a maximum
    /// message size (libzmq copies a socket's options into each endpoint when it is bound).
    /// One voter per server: `EINVAL` if there is one already.
    ///
    /// ```
    /// # use zmq_patterns::bstar::{Role, Server};
    /// # let ctx = zmq::Context::new();
    /// let mut server = Server::new(&ctx, Role::Primary, "inproc://doc-sv-p", "inproc://doc-sv-b")?;
    /// let voter = ctx.socket(zmq::ROUTER)?;
    /// voter.set_maxmsgsize(64 * 1024)?; // before the bind, so that it holds for every client
    /// voter.bind("inproc://doc-sv-voter")?;
    /// server.set_voter(voter)?;
    /// assert_eq!(server.voter().unwrap().get_maxmsgsize()?, 64 * 1024);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn set_voter(&mut self, voter: zmq::Socket) -> Result<()> {
        if self.voter.is_some() {
            return Err(Error::Zmq(zmq::Error::EINVAL));
        }
        log::debug!("bstar: voter set");
        self.voter = Some(voter);
        Ok(())
    }

    /// The voter socket, once bound.
    ///
    /// ```
    /// # use zmq_patterns::bstar::{Role, Server};
    /// # let ctx = zmq::Context::new();
    /// let server = Server::new(&ctx, Role::Primary, "inproc://doc-vs-p", "inproc://doc-vs-b")?;
    /// assert!(server.voter().is_none());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn voter(&self) -> Option<&zmq::Socket> {
        self.voter.as_ref()
    }

    /// The server's state now.
    ///
    /// ```
    /// # use zmq_patterns::bstar::{Role, Server, State};
    /// # let ctx = zmq::Context::new();
    /// let server = Server::new(&ctx, Role::Primary, "inproc://doc-st-p", "inproc://doc-st-b")?;
    /// assert_eq!(server.state(), State::Primary);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn state(&self) -> State {
        self.fsm.borrow().state()
    }

    /// Adds the server's readers and heartbeat timer to `reactor`, which may hold the
    /// application's own. The state machine starts at the first registration (the peer has
    /// twice the heartbeat from then to be heard); registered again, on another reactor, the
    /// server goes on from the state it is in. `on_vote` is called with the voter
    /// socket for each client request the server may serve, and must read it (whole) from the
    /// socket; `on_change` is called on each change of state, before any `on_vote` it led to
    /// (the guide's `bstar_new_active` and `bstar_new_passive` are `on_change` with
    /// [`Change::to`] [`State::Active`] or [`State::Passive`]).
    ///
    /// Errors: `EINVAL` if no voter is bound. Once registered, the reactor's
    /// [`run`](Reactor::run) ends with [`Error::Bstar`] when the pair is broken. See
    /// [`Server`] for an example.
    pub fn register<'s, T: 's>(
        &'s self,
        reactor: &mut Reactor<'s, T>,
        mut on_vote: impl FnMut(&mut Reactor<'s, T>, &mut T, &'s zmq::Socket) -> Result<Flow> + 's,
        on_change: impl FnMut(&mut Reactor<'s, T>, &mut T, Change) -> Result<Flow> + 's,
    ) -> Result<()> {
        let voter = self.voter.as_ref().ok_or(Error::Zmq(zmq::Error::EINVAL))?;
        if !self.started.replace(true) {
            *self.fsm.borrow_mut() = Fsm::new(self.role, self.heartbeat, Instant::now());
        }
        let on_change = Rc::new(RefCell::new(on_change));

        // Publish our state now (it speeds up pairing), then every heartbeat.
        self.publish()?;
        reactor.add_timer(self.heartbeat, 0, move |_, _| {
            self.publish()?;
            self.relink_if_silent(Instant::now())?;
            Ok(Flow::Continue)
        });

        let changed = Rc::clone(&on_change);
        reactor.add_reader(&self.statesub, move |reactor, app| {
            let msg = Msg::recv(&self.statesub)?;
            let state = match msg.len() {
                1 => State::parse(&msg[0]),
                n => Err(Error::protocol(format!("a state message of {n} parts"))),
            };
            let peer = match state {
                Ok(peer) => peer,
                Err(e) => {
                    log::warn!("bstar: dropped a bad state message from the peer: {e}");
                    return Ok(Flow::Continue);
                }
            };
            log::trace!("bstar: peer is {peer}");
            let handled = self
                .fsm
                .borrow_mut()
                .handle(Event::Peer(peer), Instant::now());
            match handled {
                Ok(Some(change)) => (changed.borrow_mut())(reactor, app, change),
                Ok(None) => Ok(Flow::Continue),
                Err(refusal) => Err(Error::Bstar(refusal)),
            }
        });

        reactor.add_reader(voter, move |reactor, app| {
            let handled = self
                .fsm
                .borrow_mut()
                .handle(Event::ClientRequest, Instant::now());
            match handled {
                Ok(change) => {
                    if let Some(change) = change {
                        if (on_change.borrow_mut())(reactor, app, change)? == Flow::Stop {
                            return Ok(Flow::Stop);
                        }
                    }
                    on_vote(reactor, app, voter)
                }
                Err(Refusal::Rejected) => {
                    // Read it whole and drop it: nobody here will answer it.
                    let dropped = Msg::recv(voter)?;
                    log::debug!(
                        "bstar: {}: dropped a client request of {} parts",
                        self.state(),
                        dropped.len()
                    );
                    Ok(Flow::Continue)
                }
                Err(fatal) => Err(Error::Bstar(fatal)),
            }
        });
        Ok(())
    }

    /// Runs the server alone, on a reactor of its own, until `on_vote` or `on_change` says
    /// [`Flow::Stop`], an error, Ctrl-C (with [`interrupt`](crate::interrupt) installed:
    /// [`Error::Interrupted`]) or a broken pair ([`Error::Bstar`]).
    ///
    /// ```no_run
    /// use zmq_patterns::bstar::{Role, Server};
    /// use zmq_patterns::reactor::Flow;
    /// use zmq_patterns::Msg;
    /// let ctx = zmq::Context::new();
    /// let mut server = Server::new(&ctx, Role::Primary, "tcp://*:5003", "tcp://localhost:5004")?;
    /// server.bind_voter("tcp://*:5001", zmq::ROUTER)?;
    /// server.run(
    ///     &mut (),
    ///     |_, _, voter| {
    ///         Msg::recv(voter)?.send(voter).map_err(|e| e.error)?;
    ///         Ok(Flow::Continue)
    ///     },
    ///     |_, _, change| {
    ///         println!("I: {change}");
    ///         Ok(Flow::Continue)
    ///     },
    /// )?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "bstar_start")]
    pub fn run<'s, T: 's>(
        &'s self,
        app: &mut T,
        on_vote: impl FnMut(&mut Reactor<'s, T>, &mut T, &'s zmq::Socket) -> Result<Flow> + 's,
        on_change: impl FnMut(&mut Reactor<'s, T>, &mut T, Change) -> Result<Flow> + 's,
    ) -> Result<()> {
        let mut reactor = Reactor::new();
        self.register(&mut reactor, on_vote, on_change)?;
        reactor.run(app)
    }

    /// Makes a new connection to the peer's state publisher when the peer has been silent for
    /// its whole lease (two heartbeats), at most once a lease. A peer that is down costs a
    /// reconnection attempt; a connection that libzmq ended for good (a state message over
    /// the size limit is a protocol error, after which a connecting socket does not reconnect)
    /// comes back, instead of leaving this server deaf to a live peer, which would let a
    /// client's vote make it a second active server.
    fn relink_if_silent(&self, now: Instant) -> Result<()> {
        let lease = self.heartbeat.saturating_mul(2);
        if !self.fsm.borrow().peer_is_gone(now) || now.duration_since(self.relinked.get()) < lease {
            return Ok(());
        }
        self.relinked.set(now);
        log::debug!("bstar: peer silent, connecting again to {}", self.remote);
        // ENOENT when libzmq has already dropped the endpoint: connect all the same.
        let _ = self.statesub.disconnect(&self.remote);
        self.statesub.connect_to(&self.remote)?;
        Ok(())
    }

    fn publish(&self) -> Result<()> {
        let state = self.state();
        log::trace!("bstar: publishing {state}");
        self.statepub.send(state.as_wire(), 0)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SocketExt;

    const HB: Duration = Duration::from_millis(20);

    fn server(ctx: &zmq::Context, role: Role, tag: &str) -> Server {
        let (me, peer) = match role {
            Role::Primary => ("p", "b"),
            Role::Backup => ("b", "p"),
        };
        let mut s = Server::new(
            ctx,
            role,
            &format!("inproc://{tag}-{me}"),
            &format!("inproc://{tag}-{peer}"),
        )
        .unwrap();
        s.set_heartbeat(HB);
        s.bind_voter(&format!("inproc://{tag}-{me}-voter"), zmq::ROUTER)
            .unwrap();
        s
    }

    fn echo(
        _: &mut Reactor<'_, Vec<Change>>,
        _: &mut Vec<Change>,
        voter: &zmq::Socket,
    ) -> Result<Flow> {
        Msg::recv(voter)?.send(voter).map_err(|e| e.error)?;
        Ok(Flow::Continue)
    }

    /// Runs `server` until `done` holds for the changes seen, or `limit` passes.
    fn run_until(
        server: &Server,
        limit: Duration,
        done: impl Fn(&[Change]) -> bool + 'static,
    ) -> (Result<()>, Vec<Change>) {
        let mut reactor = Reactor::new();
        let done = Rc::new(done);
        let d = Rc::clone(&done);
        server
            .register(
                &mut reactor,
                echo,
                move |_, seen: &mut Vec<Change>, change| {
                    seen.push(change);
                    Ok(if d(seen) { Flow::Stop } else { Flow::Continue })
                },
            )
            .unwrap();
        reactor.add_timer(limit, 1, |_, _| Ok(Flow::Stop));
        let mut seen = Vec::new();
        let result = reactor.run(&mut seen);
        (result, seen)
    }

    #[test]
    fn a_backup_hearing_an_active_primary_goes_passive_and_drops_votes() {
        let ctx = zmq::Context::new();
        let backup = server(&ctx, Role::Backup, "bs-passive");
        // the primary's state, by hand
        let primary = ctx.socket(zmq::PUB).unwrap();
        primary.bind("inproc://bs-passive-p").unwrap();
        let client = ctx.socket(zmq::DEALER).unwrap();
        client.connect("inproc://bs-passive-b-voter").unwrap();
        let stop_publishing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = std::sync::Arc::clone(&stop_publishing);
        let publisher = std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                primary.send("3", 0).unwrap();
                std::thread::sleep(HB);
            }
        });
        let (result, seen) = run_until(&backup, Duration::from_secs(5), |s| !s.is_empty());
        result.unwrap();
        assert_eq!(seen[0].to, State::Passive, "{seen:?}");
        // a vote while the primary is alive is dropped, and the backup stays passive
        client.send_multipart(["", "1"], 0).unwrap();
        let (result, seen) = run_until(&backup, 5 * HB, |s| !s.is_empty());
        result.unwrap();
        assert!(seen.is_empty(), "{seen:?}");
        client.set_rcvtimeo(0).unwrap();
        assert!(client.recv_bytes(0).is_err(), "a passive server answered");
        stop_publishing.store(true, std::sync::atomic::Ordering::SeqCst);
        publisher.join().unwrap();
    }

    /// Runs `server` on a thread of its own; gives it back with the outcome.
    fn spawn_until(
        server: Server,
        limit: Duration,
        done: impl Fn(&[Change]) -> bool + Send + 'static,
    ) -> std::thread::JoinHandle<(Server, Result<()>, Vec<Change>)> {
        std::thread::spawn(move || {
            let (result, seen) = run_until(&server, limit, done);
            (server, result, seen)
        })
    }

    #[test]
    fn a_pair_pairs_then_the_backup_takes_over_on_a_vote_and_detects_dual_actives() {
        let ctx = zmq::Context::new();
        let primary = server(&ctx, Role::Primary, "bs-pair");
        let backup = server(&ctx, Role::Backup, "bs-pair");
        // the primary runs on for a while: the backup must hear it active
        let p = spawn_until(primary, 20 * HB, |_| false);
        let (result, seen) = run_until(&backup, Duration::from_secs(5), |s| !s.is_empty());
        result.unwrap();
        assert_eq!(seen[0].to, State::Passive);
        let (primary, result, seen) = p.join().unwrap();
        result.unwrap();
        assert_eq!(seen[0].to, State::Active);
        // the primary falls silent (it is not run); the backup reads the states still queued
        // and hears nothing more for three heartbeats: a vote then fails it over
        let (result, seen) = run_until(&backup, 3 * HB, |_| false);
        result.unwrap();
        assert!(seen.is_empty(), "{seen:?}");
        let client = ctx.socket(zmq::REQ).unwrap();
        client.connect("inproc://bs-pair-b-voter").unwrap();
        client.send_text("1").unwrap();
        let (result, seen) = run_until(&backup, Duration::from_secs(5), |s| !s.is_empty());
        result.unwrap();
        assert_eq!(seen[0].to_string(), "failover successful, ready active");
        // on_change stopped the reactor before the vote was served: it waits, unread
        client.set_rcvtimeo(5000).unwrap();
        let (result, _) = run_until(&backup, 5 * HB, |_| false);
        result.unwrap();
        assert_eq!(client.recv_text().unwrap(), "1");
        // both are active now: the first state each hears from the other is fatal
        let p = spawn_until(primary, Duration::from_secs(5), |_| false);
        let (result, _) = run_until(&backup, Duration::from_secs(5), |_| false);
        assert_eq!(result.unwrap_err().bstar(), Some(Refusal::DualActives));
        let (_, result, _) = p.join().unwrap();
        assert_eq!(result.unwrap_err().bstar(), Some(Refusal::DualActives));
    }

    #[test]
    fn bad_state_messages_are_dropped_and_are_no_sign_of_life() {
        let ctx = zmq::Context::new();
        let backup = server(&ctx, Role::Backup, "bs-bad");
        let peer = ctx.socket(zmq::PUB).unwrap();
        peer.bind("inproc://bs-bad-p").unwrap();
        let hostile = std::thread::spawn(move || {
            // garbage, a "5" (a client request's number), two parts, too large; then an
            // active primary that goes silent
            for _ in 0..5 {
                peer.send("5", 0).unwrap();
                peer.send("x", 0).unwrap();
                peer.send_multipart(["3", "3"], 0).unwrap();
                peer.send(vec![b'3'; 1000], 0).unwrap();
                std::thread::sleep(HB);
            }
            peer.send("3", 0).unwrap();
            peer
        });
        let (result, seen) = run_until(&backup, Duration::from_secs(5), |s| !s.is_empty());
        result.unwrap();
        assert_eq!(seen[0].to, State::Passive);
        assert!(seen[0].event == Event::Peer(State::Active));
        let peer = hostile.join().unwrap();
        // from now on only garbage: the primary counts as gone, and a vote fails over
        let client = ctx.socket(zmq::REQ).unwrap();
        client.connect("inproc://bs-bad-b-voter").unwrap();
        let voting = std::thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < 4 * HB {
                peer.send("x", 0).unwrap();
                std::thread::sleep(HB / 4);
            }
            client.send_text("1").unwrap();
            client.set_rcvtimeo(5000).unwrap();
            client.recv_text().unwrap()
        });
        let (result, seen) = run_until(&backup, Duration::from_secs(5), |s| !s.is_empty());
        result.unwrap();
        assert_eq!(seen[0].to, State::Active, "garbage kept the peer alive");
        let (result, _) = run_until(&backup, 5 * HB, |_| false);
        result.unwrap();
        assert_eq!(voting.join().unwrap(), "1");
    }

    /// Over tcp, one state message above the size limit makes libzmq end the connection for
    /// good; the server must hear its peer again all the same (else a vote could make it a
    /// second active server while the peer is active).
    #[test]
    fn an_oversized_state_message_does_not_deafen_the_server_for_good() {
        let ctx = zmq::Context::new();
        let peer = ctx.socket(zmq::PUB).unwrap();
        peer.bind("tcp://127.0.0.1:*").unwrap();
        let peer_endpoint = peer.get_last_endpoint().unwrap().unwrap();
        let mut backup =
            Server::new(&ctx, Role::Backup, "tcp://127.0.0.1:*", &peer_endpoint).unwrap();
        backup.set_heartbeat(HB);
        backup
            .bind_voter("inproc://bs-oversized-voter", zmq::ROUTER)
            .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        let hostile = std::thread::spawn(move || {
            // oversized until the backup has surely read one (its connection is then gone),
            // then an active primary's state, as a live peer sends it
            for _ in 0..10 {
                peer.send(vec![b'3'; 1000], 0).unwrap();
                std::thread::sleep(HB);
            }
            while !stopped.load(std::sync::atomic::Ordering::SeqCst) {
                peer.send("3", 0).unwrap();
                std::thread::sleep(HB);
            }
        });
        let (result, seen) = run_until(&backup, Duration::from_secs(5), |s| !s.is_empty());
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        hostile.join().unwrap();
        result.unwrap();
        assert_eq!(
            seen.first().map(|c| c.to),
            Some(State::Passive),
            "the backup never heard its active peer again"
        );
    }
}
