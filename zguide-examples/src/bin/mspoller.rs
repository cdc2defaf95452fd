//! Reading from multiple sockets with `zmq_poll` (guide chapter 2, "Handling Multiple
//! Sockets"): the right way, compared with `msreader`'s recv loop and sleeps.
//!
//! Connects a PULL socket to the task ventilator (`tcp://localhost:5557`) and a SUB socket to
//! the weather server (`tcp://localhost:5556`, filter `"10001 "`), and waits on both with a
//! poller, reading one message from each socket that is ready, for ever.
//!
//! Run beside it: `taskvent` and `wuserver`. Like the C original it prints nothing; each message
//! is logged at debug level (`RUST_LOG=debug`). `-v`/`--verbose` prints each one to stdout
//! (`task: ...`, `weather update: ...`) and `--count N` exits after N messages, for tests.
//! Ctrl-C stops it (exit status 0).

use clap::Parser;
use zmq_patterns::{Msg, Poller, SocketExt};

#[derive(Parser)]
#[command(about = "Reads a PULL and a SUB socket with a poller")]
struct Args {
    /// Endpoint of the task ventilator (PULL connects here).
    #[arg(long, default_value = "tcp://localhost:5557")]
    ventilator: String,
    /// Endpoint of the weather server (SUB connects here).
    #[arg(long, default_value = "tcp://localhost:5556")]
    publisher: String,
    /// Subscription filter for weather updates.
    #[arg(long, default_value = "10001 ")]
    filter: String,
    /// Print each message received to stdout.
    #[arg(short, long)]
    verbose: bool,
    /// Exit after this many messages (0: run for ever).
    #[arg(long, default_value_t = 0)]
    count: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        // Connect to task ventilator
        let receiver = ctx.socket(zmq::PULL)?;
        receiver.connect_to(&args.ventilator)?;
        // Connect to weather server
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.connect_to(&args.publisher)?;
        subscriber.set_subscribe(args.filter.as_bytes())?;

        // Initialize poll set
        let mut poller = Poller::new();
        let tasks = poller.add(&receiver);
        let updates = poller.add(&subscriber);
        let mut received = 0;
        // Process messages from both sockets
        loop {
            poller.poll(None)?;
            for (index, socket, kind) in [
                (tasks, &receiver, "task"),
                (updates, &subscriber, "weather update"),
            ] {
                if !poller.is_readable(index) {
                    continue;
                }
                let msg = Msg::recv(socket)?;
                let text: Vec<String> = msg.iter().map(|f| f.to_string_lossy()).collect();
                let text = text.join(" ");
                log::debug!("{kind}: {text}");
                if args.verbose {
                    println!("{kind}: {text}");
                }
                received += 1;
                if args.count > 0 && received >= args.count {
                    return Ok(());
                }
            }
        }
    })
}
