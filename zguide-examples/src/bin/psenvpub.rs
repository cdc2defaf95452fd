//! Pub-sub envelope publisher (guide chapter 2, "Pub-Sub Message Envelopes"): the key goes in
//! a frame of its own, so subscribers filter on the whole key.
//!
//! Binds a PUB socket to `tcp://*:5563` and once a second publishes two messages, each of two
//! frames: [A][We don't want to see this] and [B][We would like to see this]. It prints nothing.
//!
//! Run beside it: `psenvsub`, which prints only the B messages. Ctrl-C stops it (exit status 0).

use clap::Parser;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Pub-sub envelope publisher: PUB, sends [A][...] and [B][...] once a second")]
struct Args {
    /// Endpoint the PUB socket binds to.
    #[arg(long, default_value = "tcp://*:5563")]
    bind: String,
    /// Pause between rounds, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB)?;
        publisher.set_linger(0)?;
        bind(&publisher, &args.bind, "--bind")?;
        zguide_examples::console!("I: envelope publisher is active at {}", args.bind);
        loop {
            // Write two messages, each with an envelope and content
            publisher.send_text_more("A")?;
            publisher.send_text("We don't want to see this")?;
            publisher.send_text_more("B")?;
            publisher.send_text("We would like to see this")?;
            clock::sleep(Duration::from_millis(args.interval_ms))?;
        }
    })
}
