//! Titanic (guide chapter 4, "Disconnected Reliability (Titanic Pattern)"): durable
//! request-reply on top of Majordomo (spec 9/TSP).
//!
//! Connects to the Majordomo broker at `tcp://localhost:5555` as three workers, one thread each:
//! `titanic.request` stores `[service][body...]` on disk and answers `[200][uuid]`;
//! `titanic.reply` answers `[200][reply...]`, `[300]` (pending) or `[400]` (unknown) for a
//! UUID; `titanic.close` deletes a request and its reply (`[200]`). The main thread is the
//! dispatcher: it asks `mmi.service` whether a stored request's service has workers, sends it
//! there (timeout 1000 ms, one try) and stores the reply. It hears of each new request from the
//! request worker at once; the services take turns, one request each, and a service with no
//! worker is tried again about once a second (`--interval-ms`). A service that did not answer
//! backs off: it waits a second, then twice as long after each further silence, up to 30 s
//! (`--max-backoff-ms`), so that it cannot hold up the others. Requests and replies live in
//! `.titanic/` (`--dir`) as `<UUID>.req` and `<UUID>.rep`; after a restart the requests that
//! have no reply yet are dispatched again. `-v` prints `I: processing request <uuid>` for each
//! try. Runs until Ctrl-C or SIGTERM (exit status 0).
//!
//! Run beside it: `mdbroker`, `mdworker` (the `echo` service) and `ticlient`.
//!
//! The store and the three services are `zmq_patterns::titanic`. Fixes the C original's
//! weaknesses: a UUID from a client must be 32 hex digits (the C built file names from whatever
//! it got, so `../../x` reached outside `.titanic`, and an empty request crashed it), a request
//! with no body or over 1 MiB is refused with `500`, files are written whole (to a temporary
//! file, synced, then renamed) and on disk before the UUID is returned, a temporary left by a
//! failed write or a crash is removed, a symbolic link planted in the store is never followed,
//! the queue is the set of requests on disk without a reply instead of a `queue` file that only
//! grew, a request closed while it was out at its service leaves no reply file behind, a
//! service whose worker never answers no longer holds up every other request (the C waited
//! out each of its requests in turn, every round), and what clients leave on disk is bounded
//! (`--max-requests`, 100,000: then `500`) and expires (`--max-age-ms`, seven days: a request
//! and its reply that no client closed are removed; the C kept them for ever). As in the C, a request whose reply was lost
//! on the way is sent again (at-least-once delivery).

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use clap::Parser;
use zmq_patterns::titanic::{Dispatched, Dispatcher, Store, Uuid};
use zmq_patterns::{Msg, Poller, SocketExt, mdp};

#[derive(Parser)]
#[command(about = "Titanic: stores Majordomo requests on disk and delivers them when it can")]
struct Args {
    /// Print each request as the dispatcher tries it.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint of the Majordomo broker.
    #[arg(long, default_value = "tcp://localhost:5555")]
    connect: String,
    /// Directory of the request and reply files.
    #[arg(long, default_value = ".titanic")]
    dir: PathBuf,
    /// How often the dispatcher tries the pending requests when nothing new arrives, in ms.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// How long the dispatcher waits for a service's reply, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// How many times the dispatcher sends a request before leaving it for the next round.
    #[arg(long, default_value_t = 1)]
    retries: u32,
    /// Longest wait before a service that did not answer is tried again, in milliseconds.
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_backoff_ms: u64,
    /// Heartbeat interval of the three workers, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    heartbeat_ms: u64,
    /// Wait before the workers register again with a silent broker, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    reconnect_ms: u64,
    /// Heartbeat intervals of silence after which the broker counts as gone.
    #[arg(long, default_value_t = 3)]
    liveness: u32,
    /// Most requests kept on disk, answered or not; beyond it `titanic.request` answers 500.
    #[arg(long, default_value_t = zmq_patterns::titanic::DEFAULT_MAX_REQUESTS)]
    max_requests: usize,
    /// A request (and its reply) that no client has closed is removed after this long, in
    /// milliseconds (default: seven days).
    #[arg(long, default_value_t = 7 * 24 * 3600 * 1000, value_parser = clap::value_parser!(u64).range(1..))]
    max_age_ms: u64,
}

/// The request worker tells the dispatcher about each new request through this pipe:
/// `[uuid][service]`.
const PIPE: &str = "inproc://titanic-dispatcher";

type Service = JoinHandle<zmq_patterns::Result<()>>;

/// Starts a thread that serves `name` as a Majordomo worker: `serve` turns each request into
/// its reply.
fn service(
    ctx: &zmq::Context,
    args: &Args,
    name: &str,
    mut serve: impl FnMut(Msg) -> zmq_patterns::Result<Msg> + Send + 'static,
) -> anyhow::Result<Service> {
    let config = mdp::WorkerConfig {
        heartbeat: Duration::from_millis(args.heartbeat_ms),
        reconnect: Duration::from_millis(args.reconnect_ms),
        liveness: args.liveness,
    };
    let (ctx, broker, name) = (ctx.clone(), args.connect.clone(), name.to_string());
    let thread = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let mut worker = mdp::Worker::with_config(&ctx, &broker, &name, config)?;
            let mut reply = None;
            loop {
                // Send reply if it's not null, and then get next request from broker
                let request = worker.recv(reply.take())?;
                reply = Some(serve(request)?);
            }
        })?;
    Ok(thread)
}

/// Fails if a service thread has stopped: with its error, or Interrupted if it was asked to.
fn check(services: &mut Vec<Service>) -> anyhow::Result<()> {
    if let Some(at) = services.iter().position(JoinHandle::is_finished) {
        let name = services[at].thread().name().unwrap_or("?").to_string();
        let outcome = services.swap_remove(at).join();
        return match outcome {
            Ok(Err(e)) if e.is_shutdown() => Err(e.into()),
            Ok(Err(e)) => Err(anyhow::Error::from(e).context(format!("{name} worker"))),
            Ok(Ok(())) => Err(anyhow!("{name} worker stopped")),
            Err(_) => Err(anyhow!("{name} worker panicked")),
        };
    }
    Ok(())
}

/// The dispatcher: sends stored requests to their services until interrupted.
fn dispatch(
    ctx: &zmq::Context,
    args: &Args,
    store: &Store,
    pipe: &zmq::Socket,
    mut queue: Dispatcher,
    services: &mut Vec<Service>,
) -> anyhow::Result<()> {
    // MDP client session with short timeout
    let mut client = mdp::Client::new(ctx, &args.connect)?;
    client.set_timeout(Duration::from_millis(args.timeout_ms));
    client.set_retries(args.retries);
    let interval = Duration::from_millis(args.interval_ms);
    // Requests no client closed expire: look for them a tenth of their age apart, at most a
    // minute apart
    let max_age = Duration::from_millis(args.max_age_ms);
    let expiry_every = (max_age / 10).clamp(
        interval.min(Duration::from_secs(60)),
        Duration::from_secs(60),
    );
    let mut next_expiry = Instant::now() + expiry_every;

    loop {
        // Wait for new requests until one of those queued is due, an interval at most
        let wait = queue
            .next_due(Instant::now())
            .map_or(interval, |d| d.min(interval));
        let mut poller = Poller::new();
        poller.add(pipe);
        if poller.poll(Some(wait))? > 0 {
            while let Some(msg) = Msg::try_recv(pipe)? {
                let id = msg.front().map(|f| Uuid::parse(f.as_bytes()));
                match (id, msg.get(1)) {
                    (Some(Ok(id)), Some(service)) => {
                        queue.add(id, &service.to_string_lossy());
                    }
                    _ => log::warn!("titanic: a bad message on the dispatcher's pipe: {msg:?}"),
                }
            }
        }
        check(services)?;
        if Instant::now() >= next_expiry {
            next_expiry = Instant::now() + expiry_every;
            match store.expire(max_age) {
                Ok(0) => {}
                Ok(n) => log::info!("titanic: {n} requests older than {max_age:?} removed"),
                Err(e) => log::warn!("titanic: cannot expire old requests: {e}"),
            }
        }
        // One round: the services that are due take turns, one request each, until none is
        // due or the round has taken an interval (then new requests are read first).
        let end = Instant::now() + interval;
        while let Some(id) = queue.next(Instant::now()) {
            if args.verbose {
                println!("I: processing request {id}");
            }
            let outcome = match store.dispatch(&id, &mut client) {
                Ok(outcome) => outcome,
                Err(e) if e.is_shutdown() => return Err(e.into()),
                Err(e) => {
                    // The store failed (a disk error): try again later.
                    log::warn!("titanic: request {id}: {e}");
                    Dispatched::NoReply
                }
            };
            queue.report(&id, outcome, Instant::now());
            if Instant::now() >= end {
                break;
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let mut store = Store::open(&args.dir)
            .with_context(|| format!("cannot open the store in {}", args.dir.display()))?;
        store.set_max_requests(args.max_requests);
        let max_age = Duration::from_millis(args.max_age_ms);
        let expired = store.expire(max_age)?;
        if expired > 0 {
            log::info!("titanic: {expired} requests older than {max_age:?} removed");
        }
        // The requests left without a reply by an earlier run come first (read before the
        // request worker starts; a request queued twice would be ignored anyway).
        let mut queue = Dispatcher::new(Duration::from_millis(args.interval_ms));
        queue.set_max_backoff(Duration::from_millis(args.max_backoff_ms));
        let n = queue.load(&store)?;
        if n > 0 {
            log::info!("titanic: {n} requests pending in {}", args.dir.display());
        }

        // The notes are small (a UUID and a service name): the pipe never makes the request
        // worker wait
        let pipe = ctx.socket(zmq::PAIR)?;
        pipe.set_linger(0)?;
        pipe.set_rcvhwm(0)?;
        pipe.bind_to(PIPE)?;
        let peer = ctx.socket(zmq::PAIR)?;
        peer.set_linger(0)?;
        peer.set_sndhwm(0)?;
        peer.connect_to(PIPE)?;

        let requests = store.clone();
        let replies = store.clone();
        let closes = store.clone();
        let mut services = vec![
            service(&ctx, &args, "titanic.request", move |request| {
                let service = request.front().cloned();
                let (reply, id) = requests.serve_request(request);
                // Send UUID (and service) through to the dispatcher, then back to the client
                if let (Some(id), Some(service)) = (id, service) {
                    let mut note = Msg::from(service);
                    note.push_front(id.as_str());
                    note.send(&peer)?;
                }
                Ok(reply)
            })?,
            service(&ctx, &args, "titanic.reply", move |request| {
                Ok(replies.serve_reply(request))
            })?,
            service(&ctx, &args, "titanic.close", move |request| {
                Ok(closes.serve_close(request))
            })?,
        ];

        zguide_examples::console!(
            "I: Titanic is active at the broker {} (titanic.request, titanic.reply, titanic.close)",
            args.connect
        );
        let outcome = dispatch(&ctx, &args, &store, &pipe, queue, &mut services);
        // The workers see the interrupt too; give them a moment to say DISCONNECT.
        let deadline = Instant::now() + Duration::from_secs(1);
        while services.iter().any(|s| !s.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        outcome
    })
}
