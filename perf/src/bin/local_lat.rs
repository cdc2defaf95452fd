//! libzmq's `local_lat`, in Rust: binds a REP socket and echoes `roundtrip-count` messages.
//! Run `remote_lat` against it.
//!
//! `local_lat tcp://127.0.0.1:5555 64 10000 --mode msg`

use clap::Parser;
use zmq_patterns_perf::{echo_messages, tune, Mode};

#[derive(Parser)]
#[command(about = "Latency test, echoing side (libzmq's local_lat)")]
struct Args {
    /// Endpoint to bind.
    bind_to: String,
    /// Size of the payload of each message, in bytes (for the command line's sake: echoed as is).
    message_size: usize,
    /// Number of round trips.
    roundtrip_count: u64,
    /// Receive/send through zmq-patterns (msg) or plain zmq (raw, multipart).
    #[arg(long, value_enum, default_value = "raw")]
    mode: Mode,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = args.message_size;
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::REP)?;
    tune(&socket)?;
    socket.bind(&args.bind_to)?;
    echo_messages(&socket, args.mode, args.roundtrip_count)?;
    Ok(())
}
