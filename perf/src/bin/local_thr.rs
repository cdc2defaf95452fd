//! libzmq's `local_thr`, in Rust: binds a PULL socket, receives `message-count` messages of
//! `message-size` bytes and prints the throughput. Run `remote_thr` against it with the same
//! size, count, `--mode`, `--rounds` and `--frames`.
//!
//! `local_thr tcp://127.0.0.1:5555 64 1000000 --mode raw,frame`

use clap::Parser;
use zmq_patterns_perf::{Measure, Modes, print_blocks, receive_blocks, tune};

#[derive(Parser)]
#[command(about = "Throughput test, receiving side (libzmq's local_thr)")]
struct Args {
    /// Endpoint to bind.
    bind_to: String,
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
    let _ = args.frames; // the receiver takes whatever parts come
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PULL)?;
    tune(&socket)?;
    socket.bind(&args.bind_to)?;
    let blocks = args.modes.blocks(args.message_count);
    let times = receive_blocks(&socket, &args.modes, &blocks, args.message_size)?;
    print_blocks(
        Measure::Throughput,
        args.message_size,
        &args.modes,
        &blocks,
        &times,
    );
    Ok(())
}
