//! Hello World client (guide chapter 1, "Ask and Ye Shall Receive"): the REQ-REP pattern.
//!
//! Connects a REQ socket to `tcp://localhost:5555`, sends `Hello` ten times and waits for
//! `World` after each.
//!
//! Run beside it: `hwserver` (or `mtserver`, or any of the guide's hwserver versions).
//! Expect `Sending Hello N...` / `Received World N` for N = 0..9, then the client exits.

use clap::Parser;
use zmq_patterns::SocketExt;

#[derive(Parser)]
#[command(about = "Hello World client: REQ, sends Hello and waits for World")]
struct Args {
    /// Endpoint of the server.
    #[arg(long, default_value = "tcp://localhost:5555")]
    connect: String,
    /// Number of requests.
    #[arg(long, default_value_t = 10)]
    requests: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        println!("Connecting to hello world server...");
        let requester = ctx.socket(zmq::REQ)?;
        requester.set_linger(0)?;
        requester.connect_to(&args.connect)?;
        for request_nbr in 0..args.requests {
            println!("Sending Hello {request_nbr}...");
            requester.send_text("Hello")?;
            let _reply = requester.recv_text()?;
            println!("Received World {request_nbr}");
        }
        Ok(())
    })
}
