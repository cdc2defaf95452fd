//! libzmq's `inproc_lat`, in Rust: an echo thread and a measuring REQ in one process over
//! `inproc://`, printing the average one-way latency. With several modes
//! (`--mode raw,frame`) they take turns in blocks within the run and the ratios to the first
//! are printed too.
//!
//! `inproc_lat 64 100000 --mode raw,frame`

use clap::Parser;
use zmq_patterns_perf::{Measure, Modes, echo_blocks, print_blocks, round_trip_blocks, tune};

#[derive(Parser)]
#[command(about = "Latency test over inproc (libzmq's inproc_lat)")]
struct Args {
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
    let rep = ctx.socket(zmq::REP)?;
    tune(&rep)?;
    rep.bind("inproc://lat_test")?;
    let blocks = args.modes.blocks(args.roundtrip_count);
    let (modes, echo_blocks_) = (args.modes.clone(), blocks.clone());
    let echo = std::thread::spawn(move || echo_blocks(&rep, &modes, &echo_blocks_));
    let req = ctx.socket(zmq::REQ)?;
    tune(&req)?;
    req.connect("inproc://lat_test")?;
    let size = args.message_size;
    let times = round_trip_blocks(&req, &args.modes, &blocks, args.frames.into(), size)?;
    echo.join()
        .map_err(|_| anyhow::anyhow!("echo thread panicked"))??;
    print_blocks(Measure::Latency, size, &args.modes, &blocks, &times);
    Ok(())
}
