//! The cost of the API alone: one thread sends a batch of 100 messages over an `inproc://`
//! PAIR and receives them again, so nothing waits on another thread and every run does exactly
//! the same work. Under `valgrind --tool=callgrind` this gives noise-free instruction counts
//! per message for each mode; without it, nanoseconds per message (send and receive).
//!
//! `valgrind --tool=callgrind api_cost 64 200000 --mode msg`

use std::time::Instant;

use clap::Parser;
use zmq_patterns_perf::{Mode, recv_one, send_one};

#[derive(Parser)]
#[command(about = "Send and receive in one thread: the cost of each API, per message")]
struct Args {
    /// Size of the payload of each message, in bytes.
    message_size: usize,
    /// Number of messages.
    message_count: u64,
    /// How messages are sent and received.
    #[arg(long, value_enum, default_value = "raw")]
    mode: Mode,
    /// Parts per message (2: an empty delimiter and the payload).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    frames: u8,
}

const BATCH: u64 = 100;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = zmq::Context::new();
    let (a, b) = (ctx.socket(zmq::PAIR)?, ctx.socket(zmq::PAIR)?);
    a.bind("inproc://api_cost")?;
    b.connect("inproc://api_cost")?;
    let mut scratch = zmq_patterns_perf::Scratch::default();
    let start = Instant::now();
    let mut done = 0;
    while done < args.message_count {
        let n = BATCH.min(args.message_count - done);
        for _ in 0..n {
            send_one(&a, args.mode, args.frames.into(), args.message_size)?;
        }
        for _ in 0..n {
            let got = recv_one(&b, args.mode, &mut scratch)?;
            anyhow::ensure!(got == args.message_size, "message of wrong size: {got}");
        }
        done += n;
    }
    let ns = start.elapsed().as_nanos() as f64 / args.message_count.max(1) as f64;
    println!("message size: {} [B]", args.message_size);
    println!("message count: {}", args.message_count);
    println!("cost: {ns:.1} [ns/msg] (send and receive)");
    Ok(())
}
