//! UDP ping, model three (guide chapter 8, "Designing the API"): presence on a network behind
//! a small API, `zmq_patterns::beacon::Presence` (the guide's `interface` class).
//!
//! Each node makes up a random 16-byte identity and broadcasts it on UDP port 9999 once a
//! second from a background actor; the program only prints the events the actor sends it, as
//! `zmsg_dump` did: `[006] JOINED` and the other node's identity in 32 hexadecimal digits when a
//! node is first heard, `[004] LEFT` when it has been silent for five seconds. It starts with
//! `I: node <ID> on eth0 (10.0.0.7), port 9999`.
//!
//! Run beside it: `udpping3` on the other hosts of the network (several on one host work too).
//! Unplug one and the others print LEFT; plug it back and they print JOINED. Ctrl-C stops it
//! (status 0).
//!
//! Differs from the C original: beacons go to the broadcast address of the interface it chose
//! (`--interface` to pick one); it hears the guide's Python nodes, whose beacon is the identity
//! in hexadecimal, as well as the C ones; datagrams that are not beacons are dropped and counted
//! (`RUST_LOG=debug` shows them), and the table of peers is bounded (`--max-peers`).

use std::time::Duration;

use clap::Parser;
use zmq_patterns::beacon::{Presence, PresenceConfig};

#[derive(Parser)]
#[command(about = "UDP ping, model three: JOINED/LEFT events from the presence actor")]
struct Args {
    /// UDP port of the beacons.
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// Time between beacons, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// A node silent this long has left, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    expiry_ms: u64,
    /// Interface to broadcast on, by name or address (default: the first that is not loopback).
    #[arg(long)]
    interface: Option<String>,
    /// Most peers tracked at once.
    #[arg(long, default_value_t = 10_000)]
    max_peers: usize,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let presence = Presence::new(
            &ctx,
            PresenceConfig {
                port: args.port,
                interface: args.interface.clone(),
                interval: Duration::from_millis(args.interval_ms),
                expiry: Duration::from_millis(args.expiry_ms),
                max_peers: args.max_peers,
            },
        )?;
        match presence.interface() {
            Some(i) => println!(
                "I: node {} on {} ({}), port {}",
                presence.id_hex(),
                i.name,
                i.address,
                presence.port()
            ),
            None => println!("I: node {}, port {}", presence.id_hex(), presence.port()),
        }
        loop {
            let event = presence.recv()?;
            print!("{event}");
        }
    })
}
