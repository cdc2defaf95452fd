//! Task ventilator (guide chapter 1, "Divide and Conquer"): the PUSH-PULL pipeline.
//!
//! Binds a PUSH socket to `tcp://*:5557` for the workers and connects a second PUSH socket to
//! the sink at `tcp://localhost:5558`. Waits for Enter, tells the sink that a batch starts
//! (message `"0"`), then sends 100 tasks, each a random workload of 1..100 ms as text, and
//! prints the total expected cost.
//!
//! Run beside it: `tasksink` first, then one or more `taskwork` (or `tasksink2` and
//! `taskwork2`); press Enter once the workers are up, so that the tasks are spread over all of
//! them. Expect `Sending tasks to workers...` and `Total expected cost: N msec`, then it exits.
//!
//! `--tasks` and `--max-workload-ms` shrink the batch. Instead of the C original's `sleep (1)`
//! before exiting, the sockets get a one-second linger: the program ends as soon as the tasks
//! are delivered, and at most a second later if nobody takes them. Ctrl-C at the prompt also
//! stops it (exit status 0).

use clap::Parser;
use rand::Rng;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, interrupt};

#[derive(Parser)]
#[command(about = "Task ventilator: PUSH, sends a batch of random workloads to the workers")]
struct Args {
    /// Endpoint the PUSH socket for the workers binds to.
    #[arg(long, default_value = "tcp://*:5557")]
    bind: String,
    /// Endpoint of the sink (start-of-batch signal).
    #[arg(long, default_value = "tcp://localhost:5558")]
    sink: String,
    /// Number of tasks in the batch.
    #[arg(long, default_value_t = 100)]
    tasks: u32,
    /// Each workload is a random number of milliseconds from 1 to this.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    max_workload_ms: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();

        // Socket to send messages on
        let sender = ctx.socket(zmq::PUSH)?;
        sender.set_linger(1000)?;
        bind(&sender, &args.bind, "--bind")?;

        // Socket to send start of batch message on
        let sink = ctx.socket(zmq::PUSH)?;
        sink.set_linger(1000)?;
        sink.connect_to(&args.sink)?;

        print!("Press Enter when the workers are ready: ");
        zguide_examples::flush();
        // Ctrl-C ends the wait, even with half a line typed; end of input counts as Enter
        let _ = interrupt::read_line()?;
        println!("Sending tasks to workers...");

        // The first message is "0" and signals start of batch
        sink.send_text("0")?;

        let mut rng = rand::thread_rng();
        let mut total_msec: u64 = 0; // Total expected cost in msecs
        for _ in 0..args.tasks {
            // Random workload from 1 to max msecs
            let workload = rng.gen_range(1..=args.max_workload_ms);
            total_msec += u64::from(workload);
            sender.send_text(&workload.to_string())?;
        }
        println!("Total expected cost: {total_msec} msec");
        Ok(())
    })
}
