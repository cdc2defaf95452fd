//! Majordomo client (guide chapter 4, "Service-Oriented Reliable Queuing (Majordomo Pattern)"):
//! synchronous requests to a service through the Majordomo broker.
//!
//! Connects to the broker at `tcp://localhost:5555` and sends 100,000 `Hello world` requests to
//! the `echo` service, one at a time, each waiting for its reply: up to 2500 ms, then it resends
//! on a new socket, 3 tries in all. Prints `N requests/replies processed` at the end. `-v` shows
//! every request and reply.
//!
//! Run beside it: `mdbroker` and one or more `mdworker`.
//!
//! If a request gets no reply after all its tries (or on Ctrl-C) it stops there and prints how
//! many requests were processed, as the C original does; a request that failed also makes it
//! exit with status 1 and `error: ...` on stderr (Ctrl-C exits 0). The protocol is
//! `zmq_patterns::mdp::Client` (the guide's `mdcliapi`).
//!
//! Over CURVE (not in the guide): `--curve-server PATH` (the broker's public certificate, see
//! `mdbroker --curve-secret`) with `--curve-cert PATH` (this program's own certificate, with
//! its secret key, in CZMQ's zcert format). Without CURVE in the linked libzmq they end the
//! program at once with status 1 and `error: unsupported: ...`.

use anyhow::anyhow;
use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Error, Msg, mdp};

#[derive(Parser)]
#[command(about = "Majordomo client: synchronous echo requests")]
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
    /// How many times a request is sent before giving up.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Pause after each reply before the next request, in milliseconds (the C original: none).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// CURVE to the broker (`--curve-server`, `--curve-cert`).
    #[command(flatten)]
    curve: zguide_examples::security::CurveClientFlags,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let mut session = match args.curve.load("mdclient")? {
            Some(curve) => mdp::Client::with_curve(&ctx, &args.connect, curve)?,
            None => mdp::Client::new(&ctx, &args.connect)?,
        };
        session.set_timeout(Duration::from_millis(args.timeout_ms));
        session.set_retries(args.retries);

        let mut count = 0;
        let mut failure = None;
        while count < args.requests {
            let request = Msg::from_iter(["Hello world"]);
            match session.send(&args.service, request) {
                Ok(_reply) => {
                    count += 1;
                    let pause = Duration::from_millis(args.interval_ms);
                    if !pause.is_zero() && zmq_patterns::clock::sleep(pause).is_err() {
                        break; // interrupted
                    }
                }
                Err(e) if e.is_interrupted() => break,
                Err(Error::Timeout) => {
                    failure = Some(anyhow!(
                        "no reply from service {} after {} tries",
                        args.service,
                        args.retries.max(1)
                    ));
                    break;
                }
                Err(e) => {
                    failure = Some(e.into());
                    break;
                }
            }
        }
        println!("{count} requests/replies processed");
        failure.map_or(Ok(()), Err)
    })
}
