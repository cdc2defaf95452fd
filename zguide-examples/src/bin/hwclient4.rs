//! Hello World client over DEALER with an identity (an untexted variant of the guide's
//! chapter 1 "Ask and Ye Shall Receive" example).
//!
//! Connects a DEALER socket with the identity `ZMQ` to `tcp://localhost:5555` and sends ten
//! requests as `[""][Hello]`, as REQ would: `Sending request msg: Hello NO=n...`, then `Received
//! respond msg: World NO=n` (and a blank line) for n = 1..10.
//!
//! Run beside it: any Hello World server; `hwserver3` and `hwserver4` print the identity `ZMQ`.
//! Fixes the C original, which aborted on a reply without the empty delimiter: such a reply is
//! logged and dropped, and the client waits for the next one.

use clap::Parser;
use zmq_patterns::{Msg, SocketExt};

#[derive(Parser)]
#[command(about = "Hello World client: DEALER with the identity ZMQ")]
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
        println!("Connecting to hello world server...");
        let ctx = zmq::Context::new();
        let requester = ctx.socket(zmq::DEALER)?;
        requester.set_linger(0)?;
        // Set the DEALER socket's identity before connecting
        requester.set_identity(b"ZMQ")?;
        requester.connect_to(&args.connect)?;
        for request_nbr in 1..=args.requests {
            println!("Sending request msg: Hello NO={request_nbr}...");
            // Send the empty delimiter frame, then the data frame
            Msg::from_iter(["", "Hello"]).send(&requester)?;
            let reply = loop {
                let mut reply = Msg::recv(&requester)?;
                match reply.pop_front() {
                    Some(empty) if empty.is_empty() => {
                        break reply.pop_front_str().unwrap_or_default();
                    }
                    _ => log::warn!("dropping a reply without the empty delimiter"),
                }
            };
            println!("Received respond msg: {reply} NO={request_nbr}\n");
        }
        Ok(())
    })
}
