//! Suicidal Snail (guide chapter 5, "Slow Subscriber Detection"): a subscriber that notices it
//! has fallen too far behind its publisher and kills itself, loudly, rather than go on with
//! stale data.
//!
//! One process plays both parts. The publisher (an actor) binds a PUB socket to `tcp://*:5556`
//! and sends the wall-clock time in milliseconds every millisecond. The subscriber (the main
//! thread) connects to `tcp://localhost:5556`, prints every timestamp it gets and works on each
//! for 1 to 2 ms, a little slower than the publisher sends. When a timestamp is more than 1000
//! ms old it prints `E: subscriber cannot keep up, aborting` on stderr, stops the publisher and
//! exits (status 1, with an `error: ...` line saying how far behind it was). That takes a few
//! seconds; Ctrl-C stops it earlier (exit status 0).
//!
//! Runs on its own. `--interval-ms` (the publisher's pause), `--work-ms` (the subscriber's work
//! per message, plus 0 or 1 ms at random as in the C) and `--max-lag-ms` (the C's
//! `MAX_ALLOWED_DELAY`) make it die sooner or never.
//!
//! How it differs from the C original: the C exits with status 0 after the snail died; here it
//! is a failure (1), as for the guide's other clients that give up (`lpclient`). A message that
//! is not a timestamp (another publisher on the endpoint) is logged and dropped, where the C
//! aborts on an assertion.

use clap::Parser;
use rand::Rng;
use std::time::Duration;
use zmq_patterns::{Actor, ActorPipe, SocketExt, clock};

#[derive(Parser)]
#[command(about = "Suicidal Snail: a subscriber that aborts when it falls too far behind")]
struct Args {
    /// Endpoint the publisher's PUB socket binds to.
    #[arg(long, default_value = "tcp://*:5556")]
    bind: String,
    /// Endpoint the subscriber's SUB socket connects to.
    #[arg(long, default_value = "tcp://localhost:5556")]
    connect: String,
    /// The publisher's pause between timestamps, in milliseconds.
    #[arg(long, default_value_t = 1)]
    interval_ms: u64,
    /// The subscriber's work per message, in milliseconds (plus 0 or 1 ms at random).
    #[arg(long, default_value_t = 1)]
    work_ms: u64,
    /// How old a timestamp may be when the subscriber gets it, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    max_lag_ms: i64,
}

/// This is our publisher task. It publishes a time-stamped message to its PUB socket every
/// millisecond, until its parent tells it to stop.
fn publisher(pipe: ActorPipe, endpoint: &str, interval_ms: u64) -> zmq_patterns::Result<()> {
    let ctx = zmq::Context::new();
    let publisher = ctx.socket(zmq::PUB)?;
    publisher.set_linger(0)?;
    publisher.bind_to(endpoint)?;
    pipe.ready()?;
    loop {
        // Send current clock (msecs) to subscribers
        publisher.send_text(&clock::time_ms().to_string())?;
        if pipe.sleep(Duration::from_millis(interval_ms))? {
            return Ok(());
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let (endpoint, interval_ms) = (args.bind.clone(), args.interval_ms);
        let ctx = zmq::Context::new();
        let publisher = Actor::new(&ctx, move |pipe| publisher(pipe, &endpoint, interval_ms))
            .map_err(|e| zguide_examples::flag_hint(e, "--bind"))?;

        // This is our subscriber. It connects to the publisher and subscribes to everything.
        // It sleeps for a short time between messages to simulate doing too much work. If a
        // message is more than one second late, it croaks.
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.set_linger(0)?;
        subscriber.set_subscribe(b"")?;
        subscriber.connect_to(&args.connect)?;
        let mut rng = rand::thread_rng();
        let lag = loop {
            let Some(string) = subscriber.recv_text_or_drop()? else {
                continue;
            };
            println!("{string}");
            let Ok(sent) = string.parse::<i64>() else {
                log::warn!("dropping a message that is not a timestamp: {string:.40}");
                continue;
            };
            // Suicide snail logic
            let lag = clock::time_ms() - sent;
            if lag > args.max_lag_ms {
                break lag;
            }
            // Work for 1 msec plus some random additional time
            clock::sleep(Duration::from_millis(args.work_ms + rng.gen_range(0..2)))?;
        };
        eprintln!("E: subscriber cannot keep up, aborting");
        // Tell the publisher to stop ($TERM), and wait for it
        drop(publisher);
        anyhow::bail!(
            "the subscriber got a message {lag} ms old (more than --max-lag-ms {})",
            args.max_lag_ms
        )
    })
}
