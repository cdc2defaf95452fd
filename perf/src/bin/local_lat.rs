//! libzmq's `local_lat`, in Rust: binds a REP socket and echoes `roundtrip-count` messages.
//! Run `remote_lat` against it with the same count, `--mode` and `--rounds`.
//!
//! `local_lat tcp://127.0.0.1:5555 64 10000 --mode raw,frame`

use clap::Parser;
use zmq_patterns_perf::{Modes, echo_blocks, tune};

#[derive(Parser)]
#[command(about = "Latency test, echoing side (libzmq's local_lat)")]
struct Args {
    /// Endpoint to bind.
    bind_to: String,
    /// Size of the payload of each message, in bytes (for the command line's sake: echoed as is).
    message_size: usize,
    /// Number of round trips (per mode).
    roundtrip_count: u64,
    #[command(flatten)]
    modes: Modes,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = args.message_size;
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::REP)?;
    tune(&socket)?;
    socket.bind(&args.bind_to)?;
    let blocks = args.modes.blocks(args.roundtrip_count);
    echo_blocks(&socket, &args.modes, &blocks)?;
    Ok(())
}
