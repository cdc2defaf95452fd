//! Simple Pirate worker (guide chapter 4, "Basic Reliable Queuing (Simple Pirate Pattern)"): a
//! REQ worker for `spqueue` that misbehaves now and then.
//!
//! Connects a REQ socket with a random printable identity (`%04X-%04X`) to
//! `tcp://localhost:5556`, prints `I: (ID) worker ready` and sends READY (`\x01`). Then it
//! echoes each request after a second of "work", printing `I: (ID) normal reply`. After three
//! cycles it now and then (odds 1 in 5) simulates a crash (`I: (ID) simulating a crash`, then
//! exits) or a CPU overload (`I: (ID) simulating CPU overload`, three seconds more).
//!
//! Run beside it: `spqueue` and `lpclient`. `--crash-after N` / `--overload-after N` make the
//! trouble happen on request N+1 instead of at random, `--reliable` never, `--seed` repeats a
//! random run. Ctrl-C stops it (status 0).
//!
//! Any request in an envelope is echoed whole, whatever its parts. A message without the
//! envelope's empty delimiter breaks libzmq's REQ protocol: the REQ socket closes that
//! connection for good, and the worker then waits for work that cannot come, as it does when
//! the queue restarts. That is the Simple Pirate's known weakness, which the Paranoid Pirate's
//! heartbeats cure (`ppworker`); `spqueue` never sends such a message.

use clap::Parser;
use std::time::Duration;
use zmq_patterns::heartbeat::READY;
use zmq_patterns::{Frame, Msg, SocketExt, clock};

use zguide_examples::pirate_trouble::{Simulator, Trouble, TroubleArgs};

#[derive(Parser)]
#[command(about = "Simple Pirate worker: REQ echo worker that randomly crashes or overloads")]
struct Args {
    /// Endpoint of the queue's backend.
    #[arg(long, default_value = "tcp://localhost:5556")]
    connect: String,
    /// Work per request, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
    /// Extra time a simulated CPU overload takes, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    overload_ms: u64,
    #[command(flatten)]
    trouble: TroubleArgs,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let worker = ctx.socket(zmq::REQ)?;
        worker.set_linger(0)?;
        // Set random identity to make tracing easier
        let identity = worker.set_random_identity()?;
        worker.connect_to(&args.connect)?;

        // Tell broker we're ready for work
        println!("I: ({identity}) worker ready");
        Frame::from(READY).send(&worker, 0)?;

        let mut simulator = Simulator::new(&args.trouble, 5);
        loop {
            // [client][""][request]: echoed back whole
            let msg = Msg::recv(&worker)?;

            // Simulate various problems, after a few cycles
            match simulator.next_request() {
                Trouble::Crash => {
                    println!("I: ({identity}) simulating a crash");
                    return Ok(());
                }
                Trouble::Overload => {
                    println!("I: ({identity}) simulating CPU overload");
                    clock::sleep(Duration::from_millis(args.overload_ms))?;
                }
                Trouble::None => {}
            }
            println!("I: ({identity}) normal reply");
            clock::sleep(Duration::from_millis(args.work_ms))?; // Do some heavy work
            msg.send(&worker)?;
        }
    })
}
