//! Broker peering simulation, part 2 (guide chapter 3, "Prototyping the Local and Cloud
//! Flows"): brokers pass requests to each other over ROUTER-ROUTER "cloud" connections.
//!
//! `peering2 me {you}...`: the cloud frontend (ROUTER, identity `me`) binds
//! `ipc://<me>-cloud.ipc` and takes requests from peer brokers; the cloud backend (ROUTER,
//! identity `me`) connects to each peer's `ipc://<you>-cloud.ipc` and sends requests there.
//! Local clients talk to the frontend `ipc://<me>-localfe.ipc` and local workers to the
//! backend `ipc://<me>-localbe.ipc`. After Enter, it starts three worker actors (REQ: send the
//! one-byte ready signal `\x01`, print each request as `Worker: [005] HELLO`, reply `OK`)
//! and ten client actors (REQ: send `HELLO`, print `Client: OK`, once a second). Replies
//! whose first frame is a peer's name go back to that peer over the cloud; the others go to
//! local clients. While a worker is free, it takes requests, peers' first; a local client's
//! request goes to a random peer 20% of the time, else to the worker that has waited longest.
//!
//! Run two of them in the same directory, `peering2 me you` and `peering2 you me` (or the
//! guide's C or Python version as either), and press Enter in each once both are started.
//! Expect `Client: OK` and `Worker: [005] HELLO` lines for ever; Ctrl-C stops it (status 0).
//!
//! Endpoints are templates in which `{}` stands for a broker's name (`--cloud`, `--frontend`,
//! `--backend`). `--clients`, `--workers`, `--cloud-percent`, `--interval-ms` (a client's
//! pause) and `--requests` (per client, then it stops asking; 0: for ever) tune the run.
//! When stdin is not a terminal, the prompt's line is ended after Enter.
//!
//! Fixes in the C original: it looked at the frontends only after a backend event or a
//! one-second timeout (so a request could wait a second for an idle worker); here they are
//! polled whenever a worker is free. A request for a peer that is not connected was silently
//! dropped by the cloud ROUTER and its client hung; here it goes to a local worker instead.
//! The READY test looked at one byte of the first frame only; here READY is exactly `[\x01]`.
//! A reply for an unknown client or peer, or an empty message, is logged and dropped.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::Duration;

use clap::Parser;
use rand::Rng;
use rand::seq::SliceRandom;
use zguide_examples::bind;
use zmq_patterns::{Actor, ActorPipe, Frame, Msg, Poller, SendError, SocketExt, interrupt};

/// Signals worker is ready
const WORKER_READY: &[u8] = b"\x01";

#[derive(Parser)]
#[command(about = "Broker peering, part 2: local and cloud request flows, clients and workers")]
struct Args {
    /// This broker's name.
    me: String,
    /// The peers' names.
    peers: Vec<String>,
    /// Cloud endpoint of a broker; `{}` is its name (our frontend binds ours, our backend
    /// connects to the peers').
    #[arg(long, default_value = "ipc://{}-cloud.ipc")]
    cloud: String,
    /// Endpoint the local frontend (ROUTER, for clients) binds to; `{}` is our name.
    #[arg(long, default_value = "ipc://{}-localfe.ipc")]
    frontend: String,
    /// Endpoint the local backend (ROUTER, for workers) binds to; `{}` is our name.
    #[arg(long, default_value = "ipc://{}-localbe.ipc")]
    backend: String,
    /// Number of client actors.
    #[arg(long, default_value_t = 10)]
    clients: u32,
    /// Number of worker actors.
    #[arg(long, default_value_t = 3)]
    workers: u32,
    /// Share of local requests sent to a random peer, in percent.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=100))]
    cloud_percent: u32,
    /// A client's pause after each reply, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Requests per client, then it stops asking (0: for ever).
    #[arg(long, default_value_t = 0)]
    requests: u64,
}

/// The client task does a request-reply dialog using a standard synchronous REQ socket.
fn client_task(
    pipe: ActorPipe,
    endpoint: &str,
    interval_ms: u64,
    requests: u64,
) -> zmq_patterns::Result<()> {
    let ctx = zmq::Context::new();
    let client = ctx.socket(zmq::REQ)?;
    client.set_linger(0)?;
    client.connect_to(endpoint)?;
    pipe.ready()?;

    let mut poller = Poller::new();
    let from_parent = poller.add(&pipe);
    let from_broker = poller.add(&client);
    let mut sent = 0;
    while requests == 0 || sent < requests {
        // Send request, get reply; a message from our parent means stop
        client.send_text("HELLO")?;
        poller.poll(None)?;
        if poller.is_readable(from_parent) {
            return Ok(());
        }
        if poller.is_readable(from_broker) {
            println!("Client: {}", client.recv_text()?);
            sent += 1;
        }
        // Pause; only our parent can speak now
        if poller.poll(Some(Duration::from_millis(interval_ms)))? > 0 {
            return Ok(());
        }
    }
    pipe.wait_term()
}

/// The worker task plugs into the load-balancer using a REQ socket.
fn worker_task(pipe: ActorPipe, endpoint: &str) -> zmq_patterns::Result<()> {
    let ctx = zmq::Context::new();
    let worker = ctx.socket(zmq::REQ)?;
    worker.set_linger(0)?;
    worker.connect_to(endpoint)?;
    pipe.ready()?;

    // Tell broker we're ready for work
    Frame::from(WORKER_READY).send(&worker, 0)?;

    // Process messages as they arrive: print the request, answer OK in the same envelope
    let mut poller = Poller::new();
    let from_parent = poller.add(&pipe);
    let from_broker = poller.add(&worker);
    loop {
        poller.poll(None)?;
        if poller.is_readable(from_parent) {
            return Ok(());
        }
        if poller.is_readable(from_broker) {
            let mut msg = Msg::recv(&worker)?;
            if let Some(request) = msg.pop_back() {
                println!("Worker: {request}");
            }
            msg.push_back("OK");
            msg.send(&worker)?;
        }
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

/// A ROUTER socket; one that reports unroutable messages instead of dropping them.
fn router(ctx: &zmq::Context, identity: Option<&str>) -> anyhow::Result<zmq::Socket> {
    let socket = ctx.socket(zmq::ROUTER)?;
    socket.set_linger(0)?;
    socket.set_router_mandatory(true)?;
    if let Some(identity) = identity {
        socket.set_identity(identity.as_bytes())?;
    }
    Ok(socket)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let (me, peers) = (&args.me, &args.peers);
        println!("I: preparing broker at {me}...");
        let ctx = zmq::Context::new();

        // Bind cloud frontend to endpoint
        let cloudfe = router(&ctx, Some(me))?;
        bind(&cloudfe, &args.cloud.replace("{}", me), "--cloud")?;

        // Connect cloud backend to all peers
        let cloudbe = router(&ctx, Some(me))?;
        for peer in peers {
            println!("I: connecting to cloud frontend at '{peer}'");
            cloudbe.connect_to(&args.cloud.replace("{}", peer))?;
        }
        // Prepare local frontend and backend
        let frontend = args.frontend.replace("{}", me);
        let backend = args.backend.replace("{}", me);
        let localfe = router(&ctx, None)?;
        bind(&localfe, &frontend, "--frontend")?;
        let localbe = router(&ctx, None)?;
        bind(&localbe, &backend, "--backend")?;

        // The ipc files we bound (the guide's defaults are in the working directory) go
        // when we return, Ctrl-C included.
        let _ipc_files =
            zguide_examples::IpcFiles::bound([&args.cloud.replace("{}", me), &frontend, &backend]);

        // Get user to tell us when we can start... (Ctrl-C ends the wait, even mid-line)
        print!("Press Enter when all brokers are started: ");
        zguide_examples::flush();
        let _ = interrupt::read_line()?; // end of input counts too
        if !std::io::stdin().is_terminal() {
            println!();
        }

        // Start local workers, then local clients; dropped in reverse order at the end
        let mut actors = Vec::new();
        for _ in 0..args.workers {
            let backend = backend.clone();
            actors.push(Actor::new(&ctx, move |pipe| worker_task(pipe, &backend))?);
        }
        for _ in 0..args.clients {
            let (frontend, interval_ms, requests) =
                (frontend.clone(), args.interval_ms, args.requests);
            actors.push(Actor::new(&ctx, move |pipe| {
                client_task(pipe, &frontend, interval_ms, requests)
            })?);
        }

        // Here, we handle the request-reply flow. We're using load-balancing to poll workers
        // at all times, and clients only when there are one or more workers available.
        let mut workers: VecDeque<Frame> = VecDeque::new(); // least recently used first
        let mut rng = rand::thread_rng();
        let mut poller = Poller::new();
        let from_localbe = poller.add(&localbe);
        let from_cloudbe = poller.add(&cloudbe);
        let from_cloudfe = poller.add(&cloudfe);
        let from_localfe = poller.add(&localfe);
        loop {
            let frontends = if workers.is_empty() {
                zmq::PollEvents::empty()
            } else {
                zmq::POLLIN
            };
            poller.set_events(from_cloudfe, frontends);
            poller.set_events(from_localfe, frontends);
            poller.poll(None)?;

            // First, route any waiting replies from workers
            let mut replies = Vec::new();
            if poller.is_readable(from_localbe) {
                // Handle reply from local worker: [worker][""][reply or READY]
                let mut msg = Msg::recv(&localbe)?;
                match msg.pop_envelope() {
                    Some(identity) if !msg.is_empty() => {
                        workers.push_back(identity);
                        // If it's READY, don't route the message any further
                        if msg.len() != 1 || msg[0] != WORKER_READY {
                            replies.push(msg);
                        }
                    }
                    _ => log::warn!("malformed message from a worker dropped"),
                }
            }
            if poller.is_readable(from_cloudbe) {
                // Or handle reply from peer broker; we don't use its identity for anything
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

            // Now we route as many client requests as we have worker capacity for. We may
            // reroute requests from our local frontend, but not from the cloud frontend. We
            // reroute randomly now, just to test things out.
            while !workers.is_empty() {
                // We'll do peer brokers first, to prevent starvation
                let (mut msg, reroutable) = if let Some(msg) = Msg::try_recv(&cloudfe)? {
                    (msg, false)
                } else if let Some(msg) = Msg::try_recv(&localfe)? {
                    (msg, true)
                } else {
                    break; // No work, go back to backends
                };
                // If reroutable, send to cloud some of the time (20% by default)
                if reroutable && !peers.is_empty() && rng.gen_range(0..100) < args.cloud_percent {
                    // Route to random broker peer
                    let peer = peers.choose(&mut rng).map_or("", |p| p.as_str());
                    msg.push_front(peer);
                    match msg.try_send(&cloudbe) {
                        Ok(()) => continue,
                        Err(SendError { error, msg: back }) => {
                            log::warn!("peer {peer} cannot take a request ({error}): done here");
                            msg = back;
                            msg.pop_front();
                        }
                    }
                }
                if let Some(worker) = workers.pop_front() {
                    msg.push_envelope(worker);
                    route(msg, &localbe, "request")?;
                }
            }
        }
    })
}
