//! Load-balancing broker on a reactor (guide chapter 3, "A High-Level API for ZeroMQ"): the
//! `lbbroker2` example with its main loop turned into handlers of an event loop (CZMQ's
//! `zloop`).
//!
//! Binds the frontend to `ipc://frontend.ipc` and the backend to `ipc://backend.ipc` and starts
//! ten client threads (REQ: send `HELLO`, print `Client: OK`, once a second for ever) and three
//! worker threads (REQ: send the one-byte `\x01` ready signal, then print the request frame as
//! `Worker: [005] HELLO` and reply `OK`). The backend handler queues each worker that speaks and
//! turns the frontend reader on when the queue stops being empty; the frontend handler sends
//! each request to the worker that has waited longest and turns itself off when no worker is
//! left. So a worker never holds two requests. Runs until Ctrl-C (exit status 0).
//!
//! Each worker line ends with the worker's identity, `Worker: [005] HELLO (worker 1A2B-3C4D)`
//! (the C original has this print commented out), so that you can see the work spread.
//! `--requests N` makes each client stop after N requests; with `--clients 0 --workers 0` it
//! brokers only for outside clients and workers.
//!
//! Fixes the C original's READY test, which looked at the first byte of the first frame only:
//! a reply to a client whose identity starts with `\x01` was taken for READY and lost. Here a
//! message is READY only if it is exactly the one frame `\x01`. A worker thread that fails
//! ends the process with status 1 rather than leave the broker with nobody to serve.

use std::collections::VecDeque;
use std::time::Duration;

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::reactor::{Flow, Reactor, ReaderId};
use zmq_patterns::{Frame, Msg, SocketExt, clock};

/// Signals worker is ready
const WORKER_READY: &[u8] = b"\x01";

#[derive(Parser)]
#[command(about = "Load-balancing broker on a reactor, with REQ clients and workers")]
struct Args {
    /// Endpoint the ROUTER socket for clients binds to.
    #[arg(long, default_value = "ipc://frontend.ipc")]
    frontend: String,
    /// Endpoint the ROUTER socket for workers binds to.
    #[arg(long, default_value = "ipc://backend.ipc")]
    backend: String,
    /// Number of client threads.
    #[arg(long, default_value_t = 10)]
    clients: u32,
    /// Number of worker threads.
    #[arg(long, default_value_t = 3)]
    workers: u32,
    /// Pause between a client's requests, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Requests per client (0: for ever).
    #[arg(long, default_value_t = 0)]
    requests: u64,
}

/// Basic request-reply client using a REQ socket.
fn client_task(endpoint: &str, interval_ms: u64, requests: u64) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let client = ctx.socket(zmq::REQ)?;
    client.set_linger(0)?;
    client.connect_to(endpoint)?;

    // Send request, get reply
    let mut sent = 0;
    while requests == 0 || sent < requests {
        client.send_text("HELLO")?;
        let reply = client.recv_text()?;
        println!("Client: {reply}");
        sent += 1;
        clock::sleep(Duration::from_millis(interval_ms))?;
    }
    Ok(())
}

/// Worker using a REQ socket to do load balancing.
fn worker_task(endpoint: &str) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let worker = ctx.socket(zmq::REQ)?;
    worker.set_linger(0)?;
    let me = worker.set_random_identity()?;
    worker.connect_to(endpoint)?;

    // Tell broker we're ready for work
    Frame::from(WORKER_READY).send(&worker, 0)?;

    // Process messages as they arrive: [client][""][request] -> [client][""][OK]
    loop {
        let mut msg = Msg::recv(&worker)?;
        if let Some(request) = msg.pop_back() {
            println!("Worker: {request} (worker {me})");
        }
        msg.push_back("OK");
        msg.send(&worker)?;
    }
}

/// Our load-balancer state, passed to the reactor's handlers.
#[derive(Default)]
struct LbBroker {
    /// Ready workers, longest waiting first.
    workers: VecDeque<Frame>,
    /// The frontend reader, while there is a worker to give requests to.
    frontend_reader: Option<ReaderId>,
}

type Handler<'s> =
    Box<dyn FnMut(&mut Reactor<'s, LbBroker>, &mut LbBroker) -> zmq_patterns::Result<Flow> + 's>;

/// Handles input from a client, on the frontend.
fn handle_frontend<'s>(frontend: &'s zmq::Socket, backend: &'s zmq::Socket) -> Handler<'s> {
    Box::new(move |reactor, lb| {
        let mut msg = Msg::recv(frontend)?;
        if let Some(worker) = lb.workers.pop_front() {
            msg.push_envelope(worker);
            msg.send(backend)?;
        }
        // Cancel reader on frontend if we went from 1 to 0 workers
        if lb.workers.is_empty() {
            if let Some(id) = lb.frontend_reader.take() {
                reactor.remove_reader(id);
            }
        }
        Ok(Flow::Continue)
    })
}

/// Handles input from a worker, on the backend.
fn handle_backend<'s>(frontend: &'s zmq::Socket, backend: &'s zmq::Socket) -> Handler<'s> {
    Box::new(move |reactor, lb| {
        // Use worker identity for load balancing
        let mut msg = Msg::recv(backend)?;
        let Some(identity) = msg.pop_envelope().filter(|_| !msg.is_empty()) else {
            log::warn!("malformed message from a worker dropped");
            return Ok(Flow::Continue);
        };
        lb.workers.push_back(identity);

        // Enable reader on frontend if we went from 0 to 1 workers
        if lb.frontend_reader.is_none() {
            lb.frontend_reader =
                Some(reactor.add_reader(frontend, handle_frontend(frontend, backend)));
        }
        // Forward message to client if it's not a READY
        if msg.len() != 1 || msg[0] != WORKER_READY {
            msg.send(frontend)?;
        }
        Ok(Flow::Continue)
    })
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let frontend = ctx.socket(zmq::ROUTER)?;
        let backend = ctx.socket(zmq::ROUTER)?;
        frontend.set_linger(0)?;
        backend.set_linger(0)?;
        bind(&frontend, &args.frontend, "--frontend")?;
        bind(&backend, &args.backend, "--backend")?;

        // The ipc files we bound (the guide's defaults are in the working directory) go
        // when we return, Ctrl-C included.
        let _ipc_files = zguide_examples::IpcFiles::bound([&args.frontend, &args.backend]);

        // Clients and workers end with the process
        for _ in 0..args.clients {
            let (endpoint, interval_ms, requests) =
                (args.frontend.clone(), args.interval_ms, args.requests);
            std::thread::spawn(move || {
                if let Err(e) = client_task(&endpoint, interval_ms, requests) {
                    log::debug!("client stopped: {e}");
                }
            });
        }
        for _ in 0..args.workers {
            let endpoint = args.backend.clone();
            zguide_examples::spawn_vital("worker", move || worker_task(&endpoint));
        }

        // Prepare reactor and fire it up; Ctrl-C ends it
        let mut reactor = Reactor::new();
        reactor.add_reader(&backend, handle_backend(&frontend, &backend));
        reactor.run(&mut LbBroker::default())?;
        Ok(())
    })
}
