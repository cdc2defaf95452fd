//! Multithreaded relay (guide chapter 2, "Signaling Between Threads (PAIR Sockets)").
//!
//! Three steps in three threads, chained by PAIR sockets over `inproc://step2` and
//! `inproc://step3`: each step binds its receiving socket before starting the previous step,
//! which connects and signals `READY`. Prints `Step 1 ready, signaling step 2`, `Step 2 ready,
//! signaling step 3`, `Test successful!` and exits.
//!
//! Runs on its own.

use clap::Parser;
use zmq_patterns::SocketExt;

#[derive(Parser)]
#[command(about = "Multithreaded relay: three threads signal each other over inproc PAIR sockets")]
struct Args {}

fn step1(ctx: &zmq::Context) -> anyhow::Result<()> {
    // Connect to step2 and tell it we're ready
    let xmitter = ctx.socket(zmq::PAIR)?;
    xmitter.connect_to("inproc://step2")?;
    println!("Step 1 ready, signaling step 2");
    xmitter.send_text("READY")?;
    Ok(())
}

fn step2(ctx: &zmq::Context) -> anyhow::Result<()> {
    // Bind inproc socket before starting step1
    let receiver = ctx.socket(zmq::PAIR)?;
    receiver.bind_to("inproc://step2")?;
    spawn_step(ctx, step1);

    // Wait for signal and pass it on
    let _ready = receiver.recv_text()?;
    drop(receiver);

    // Connect to step3 and tell it we're ready
    let xmitter = ctx.socket(zmq::PAIR)?;
    xmitter.connect_to("inproc://step3")?;
    println!("Step 2 ready, signaling step 3");
    xmitter.send_text("READY")?;
    Ok(())
}

/// Runs a step in a thread of its own; a failing step is logged.
fn spawn_step(ctx: &zmq::Context, step: fn(&zmq::Context) -> anyhow::Result<()>) {
    let ctx = ctx.clone();
    std::thread::spawn(move || {
        if let Err(e) = step(&ctx) {
            log::error!("step failed: {e}");
        }
    });
}

fn main() -> std::process::ExitCode {
    let _args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();

        // Bind inproc socket before starting step2
        let receiver = ctx.socket(zmq::PAIR)?;
        receiver.bind_to("inproc://step3")?;
        spawn_step(&ctx, step2);

        // Wait for signal
        let _ready = receiver.recv_text()?;
        println!("Test successful!");
        Ok(())
    })
}
