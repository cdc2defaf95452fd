//! Clone server, Model One (guide chapter 5, "Representing State as Key-Value Pairs"): publishes
//! random key-value updates, each a `kvsimple` message `[key][sequence][body]`.
//!
//! Binds a PUB socket to `tcp://*:5556` (`--bind`), waits 200 ms (`--delay-ms`) so that waiting
//! subscribers connect, then publishes updates with a key from 0..9999 (`--keys`), a body from
//! 0..999999 and sequence numbers 1, 2, 3..., as fast as it can (`--interval-ms` paces it), and
//! stores each in its map. Prints `I: clone server is active at ...`; on Ctrl-C, ` Interrupted`
//! and `N messages out`. `--count N` stops publishing after N updates (it prints `I: N updates
//! published` and waits for Ctrl-C); `--dump` prints the map at the end, one `kvmsg_dump` line
//! per key (`[seq:7][key:1234][size:6] 353637383930`).
//!
//! Run beside it: `clonecli1`, started first (this model has no snapshot). The map is bounded
//! (`--max-keys`, `--max-bytes`).

use std::time::Duration;

use clap::Parser;
use zguide_examples::clone_model::{self, MapArgs};
use zmq_patterns::kvmsg::KvSimple;
use zmq_patterns::{clock, interrupt};

#[derive(Parser)]
#[command(about = "Clone server, Model One: PUB, random key-value updates")]
struct Args {
    /// Endpoint the PUB socket binds to.
    #[arg(long, default_value = "tcp://*:5556")]
    bind: String,
    /// Pause after binding, so that subscribers can connect (slow joiners), in milliseconds.
    #[arg(long, default_value_t = 200)]
    delay_ms: u64,
    /// Pause between updates, in milliseconds (0: as fast as it can).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// Stop publishing after this many updates, then wait for Ctrl-C.
    #[arg(long)]
    count: Option<u64>,
    /// Keys are drawn from 0..N.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    keys: u32,
    /// Print the map at the end.
    #[arg(long)]
    dump: bool,
    #[command(flatten)]
    map: MapArgs,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        // Prepare our context and publisher socket
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB)?;
        publisher.set_linger(1000)?;
        zguide_examples::bind(&publisher, &args.bind, "--bind")?;
        zguide_examples::console!("I: clone server is active at {}", args.bind);

        let mut kvmap = args.map.map::<KvSimple>();
        let mut sequence = 0u64;
        let mut rng = rand::thread_rng();
        let outcome = (|| -> zmq_patterns::Result<()> {
            clock::sleep(Duration::from_millis(args.delay_ms))?;
            while args.count.is_none_or(|count| sequence < count) {
                // A PUB send never blocks, so look for Ctrl-C ourselves.
                interrupt::check()?;
                // Distribute as key-value message
                sequence += 1;
                let kvmsg = clone_model::random_update(&mut rng, args.keys, sequence);
                kvmsg.send_copy(&publisher)?;
                clone_model::store(&mut kvmap, kvmsg);
                if args.interval_ms > 0 {
                    clock::sleep(Duration::from_millis(args.interval_ms))?;
                }
            }
            println!("I: {sequence} updates published");
            clone_model::wait_for_interrupt()
        })();
        match outcome {
            Err(e) if e.is_interrupted() => {}
            other => other?,
        }
        println!(" Interrupted\n{sequence} messages out");
        if args.dump {
            clone_model::print_dump(&kvmap);
        }
        Ok(())
    })
}
