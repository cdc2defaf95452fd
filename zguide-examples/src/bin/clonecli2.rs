//! Clone client, Model Two (guide chapter 5, "Getting an Out-of-Band Snapshot"): takes a snapshot
//! of the server's state, then applies the updates that are newer.
//!
//! Connects a SUB socket to `tcp://localhost:5557` (`--publisher`) first, so that updates queue
//! while it waits, then a DEALER socket to `tcp://localhost:5556` (`--snapshot`): sends
//! `ICANHAZ?`, stores every key-value pair until `KTHXBAI`, prints `Received snapshot=N`, and
//! then stores each update whose sequence number is above N (and above the last one applied),
//! dropping older ones. `--last N` ends the program once update N is applied; `--dump` prints
//! the map at the end, one `kvmsg_dump` line per key.
//!
//! Run beside it: `clonesrv2`.
//!
//! Differs from the C original: a malformed message (wrong frame count, a sequence frame that
//! is not 8 bytes, a key longer than 255 bytes or not UTF-8) is logged and dropped, where the C
//! ended the program; a hole in the sequence is logged (`warn`); the map is bounded
//! (`--max-keys`, `--max-bytes`).

use clap::Parser;
use zguide_examples::clone_model::{self, MapArgs};
use zmq_patterns::SocketExt;
use zmq_patterns::kvmsg::{KvSimple, snapshot};

#[derive(Parser)]
#[command(about = "Clone client, Model Two: a state snapshot, then the newer updates")]
struct Args {
    /// Endpoint the DEALER snapshot socket connects to.
    #[arg(long, default_value = "tcp://localhost:5556")]
    snapshot: String,
    /// Endpoint the SUB socket connects to.
    #[arg(long, default_value = "tcp://localhost:5557")]
    publisher: String,
    /// End once the update with this sequence number is applied (or is in the snapshot).
    #[arg(long)]
    last: Option<u64>,
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

        let mut kvmap = args.map.map::<KvSimple>();
        let outcome = (|| -> zmq_patterns::Result<()> {
            // Get state snapshot
            snapshot::request("").send(&snapshot)?;
            let mut sequence = snapshot::recv(&snapshot, &mut kvmap)?;
            println!("Received snapshot={sequence}");

            // Now apply pending updates, discard out-of-sequence messages
            while args.last.is_none_or(|last| sequence < last) {
                let kvmsg = match KvSimple::recv(&subscriber) {
                    Ok(kvmsg) => kvmsg,
                    Err(e) if e.is_protocol() => {
                        log::warn!("update dropped: {e}");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if kvmsg.sequence() > sequence {
                    if kvmsg.sequence() > sequence + 1 {
                        log::warn!("updates {}..{} missed", sequence + 1, kvmsg.sequence() - 1);
                    }
                    sequence = kvmsg.sequence();
                    clone_model::store(&mut kvmap, kvmsg);
                }
            }
            Ok(())
        })();
        match outcome {
            Err(e) if e.is_interrupted() => {}
            other => other?,
        }
        if args.dump {
            clone_model::print_dump(&kvmap);
        }
        Ok(())
    })
}
