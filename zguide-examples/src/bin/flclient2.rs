//! Freelance client, Model Two (guide chapter 4, "Brokerless Reliability (Freelance Pattern)"):
//! the "brutal shotgun massacre".
//!
//! Connects one DEALER socket to every endpoint given as arguments. Each request,
//! `[""][sequence]["random name"]`, is blasted once per server (libzmq spreads the copies over
//! the connected servers); the first reply that carries the current sequence number is used and
//! every other reply is dropped. After 10,000 requests (`--requests`) it prints `Average round
//! trip cost: N usec`. If no server answers a request within 2500 ms (`--timeout-ms`) it prints
//! `E: name service not available, aborting` and exits with status 1.
//!
//! Run beside it: `flserver2` (one or more), e.g. `flserver2 tcp://*:5555 &`,
//! `flserver2 tcp://*:5556 &`, then `flclient2 tcp://localhost:5555 tcp://localhost:5556`.
//!
//! Differs from the C original: the average is the elapsed time over the requests made (the C
//! divided milliseconds by 10, right only for exactly 10,000 requests); a failure is status 1
//! and prints no average (the C printed both and exited 0); a malformed reply is logged and
//! dropped (the C asserted); no endpoint is a usage error (status 2).

use clap::Parser;
use std::time::{Duration, Instant};
use zmq_patterns::{Msg, Poller, SocketExt};

#[derive(Parser)]
#[command(about = "Freelance client, Model Two: DEALER shotgun to every server")]
struct Args {
    /// Endpoints of the servers, e.g. tcp://localhost:5555.
    #[arg(required = true)]
    endpoints: Vec<String>,
    /// Number of requests.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    requests: u64,
    /// If not a single server replies within this time, give up (milliseconds).
    #[arg(long, default_value_t = 2500, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
}

/// The guide's `flclient` class: a DEALER socket, the number of servers, a request counter.
struct FlClient {
    socket: zmq::Socket,
    servers: usize,
    sequence: u64,
    timeout: Duration,
}

impl FlClient {
    fn new(ctx: &zmq::Context, timeout: Duration) -> anyhow::Result<FlClient> {
        let socket = ctx.socket(zmq::DEALER)?;
        socket.set_linger(0)?;
        Ok(FlClient {
            socket,
            servers: 0,
            sequence: 0,
            timeout,
        })
    }

    fn connect(&mut self, endpoint: &str) -> anyhow::Result<()> {
        self.socket.connect_to(endpoint)?;
        self.servers += 1;
        Ok(())
    }

    /// Sends `request` to every server and waits for the first reply with its sequence number;
    /// `None` when none comes within the timeout.
    fn request(&mut self, mut request: Msg) -> anyhow::Result<Option<Msg>> {
        // Prefix request with sequence number and empty envelope
        self.sequence += 1;
        let sequence = self.sequence.to_string();
        request.push_front(sequence.as_str());
        request.push_front("");

        // Blast the request to all connected servers
        for _ in 0..self.servers {
            request.clone().send(&self.socket)?;
        }
        // Wait for a matching reply to arrive from anywhere
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut poller = Poller::new();
            poller.add(&self.socket);
            if poller.poll(Some(left))? == 0 {
                continue;
            }
            // Reply is [empty][sequence][OK]
            let mut reply = Msg::recv(&self.socket)?;
            let well_formed = reply.len() == 3 && reply[0].is_empty();
            if !well_formed {
                log::warn!("dropped a malformed reply ({} frames)", reply.len());
                continue;
            }
            if reply[1] != sequence.as_str() {
                log::debug!(
                    "dropped a late reply to {} (now at {sequence})",
                    reply[1].to_string_lossy()
                );
                continue;
            }
            reply.pop_front();
            reply.pop_front();
            return Ok(Some(reply));
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let mut client = FlClient::new(&ctx, Duration::from_millis(args.timeout_ms))?;
        for endpoint in &args.endpoints {
            client.connect(endpoint)?;
        }

        // Send a bunch of name resolution 'requests', measure time
        let start = Instant::now();
        for _ in 0..args.requests {
            if client.request(Msg::from_iter(["random name"]))?.is_none() {
                println!("E: name service not available, aborting");
                anyhow::bail!("no server replied within {} ms", args.timeout_ms);
            }
        }
        println!(
            "Average round trip cost: {} usec",
            start.elapsed().as_micros() / u128::from(args.requests)
        );
        Ok(())
    })
}
