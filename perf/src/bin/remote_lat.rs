//! libzmq's `remote_lat`, in Rust: connects a REQ socket, does `roundtrip-count` round trips
//! of `message-size` bytes against `local_lat` and prints the average one-way latency.
//!
//! `remote_lat tcp://127.0.0.1:5555 64 10000 --mode raw,frame`

use clap::Parser;
use zmq_patterns_perf::{Measure, Modes, print_blocks, round_trip_blocks, tune};

#[derive(Parser)]
#[command(about = "Latency test, measuring side (libzmq's remote_lat)")]
struct Args {
    /// Endpoint to connect to.
    connect_to: String,
    /// Size of the payload of each message, in bytes.
    message_size: usize,
    /// Number of round trips (per mode).
    roundtrip_count: u64,
    #[command(flatten)]
    modes: Modes,
    /// Parts per message (2: an empty delimiter and the payload).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    frames: u8,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::REQ)?;
    tune(&socket)?;
    socket.connect(&args.connect_to)?;
    let blocks = args.modes.blocks(args.roundtrip_count);
    let size = args.message_size;
    let times = round_trip_blocks(&socket, &args.modes, &blocks, args.frames.into(), size)?;
    print_blocks(Measure::Latency, size, &args.modes, &blocks, &times);
    Ok(())
}
