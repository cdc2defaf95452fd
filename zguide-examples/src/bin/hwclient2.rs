//! Hello World client over DEALER (an untexted variant of the guide's chapter 1 "Ask and Ye
//! Shall Receive" example): what a REQ socket does, done by hand.
//!
//! Connects a DEALER socket to `tcp://localhost:5555` and sends ten requests, each as an empty
//! delimiter frame followed by `Hello`, as REQ would. A reply that starts with the empty
//! delimiter is printed (`Received respond msg: World NO=n`); any other is discarded
//! (`Discard the ZMQ message!`).
//!
//! Run beside it: any Hello World server (`hwserver`, `hwserver2`, `hwserver3`, `hwserver4`).
//! Fixes the C original, which on a reply without a delimiter read only its first frame and left
//! the rest queued to be mistaken for the next reply: here the whole message is discarded.

use clap::Parser;
use zmq_patterns::{Msg, SocketExt};

#[derive(Parser)]
#[command(about = "Hello World client: DEALER, adds the empty delimiter frame itself")]
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
        requester.connect_to(&args.connect)?;
        let mut reply_nbr = 0;
        for request_nbr in 1..=args.requests {
            println!("Sending request msg: Hello NO={request_nbr}...");
            // The first part is the empty delimiter, the second the request itself
            Msg::from_iter(["", "Hello"]).send(&requester)?;
            let mut reply = Msg::recv(&requester)?;
            // A reply that starts with the empty delimiter carries the answer in the next part
            match reply.pop_front() {
                Some(delimiter) if delimiter.is_empty() => {
                    let body = reply.pop_front_str().unwrap_or_default();
                    reply_nbr += 1;
                    println!("Received respond msg: {body} NO={reply_nbr}\n");
                }
                _ => println!("Discard the ZMQ message!"),
            }
        }
        Ok(())
    })
}
