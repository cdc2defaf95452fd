//! Freelance server, Model One (guide chapter 4, "Brokerless Reliability (Freelance Pattern)"):
//! a trivial echo service.
//!
//! Binds a REP socket to the endpoint given as its one argument and sends every request back
//! as it came. Prints `I: echo service is ready at <endpoint>`; on Ctrl-C, `W: interrupted`
//! (status 0).
//!
//! Run beside it: `flclient1`, as in the guide:
//! `flserver1 tcp://*:5555 &`, `flserver1 tcp://*:5556 &`,
//! `flclient1 tcp://localhost:5555 tcp://localhost:5556`.
//!
//! Differs from the C original: without an endpoint it is a usage error (status 2), where the C
//! printed its syntax and exited 0.

use clap::Parser;
use zmq_patterns::{Error, Msg};

#[derive(Parser)]
#[command(about = "Freelance server, Model One: REP echo service")]
struct Args {
    /// Endpoint the REP socket binds to, e.g. tcp://*:5555.
    endpoint: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let server = ctx.socket(zmq::REP)?;
        server.set_linger(0)?;
        zguide_examples::bind(&server, &args.endpoint, "another ENDPOINT")?;

        println!("I: echo service is ready at {}", args.endpoint);
        loop {
            let msg = match Msg::recv(&server) {
                Ok(msg) => msg,
                Err(Error::Interrupted) => break,
                Err(e) => return Err(e.into()),
            };
            msg.send(&server)?;
        }
        println!("W: interrupted");
        Ok(())
    })
}
