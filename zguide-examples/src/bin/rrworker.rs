//! Request-reply worker (guide chapter 2, "Shared Queue (DEALER and ROUTER)"): REP behind a
//! broker.
//!
//! Connects a REP socket to the broker's backend at `tcp://localhost:5560`; for each request
//! prints `Received request: [Hello]`, does one second of "work" and replies `World`. It runs
//! for ever.
//!
//! Run beside it: `rrbroker` (or `msgqueue`) and `rrclient`; start several workers to see the
//! broker share the requests out. Ctrl-C stops it (exit status 0).
//!
//! A request of more than one part is logged and answered `ERROR: bad request` (a REP socket
//! must answer before it can receive again); the C original broke on one.

use clap::Parser;
use std::time::Duration;
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Request-reply worker: REP to a broker, replies World to each request")]
struct Args {
    /// Endpoint of the broker's backend.
    #[arg(long, default_value = "tcp://localhost:5560")]
    connect: String,
    /// Simulated work per request, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();

        // Socket to talk to clients
        let responder = ctx.socket(zmq::REP)?;
        responder.set_linger(0)?;
        responder.connect_to(&args.connect)?;

        loop {
            // Wait for next request from client
            let request = responder.recv_text_or_reply("ERROR: bad request")?;
            println!("Received request: [{request}]");

            // Do some 'work'
            clock::sleep(Duration::from_millis(args.work_ms))?;

            // Send reply back to client
            responder.send_text("World")?;
        }
    })
}
