//! Simple request-reply broker (guide chapter 2, "Shared Queue (DEALER and ROUTER)").
//!
//! Binds a ROUTER frontend to `tcp://*:5559` for clients and a DEALER backend to
//! `tcp://*:5560` for workers, polls both and moves every multipart message, envelope and all,
//! from one to the other by hand. It prints nothing and runs for ever.
//!
//! Run beside it: one or more `rrworker` and `rrclient`. `msgqueue` is the same broker using
//! the built-in proxy. Ctrl-C stops it (exit status 0).

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Msg, Poller};

#[derive(Parser)]
#[command(about = "Request-reply broker: ROUTER frontend, DEALER backend, forwarding by hand")]
struct Args {
    /// Endpoint the ROUTER socket for clients binds to.
    #[arg(long, default_value = "tcp://*:5559")]
    frontend: String,
    /// Endpoint the DEALER socket for workers binds to.
    #[arg(long, default_value = "tcp://*:5560")]
    backend: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        // Prepare our context and sockets
        let ctx = zmq::Context::new();
        let frontend = ctx.socket(zmq::ROUTER)?;
        let backend = ctx.socket(zmq::DEALER)?;
        frontend.set_linger(0)?;
        backend.set_linger(0)?;
        bind(&frontend, &args.frontend, "--frontend")?;
        bind(&backend, &args.backend, "--backend")?;
        zguide_examples::console!(
            "I: request-reply broker is active: clients at {}, workers at {}",
            args.frontend,
            args.backend
        );

        // Initialize poll set
        let mut poller = Poller::new();
        let from_clients = poller.add(&frontend);
        let from_workers = poller.add(&backend);

        // Switch messages between sockets: a Msg holds all the parts of one message
        loop {
            poller.poll(None)?;
            if poller.is_readable(from_clients) {
                Msg::recv(&frontend)?.send(&backend)?;
            }
            if poller.is_readable(from_workers) {
                Msg::recv(&backend)?.send(&frontend)?;
            }
        }
    })
}
