//! Clone server, Model Four (guide chapter 5, "Working with Subtrees"): Model Three's server,
//! whose snapshots hold only the subtree a client asks for.
//!
//! Binds a ROUTER socket to `tcp://*:5556` (`--snapshot`), a PUB socket to `tcp://*:5557`
//! (`--publisher`) and a PULL socket to `tcp://*:5558` (`--collector`), in one thread. Each
//! `kvsimple` update a client pushes gets the next sequence number, is stored, republished and
//! printed (`I: publishing update     1`); each `["ICANHAZ?"][subtree]` gets the key-value pairs
//! whose key starts with the subtree, then `KTHXBAI` with the current sequence number
//! (`I: sending shapshot=N`, the guide's spelling). A client filters the updates itself, by
//! subscribing to its subtree. Prints `I: clone server is active: ...` first; on Ctrl-C,
//! ` Interrupted` and `N messages handled`. `--dump` prints the map at the end, one
//! `kvmsg_dump` line per key.
//!
//! Run beside it: `clonecli4` ×N (subtree `/client/`). (Spec 12/CHP collects on a SUB socket;
//! this model, like the guide's models three to five, collects on PULL.)
//!
//! Differs from the C original, which ended the server (`E: bad request, aborting`) on any
//! request but `ICANHAZ?`, and took any update: a malformed request (not `[ICANHAZ?]` or
//! `[ICANHAZ?][subtree]`, a subtree not `/path/`) or update (wrong frame count, a sequence frame
//! that is not 8 bytes, a key longer than 255 bytes or not UTF-8), or an update the bounded map
//! has no room for (`--max-keys`, `--max-bytes`), is logged and dropped: nothing is published or
//! sent for it. A request without a subtree frame gets the whole map (the C waited for the
//! next message and read it as the subtree). `KTHXBAI` carries the subtree as its body, as the
//! spec asks (the C sent an empty body). The snapshot socket has room for a whole snapshot.

use std::time::Duration;

use clap::Parser;
use zguide_examples::clone_model::{self, ServerArgs, ServerSockets};
use zmq_patterns::kvmsg::{KvSimple, SnapshotRequest, snapshot};
use zmq_patterns::{Msg, Poller};

#[derive(Parser)]
#[command(about = "Clone server, Model Four: snapshots of a subtree")]
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
                // Execute state snapshot requests: the request is in the second frame of the
                // message, the subtree in the third
                while let Some(msg) = Msg::try_recv(&snapshot)? {
                    let request = match SnapshotRequest::parse(msg) {
                        Ok(request) => request,
                        Err(e) => {
                            log::warn!("snapshot request dropped: {e}");
                            continue;
                        }
                    };
                    // Send the pairs of the subtree, then KTHXBAI with the sequence number
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
