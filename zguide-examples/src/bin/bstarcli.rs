//! Binary Star client (guide chapter 4, "Binary Star Implementation"): a Lazy Pirate client
//! that knows both servers of a pair and fails over between them.
//!
//! Sends `1`, `2`, `3`... one a second (`--interval-ms`) on a REQ socket to the primary
//! (`tcp://localhost:5001`). When no reply comes within a second (`--timeout-ms`) it prints
//! `W: no response from server, failing over`, closes the socket, waits two seconds
//! (`--settle-ms`, longer than the servers' failover time) and sends the same request to the
//! other server (`tcp://localhost:5002`); its request is the vote that makes a passive server
//! whose peer is gone take over. Each good reply prints `I: server replied OK (N)`.
//!
//! Run beside it: `bstarsrv -p` and `bstarsrv -b` (or `bstarsrv2`). `--requests N` stops after
//! N replies (default: for ever, until Ctrl-C).

use std::time::Duration;

use clap::Parser;
use zguide_examples::lazy_pirate::{await_echo, req_socket};
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Binary Star client: Lazy Pirate with failover between two servers")]
struct Args {
    /// The primary server's client endpoint.
    #[arg(long, default_value = "tcp://localhost:5001")]
    primary: String,
    /// The backup server's client endpoint.
    #[arg(long, default_value = "tcp://localhost:5002")]
    backup: String,
    /// How long to wait for a reply before failing over, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// How long to wait before trying the other server, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    settle_ms: u64,
    /// Time between requests, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Number of replies to get before exiting (0: for ever).
    #[arg(long, default_value_t = 0)]
    requests: u64,
}

fn connect(ctx: &zmq::Context, endpoint: &str) -> anyhow::Result<zmq::Socket> {
    println!("I: connecting to server at {endpoint}...");
    req_socket(ctx, endpoint)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let servers = [args.primary.as_str(), args.backup.as_str()];
        let mut server_nbr = 0;
        let mut client = connect(&ctx, servers[server_nbr])?;

        let mut sequence: u64 = 0;
        while args.requests == 0 || sequence < args.requests {
            // We send a request, then we work to get a reply
            sequence += 1;
            let request = sequence.to_string();
            client.send_text(&request)?;
            let timeout = Duration::from_millis(args.timeout_ms);
            // Wait for the reply that echoes our sequence number
            while !await_echo(&client, sequence, timeout, "bad")? {
                // We use a Lazy Pirate strategy: with no reply, close the socket and try the
                // other server. It is the client's vote that decides which server is active.
                println!("W: no response from server, failing over");
                drop(client);
                server_nbr = (server_nbr + 1) % 2;
                clock::sleep(Duration::from_millis(args.settle_ms))?;
                client = connect(&ctx, servers[server_nbr])?;
                // Send request again, on new socket
                client.send_text(&request)?;
            }
            clock::sleep(Duration::from_millis(args.interval_ms))?; // one a second
        }
        Ok(())
    })
}
