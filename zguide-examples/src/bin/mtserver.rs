//! Multithreaded Hello World server (guide chapter 2, "Multithreading with ZeroMQ").
//!
//! Binds a ROUTER socket to `tcp://*:5555` for clients and a DEALER socket to
//! `inproc://workers`, starts five worker threads (each a REP socket connected to
//! `inproc://workers` that prints `Received request: [Hello]`, works for a second and replies
//! `World`) and joins the two sockets with the library's proxy. It runs for ever.
//!
//! Run beside it: `hwclient` (several at once to see the threads work in parallel).
//! Ctrl-C stops it (exit status 0).
//!
//! A request of more than one part is logged and answered `ERROR: bad request` (a REP socket
//! must answer before it can receive again); in the C original it broke the worker that got
//! it. The workers' sockets are connected before the proxy starts: in the C original each
//! thread connects its own when it gets to run, and a request that comes before a thread has
//! connected can be queued behind another worker's request instead of going to an idle one. Should a worker thread fail all the same, the process ends with status 1 rather than
//! stay up with fewer workers, or none, to answer.

use clap::Parser;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{Proxy, SocketExt, clock};

#[derive(Parser)]
#[command(about = "Multithreaded Hello World server: ROUTER, proxy, pool of REP threads")]
struct Args {
    /// Endpoint the ROUTER socket for clients binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
    /// Number of worker threads.
    #[arg(long, default_value_t = 5)]
    workers: u32,
    /// Simulated work per request, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
}

/// One worker thread: a REP socket on the in-process queue, connected by `main`.
fn worker_routine(receiver: zmq::Socket, work_ms: u64) -> anyhow::Result<()> {
    loop {
        let request = receiver.recv_text_or_reply("ERROR: bad request")?;
        println!("Received request: [{request}]");
        // Do some 'work'
        clock::sleep(Duration::from_millis(work_ms))?;
        // Send reply back to client
        receiver.send_text("World")?;
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();

        // Socket to talk to clients
        let clients = ctx.socket(zmq::ROUTER)?;
        clients.set_linger(0)?;
        bind(&clients, &args.bind, "--bind")?;

        // Socket to talk to workers
        let workers = ctx.socket(zmq::DEALER)?;
        workers.set_linger(0)?;
        workers.bind_to("inproc://workers")?;

        // Launch pool of worker threads; they end with the process. Each one's socket to talk
        // to the dispatcher is connected here, before the proxy starts, so that requests are
        // shared among all the workers from the first one on.
        for _ in 0..args.workers {
            let receiver = ctx.socket(zmq::REP)?;
            receiver.set_linger(0)?;
            receiver.connect_to("inproc://workers")?;
            let work_ms = args.work_ms;
            zguide_examples::spawn_vital("worker", move || worker_routine(receiver, work_ms));
        }
        zguide_examples::console!(
            "I: multithreaded server is active at {} ({} workers)",
            args.bind,
            args.workers
        );
        // Connect work threads to client threads via a queue
        Proxy::new(&clients, &workers).run()?;
        Ok(())
    })
}
