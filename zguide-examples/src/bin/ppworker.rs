//! Paranoid Pirate worker (guide chapter 4, "Robust Reliable Queuing (Paranoid Pirate
//! Pattern)"): a DEALER worker for `ppqueue` that heartbeats, notices a dead queue and
//! reconnects with an exponential back-off (spec 6/PPP).
//!
//! Connects a DEALER socket to `tcp://localhost:5556`, prints `I: worker ready` and sends
//! READY (`\x01`). A request `[client][""][body...]` is echoed (`I: normal reply`), followed
//! by a second of "work"; a HEARTBEAT (`\x02`) from the queue shows it is alive. Every
//! heartbeat interval (1000 ms) the worker sends HEARTBEAT (`I: worker heartbeat`). When the
//! queue has been silent for `liveness` (3) intervals it prints `W: heartbeat failure, can't
//! reach queue` and `W: reconnecting in N msec...`, waits, and starts again with a new
//! socket; the wait doubles from 1 s up to 32 s until the queue is heard again. After three
//! cycles it now and then (odds 1 in 5) simulates a crash (`I: simulating a crash`, then exits)
//! or a CPU overload (`I: simulating CPU overload`, three seconds more).
//!
//! Run beside it: `ppqueue` and `lpclient`. `--crash-after N` / `--overload-after N` make the
//! trouble happen on request N+1 instead of at random, `--reliable` never, `--seed` repeats a
//! random run. Ctrl-C stops it (status 0), even while it waits to reconnect.
//!
//! Unlike the C original it never blocks on a send: a heartbeat or reply the queue cannot
//! take now is dropped (the queue's own liveness covers it).

use clap::Parser;
use std::time::{Duration, Instant};
use zmq_patterns::heartbeat::{HEARTBEAT, HeartbeatConfig, Liveness, READY};
use zmq_patterns::{Frame, Msg, Poller, SocketExt, clock};

use zguide_examples::pirate_trouble::{Simulator, Trouble, TroubleArgs};

#[derive(Parser)]
#[command(about = "Paranoid Pirate worker: DEALER with heartbeats and reconnect back-off")]
struct Args {
    /// Endpoint of the queue's backend.
    #[arg(long, default_value = "tcp://localhost:5556")]
    connect: String,
    /// Heartbeat interval, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    heartbeat_ms: u64,
    /// Heartbeat intervals without a word before the queue counts as dead.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    liveness: u32,
    /// First reconnect delay, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    reconnect_ms: u64,
    /// Longest reconnect delay, after doubling, in milliseconds.
    #[arg(long, default_value_t = 32000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    reconnect_max_ms: u64,
    /// Work after each reply, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
    /// Extra time a simulated CPU overload takes, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    overload_ms: u64,
    #[command(flatten)]
    trouble: TroubleArgs,
}

/// A new DEALER socket connected to the queue, which has been told we are ready.
fn worker_socket(ctx: &zmq::Context, endpoint: &str) -> anyhow::Result<zmq::Socket> {
    let worker = ctx.socket(zmq::DEALER)?;
    worker.set_linger(0)?;
    worker.connect_to(endpoint)?;

    // Tell queue we're ready for work
    println!("I: worker ready");
    if let Err(e) = Frame::from(READY).send(&worker, zmq::DONTWAIT) {
        log::warn!("READY dropped: {}", e.error);
    }
    Ok(worker)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let config = HeartbeatConfig {
            interval: Duration::from_millis(args.heartbeat_ms),
            liveness: args.liveness,
            reconnect_initial: Duration::from_millis(args.reconnect_ms),
            reconnect_max: Duration::from_millis(args.reconnect_max_ms.max(args.reconnect_ms)),
        };
        let ctx = zmq::Context::new();
        let mut worker = worker_socket(&ctx, &args.connect)?;

        // If liveness hits zero, queue is considered disconnected
        let mut liveness = Liveness::new(config, Instant::now());
        let mut simulator = Simulator::new(&args.trouble, 5);

        loop {
            let mut poller = Poller::new();
            poller.add(&worker);
            if poller.poll(Some(liveness.poll_timeout()))? > 0 {
                // Get message
                // - 3-part envelope + content -> request
                // - 1-part HEARTBEAT -> heartbeat
                let msg = Msg::recv(&worker)?;
                if msg.len() >= 3 && msg[1].is_empty() {
                    // Simulate various problems, after a few cycles
                    match simulator.next_request() {
                        Trouble::Crash => {
                            println!("I: simulating a crash");
                            return Ok(());
                        }
                        Trouble::Overload => {
                            println!("I: simulating CPU overload");
                            clock::sleep(Duration::from_millis(args.overload_ms))?;
                        }
                        Trouble::None => {}
                    }
                    println!("I: normal reply");
                    if let Err(e) = msg.try_send(&worker) {
                        log::warn!("reply dropped: {}", e.error);
                    }
                    liveness.heard();
                    clock::sleep(Duration::from_millis(args.work_ms))?; // Do some heavy work
                } else if msg.len() == 1 && msg[0] == HEARTBEAT {
                    // The queue was (recently) alive
                    liveness.heard();
                } else {
                    println!("E: invalid message");
                    log::warn!("invalid message from the queue:\n{msg}");
                }
            } else if let Some(delay) = liveness.silence() {
                // The queue hasn't sent us heartbeats in a while: destroy the socket (and
                // whatever it still holds) and reconnect
                println!("W: heartbeat failure, can't reach queue");
                println!("W: reconnecting in {} msec...", delay.as_millis());
                drop(worker);
                clock::sleep(delay)?;
                worker = worker_socket(&ctx, &args.connect)?;
                liveness.reconnected(Instant::now());
            }

            // Send heartbeat to queue if it's time
            if liveness.heartbeat_due(Instant::now()) {
                println!("I: worker heartbeat");
                if let Err(e) = Frame::from(HEARTBEAT).send(&worker, zmq::DONTWAIT) {
                    log::debug!("heartbeat dropped: {}", e.error);
                }
            }
        }
    })
}
