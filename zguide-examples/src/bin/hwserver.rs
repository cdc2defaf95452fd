//! Hello World server (guide chapter 1, "Ask and Ye Shall Receive"): the REQ-REP pattern.
//!
//! Binds a REP socket to `tcp://*:5555`, waits for each request, prints `Received Hello`,
//! does one second of "work" and replies `World`.
//!
//! Run beside it: `hwclient` (this repo's, or the guide's C/Python/Go one, unchanged).
//! Expect one `Received Hello` per client request. Ctrl-C stops it (exit status 0).
//!
//! Unlike the C original, a request of more than one part does not break it: it is logged
//! and answered `ERROR: bad request` (a REP socket must answer before it can receive again).

use clap::Parser;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Hello World server: REP, replies World to each request")]
struct Args {
    /// Endpoint the REP socket binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
    /// Simulated work per request, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let responder = ctx.socket(zmq::REP)?;
        bind(&responder, &args.bind, "--bind")?;
        zguide_examples::console!("I: Hello World server (REP) is active at {}", args.bind);
        loop {
            // Wait for the next request; what it says does not matter to this server.
            let _request = responder.recv_text_or_reply("ERROR: bad request")?;
            println!("Received Hello");
            clock::sleep(Duration::from_millis(args.work_ms))?; // do some 'work'
            responder.send_text("World")?;
        }
    })
}
