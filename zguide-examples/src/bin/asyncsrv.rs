//! Asynchronous client/server (guide chapter 3, "Asynchronous Client/Server"): DEALER clients
//! talking to a ROUTER server that deals their requests out to a pool of DEALER workers.
//!
//! One process plays every part, each task with its own context as if it were a separate
//! process. Three client actors, each a DEALER with a random `%04X-%04X` identity connected to
//! `tcp://localhost:5570`, send `request #1`, `request #2`... once a second and print every reply
//! as it arrives, prefixed with their identity like CZMQ's `zframe_print`:
//! `1A2B-3C4D[010] request #1`. The server actor binds a ROUTER frontend to `tcp://*:5570` and a
//! DEALER backend to `inproc://backend`, and proxies between them (`zmq_patterns::Proxy`,
//! steered through the actor's pipe like CZMQ's `zproxy`); five worker actors (DEALER) take the
//! requests from the backend and echo each one 0 to 4 times, after a random pause of up to a
//! second before each echo. So a client may see no reply to a request, or several, and replies
//! arrive out of order. Everything stops after five seconds (exit status 0, also on Ctrl-C).
//!
//! Fixes the C original's tick: it polled 100 times for 10 ms, but a poll returns as soon as a
//! reply arrives, so every reply shortened the client's "second"; here a client polls until
//! its second is over and sends exactly one request per second, however many replies come in.
//!
//! Run it alone. `--clients`, `--workers`, `--duration-ms`, `--interval-ms` (a client's tick)
//! and `--max-delay-ms` (a worker's longest pause) shrink the run for tests; with `--clients 0`
//! only the server runs, for outside DEALER clients. The `asyncsrv-proxy`, `asyncsrv-server`
//! and `asyncsrv-client` binaries take the same pattern to separate processes.

use clap::Parser;
use rand::Rng;
use std::time::Duration;
use zmq_patterns::{Actor, ActorPipe, Msg, Poller, Proxy, SocketExt, clock};

#[derive(Parser)]
#[command(
    about = "Asynchronous client/server: DEALER clients, ROUTER-DEALER proxy, DEALER workers"
)]
struct Args {
    /// Endpoint the server's ROUTER frontend binds to.
    #[arg(long, default_value = "tcp://*:5570")]
    bind: String,
    /// Endpoint the clients connect to.
    #[arg(long, default_value = "tcp://localhost:5570")]
    connect: String,
    /// Number of client actors.
    #[arg(long, default_value_t = 3)]
    clients: u32,
    /// Number of server worker actors.
    #[arg(long, default_value_t = 5)]
    workers: u32,
    /// How long the whole example runs, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    duration_ms: u64,
    /// Pause between a client's requests, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Longest random pause of a worker before each reply, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    max_delay_ms: u64,
}

/// This is our client task. It connects to the server and then sends a request once per tick;
/// it collects responses as they arrive and prints them out.
fn client_task(pipe: ActorPipe, endpoint: &str, interval_ms: u64) -> zmq_patterns::Result<()> {
    let ctx = zmq::Context::new();
    let client = ctx.socket(zmq::DEALER)?;
    client.set_linger(0)?;
    // Set random identity to make tracing easier
    let identity = client.set_random_identity()?;
    client.connect_to(endpoint)?;
    pipe.ready()?;

    let mut poller = Poller::new();
    let from_parent = poller.add(&pipe);
    let from_server = poller.add(&client);
    let mut request_nbr = 0;
    loop {
        // Tick once per interval (a second), pulling in arriving messages
        let tick_end = clock::mono_ms() + interval_ms as i64;
        loop {
            let left = tick_end - clock::mono_ms();
            if left <= 0 {
                break;
            }
            poller.poll(Some(Duration::from_millis(left as u64)))?;
            if poller.is_readable(from_parent) && pipe.is_term(&Msg::recv(&pipe)?) {
                return Ok(());
            }
            if poller.is_readable(from_server) {
                let msg = Msg::recv(&client)?;
                if let Some(content) = msg.back() {
                    println!("{identity}{content}");
                }
            }
        }
        request_nbr += 1;
        client.send_text(&format!("request #{request_nbr}"))?;
    }
}

/// This is our server task: a ROUTER frontend for the clients, a DEALER backend for a pool of
/// worker actors, and a proxy between them. `TERMINATE` on the pipe stops it.
fn server_task(
    pipe: ActorPipe,
    endpoint: &str,
    workers: u32,
    max_delay_ms: u64,
) -> zmq_patterns::Result<()> {
    let ctx = zmq::Context::new();

    // Frontend socket talks to clients over TCP
    let frontend = ctx.socket(zmq::ROUTER)?;
    frontend.set_linger(0)?;
    frontend.bind_to(endpoint)?;

    // Backend socket talks to workers over inproc
    let backend = ctx.socket(zmq::DEALER)?;
    backend.set_linger(0)?;
    backend.bind_to("inproc://backend")?;

    // Launch pool of worker actors, precise number is not critical
    let mut pool = Vec::new();
    for _ in 0..workers {
        let ctx2 = ctx.clone();
        pool.push(Actor::new(&ctx, move |pipe| {
            server_worker(&ctx2, pipe, max_delay_ms)
        })?);
    }
    pipe.ready()?;

    // Connect backend to frontend via a proxy, steered by our parent through the pipe
    Proxy::new(&frontend, &backend).control(&pipe).run()?;
    Ok(())
}

/// Each worker works on one request at a time and sends a random number of replies back, with
/// random delays between replies.
fn server_worker(
    ctx: &zmq::Context,
    pipe: ActorPipe,
    max_delay_ms: u64,
) -> zmq_patterns::Result<()> {
    let worker = ctx.socket(zmq::DEALER)?;
    worker.set_linger(0)?;
    worker.connect_to("inproc://backend")?;
    pipe.ready()?;

    let mut poller = Poller::new();
    let from_parent = poller.add(&pipe);
    let from_proxy = poller.add(&worker);
    let mut rng = rand::thread_rng();
    loop {
        poller.poll(None)?;
        if poller.is_readable(from_parent) && pipe.is_term(&Msg::recv(&pipe)?) {
            return Ok(());
        }
        if !poller.is_readable(from_proxy) {
            continue;
        }
        // The DEALER socket gives us the reply envelope and message: [identity][content]
        let mut msg = Msg::recv(&worker)?;
        let (Some(identity), Some(content), None) =
            (msg.pop_front(), msg.pop_front(), msg.pop_front())
        else {
            log::warn!("malformed request dropped");
            continue;
        };

        // Send 0..4 replies back
        let replies = rng.gen_range(0..5);
        for _ in 0..replies {
            // Sleep for some fraction of a second, but stop at once if asked to
            let delay = rng.gen_range(0..max_delay_ms.max(1)) + 1;
            if pipe.sleep(Duration::from_millis(delay))? {
                return Ok(());
            }
            Msg::from_iter([&identity, &content]).send(&worker)?;
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let mut clients = Vec::new();
        for _ in 0..args.clients {
            let (endpoint, interval_ms) = (args.connect.clone(), args.interval_ms);
            clients.push(Actor::new(&ctx, move |pipe| {
                client_task(pipe, &endpoint, interval_ms)
            })?);
        }
        let (endpoint, workers, max_delay_ms) =
            (args.bind.clone(), args.workers, args.max_delay_ms);
        let server = Actor::new(&ctx, move |pipe| {
            server_task(pipe, &endpoint, workers, max_delay_ms)
        })
        .map_err(|e| zguide_examples::flag_hint(e, "--bind"))?;

        // Run for a while (5 seconds) then quit: clients first, then the server's proxy
        let outcome = clock::sleep(Duration::from_millis(args.duration_ms));
        drop(clients);
        let _ = server.send("TERMINATE", zmq::DONTWAIT);
        drop(server);
        Ok(outcome?)
    })
}
