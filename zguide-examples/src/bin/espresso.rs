//! Espresso Pattern (guide chapter 5, "Pub-Sub Tracing"): a pub-sub proxy with a capture
//! socket, and a listener that prints everything that flows through it.
//!
//! One process plays every part. A publisher actor binds a PUB socket to `tcp://*:6000` and
//! sends a random `A-12345` (letters `A` to `J`) ten times a second. The main thread runs an
//! XSUB-XPUB proxy (`zmq_patterns::Proxy`) from `tcp://localhost:6000` to `tcp://*:6001` and
//! copies every message it moves, both ways, to a listener actor, which prints each frame as
//! CZMQ's `zframe_print` does. A subscriber actor connects to `tcp://localhost:6001`,
//! subscribes to `A` and `B`, reads five messages and leaves. So the listener shows the two
//! subscriptions going upstream (`[002] 0141`, `[002] 0142`: the byte 1 and the topic), the
//! matching messages coming down (`[007] A-12345`, only `A` and `B`: the publisher filters),
//! then the two unsubscriptions (`[002] 0041`, `[002] 0042`) when the subscriber goes, and then
//! nothing, as no one subscribes any more. Ctrl-C stops it (prints ` interrupted`, exit status
//! 0).
//!
//! Run it alone; other subscribers may connect to `tcp://localhost:6001` and show up too.
//! `--publisher`, `--frontend`, `--backend` and `--subscriber` move the four endpoints,
//! `--interval-ms` the publisher's pace.
//!
//! How it differs from the C original: the C hands the proxy the listener's own pipe as the
//! capture socket; here the capture is a separate inproc PAIR, so no message flowing through the
//! proxy can be taken for the listener's `$TERM`. The proxy never blocks on a slow listener: a
//! message it cannot take at once is not captured (logged).

use clap::Parser;
use rand::Rng;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{Actor, ActorPipe, Frame, Msg, Poller, Proxy, SocketExt};

/// Where the proxy's capture socket and the listener meet.
const CAPTURE: &str = "inproc://espresso-capture";

#[derive(Parser)]
#[command(about = "Espresso: an XSUB-XPUB proxy whose traffic a listener prints")]
struct Args {
    /// Endpoint the publisher's PUB socket binds to.
    #[arg(long, default_value = "tcp://*:6000")]
    publisher: String,
    /// Endpoint of the publisher for the proxy (its XSUB socket connects here).
    #[arg(long, default_value = "tcp://localhost:6000")]
    frontend: String,
    /// Endpoint for subscribers (the proxy's XPUB socket binds here).
    #[arg(long, default_value = "tcp://*:6001")]
    backend: String,
    /// Endpoint of the proxy for the subscriber (its SUB socket connects here).
    #[arg(long, default_value = "tcp://localhost:6001")]
    subscriber: String,
    /// The publisher's pause between messages, in milliseconds.
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
}

/// The subscriber thread requests messages starting with A and B, then reads and counts
/// incoming messages; after five it leaves.
fn subscriber_task(pipe: ActorPipe, endpoint: &str) -> zmq_patterns::Result<()> {
    let ctx = zmq::Context::new();
    // Subscribe to "A" and "B"
    let subscriber = ctx.socket(zmq::SUB)?;
    subscriber.set_linger(0)?;
    subscriber.connect_to(endpoint)?;
    subscriber.set_subscribe(b"A")?;
    subscriber.set_subscribe(b"B")?;
    pipe.ready()?;

    let mut poller = Poller::new();
    let from_parent = poller.add(&pipe);
    let from_proxy = poller.add(&subscriber);
    let mut count = 0;
    while count < 5 {
        poller.poll(None)?;
        if poller.is_readable(from_parent) && pipe.is_term(&Msg::recv(&pipe)?) {
            return Ok(());
        }
        if poller.is_readable(from_proxy) {
            Msg::recv(&subscriber)?;
            count += 1;
        }
    }
    log::debug!("subscriber: received {count} messages, leaving");
    drop(subscriber);
    pipe.wait_term()
}

/// The publisher sends random messages starting with A-J.
fn publisher_task(pipe: ActorPipe, endpoint: &str, interval_ms: u64) -> zmq_patterns::Result<()> {
    let ctx = zmq::Context::new();
    let publisher = ctx.socket(zmq::PUB)?;
    publisher.set_linger(0)?;
    publisher.bind_to(endpoint)?;
    pipe.ready()?;

    let mut rng = rand::thread_rng();
    loop {
        let letter = char::from(b'A' + rng.gen_range(0..10u8));
        publisher.send_text(&format!("{letter}-{:05}", rng.gen_range(0..100_000)))?;
        // Wait for 1/10th second
        if pipe.sleep(Duration::from_millis(interval_ms))? {
            return Ok(());
        }
    }
}

/// The listener receives all messages flowing through the proxy, on the capture socket, and
/// prints every frame.
fn listener_task(pipe: ActorPipe, ctx: &zmq::Context) -> zmq_patterns::Result<()> {
    let capture = ctx.socket(zmq::PAIR)?;
    capture.set_linger(0)?;
    capture.connect_to(CAPTURE)?;
    pipe.ready()?;

    let mut poller = Poller::new();
    let from_parent = poller.add(&pipe);
    let from_proxy = poller.add(&capture);
    loop {
        poller.poll(None)?;
        if poller.is_readable(from_parent) && pipe.is_term(&Msg::recv(&pipe)?) {
            return Ok(());
        }
        if poller.is_readable(from_proxy) {
            // Print everything that arrives, as zframe_print does: at most 70 characters of
            // text or 35 bytes in hex
            let frame = Frame::recv(&capture)?;
            let limit = if frame.is_text() { 70 } else { 35 };
            println!("{frame:.limit$}");
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        // Start child threads
        let (endpoint, interval_ms) = (args.publisher.clone(), args.interval_ms);
        let publisher = Actor::new(&ctx, move |pipe| {
            publisher_task(pipe, &endpoint, interval_ms)
        })
        .map_err(|e| zguide_examples::flag_hint(e, "--publisher"))?;
        let endpoint = args.subscriber.clone();
        let subscriber = Actor::new(&ctx, move |pipe| subscriber_task(pipe, &endpoint))?;

        let frontend = ctx.socket(zmq::XSUB)?;
        frontend.set_linger(0)?;
        frontend.connect_to(&args.frontend)?;
        let backend = ctx.socket(zmq::XPUB)?;
        backend.set_linger(0)?;
        bind(&backend, &args.backend, "--backend")?;
        let capture = ctx.socket(zmq::PAIR)?;
        capture.set_linger(0)?;
        capture.bind_to(CAPTURE)?;
        let ctx2 = ctx.clone();
        let listener = Actor::new(&ctx, move |pipe| listener_task(pipe, &ctx2))?;

        zguide_examples::console!(
            "I: espresso proxy is active: from {} to subscribers at {} (publisher at {})",
            args.frontend,
            args.backend,
            args.publisher
        );
        let outcome = Proxy::new(&frontend, &backend).capture(&capture).run();
        if matches!(&outcome, Err(e) if e.is_interrupted()) {
            println!(" interrupted");
        }
        // Tell attached threads to exit
        drop((subscriber, publisher, listener));
        outcome?;
        Ok(())
    })
}
