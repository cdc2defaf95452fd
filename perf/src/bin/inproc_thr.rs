//! libzmq's `inproc_thr`, in Rust: a sender thread and a receiver in one process over
//! `inproc://`, printing the throughput.
//!
//! `inproc_thr 64 1000000 --mode msg`

use clap::Parser;
use zmq_patterns_perf::{print_throughput, receive_messages, send_messages, tune, Mode};

#[derive(Parser)]
#[command(about = "Throughput test over inproc (libzmq's inproc_thr)")]
struct Args {
    /// Size of the payload of each message, in bytes.
    message_size: usize,
    /// Number of messages.
    message_count: u64,
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
    let socket = ctx.socket(zmq::PULL)?;
    tune(&socket)?;
    socket.bind("inproc://thr_test")?;
    let sender_ctx = ctx.clone();
    let (mode, frames, size, count) = (
        args.mode,
        args.frames.into(),
        args.message_size,
        args.message_count,
    );
    let sender = std::thread::spawn(move || -> anyhow::Result<()> {
        let s = sender_ctx.socket(zmq::PUSH)?;
        tune(&s)?;
        s.connect("inproc://thr_test")?;
        send_messages(&s, mode, frames, size, count)
    });
    let elapsed = receive_messages(&socket, mode, size, count)?;
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("sender panicked"))??;
    print_throughput(size, count, elapsed);
    Ok(())
}
