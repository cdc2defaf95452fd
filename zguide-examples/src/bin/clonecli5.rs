//! Clone client, Model Five (the guide's `clonecli5`, not in the text of chapter 5): Model
//! Four's client on the five-frame `kvmsg`, whose updates are ephemeral: each carries a `ttl`
//! property of 0..29 seconds, and the server deletes the value when it expires.
//!
//! Connects a SUB socket to `tcp://localhost:5557` (`--publisher`), a DEALER socket to
//! `tcp://localhost:5556` (`--snapshot`) and a PUSH socket to `tcp://localhost:5558`
//! (`--collector`). Sends `["ICANHAZ?"]["/client/"]` (`--subtree`), stores the snapshot up to
//! `KTHXBAI` and prints `I: received snapshot=N`; then stores each update of the subtree newer
//! than the last one (`I: received update=N`; an update with an empty body, the server's delete
//! of an expired value, deletes the key) and, every second (`--interval-ms`), pushes an update
//! with a key `/client/` + 0..9999 (`--keys`), a random body and `ttl` = 0..29 (`--max-ttl 30`;
//! 0 never expires). On Ctrl-C, ` Interrupted` and `N messages in`. `--updates N` stops
//! sending after N updates, `--last N` ends the program once update N is applied; `--dump`
//! prints the map at the end, one `kvmsg_dump` line per key.
//!
//! Run beside it: `clonesrv5`, and more `clonecli5`.
//!
//! Differs from the C original: it subscribes to its subtree only (the C also subscribed to
//! `""`, so it stored every update of every subtree); a malformed message (wrong frame count, a
//! sequence frame that is not 8 bytes, a bad UUID or properties, a key longer than 255 bytes or
//! not UTF-8) is logged and dropped, where the C ended the program; the map is bounded
//! (`--max-keys`, `--max-bytes`).

use std::time::Duration;

use clap::Parser;
use rand::Rng;
use zguide_examples::clone_model::{self, MapArgs};
use zmq_patterns::kvmsg::{KvMsg, snapshot};
use zmq_patterns::{Poller, SocketExt, clock};

#[derive(Parser)]
#[command(about = "Clone client, Model Five: a subtree of the map, ephemeral values")]
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
    /// The subtree this client works on: its snapshot, its subscription, its keys.
    #[arg(long, default_value = "/client/", value_parser = clone_model::subtree_arg)]
    subtree: String,
    /// Time between two updates of ours, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// Stop sending after this many updates of ours.
    #[arg(long)]
    updates: Option<u64>,
    /// End once the update with this sequence number is applied (or is in the snapshot).
    #[arg(long)]
    last: Option<u64>,
    /// Keys are the subtree then a number from 0..N.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    keys: u32,
    /// Each update of ours lives 0..N-1 seconds (its `ttl` property; 0 never expires).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    max_ttl: u64,
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
        let snapshot = ctx.socket(zmq::DEALER)?;
        snapshot.set_linger(0)?;
        snapshot.connect_to(&args.snapshot)?;
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.connect_to(&args.publisher)?;
        subscriber.set_subscribe(args.subtree.as_bytes())?;
        let publisher = ctx.socket(zmq::PUSH)?;
        publisher.set_linger(1000)?;
        publisher.connect_to(&args.collector)?;

        let mut kvmap = args.map.map::<KvMsg>();
        let mut rng = rand::thread_rng();
        let mut sequence = 0u64;
        let outcome = (|| -> anyhow::Result<()> {
            // We first request a state snapshot of our subtree
            snapshot::request(&args.subtree).send(&snapshot)?;
            sequence = snapshot::recv(&snapshot, &mut kvmap)?;
            println!("I: received snapshot={sequence}");

            let interval = Duration::from_millis(args.interval_ms);
            let mut alarm = clock::mono_ms() + interval.as_millis() as i64;
            let mut sent = 0u64;
            let mut poller = Poller::new();
            poller.add(&subscriber);
            while args.last.is_none_or(|last| sequence < last) {
                poller.poll(Some(clock::until(alarm)))?;
                while let Some(msg) = zmq_patterns::Msg::try_recv(&subscriber)? {
                    let kvmsg = match KvMsg::parse(msg) {
                        Ok(kvmsg) => kvmsg,
                        Err(e) => {
                            log::warn!("update dropped: {e}");
                            continue;
                        }
                    };
                    // Discard out-of-sequence kvmsgs
                    if kvmsg.sequence() > sequence {
                        sequence = kvmsg.sequence();
                        clone_model::store(&mut kvmap, kvmsg);
                        println!("I: received update={sequence}");
                    }
                }
                // If we timed out, generate a random kvmsg in our subtree
                if clock::mono_ms() >= alarm {
                    if args.updates.is_none_or(|updates| sent < updates) {
                        let random = clone_model::random_update(&mut rng, args.keys, 0);
                        let key = format!("{}{}", args.subtree, random.key());
                        let mut kvmsg = KvMsg::new(key, 0, random.body().to_vec())?;
                        kvmsg.set_prop("ttl", &rng.gen_range(0..args.max_ttl).to_string())?;
                        kvmsg.send(&publisher).map_err(|e| e.error)?;
                        sent += 1;
                    }
                    alarm = clock::mono_ms() + interval.as_millis() as i64;
                }
            }
            Ok(())
        })();
        match outcome {
            Err(e) if zguide_examples::is_shutdown(&e) => println!(" Interrupted"),
            other => other?,
        }
        println!("{sequence} messages in");
        if args.dump {
            clone_model::print_dump(&kvmap);
        }
        Ok(())
    })
}
