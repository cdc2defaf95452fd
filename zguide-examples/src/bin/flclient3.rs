//! Freelance client, Model Three (guide chapter 4, "Brokerless Reliability (Freelance
//! Pattern)"): the client API `zmq_patterns::freelance::Client` (the guide's `flcliapi`) at
//! work.
//!
//! Connects to `tcp://localhost:5555`, `5556` and `5557` (`--connect`, repeatable; prints
//! `I: connecting to <ep>...` for each) and makes 10,000 requests (`--requests`), `random name`,
//! each answered by one server. The client's agent pings each server every 2000 ms
//! (`--heartbeat-ms`), forgets one silent for three pings, sends each request to the first live
//! server and, after 1000 ms (`--try-ms`) without a reply, to the next. Prints `Average round
//! trip cost: N usec`. If no server replies within 3000 ms (`--timeout-ms`) it prints
//! `E: name service not available, aborting` and exits with status 1.
//!
//! Run beside it: `flserver3` ×3, e.g. `flserver3 --bind tcp://*:5555 &`, `... 5556 &`,
//! `... 5557 &`; kill any two while it runs and it goes on.
//!
//! Differs from the C original: the guide's client failed over for ever when every server was
//! gone (zguide issue #169); this one gives up after the global timeout, with status 1 and no
//! average. The average is the elapsed time over the requests made (the C divided ms by 10).

use clap::Parser;
use std::time::{Duration, Instant};
use zmq_patterns::Msg;
use zmq_patterns::freelance::{Client, ClientConfig};

#[derive(Parser)]
#[command(about = "Freelance client, Model Three: flcliapi against three servers")]
struct Args {
    /// Endpoints of the servers, in order of preference.
    #[arg(
        long,
        num_args = 1..,
        default_values = ["tcp://localhost:5555", "tcp://localhost:5556", "tcp://localhost:5557"]
    )]
    connect: Vec<String>,
    /// Number of requests.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    requests: u64,
    /// If no server replies within this time, give up (milliseconds).
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// How long one server has to reply before the request goes to the next (milliseconds).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    try_ms: u64,
    /// Ping interval (milliseconds); a server silent for three intervals is forgotten.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let heartbeat = Duration::from_millis(args.heartbeat_ms);
        let config = ClientConfig {
            ping_interval: heartbeat,
            server_ttl: heartbeat * 3,
            timeout: Duration::from_millis(args.timeout_ms),
            try_timeout: Duration::from_millis(args.try_ms),
        };
        let mut client = Client::with_config(&ctx, config)?;
        for endpoint in &args.connect {
            println!("I: connecting to {endpoint}...");
            client.connect(endpoint)?;
        }

        // Send a bunch of name resolution 'requests', measure time
        let start = Instant::now();
        for _ in 0..args.requests {
            match client.request(Msg::from_iter(["random name"])) {
                Ok(_) => {}
                Err(e) if e.is_timeout() => {
                    println!("E: name service not available, aborting");
                    anyhow::bail!("no server replied within {} ms", args.timeout_ms);
                }
                Err(e) => return Err(e.into()),
            }
        }
        println!(
            "Average round trip cost: {} usec",
            start.elapsed().as_micros() / u128::from(args.requests)
        );
        Ok(())
    })
}
