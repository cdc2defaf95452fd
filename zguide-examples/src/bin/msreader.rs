//! Reading from multiple sockets with a plain recv loop (guide chapter 2, "Handling Multiple
//! Sockets"): the naive way, which the guide improves on with `mspoller`.
//!
//! Connects a PULL socket to the task ventilator (`tcp://localhost:5557`) and a SUB socket to
//! the weather server (`tcp://localhost:5556`, filter `"10001 "`). It reads every waiting task
//! first (they have priority), then every waiting weather update, then sleeps 1 ms, for ever.
//!
//! Run beside it: `taskvent` and `wuserver`. Like the C original it prints nothing; each message
//! is logged at debug level (`RUST_LOG=debug`). `-v`/`--verbose` prints each one to stdout
//! (`task: ...`, `weather update: ...`) and `--count N` exits after N messages, for tests.
//! Ctrl-C stops it (exit status 0).

use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Msg, SocketExt, clock, interrupt};

#[derive(Parser)]
#[command(about = "Reads a PULL and a SUB socket with non-blocking recv and 1 ms sleeps")]
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

/// A waiting message, if any. Looks for Ctrl-C first: while messages keep arriving this loop
/// never reaches its sleep.
fn try_recv(socket: &zmq::Socket) -> anyhow::Result<Option<Msg>> {
    interrupt::check()?;
    Ok(Msg::try_recv(socket)?)
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

        let mut received = 0;
        let mut process = |kind: &str, msg: Msg| {
            let text: Vec<String> = msg.iter().map(|f| f.to_string_lossy()).collect();
            let text = text.join(" ");
            log::debug!("{kind}: {text}");
            if args.verbose {
                println!("{kind}: {text}");
            }
            received += 1;
            args.count > 0 && received >= args.count
        };
        // Process messages from both sockets; we prioritize traffic from the task ventilator
        loop {
            // Process any waiting tasks
            while let Some(task) = try_recv(&receiver)? {
                if process("task", task) {
                    return Ok(());
                }
            }
            // Process any waiting weather updates
            while let Some(update) = try_recv(&subscriber)? {
                if process("weather update", update) {
                    return Ok(());
                }
            }
            // No activity, so sleep for 1 msec
            clock::sleep(Duration::from_millis(1))?;
        }
    })
}
