//! libzmq's `inproc_thr`, in Rust: a sender thread and a receiver in one process over
//! `inproc://`, printing the throughput. With several modes (`--mode raw,frame`) they take
//! turns in blocks within the run and the ratios to the first are printed too.
//!
//! `inproc_thr 64 1000000 --mode raw,frame,msg`

use clap::Parser;
use zmq_patterns_perf::{Measure, Modes, print_blocks, receive_blocks, send_blocks, tune};

#[derive(Parser)]
#[command(about = "Throughput test over inproc (libzmq's inproc_thr)")]
struct Args {
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
    let socket = ctx.socket(zmq::PULL)?;
    tune(&socket)?;
    socket.bind("inproc://thr_test")?;
    let blocks = args.modes.blocks(args.message_count);
    let sender_ctx = ctx.clone();
    let (modes, sender_blocks) = (args.modes.clone(), blocks.clone());
    let (frames, size) = (args.frames.into(), args.message_size);
    let sender = std::thread::spawn(move || -> anyhow::Result<()> {
        let s = sender_ctx.socket(zmq::PUSH)?;
        tune(&s)?;
        s.connect("inproc://thr_test")?;
        send_blocks(&s, &modes, &sender_blocks, frames, size)
    });
    let times = receive_blocks(&socket, &args.modes, &blocks, size)?;
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("sender panicked"))??;
    print_blocks(Measure::Throughput, size, &args.modes, &blocks, &times);
    Ok(())
}
