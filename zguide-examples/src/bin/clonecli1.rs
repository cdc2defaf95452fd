//! Clone client, Model One (guide chapter 5, "Representing State as Key-Value Pairs"): stores
//! the key-value updates a `clonesrv1` publishes.
//!
//! Connects a SUB socket to `tcp://localhost:5556` (`--connect`), subscribes to everything and
//! stores each `kvsimple` update in its map. On Ctrl-C, prints ` Interrupted` and
//! `N messages in`. `--count N` ends the program after N updates (it prints `N messages in`);
//! `--dump` prints the map at the end, one `kvmsg_dump` line per key.
//!
//! Run beside it: `clonesrv1`, started after this client (this model has no snapshot).
//! Differs from the C original: a malformed message (wrong frame count, a sequence frame that
//! is not 8 bytes, a key longer than 255 bytes or not UTF-8) is logged and dropped, where the C
//! ended the program; the map is bounded (`--max-keys`, `--max-bytes`).

use clap::Parser;
use zguide_examples::clone_model::{self, MapArgs};
use zmq_patterns::kvmsg::KvSimple;

#[derive(Parser)]
#[command(about = "Clone client, Model One: SUB, stores key-value updates")]
struct Args {
    /// Endpoint the SUB socket connects to.
    #[arg(long, default_value = "tcp://localhost:5556")]
    connect: String,
    /// End after this many updates.
    #[arg(long)]
    count: Option<u64>,
    /// Print the map at the end.
    #[arg(long)]
    dump: bool,
    #[command(flatten)]
    map: MapArgs,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        use zmq_patterns::SocketExt;
        // Prepare our context and updates socket
        let ctx = zmq::Context::new();
        let updates = ctx.socket(zmq::SUB)?;
        updates.set_subscribe(b"")?;
        updates.connect_to(&args.connect)?;

        let mut kvmap = args.map.map::<KvSimple>();
        let mut sequence = 0u64;
        let interrupted = loop {
            if args.count.is_some_and(|count| sequence >= count) {
                break false;
            }
            match KvSimple::recv(&updates) {
                Ok(kvmsg) => {
                    clone_model::store(&mut kvmap, kvmsg);
                    sequence += 1;
                }
                Err(e) if e.is_protocol() => log::warn!("update dropped: {e}"),
                Err(e) if e.is_interrupted() => break true,
                Err(e) => return Err(e.into()),
            }
        };
        if interrupted {
            println!(" Interrupted");
        }
        println!("{sequence} messages in");
        if args.dump {
            clone_model::print_dump(&kvmap);
        }
        Ok(())
    })
}
