//! Broker peering simulation, part 3 (guide chapter 3, "Putting it All Together"): a cluster
//! of brokers that share out work by the state, cloud and local flows together.
//!
//! `peering3 me {you}...`: binds the local frontend `ipc://<me>-localfe.ipc` for clients and
//! the local backend `ipc://<me>-localbe.ipc` for workers (ROUTERs); the cloud frontend
//! (ROUTER, identity `me`) binds `ipc://<me>-cloud.ipc` for peers' requests and the cloud
//! backend (ROUTER, identity `me`) connects to each peer's `ipc://<you>-cloud.ipc`; the state
//! backend (PUB) binds `ipc://<me>-state.ipc` and publishes `[me][free workers]`, the state
//! frontend (SUB) connects to each peer's; a monitor PULL socket binds
//! `ipc://<me>-monitor.ipc`. It starts five worker threads (REQ: send the ready signal
//! `\x01`, then echo each request after 0 or 1 s of work) and ten client threads (REQ: after a
//! pause of up to 5 s, a burst of up to 14 tasks with random hex ids like `1F3A`, each waiting
//! at most 10 s for its reply). A client reports each reply's id, or
//! `E: CLIENT EXIT - lost task 1F3A` before it gives up, to the monitor; the broker prints
//! what the monitor gets. Requests go to a local worker when one is free, else to a random
//! peer that said it has one.
//!
//! Run two or three of them in the same directory, e.g. `peering3 DC1 DC2` and
//! `peering3 DC2 DC1` (the guide's C or Python version can take either place). Expect task
//! ids, and no `lost task` line while all brokers run; stop one and the others' clients
//! lose the tasks they had sent it. Ctrl-C stops it (exit status 0).
//!
//! Endpoints are templates in which `{}` stands for a broker's name (`--frontend`,
//! `--backend`, `--cloud`, `--state`, `--monitor`); `--clients`, `--workers`, `--pause-ms`,
//! `--burst`, `--work-ms`, `--timeout-ms` and `--heartbeat-ms` tune the simulation.
//!
//! Fixes in the C original:
//! - it published its capacity only when it changed, so a broker started later never heard a
//!   quiet peer's capacity; here it is repeated every `--heartbeat-ms` too;
//! - it kept a single cloud capacity, the last number any peer sent, sent tasks to a random
//!   peer whether or not that peer had said it was free, and sent all waiting tasks on one
//!   such message; here each peer's count is kept, a task goes to a peer whose count is not
//!   zero, and the count drops by one per task sent until the peer speaks again;
//! - it took local clients' requests before peers', so peers' tasks could wait until their
//!   clients gave them up; like peering2, it serves peers first;
//! - it looked at the frontends only after another socket's event or a one-second timeout;
//!   here they are polled whenever there is capacity;
//! - a task for a peer that is not connected was dropped silently by the cloud ROUTER; here
//!   it waits until some peer can take it;
//! - the READY test looked at one byte of the first frame only; here READY is exactly `[\x01]`;
//! - bad input from peers (a state message that is not `[known peer][number]`, an empty reply,
//!   a reply for an unknown client or peer) is logged and dropped, never a crash.

use std::collections::VecDeque;
use std::time::Duration;

use clap::Parser;
use rand::Rng;
use rand::seq::SliceRandom;
use zguide_examples::bind;
use zmq_patterns::{Frame, Msg, Poller, SendError, SocketExt, clock};

/// Signals worker is ready
const WORKER_READY: &[u8] = b"\x01";

#[derive(Parser, Clone)]
#[command(about = "Broker peering, part 3: a full cluster simulation (state, cloud, local)")]
struct Args {
    /// This broker's name.
    me: String,
    /// The peers' names.
    peers: Vec<String>,
    /// Endpoint the local frontend (ROUTER, for clients) binds to; `{}` is our name.
    #[arg(long, default_value = "ipc://{}-localfe.ipc")]
    frontend: String,
    /// Endpoint the local backend (ROUTER, for workers) binds to; `{}` is our name.
    #[arg(long, default_value = "ipc://{}-localbe.ipc")]
    backend: String,
    /// Cloud endpoint of a broker; `{}` is its name (we bind ours, connect to the peers').
    #[arg(long, default_value = "ipc://{}-cloud.ipc")]
    cloud: String,
    /// State endpoint of a broker; `{}` is its name (we bind ours, subscribe to the peers').
    #[arg(long, default_value = "ipc://{}-state.ipc")]
    state: String,
    /// Endpoint the monitor (PULL, for the clients' reports) binds to; `{}` is our name.
    #[arg(long, default_value = "ipc://{}-monitor.ipc")]
    monitor: String,
    /// Number of client threads.
    #[arg(long, default_value_t = 10)]
    clients: u32,
    /// Number of worker threads.
    #[arg(long, default_value_t = 5)]
    workers: u32,
    /// A client pauses for a random time below this before each burst, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    pause_ms: u64,
    /// A burst is a random number of tasks below this.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..))]
    burst: u32,
    /// A worker is busy for either 0 ms or this long per task, at random.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
    /// A client gives a task up as lost after this long without its reply, in milliseconds.
    #[arg(long, default_value_t = 10000)]
    timeout_ms: u64,
    /// We publish our capacity when it changes, and at least this often, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    heartbeat_ms: u64,
}

/// The client task issues a burst of requests and then sleeps for a few seconds. It uses a
/// REQ socket for requests and pushes what it sees to the monitor socket.
fn client_task(args: &Args, frontend: &str, monitor: &str) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let client = ctx.socket(zmq::REQ)?;
    client.set_linger(0)?;
    client.connect_to(frontend)?;
    let monitor_push = ctx.socket(zmq::PUSH)?;
    monitor_push.set_linger(1000)?;
    monitor_push.connect_to(monitor)?;

    let mut rng = rand::thread_rng();
    let mut poller = Poller::new();
    poller.add(&client);
    loop {
        clock::sleep(Duration::from_millis(rng.gen_range(0..args.pause_ms)))?;
        for _ in 0..rng.gen_range(0..args.burst) {
            // Send request with random hex ID
            let task_id = format!("{:04X}", rng.gen_range(0..0x10000));
            client.send_text(&task_id)?;

            // Wait max ten seconds for a reply, then complain
            if poller.poll(Some(Duration::from_millis(args.timeout_ms)))? == 0 {
                monitor_push.send_text(&format!("E: CLIENT EXIT - lost task {task_id}"))?;
                return Ok(());
            }
            // Worker is supposed to answer us with our task id
            let reply = client.recv_text()?;
            if reply != task_id {
                log::warn!("client: task {task_id} got the reply {reply:?}");
            }
            monitor_push.send_text(&reply)?;
        }
    }
}

/// The worker task plugs into the load-balancer with a REQ socket and echoes each request.
fn worker_task(args: &Args, backend: &str) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let worker = ctx.socket(zmq::REQ)?;
    worker.set_linger(0)?;
    worker.connect_to(backend)?;

    // Tell broker we're ready for work
    Frame::from(WORKER_READY).send(&worker, 0)?;

    // Process messages as they arrive; workers are busy for 0 or 1 second
    let mut rng = rand::thread_rng();
    loop {
        let msg = Msg::recv(&worker)?;
        clock::sleep(Duration::from_millis(args.work_ms * rng.gen_range(0..2)))?;
        msg.send(&worker)?;
    }
}

/// Sends `msg` out of a ROUTER (with `ROUTER_MANDATORY`): a message for a peer that is not
/// there, or that cannot take it now, is logged and dropped, as a ROUTER does silently.
fn route(msg: Msg, router: &zmq::Socket, what: &str) -> anyhow::Result<()> {
    if let Some(msg) = msg.route(router)? {
        let to = msg.front().map(|f| f.to_string()).unwrap_or_default();
        log::warn!("{what} for {to} dropped: peer gone or not reading");
    }
    Ok(())
}

/// A ROUTER socket that reports unroutable messages instead of dropping them.
fn router(ctx: &zmq::Context, identity: Option<&str>) -> anyhow::Result<zmq::Socket> {
    let socket = ctx.socket(zmq::ROUTER)?;
    socket.set_linger(0)?;
    socket.set_router_mandatory(true)?;
    if let Some(identity) = identity {
        socket.set_identity(identity.as_bytes())?;
    }
    Ok(socket)
}

/// `[peer][free workers]` from a peer's state message; `None` (logged) if it is not that.
fn parse_state(mut msg: Msg, peers: &[String]) -> Option<(usize, u32)> {
    if msg.len() != 2 {
        log::warn!("state message is not [peer][count], dropped: {msg:?}");
        return None;
    }
    let (peer, free) = (msg.pop_front_str()?, msg.pop_front_str()?);
    let Some(index) = peers.iter().position(|p| *p == peer) else {
        log::warn!("state message from unknown peer {peer:?} dropped");
        return None;
    };
    match free.parse() {
        Ok(free) => Some((index, free)),
        Err(_) => {
            log::warn!("state message from {peer} with a bad count {free:?} dropped");
            None
        }
    }
}

/// The broker's routing state.
struct Broker<'a> {
    peers: &'a [String],
    /// Local workers ready for a task, least recently used first.
    workers: VecDeque<Frame>,
    /// What each peer last said about its free workers, less the tasks we sent it since.
    cloud: Vec<u32>,
    /// Local requests that no peer could take when we tried.
    waiting: VecDeque<Msg>,
}

impl Broker<'_> {
    fn has_cloud_capacity(&self) -> bool {
        self.cloud.iter().any(|&free| free > 0)
    }

    /// Sends a local request to a random peer that has capacity; if none can take it, it
    /// waits for one.
    fn send_to_cloud(&mut self, mut msg: Msg, cloudbe: &zmq::Socket) {
        let mut rng = rand::thread_rng();
        loop {
            let free: Vec<usize> = (0..self.peers.len())
                .filter(|&i| self.cloud[i] > 0)
                .collect();
            let Some(&peer) = free.choose(&mut rng) else {
                self.waiting.push_back(msg);
                return;
            };
            // Route to random broker peer
            msg.push_front(&self.peers[peer]);
            match msg.try_send(cloudbe) {
                Ok(()) => {
                    self.cloud[peer] -= 1;
                    return;
                }
                Err(SendError { error, msg: back }) => {
                    log::warn!("peer {} cannot take a task: {error}", self.peers[peer]);
                    self.cloud[peer] = 0;
                    msg = back;
                    msg.pop_front();
                }
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let (me, peers) = (&args.me, &args.peers);
        println!("I: preparing broker at {me}...");
        let ctx = zmq::Context::new();

        // Prepare local frontend and backend
        let frontend = args.frontend.replace("{}", me);
        let backend = args.backend.replace("{}", me);
        let localfe = router(&ctx, None)?;
        bind(&localfe, &frontend, "--frontend")?;
        let localbe = router(&ctx, None)?;
        bind(&localbe, &backend, "--backend")?;

        // Bind cloud frontend to endpoint
        let cloudfe = router(&ctx, Some(me))?;
        bind(&cloudfe, &args.cloud.replace("{}", me), "--cloud")?;

        // Connect cloud backend to all peers
        let cloudbe = router(&ctx, Some(me))?;
        for peer in peers {
            println!("I: connecting to cloud frontend at '{peer}'");
            cloudbe.connect_to(&args.cloud.replace("{}", peer))?;
        }
        // Bind state backend to endpoint
        let statebe = ctx.socket(zmq::PUB)?;
        statebe.set_linger(0)?;
        bind(&statebe, &args.state.replace("{}", me), "--state")?;

        // Connect state frontend to all peers
        let statefe = ctx.socket(zmq::SUB)?;
        statefe.set_subscribe(b"")?;
        for peer in peers {
            println!("I: connecting to state backend at '{peer}'");
            statefe.connect_to(&args.state.replace("{}", peer))?;
        }
        // Prepare monitor socket
        let monitor_endpoint = args.monitor.replace("{}", me);
        let monitor = ctx.socket(zmq::PULL)?;
        monitor.set_linger(0)?;
        bind(&monitor, &monitor_endpoint, "--monitor")?;

        // The ipc files we bound (the guide's defaults are in the working directory) go
        // when we return, Ctrl-C included.
        let _ipc_files = zguide_examples::IpcFiles::bound([
            &frontend,
            &backend,
            &args.cloud.replace("{}", me),
            &args.state.replace("{}", me),
            &monitor_endpoint,
        ]);

        // After binding and connecting all our sockets, we start our child tasks - workers
        // and clients; they end with the process.
        for _ in 0..args.workers {
            let (args, backend) = (args.clone(), backend.clone());
            std::thread::spawn(move || {
                if let Err(e) = worker_task(&args, &backend) {
                    log::debug!("worker stopped: {e}");
                }
            });
        }
        for _ in 0..args.clients {
            let (args, frontend, monitor) =
                (args.clone(), frontend.clone(), monitor_endpoint.clone());
            std::thread::spawn(move || {
                if let Err(e) = client_task(&args, &frontend, &monitor) {
                    log::debug!("client stopped: {e}");
                }
            });
        }

        let mut broker = Broker {
            peers,
            workers: VecDeque::new(),
            cloud: vec![0; peers.len()],
            waiting: VecDeque::new(),
        };
        let mut poller = Poller::new();
        let from_localbe = poller.add(&localbe);
        let from_cloudbe = poller.add(&cloudbe);
        let from_statefe = poller.add(&statefe);
        let from_monitor = poller.add(&monitor);
        let from_cloudfe = poller.add(&cloudfe);
        let from_localfe = poller.add(&localfe);
        let mut next_state = clock::mono_ms();

        // The main loop polls workers, peers' replies and our two service sockets (statefe
        // and monitor) in any case, and the frontends only when there is somewhere to send
        // their requests: they can remain on their internal 0MQ queues.
        loop {
            let local_capacity = !broker.workers.is_empty();
            let any_capacity = local_capacity || broker.has_cloud_capacity();
            let events = |on: bool| {
                if on {
                    zmq::POLLIN
                } else {
                    zmq::PollEvents::empty()
                }
            };
            poller.set_events(from_cloudfe, events(local_capacity));
            poller.set_events(from_localfe, events(any_capacity));
            poller.poll(Some(clock::until(next_state)))?;

            // Track if capacity changes during this iteration
            let previous = broker.workers.len();
            let mut replies = Vec::new();
            if poller.is_readable(from_localbe) {
                // Reply from local worker: [worker][""][reply or READY]
                let mut msg = Msg::recv(&localbe)?;
                match msg.pop_envelope() {
                    Some(identity) if !msg.is_empty() => {
                        broker.workers.push_back(identity);
                        // If it's READY, don't route the message any further
                        if msg.len() != 1 || msg[0] != WORKER_READY {
                            replies.push(msg);
                        }
                    }
                    _ => log::warn!("malformed message from a worker dropped"),
                }
            }
            if poller.is_readable(from_cloudbe) {
                // Or reply from peer broker; we don't use its identity for anything
                let mut msg = Msg::recv(&cloudbe)?;
                msg.pop_envelope();
                replies.push(msg);
            }
            for msg in replies {
                // Route reply to cloud if it's addressed to a broker, else to a client
                match msg.front() {
                    None => log::warn!("empty reply from a peer dropped"),
                    Some(to) if peers.iter().any(|peer| to == peer.as_str()) => {
                        route(msg, &cloudfe, "reply")?
                    }
                    Some(_) => route(msg, &localfe, "reply")?,
                }
            }

            // If we have input messages on our statefe or monitor sockets, we can process
            // these immediately
            if poller.is_readable(from_statefe) {
                if let Some((peer, free)) = parse_state(Msg::recv(&statefe)?, peers) {
                    broker.cloud[peer] = free;
                }
            }
            if poller.is_readable(from_monitor) {
                if let Some(status) = Msg::recv(&monitor)?.pop_front_str() {
                    println!("{status}");
                }
            }

            // Now route as many clients requests as we can handle. If we have local capacity,
            // we take peers' requests first, then our clients'; with cloud capacity only, our
            // clients' alone. We route any request locally if we can, else to the cloud.
            while !broker.workers.is_empty() || broker.has_cloud_capacity() {
                let from_peer = match broker.workers.is_empty() {
                    true => None,
                    false => Msg::try_recv(&cloudfe)?,
                };
                let mut msg = match from_peer.or_else(|| broker.waiting.pop_front()) {
                    Some(msg) => msg,
                    None => match Msg::try_recv(&localfe)? {
                        Some(msg) => msg,
                        None => break, // No work, go back to primary
                    },
                };
                match broker.workers.pop_front() {
                    Some(worker) => {
                        msg.push_envelope(worker);
                        route(msg, &localbe, "task")?;
                    }
                    None => broker.send_to_cloud(msg, &cloudbe),
                }
            }

            // We broadcast capacity messages to other peers when it changed, and at least
            // every heartbeat.
            if broker.workers.len() != previous || clock::mono_ms() >= next_state {
                // We stick our own identity onto the envelope, then our capacity
                statebe.send_text_more(me)?;
                statebe.send_text(&broker.workers.len().to_string())?;
                next_state = clock::mono_ms() + args.heartbeat_ms as i64;
            }
        }
    })
}
