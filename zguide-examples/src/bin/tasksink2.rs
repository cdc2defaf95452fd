//! Task sink, design 2 (guide chapter 2, "Handling Errors and ETERM"): the PUSH-PULL pipeline
//! with a PUB-SUB kill channel.
//!
//! Like `tasksink`: binds PULL to `tcp://*:5558`, waits for the start of the batch, collects
//! 100 results printing `:` / `.` and `Total elapsed time: N msec`. It also binds a PUB
//! controller to `tcp://*:5559` and, after the batch, publishes `KILL` there so that the
//! `taskwork2` workers stop, then exits.
//!
//! Run beside it: one or more `taskwork2`, then `taskvent` (press Enter there). Instead of the
//! C original's `sleep (1)` after `KILL`, the controller gets a one-second linger: the program
//! exits as soon as `KILL` is out. Ctrl-C stops it (exit status 0).

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Task sink with a kill channel: PULL results, then PUB KILL to the workers")]
struct Args {
    /// Endpoint the PULL socket binds to.
    #[arg(long, default_value = "tcp://*:5558")]
    bind: String,
    /// Endpoint the controller PUB socket binds to.
    #[arg(long, default_value = "tcp://*:5559")]
    controller: String,
    /// Number of results in the batch (the ventilator's `--tasks`).
    #[arg(long, default_value_t = 100)]
    tasks: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();

        // Socket to receive messages on
        let receiver = ctx.socket(zmq::PULL)?;
        bind(&receiver, &args.bind, "--bind")?;

        // Socket for worker control
        let controller = ctx.socket(zmq::PUB)?;
        controller.set_linger(1000)?;
        bind(&controller, &args.controller, "--controller")?;
        zguide_examples::console!(
            "I: task sink is active at {}, controlling workers at {}",
            args.bind,
            args.controller
        );

        // Wait for start of batch (a message of more than one part, here or below, is not
        // ours: it is logged and dropped)
        while receiver.recv_text_or_drop()?.is_none() {}

        // Start our clock now
        let start_time = clock::mono_ms();

        // Process the confirmations
        for task_nbr in 0..args.tasks {
            while receiver.recv_text_or_drop()?.is_none() {}
            print!("{}", if task_nbr % 10 == 0 { ":" } else { "." });
            zguide_examples::flush();
        }
        println!("Total elapsed time: {} msec", clock::mono_ms() - start_time);

        // Send kill signal to workers
        controller.send_text("KILL")?;
        Ok(())
    })
}
