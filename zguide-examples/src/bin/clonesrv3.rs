//! Clone server, Model Three (guide chapter 5, "Republishing Updates from Clients"): collects
//! key-value updates from clients, numbers them and republishes them, and hands out snapshots.
//!
//! Binds a ROUTER socket to `tcp://*:5556` (`--snapshot`), a PUB socket to `tcp://*:5557`
//! (`--publisher`) and a PULL socket to `tcp://*:5558` (`--collector`), in one thread. Each
//! `kvsimple` update a client pushes gets the next sequence number, is stored, republished and
//! printed (`I: publishing update     1`); each `ICANHAZ?` gets every key-value pair and then
//! `KTHXBAI` with the current sequence number (`I: sending shapshot=N`, the guide's spelling).
//! Prints `I: clone server is active: ...` first; on Ctrl-C, ` Interrupted` and
//! `N messages handled`. `--dump` prints the map at the end, one `kvmsg_dump` line per key.
//!
//! Run beside it: `clonecli3` ×N. (Spec 12/CHP collects on a SUB socket; this model, like the
//! guide's models three to five, collects on PULL.)
//!
//! Differs from the C original, which ended the server (`E: bad request, aborting`) on any
//! request but `ICANHAZ?`, read a request of more frames as two, and took any update: a
//! malformed request (not `[ICANHAZ?]` or `[ICANHAZ?][subtree]`, a subtree not `/path/`) or
//! update (wrong frame count, a sequence frame that is not 8 bytes, a key longer than 255 bytes
//! or not UTF-8), or an update the bounded map has no room for (`--max-keys`, `--max-bytes`), is
//! logged and dropped: nothing is published or sent for it. A request with a subtree (spec
//! 12/CHP, Clone model four) gets the keys under it, and `KTHXBAI` carries the subtree as its
//! body, as the spec asks. The snapshot socket has room for a whole snapshot.

use std::time::Duration;

use clap::Parser;
use zguide_examples::clone_model::{self, ServerArgs, ServerSockets};
use zmq_patterns::kvmsg::{KvSimple, SnapshotRequest, snapshot};
use zmq_patterns::{Msg, Poller};

#[derive(Parser)]
#[command(about = "Clone server, Model Three: collects, numbers and republishes client updates")]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        // Prepare our context and sockets
        let ctx = zmq::Context::new();
        let ServerSockets {
            snapshot,
            publisher,
            collector,
        } = args.server.bind(&ctx)?;

        // The body of the main task collects updates from clients and publishes them back out
        // to clients
        let mut sequence = 0u64;
        let mut kvmap = args.server.map.map::<KvSimple>();
        let mut poller = Poller::new();
        poller.add(&collector);
        poller.add(&snapshot);
        let outcome = (|| -> zmq_patterns::Result<()> {
            loop {
                poller.poll(Some(Duration::from_secs(1)))?;

                // Apply state updates sent from clients
                while let Some(msg) = Msg::try_recv(&collector)? {
                    let mut kvmsg = match KvSimple::parse(msg) {
                        Ok(kvmsg) => kvmsg,
                        Err(e) => {
                            log::warn!("update dropped: {e}");
                            continue;
                        }
                    };
                    kvmsg.set_sequence(sequence + 1);
                    let update = kvmsg.clone();
                    if clone_model::store(&mut kvmap, kvmsg) {
                        sequence += 1;
                        update.send(&publisher).map_err(|e| e.error)?;
                        println!("I: publishing update {sequence:5}");
                    }
                }
                // Execute state snapshot requests
                while let Some(msg) = Msg::try_recv(&snapshot)? {
                    let request = match SnapshotRequest::parse(msg) {
                        Ok(request) => request,
                        Err(e) => {
                            log::warn!("snapshot request dropped: {e}");
                            continue;
                        }
                    };
                    // Send state snapshot to client, then KTHXBAI with the sequence number
                    println!("I: sending shapshot={sequence}");
                    snapshot::send(&snapshot, &request, &kvmap, sequence)?;
                }
            }
        })();
        match outcome {
            Err(e) if e.is_interrupted() => {}
            other => other?,
        }
        println!(" Interrupted\n{sequence} messages handled");
        if args.server.dump {
            clone_model::print_dump(&kvmap);
        }
        Ok(())
    })
}
