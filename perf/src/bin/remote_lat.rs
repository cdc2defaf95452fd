//! libzmq's `remote_lat`, in Rust: connects a REQ socket, does `roundtrip-count` round trips
//! of `message-size` bytes against `local_lat` and prints the average one-way latency.
//!
//! `remote_lat tcp://127.0.0.1:5555 64 10000 --mode msg`

use clap::Parser;
use zmq_patterns_perf::{print_latency, round_trips, tune, Mode};

#[derive(Parser)]
#[command(about = "Latency test, measuring side (libzmq's remote_lat)")]
struct Args {
    /// Endpoint to connect to.
    connect_to: String,
    /// Size of the payload of each message, in bytes.
    message_size: usize,
    /// Number of round trips.
    roundtrip_count: u64,
    /// Send/receive through zmq-patterns (msg) or plain zmq (raw, multipart).
    #[arg(long, value_enum, default_value = "raw")]
    mode: Mode,
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
    let elapsed = round_trips(
        &socket,
        args.mode,
        args.frames.into(),
        args.message_size,
        args.roundtrip_count,
    )?;
    print_latency(args.message_size, args.roundtrip_count, elapsed);
    Ok(())
}
