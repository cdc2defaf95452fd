//! Hello World server, verbose version (an untexted variant of the guide's chapter 1
//! "Ask and Ye Shall Receive" example): the REQ-REP pattern.
//!
//! Binds a REP socket to `tcp://*:5555`. For each request it prints `Received request msg:
//! Hello` and `Send respond msg: World` (then a blank line), replies `World` and does one second
//! of "work".
//!
//! Run beside it: `hwclient`, `hwclient2`, `hwclient3` or `hwclient4`. Ctrl-C stops it
//! (exit status 0). Unlike the C original it prints the whole request, not its first 9 bytes,
//! and a request of more than one part does not break it: it is logged and answered `ERROR:
//! bad request` (a REP socket must answer before it can receive again).

use clap::Parser;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Hello World server (verbose): REP, replies World to each request")]
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
            let request = responder.recv_text_or_reply("ERROR: bad request")?;
            println!("Received request msg: {request}");
            println!("Send respond msg: World\n");
            responder.send_text("World")?;
            clock::sleep(Duration::from_millis(args.work_ms))?; // do some 'work'
        }
    })
}
