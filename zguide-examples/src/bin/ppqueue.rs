//! Paranoid Pirate queue (guide chapter 4, "Robust Reliable Queuing (Paranoid Pirate
//! Pattern)"): the Simple Pirate queue with heartbeating, so that it notices dead or blocked
//! workers (spec 6/PPP).
//!
//! Binds a ROUTER for clients to `tcp://*:5555` and a ROUTER for workers (DEALER) to
//! `tcp://*:5556`. Any sign of life from a worker (READY `\x01`, HEARTBEAT `\x02`, a reply)
//! puts it at the back of the ready list; each client request goes to the worker at the front.
//! Every heartbeat interval (1000 ms) the queue sends HEARTBEAT to its idle workers and forgets
//! those it has not heard from for `liveness` (3) intervals. Prints `E: invalid message from
//! worker` for a worker message that breaks the protocol; runs until Ctrl-C (status 0).
//!
//! Run beside it: `lpclient` and a few `ppworker`s (kill, stop and restart them at will).
//!
//! Fixes the C original's fragility: it forwarded any worker message of two frames or more to
//! the frontend, counted invalid messages as signs of life, printed its error line without a
//! newline and could hand a request to a worker that had expired during the poll. Here a
//! worker message must be exactly READY, HEARTBEAT or a reply `[client][""][body...]`, a client
//! request must be `[client][""][body...]`; anything else is logged and dropped. Requests and
//! heartbeats go only to workers still connected (the backend is ROUTER_MANDATORY), nothing is
//! sent with a blocking call, and the poll waits only until the next heartbeat is due (the C
//! waited a full interval, so heartbeats could be late by up to one interval).

use clap::Parser;
use std::time::{Duration, Instant};
use zguide_examples::bind;
use zmq_patterns::heartbeat::{HEARTBEAT, HeartbeatConfig, READY, ReadyQueue};
use zmq_patterns::{Frame, Msg, Poller, SendError};

#[derive(Parser)]
#[command(about = "Paranoid Pirate queue: load balancing with heartbeats and worker expiry")]
struct Args {
    /// Endpoint the ROUTER socket for clients binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    frontend: String,
    /// Endpoint the ROUTER socket for workers binds to.
    #[arg(long, default_value = "tcp://*:5556")]
    backend: String,
    /// Heartbeat interval, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    heartbeat_ms: u64,
    /// Heartbeat intervals without a word before a worker counts as dead.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    liveness: u32,
}

/// True for `[address][""][body...]`: a client request, or a worker's reply to one.
fn is_enveloped(msg: &Msg) -> bool {
    msg.len() >= 3 && msg[1].is_empty() && !msg[0].is_empty()
}

/// Sends a client request to the next available worker that is still connected.
fn route(mut request: Msg, workers: &mut ReadyQueue, backend: &zmq::Socket) -> anyhow::Result<()> {
    while let Some(worker) = workers.pop(Instant::now()) {
        // [worker][client][""][body...]: the DEALER worker gets [client][""][body...]
        request.push_front(worker);
        match request.route(backend)? {
            None => return Ok(()),
            Some(back) => {
                log::warn!("worker gone or not reading, skipped");
                request = back;
                request.pop_front();
            }
        }
    }
    log::warn!("no worker left for a request, dropped");
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let config = HeartbeatConfig {
            interval: Duration::from_millis(args.heartbeat_ms),
            liveness: args.liveness,
            ..Default::default()
        };
        let ctx = zmq::Context::new();
        let frontend = ctx.socket(zmq::ROUTER)?;
        let backend = ctx.socket(zmq::ROUTER)?;
        frontend.set_linger(0)?;
        backend.set_linger(0)?;
        backend.set_router_mandatory(true)?;
        bind(&frontend, &args.frontend, "--frontend")?; // For clients
        bind(&backend, &args.backend, "--backend")?; // For workers
        zguide_examples::console!(
            "I: Paranoid Pirate queue is active: clients at {}, workers at {}",
            args.frontend,
            args.backend
        );

        // List of available workers, expiring when not heard for `liveness` intervals
        let mut workers = ReadyQueue::new(config.expiry());

        // Send out heartbeats at regular intervals
        let mut heartbeat_at = Instant::now() + config.interval;

        loop {
            // Poll frontend only if we have available workers
            let mut poller = Poller::new();
            let from_workers = poller.add(&backend);
            let from_clients = (!workers.is_empty()).then(|| poller.add(&frontend));
            poller.poll(Some(heartbeat_at.saturating_duration_since(Instant::now())))?;

            // Handle worker activity on backend: [worker][command] or
            // [worker][client][""][body...]
            if poller.is_readable(from_workers) {
                let mut msg = Msg::recv(&backend)?;
                let worker = msg.pop_front().unwrap_or_default();
                let command = msg.len() == 1 && (msg[0] == READY || msg[0] == HEARTBEAT);
                if command || is_enveloped(&msg) {
                    // Any sign of life from worker means it's ready
                    workers.ready(worker, Instant::now());
                    if !command {
                        // Return reply to client; a client that has gone is dropped
                        if let Err(e) = msg.send_flags(&frontend, zmq::DONTWAIT) {
                            log::warn!("reply to a client dropped: {}", e.error);
                        }
                    }
                } else {
                    println!("E: invalid message from worker");
                    log::warn!("from worker {worker}:\n{msg}");
                }
            }
            // Now get next client request, route to next worker
            if from_clients.is_some_and(|i| poller.is_readable(i)) {
                let msg = Msg::recv(&frontend)?;
                if is_enveloped(&msg) {
                    route(msg, &mut workers, &backend)?;
                } else {
                    log::warn!("invalid request from a client, dropped:\n{msg}");
                }
            }

            // Forget the dead workers, then send heartbeats to the idle ones if it's time
            let now = Instant::now();
            for worker in workers.purge(now) {
                log::info!("worker {worker} expired");
            }
            if now >= heartbeat_at {
                let idle: Vec<Frame> = workers.iter().cloned().collect();
                for worker in idle {
                    let heartbeat = Msg::from_iter([worker.clone(), Frame::from(HEARTBEAT)]);
                    match heartbeat.send_flags(&backend, zmq::DONTWAIT) {
                        Ok(()) => {}
                        Err(SendError { error, .. })
                            if error.zmq() == Some(zmq::Error::EHOSTUNREACH) =>
                        {
                            log::info!("worker {worker} disconnected");
                            workers.remove(&worker);
                        }
                        // Its queue is full: it is not reading, and will expire
                        Err(SendError { error, .. }) if error.zmq() == Some(zmq::Error::EAGAIN) => {
                        }
                        Err(SendError { error, .. }) => return Err(error.into()),
                    }
                }
                heartbeat_at = now + config.interval;
            }
        }
    })
}
