//! libzmq's `inproc_lat`, in Rust: an echo thread and a measuring REQ in one process over
//! `inproc://`, printing the average one-way latency.
//!
//! `inproc_lat 64 100000 --mode msg`

use clap::Parser;
use zmq_patterns_perf::{echo_messages, print_latency, round_trips, tune, Mode};

#[derive(Parser)]
#[command(about = "Latency test over inproc (libzmq's inproc_lat)")]
struct Args {
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
    let rep = ctx.socket(zmq::REP)?;
    tune(&rep)?;
    rep.bind("inproc://lat_test")?;
    let (mode, count) = (args.mode, args.roundtrip_count);
    let echo = std::thread::spawn(move || echo_messages(&rep, mode, count));
    let req = ctx.socket(zmq::REQ)?;
    tune(&req)?;
    req.connect("inproc://lat_test")?;
    let elapsed = round_trips(&req, mode, args.frames.into(), args.message_size, count)?;
    echo.join()
        .map_err(|_| anyhow::anyhow!("echo thread panicked"))??;
    print_latency(args.message_size, count, elapsed);
    Ok(())
}
