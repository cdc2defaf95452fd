//! Lazy Pirate client (guide chapter 4, "Client-Side Reliability (Lazy Pirate Pattern)"):
//! reliable request-reply from the client side alone.
//!
//! Connects a REQ socket to `tcp://localhost:5555` and sends `1`, `2`, `3`... one at a time.
//! It polls for each reply with a timeout (2500 ms); when none comes it prints `W: no response
//! from server, retrying...`, closes the confused REQ socket, opens a new one and sends the
//! same request again. After three timeouts in a row it prints `E: Server seems to be offline,
//! abandoning` and exits with status 1. A reply must echo the sequence number: `I: server
//! replied OK (N)`, else `E: malformed reply from server: ...`.
//!
//! Run beside it: `lpserver` (kill and restart it at will), or `spqueue`/`ppqueue` with their
//! workers. `--requests N` stops after N replies (default: for ever, until Ctrl-C).
//!
//! Fixes the C original, which returned after the first reply (its `return 0` sits inside the
//! request loop) and printed polling debug lines: this client keeps sending until the server is
//! gone for good, as the guide's text describes.

use clap::Parser;
use std::time::Duration;
use zguide_examples::lazy_pirate::{await_echo, req_socket};
use zmq_patterns::SocketExt;

#[derive(Parser)]
#[command(about = "Lazy Pirate client: REQ with timeout, retries and reconnects")]
struct Args {
    /// Endpoint of the server (or queue).
    #[arg(long, default_value = "tcp://localhost:5555")]
    connect: String,
    /// How long to wait for each reply, in milliseconds.
    #[arg(long, default_value_t = 2500, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Timeouts in a row before the client abandons.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    retries: u32,
    /// Number of requests (0: for ever).
    #[arg(long, default_value_t = 0)]
    requests: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        println!("I: Connecting to server...");
        let mut client = req_socket(&ctx, &args.connect)?;

        let mut sequence: u64 = 0;
        while args.requests == 0 || sequence < args.requests {
            // We send a request, then we work to get a reply
            sequence += 1;
            let request = sequence.to_string();
            client.send_text(&request)?;

            let mut retries_left = args.retries;
            let timeout = Duration::from_millis(args.timeout_ms);
            // Wait for the reply that echoes our sequence number
            while !await_echo(&client, sequence, timeout, "malformed")? {
                retries_left -= 1;
                if retries_left == 0 {
                    println!("E: Server seems to be offline, abandoning");
                    anyhow::bail!(
                        "no reply from {} after {} tries",
                        args.connect,
                        args.retries
                    );
                }
                println!("W: no response from server, retrying...");
                // Old socket is confused; close it and open a new one
                drop(client);
                println!("I: reconnecting to server...");
                client = req_socket(&ctx, &args.connect)?;
                // Send request again, on new socket
                client.send_text(&request)?;
            }
        }
        Ok(())
    })
}
