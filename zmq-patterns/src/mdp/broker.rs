//! [`Broker`]: a Majordomo broker (the guide's `mdbroker`) that an application can run or embed.

use std::collections::{HashMap, VecDeque};

use crate::clock;
use crate::error::Result;
use crate::frame::Frame;
use crate::mdp::protocol::{BrokerInput, FromWorker, ToWorker, CLIENT, MMI_PREFIX};
use crate::msg::Msg;
use crate::poller::Poller;

/// Settings of a [`Broker`]; `Default` gives the guide's values.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// How often the broker sends heartbeats to idle workers, in ms (guide: 2500).
    pub heartbeat_ms: i64,
    /// Heartbeats a worker may miss before the broker drops it (guide: 3).
    pub liveness: u32,
    /// Most services known at once; requests for a new service beyond this are dropped.
    /// (The guide's broker has no limit: a peer could make it grow without end.)
    pub max_services: usize,
    /// Most client requests queued for one service; more are dropped (clients retry). A
    /// per-service limit, so that a flood for one service cannot starve the others.
    pub max_queued: usize,
    /// Most requests queued for a service that has no worker at all (a typo, or a peer
    /// probing names): kept small so that such requests cannot fill memory.
    pub max_queued_unserved: usize,
    /// A busy worker that has been silent this long (ms) is dropped: it most likely died while
    /// holding a request (the guide's broker keeps it for ever, and `mmi.service` goes on
    /// answering 200). `None` keeps busy workers for ever. A dropped worker that replies after
    /// all is told to register again.
    pub busy_timeout_ms: Option<i64>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            heartbeat_ms: 2500,
            liveness: 3,
            max_services: 10_000,
            max_queued: 100_000,
            max_queued_unserved: 1_000,
            busy_timeout_ms: Some(10 * 2500 * 3),
        }
    }
}

struct Worker {
    /// The service it registered for.
    service: Frame,
    /// When it expires if no heartbeat comes (only while waiting).
    expiry: i64,
    /// `Some(ticket)` while waiting for work: its place in its service's queue.
    waiting: Option<u64>,
    /// Its latest entry in the broker's expiry queue.
    expiry_ticket: u64,
    /// `Some(ticket)` while it holds a request: its latest entry in the busy queue.
    busy: Option<u64>,
}

#[derive(Default)]
struct Service {
    /// Client requests not yet given to a worker: (client address, body).
    requests: VecDeque<(Frame, Msg)>,
    /// Waiting workers, least recently used first: (identity, ticket); entries whose ticket
    /// no longer matches the worker are stale and skipped.
    waiting: VecDeque<(Frame, u64)>,
    /// How many entries of `waiting` are live.
    live_waiting: usize,
    /// Workers registered for this service, busy or idle.
    workers: usize,
}

/// A Majordomo broker: one ROUTER socket for clients and workers (spec 7/MDP), services by name,
/// workers heartbeated and expired, and the `mmi.service` lookup of spec 8/MMI (`200` if the
/// service has workers, `404` if not, `501` for other `mmi.` names).
///
/// Cost per message: O(1) amortised. Services and workers live in hash maps keyed by name and
/// identity; waiting workers sit in queues with lazy deletion (an entry whose ticket is stale is
/// skipped when it reaches the front), so taking a worker off, purging expired ones and
/// dispatching never scan a list (the guide's C broker removes from linked lists, O(workers)).
/// Sending heartbeats visits the idle workers once per heartbeat interval.
///
/// Malformed input is logged and dropped; the broker outlives any bad peer. It fixes the guide's
/// broker, which tested the `mmi.` prefix on the worker's identity instead of the service name,
/// could queue a worker twice after a stray REPLY, and had no bound on services or queued requests.
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
/// [`Broker::handle`], and call [`Broker::tick`] at least every heartbeat interval.
pub struct Broker {
    socket: zmq::Socket,
    state: State,
}

struct State {
    config: BrokerConfig,
    services: HashMap<Frame, Service>,
    workers: HashMap<Frame, Worker>,
    /// Waiting workers in expiry order: (identity, expiry ticket), lazily deleted.
    expiry: VecDeque<(Frame, u64)>,
    /// Busy workers in order of their last sign of life: (identity, ticket, when), lazily
    /// deleted.
    busy: VecDeque<(Frame, u64, i64)>,
    queued: usize,
    next_ticket: u64,
    heartbeat_at: i64,
}

impl Broker {
    /// A broker with its own ROUTER socket (linger 0), not yet bound.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// assert_eq!(broker.worker_count(), 0);
    /// ```
    pub fn new(ctx: &zmq::Context, config: BrokerConfig) -> Result<Broker> {
        let socket = ctx.socket(zmq::ROUTER)?;
        socket.set_linger(0)?;
        Ok(Broker {
            socket,
            state: State {
                heartbeat_at: clock::mono_ms() + config.heartbeat_ms,
                config,
                services: HashMap::new(),
                workers: HashMap::new(),
                expiry: VecDeque::new(),
                busy: VecDeque::new(),
                queued: 0,
                next_ticket: 0,
            },
        })
    }

    /// Binds the broker's socket; may be called for several endpoints.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// broker.bind("inproc://mdp-doc").unwrap();
    /// ```
    pub fn bind(&mut self, endpoint: &str) -> Result<()> {
        self.socket.bind(endpoint)?;
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
    /// dropped; errors are only those of sending (a terminated context, an interrupt).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// broker.handle(zmq_patterns::Msg::from_iter(["junk"])).unwrap(); // logged, dropped
    /// ```
    pub fn handle(&mut self, msg: Msg) -> Result<()> {
        self.state.handle(&self.socket, msg)
    }

    /// Purges expired workers and sends heartbeats when they are due.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// broker.tick().unwrap();
    /// ```
    pub fn tick(&mut self) -> Result<()> {
        self.state.tick(&self.socket)
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
        let Broker { socket, state } = self;
        let mut poller = Poller::new();
        poller.add(socket);
        loop {
            let timeout = (state.heartbeat_at - clock::mono_ms()).max(0);
            if poller.poll(Some(std::time::Duration::from_millis(timeout as u64)))? > 0 {
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
}

impl State {
    fn expiry_ms(&self) -> i64 {
        self.config.heartbeat_ms * i64::from(self.config.liveness)
    }

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn send(&self, socket: &zmq::Socket, msg: Msg, what: &str) -> Result<()> {
        log::trace!("mdp broker: sending {what}:\n{msg}");
        msg.send(socket)?;
        Ok(())
    }

    fn send_worker(&self, socket: &zmq::Socket, worker: &Frame, command: ToWorker) -> Result<()> {
        let what = match &command {
            ToWorker::Request { .. } => "REQUEST to worker",
            ToWorker::Heartbeat => "HEARTBEAT to worker",
            ToWorker::Disconnect => "DISCONNECT to worker",
        };
        self.send(socket, command.into_msg(worker.clone()), what)
    }

    fn handle(&mut self, socket: &zmq::Socket, msg: Msg) -> Result<()> {
        log::trace!("mdp broker: received message:\n{msg}");
        match BrokerInput::parse(msg) {
            Ok(BrokerInput::Client {
                sender,
                service,
                body,
            }) => self.client_msg(socket, sender, service, body),
            Ok(BrokerInput::Worker { sender, command }) => self.worker_msg(socket, sender, command),
            Err(e) => {
                log::warn!("E: invalid message: {e}");
                Ok(())
            }
        }
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
                    .and_then(|name| self.services.get(name))
                    .is_some_and(|s| s.workers > 0);
                if known {
                    "200"
                } else {
                    "404"
                }
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
        if !self.require_service(&service) {
            return Ok(());
        }
        if let Some(s) = self.services.get_mut(&service) {
            let limit = if s.workers == 0 {
                self.config.max_queued.min(self.config.max_queued_unserved)
            } else {
                self.config.max_queued
            };
            if s.requests.len() >= limit {
                log::warn!(
                    "W: {} requests queued for {service:.64} already; dropping one",
                    s.requests.len()
                );
                return Ok(());
            }
            s.requests.push_back((sender, body));
            self.queued += 1;
        }
        self.dispatch(socket, &service)
    }

    /// Makes sure `name` is a known service; false (and a warning) if the limit is reached.
    fn require_service(&mut self, name: &Frame) -> bool {
        if self.services.contains_key(name) {
            return true;
        }
        if self.services.len() >= self.config.max_services {
            log::warn!(
                "W: {} services known already; ignoring {name:.64}",
                self.services.len()
            );
            return false;
        }
        log::debug!("mdp broker: added service {name:.64}");
        self.services.insert(name.clone(), Service::default());
        true
    }

    /// Forgets a service that has neither workers nor requests.
    fn release_service(&mut self, name: &Frame) {
        if self
            .services
            .get(name)
            .is_some_and(|s| s.workers == 0 && s.requests.is_empty())
        {
            self.services.remove(name);
        }
    }

    fn worker_msg(
        &mut self,
        socket: &zmq::Socket,
        sender: Frame,
        command: FromWorker,
    ) -> Result<()> {
        let known = self.workers.contains_key(&sender);
        match command {
            FromWorker::Ready { service } => {
                if known {
                    // Not the first command of this session: a protocol error.
                    self.delete_worker(socket, &sender, true)
                } else if service.starts_with(MMI_PREFIX.as_bytes()) {
                    log::warn!("W: worker tried to register reserved service {service:.64}");
                    self.send_worker(socket, &sender, ToWorker::Disconnect)
                } else if !self.require_service(&service) {
                    self.send_worker(socket, &sender, ToWorker::Disconnect)
                } else {
                    log::debug!(
                        "mdp broker: registering new worker {} for {service:.64}",
                        sender.strhex()
                    );
                    if let Some(s) = self.services.get_mut(&service) {
                        s.workers += 1;
                    }
                    self.workers.insert(
                        sender.clone(),
                        Worker {
                            service,
                            expiry: 0,
                            waiting: None,
                            expiry_ticket: 0,
                            busy: None,
                        },
                    );
                    self.worker_waiting(socket, &sender)
                }
            }
            FromWorker::Reply { client, mut body } => {
                let Some(worker) = self.workers.get(&sender) else {
                    // Unknown, or dropped as dead while it was only slow: it registers again.
                    log::warn!("W: REPLY from unknown worker {}", sender.strhex());
                    return self.send_worker(socket, &sender, ToWorker::Disconnect);
                };
                body.push_front(worker.service.clone());
                body.push_front(CLIENT);
                body.push_envelope(client);
                self.send(socket, body, "reply to client")?;
                self.worker_waiting(socket, &sender)
            }
            FromWorker::Heartbeat => {
                if !known {
                    return self.send_worker(socket, &sender, ToWorker::Disconnect);
                }
                let now = clock::mono_ms();
                let expiry = now + self.expiry_ms();
                let ticket = self.ticket();
                if let Some(w) = self.workers.get_mut(&sender) {
                    w.expiry = expiry;
                    if w.waiting.is_some() {
                        // Its expiry moved: requeue it at the back of the expiry order.
                        w.expiry_ticket = ticket;
                        self.expiry.push_back((sender, ticket));
                    } else if w.busy.is_some() {
                        // A busy worker that heartbeats is alive: push its deadline back.
                        w.busy = Some(ticket);
                        self.busy.push_back((sender, ticket, now));
                    }
                }
                Ok(())
            }
            FromWorker::Disconnect => self.delete_worker(socket, &sender, false),
        }
    }

    /// Puts a worker in its service's queue of idle workers and dispatches.
    fn worker_waiting(&mut self, socket: &zmq::Socket, id: &Frame) -> Result<()> {
        let ticket = self.ticket();
        let expiry = clock::mono_ms() + self.expiry_ms();
        let Some(w) = self.workers.get_mut(id) else {
            return Ok(());
        };
        let was_waiting = w.waiting.replace(ticket).is_some();
        w.busy = None;
        w.expiry = expiry;
        w.expiry_ticket = ticket;
        let service = w.service.clone();
        self.expiry.push_back((id.clone(), ticket));
        if let Some(s) = self.services.get_mut(&service) {
            s.waiting.push_back((id.clone(), ticket));
            if !was_waiting {
                s.live_waiting += 1;
            }
            // Keep stale entries from piling up where no request comes to pop them.
            if s.waiting.len() > 2 * s.live_waiting + 32 {
                let workers = &self.workers;
                s.waiting
                    .retain(|(id, t)| workers.get(id).is_some_and(|w| w.waiting == Some(*t)));
            }
        }
        self.dispatch(socket, &service)
    }

    /// Gives queued requests of `service` to its idle workers, oldest first.
    fn dispatch(&mut self, socket: &zmq::Socket, service: &Frame) -> Result<()> {
        self.purge(socket)?;
        loop {
            let Some(s) = self.services.get_mut(service) else {
                return Ok(());
            };
            if s.requests.is_empty() {
                return Ok(());
            }
            // Take the least recently used idle worker, skipping stale entries.
            let mut chosen = None;
            while let Some((id, ticket)) = s.waiting.pop_front() {
                if let Some(w) = self.workers.get_mut(&id) {
                    if w.waiting == Some(ticket) {
                        w.waiting = None;
                        s.live_waiting -= 1;
                        chosen = Some(id);
                        break;
                    }
                }
            }
            let Some(worker) = chosen else {
                return Ok(());
            };
            let Some((client, body)) = s.requests.pop_front() else {
                return Ok(());
            };
            self.queued -= 1;
            self.next_ticket += 1;
            let ticket = self.next_ticket;
            if let Some(w) = self.workers.get_mut(&worker) {
                w.busy = Some(ticket);
            }
            self.busy
                .push_back((worker.clone(), ticket, clock::mono_ms()));
            self.send_worker(socket, &worker, ToWorker::Request { client, body })?;
        }
    }

    fn delete_worker(&mut self, socket: &zmq::Socket, id: &Frame, disconnect: bool) -> Result<()> {
        if disconnect {
            self.send_worker(socket, id, ToWorker::Disconnect)?;
        }
        if let Some(w) = self.workers.remove(id) {
            if let Some(s) = self.services.get_mut(&w.service) {
                s.workers -= 1;
                if w.waiting.is_some() {
                    s.live_waiting -= 1;
                }
            }
            self.release_service(&w.service);
        }
        Ok(())
    }

    /// Deletes idle workers whose heartbeats stopped. The expiry queue is in expiry order, so
    /// this stops at the first live worker.
    fn purge(&mut self, socket: &zmq::Socket) -> Result<()> {
        let now = clock::mono_ms();
        while let Some((id, ticket)) = self.expiry.front() {
            let live = self
                .workers
                .get(id)
                .filter(|w| w.waiting.is_some() && w.expiry_ticket == *ticket);
            match live {
                Some(w) if w.expiry > now => break,
                Some(_) => {
                    let id = id.clone();
                    log::debug!("mdp broker: deleting expired worker {}", id.strhex());
                    self.expiry.pop_front();
                    self.delete_worker(socket, &id, false)?;
                }
                None => {
                    self.expiry.pop_front(); // stale
                }
            }
        }
        if let Some(timeout) = self.config.busy_timeout_ms {
            // In order of the last sign of life, so this too stops at the first live entry.
            while let Some((id, ticket, since)) = self.busy.front() {
                let live = self
                    .workers
                    .get(id)
                    .is_some_and(|w| w.busy == Some(*ticket));
                if live && now - since < timeout {
                    break;
                }
                let id = id.clone();
                self.busy.pop_front();
                if live {
                    log::warn!(
                        "W: worker {} silent for {timeout} ms with a request; dropping it",
                        id.strhex()
                    );
                    self.delete_worker(socket, &id, false)?;
                }
            }
        }
        Ok(())
    }

    fn tick(&mut self, socket: &zmq::Socket) -> Result<()> {
        let now = clock::mono_ms();
        if now < self.heartbeat_at {
            return Ok(());
        }
        self.purge(socket)?;
        for (id, ticket) in &self.expiry {
            if self
                .workers
                .get(id)
                .is_some_and(|w| w.waiting.is_some() && w.expiry_ticket == *ticket)
            {
                self.send_worker(socket, id, ToWorker::Heartbeat)?;
            }
        }
        self.heartbeat_at = now + self.config.heartbeat_ms;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            let s = self.ctx.socket(zmq::DEALER).unwrap();
            s.set_identity(id.as_bytes()).unwrap();
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
            let w = self.peer(id);
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

    fn nothing_waiting(s: &zmq::Socket) -> bool {
        std::thread::sleep(std::time::Duration::from_millis(20));
        Msg::try_recv(s).unwrap().is_none()
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
        let mut rig = Rig::new(BrokerConfig::default());
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
    }

    #[test]
    fn a_stray_reply_does_not_queue_a_worker_twice() {
        let mut rig = Rig::new(BrokerConfig::default());
        let w = rig.worker("W1", "echo");
        rig.send(
            &w,
            FromWorker::Reply {
                client: "nobody".into(),
                body: Msg::from_iter(["x"]),
            }
            .into_msg(),
        );
        let c = rig.peer("C1");
        rig.request(&c, "echo", "a");
        rig.request(&c, "echo", "b");
        assert!(matches!(recv_to_worker(&w), ToWorker::Request { .. }));
        assert!(nothing_waiting(&w), "one worker, two requests at once");
    }

    #[test]
    fn idle_workers_get_heartbeats_and_silent_ones_expire() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat_ms: 20,
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
        assert_eq!(rig.broker.service_count(), 4);
        assert_eq!(rig.broker.queued(), 3);
        for _ in 0..10 {
            rig.request(&c, "svc0", "x");
        }
        // svc0 has no worker: at most max_queued_unserved wait for one
        assert_eq!(rig.broker.queued(), 4);
        // a served service may queue up to max_queued, whatever the others hold
        rig.request(&c, "echo", "busy"); // W1 takes it
        for _ in 0..10 {
            rig.request(&c, "echo", "x");
        }
        assert_eq!(rig.broker.queued(), 4 + 5);
        drop(w);
    }

    #[test]
    fn a_busy_worker_that_goes_silent_is_dropped() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat_ms: 10,
            busy_timeout_ms: Some(50),
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
        assert_eq!(recv_to_worker(&w), ToWorker::Disconnect);
    }

    #[test]
    fn a_busy_worker_that_heartbeats_is_kept() {
        let mut rig = Rig::new(BrokerConfig {
            heartbeat_ms: 10,
            busy_timeout_ms: Some(50),
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
}
