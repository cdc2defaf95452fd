//! Weather proxy (guide chapter 2, "Transport Bridging"): an XSUB-XPUB proxy that brings the
//! weather feed from an internal network to subscribers on an external one.
//!
//! Connects an XSUB socket to the weather server and binds an XPUB socket for subscribers, then
//! forwards updates downstream and subscriptions upstream. It prints nothing.
//!
//! The C original hard-codes LAN addresses (`tcp://192.168.55.210:5556` for the server,
//! `tcp://10.1.1.0:8100` for subscribers); this one defaults to `--frontend
//! tcp://localhost:5556` and `--backend tcp://*:8100`. It also uses XSUB/XPUB as the guide's
//! text does, so subscribers' filters reach the server instead of the proxy taking everything.
//!
//! Run beside it: `wuserver`, then `wuclient --connect tcp://localhost:8100`.
//! Ctrl-C stops it (exit status 0).

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Proxy, SocketExt};

#[derive(Parser)]
#[command(about = "Weather proxy: XSUB from the weather server, XPUB to subscribers")]
struct Args {
    /// Endpoint of the weather server (the XSUB socket connects here).
    #[arg(long, default_value = "tcp://localhost:5556")]
    frontend: String,
    /// Public endpoint for subscribers (the XPUB socket binds here).
    #[arg(long, default_value = "tcp://*:8100")]
    backend: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        // This is where the weather server sits
        let frontend = ctx.socket(zmq::XSUB)?;
        frontend.set_linger(0)?;
        frontend.connect_to(&args.frontend)?;
        // This is our public endpoint for subscribers
        let backend = ctx.socket(zmq::XPUB)?;
        backend.set_linger(0)?;
        bind(&backend, &args.backend, "--backend")?;
        zguide_examples::console!(
            "I: weather proxy is active: from {} to subscribers at {}",
            args.frontend,
            args.backend
        );
        // Run the proxy until the user interrupts us
        Proxy::new(&frontend, &backend).run()?;
        Ok(())
    })
}
