//! Hello World server over ROUTER (an untexted variant of the guide's chapter 1 "Ask and Ye
//! Shall Receive" example): what a REP socket does, done by hand.
//!
//! Binds a ROUTER socket to `tcp://*:5555`. Each request arrives as `[identity][""][Hello]`; the
//! server prints the three frames (`[Frame_1] identity = ZMQ`, `[Frame_2] string = `,
//! `[Frame_3] Received request msg: Hello`), does one second of "work", prints `Send respond
//! msg: World` and a blank line, and replies `[identity][""][World]`. A request whose second frame
//! is not empty is discarded (`Discard the ZMQ message!`).
//!
//! Run beside it: `hwclient3` (REQ with identity `ZMQ`), `hwclient4`, `hwclient2` or `hwclient`.
//! Ctrl-C stops it (exit status 0).
//! Fixes the C original: an identity that is not printable text (libzmq's generated ones start
//! with a zero byte, which C printed as an empty string) is printed in hex; a discarded
//! request is dropped whole, not left half-read in the socket.

use clap::Parser;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{Frame, Msg, clock};

#[derive(Parser)]
#[command(about = "Hello World server: ROUTER, handles the reply envelope itself")]
struct Args {
    /// Endpoint the ROUTER socket binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
    /// Simulated work per request, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
}

/// An identity as text if it is printable, else as hex.
fn show(identity: &Frame) -> String {
    if identity.is_text() {
        identity.to_string_lossy()
    } else {
        identity.strhex()
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let responder = ctx.socket(zmq::ROUTER)?;
        responder.set_linger(0)?;
        bind(&responder, &args.bind, "--bind")?;
        zguide_examples::console!("I: Hello World server (ROUTER) is active at {}", args.bind);
        loop {
            let mut request = Msg::recv(&responder)?;
            // The first part is the client's identity
            let Some(identity) = request.pop_front() else {
                continue;
            };
            println!("[Frame_1] identity = {}", show(&identity));
            // Then the empty delimiter, then the data
            let delimiter = request.pop_front_str().unwrap_or_default();
            println!("[Frame_2] string = {delimiter}");
            if !delimiter.is_empty() {
                println!("Discard the ZMQ message!");
                log::warn!("request without the empty delimiter dropped");
                continue;
            }
            let content = request.pop_front_str().unwrap_or_default();
            println!("[Frame_3] Received request msg: {content}");
            clock::sleep(Duration::from_millis(args.work_ms))?; // do some 'work'
            println!("Send respond msg: World\n");
            let mut reply = Msg::from_iter(["", "World"]);
            reply.push_front(identity);
            reply.send(&responder)?;
        }
    })
}
