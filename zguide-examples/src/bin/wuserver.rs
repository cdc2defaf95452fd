//! Weather update server (guide chapter 1, "Getting the Message Out"): the PUB-SUB pattern.
//!
//! Binds a PUB socket to `tcp://*:5556` and `ipc://weather.ipc` and publishes random weather
//! updates `"%05d %d %d"` (zipcode 0..99999, temperature -80..134, relative humidity 10..59)
//! as fast as it can, for ever. It prints nothing.
//!
//! Run beside it: `wuclient` (optionally with a zipcode filter), or `wuproxy` then `wuclient
//! --connect tcp://localhost:8100`. Ctrl-C stops it (exit status 0).
//!
//! `--zipcodes N` draws zipcodes from 0..N instead (e.g. `--zipcodes 10` and `wuclient "00003 "`
//! gets its updates at once instead of after about ten million messages).

use clap::Parser;
use rand::Rng;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, interrupt};

#[derive(Parser)]
#[command(about = "Weather update server: PUB, publishes random weather updates")]
struct Args {
    /// Endpoints the PUB socket binds to (repeat the flag for several).
    #[arg(long, default_values_t = ["tcp://*:5556".to_string(), "ipc://weather.ipc".to_string()])]
    bind: Vec<String>,
    /// Zipcodes are drawn from 0..N.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    zipcodes: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB)?;
        publisher.set_linger(0)?;
        for endpoint in &args.bind {
            bind(&publisher, endpoint, "--bind")?;
        }

        // The ipc files we bound (the guide's defaults are in the working directory) go
        // when we return, Ctrl-C included.
        let _ipc_files = zguide_examples::IpcFiles::bound(&args.bind);
        zguide_examples::console!("I: weather server is active at {}", args.bind.join(", "));
        let mut rng = rand::thread_rng();
        loop {
            // A PUB send never blocks, so look for Ctrl-C ourselves.
            interrupt::check()?;
            // Get values that will fool the boss
            let zipcode = rng.gen_range(0..args.zipcodes);
            let temperature = rng.gen_range(0..215) - 80;
            let relhumidity = rng.gen_range(0..50) + 10;
            // Send message to all subscribers
            publisher.send_text(&format!("{zipcode:05} {temperature} {relhumidity}"))?;
        }
    })
}
