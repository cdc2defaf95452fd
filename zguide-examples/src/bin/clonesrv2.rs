//! Clone server, Model Two (guide chapter 5, "Getting an Out-of-Band Snapshot"): publishes random
//! key-value updates and hands a snapshot of its state to any client that asks.
//!
//! Binds a PUB socket to `tcp://*:5557` (`--publisher`) and publishes `kvsimple` updates with
//! sequence numbers 1, 2, 3... as fast as it can (`--interval-ms` paces it), keys from 0..9999
//! (`--keys`). A state-manager thread (an actor on an inproc PAIR pipe) keeps the map and binds
//! a ROUTER socket to `tcp://*:5556` (`--snapshot`): to each `ICANHAZ?` it answers with every
//! key-value pair, then `KTHXBAI` with its latest sequence number, printing
//! `Sending state shapshot=N` (the guide's spelling). Prints `I: clone server is active: ...`
//! first; on Ctrl-C, ` Interrupted` and `N messages out`. `--count N` stops publishing after N
//! updates (`I: N updates published`, then it still serves snapshots until Ctrl-C); `--dump`
//! prints the map at the end, one `kvmsg_dump` line per key.
//!
//! Run beside it: `clonecli2`, started at any time.
//!
//! Differs from the C original, which ended the server (`E: bad request, aborting`) on any
//! request but `ICANHAZ?`, and read a request of more frames as two: a malformed request (not
//! `[ICANHAZ?]` or `[ICANHAZ?][subtree]`, a subtree not `/path/`, huge frames) is logged and
//! dropped, and no snapshot is sent for it. A request with a subtree (spec 12/CHP, Clone model
//! four) gets the keys under that subtree, and `KTHXBAI` carries the subtree as its body, as
//! the spec asks. The state manager applies every pending update before it answers, and the
//! snapshot socket has room for a whole snapshot (a ROUTER drops what does not fit). The map is
//! bounded (`--max-keys`, `--max-bytes`).

use std::time::Duration;

use clap::Parser;
use zguide_examples::clone_model::{self, MapArgs};
use zmq_patterns::kvmsg::{KvSimple, SnapshotRequest, snapshot};
use zmq_patterns::{Actor, ActorPipe, Msg, Poller, clock, interrupt};

#[derive(Parser)]
#[command(about = "Clone server, Model Two: PUB updates, ROUTER state snapshots")]
struct Args {
    /// Endpoint the ROUTER snapshot socket binds to.
    #[arg(long, default_value = "tcp://*:5556")]
    snapshot: String,
    /// Endpoint the PUB socket binds to.
    #[arg(long, default_value = "tcp://*:5557")]
    publisher: String,
    /// Pause between updates, in milliseconds (0: as fast as it can).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// Stop publishing after this many updates, then serve snapshots until Ctrl-C.
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
        // Prepare our context and sockets
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB)?;
        publisher.set_linger(1000)?;
        zguide_examples::bind(&publisher, &args.publisher, "--publisher")?;

        // Start state manager and wait for it to be ready (its socket bound)
        let (ctx2, endpoint, map_args) = (ctx.clone(), args.snapshot.clone(), args.map);
        let updates = Actor::new(&ctx, move |pipe| {
            state_manager(&ctx2, &pipe, &endpoint, map_args)
        })
        .map_err(|e| zguide_examples::flag_hint(e, "--snapshot"))?;
        zguide_examples::console!(
            "I: clone server is active: snapshots at {}, updates at {}",
            args.snapshot,
            args.publisher
        );

        // The state manager has the same map; ours is for --dump
        let mut kvmap = args.map.map::<KvSimple>();
        let mut sequence = 0u64;
        let mut rng = rand::thread_rng();
        let outcome = (|| -> zmq_patterns::Result<()> {
            while args.count.is_none_or(|count| sequence < count) {
                // A PUB send never blocks, so look for Ctrl-C ourselves.
                interrupt::check()?;
                // Distribute as key-value message
                sequence += 1;
                let kvmsg = clone_model::random_update(&mut rng, args.keys, sequence);
                kvmsg.send_copy(&publisher)?;
                kvmsg.send_copy(&updates)?;
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

/// The state manager: keeps the map of the updates the main thread sends down the pipe, and
/// answers snapshot requests on the ROUTER socket.
fn state_manager(
    ctx: &zmq::Context,
    pipe: &ActorPipe,
    endpoint: &str,
    map_args: MapArgs,
) -> zmq_patterns::Result<()> {
    use zmq_patterns::SocketExt;
    let snapshot = ctx.socket(zmq::ROUTER)?;
    snapshot.set_linger(0)?;
    snapshot.set_sndhwm(map_args.snapshot_hwm())?;
    snapshot.bind_to(endpoint)?;
    pipe.ready()?;

    let mut kvmap = map_args.map::<KvSimple>();
    let mut sequence = 0u64; // Current snapshot version number
    let mut poller = Poller::new();
    poller.add(pipe);
    poller.add(&snapshot);
    loop {
        poller.poll(None)?;
        // Apply every state update from the main thread first, so a snapshot is up to date
        while let Some(msg) = Msg::try_recv(pipe)? {
            if pipe.is_term(&msg) {
                return Ok(());
            }
            match KvSimple::parse(msg) {
                Ok(kvmsg) => {
                    sequence = kvmsg.sequence();
                    clone_model::store(&mut kvmap, kvmsg);
                }
                Err(e) => log::warn!("update dropped: {e}"),
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
            println!("Sending state shapshot={sequence}");
            snapshot::send(&snapshot, &request, &kvmap, sequence)?;
        }
    }
}
