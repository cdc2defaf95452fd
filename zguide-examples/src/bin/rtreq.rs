//! ROUTER broker and REQ workers (guide chapter 3, "ROUTER Broker and REQ Workers"): a ROUTER
//! hands out work to whichever worker asks next.
//!
//! Binds a ROUTER socket to `tcp://*:5671` and starts ten worker threads, each a REQ socket
//! with a random printable identity connected to `tcp://localhost:5671`. Each worker sends
//! `Hi Boss`; the broker answers `Work harder` for five seconds and then `Fired!`, once to each
//! worker. Each worker does up to half a second of random "work" per task and, when fired,
//! prints `Completed: N tasks`; the counts come out roughly equal. The program then exits.
//!
//! Like the C original each worker has its own context, as if it were a separate process.
//! Fixes the C original's ending: it returned as soon as the last `Fired!` was sent, so the
//! last workers' `Completed` lines could be lost; this version waits for the workers. And the
//! C original counted the `Fired!` replies, so that any other peer asking late was fired in
//! place of a worker, and the broker stopped with its own workers still waiting; this one
//! fires whoever asks until all of its own workers are done.

use clap::Parser;
use rand::Rng;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{Msg, Poller, SocketExt, clock};

#[derive(Parser)]
#[command(about = "ROUTER broker handing work to REQ workers for a while, then firing them")]
struct Args {
    /// Endpoint the broker's ROUTER socket binds to.
    #[arg(long, default_value = "tcp://*:5671")]
    bind: String,
    /// Endpoint the workers connect to.
    #[arg(long, default_value = "tcp://localhost:5671")]
    connect: String,
    /// Number of worker threads.
    #[arg(long, default_value_t = 10)]
    workers: u32,
    /// How long the broker hands out work before firing the workers, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    duration_ms: i64,
    /// Longest random work per task, in milliseconds.
    #[arg(long, default_value_t = 500)]
    work_ms: u64,
}

fn worker_task(endpoint: &str, work_ms: u64) -> anyhow::Result<()> {
    let context = zmq::Context::new();
    let worker = context.socket(zmq::REQ)?;
    worker.set_linger(0)?;
    worker.set_random_identity()?; // Set a printable identity
    worker.connect_to(endpoint)?;

    let mut total = 0;
    loop {
        // Tell the broker we're ready for work
        worker.send_text("Hi Boss")?;

        // Get workload from broker, until finished
        let workload = worker.recv_text()?;
        if workload == "Fired!" {
            println!("Completed: {total} tasks");
            return Ok(());
        }
        total += 1;

        // Do some random work
        clock::sleep(Duration::from_millis(
            rand::thread_rng().gen_range(1..=work_ms.max(1)),
        ))?;
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let context = zmq::Context::new();
        let broker = context.socket(zmq::ROUTER)?;
        broker.set_linger(0)?;
        bind(&broker, &args.bind, "--bind")?;

        let workers: Vec<_> = (0..args.workers)
            .map(|_| {
                let (endpoint, work_ms) = (args.connect.clone(), args.work_ms);
                std::thread::spawn(move || {
                    if let Err(e) = worker_task(&endpoint, work_ms) {
                        log::debug!("worker stopped: {e}");
                    }
                })
            })
            .collect();

        // Run for a while and then tell workers to end, until every one of ours has ended
        // (looking again every 10 ms)
        let end_time = clock::mono_ms() + args.duration_ms;
        let mut poller = Poller::new();
        poller.add(&broker);
        while !workers.iter().all(|worker| worker.is_finished()) {
            if poller.poll(Some(Duration::from_millis(10)))? == 0 {
                continue;
            }
            // Next message gives us least recently used worker: [identity][""][Hi Boss]
            let mut request = Msg::recv(&broker)?;
            let Some(identity) = request.pop_envelope() else {
                continue;
            };
            // Encourage workers until it's time to fire them
            let mut reply = Msg::new();
            if clock::mono_ms() < end_time {
                reply.push_back("Work harder");
            } else {
                reply.push_back("Fired!");
            }
            reply.push_envelope(identity);
            reply.send(&broker)?;
        }
        Ok(())
    })
}
