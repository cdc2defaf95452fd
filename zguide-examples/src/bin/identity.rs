//! Identities and addresses (guide chapter 3, "Identities and Addresses"): what a ROUTER socket
//! sees of its peers.
//!
//! Binds a ROUTER socket to `inproc://example` and connects two REQ sockets to it: the first
//! leaves its identity to ZeroMQ, the second sets `PEER2`. Each sends one request, and the
//! ROUTER's view of it is printed as an `s_dump` block:
//!
//! ```text
//! ----------------------------------------
//! [005] 006B8B4567
//! [000]
//! [039] ROUTER uses a generated 5 byte identity
//! ----------------------------------------
//! [005] PEER2
//! [000]
//! [040] ROUTER socket uses REQ's socket identity
//! ```
//!
//! The generated identity is a zero byte and four random ones, shown in hex. Run it by itself;
//! it exits after the two blocks.

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Msg, SocketExt};

#[derive(Parser)]
#[command(about = "Shows the identities a ROUTER socket sees: a generated one and a set one")]
struct Args {
    /// Endpoint the ROUTER binds and both REQ sockets connect to.
    #[arg(long, default_value = "inproc://example")]
    endpoint: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();

        let sink = ctx.socket(zmq::ROUTER)?;
        sink.set_linger(0)?;
        bind(&sink, &args.endpoint, "--endpoint")?;

        // First allow 0MQ to set the identity
        let anonymous = ctx.socket(zmq::REQ)?;
        anonymous.set_linger(0)?;
        anonymous.connect_to(&args.endpoint)?;
        anonymous.send_text("ROUTER uses a generated 5 byte identity")?;
        print!("{}", Msg::recv(&sink)?);

        // Then set the identity ourselves
        let identified = ctx.socket(zmq::REQ)?;
        identified.set_linger(0)?;
        identified.set_identity(b"PEER2")?;
        identified.connect_to(&args.endpoint)?;
        identified.send_text("ROUTER socket uses REQ's socket identity")?;
        print!("{}", Msg::recv(&sink)?);
        Ok(())
    })
}
