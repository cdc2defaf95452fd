//! UDP ping, model two (guide chapter 8, "Cooperative Discovery Using UDP Broadcasts"): the
//! UDP work moved into a small library, `zmq_patterns::beacon::Udp` (the guide's `udplib`).
//!
//! Binds UDP port 9999 (shared: several copies can run on one host), picks the interface to
//! broadcast on and says which, and broadcasts a one-byte beacon (`!`) once a second
//! (`Pinging peers...`). Beacons it hears are read and, as in the guide, not printed; run with
//! `RUST_LOG=debug` to see them (`found peer 10.0.0.7:9999`).
//!
//! Run beside it: `udpping2` or `udpping1` on the other hosts of the network. `--interface`
//! picks an interface by name or address (`eth0`, `10.0.0.7`, `lo` to stay on this host).
//! Ctrl-C stops it (status 0).
//!
//! Differs from the C original: `udplib` looked for the last IPv4 interface, then sent to
//! 255.255.255.255 anyway (whichever interface the routing table picks); this one sends to the
//! broadcast address of the interface it chose, and prints its choice.

use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use clap::Parser;
use zmq_patterns::Poller;
use zmq_patterns::beacon::Udp;

#[derive(Parser)]
#[command(about = "UDP ping, model two: broadcast beacons through the udplib class")]
struct Args {
    /// UDP port to bind and broadcast to.
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// Time between beacons, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// Interface to broadcast on, by name or address (default: the first that is not loopback).
    #[arg(long)]
    interface: Option<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let udp = Udp::bind_to(args.port, args.interface.as_deref())?;
        match udp.interface() {
            Some(i) => println!(
                "I: pinging on {} ({}), port {}, to {}",
                i.name,
                i.address,
                udp.port(),
                udp.target().ip()
            ),
            None => println!("I: pinging on port {} to {}", udp.port(), udp.target().ip()),
        }
        let interval = Duration::from_millis(args.interval_ms);
        let mut buffer = [0u8; 256];

        // Send first ping right away
        let mut ping_at = Instant::now();
        loop {
            let mut poller = Poller::new();
            poller.add_fd(udp.as_raw_fd());
            match poller.poll(Some(ping_at.saturating_duration_since(Instant::now()))) {
                Err(e) if e.is_interrupted() => return Ok(()),
                other => other?,
            };
            // Someone answered our ping
            if poller.is_readable(0) {
                match udp.recv(&mut buffer) {
                    Ok((_, from)) => log::debug!("found peer {from}"),
                    Err(e) if e.is_timeout() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if Instant::now() >= ping_at {
                println!("Pinging peers...");
                udp.send(b"!")?;
                ping_at = Instant::now() + interval;
            }
        }
    })
}
