//! Service discovery (guide chapter 4, "Service Discovery"): asks the Majordomo broker whether
//! a service has workers, through the broker's own `mmi.service` service (spec 8/MMI).
//!
//! Connects to the broker at `tcp://localhost:5555`, sends `echo` to `mmi.service` and prints
//! `Lookup echo service: 200` if the broker has `echo` workers, `Lookup echo service: 404` if
//! not. With no broker there (no reply after 3 tries of 2500 ms) it prints
//! `E: no response from broker, make sure it's running` and exits with status 1.
//!
//! Run beside it: `mdbroker`, with or without an `mdworker`.

use anyhow::anyhow;
use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Error, Msg, mdp};

#[derive(Parser)]
#[command(about = "Asks the Majordomo broker whether the echo service has workers")]
struct Args {
    /// Print the request and the reply.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint of the broker.
    #[arg(long, default_value = "tcp://localhost:5555")]
    connect: String,
    /// The service to look up.
    #[arg(long, default_value = "echo")]
    service: String,
    /// How long to wait for the reply, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    timeout_ms: u64,
    /// How many times the request is sent before giving up.
    #[arg(long, default_value_t = 3)]
    retries: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let mut session = mdp::Client::new(&ctx, &args.connect)?;
        session.set_timeout(Duration::from_millis(args.timeout_ms));
        session.set_retries(args.retries);

        // This is the service we want to look up
        let request = Msg::from_iter([args.service.as_str()]);
        // This is the service we send our request to
        match session.send("mmi.service", request) {
            Ok(reply) => {
                let code = reply
                    .front()
                    .map(|f| f.to_string_lossy())
                    .unwrap_or_default();
                println!("Lookup {} service: {code}", args.service);
                Ok(())
            }
            Err(Error::Timeout) => {
                println!("E: no response from broker, make sure it's running");
                Err(anyhow!("no reply from the broker at {}", args.connect))
            }
            Err(e) => Err(e.into()),
        }
    })
}
