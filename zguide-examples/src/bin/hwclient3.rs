//! Hello World client with an identity (an untexted variant of the guide's chapter 1 "Ask and
//! Ye Shall Receive" example): the REQ-REP pattern.
//!
//! Connects a REQ socket with the identity `ZMQ` to `tcp://localhost:5555` and sends ten
//! requests: `Sending request msg: Hello NO=n...`, `Received respond msg: World NO=n` (and a
//! blank line) for n = 1..10.
//!
//! Run beside it: any Hello World server; `hwserver3` and `hwserver4` print the identity `ZMQ`.

use clap::Parser;
use zmq_patterns::SocketExt;

#[derive(Parser)]
#[command(about = "Hello World client: REQ with the identity ZMQ")]
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
        let requester = ctx.socket(zmq::REQ)?;
        requester.set_linger(0)?;
        // Set the REQ socket's identity before connecting
        requester.set_identity(b"ZMQ")?;
        requester.connect_to(&args.connect)?;
        for request_nbr in 1..=args.requests {
            println!("Sending request msg: Hello NO={request_nbr}...");
            requester.send_text("Hello")?;
            let reply = requester.recv_text()?;
            println!("Received respond msg: {reply} NO={request_nbr}\n");
        }
        Ok(())
    })
}
