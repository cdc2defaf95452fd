//! libzmq's `remote_thr`, in Rust: connects a PUSH socket and sends `message-count` messages of
//! `message-size` bytes as fast as it can. Run it against `local_thr`.
//!
//! `remote_thr tcp://127.0.0.1:5555 64 1000000 --mode raw,frame`

use clap::Parser;
use zmq_patterns_perf::{Modes, send_blocks, tune};

#[derive(Parser)]
#[command(about = "Throughput test, sending side (libzmq's remote_thr)")]
struct Args {
    /// Endpoint to connect to.
    connect_to: String,
    /// Size of the payload of each message, in bytes.
    message_size: usize,
    /// Number of messages (per mode).
    message_count: u64,
    #[command(flatten)]
    modes: Modes,
    /// Parts per message (2: an empty delimiter and the payload).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    frames: u8,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PUSH)?;
    tune(&socket)?;
    socket.set_linger(-1)?; // deliver everything before exiting, as libzmq's tool does
    socket.connect(&args.connect_to)?;
    let blocks = args.modes.blocks(args.message_count);
    send_blocks(
        &socket,
        &args.modes,
        &blocks,
        args.frames.into(),
        args.message_size,
    )?;
    Ok(())
}
