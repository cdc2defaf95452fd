//! Asynchronous Majordomo client (guide chapter 4, "Asynchronous Majordomo Pattern"): many
//! requests in flight through the Majordomo broker.
//!
//! Connects a DEALER socket to the broker at `tcp://localhost:5555`, sends 100,000 `Hello world`
//! requests to the `echo` service without waiting, then collects the replies, waiting up to
//! 2500 ms for each. Prints `N replies received`. `-v` shows every request and reply.
//!
//! Run beside it: `mdbroker` and one or more `mdworker`.
//!
//! If a reply does not come in time (or on Ctrl-C) it stops there and prints how many came, as
//! the C original does; missing replies also make it exit with status 1 and `error: ...` on
//! stderr (Ctrl-C exits 0). The protocol is `zmq_patterns::mdp::AsyncClient` (the guide's
//! `mdcliapi2`).
//!
//! Over CURVE (not in the guide): `--curve-server PATH` (the broker's public certificate, see
//! `mdbroker --curve-secret`) with `--curve-cert PATH` (this program's own certificate, with
//! its secret key, in CZMQ's zcert format). Without CURVE in the linked libzmq they end the
//! program at once with status 1 and `error: unsupported: ...`.

use anyhow::anyhow;
use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Msg, mdp};

#[derive(Parser)]
#[command(about = "Majordomo client: asynchronous echo requests")]
struct Args {
    /// Print every request and reply.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint of the broker.
    #[arg(long, default_value = "tcp://localhost:5555")]
    connect: String,
    /// Number of requests.
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// The service the requests go to.
    #[arg(long, default_value = "echo")]
    service: String,
    /// How long to wait for each reply, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    timeout_ms: u64,
    /// CURVE to the broker (`--curve-server`, `--curve-cert`).
    #[command(flatten)]
    curve: zguide_examples::security::CurveClientFlags,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let mut session = match args.curve.load("mdclient2")? {
            Some(curve) => mdp::AsyncClient::with_curve(&ctx, &args.connect, curve)?,
            None => mdp::AsyncClient::new(&ctx, &args.connect)?,
        };
        session.set_timeout(Duration::from_millis(args.timeout_ms));

        let mut count = 0;
        let mut failure = None;
        let mut sent = 0;
        while sent < args.requests {
            // Blocks while the socket's queue is full (no broker yet): Ctrl-C ends the wait.
            match session.send(&args.service, Msg::from_iter(["Hello world"])) {
                Ok(()) => sent += 1,
                Err(e) if e.is_interrupted() => break,
                Err(e) => return Err(e.into()),
            }
        }
        while count < sent {
            match session.recv() {
                Ok(Some(_reply)) => count += 1,
                Ok(None) => {
                    failure = Some(anyhow!(
                        "no reply within {} ms; {} requests unanswered",
                        args.timeout_ms,
                        sent - count
                    ));
                    break;
                }
                Err(e) if e.is_interrupted() => break, // Interrupted by Ctrl-C
                Err(e) => {
                    failure = Some(e.into());
                    break;
                }
            }
        }
        println!("{count} replies received");
        failure.map_or(Ok(()), Err)
    })
}
