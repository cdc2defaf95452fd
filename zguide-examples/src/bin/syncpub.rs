//! Synchronized publisher (guide chapter 2, "Node Coordination"): a REQ-REP handshake tells the
//! publisher when all its subscribers are connected, so none misses the start of the stream.
//!
//! Binds a PUB socket to `tcp://*:5561` and a REP socket to `tcp://*:5562`, prints `Waiting for
//! subscribers`, answers one synchronization request from each of 10 subscribers, then prints
//! `Broadcasting messages`, publishes 1,000,000 `Rhubarb` and one `END`, and exits.
//!
//! Run beside it: 10 × `syncsub` (each prints `Received 1000000 updates`).
//! `--subscribers` and `--updates` change the two counts. Fixes the C original, which keeps
//! libzmq's default send high-water mark of 1000, so a subscriber that falls behind loses
//! updates: it is raised above the number of updates. The program's end waits until every
//! update is sent. A synchronization request of more than one part is not counted: it is
//! logged and answered `ERROR: bad request`.

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, interrupt};

#[derive(Parser)]
#[command(about = "Synchronized publisher: waits for N subscribers, then broadcasts")]
struct Args {
    /// Endpoint the PUB socket binds to.
    #[arg(long, default_value = "tcp://*:5561")]
    publisher: String,
    /// Endpoint the REP synchronization socket binds to.
    #[arg(long, default_value = "tcp://*:5562")]
    sync: String,
    /// Number of subscribers to wait for.
    #[arg(long, default_value_t = 10)]
    subscribers: u32,
    /// Number of updates to broadcast before END.
    #[arg(long, default_value_t = 1_000_000)]
    updates: u32,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        // Socket to talk to clients; room for every update, so none is dropped
        let publisher = ctx.socket(zmq::PUB)?;
        let hwm = args.updates.saturating_add(args.updates / 10 + 1);
        publisher.set_sndhwm(i32::try_from(hwm).unwrap_or(i32::MAX))?;
        bind(&publisher, &args.publisher, "--publisher")?;
        // Socket to receive signals
        let syncservice = ctx.socket(zmq::REP)?;
        syncservice.set_linger(0)?;
        bind(&syncservice, &args.sync, "--sync")?;

        // Get synchronization from subscribers
        println!("Waiting for subscribers");
        for subscriber in 1..=args.subscribers {
            // - wait for synchronization request
            let _request = syncservice.recv_text_or_reply("ERROR: bad request")?;
            // - send synchronization reply
            syncservice.send_text("")?;
            log::debug!(
                "subscriber {subscriber} of {} synchronized",
                args.subscribers
            );
        }
        // Now broadcast exactly the updates, followed by END
        println!("Broadcasting messages");
        for update_nbr in 0..args.updates {
            // A PUB send never blocks, so look for Ctrl-C ourselves now and then.
            if update_nbr % 1000 == 0 {
                interrupt::check()?;
            }
            publisher.send_text("Rhubarb")?;
        }
        publisher.send_text("END")?;
        Ok(())
    })
}
