//! Task worker, design 2 (guide chapter 2, "Handling Errors and ETERM"): the PUSH-PULL
//! pipeline with a PUB-SUB kill channel.
//!
//! Like `taskwork`: PULL from the ventilator at `tcp://localhost:5557`, PUSH results to the
//! sink at `tcp://localhost:5558`. It also subscribes to the sink's controller at
//! `tcp://localhost:5559` and polls both sockets; any message there (the sink sends `KILL`)
//! ends the worker (exit status 0). It prints `.` after each task, as the C original does.
//!
//! Run beside it: `tasksink2`, then `taskvent` (press Enter there). Expect the workers to exit
//! by themselves when the sink has the whole batch. Ctrl-C also stops it (exit status 0).
//! A task that is not one part holding a number is logged and dropped.

use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Msg, Poller, SocketExt, clock};

#[derive(Parser)]
#[command(about = "Task worker with a kill channel: PULL tasks, PUSH results, SUB for KILL")]
struct Args {
    /// Endpoint of the ventilator.
    #[arg(long, default_value = "tcp://localhost:5557")]
    ventilator: String,
    /// Endpoint of the sink.
    #[arg(long, default_value = "tcp://localhost:5558")]
    sink: String,
    /// Endpoint of the sink's controller (PUB) that sends KILL.
    #[arg(long, default_value = "tcp://localhost:5559")]
    controller: String,
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

        // Socket for control input
        let controller = ctx.socket(zmq::SUB)?;
        controller.connect_to(&args.controller)?;
        controller.set_subscribe(b"")?;

        // Process messages from both sockets
        let mut poller = Poller::new();
        let tasks = poller.add(&receiver);
        let control = poller.add(&controller);
        loop {
            poller.poll(None)?;
            if poller.is_readable(tasks) {
                if let Some(task) = receiver.recv_text_or_drop()? {
                    match task.trim().parse::<u64>() {
                        Ok(workload) => {
                            // Do the work
                            clock::sleep(Duration::from_millis(workload))?;
                            // Send results to sink
                            sender.send_text("")?;
                            // Simple progress indicator for the viewer
                            print!(".");
                            zguide_examples::flush();
                        }
                        Err(_) => {
                            let task: String = task.chars().take(32).collect();
                            log::warn!("dropping a task that is not a workload in msec: {task:?}")
                        }
                    }
                }
            }
            // Any waiting controller command acts as 'KILL'
            if poller.is_readable(control) {
                let command = Msg::recv(&controller)?;
                log::debug!(
                    "controller says {:?}",
                    command.front().map(|f| f.to_string_lossy())
                );
                break;
            }
        }
        Ok(())
    })
}
