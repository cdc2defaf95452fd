//! Test of the kvsimple class (guide chapter 5, "Representing State as Key-Value Pairs"): the
//! self-test of `zmq_patterns::kvmsg::KvSimple`, as the guide's `kvmsg_test` runs it.
//!
//! Binds a DEALER socket to `ipc://kvmsg_selftest.ipc` (`--endpoint`) and connects another to
//! it, sends a key-value message `[key][1][body]`, stores it in a map, receives it back and
//! checks it, and prints ` * kvsimple: OK`. `-v` dumps each message to stderr
//! (`[seq:1][key:key][size:4] 626F6479`).
//!
//! Differs from the C original: the C's kvsimple test printed ` * kvmsg: ` (the text of the
//! kvmsg class it was copied from); here it names its class. The ipc file is removed at the end.

use anyhow::ensure;
use clap::Parser;
use zmq_patterns::kvmsg::{KvMap, KvSimple};

#[derive(Parser)]
#[command(about = "kvsimple self-test: prints ` * kvsimple: OK`")]
struct Args {
    /// Dump each message to stderr.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint the two DEALER sockets meet at.
    #[arg(long, default_value = "ipc://kvmsg_selftest.ipc")]
    endpoint: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        print!(" * kvsimple: ");
        zguide_examples::flush();

        // Prepare our context and sockets
        let ctx = zmq::Context::new();
        let output = ctx.socket(zmq::DEALER)?;
        output.set_linger(0)?;
        zguide_examples::bind(&output, &args.endpoint, "--endpoint")?;
        let _ipc_files = zguide_examples::IpcFiles::bound([&args.endpoint]);
        let input = ctx.socket(zmq::DEALER)?;
        input.set_linger(0)?;
        input.connect(&args.endpoint)?;
        input.set_rcvtimeo(5000)?;

        let mut kvmap = KvMap::default();

        // Test send and receive of simple message
        let kvmsg = KvSimple::new("key", 1, "body")?;
        if args.verbose {
            eprintln!("{kvmsg}");
        }
        kvmsg.send_copy(&output)?;
        kvmap.store(kvmsg).map_err(|e| anyhow::anyhow!("{e}"))?;

        let kvmsg = KvSimple::recv(&input)?;
        if args.verbose {
            eprintln!("{kvmsg}");
        }
        ensure!(kvmsg.key() == "key", "key {:?}, not \"key\"", kvmsg.key());
        ensure!(
            kvmsg.sequence() == 1 && kvmsg.body() == b"body",
            "got {kvmsg}"
        );
        kvmap.store(kvmsg).map_err(|e| anyhow::anyhow!("{e}"))?;
        ensure!(
            kvmap.len() == 1,
            "the map holds {} keys, not 1",
            kvmap.len()
        );

        println!("OK");
        Ok(())
    })
}
