//! Freelance client, Model One (guide chapter 4, "Brokerless Reliability (Freelance Pattern)"):
//! Lazy Pirate against one or several servers.
//!
//! Sends one request, `Hello world`, on a new REQ socket per try, and waits 1000 ms
//! (`--timeout-ms`) for the reply. With one endpoint it tries that server up to 3 times
//! (`--retries`), printing `W: no response from <ep>, retrying...` after each silence; with
//! several it tries each once in turn (`W: no response from <ep>`). Each try prints
//! `I: trying echo service at <ep>...`; a reply prints `Service is running OK`.
//!
//! Run beside it: `flserver1` (one or more), e.g. `flserver1 tcp://*:5555 &`,
//! `flserver1 tcp://*:5556 &`, then `flclient1 tcp://localhost:5555 tcp://localhost:5556`.
//!
//! Differs from the C original: when no server answers it prints
//! `E: echo service not available, abandoning` and exits with status 1 (the C exited 0 without
//! a word); without an endpoint it is a usage error (status 2).

use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Msg, Poller};

#[derive(Parser)]
#[command(about = "Freelance client, Model One: REQ with retry and failover")]
struct Args {
    /// Endpoints of the echo servers, e.g. tcp://localhost:5555.
    #[arg(required = true)]
    endpoints: Vec<String>,
    /// How long to wait for each reply, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Tries against a single server before the client abandons.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    retries: u32,
}

/// One try: a fresh REQ socket, the request, a bounded wait; the socket is closed in any case.
fn try_request(
    ctx: &zmq::Context,
    endpoint: &str,
    request: &Msg,
    timeout: Duration,
) -> anyhow::Result<Option<Msg>> {
    println!("I: trying echo service at {endpoint}...");
    let client = zguide_examples::lazy_pirate::req_socket(ctx, endpoint)?;
    request.clone().send(&client)?;
    let mut poller = Poller::new();
    poller.add(&client);
    if poller.poll(Some(timeout))? > 0 {
        return Ok(Some(Msg::recv(&client)?));
    }
    Ok(None)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let request = Msg::from_iter(["Hello world"]);
        let timeout = Duration::from_millis(args.timeout_ms);

        // One server: retry it, as Lazy Pirate does. Several: try each just once.
        let tries: Vec<&String> = if let [only] = args.endpoints.as_slice() {
            std::iter::repeat_n(only, args.retries as usize).collect()
        } else {
            args.endpoints.iter().collect()
        };
        let single = args.endpoints.len() == 1;
        for endpoint in tries {
            if try_request(&ctx, endpoint, &request, timeout)?.is_some() {
                println!("Service is running OK");
                return Ok(());
            }
            if single {
                println!("W: no response from {endpoint}, retrying...");
            } else {
                println!("W: no response from {endpoint}");
            }
        }
        println!("E: echo service not available, abandoning");
        anyhow::bail!("no echo service replied at {}", args.endpoints.join(" "))
    })
}
