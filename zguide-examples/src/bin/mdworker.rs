//! Majordomo worker (guide chapter 4, "Service-Oriented Reliable Queuing (Majordomo Pattern)"):
//! an `echo` service behind the Majordomo broker.
//!
//! Connects to the broker at `tcp://localhost:5555`, registers for the `echo` service and sends
//! every request back as its reply. It heartbeats the broker every 2500 ms while idle; when the
//! broker is silent for 3 intervals (or tells it to disconnect) it waits 2500 ms and registers
//! again on a new socket, so it survives a broker restart. Prints nothing unless `-v`, which
//! shows every message sent and received. Runs until Ctrl-C (exit status 0).
//!
//! Run beside it: `mdbroker`, then `mdclient`, `mdclient2` or `mmiecho`.
//!
//! The protocol is `zmq_patterns::mdp::Worker` (the guide's `mdwrkapi`); `--liveness` sets what
//! the C API declares as `mdwrk_set_liveness` but never implemented.
//!
//! Over CURVE (not in the guide): `--curve-server PATH` (the broker's public certificate, see
//! `mdbroker --curve-secret`) with `--curve-cert PATH` (this program's own certificate, with
//! its secret key, in CZMQ's zcert format). Without CURVE in the linked libzmq they end the
//! program at once with status 1 and `error: unsupported: ...`.

use clap::Parser;
use std::time::Duration;
use zmq_patterns::mdp;

#[derive(Parser)]
#[command(about = "Majordomo worker: echoes the requests of one service")]
struct Args {
    /// Print every message sent and received.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint of the broker.
    #[arg(long, default_value = "tcp://localhost:5555")]
    connect: String,
    /// The service this worker registers for.
    #[arg(long, default_value = "echo")]
    service: String,
    /// Interval between heartbeats to the broker, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    heartbeat_ms: u64,
    /// Wait before registering again with a silent broker, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    reconnect_ms: u64,
    /// Heartbeat intervals of silence after which the broker counts as gone.
    #[arg(long, default_value_t = 3)]
    liveness: u32,
    /// CURVE to the broker (`--curve-server`, `--curve-cert`).
    #[command(flatten)]
    curve: zguide_examples::security::CurveClientFlags,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let config = mdp::WorkerConfig {
            heartbeat: Duration::from_millis(args.heartbeat_ms),
            reconnect: Duration::from_millis(args.reconnect_ms),
            liveness: args.liveness,
        };
        let mut session = match args.curve.load("mdworker")? {
            Some(curve) => {
                mdp::Worker::with_curve(&ctx, &args.connect, &args.service, config, curve)?
            }
            None => mdp::Worker::with_config(&ctx, &args.connect, &args.service, config)?,
        };

        let mut reply = None;
        loop {
            // Ends only with an error: Interrupted on Ctrl-C is a clean exit.
            let request = session.recv(reply.take())?;
            reply = Some(request); // Echo is complex... :-)
        }
    })
}
