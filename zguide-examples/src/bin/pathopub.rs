//! Pathological publisher (guide chapter 5, "Last Value Caching"): sends out 1,000 topics, then
//! one random update per second, so a subscriber that joins late waits a long time for its
//! topic.
//!
//! Binds a PUB socket to the endpoint given as argument (default `tcp://*:5556`), waits a second
//! for subscribers to connect, publishes `[NNN][Save Roger]` for the topics `000` to `999`, then
//! once a second `[NNN][Off with his head!]` for a random topic. It prints nothing but its
//! start-up line.
//!
//! Run beside it: `pathosub` (which waits for its topic's next update, on average 1000 s), or
//! through the last value cache: `lvcache`, then `pathopub tcp://localhost:5557` and
//! `pathosub tcp://localhost:5558` (which gets its topic at once). `--interval-ms` changes the
//! pause between random updates. Ctrl-C stops it (exit status 0).
//!
//! As in the C original the endpoint is bound, also when it names a host (`tcp://localhost:5557`
//! binds the loopback interface), although the guide's text speaks of connecting. Unlike the C,
//! the send high-water mark is raised from 1,000 to 2,000 messages, so a subscriber that reads
//! the burst slowly does not lose its end.

use clap::Parser;
use rand::Rng;
use std::time::Duration;
use zguide_examples::bind;
use zmq_patterns::{SocketExt, clock};

#[derive(Parser)]
#[command(about = "Pathological publisher: 1,000 topics, then one random update per second")]
struct Args {
    /// Endpoint the PUB socket binds to.
    #[arg(default_value = "tcp://*:5556")]
    endpoint: String,
    /// Pause between random updates, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB)?;
        publisher.set_linger(0)?;
        // Room for the whole burst of 1,000 updates
        publisher.set_sndhwm(2000)?;
        bind(&publisher, &args.endpoint, "another ENDPOINT")?;
        zguide_examples::console!("I: pathological publisher is active at {}", args.endpoint);

        // Ensure subscriber connection has time to complete
        clock::sleep(Duration::from_secs(1))?;

        // Send out all 1,000 topic messages
        for topic_nbr in 0..1000 {
            publisher.send_text_more(&format!("{topic_nbr:03}"))?;
            publisher.send_text("Save Roger")?;
        }
        log::debug!("sent the 1,000 topics");
        // Send one random update per second
        let mut rng = rand::thread_rng();
        loop {
            clock::sleep(Duration::from_millis(args.interval_ms))?;
            let topic = format!("{:03}", rng.gen_range(0..1000));
            log::debug!("update of topic {topic}");
            publisher.send_text_more(&topic)?;
            publisher.send_text("Off with his head!")?;
        }
    })
}
