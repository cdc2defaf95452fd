//! Clone server, Model Five (guide chapter 5, "Using a Reactor"): Model Four's server on the
//! five-frame `kvmsg`, with ephemeral values: an update whose `ttl` property is N seconds is
//! deleted N seconds later, and the delete is published.
//!
//! Binds a ROUTER socket to `tcp://*:5556` (`--snapshot`), a PUB socket to `tcp://*:5557`
//! (`--publisher`) and a PULL socket to `tcp://*:5558` (`--collector`). Each update a client
//! pushes gets the next sequence number, is stored, republished and logged
//! (`26-12-01 10:40:00 I: publishing update=1`, timestamped as the C's `zclock_log`); each
//! `["ICANHAZ?"][subtree]` gets the pairs of the subtree, then `KTHXBAI` with the current
//! sequence number (`I: sending shapshot=N`, the guide's spelling). Once a second
//! (`--flush-ms`) the values whose time is up are deleted: each delete (the key with an empty
//! body) takes the next sequence number and is published (`I: publishing delete=N`). Prints
//! `I: clone server is active: ...` first; `--dump` prints the map on Ctrl-C, one `kvmsg_dump`
//! line per key. The state is `zmq_patterns::clone::Store`.
//!
//! Run beside it: `clonecli5` ×N (subtree `/client/`, a `ttl` of 0..29 s on each update).
//! (Spec 12/CHP collects on a SUB socket; this model, like the guide's models three to five,
//! collects on PULL.)
//!
//! Differs from the C original (a `zloop` reactor; here one poll loop with the flush as its
//! deadline):
//! - a `ttl` of 0, or none, never expires, and a `ttl` that is not a number of seconds is
//!   refused (the C read it with `atoi`/`sscanf`; in model six a `ttl` of 0 deleted the key at
//!   once, zguide #425);
//! - the stored and published `ttl` stays the client's, in seconds: the C rewrote the stored
//!   copy to an absolute time in milliseconds and sent that in snapshots, so a snapshot and an
//!   update of the same value differed;
//! - a malformed request or update (wrong frame count, a sequence frame that is not 8 bytes, a
//!   bad UUID or properties, a key longer than 255 bytes or not UTF-8, a subtree not `/path/`),
//!   or an update the bounded map has no room for (`--max-keys`, `--max-bytes`), is logged and
//!   dropped and takes no sequence number; the C printed `E: bad request, aborting` and went on,
//!   or read garbage;
//! - `KTHXBAI` carries the subtree as its body, as the spec asks (the C sent an empty body); the
//!   snapshot socket has room for a whole snapshot.

use std::time::{Duration, Instant};

use clap::Parser;
use zguide_examples::clone_model::{self, ServerArgs, ServerSockets};
use zmq_patterns::clone::Store;
use zmq_patterns::kvmsg::{KvMsg, SnapshotRequest, snapshot};
use zmq_patterns::{Msg, Poller};

#[derive(Parser)]
#[command(about = "Clone server, Model Five: ephemeral values, deletes published")]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Time between two flushes of expired values, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    flush_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        // Set up our clone server sockets
        let ctx = zmq::Context::new();
        let ServerSockets {
            snapshot,
            publisher,
            collector,
        } = args.server.bind(&ctx)?;

        let mut store = Store::new(args.server.map.limits());
        let flush = Duration::from_millis(args.flush_ms);
        let mut next_flush = Instant::now() + flush;
        let mut poller = Poller::new();
        poller.add(&snapshot);
        poller.add(&collector);
        let outcome = (|| -> zmq_patterns::Result<()> {
            loop {
                poller.poll(Some(next_flush.saturating_duration_since(Instant::now())))?;

                // Snapshot requests: the pairs of the subtree, then KTHXBAI
                while let Some(msg) = Msg::try_recv(&snapshot)? {
                    let request = match SnapshotRequest::parse(msg) {
                        Ok(request) => request,
                        Err(e) => {
                            log::warn!("snapshot request dropped: {e}");
                            continue;
                        }
                    };
                    snapshot::send(&snapshot, &request, store.map(), store.sequence())?;
                    zguide_examples::console!("I: sending shapshot={}", store.sequence());
                }
                // Collect updates: each gets a new sequence number and, if it asks for one, an
                // expiry; publish it at once
                while let Some(msg) = Msg::try_recv(&collector)? {
                    let update = match KvMsg::parse(msg) {
                        Ok(update) => update,
                        Err(e) => {
                            log::warn!("update dropped: {e}");
                            continue;
                        }
                    };
                    let key = update.key().to_string();
                    match store.publish(update, Instant::now()) {
                        Ok(update) => {
                            update.send(&publisher).map_err(|e| e.error)?;
                            zguide_examples::console!("I: publishing update={}", store.sequence());
                        }
                        Err(refused) => log::warn!("update of {key} dropped: {refused}"),
                    }
                }
                // Flush ephemeral values that have expired, publishing each delete
                let now = Instant::now();
                if now >= next_flush {
                    for delete in store.expire(now) {
                        let sequence = delete.sequence();
                        delete.send(&publisher).map_err(|e| e.error)?;
                        zguide_examples::console!("I: publishing delete={sequence}");
                    }
                    next_flush = now + flush;
                }
            }
        })();
        match outcome {
            Err(e) if e.is_interrupted() => {}
            other => other?,
        }
        if args.server.dump {
            clone_model::print_dump(store.map());
        }
        Ok(())
    })
}
