//! libzmq's `local_thr`, in Rust: binds a PULL socket, receives `message-count` messages of
//! `message-size` bytes and prints the throughput. Run `remote_thr` against it with the same
//! size, count, `--mode` and `--frames`.
//!
//! `local_thr tcp://127.0.0.1:5555 64 1000000 --mode msg`

use clap::Parser;
use zmq_patterns_perf::{print_throughput, receive_messages, tune, Mode};

#[derive(Parser)]
#[command(about = "Throughput test, receiving side (libzmq's local_thr)")]
struct Args {
    /// Endpoint to bind.
    bind_to: String,
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
    let _ = args.frames; // the receiver takes whatever parts come
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PULL)?;
    tune(&socket)?;
    socket.bind(&args.bind_to)?;
    let elapsed = receive_messages(&socket, args.mode, args.message_size, args.message_count)?;
    print_throughput(args.message_size, args.message_count, elapsed);
    Ok(())
}
