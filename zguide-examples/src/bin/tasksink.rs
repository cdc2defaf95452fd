//! Task sink (guide chapter 1, "Divide and Conquer"): the PUSH-PULL pipeline.
//!
//! Binds a PULL socket to `tcp://*:5558`, waits for the ventilator's start-of-batch message,
//! then collects 100 results from the workers, printing `:` for every tenth and `.` for the
//! others, and finally `Total elapsed time: N msec` (on the same line, as in C). Then it exits.
//!
//! Run beside it: one or more `taskwork`, then `taskvent` (press Enter there). With more
//! workers the elapsed time drops. `--tasks` must match the ventilator's. Ctrl-C stops it
//! (exit status 0).

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Task sink: PULL, collects a batch of results and times it")]
struct Args {
    /// Endpoint the PULL socket binds to.
    #[arg(long, default_value = "tcp://*:5558")]
    bind: String,
    /// Number of results in the batch (the ventilator's `--tasks`).
    #[arg(long, default_value_t = 100)]
    tasks: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let receiver = ctx.socket(zmq::PULL)?;
        bind(&receiver, &args.bind, "--bind")?;
        zguide_examples::console!("I: task sink is active at {}", args.bind);

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
        // Calculate and report duration of batch
        println!("Total elapsed time: {} msec", clock::mono_ms() - start_time);
        Ok(())
    })
}
