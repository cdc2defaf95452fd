//! Request-reply client (guide chapter 2, "Shared Queue (DEALER and ROUTER)"): REQ through a
//! broker.
//!
//! Connects a REQ socket to the broker's frontend at `tcp://localhost:5559`, sends `Hello` ten
//! times and prints `Received reply N [World]` for each reply, then exits.
//!
//! Run beside it: `rrbroker` (or `msgqueue`) and one or more `rrworker`.

use clap::Parser;
use zmq_patterns::SocketExt;

#[derive(Parser)]
#[command(about = "Request-reply client: REQ to a broker, sends Hello, prints the replies")]
struct Args {
    /// Endpoint of the broker's frontend.
    #[arg(long, default_value = "tcp://localhost:5559")]
    connect: String,
    /// Number of requests.
    #[arg(long, default_value_t = 10)]
    requests: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();

        // Socket to talk to server
        let requester = ctx.socket(zmq::REQ)?;
        requester.set_linger(0)?;
        requester.connect_to(&args.connect)?;

        for request_nbr in 0..args.requests {
            requester.send_text("Hello")?;
            let reply = requester.recv_text()?;
            println!("Received reply {request_nbr} [{reply}]");
        }
        Ok(())
    })
}
