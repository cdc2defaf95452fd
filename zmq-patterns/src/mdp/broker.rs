//! [`Broker`]: a Majordomo broker (the guide's `mdbroker`) that an application can run or embed.

use std::collections::{HashMap, VecDeque};
use std::mem::size_of;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::frame::Frame;
use crate::mdp::key::Key;
use crate::mdp::protocol::{BrokerInput, CLIENT, FromWorker, MMI_PREFIX, ToWorker};
use crate::msg::Msg;
use crate::poller::Poller;
use crate::socket::SocketExt;
use crate::stop::{StopHandle, StopSignal};
use crate::ticket_queue::{FastHash, TicketQueue};

/// Settings of a [`Broker`]; `Default` gives the guide's timings, and bounds on everything a
/// peer can make the broker hold (the guide's broker has none).
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::mdp::BrokerConfig;
/// let config = BrokerConfig {
///     heartbeat: Duration::from_millis(1000),
///     request_expiry: Duration::from_secs(30),
///     ..Default::default()
/// };
/// assert_eq!(config.liveness, 3);
/// assert_eq!(config.busy_timeout, Some(Duration::from_secs(75)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// How often the broker heartbeats each worker, idle or busy (guide: 2500 ms, idle
    /// workers only): a worker gets a HEARTBEAT when the broker has sent it nothing for this
    /// long, so that one fed requests back to back gets none (spec 7/MDP).
    pub heartbeat: Duration,
    /// Heartbeats a worker may miss before the broker drops it (guide: 3).
    pub liveness: u32,
    /// A busy worker that has been silent this long is dropped: it most likely died while
    /// holding a request (the guide's broker keeps it for ever, and `mmi.service` goes on
    /// answering 200). `None` keeps busy workers for ever. A dropped worker that replies after
    /// all is told to register again. Default: 75 s (ten times the idle expiry).
    pub busy_timeout: Option<Duration>,
    /// How long a client request may wait for a worker while its service makes no progress:
    /// the service has no worker, or none of its workers has taken a request in that time
    /// (spec 7/MDP: the broker "SHOULD expire these requests after a reasonable and
    /// configurable time if no service has been registered"). By then the client has given up
    /// on it (the guide's client tries three times for 2500 ms). A service whose workers keep
    /// taking requests keeps its backlog, bounded by `max_queued` and the byte limits: a slow
    /// service is not a dead one. Requests are looked at every `min(heartbeat,
    /// request_expiry)`, so one goes within twice this. A service left with neither workers
    /// nor requests is forgotten. Default: 10 s.
    pub request_expiry: Duration,
    /// Most services known at once that have no worker, only requests waiting for one; a
    /// request that names yet another such service is dropped. Services that workers register
    /// are not counted and never refused, so that a client naming thousands of services cannot
    /// lock real workers out. Default: 10,000.
    pub max_services: usize,
    /// Most client requests queued for one service; more are dropped (clients retry). A
    /// per-service limit, so that a flood for one service cannot starve the others.
    /// Default: 100,000.
    pub max_queued: usize,
    /// Most requests queued for a service that has no worker at all (a typo, or a peer
    /// probing names): kept small so that such requests cannot fill memory. Default: 1,000.
    pub max_queued_unserved: usize,
    /// Largest message the broker takes, in bytes. It is the socket's `ZMQ_MAXMSGSIZE`, so
    /// libzmq drops the connection of a peer that sends a larger frame before reading it into
    /// memory (the peer reconnects); a message whose frames add up to more is dropped by the
    /// broker, with a warning, and a worker that sends one is disconnected. It must leave room
    /// for the largest request and reply. Default: 16 MiB.
    pub max_msg_size: usize,
    /// Most bytes of requests held for one service, waiting for a worker; a request past it is
    /// dropped, with a warning. Each request counts its frames' bytes plus the broker's own
    /// bookkeeping for it (about 80 bytes a frame and 300 a request). Default: 32 MiB.
    pub max_service_bytes: usize,
    /// Most bytes of requests held for all services together, counted as for
    /// `max_service_bytes`. Default: 64 MiB.
    pub max_total_bytes: usize,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            heartbeat: Duration::from_millis(2500),
            liveness: 3,
            busy_timeout: Some(Duration::from_millis(10 * 2500 * 3)),
            request_expiry: Duration::from_secs(10),
            max_services: 10_000,
            max_queued: 100_000,
            max_queued_unserved: 1_000,
            max_msg_size: 16 << 20,
            max_service_bytes: 32 << 20,
            max_total_bytes: 64 << 20,
        }
    }
}

/// A client request waiting for a worker.
struct Request {
    client: Frame,
    body: Msg,
    /// What it counts against the byte limits.
    size: usize,
    /// When it came.
    since: Instant,
}

/// What a request counts against the byte limits: its bytes, and the broker's bookkeeping
/// (counting, for each request, what its client's place in the turns costs).
fn held_size(client: &Frame, body: &Msg) -> usize {
    let frames = body.len() + 1;
    size_of::<Request>()
        + frames * (size_of::<Frame>() + 2 * size_of::<usize>())
        + 2 * size_of::<Frame>()
        + size_of::<VecDeque<Request>>()
        + client.len()
        + body.content_size()
}

struct Worker {
    /// The service it registered for.
    service: Key,
    /// While it holds a request: the address of that request's client, the only one it may
    /// answer.
    holds: Option<Frame>,
}

/// How many emptied per-client queues a service keeps for reuse.
const SPARE_QUEUES: usize = 8;

struct Service {
    /// Client requests not yet given to a worker, by client, each client's oldest first.
    pending: HashMap<Key, VecDeque<Request>, FastHash>,
    /// The clients in `pending`, each once, in turn: the next request to go is the oldest of
    /// the front one's, which then goes to the back (round robin between clients, so that one
    /// with many requests in flight cannot starve the others).
    turns: VecDeque<Key>,
    /// Emptied queues kept for the next client (a few), so that a client's request in the
    /// steady state allocates nothing.
    spare: Vec<VecDeque<Request>>,
    /// Requests in `pending`.
    queued: usize,
    /// No request in `pending` came before this: when its requests may start to expire.
    oldest: Instant,
    /// Its idle workers, least recently used first.
    waiting: TicketQueue<Key, ()>,
    /// Workers registered for this service, busy or idle.
    workers: usize,
    /// What `pending` counts against the byte limits.
    bytes: usize,
    /// The last time one of its requests went to a worker (or it was created).
    progress: Instant,
}

impl Service {
    fn new(now: Instant) -> Service {
        Service {
            pending: HashMap::default(),
            turns: VecDeque::new(),
            spare: Vec::new(),
            queued: 0,
            oldest: now,
            waiting: TicketQueue::default(),
            workers: 0,
            bytes: 0,
            progress: now,
        }
    }

    /// Queues a request behind its client's earlier ones; a client with none waiting takes
    /// its turn at the back.
    fn push(&mut self, request: Request) {
        if self.queued == 0 {
            self.oldest = request.since;
        }
        self.queued += 1;
        self.bytes += request.size;
        match self.pending.get_mut(request.client.as_bytes()) {
            Some(queue) => queue.push_back(request),
            None => {
                let client = Key::from(&request.client);
                self.turns.push_back(client.clone());
                let mut queue = self.spare.pop().unwrap_or_default();
                queue.push_back(request);
                self.pending.insert(client, queue);
            }
        }
    }

    /// Takes the oldest request of the client whose turn it is.
    fn pop(&mut self) -> Option<Request> {
        let client = self.turns.pop_front()?;
        let queue = self.pending.get_mut(&client)?;
        let request = queue.pop_front()?;
        if queue.is_empty() {
            if let Some(queue) = self.pending.remove(&client) {
                if self.spare.len() < SPARE_QUEUES {
                    self.spare.push(queue);
                }
            }
        } else {
            self.turns.push_back(client);
        }
        self.queued -= 1;
        self.bytes -= request.size;
        Some(request)
    }

    /// Drops the requests that came at or before `cutoff`, calling `dropped` for each; visits
    /// the clients only when one may be that old.
    fn expire(&mut self, cutoff: Instant, mut dropped: impl FnMut(&Request)) {
        if self.queued == 0 || self.oldest > cutoff {
            return;
        }
        let mut oldest = None::<Instant>;
        self.pending.retain(|_, queue| {
            while let Some(r) = queue.front().filter(|r| r.since <= cutoff) {
                dropped(r);
                self.queued -= 1;
                self.bytes -= r.size;
                queue.pop_front();
            }
            if let Some(r) = queue.front() {
                oldest = Some(oldest.map_or(r.since, |o| o.min(r.since)));
            }
            !queue.is_empty()
        });
        let pending = &self.pending;
        self.turns.retain(|client| pending.contains_key(client));
        self.oldest = oldest.unwrap_or(cutoff);
    }
}

/// A Majordomo broker: one ROUTER socket for clients and workers (spec 7/MDP), services by name,
/// workers heartbeated and expired, and the `mmi.service` lookup of spec 8/MMI (`200` if the
/// service has workers, `404` if not, `501` for other `mmi.` names).
///
/// Cost per message: O(1) amortised. Services and workers live in hash maps keyed by name and
/// identity bytes; idle and busy workers sit in queues with lazy deletion and compaction, so
/// taking a worker off, purging expired ones and dispatching never scan a list (the guide's C
/// broker removes from linked lists, O(workers)), and each queue holds at most about twice its
/// live workers however many heartbeats they send. Each worker, idle or busy, gets a
/// HEARTBEAT one heartbeat interval after the last command the broker sent it (a REQUEST
/// counts), so a worker fed requests back to back gets none (spec 7/MDP); finding the workers
/// due visits only those. Requests waiting for a service go to its workers with the clients
/// in turn (round robin, spec 7/MDP: "serve clients on a fair basis"), so that a client with
/// many requests in flight cannot starve one with a single request; each client's own go
/// oldest first. Expiring requests visits the services once per `min(heartbeat,
/// request_expiry)`, and the clients waiting for a service only when one of its requests may
/// have expired.
///
/// What a peer can make it hold is bounded (see [`BrokerConfig`]): the size of a message, the
/// services that only clients name, the requests and their bytes per service and in all, and
/// how long a request waits for a service that makes no progress.
///
/// It holds workers to the protocol: a worker's second READY, a HEARTBEAT or REPLY from a peer
/// that is not a registered worker, a REPLY from a worker that holds no request or that names
/// another client than the one whose request it holds, and any malformed message from a
/// registered worker get a DISCONNECT, and the broker sends that worker nothing more. A reply
/// goes only from the worker that holds the request to that request's client. Malformed input
/// from anyone else is logged and dropped; the broker outlives any bad peer.
///
/// ```no_run
/// # fn main() -> zmq_patterns::Result<()> {
/// let ctx = zmq::Context::new();
/// let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default())?;
/// broker.bind("tcp://*:5555")?;
/// broker.run()?; // until Ctrl-C (with interrupt handling installed)
/// # Ok(()) }
/// ```
///
/// To embed it in a loop of your own, poll [`Broker::socket`] and pass what it receives to
/// [`Broker::handle`], and call [`Broker::tick`] when [`Broker::next_tick`] is due (at least
/// every heartbeat interval; heartbeats are only as regular as the ticks).
///
/// Logging (`log`): worker registered, expired, dropped or disconnected (and why), request
/// queued, expired or dropped (and why) at `debug`; every message received and sent at
/// `trace`; input it drops at `warn`.
pub struct Broker {
    socket: zmq::Socket,
    state: State,
    /// Set up by the first [`Broker::stop_handle`].
    stop: Option<(StopSignal, StopHandle)>,
}

struct State {
    config: BrokerConfig,
    services: HashMap<Key, Service, FastHash>,
    workers: HashMap<Key, Worker, FastHash>,
    /// Idle workers in order of their last sign of life, with when each expires.
    idle: TicketQueue<Key, Instant>,
    /// Busy workers in order of their last sign of life, with when that was.
    busy: TicketQueue<Key, Instant>,
    /// All workers in order of the last command the broker sent them, with when that was:
    /// a worker is due a heartbeat one interval after it.
    sent: TicketQueue<Key, Instant>,
    /// Services with at least one worker (the others have only requests).
    served: usize,
    /// Requests waiting for a worker, and their bytes.
    queued: usize,
    bytes: usize,
    /// When to look for expired requests next.
    sweep_at: Instant,
    /// No idle worker expires and no busy one times out before this (a lower bound, lowered by
    /// every push, made exact by each purge), so that a purge with nothing due costs one
    /// comparison instead of two queue look-ups.
    purge_due: Instant,
    /// No worker is due a heartbeat before this (a lower bound in the same way).
    heartbeat_due: Instant,
}

/// `now + d`, or a time far away if that does not fit.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(1 << 32)))
        .unwrap_or(now)
}

impl Broker {
    /// A broker with its own ROUTER socket (linger 0, `ZMQ_MAXMSGSIZE` from the config), not
    /// yet bound.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// assert_eq!(broker.worker_count(), 0);
    /// assert_eq!(broker.socket().get_maxmsgsize().unwrap(), 16 << 20);
    /// ```
    pub fn new(ctx: &zmq::Context, mut config: BrokerConfig) -> Result<Broker> {
        config.heartbeat = config.heartbeat.max(Duration::from_millis(1));
        config.liveness = config.liveness.max(1);
        let socket = ctx.socket(zmq::ROUTER)?;
        socket.set_linger(0)?;
        socket.set_maxmsgsize(i64::try_from(config.max_msg_size).unwrap_or(i64::MAX))?;
        let now = Instant::now();
        Ok(Broker {
            socket,
            stop: None,
            state: State {
                sweep_at: later(now, config.heartbeat.min(config.request_expiry)),
                config,
                services: HashMap::default(),
                workers: HashMap::default(),
                idle: TicketQueue::default(),
                busy: TicketQueue::default(),
                sent: TicketQueue::default(),
                served: 0,
                queued: 0,
                bytes: 0,
                purge_due: later(now, Duration::MAX),
                heartbeat_due: later(now, Duration::MAX),
            },
        })
    }

    /// Binds the broker's socket; may be called for several endpoints. An error names the
    /// endpoint ([`Error::Endpoint`](crate::Error::Endpoint), as
    /// [`SocketExt::bind_to`]).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// broker.bind("inproc://mdp-doc").unwrap();
    /// ```
    pub fn bind(&mut self, endpoint: &str) -> Result<()> {
        self.socket.bind_to(endpoint)?;
        log::debug!("mdp broker: bound to {endpoint}");
        Ok(())
    }

    /// The broker's ROUTER socket, to poll in a loop of your own.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// assert_eq!(broker.socket().get_socket_type().unwrap(), zmq::ROUTER);
    /// ```
    pub fn socket(&self) -> &zmq::Socket {
        &self.socket
    }

    /// Processes one message received on [`Broker::socket`]. A malformed message is logged and
    /// dropped (and a registered worker that sent it disconnected); errors are only those of
    /// sending (a terminated context, an interrupt).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// broker.handle(zmq_patterns::Msg::from_iter(["junk"])).unwrap(); // logged, dropped
    /// ```
    pub fn handle(&mut self, msg: Msg) -> Result<()> {
        self.state.handle(&self.socket, msg)
    }

    /// Purges expired workers and sends heartbeats when they are due, and drops requests that
    /// waited too long (see [`BrokerConfig::request_expiry`]).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// broker.tick().unwrap();
    /// ```
    pub fn tick(&mut self) -> Result<()> {
        self.state.tick(&self.socket)
    }

    /// When [`Broker::tick`] has work next: a heartbeat due, or requests to look at for
    /// expiry. An embedding loop polls until then.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// let wait = broker.next_tick().saturating_duration_since(std::time::Instant::now());
    /// assert!(wait <= std::time::Duration::from_millis(2500));
    /// ```
    pub fn next_tick(&mut self) -> Instant {
        self.state.next_timer()
    }

    /// Runs the broker until Ctrl-C ([`Error::Interrupted`](crate::Error::Interrupted), once
    /// [`interrupt`](crate::interrupt) handling is installed) or a fatal socket error.
    ///
    /// ```no_run
    /// # let ctx = zmq::Context::new();
    /// # let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// # broker.bind("tcp://*:5555").unwrap();
    /// broker.run().unwrap();
    /// ```
    pub fn run(&mut self) -> Result<()> {
        let Broker {
            socket,
            state,
            stop,
        } = self;
        let mut poller = Poller::new();
        poller.add(socket);
        let signal = stop.as_ref().map(|(signal, _)| signal);
        if let Some(signal) = signal {
            poller.add_fd(signal.fd());
        }
        loop {
            if let Some(signal) = signal.filter(|s| s.is_stopped()) {
                log::debug!("mdp broker: stopped by its handle");
                signal.rearm();
                return Ok(());
            }
            let wait = state.next_timer().saturating_duration_since(Instant::now());
            if poller.poll(Some(wait))? > 0 {
                // Drain what is waiting before the next poll.
                for _ in 0..1000 {
                    match Msg::try_recv(socket)? {
                        Some(msg) => state.handle(socket, msg)?,
                        None => break,
                    }
                }
            }
            state.tick(socket)?;
        }
    }

    /// A handle that makes [`Broker::run`] return `Ok(())` from another thread, for a broker
    /// embedded in a program that stops it without a signal (see [`StopHandle`]).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// let stop = broker.stop_handle().unwrap();
    /// let thread = std::thread::spawn(move || broker.run());
    /// stop.stop();
    /// thread.join().unwrap().unwrap();
    /// ```
    pub fn stop_handle(&mut self) -> Result<StopHandle> {
        let (_, handle) = match &mut self.stop {
            Some(stop) => stop,
            None => self.stop.insert(StopSignal::new()?),
        };
        Ok(handle.clone())
    }

    /// Number of workers known (idle or busy).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// assert_eq!(broker.worker_count(), 0);
    /// ```
    pub fn worker_count(&self) -> usize {
        self.state.workers.len()
    }

    /// Number of services known (those with workers or queued requests).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// assert_eq!(broker.service_count(), 0);
    /// ```
    pub fn service_count(&self) -> usize {
        self.state.services.len()
    }

    /// Number of client requests waiting for a worker.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// assert_eq!(broker.queued(), 0);
    /// ```
    pub fn queued(&self) -> usize {
        self.state.queued
    }

    /// What the requests waiting for a worker count against
    /// [`BrokerConfig::max_total_bytes`]: their bytes and the broker's bookkeeping.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// assert_eq!(broker.queued_bytes(), 0);
    /// ```
    pub fn queued_bytes(&self) -> usize {
        self.state.bytes
    }
}

impl State {
    fn expiry(&self) -> Duration {
        self.config.heartbeat.saturating_mul(self.config.liveness)
    }

    fn next_timer(&mut self) -> Instant {
        self.heartbeat_due.min(self.sweep_at)
    }

    /// Puts an idle worker at the back of the idle queue, expiring at `expiry`.
    fn push_idle(&mut self, id: Key, expiry: Instant) {
        self.idle.push_back(id, expiry);
        self.purge_due = self.purge_due.min(expiry);
    }

    /// Puts a busy worker at the back of the busy queue, its last sign of life `now`.
    fn push_busy(&mut self, id: Key, now: Instant) {
        self.busy.push_back(id, now);
        if let Some(timeout) = self.config.busy_timeout {
            self.purge_due = self.purge_due.min(later(now, timeout));
        }
    }

    /// Notes that the broker sent a worker a command `now`.
    fn push_sent(&mut self, id: Key, now: Instant) {
        self.sent.push_back(id, now);
        self.heartbeat_due = self.heartbeat_due.min(later(now, self.config.heartbeat));
    }

    fn send(&self, socket: &zmq::Socket, msg: Msg, what: &str) -> Result<()> {
        log::trace!("mdp broker: sending {what}:\n{msg}");
        msg.send(socket)?;
        Ok(())
    }

    /// Sends a command to a worker; for a registered one, its next heartbeat is due one
    /// interval from now (spec 7/MDP: no HEARTBEAT while sending other commands).
    fn send_worker(&mut self, socket: &zmq::Socket, worker: &Key, command: ToWorker) -> Result<()> {
        let what = match &command {
            ToWorker::Request { .. } => "REQUEST to worker",
            ToWorker::Heartbeat => "HEARTBEAT to worker",
            ToWorker::Disconnect => "DISCONNECT to worker",
        };
        self.send(socket, command.into_msg(worker.to_frame()), what)?;
        if self.workers.contains_key(worker) {
            self.push_sent(worker.clone(), Instant::now());
        }
        Ok(())
    }

    fn handle(&mut self, socket: &zmq::Socket, mut msg: Msg) -> Result<()> {
        log::trace!("mdp broker: received message:\n{msg}");
        let Some(sender) = msg.pop_front() else {
            log::warn!("mdp broker: invalid message: no frames");
            return Ok(());
        };
        let size = msg.content_size();
        if size > self.config.max_msg_size {
            log::warn!(
                "mdp broker: dropping a message of {size} bytes from {}: more than {} (max_msg_size)",
                sender.strhex(),
                self.config.max_msg_size
            );
            return self.drop_invalid_worker(socket, &sender, "sent a message too large");
        }
        match BrokerInput::parse_from(sender, msg) {
            Ok(BrokerInput::Client {
                sender,
                service,
                body,
            }) => self.client_msg(socket, sender, service, body),
            Ok(BrokerInput::Worker { sender, command }) => self.worker_msg(socket, sender, command),
            Err((sender, e)) => {
                log::warn!("mdp broker: invalid message from {}: {e}", sender.strhex());
                self.drop_invalid_worker(socket, &sender, "sent an invalid message")
            }
        }
    }

    /// Spec 7/MDP: an invalid message is dropped and its peer "treated as invalid": if it is a
    /// registered worker, it gets DISCONNECT and nothing more.
    fn drop_invalid_worker(
        &mut self,
        socket: &zmq::Socket,
        sender: &Frame,
        why: &str,
    ) -> Result<()> {
        if self.workers.contains_key(sender.as_bytes()) {
            self.delete_worker(socket, &Key::from(sender), true, why)?;
        }
        Ok(())
    }

    fn client_msg(
        &mut self,
        socket: &zmq::Socket,
        sender: Frame,
        service: Frame,
        mut body: Msg,
    ) -> Result<()> {
        if service.starts_with(MMI_PREFIX.as_bytes()) {
            let code = if service == "mmi.service" {
                let known = body
                    .back()
                    .and_then(|name| self.services.get(name.as_bytes()))
                    .is_some_and(|s| s.workers > 0);
                if known { "200" } else { "404" }
            } else {
                "501"
            };
            body.pop_back();
            body.push_back(code);
            body.push_front(service);
            body.push_front(CLIENT);
            body.push_envelope(sender);
            return self.send(socket, body, "MMI reply to client");
        }
        let size = held_size(&sender, &body);
        let now = Instant::now();
        let refused = match self.services.get(service.as_bytes()) {
            Some(s) => {
                let limit = if s.workers == 0 {
                    self.config.max_queued.min(self.config.max_queued_unserved)
                } else {
                    self.config.max_queued
                };
                if s.queued >= limit {
                    Some(format!("{} requests wait for it already", s.queued))
                } else if s.bytes.saturating_add(size) > self.config.max_service_bytes {
                    Some(format!(
                        "its requests would hold {} bytes, more than {} (max_service_bytes)",
                        s.bytes.saturating_add(size),
                        self.config.max_service_bytes
                    ))
                } else {
                    None
                }
            }
            None => {
                let unserved = self.services.len() - self.served;
                if self.config.max_queued.min(self.config.max_queued_unserved) == 0 {
                    Some("no request may wait for a service without workers".to_string())
                } else if unserved >= self.config.max_services {
                    Some(format!(
                        "it is unknown, and {unserved} services without workers are known \
                         already (max_services)"
                    ))
                } else if size > self.config.max_service_bytes {
                    Some(format!(
                        "it would hold {size} bytes, more than {} (max_service_bytes)",
                        self.config.max_service_bytes
                    ))
                } else {
                    None
                }
            }
        };
        let refused = refused.or_else(|| {
            (self.bytes.saturating_add(size) > self.config.max_total_bytes).then(|| {
                format!(
                    "requests would hold {} bytes, more than {} (max_total_bytes)",
                    self.bytes.saturating_add(size),
                    self.config.max_total_bytes
                )
            })
        });
        if let Some(why) = refused {
            log::warn!(
                "mdp broker: dropping a request for {service:.64} from {}: {why}",
                sender.strhex()
            );
            return Ok(());
        }
        let service = Key::from(&service);
        if !self.services.contains_key(&service) {
            log::debug!("mdp broker: added service {service:.64} (no worker yet)");
            self.services.insert(service.clone(), Service::new(now));
        }
        let Some(s) = self.services.get_mut(&service) else {
            return Ok(());
        };
        if s.waiting.is_empty() && s.queued == 0 {
            log::debug!(
                "mdp broker: request for {service:.64} from {} waits for a worker ({} queued)",
                sender.strhex(),
                s.queued + 1
            );
        } else if s.waiting.is_empty() {
            // Not once per request at debug: a busy service queues every request.
            log::trace!(
                "mdp broker: request for {service:.64} from {} waits for a worker ({} queued)",
                sender.strhex(),
                s.queued + 1
            );
        }
        s.push(Request {
            client: sender,
            body,
            size,
            since: now,
        });
        self.bytes += size;
        self.queued += 1;
        self.dispatch(socket, &service)
    }

    /// Forgets a service that has neither workers nor requests.
    fn release_service(&mut self, name: &Key) {
        if self
            .services
            .get(name)
            .is_some_and(|s| s.workers == 0 && s.queued == 0)
        {
            log::debug!("mdp broker: forgot service {name:.64}");
            self.services.remove(name);
        }
    }

    fn worker_msg(
        &mut self,
        socket: &zmq::Socket,
        sender: Frame,
        command: FromWorker,
    ) -> Result<()> {
        let sender = Key::from(&sender);
        match command {
            FromWorker::Ready { service } => {
                if self.workers.contains_key(&sender) {
                    log::warn!("mdp broker: worker {} said READY twice", sender.strhex());
                    self.delete_worker(socket, &sender, true, "said READY twice")
                } else if service.starts_with(MMI_PREFIX.as_bytes()) {
                    log::warn!(
                        "mdp broker: worker {} tried to register reserved service {service:.64}",
                        sender.strhex()
                    );
                    self.send_worker(socket, &sender, ToWorker::Disconnect)
                } else {
                    log::debug!(
                        "mdp broker: registering new worker {} for {service:.64}",
                        sender.strhex()
                    );
                    let now = Instant::now();
                    let service = Key::from(&service);
                    let s = self
                        .services
                        .entry(service.clone())
                        .or_insert_with(|| Service::new(now));
                    s.workers += 1;
                    if s.workers == 1 {
                        self.served += 1;
                    }
                    self.workers.insert(
                        sender.clone(),
                        Worker {
                            service,
                            holds: None,
                        },
                    );
                    // Its first heartbeat is due one interval from now.
                    self.push_sent(sender.clone(), now);
                    self.worker_waiting(socket, &sender)
                }
            }
            FromWorker::Reply { client, mut body } => {
                let Some(worker) = self.workers.get(&sender) else {
                    // Unknown, or dropped as dead while it was only slow: it registers again.
                    log::warn!("mdp broker: REPLY from unknown worker {}", sender.strhex());
                    return self.send_worker(socket, &sender, ToWorker::Disconnect);
                };
                if worker.holds.as_ref() != Some(&client) {
                    let why = match &worker.holds {
                        None => "sent a REPLY holding no request".to_string(),
                        Some(held) => format!(
                            "sent a REPLY for client {} holding a request from {}",
                            client.strhex(),
                            held.strhex()
                        ),
                    };
                    log::warn!("mdp broker: worker {} {why}", sender.strhex());
                    return self.delete_worker(socket, &sender, true, &why);
                }
                body.push_front(worker.service.to_frame());
                body.push_front(CLIENT);
                body.push_envelope(client);
                self.send(socket, body, "reply to client")?;
                self.worker_waiting(socket, &sender)
            }
            FromWorker::Heartbeat => {
                let Some(worker) = self.workers.get(&sender) else {
                    log::debug!(
                        "mdp broker: HEARTBEAT from unknown worker {}",
                        sender.strhex()
                    );
                    return self.send_worker(socket, &sender, ToWorker::Disconnect);
                };
                let now = Instant::now();
                if worker.holds.is_some() {
                    // A busy worker that heartbeats is alive: push its deadline back.
                    self.push_busy(sender, now);
                } else {
                    let expiry = later(now, self.expiry());
                    self.push_idle(sender, expiry);
                }
                Ok(())
            }
            FromWorker::Disconnect => {
                if self.workers.contains_key(&sender) {
                    self.delete_worker(socket, &sender, false, "said DISCONNECT")?;
                }
                Ok(())
            }
        }
    }

    /// Makes a worker idle: at the back of its service's queue of idle workers, expiring one
    /// expiry period from now; then dispatches.
    fn worker_waiting(&mut self, socket: &zmq::Socket, id: &Key) -> Result<()> {
        let Some(w) = self.workers.get_mut(id) else {
            return Ok(());
        };
        w.holds = None;
        let service = w.service.clone();
        self.busy.remove(id);
        let expiry = later(Instant::now(), self.expiry());
        self.push_idle(id.clone(), expiry);
        if let Some(s) = self.services.get_mut(&service) {
            s.waiting.push_back(id.clone(), ());
        }
        self.dispatch(socket, &service)
    }

    /// Gives queued requests of `service` to its idle workers, the clients in turn, each
    /// client's oldest first.
    fn dispatch(&mut self, socket: &zmq::Socket, service: &Key) -> Result<()> {
        self.purge(socket)?;
        loop {
            let Some(s) = self.services.get_mut(service) else {
                return Ok(());
            };
            if s.queued == 0 {
                return Ok(());
            }
            // The least recently used idle worker.
            let Some((worker, ())) = s.waiting.pop_front() else {
                return Ok(());
            };
            let Some(request) = s.pop() else {
                return Ok(());
            };
            let now = Instant::now();
            s.progress = now;
            self.bytes -= request.size;
            self.queued -= 1;
            self.idle.remove(&worker);
            self.push_busy(worker.clone(), now);
            if let Some(w) = self.workers.get_mut(&worker) {
                w.holds = Some(request.client.clone());
            }
            log::trace!(
                "mdp broker: request for {service:.64} from {} to worker {}",
                request.client.strhex(),
                worker.strhex()
            );
            let command = ToWorker::Request {
                client: request.client,
                body: request.body,
            };
            self.send_worker(socket, &worker, command)?;
        }
    }

    /// Forgets a worker, with a DISCONNECT first if `disconnect`; it gets nothing more. A
    /// request it held is lost (its client retries).
    fn delete_worker(
        &mut self,
        socket: &zmq::Socket,
        id: &Key,
        disconnect: bool,
        why: &str,
    ) -> Result<()> {
        if let Some(w) = self.workers.remove(id) {
            log::debug!(
                "mdp broker: worker {} of {:.64} {why}: {}",
                id.strhex(),
                w.service,
                if disconnect {
                    "disconnecting it"
                } else {
                    "forgetting it"
                }
            );
            self.idle.remove(id);
            self.busy.remove(id);
            self.sent.remove(id);
            if let Some(s) = self.services.get_mut(&w.service) {
                s.waiting.remove(id);
                s.workers -= 1;
                if s.workers == 0 {
                    self.served -= 1;
                }
            }
            self.release_service(&w.service);
        }
        if disconnect {
            self.send_worker(socket, id, ToWorker::Disconnect)?;
        }
        Ok(())
    }

    /// Deletes idle workers whose heartbeats stopped, and busy ones silent for longer than the
    /// busy timeout. Both queues are in order of the last sign of life, so this stops at the
    /// first live worker.
    fn purge(&mut self, socket: &zmq::Socket) -> Result<()> {
        let now = Instant::now();
        if now < self.purge_due {
            return Ok(());
        }
        while let Some((id, &expiry)) = self.idle.front() {
            if expiry > now {
                break;
            }
            let id = id.clone();
            let why = format!("expired: silent for {:?}", self.expiry());
            self.delete_worker(socket, &id, false, &why)?;
        }
        if let Some(timeout) = self.config.busy_timeout {
            while let Some((id, &since)) = self.busy.front() {
                if now.saturating_duration_since(since) < timeout {
                    break;
                }
                let id = id.clone();
                log::warn!(
                    "mdp broker: worker {} silent for {timeout:?} with a request; dropping it",
                    id.strhex()
                );
                let why = format!("dropped: silent for {timeout:?} while holding a request");
                self.delete_worker(socket, &id, false, &why)?;
            }
        }
        let mut due = later(now, Duration::MAX);
        if let Some((_, &expiry)) = self.idle.front() {
            due = due.min(expiry);
        }
        if let Some(timeout) = self.config.busy_timeout {
            if let Some((_, &since)) = self.busy.front() {
                due = due.min(later(since, timeout));
            }
        }
        self.purge_due = due;
        Ok(())
    }

    /// Drops the requests that waited `request_expiry` for a service that made no progress
    /// in that time, and forgets services left with neither workers nor requests.
    fn expire_requests(&mut self, now: Instant) {
        let expiry = self.config.request_expiry;
        let (mut dropped, mut freed) = (0, 0);
        self.services.retain(|name, s| {
            if s.workers > 0 && now.saturating_duration_since(s.progress) < expiry {
                return true;
            }
            let Some(cutoff) = now.checked_sub(expiry) else {
                return true;
            };
            s.expire(cutoff, |r| {
                log::debug!(
                    "mdp broker: request for {name:.64} from {} expired after {:?} \
                     with no worker to take it",
                    r.client.strhex(),
                    now.saturating_duration_since(r.since)
                );
                freed += r.size;
                dropped += 1;
            });
            let keep = s.workers > 0 || s.queued > 0;
            if !keep {
                log::debug!("mdp broker: forgot service {name:.64}");
            }
            keep
        });
        self.queued -= dropped;
        self.bytes -= freed;
    }

    fn tick(&mut self, socket: &zmq::Socket) -> Result<()> {
        let now = Instant::now();
        if now >= self.sweep_at {
            self.expire_requests(now);
            let every = self
                .config
                .heartbeat
                .min(self.config.request_expiry)
                .max(Duration::from_millis(1));
            self.sweep_at = later(now, every);
        }
        self.purge(socket)?;
        // Workers, idle or busy, the broker has sent nothing for an interval; sending one a
        // HEARTBEAT puts it at the back.
        let now = Instant::now();
        if now < self.heartbeat_due {
            return Ok(());
        }
        while let Some((id, &at)) = self.sent.front() {
            if now.saturating_duration_since(at) < self.config.heartbeat {
                break;
            }
            let id = id.clone();
            self.send_worker(socket, &id, ToWorker::Heartbeat)?;
        }
        self.heartbeat_due = match self.sent.front() {
            Some((_, &at)) => later(at, self.config.heartbeat),
            None => later(now, Duration::MAX),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;
    use crate::mdp::protocol::{client_request, parse_client_reply};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A broker driven by hand (handle/tick) with real client and worker sockets.
    struct Rig {
        ctx: zmq::Context,
        broker: Broker,
        ep: String,
    }

    impl Rig {
        fn new(config: BrokerConfig) -> Rig {
            static N: AtomicU32 = AtomicU32::new(0);
            let ctx = zmq::Context::new();
            let broker = Broker::new(&ctx, config).unwrap();
            let ep = format!("inproc://mdp-broker-{}", N.fetch_add(1, Ordering::SeqCst));
            broker.socket.bind(&ep).unwrap();
            Rig { ctx, broker, ep }
        }
        fn peer(&self, id: &str) -> zmq::Socket {
            self.peer_bytes(id.as_bytes())
        }
        fn peer_bytes(&self, id: &[u8]) -> zmq::Socket {
            let s = self.ctx.socket(zmq::DEALER).unwrap();
            s.set_identity(id).unwrap();
            s.set_rcvtimeo(2000).unwrap();
            s.set_linger(0).unwrap();
            s.connect(&self.ep).unwrap();
            s
        }
        /// Lets the broker handle everything that is waiting.
        fn pump(&mut self) {
            while let Ok(Some(m)) = Msg::try_recv(&self.broker.socket) {
                self.broker.handle(m).unwrap();
            }
        }
        fn send(&mut self, from: &zmq::Socket, msg: Msg) {
            msg.send(from).unwrap();
            let m = Msg::recv(&self.broker.socket).unwrap();
            self.broker.handle(m).unwrap();
        }
        fn worker(&mut self, id: &str, service: &str) -> zmq::Socket {
            self.worker_bytes(id.as_bytes(), service)
        }
        fn worker_bytes(&mut self, id: &[u8], service: &str) -> zmq::Socket {
            let w = self.peer_bytes(id);
            self.send(
                &w,
                FromWorker::Ready {
                    service: service.into(),
                }
                .into_msg(),
            );
            w
        }
        fn request(&mut self, client: &zmq::Socket, service: &str, body: &str) {
            let mut m = client_request(service, Msg::from_iter([body]));
            m.push_front(Frame::empty());
            self.send(client, m);
        }
    }

    fn recv_to_worker(w: &zmq::Socket) -> ToWorker {
        ToWorker::parse(Msg::recv(w).unwrap()).unwrap()
    }

    /// Pumps and ticks the broker for `ms` milliseconds.
    fn tick_past(rig: &mut Rig, ms: i64) {
        let start = clock::mono_ms();
        while clock::mono_ms() - start < ms {
            std::thread::sleep(std::time::Duration::from_millis(2));
            rig.pump();
            rig.broker.tick().unwrap();
        }
    }

    fn nothing_waiting(s: &zmq::Socket) -> bool {
        std::thread::sleep(std::time::Duration::from_millis(20));
        Msg::try_recv(s).unwrap().is_none()
    }

    /// The next command to a worker that is not a HEARTBEAT (the broker heartbeats busy
    /// workers too).
    fn recv_command(w: &zmq::Socket) -> ToWorker {
        loop {
            match recv_to_worker(w) {
                ToWorker::Heartbeat => continue,
                other => return other,
            }
        }
    }

    /// True if nothing but HEARTBEATs waits for a worker (which are taken off).
    fn only_heartbeats_waiting(w: &zmq::Socket) -> bool {
        std::thread::sleep(std::time::Duration::from_millis(20));
        while let Some(m) = Msg::try_recv(w).unwrap() {
            if ToWorker::parse(m).unwrap() != ToWorker::Heartbeat {
                return false;
            }
        }
        true
    }

    /// Spec 7/MDP: the broker MUST heartbeat at regular intervals: a worker busy with a request
    /// gets HEARTBEATs too (the guide's broker heartbeated idle workers only), never more than
    /// one an interval.
    #[test]
    fn busy_workers_get_heartbeats_too() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(20),
            busy_timeout: None,
            ..Default::default()
        });
        let w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        rig.request(&c, "echo", "long job");
        assert!(matches!(recv_to_worker(&w), ToWorker::Request { .. }));
        let start = std::time::Instant::now();
        tick_past(&mut rig, 200);
        let elapsed = start.elapsed();
        let mut heartbeats = 0;
        while let Some(m) = Msg::try_recv(&w).unwrap() {
            assert_eq!(ToWorker::parse(m).unwrap(), ToWorker::Heartbeat);
            heartbeats += 1;
        }
        let most = elapsed.as_millis() / 20;
        assert!(
            (3..=most).contains(&heartbeats),
            "{heartbeats} heartbeats in {elapsed:?}"
        );
    }

    /// Spec 7/MDP: peers SHOULD NOT send HEARTBEAT while also sending other commands: a
    /// worker fed REQUESTs back to back, each as soon as it replies, gets no HEARTBEAT, though
    /// the stream lasts several intervals and the broker ticks between requests.
    #[test]
    fn no_heartbeats_in_a_stream_of_requests() {
        let interval = Duration::from_millis(50);
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: interval,
            ..Default::default()
        });
        let w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        for i in 0..50 {
            rig.request(&c, "echo", &format!("r{i}"));
        }
        let start = std::time::Instant::now();
        // Before the test sent what made the broker send the request the worker holds
        let mut replied = start;
        // Whether the broker's last tick came an interval after that (a stalled machine)
        let mut may_heartbeat = false;
        let mut served = 0;
        while served < 50 {
            match recv_to_worker(&w) {
                ToWorker::Heartbeat => assert!(
                    may_heartbeat,
                    "a HEARTBEAT after {served} requests, {:?}",
                    start.elapsed()
                ),
                ToWorker::Request { client, body } => {
                    assert!(body[0] == format!("r{served}").as_str(), "{body:?}");
                    std::thread::sleep(Duration::from_millis(5));
                    rig.broker.tick().unwrap();
                    may_heartbeat = replied.elapsed() >= interval;
                    replied = std::time::Instant::now();
                    rig.send(&w, FromWorker::Reply { client, body }.into_msg());
                    assert!(parse_client_reply(Msg::recv(&c).unwrap()).is_ok());
                    served += 1;
                }
                ToWorker::Disconnect => panic!("DISCONNECT after {served} requests"),
            }
        }
        assert!(start.elapsed() > 3 * interval, "{:?}", start.elapsed());
        // 50 requests sent, one worker: what the broker keeps for timing heartbeats is bounded
        let stored = rig.broker.state.sent.stored();
        assert!(stored <= 2 + 32 + 1, "sent queue: {stored}");
    }

    #[test]
    fn request_goes_to_the_worker_and_the_reply_back_to_the_client() {
        let mut rig = Rig::new(BrokerConfig::default());
        let w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        rig.request(&c, "echo", "Hello");
        let ToWorker::Request { client, body } = recv_to_worker(&w) else {
            panic!()
        };
        assert!(client == "C1" && body[0] == "Hello");
        rig.send(&w, FromWorker::Reply { client, body }.into_msg());
        let (service, body) = parse_client_reply(Msg::recv(&c).unwrap()).unwrap();
        assert!(service == "echo" && body[0] == "Hello");
    }

    #[test]
    fn requests_wait_for_a_worker_and_go_least_recently_used_first() {
        let mut rig = Rig::new(BrokerConfig::default());
        let c = rig.peer("C1");
        for i in 0..3 {
            rig.request(&c, "echo", &format!("r{i}"));
        }
        assert_eq!(rig.broker.queued(), 3);
        let w1 = rig.worker("W1", "echo");
        let w2 = rig.worker("W2", "echo");
        // W1 got r0 when it came; W2 got r1; r2 waits for whoever replies first.
        let ToWorker::Request { client, body } = recv_to_worker(&w1) else {
            panic!()
        };
        assert!(body[0] == "r0");
        let ToWorker::Request { body: b2, .. } = recv_to_worker(&w2) else {
            panic!()
        };
        assert!(b2[0] == "r1");
        assert!(
            nothing_waiting(&w1) && nothing_waiting(&w2),
            "a busy worker got a second request"
        );
        rig.send(&w1, FromWorker::Reply { client, body }.into_msg());
        let ToWorker::Request { body, .. } = recv_to_worker(&w1) else {
            panic!()
        };
        assert!(body[0] == "r2");
        assert_eq!(rig.broker.queued(), 0);
    }

    #[test]
    fn a_stop_handle_ends_run_while_it_serves_and_run_can_start_again() {
        let mut rig = Rig::new(BrokerConfig::default());
        let w = rig.worker("W1", "echo");
        let stop = rig.broker.stop_handle().unwrap();
        let mut broker = rig.broker;
        let t = std::thread::spawn(move || {
            let result = broker.run();
            (broker, result)
        });
        std::thread::sleep(std::time::Duration::from_millis(50)); // let it block in its poll
        let asked = Instant::now();
        stop.stop();
        let (mut broker, result) = t.join().unwrap();
        result.unwrap();
        assert!(
            asked.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
        assert_eq!(broker.worker_count(), 1, "its state is kept");
        // run again: it waits again until the next stop
        let again = broker.stop_handle().unwrap();
        assert!(!again.is_stopped());
        let t = std::thread::spawn(move || broker.run());
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!t.is_finished(), "a second run must wait for a new stop");
        again.stop();
        t.join().unwrap().unwrap();
        drop(w);
    }

    #[test]
    fn mmi_service_answers_200_404_and_501() {
        let mut rig = Rig::new(BrokerConfig::default());
        let _w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        for (service, body, code) in [
            ("mmi.service", "echo", "200"),
            ("mmi.service", "nothing", "404"),
            ("mmi.frobnicate", "x", "501"),
        ] {
            rig.request(&c, service, body);
            let (s, reply) = parse_client_reply(Msg::recv(&c).unwrap()).unwrap();
            assert!(s == service, "{s}");
            assert!(reply.back().unwrap() == code, "{service} {body}: {reply:?}");
        }
        // a worker may not register an mmi. service (the guide checked the wrong frame)
        let bad = rig.worker("mmi-worker", "mmi.service");
        assert_eq!(recv_to_worker(&bad), ToWorker::Disconnect);
        assert_eq!(rig.broker.worker_count(), 1);
    }

    #[test]
    fn protocol_errors_disconnect_the_worker() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(10),
            ..Default::default()
        });
        let w = rig.worker("W1", "echo");
        // READY twice
        rig.send(
            &w,
            FromWorker::Ready {
                service: "echo".into(),
            }
            .into_msg(),
        );
        assert_eq!(recv_to_worker(&w), ToWorker::Disconnect);
        assert_eq!(rig.broker.worker_count(), 0);
        assert_eq!(
            rig.broker.service_count(),
            0,
            "an empty service is forgotten"
        );
        // HEARTBEAT or REPLY from a stranger
        let s = rig.peer("stranger");
        rig.send(&s, FromWorker::Heartbeat.into_msg());
        assert_eq!(recv_to_worker(&s), ToWorker::Disconnect);
        let s2 = rig.peer("stranger2");
        rig.send(
            &s2,
            FromWorker::Reply {
                client: "C1".into(),
                body: Msg::from_iter(["x"]),
            }
            .into_msg(),
        );
        assert_eq!(recv_to_worker(&s2), ToWorker::Disconnect);
        // ... and then no further commands: no heartbeat, no request
        let c = rig.peer("C1");
        tick_past(&mut rig, 30);
        rig.request(&c, "echo", "for nobody");
        assert_eq!(rig.broker.queued(), 1);
        for peer in [&w, &s, &s2] {
            assert!(nothing_waiting(peer), "a command after DISCONNECT");
        }
        assert!(nothing_waiting(&c), "the stranger's REPLY reached a client");
    }

    /// Spec 7/MDP: a REPLY from a worker that holds no request is a valid but unexpected
    /// command: DISCONNECT, and nothing more for that worker; the reply goes nowhere. (The
    /// guide's broker forwarded it to whatever client it named and queued the worker again.)
    #[test]
    fn a_reply_from_a_worker_holding_nothing_gets_disconnect() {
        let mut rig = Rig::new(BrokerConfig::default());
        let w = rig.worker("W1", "echo");
        let victim = rig.peer("C1");
        rig.send(
            &w,
            FromWorker::Reply {
                client: "C1".into(),
                body: Msg::from_iter(["forged"]),
            }
            .into_msg(),
        );
        assert_eq!(recv_to_worker(&w), ToWorker::Disconnect);
        assert_eq!(rig.broker.worker_count(), 0);
        assert!(nothing_waiting(&victim), "a reply nobody asked for");
        // later requests are not sent to it
        let c = rig.peer("C2");
        rig.request(&c, "echo", "a");
        assert_eq!(rig.broker.queued(), 1);
        assert!(nothing_waiting(&w), "sent to a disconnected worker");
    }

    /// A busy worker may answer only the client whose request it holds; a REPLY naming any
    /// other client is dropped and the worker disconnected.
    #[test]
    fn a_reply_goes_only_to_the_client_whose_request_the_worker_holds() {
        let mut rig = Rig::new(BrokerConfig::default());
        let w = rig.worker("W1", "echo");
        let c1 = rig.peer("C1");
        let c2 = rig.peer("C2");
        rig.request(&c1, "echo", "mine");
        let ToWorker::Request { client, .. } = recv_to_worker(&w) else {
            panic!()
        };
        assert!(client == "C1");
        rig.send(
            &w,
            FromWorker::Reply {
                client: "C2".into(),
                body: Msg::from_iter(["forged"]),
            }
            .into_msg(),
        );
        assert_eq!(recv_to_worker(&w), ToWorker::Disconnect);
        assert!(nothing_waiting(&c2), "C2 got a reply it never asked for");
        assert!(nothing_waiting(&c1), "C1 got a reply from the wrong worker");
        assert_eq!(rig.broker.worker_count(), 0);
    }

    /// What a person debugging a broker needs is logged at debug, once per event rather than
    /// per message; the messages themselves at trace.
    #[test]
    fn registration_queueing_expiry_and_drops_are_logged() {
        use log::Level::{Debug, Trace, Warn};
        let cap = crate::test_log::capture();
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(20),
            liveness: 2,
            max_queued_unserved: 1,
            ..Default::default()
        });
        let hex = |id: &str| Frame::from(id).strhex();
        let c = rig.peer("C1");
        rig.request(&c, "echo", "r1");
        rig.request(&c, "echo", "r2"); // refused: one may wait for a service without workers
        let waits = format!(
            "mdp broker: request for [004] echo from {} waits",
            hex("C1")
        );
        assert!(
            cap.has(Debug, &[&waits, "(1 queued)"]),
            "{:#?}",
            cap.lines()
        );
        assert!(cap.has(
            Debug,
            &["mdp broker: added service [004] echo (no worker yet)"]
        ));
        assert!(cap.has(
            Warn,
            &[
                "mdp broker: dropping a request for [004] echo",
                "1 requests wait"
            ]
        ));
        let w = rig.worker("W1", "echo");
        let registered = format!(
            "mdp broker: registering new worker {} for [004] echo",
            hex("W1")
        );
        assert!(cap.has(Debug, &[&registered]), "{:#?}", cap.lines());
        let to_worker = format!("to worker {}", hex("W1"));
        assert!(cap.has(Trace, &["mdp broker: request for [004] echo", &to_worker]));
        assert!(!cap.has(Debug, &[&to_worker]), "a request routed at debug");
        let ToWorker::Request { client, body } = recv_to_worker(&w) else {
            panic!()
        };
        // busy: more requests queue, at trace only after the first
        rig.request(&c, "echo", "r3");
        rig.request(&c, "echo", "r4");
        assert!(cap.has(Trace, &[&waits, "(2 queued)"]));
        assert!(!cap.has(Debug, &[&waits, "(2 queued)"]));
        rig.send(&w, FromWorker::Reply { client, body }.into_msg());
        // a worker that goes silent expires
        let _idle = rig.worker("W2", "idle");
        tick_past(&mut rig, 100);
        let expired = format!(
            "mdp broker: worker {} of [004] idle expired: silent for",
            hex("W2")
        );
        assert!(
            cap.has(Debug, &[&expired, "forgetting it"]),
            "{:#?}",
            cap.lines()
        );
        assert!(cap.has(Debug, &["mdp broker: forgot service [004] idle"]));
        assert!(cap.has(Trace, &["mdp broker: sending HEARTBEAT to worker"]));
    }

    #[test]
    fn idle_workers_get_heartbeats_and_silent_ones_expire() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(20),
            liveness: 2,
            ..Default::default()
        });
        let quiet = rig.worker("quiet", "echo");
        let alive = rig.worker("alive", "echo");
        let start = clock::mono_ms();
        while clock::mono_ms() - start < 150 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            FromWorker::Heartbeat.into_msg().send(&alive).unwrap();
            rig.pump();
            rig.broker.tick().unwrap();
        }
        assert_eq!(
            rig.broker.worker_count(),
            1,
            "the silent worker was not purged"
        );
        assert_eq!(recv_to_worker(&quiet), ToWorker::Heartbeat);
        assert_eq!(recv_to_worker(&alive), ToWorker::Heartbeat);
        // the live one still gets work
        let c = rig.peer("C1");
        rig.request(&c, "echo", "x");
        let mut got_request = false;
        while let Ok(Some(m)) = Msg::try_recv(&alive) {
            got_request |= matches!(ToWorker::parse(m).unwrap(), ToWorker::Request { .. });
        }
        assert!(got_request);
    }

    #[test]
    fn limits_bound_what_peers_can_make_the_broker_hold() {
        let mut rig = Rig::new(BrokerConfig {
            max_services: 4,
            max_queued: 5,
            max_queued_unserved: 2,
            ..Default::default()
        });
        let w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        for i in 0..10 {
            rig.request(&c, &format!("svc{i}"), "x");
        }
        // four services without workers, beside the one a worker registered
        assert_eq!(rig.broker.service_count(), 5);
        assert_eq!(rig.broker.queued(), 4);
        for _ in 0..10 {
            rig.request(&c, "svc0", "x");
        }
        // svc0 has no worker: at most max_queued_unserved wait for one
        assert_eq!(rig.broker.queued(), 5);
        // a served service may queue up to max_queued, whatever the others hold
        rig.request(&c, "echo", "busy"); // W1 takes it
        for _ in 0..10 {
            rig.request(&c, "echo", "x");
        }
        assert_eq!(rig.broker.queued(), 5 + 5);
        // workers are never refused for want of room: services they register do not count
        let _w2 = rig.worker("W2", "more");
        assert_eq!(rig.broker.worker_count(), 2);
        assert_eq!(rig.broker.service_count(), 6);
        drop(w);
    }

    #[test]
    fn a_busy_worker_that_goes_silent_is_dropped() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(10),
            busy_timeout: Some(Duration::from_millis(50)),
            ..Default::default()
        });
        let w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        rig.request(&c, "echo", "held for ever");
        assert!(matches!(recv_to_worker(&w), ToWorker::Request { .. }));
        let start = clock::mono_ms();
        while rig.broker.worker_count() == 1 && clock::mono_ms() - start < 2000 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            rig.broker.tick().unwrap();
        }
        assert_eq!(
            rig.broker.worker_count(),
            0,
            "the silent busy worker is still there"
        );
        assert!(clock::mono_ms() - start >= 45);
        rig.request(&c, "mmi.service", "echo");
        let (_, reply) = parse_client_reply(Msg::recv(&c).unwrap()).unwrap();
        assert!(reply[0] == "404");
        // if it was only slow, its late reply makes the broker tell it to register again
        rig.send(
            &w,
            FromWorker::Reply {
                client: "C1".into(),
                body: Msg::from_iter(["late"]),
            }
            .into_msg(),
        );
        assert_eq!(recv_command(&w), ToWorker::Disconnect);
    }

    #[test]
    fn a_busy_worker_that_heartbeats_is_kept() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(10),
            busy_timeout: Some(Duration::from_millis(50)),
            ..Default::default()
        });
        let w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        rig.request(&c, "echo", "long job");
        assert!(matches!(recv_to_worker(&w), ToWorker::Request { .. }));
        let start = clock::mono_ms();
        while clock::mono_ms() - start < 200 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            FromWorker::Heartbeat.into_msg().send(&w).unwrap();
            rig.pump();
            rig.broker.tick().unwrap();
        }
        assert_eq!(rig.broker.worker_count(), 1);
    }

    #[test]
    fn garbage_is_dropped_and_the_broker_keeps_serving() {
        let mut rig = Rig::new(BrokerConfig::default());
        let w = rig.worker("W1", "echo");
        let junk = rig.peer("junk");
        let frames: Vec<Vec<Vec<u8>>> = vec![
            vec![],
            vec![b"".to_vec()],
            vec![b"x".to_vec()],
            vec![b"".to_vec(), b"MDPC01".to_vec()],
            vec![b"".to_vec(), b"MDPC01".to_vec(), b"echo".to_vec()],
            vec![b"".to_vec(), b"MDPW01".to_vec(), vec![0xff]],
            vec![b"".to_vec(), b"MDPW01".to_vec(), vec![3]],
            vec![b"".to_vec(), vec![0; 100_000]],
        ];
        for f in frames {
            if f.is_empty() {
                junk.send("", 0).unwrap();
            } else {
                Msg::from_iter(f).send(&junk).unwrap();
            }
        }
        rig.pump();
        let c = rig.peer("C1");
        rig.request(&c, "echo", "still here");
        let ToWorker::Request { body, .. } = recv_to_worker(&w) else {
            panic!()
        };
        assert!(body[0] == "still here");
    }

    /// A client that names thousands of services nobody serves must not use up the service
    /// table for real workers: a worker that registers afterwards is taken, `mmi.service`
    /// finds it and requests reach it.
    #[test]
    fn unknown_services_never_lock_out_a_worker() {
        let mut rig = Rig::new(BrokerConfig {
            max_services: 4,
            ..Default::default()
        });
        let c = rig.peer("C1");
        for i in 0..10 {
            rig.request(&c, &format!("unknown-{i}"), "x");
        }
        assert!(rig.broker.service_count() <= 4);
        let w = rig.worker("W1", "echo");
        rig.request(&c, "mmi.service", "echo");
        let (_, reply) = parse_client_reply(Msg::recv(&c).unwrap()).unwrap();
        assert!(reply[0] == "200", "the worker was refused: {reply:?}");
        rig.request(&c, "echo", "real");
        let ToWorker::Request { body, .. } = recv_to_worker(&w) else {
            panic!("the worker got no request")
        };
        assert!(body[0] == "real");
    }

    /// Every queue in the broker is bounded by the number of live workers: a flood of valid
    /// HEARTBEATs from one idle, then one busy, worker leaves a handful of entries.
    #[test]
    fn a_heartbeat_flood_leaves_the_queues_bounded() {
        let mut rig = Rig::new(BrokerConfig::default());
        let idle = rig.worker("idle", "echo");
        for _ in 0..20 {
            for _ in 0..1000 {
                FromWorker::Heartbeat.into_msg().send(&idle).unwrap();
            }
            rig.pump();
        }
        let bound = 2 * 2 + 32 + 1;
        let stored = rig.broker.state.idle.stored();
        assert!(stored <= bound, "idle queue: {stored}");
        let busy = rig.worker("busy", "other");
        let c = rig.peer("C1");
        rig.request(&c, "other", "hold it");
        assert!(matches!(recv_to_worker(&busy), ToWorker::Request { .. }));
        for _ in 0..20 {
            for _ in 0..1000 {
                FromWorker::Heartbeat.into_msg().send(&busy).unwrap();
            }
            rig.pump();
        }
        assert_eq!(rig.broker.worker_count(), 2);
        let st = &rig.broker.state;
        assert!(
            st.idle.stored() <= bound,
            "idle queue: {}",
            st.idle.stored()
        );
        assert!(
            st.busy.stored() <= bound,
            "busy queue: {}",
            st.busy.stored()
        );
    }

    /// Spec 7/MDP: "The broker SHOULD respond to invalid messages by dropping them and
    /// treating that peer as invalid": a registered worker that sends garbage is disconnected.
    #[test]
    fn an_invalid_message_from_a_registered_worker_disconnects_it() {
        let mut rig = Rig::new(BrokerConfig::default());
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![b"", b"MDPW01", b"\x07"],
            vec![b"", b"MDPW01", b"\x02", b"C1", b"", b"x"], // a broker command
            vec![b"", b"MDPW01", b"\x04", b"extra"],
            vec![b"junk"],
        ];
        for (i, frames) in cases.into_iter().enumerate() {
            let w = rig.worker(&format!("W{i}"), "echo");
            assert_eq!(rig.broker.worker_count(), 1);
            rig.send(&w, Msg::from_iter(frames.iter().copied()));
            assert_eq!(recv_to_worker(&w), ToWorker::Disconnect, "case {i}");
            assert_eq!(rig.broker.worker_count(), 0, "case {i}");
            let c = rig.peer(&format!("C{i}"));
            rig.request(&c, "echo", "x");
            assert_eq!(rig.broker.queued(), 1, "case {i}: queued, not sent to W{i}");
            assert!(nothing_waiting(&w), "case {i}");
            // take the request off again for the next case
            let w2 = rig.worker(&format!("V{i}"), "echo");
            assert!(matches!(recv_to_worker(&w2), ToWorker::Request { .. }));
            rig.send(&w2, FromWorker::Disconnect.into_msg());
        }
    }

    /// Spec 7/MDP: "Any received command except DISCONNECT acts as a heartbeat": a worker that
    /// never sends HEARTBEAT but keeps answering requests stays registered.
    #[test]
    fn any_command_counts_as_a_heartbeat() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(20),
            liveness: 2,
            ..Default::default()
        });
        let w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        let start = clock::mono_ms();
        let mut served = 0;
        while clock::mono_ms() - start < 150 {
            rig.request(&c, "echo", "x");
            let request = loop {
                match recv_to_worker(&w) {
                    ToWorker::Heartbeat => continue,
                    other => break other,
                }
            };
            let ToWorker::Request { client, body } = request else {
                panic!("{request:?} after {served} requests")
            };
            std::thread::sleep(std::time::Duration::from_millis(10));
            rig.broker.tick().unwrap();
            rig.send(&w, FromWorker::Reply { client, body }.into_msg());
            assert!(parse_client_reply(Msg::recv(&c).unwrap()).is_ok());
            served += 1;
            rig.broker.tick().unwrap();
        }
        assert!(served >= 5, "{served}");
        assert_eq!(rig.broker.worker_count(), 1, "expired while answering");
    }

    /// Workers are known by their identity bytes, never as text: two identities that are
    /// equal as lossy UTF-8 are two workers.
    #[test]
    fn workers_are_keyed_by_identity_bytes() {
        let mut rig = Rig::new(BrokerConfig::default());
        let a = rig.worker_bytes(b"\xff\x01", "echo");
        let b = rig.worker_bytes(b"\xfe\x01", "echo");
        assert_eq!(rig.broker.worker_count(), 2);
        let c = rig.peer("C1");
        rig.request(&c, "echo", "one");
        rig.request(&c, "echo", "two");
        let ToWorker::Request { body: ba, .. } = recv_to_worker(&a) else {
            panic!()
        };
        let ToWorker::Request { body: bb, .. } = recv_to_worker(&b) else {
            panic!()
        };
        assert!(ba[0] == "one" && bb[0] == "two");
        // one leaves; the other stays and still serves
        rig.send(&a, FromWorker::Disconnect.into_msg());
        assert_eq!(rig.broker.worker_count(), 1);
        rig.send(
            &b,
            FromWorker::Reply {
                client: "C1".into(),
                body: bb,
            }
            .into_msg(),
        );
        assert!(parse_client_reply(Msg::recv(&c).unwrap()).is_ok());
        rig.request(&c, "echo", "three");
        let ToWorker::Request { body, .. } = recv_to_worker(&b) else {
            panic!()
        };
        assert!(body[0] == "three");
        assert!(nothing_waiting(&a));
    }

    /// Spec 7/MDP: "When the broker receives DISCONNECT from a worker it MUST send no further
    /// commands to that worker."
    #[test]
    fn nothing_is_sent_after_a_worker_says_disconnect() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(10),
            ..Default::default()
        });
        let w = rig.worker("W1", "echo");
        rig.send(&w, FromWorker::Disconnect.into_msg());
        tick_past(&mut rig, 30);
        let c = rig.peer("C1");
        rig.request(&c, "echo", "x");
        assert_eq!(rig.broker.queued(), 1);
        assert!(nothing_waiting(&w));
    }

    /// Spec 7/MDP: once the broker takes a worker for disconnected it stops sending it
    /// messages of any type.
    #[test]
    fn nothing_is_sent_to_an_expired_worker() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(10),
            liveness: 2,
            ..Default::default()
        });
        let quiet = rig.worker("quiet", "echo");
        let start = clock::mono_ms();
        while rig.broker.worker_count() > 0 && clock::mono_ms() - start < 2000 {
            tick_past(&mut rig, 5);
        }
        assert_eq!(rig.broker.worker_count(), 0);
        while Msg::try_recv(&quiet).unwrap().is_some() {} // its heartbeats
        tick_past(&mut rig, 40);
        let c = rig.peer("C1");
        rig.request(&c, "echo", "x");
        assert!(nothing_waiting(&quiet), "a command to an expired worker");
    }

    /// Ticks until `done` or a deadline; returns how long it took.
    fn tick_until(rig: &mut Rig, done: impl Fn(&Broker) -> bool) -> std::time::Duration {
        let start = std::time::Instant::now();
        while !done(&rig.broker) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "not done in 5 s"
            );
            tick_past(rig, 2);
        }
        start.elapsed()
    }

    /// Spec 7/MDP: the broker "SHOULD expire these requests after a reasonable and configurable
    /// time if no service has been registered"; the service, left with nothing, is forgotten.
    #[test]
    fn requests_for_a_service_nobody_serves_expire() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(10),
            request_expiry: Duration::from_millis(50),
            ..Default::default()
        });
        let c = rig.peer("C1");
        let c2 = rig.peer("C2");
        rig.request(&c, "nobody", "x");
        rig.request(&c2, "nobody", "y");
        rig.request(&c, "nobody", "z");
        assert_eq!(rig.broker.queued(), 3);
        assert!(rig.broker.queued_bytes() > 0);
        let took = tick_until(&mut rig, |b| b.queued() == 0);
        assert!(took >= Duration::from_millis(45), "expired after {took:?}");
        assert_eq!(rig.broker.service_count(), 0, "the empty service is kept");
        assert_eq!(rig.broker.queued_bytes(), 0);
        // a worker that comes now gets nothing
        let w = rig.worker("W1", "nobody");
        assert!(nothing_waiting(&w), "an expired request was delivered");
    }

    /// A service whose workers keep taking requests keeps its backlog however long it waits;
    /// one whose only worker holds a request and takes no other lets its waiting requests
    /// expire, and stays known for its worker.
    #[test]
    fn requests_expire_only_where_the_service_makes_no_progress() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat: Duration::from_millis(10),
            request_expiry: Duration::from_millis(60),
            busy_timeout: None,
            ..Default::default()
        });
        let w = rig.worker("W1", "slow");
        let c = rig.peer("C1");
        for i in 0..5 {
            rig.request(&c, "slow", &format!("r{i}"));
        }
        // 30 ms a request: the last waits about 120 ms, twice the expiry
        for i in 0..5 {
            let ToWorker::Request { client, body } = recv_command(&w) else {
                panic!()
            };
            assert!(body[0] == format!("r{i}").as_str(), "{body:?}");
            tick_past(&mut rig, 30);
            rig.send(&w, FromWorker::Reply { client, body }.into_msg());
            assert!(parse_client_reply(Msg::recv(&c).unwrap()).is_ok());
        }
        assert_eq!(rig.broker.queued(), 0);
        // now W1 holds a request and never answers: the next one expires
        rig.request(&c, "slow", "held");
        assert!(matches!(recv_command(&w), ToWorker::Request { .. }));
        rig.request(&c, "slow", "waits");
        tick_until(&mut rig, |b| b.queued() == 0);
        assert_eq!(rig.broker.service_count(), 1);
        assert_eq!(rig.broker.worker_count(), 1);
        rig.send(
            &w,
            FromWorker::Reply {
                client: "C1".into(),
                body: Msg::from_iter(["held"]),
            }
            .into_msg(),
        );
        assert!(parse_client_reply(Msg::recv(&c).unwrap()).is_ok());
        assert!(
            only_heartbeats_waiting(&w),
            "the expired request was delivered"
        );
    }

    /// Spec 7/MDP: the broker SHOULD serve clients on a fair basis: a client with many
    /// requests in flight (a DEALER, as `AsyncClient`) waits its turn like the others, so one
    /// request from a second client goes within the next two dispatches, not after all of the
    /// first one's. Each client's requests keep their order.
    #[test]
    fn clients_take_turns_for_a_busy_service() {
        let mut rig = Rig::new(BrokerConfig::default());
        let w = rig.worker("W1", "echo");
        let a = rig.peer("A");
        let b = rig.peer("B");
        rig.request(&a, "echo", "a0"); // W1 takes it, and is busy
        for i in 1..=10 {
            rig.request(&a, "echo", &format!("a{i}"));
        }
        rig.request(&b, "echo", "b0");
        assert_eq!(rig.broker.queued(), 11);
        let mut order = Vec::new();
        let ToWorker::Request {
            mut client,
            mut body,
        } = recv_command(&w)
        else {
            panic!()
        };
        for _ in 0..11 {
            rig.send(&w, FromWorker::Reply { client, body }.into_msg());
            let ToWorker::Request { client: c, body: b } = recv_command(&w) else {
                panic!()
            };
            order.push(b[0].to_string_lossy().to_string());
            (client, body) = (c, b);
        }
        let b0 = order.iter().position(|r| r == "b0").unwrap();
        assert!(b0 < 2, "B's request went after {b0} of A's: {order:?}");
        let from_a: Vec<_> = order.iter().filter(|r| r.starts_with('a')).collect();
        let want: Vec<_> = (1..=10).map(|i| format!("a{i}")).collect();
        assert_eq!(from_a, want.iter().collect::<Vec<_>>(), "A's order");
        assert_eq!(rig.broker.queued(), 0);
        assert_eq!(rig.broker.queued_bytes(), 0);
    }

    /// What waiting requests hold is bounded in bytes, per service and in all.
    #[test]
    fn byte_limits_bound_what_requests_hold() {
        let body = vec![0x5a_u8; 4000];
        let one = held_size(&Frame::from("C1"), &Msg::from_iter([&body[..]]));
        let mut rig = Rig::new(BrokerConfig {
            max_service_bytes: 2 * one + 10,
            max_total_bytes: 5 * one + 10,
            ..Default::default()
        });
        let c = rig.peer("C1");
        let send = |rig: &mut Rig, service: &str| {
            let mut m = client_request(service, Msg::from_iter([&body[..]]));
            m.push_front(Frame::empty());
            rig.send(&c, m);
        };
        for service in ["a", "b", "c", "d"] {
            for _ in 0..4 {
                send(&mut rig, service);
            }
        }
        // two each for a and b, then one for c: five in all
        assert_eq!(rig.broker.queued(), 5);
        assert_eq!(rig.broker.queued_bytes(), 5 * one);
        assert_eq!(
            rig.broker.service_count(),
            3,
            "d holds nothing and is not kept"
        );
        // a worker for a takes its two; room comes back
        let w = rig.worker("W1", "a");
        let ToWorker::Request { client, body: b } = recv_to_worker(&w) else {
            panic!()
        };
        assert_eq!(rig.broker.queued_bytes(), 4 * one);
        rig.send(&w, FromWorker::Reply { client, body: b }.into_msg());
        assert_eq!(rig.broker.queued_bytes(), 3 * one);
        send(&mut rig, "d");
        assert_eq!(rig.broker.queued(), 4);
    }

    /// A message past `max_msg_size` is dropped; a worker that sends one is disconnected.
    /// (Over tcp libzmq drops such a frame before the broker sees it; inproc does not.)
    #[test]
    fn a_message_past_max_msg_size_is_dropped() {
        let mut rig = Rig::new(BrokerConfig {
            max_msg_size: 1000,
            ..Default::default()
        });
        assert_eq!(rig.broker.socket().get_maxmsgsize().unwrap(), 1000);
        let w = rig.worker("W1", "echo");
        let c = rig.peer("C1");
        rig.request(&c, "other", &"x".repeat(1200));
        assert_eq!(rig.broker.queued(), 0);
        assert_eq!(rig.broker.service_count(), 1);
        rig.request(&c, "echo", "small");
        let ToWorker::Request { client, .. } = recv_to_worker(&w) else {
            panic!()
        };
        let big = "y".repeat(1200);
        rig.send(
            &w,
            FromWorker::Reply {
                client,
                body: Msg::from_iter([big.as_str()]),
            }
            .into_msg(),
        );
        assert_eq!(recv_to_worker(&w), ToWorker::Disconnect);
        assert_eq!(rig.broker.worker_count(), 0);
        assert!(nothing_waiting(&c));
    }
}
