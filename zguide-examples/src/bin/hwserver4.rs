//! Hello World server over ROUTER, tracing every frame (an untexted variant of the guide's
//! chapter 1 "Ask and Ye Shall Receive" example).
//!
//! Binds a ROUTER socket to `tcp://*:5555`. For each request `[identity][""][Hello]` it prints
//! `[recv] frame1 = ZMQ`, `[recv] frame2 = `, `[recv] frame3 = Hello`, does one second of
//! "work", then prints `[send] frame1 = ZMQ`, `[send] frame2 = `, `[send] frame3 = World` (and a
//! blank line) and sends that reply.
//!
//! Run beside it: `hwclient4` (DEALER with identity `ZMQ`), `hwclient3`, `hwclient2` or
//! `hwclient`. Ctrl-C stops it (exit status 0).
//! Fixes the C original, which aborted on a request without the empty delimiter (and copied the
//! identity into a 10-byte buffer): such a request is logged and dropped; an identity that is
//! not printable text (libzmq's generated ones) is printed in hex.

use clap::Parser;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{Frame, Msg, clock};

#[derive(Parser)]
#[command(about = "Hello World server: ROUTER, prints every frame it receives and sends")]
struct Args {
    /// Endpoint the ROUTER socket binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
    /// Simulated work per request, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
}

/// A frame as text if it is printable, else as hex.
fn show(frame: &Frame) -> String {
    if frame.is_text() {
        frame.to_string_lossy()
    } else {
        frame.strhex()
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
            let request = Msg::recv(&responder)?;
            for (n, frame) in request.iter().enumerate() {
                println!("[recv] frame{} = {}", n + 1, show(frame));
            }
            // [identity][empty delimiter][data]
            let (Some(identity), Some(delimiter)) = (request.get(0), request.get(1)) else {
                log::warn!("dropping a request without an envelope");
                continue;
            };
            if request.len() != 3 || !delimiter.is_empty() {
                log::warn!("dropping a malformed request of {} frames", request.len());
                continue;
            }
            clock::sleep(Duration::from_millis(args.work_ms))?; // do some 'work'
            println!("[send] frame1 = {}", show(identity));
            println!("[send] frame2 = ");
            println!("[send] frame3 = World\n");
            Msg::from_iter([identity.clone(), Frame::empty(), Frame::from("World")])
                .send(&responder)?;
        }
    })
}
