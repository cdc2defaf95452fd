//! Synchronized subscriber (guide chapter 2, "Node Coordination").
//!
//! Connects a SUB socket to `tcp://localhost:5561` (subscribing to everything), sleeps one
//! second so the subscription reaches the publisher, then synchronizes over a REQ socket to
//! `tcp://localhost:5562`, counts updates until `END` and prints `Received N updates`.
//!
//! Run beside it: `syncpub` (with as many `syncsub`s as its `--subscribers`, 10 by default).
//! The one-second pause is the guide's advice (the C file in the repository omits it): without
//! it the sync reply can arrive before the subscription, and the first updates are lost.
//! Any sync reply will do; an update of more than one part is logged and not counted (so a
//! two-part `END` does not end the count).

use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Msg, SocketExt, clock};

#[derive(Parser)]
#[command(about = "Synchronized subscriber: syncs over REQ, then counts updates until END")]
struct Args {
    /// Endpoint of the publisher (SUB connects here).
    #[arg(long, default_value = "tcp://localhost:5561")]
    publisher: String,
    /// Endpoint of the publisher's synchronization service (REQ connects here).
    #[arg(long, default_value = "tcp://localhost:5562")]
    sync: String,
    /// Pause between subscribing and synchronizing, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    sleep_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        // First, connect our subscriber socket
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.connect_to(&args.publisher)?;
        subscriber.set_subscribe(b"")?;
        // 0MQ is so fast, we need to wait a while...
        clock::sleep(Duration::from_millis(args.sleep_ms))?;

        // Second, synchronize with publisher
        let syncclient = ctx.socket(zmq::REQ)?;
        syncclient.set_linger(0)?;
        syncclient.connect_to(&args.sync)?;
        // - send a synchronization request
        syncclient.send_text("")?;
        // - wait for synchronization reply
        let _reply = Msg::recv(&syncclient)?; // whatever it says

        // Third, get our updates and report how many we got
        let mut update_nbr: u64 = 0;
        loop {
            match subscriber.recv_text_or_drop()?.as_deref() {
                Some("END") => break,
                Some(_) => update_nbr += 1,
                None => {} // not an update
            }
        }
        println!("Received {update_nbr} updates");
        Ok(())
    })
}
