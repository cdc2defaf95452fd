//! Freelance server, Model Three (guide chapter 4, "Brokerless Reliability (Freelance
//! Pattern)"): speaks spec 10/FLP on a ROUTER socket, in one thread.
//!
//! Binds a ROUTER socket to `tcp://*:5555` (`--bind`) whose identity is the endpoint clients
//! connect to (`--endpoint`, by default the bind endpoint with `*` read as `localhost`, so
//! `tcp://localhost:5555`), through `zmq_patterns::freelance::Server`. It answers `PING` with
//! `PONG` and every request `[control][body...]` with `[control][OK]`. Prints
//! `I: service is ready at <bind endpoint>`; `-v` dumps each message in and out. On Ctrl-C,
//! `W: interrupted` (status 0).
//!
//! Run beside it: `flclient3`, which expects three servers:
//! `flserver3 --bind tcp://*:5555 &`, `flserver3 --bind tcp://*:5556 &`,
//! `flserver3 --bind tcp://*:5557 &`, then `flclient3`.
//!
//! Differs from the C original: the C hard-coded port 5555 (so the three servers flclient3
//! expects could not run); here the endpoint is a flag. The C crashed on a message without a
//! control frame and answered a request-less `[control]` as if it were one; a malformed message
//! is logged and dropped.

use clap::Parser;
use zmq_patterns::freelance::Server;
use zmq_patterns::{Error, Msg};

#[derive(Parser)]
#[command(about = "Freelance server, Model Three: FLP PING/PONG and [control][OK]")]
struct Args {
    /// Dump every message received and sent.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint the ROUTER socket binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
    /// Endpoint clients connect to, which is the server's identity (default: the bind
    /// endpoint with `*` replaced by `localhost`).
    #[arg(long)]
    endpoint: Option<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let endpoint = args
            .endpoint
            .clone()
            .unwrap_or_else(|| args.bind.replacen('*', "localhost", 1));
        let server = Server::bind(&ctx, &args.bind, &endpoint)
            .map_err(|e| zguide_examples::flag_hint(e, "--bind"))?;
        println!("I: service is ready at {}", args.bind);

        loop {
            let request = match server.recv() {
                Ok(request) => request,
                Err(Error::Interrupted) => break,
                Err(e) => return Err(e.into()),
            };
            server.reply(request, Msg::from_iter(["OK"]))?;
        }
        println!("W: interrupted");
        Ok(())
    })
}
