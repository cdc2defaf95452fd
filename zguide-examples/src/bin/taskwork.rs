//! Task worker (guide chapter 1, "Divide and Conquer"): the PUSH-PULL pipeline.
//!
//! Connects a PULL socket to the ventilator at `tcp://localhost:5557` and a PUSH socket to the
//! sink at `tcp://localhost:5558`. For each task (a workload in milliseconds, as text) it prints
//! `N.`, sleeps that long and sends an empty result to the sink. It runs for ever.
//!
//! Run beside it: `tasksink`, then `taskvent`; start several workers to see the work shared
//! out. Ctrl-C stops it (exit status 0). Fixes the C original's progress output, which flushed
//! before printing and so always showed one task late. A task that is not one part holding a
//! number is logged and dropped.

use clap::Parser;
use std::time::Duration;
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Task worker: PULL tasks, sleep the workload, PUSH a result to the sink")]
struct Args {
    /// Endpoint of the ventilator.
    #[arg(long, default_value = "tcp://localhost:5557")]
    ventilator: String,
    /// Endpoint of the sink.
    #[arg(long, default_value = "tcp://localhost:5558")]
    sink: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();

        // Socket to receive messages on
        let receiver = ctx.socket(zmq::PULL)?;
        receiver.connect_to(&args.ventilator)?;

        // Socket to send messages to
        let sender = ctx.socket(zmq::PUSH)?;
        sender.set_linger(0)?;
        sender.connect_to(&args.sink)?;

        // Process tasks forever
        loop {
            let Some(task) = receiver.recv_text_or_drop()? else {
                continue;
            };
            let Ok(workload) = task.trim().parse::<u64>() else {
                let task: String = task.chars().take(32).collect();
                log::warn!("dropping a task that is not a workload in msec: {task:?}");
                continue;
            };
            // Simple progress indicator for the viewer
            print!("{workload}.");
            zguide_examples::flush();

            // Do the work
            clock::sleep(Duration::from_millis(workload))?;

            // Send results to sink
            sender.send_text("")?;
        }
    })
}
