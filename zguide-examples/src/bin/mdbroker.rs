//! Majordomo broker (guide chapter 4, "Service-Oriented Reliable Queuing (Majordomo Pattern)"):
//! the Majordomo Protocol (spec 7/MDP) with the service discovery of spec 8/MMI.
//!
//! Binds one ROUTER socket to `tcp://*:5555` for clients and workers alike and prints the
//! timestamped `I: MDP broker/0.2.0 is active at tcp://*:5555`. Workers register a service by
//! name; each client request goes to the service's least recently used idle worker, or waits in
//! the service's queue until one is free. Idle workers get a heartbeat every 2500 ms and are
//! dropped after 3 silent intervals. A request to `mmi.service` is answered by the broker
//! itself: `200` if the named service has workers, `404` if not. `-v` prints every message it
//! receives and sends (the library's log, on stdout). Ctrl-C prints `W: interrupt received, shutting down...` and exits 0.
//!
//! Run beside it: `mdworker` (one or more), then `mdclient`, `mdclient2` or `mmiecho`.
//!
//! The broker is `zmq_patterns::mdp::Broker`; this program only configures and runs it. It fixes
//! the C original's bugs: the `mmi.` prefix is checked on the service a worker registers (the C
//! checked the worker's identity), a stray REPLY cannot queue a worker twice, a malformed message
//! is logged and dropped instead of failing an assertion, and the number of services and queued
//! requests is bounded.

use anyhow::Context;
use clap::Parser;
use zmq_patterns::mdp;

#[derive(Parser)]
#[command(about = "Majordomo broker: routes requests to workers by service name")]
struct Args {
    /// Print every message received and sent.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint the broker's ROUTER socket binds to (clients and workers).
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
    /// Interval between heartbeats to idle workers, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    heartbeat_ms: i64,
    /// Heartbeats a worker may miss before it is dropped.
    #[arg(long, default_value_t = 3)]
    liveness: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let heartbeat_ms = args.heartbeat_ms.max(1);
        let liveness = args.liveness.max(1);
        let config = mdp::BrokerConfig {
            heartbeat_ms,
            liveness,
            // A worker silent for ten expiry periods while it holds a request is taken for dead.
            busy_timeout_ms: Some(10 * heartbeat_ms * i64::from(liveness)),
            ..Default::default()
        };
        let mut broker = mdp::Broker::new(&ctx, config)?;
        broker
            .bind(&args.bind)
            .with_context(|| format!("cannot bind {}", args.bind))?;
        zguide_examples::console!("I: MDP broker/0.2.0 is active at {}", args.bind);
        // Get and process messages forever or until interrupted
        match broker.run() {
            Err(e) if e.is_interrupted() => {
                println!("W: interrupt received, shutting down...");
                Ok(())
            }
            other => Ok(other?),
        }
    })
}
