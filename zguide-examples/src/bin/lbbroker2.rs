//! Load-balancing broker, CZMQ style (guide chapter 3, "A High-Level API for ZeroMQ"): the
//! `lbbroker` example again, shorter with multipart messages, envelope wrap/unwrap and actors.
//!
//! Binds the frontend to `ipc://frontend.ipc` and the backend to `ipc://backend.ipc` and starts
//! ten client actors (REQ: send `HELLO`, print `Client: OK`) and three worker actors (REQ: send
//! `READY`, then print the request frame as `Worker: [005] HELLO` and reply `OK`). Each worker's
//! message queues it as ready; the frontend is polled only while a worker is ready, and each
//! request goes to the worker that has waited longest, so a worker never holds two requests.
//! The broker exits once every client has had its reply; the actors are then stopped.
//!
//! Each worker line ends with the worker's identity, `Worker: [005] HELLO (worker 1A2B-3C4D)`,
//! so that you can see the work spread over the workers.
//! With `--clients 0 --workers 0` it starts no actors and brokers for outside clients and
//! workers (`READY` / `[client][""][reply]` on the backend) until Ctrl-C.
//!
//! Fixes the C original's ending: it returned as soon as the last reply was sent, so the last
//! clients' `Client: OK` lines could be lost; this version waits for the client actors. It
//! also compared the first frame with `READY` over five bytes whatever the frame's length (a
//! read past a shorter frame); here a message is READY only if it is exactly `[READY]`.

use std::collections::VecDeque;

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Actor, ActorPipe, Frame, Msg, Poller, SocketExt};

/// Signals worker is ready
const WORKER_READY: &str = "READY";

#[derive(Parser)]
#[command(about = "Load-balancing broker (CZMQ style) with REQ client and worker actors")]
struct Args {
    /// Endpoint the ROUTER socket for clients binds to.
    #[arg(long, default_value = "ipc://frontend.ipc")]
    frontend: String,
    /// Endpoint the ROUTER socket for workers binds to.
    #[arg(long, default_value = "ipc://backend.ipc")]
    backend: String,
    /// Number of client actors (0: none, and run until Ctrl-C).
    #[arg(long, default_value_t = 10)]
    clients: u32,
    /// Number of worker actors.
    #[arg(long, default_value_t = 3)]
    workers: u32,
}

/// Basic request-reply client using a REQ socket.
fn client_task(ctx: &zmq::Context, pipe: ActorPipe, endpoint: &str) -> zmq_patterns::Result<()> {
    let client = ctx.socket(zmq::REQ)?;
    client.set_linger(0)?;
    client.connect_to(endpoint)?;
    pipe.ready()?;

    // Send request, get reply
    client.send_text("HELLO")?;
    let reply = client.recv_text()?;
    println!("Client: {reply}");
    Ok(())
}

/// Worker using a REQ socket to do load balancing; it stops when its parent says `$TERM`.
fn worker_task(ctx: &zmq::Context, pipe: ActorPipe, endpoint: &str) -> zmq_patterns::Result<()> {
    let worker = ctx.socket(zmq::REQ)?;
    worker.set_linger(0)?;
    let me = worker.set_random_identity()?;
    worker.connect_to(endpoint)?;
    pipe.ready()?;

    // Tell broker we're ready for work
    Frame::from(WORKER_READY).send(&worker, 0)?;

    // Process messages as they arrive
    let mut poller = Poller::new();
    let from_parent = poller.add(&pipe);
    let from_broker = poller.add(&worker);
    loop {
        poller.poll(None)?;
        if poller.is_readable(from_parent) && pipe.is_term(&Msg::recv(&pipe)?) {
            return Ok(());
        }
        if poller.is_readable(from_broker) {
            // [client][""][request]: print the request, answer OK in the same envelope
            let mut msg = Msg::recv(&worker)?;
            if let Some(request) = msg.pop_back() {
                println!("Worker: {request} (worker {me})");
            }
            msg.push_back("OK");
            msg.send(&worker)?;
        }
    }
}

/// Starts `n` actors running `task` on `endpoint`.
fn start(
    ctx: &zmq::Context,
    n: u32,
    endpoint: &str,
    task: fn(&zmq::Context, ActorPipe, &str) -> zmq_patterns::Result<()>,
) -> anyhow::Result<Vec<Actor>> {
    let mut actors = Vec::new();
    for _ in 0..n {
        let (ctx2, endpoint) = (ctx.clone(), endpoint.to_string());
        actors.push(Actor::new(ctx, move |pipe| task(&ctx2, pipe, &endpoint))?);
    }
    Ok(actors)
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

        // Dropped in reverse order: clients are joined first, then workers get $TERM
        let _workers = start(&ctx, args.workers, &args.backend, worker_task)?;
        let clients = start(&ctx, args.clients, &args.frontend, client_task)?;

        // Queue of available workers
        let mut workers: VecDeque<Frame> = VecDeque::new();
        let mut replies = 0;

        // The main load-balancer loop: as in lbbroker, in fewer calls
        while args.clients == 0 || replies < args.clients {
            // Poll frontend only if we have available workers
            let mut poller = Poller::new();
            let from_workers = poller.add(&backend);
            let from_clients = (!workers.is_empty()).then(|| poller.add(&frontend));
            poller.poll(None)?;

            // Handle worker activity on backend
            if poller.is_readable(from_workers) {
                // Use worker identity for load balancing
                let mut msg = Msg::recv(&backend)?;
                let Some(identity) = msg.pop_envelope().filter(|_| !msg.is_empty()) else {
                    log::warn!("malformed message from a worker dropped");
                    continue;
                };
                workers.push_back(identity);

                // Forward message to client if it's not a READY
                if msg.len() != 1 || msg[0] != WORKER_READY {
                    msg.send(&frontend)?;
                    replies += 1;
                }
            }
            if from_clients.is_some_and(|i| poller.is_readable(i)) {
                // Get client request, route to first available worker
                let mut msg = Msg::recv(&frontend)?;
                if let Some(identity) = workers.pop_front() {
                    msg.push_envelope(identity);
                    msg.send(&backend)?;
                }
            }
        }
        // Each client ends after printing its reply: stopping it waits for that
        for client in clients {
            if let Err(e) = client.stop() {
                log::warn!("client: {e}");
            }
        }
        Ok(())
    })
}
