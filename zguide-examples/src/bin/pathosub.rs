//! Pathological subscriber (guide chapter 5, "Last Value Caching"): subscribes to one random
//! topic and prints what it receives.
//!
//! Connects a SUB socket to the endpoint given as argument (default `tcp://localhost:5556`),
//! subscribes to a random topic `000` to `999` (or `--topic`) and prints the value of every
//! update `[topic][value]`: `Save Roger`, `Off with his head!`.
//!
//! Run beside it: `pathopub` (start this first, or it waits for a random update of its topic,
//! on average 1000 s), or `pathosub tcp://localhost:5558` behind `lvcache`, which answers at
//! once. Ctrl-C stops it (exit status 0).
//!
//! The C original asserts that every update is for its topic, so a publisher sending
//! `[0421][...]` (which the prefix subscription `042` lets through) or a message of another
//! shape aborts it; here such a message is logged and dropped.

use clap::Parser;
use rand::Rng;
use zmq_patterns::{Msg, SocketExt};

#[derive(Parser)]
#[command(about = "Pathological subscriber: SUB to one random topic, prints its updates")]
struct Args {
    /// Endpoint of the publisher (or of the last value cache).
    #[arg(default_value = "tcp://localhost:5556")]
    endpoint: String,
    /// Topic to subscribe to, instead of a random one.
    #[arg(long)]
    topic: Option<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.set_linger(0)?;
        subscriber.connect_to(&args.endpoint)?;

        let subscription = args
            .topic
            .clone()
            .unwrap_or_else(|| format!("{:03}", rand::thread_rng().gen_range(0..1000)));
        subscriber.set_subscribe(subscription.as_bytes())?;
        log::info!("subscribed to topic {subscription}");

        loop {
            let msg = Msg::recv(&subscriber)?;
            match (msg.len(), msg.front(), msg.back()) {
                (2, Some(topic), Some(data)) if *topic == *subscription => {
                    println!("{}", data.to_string_lossy());
                }
                _ => log::warn!(
                    "dropping a message that is not [{subscription}][value]: {} frames, \
                     first {}",
                    msg.len(),
                    msg.front().map_or_else(String::new, |f| format!("{f:.32}"))
                ),
            }
        }
    })
}
