//! Simple Pirate queue (guide chapter 4, "Basic Reliable Queuing (Simple Pirate Pattern)"): the
//! load-balancing broker of chapter 3 between Lazy Pirate clients and workers, with no
//! reliability of its own; the clients' retries recover lost requests.
//!
//! Binds a ROUTER for clients to `tcp://*:5555` and a ROUTER for workers to `tcp://*:5556`. A
//! worker (REQ) says READY (`\x01`); each client request `[client][""][body...]` goes to the
//! worker that has waited longest, and its reply goes back to the client. The frontend is read
//! only while a worker is ready. Prints nothing; runs until Ctrl-C (status 0).
//!
//! Run beside it: `lpclient` and a few `spworker`s (kill and restart them at will).
//!
//! Fixes the C original's fragility: it took any first byte `\x01` for READY, forwarded
//! anything else to the frontend and crashed on an empty message. Here a worker message must
//! be exactly READY or a reply `[client][""][body...]`, a client request must be `[client][""]
//! [body...]`; anything else is logged and dropped, and only a well-behaved worker is queued
//! (once, however often it says READY). Requests go only to workers still connected (the
//! backend is ROUTER_MANDATORY, a worker that has gone is skipped), and nothing is sent with a
//! blocking call, so no peer can stall the queue.

use clap::Parser;
use std::time::{Duration, Instant};
use zguide_examples::bind;
use zmq_patterns::heartbeat::{READY, ReadyQueue};
use zmq_patterns::{Msg, Poller};

#[derive(Parser)]
#[command(about = "Simple Pirate queue: load-balancing ROUTER/ROUTER broker")]
struct Args {
    /// Endpoint the ROUTER socket for clients binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    frontend: String,
    /// Endpoint the ROUTER socket for workers binds to.
    #[arg(long, default_value = "tcp://*:5556")]
    backend: String,
}

/// Simple Pirate workers never expire.
const NEVER: Duration = Duration::MAX;

/// True for `[address][""][body...]`: the envelope of a REQ peer's message.
fn is_enveloped(msg: &Msg) -> bool {
    msg.len() >= 3 && msg[1].is_empty() && !msg[0].is_empty()
}

/// Sends a client request to the longest-waiting worker that is still connected.
fn route(mut request: Msg, workers: &mut ReadyQueue, backend: &zmq::Socket) -> anyhow::Result<()> {
    while let Some(worker) = workers.pop(Instant::now()) {
        request.push_envelope(worker);
        match request.route(backend)? {
            None => return Ok(()),
            Some(back) => {
                log::warn!("worker gone or not reading, skipped");
                request = back;
                request.pop_envelope();
            }
        }
    }
    log::warn!("no worker left for a request, dropped");
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let frontend = ctx.socket(zmq::ROUTER)?;
        let backend = ctx.socket(zmq::ROUTER)?;
        frontend.set_linger(0)?;
        backend.set_linger(0)?;
        backend.set_router_mandatory(true)?;
        bind(&frontend, &args.frontend, "--frontend")?; // For clients
        bind(&backend, &args.backend, "--backend")?; // For workers
        zguide_examples::console!(
            "I: Simple Pirate queue is active: clients at {}, workers at {}",
            args.frontend,
            args.backend
        );

        // Queue of available workers
        let mut workers = ReadyQueue::new(NEVER);

        loop {
            // Poll frontend only if we have available workers
            let mut poller = Poller::new();
            let from_workers = poller.add(&backend);
            let from_clients = (!workers.is_empty()).then(|| poller.add(&frontend));
            poller.poll(None)?;

            // Handle worker activity on backend: [worker][""][READY] or a reply
            // [worker][""][client][""][body...]
            if poller.is_readable(from_workers) {
                let mut msg = Msg::recv(&backend)?;
                if !is_enveloped(&msg) {
                    log::warn!("invalid message from a worker, dropped:\n{msg}");
                } else if let Some(worker) = msg.pop_envelope() {
                    // Forward message to client if it's not a READY
                    if msg.len() == 1 && msg[0] == READY {
                        workers.ready(worker, Instant::now());
                    } else if is_enveloped(&msg) {
                        workers.ready(worker, Instant::now());
                        // A client that has gone is dropped by the ROUTER; never blocks
                        if let Err(e) = msg.send_flags(&frontend, zmq::DONTWAIT) {
                            log::warn!("reply to a client dropped: {}", e.error);
                        }
                    } else {
                        log::warn!("invalid message from worker {worker}, dropped:\n{msg}");
                    }
                }
            }
            // Get client request, route to first available worker
            if from_clients.is_some_and(|i| poller.is_readable(i)) {
                let msg = Msg::recv(&frontend)?;
                if is_enveloped(&msg) {
                    route(msg, &mut workers, &backend)?;
                } else {
                    log::warn!("invalid request from a client, dropped:\n{msg}");
                }
            }
        }
    })
}
