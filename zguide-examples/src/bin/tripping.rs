//! Round-trip demonstrator (guide chapter 4, "Asynchronous Majordomo Pattern"): how much faster
//! requests go when a client does not wait for each reply.
//!
//! One process, three threads, each with its own context as if it were a separate process: a
//! broker (a proxy between two DEALER sockets bound to `tcp://*:5555` and `tcp://*:5556`), a
//! worker (a DEALER connected to `tcp://localhost:5556` that sends every message back) and the
//! client (a DEALER connected to `tcp://localhost:5555`). The client prints `Setting up
//! test...`, sends 10,000 `hello`s one at a time, each waiting for its echo, and prints
//! `Synchronous round-trip test...` and ` N calls/second`; then sends 100,000 without waiting
//! and collects the echoes, and prints `Asynchronous round-trip test...` and ` N calls/second`.
//! Then the program exits.
//!
//! Run beside it: nothing.
//!
//! Fixes the C original's rate, which divided by the elapsed whole milliseconds (a division by
//! zero when a test took less than one): the rate here is computed from the elapsed time in
//! microseconds.

use std::time::Duration;
use std::time::Instant;

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Msg, Proxy, SocketExt, clock};

#[derive(Parser)]
#[command(about = "Round-trip benchmark: synchronous then asynchronous requests via a proxy")]
struct Args {
    /// Endpoint the broker's client-side DEALER binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    frontend: String,
    /// Endpoint the broker's worker-side DEALER binds to.
    #[arg(long, default_value = "tcp://*:5556")]
    backend: String,
    /// Endpoint the client connects to (the broker's frontend).
    #[arg(long, default_value = "tcp://localhost:5555")]
    client_connect: String,
    /// Endpoint the worker connects to (the broker's backend).
    #[arg(long, default_value = "tcp://localhost:5556")]
    worker_connect: String,
    /// Requests of the synchronous test.
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    /// Requests of the asynchronous test.
    #[arg(long, default_value_t = 100_000)]
    async_requests: u64,
}

/// Calls per second, for `calls` that took since `start`.
fn rate(calls: u64, start: Instant) -> u64 {
    let micros = start.elapsed().as_micros().max(1);
    (u128::from(calls) * 1_000_000 / micros) as u64
}

fn client_task(args: &Args) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let client = ctx.socket(zmq::DEALER)?;
    client.set_linger(0)?;
    client.connect_to(&args.client_connect)?;
    println!("Setting up test...");
    clock::sleep(Duration::from_millis(100))?;

    println!("Synchronous round-trip test...");
    let start = Instant::now();
    for _ in 0..args.requests {
        client.send_text("hello")?;
        let _reply = client.recv_text()?;
    }
    println!(" {} calls/second", rate(args.requests, start));

    println!("Asynchronous round-trip test...");
    let start = Instant::now();
    for _ in 0..args.async_requests {
        client.send_text("hello")?;
    }
    for _ in 0..args.async_requests {
        let _reply = client.recv_text()?;
    }
    println!(" {} calls/second", rate(args.async_requests, start));
    Ok(())
}

// Here is the worker task. All it does is receive a message, and bounce it back the way it
// came.
fn worker_task(endpoint: &str) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let worker = ctx.socket(zmq::DEALER)?;
    worker.set_linger(0)?;
    worker.connect_to(endpoint)?;
    loop {
        let msg = Msg::recv(&worker)?;
        msg.send(&worker)?;
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        // The broker's sockets are bound here, so that a busy port is reported at once; the
        // proxy runs in its own thread with its own context.
        let broker_ctx = zmq::Context::new();
        let frontend = broker_ctx.socket(zmq::DEALER)?;
        frontend.set_linger(0)?;
        bind(&frontend, &args.frontend, "--frontend")?;
        let backend = broker_ctx.socket(zmq::DEALER)?;
        backend.set_linger(0)?;
        bind(&backend, &args.backend, "--backend")?;
        std::thread::spawn(move || {
            if let Err(e) = Proxy::new(&frontend, &backend).run() {
                log::debug!("broker: {e}");
            }
        });
        let endpoint = args.worker_connect.clone();
        std::thread::spawn(move || {
            if let Err(e) = worker_task(&endpoint) {
                log::debug!("worker: {e}");
            }
        });
        // The client runs here; when it is done, returning from main ends the other threads.
        client_task(&args)
    })
}
