//! Test of the kvmsg class (guide chapter 5, "Using a Reactor"): the self-test of
//! `zmq_patterns::kvmsg::KvMsg`, as the guide's `kvmsg_test` runs it.
//!
//! Binds a DEALER socket to `ipc://kvmsg_selftest.ipc` (`--endpoint`) and connects another to
//! it, sends a key-value message with a UUID, stores it, receives it back and checks it; then a
//! message with properties (`prop2` set twice), which must come back with `prop2=value2`.
//! Prints ` * kvmsg: OK`. `-v` dumps each message to stderr
//! (`[seq:2][key:key][size:4] [prop1=value1;prop2=value2;]626F6479`).
//!
//! As the C original; the ipc file is removed at the end.

use anyhow::ensure;
use clap::Parser;
use zmq_patterns::kvmsg::{KvMap, KvMsg};

#[derive(Parser)]
#[command(about = "kvmsg self-test: prints ` * kvmsg: OK`")]
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
        print!(" * kvmsg: ");
        zguide_examples::flush();
        let dump = |kvmsg: &KvMsg| {
            if args.verbose {
                eprintln!("{kvmsg}");
            }
        };

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
        let mut kvmsg = KvMsg::new("key", 1, "body")?;
        let uuid = kvmsg.set_uuid();
        dump(&kvmsg);
        kvmsg.send_copy(&output)?;
        kvmap.store(kvmsg).map_err(|e| anyhow::anyhow!("{e}"))?;

        let kvmsg = KvMsg::recv(&input)?;
        dump(&kvmsg);
        ensure!(kvmsg.key() == "key", "key {:?}, not \"key\"", kvmsg.key());
        ensure!(
            kvmsg.uuid() == Some(&uuid),
            "the UUID changed: {:?}",
            kvmsg.uuid()
        );
        kvmap.store(kvmsg).map_err(|e| anyhow::anyhow!("{e}"))?;

        // Test send and receive of message with properties
        let mut kvmsg = KvMsg::new("key", 2, "body")?;
        kvmsg.set_prop("prop1", "value1")?;
        kvmsg.set_prop("prop2", "value1")?;
        kvmsg.set_prop("prop2", "value2")?;
        kvmsg.set_uuid();
        ensure!(kvmsg.prop("prop2") == Some("value2"), "prop2 is not value2");
        dump(&kvmsg);
        kvmsg.send(&output).map_err(|e| e.error)?;

        let kvmsg = KvMsg::recv(&input)?;
        dump(&kvmsg);
        ensure!(kvmsg.key() == "key", "key {:?}, not \"key\"", kvmsg.key());
        ensure!(
            kvmsg.prop("prop2") == Some("value2"),
            "prop2 is {:?}, not value2",
            kvmsg.prop("prop2")
        );

        println!("OK");
        Ok(())
    })
}
