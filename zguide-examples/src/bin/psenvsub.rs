//! Pub-sub envelope subscriber (guide chapter 2, "Pub-Sub Message Envelopes").
//!
//! Connects a SUB socket to `tcp://localhost:5563`, subscribes to the key `B` and prints each
//! message as `[key] contents`: `[B] We would like to see this`, once a second.
//!
//! Run beside it: `psenvpub`. Ctrl-C stops it (exit status 0).
//! A message that is not `[key][contents]` is logged and dropped (the C original would have read
//! its frames out of step).

use clap::Parser;
use zmq_patterns::{Msg, SocketExt};

#[derive(Parser)]
#[command(about = "Pub-sub envelope subscriber: SUB to key B, prints [key] contents")]
struct Args {
    /// Endpoint of the publisher.
    #[arg(long, default_value = "tcp://localhost:5563")]
    connect: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.connect_to(&args.connect)?;
        subscriber.set_subscribe(b"B")?;
        loop {
            let mut msg = Msg::recv(&subscriber)?;
            if msg.len() != 2 {
                log::warn!(
                    "dropping a message of {} frames, not [key][contents]",
                    msg.len()
                );
                continue;
            }
            // Read envelope with address, then message contents
            let address = msg.pop_front_str().unwrap_or_default();
            let contents = msg.pop_front_str().unwrap_or_default();
            println!("[{address}] {contents}");
        }
    })
}
