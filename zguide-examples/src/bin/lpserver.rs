//! Lazy Pirate server (guide chapter 4, "Client-Side Reliability (Lazy Pirate Pattern)"): a
//! REP echo server that misbehaves, for `lpclient` to survive.
//!
//! Binds a REP socket to `tcp://*:5555` and echoes each request after a second of "work",
//! printing `I: normal request (N)`. After three cycles it now and then (odds 1 in 3)
//! simulates a crash (`I: simulating a crash`, then exits) or a CPU overload (`I: simulating
//! CPU overload`, then two seconds more before the reply).
//!
//! Run beside it: `lpclient`; restart this server after a crash and the client carries on.
//! `--crash-after N` / `--overload-after N` make the trouble happen on request N+1 instead of
//! at random, `--reliable` never, `--seed` repeats a random run. Ctrl-C stops it (status 0).

use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Msg, clock};

use zguide_examples::bind;
use zguide_examples::pirate_trouble::{Simulator, Trouble, TroubleArgs};

#[derive(Parser)]
#[command(about = "Lazy Pirate server: REP echo that randomly crashes or overloads")]
struct Args {
    /// Endpoint the REP socket binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
    /// Work per request, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    work_ms: u64,
    /// Extra time a simulated CPU overload takes, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    overload_ms: u64,
    #[command(flatten)]
    trouble: TroubleArgs,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let server = ctx.socket(zmq::REP)?;
        server.set_linger(0)?;
        bind(&server, &args.bind, "--bind")?;
        zguide_examples::console!("I: Lazy Pirate server is active at {}", args.bind);

        let mut simulator = Simulator::new(&args.trouble, 3);
        loop {
            let request = Msg::recv(&server)?;
            let text = request
                .front()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default();

            // Simulate various problems, after a few cycles
            match simulator.next_request() {
                Trouble::Crash => {
                    println!("I: simulating a crash");
                    return Ok(());
                }
                Trouble::Overload => {
                    println!("I: simulating CPU overload");
                    clock::sleep(Duration::from_millis(args.overload_ms))?;
                }
                Trouble::None => {}
            }
            println!("I: normal request ({text})");
            clock::sleep(Duration::from_millis(args.work_ms))?; // Do some heavy work
            request.send(&server)?;
        }
    })
}
