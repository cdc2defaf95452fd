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
use zmq_patterns::{Msg, Poller, SocketExt};

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

/// A new REQ socket connected to the server; linger 0 so that closing it drops its request.
fn client_socket(ctx: &zmq::Context, endpoint: &str) -> anyhow::Result<zmq::Socket> {
    let client = ctx.socket(zmq::REQ)?;
    client.set_linger(0)?;
    client.connect_to(endpoint)?;
    Ok(client)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        println!("I: Connecting to server...");
        let mut client = client_socket(&ctx, &args.connect)?;

        let mut sequence: u64 = 0;
        while args.requests == 0 || sequence < args.requests {
            // We send a request, then we work to get a reply
            sequence += 1;
            let request = sequence.to_string();
            client.send_text(&request)?;

            let mut retries_left = args.retries;
            loop {
                // Poll socket for a reply, with timeout
                let mut poller = Poller::new();
                poller.add(&client);
                if poller.poll(Some(Duration::from_millis(args.timeout_ms)))? > 0 {
                    // We got a reply from the server, must match sequence
                    let reply = Msg::recv(&client)?;
                    let text = reply
                        .front()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default();
                    if reply.len() == 1 && text.parse() == Ok(sequence) {
                        println!("I: server replied OK ({text})");
                        break;
                    }
                    println!("E: malformed reply from server: {text}");
                    continue;
                }
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
                client = client_socket(&ctx, &args.connect)?;
                // Send request again, on new socket
                client.send_text(&request)?;
            }
        }
        Ok(())
    })
}
