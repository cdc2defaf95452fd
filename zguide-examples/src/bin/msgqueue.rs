//! Simple message queuing broker (guide chapter 2, "ZeroMQ's Built-In Proxy Function").
//!
//! The same broker as `rrbroker`: a ROUTER frontend bound to `tcp://*:5559` for clients and a
//! DEALER backend bound to `tcp://*:5560` for workers, but the forwarding is the library's
//! proxy (`zmq_patterns::Proxy`, the C original's `zmq_device (ZMQ_QUEUE, ...)`). It prints
//! nothing and runs for ever.
//!
//! Run beside it: one or more `rrworker` and `rrclient`. Ctrl-C stops it (exit status 0).

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::Proxy;

#[derive(Parser)]
#[command(about = "Message queue broker: ROUTER frontend, DEALER backend, built-in proxy")]
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
        let ctx = zmq::Context::new();

        // Socket facing clients
        let frontend = ctx.socket(zmq::ROUTER)?;
        frontend.set_linger(0)?;
        bind(&frontend, &args.frontend, "--frontend")?;

        // Socket facing services
        let backend = ctx.socket(zmq::DEALER)?;
        backend.set_linger(0)?;
        bind(&backend, &args.backend, "--backend")?;
        zguide_examples::console!(
            "I: message queue is active: clients at {}, workers at {}",
            args.frontend,
            args.backend
        );

        // Start the proxy; it returns only on Ctrl-C or a fatal error
        Proxy::new(&frontend, &backend).run()?;
        Ok(())
    })
}
