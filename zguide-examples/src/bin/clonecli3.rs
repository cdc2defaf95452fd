//! Clone client, Model Three (guide chapter 5, "Republishing Updates from Clients"): takes a
//! snapshot, applies the server's updates, and sends a random update of its own once a second.
//!
//! Connects a SUB socket to `tcp://localhost:5557` (`--publisher`), a DEALER socket to
//! `tcp://localhost:5556` (`--snapshot`) and a PUSH socket to `tcp://localhost:5558`
//! (`--collector`). Sends `ICANHAZ?`, stores the snapshot up to `KTHXBAI` and prints
//! `I: received snapshot=N`; then stores each update newer than the last one
//! (`I: received update=N`) and, every second (`--interval-ms`), pushes an update with a key
//! from 0..9999 (`--keys`) and a random body; the server numbers and republishes it. On Ctrl-C,
//! ` Interrupted` and `N messages in` (N: the last sequence number, as the C prints it).
//! `--updates N` stops sending after N updates, `--last N` ends the program once update N is
//! applied (it prints `N messages in`); `--dump` prints the map at the end, one `kvmsg_dump`
//! line per key.
//!
//! Run beside it: `clonesrv3`, and more `clonecli3`.
//!
//! Differs from the C original: a malformed message (wrong frame count, a sequence frame that
//! is not 8 bytes, a key longer than 255 bytes or not UTF-8) is logged and dropped, where the C
//! ended the program; a hole in the sequence is logged (`warn`); the map is bounded
//! (`--max-keys`, `--max-bytes`).

use std::time::Duration;

use clap::Parser;
use zguide_examples::clone_model::{self, MapArgs};
use zmq_patterns::kvmsg::{KvSimple, snapshot};
use zmq_patterns::{Poller, SocketExt, clock};

#[derive(Parser)]
#[command(about = "Clone client, Model Three: snapshot, updates, and its own random updates")]
struct Args {
    /// Endpoint the DEALER snapshot socket connects to.
    #[arg(long, default_value = "tcp://localhost:5556")]
    snapshot: String,
    /// Endpoint the SUB socket connects to.
    #[arg(long, default_value = "tcp://localhost:5557")]
    publisher: String,
    /// Endpoint the PUSH socket connects to (the server's collector).
    #[arg(long, default_value = "tcp://localhost:5558")]
    collector: String,
    /// Time between two updates of ours, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// Stop sending after this many updates of ours.
    #[arg(long)]
    updates: Option<u64>,
    /// End once the update with this sequence number is applied (or is in the snapshot).
    #[arg(long)]
    last: Option<u64>,
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
        // Prepare our context and subscriber
        let ctx = zmq::Context::new();
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.set_subscribe(b"")?;
        subscriber.connect_to(&args.publisher)?;
        let snapshot = ctx.socket(zmq::DEALER)?;
        snapshot.set_linger(0)?;
        snapshot.connect_to(&args.snapshot)?;
        let publisher = ctx.socket(zmq::PUSH)?;
        publisher.set_linger(1000)?;
        publisher.connect_to(&args.collector)?;

        let mut kvmap = args.map.map::<KvSimple>();
        let mut rng = rand::thread_rng();
        let mut sequence = 0u64;
        let outcome = (|| -> zmq_patterns::Result<()> {
            // We first request a state snapshot
            snapshot::request("").send(&snapshot)?;
            sequence = snapshot::recv(&snapshot, &mut kvmap)?;
            println!("I: received snapshot={sequence}");

            // Now we wait for updates from the server and every so often, we send a random
            // key-value update to the server
            let interval = Duration::from_millis(args.interval_ms);
            let mut alarm = clock::mono_ms() + interval.as_millis() as i64;
            let mut sent = 0u64;
            let mut poller = Poller::new();
            poller.add(&subscriber);
            while args.last.is_none_or(|last| sequence < last) {
                poller.poll(Some(clock::until(alarm)))?;
                while let Some(msg) = zmq_patterns::Msg::try_recv(&subscriber)? {
                    let kvmsg = match KvSimple::parse(msg) {
                        Ok(kvmsg) => kvmsg,
                        Err(e) => {
                            log::warn!("update dropped: {e}");
                            continue;
                        }
                    };
                    // Discard out-of-sequence kvmsgs
                    if kvmsg.sequence() > sequence {
                        if kvmsg.sequence() > sequence + 1 {
                            log::warn!("updates {}..{} missed", sequence + 1, kvmsg.sequence() - 1);
                        }
                        sequence = kvmsg.sequence();
                        clone_model::store(&mut kvmap, kvmsg);
                        println!("I: received update={sequence}");
                    }
                }
                // If we timed out, generate a random kvmsg
                if clock::mono_ms() >= alarm {
                    if args.updates.is_none_or(|updates| sent < updates) {
                        let kvmsg = clone_model::random_update(&mut rng, args.keys, 0);
                        kvmsg.send(&publisher).map_err(|e| e.error)?;
                        sent += 1;
                    }
                    alarm = clock::mono_ms() + interval.as_millis() as i64;
                }
            }
            Ok(())
        })();
        match outcome {
            Err(e) if e.is_interrupted() => println!(" Interrupted"),
            other => other?,
        }
        println!("{sequence} messages in");
        if args.dump {
            clone_model::print_dump(&kvmap);
        }
        Ok(())
    })
}
