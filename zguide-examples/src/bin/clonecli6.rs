//! Clone client, Model Six (guide chapter 5, "Adding the Binary Star Pattern for Reliability"
//! and "Building a Multithreaded Stack and API"): the Clone client API
//! ([`zmq_patterns::clone::Client`], the guide's `clone` class) setting random values in the
//! shared map, with failover between a primary and a backup server.
//!
//! Keeps the subtree `/client/` (`--subtree`) of the map held by the servers at
//! `tcp://localhost:5556` (`--primary`) and `tcp://localhost:5566` (`--backup`): each server's
//! snapshot socket is at that port, its publisher at port + 1 and its collector at port + 2.
//! Every second (`--interval-ms`) it sets a random key `/client/0`..`/client/9999` (`--keys`)
//! to a random number with a random TTL of 0..29 s (`--max-ttl`), sent to both servers; with
//! `--counter` it sets `/client/0`, `/client/1`... in turn (`--counter a/`: `/client/a/0`...),
//! each to its own number, so that a test can tell that every update arrived once. It prints what its
//! agent does, as the guide's agent logs it: `I: adding server tcp://localhost:5556...`,
//! `I: waiting for server at tcp://localhost:5556...`, `I: received from tcp://localhost:5556
//! snapshot=N`, `I: received from ... update=N`, and when the current server sends nothing
//! (no update, no `HUGZ`) for five seconds (`--server-ttl-ms`), `I: server at ... didn't give
//! HUGZ`, then it takes a snapshot from the other server and goes on with that one.
//! `--updates N` stops setting after N values, `--last N` ends the program once it holds
//! sequence number N and has set its values; `--dump` prints the map at the end, one
//! `kvmsg_dump` line per key.
//!
//! Run beside it: `clonesrv6 -p` (primary) and `clonesrv6 -b` (backup), then more `clonecli6`;
//! kill the primary and the clients fail over to the backup within five seconds.
//!
//! Differs from the C original: the agent's lines go to stdout through the program (the
//! library logs them at `debug`), without the C's `zclock_log` pause; `clone_get` waits at
//! most four seconds, the C's `GLOBAL_TIMEOUT`, which the C defined and never used (this
//! program does not call it); a snapshot is applied only whole (the C merged the part a dying server had sent), a late answer to an earlier snapshot
//! request is never taken for the current one, a malformed message from a server is logged and
//! dropped where the C crashed, and `HUGZ` is never stored; the map is bounded (`--max-keys`,
//! `--max-bytes`); the first value is set once the first snapshot has come (the C set it at
//! once, before its connections to the servers' collectors were up, and so lost it).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use rand::Rng;
use zguide_examples::clone_model::{self, MapArgs};
use zmq_patterns::clone::{Client, ClientConfig, Event};
use zmq_patterns::{clock, interrupt};

#[derive(Parser)]
#[command(about = "Clone client, Model Six: the clone API, with failover between two servers")]
struct Args {
    /// The primary server: its address and snapshot port (publisher at port + 1, collector at
    /// port + 2).
    #[arg(long, default_value = "tcp://localhost:5556")]
    primary: String,
    /// The backup server, as --primary.
    #[arg(long, default_value = "tcp://localhost:5566")]
    backup: String,
    /// The subtree of the map this client keeps and sets keys in.
    #[arg(long, default_value = "/client/")]
    subtree: String,
    /// Time between two values set, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// A server silent this long (no update, no HUGZ) is given up, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    server_ttl_ms: u64,
    /// Stop setting values after this many.
    #[arg(long)]
    updates: Option<u64>,
    /// End once the map is at this sequence number (and the values are set).
    #[arg(long)]
    last: Option<u64>,
    /// Keys are the subtree and a number from 0..N.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    keys: u32,
    /// Set the keys PREFIX0, PREFIX1, PREFIX2... (under the subtree) in turn, each to its own
    /// number, instead of random ones (clients with different prefixes set different keys).
    #[arg(long, value_name = "PREFIX", num_args = 0..=1, default_missing_value = "")]
    counter: Option<String>,
    /// Each value lives 0..N-1 seconds (its `ttl`; 0 never expires).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    max_ttl: u64,
    /// Print the map at the end.
    #[arg(long)]
    dump: bool,
    #[command(flatten)]
    map: MapArgs,
}

/// `tcp://host:port` → (`tcp://host`, port).
fn split_server(server: &str) -> anyhow::Result<(&str, u16)> {
    let (address, port) = server
        .rsplit_once(':')
        .filter(|(address, _)| address.contains("://"))
        .with_context(|| format!("{server:?} is not address:port (tcp://localhost:5556)"))?;
    let port = port
        .parse()
        .with_context(|| format!("{server:?}: {port:?} is not a port"))?;
    Ok((address, port))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let config = ClientConfig {
            server_ttl: Duration::from_millis(args.server_ttl_ms),
            limits: args.map.limits(),
            ..Default::default()
        };
        // Create distributed hash instance
        let mut clone = Client::with_config(&ctx, config)?;
        // Specify configuration
        clone
            .set_subtree(&args.subtree)
            .with_context(|| format!("--subtree {:?}: not empty nor /path/", args.subtree))?;
        for server in [&args.primary, &args.backup] {
            let (address, port) = split_server(server)?;
            clone.connect(address, port)?;
        }

        // Set random tuples into the distributed hash
        let interval = Duration::from_millis(args.interval_ms);
        let mut rng = rand::thread_rng();
        let mut next_set = Instant::now();
        let mut sent = 0u64;
        // (no value is set before the first snapshot: a set before the client's connections to
        // the servers' collectors are up is lost)
        let mut sequence = None;
        while !interrupt::is_interrupted() {
            let setting = args.updates.is_none_or(|updates| sent < updates);
            let reached = args
                .last
                .is_some_and(|last| sequence.is_some_and(|s| s >= last));
            if reached && !setting {
                break;
            }
            if setting && sequence.is_some() && Instant::now() >= next_set {
                let (key, value) = if let Some(prefix) = &args.counter {
                    (format!("{}{prefix}{sent}", args.subtree), sent.to_string())
                } else {
                    let key = format!("{}{}", args.subtree, rng.gen_range(0..args.keys));
                    (key, rng.gen_range(0..1_000_000u32).to_string())
                };
                let ttl = Duration::from_secs(rng.gen_range(0..args.max_ttl));
                clone.set(&key, value, ttl)?;
                sent += 1;
                next_set = Instant::now() + interval;
            }
            // Print what the agent does until the next value is due
            let wait = if setting && sequence.is_some() {
                next_set.saturating_duration_since(Instant::now())
            } else {
                Duration::MAX
            }
            .min(Duration::from_millis(100));
            if let Some(event) = clone.event_timeout(wait) {
                match &event {
                    Event::Snapshot { sequence: s, .. } | Event::Update { sequence: s, .. } => {
                        sequence = Some(*s)
                    }
                    _ => {}
                }
                println!("{} I: {event}", clock::timestamp());
            }
        }
        if args.dump {
            // (after Ctrl-C, the map the agent held as it stopped)
            match clone.to_map() {
                Ok(map) => clone_model::print_dump(&map),
                Err(e) => log::debug!("no dump: {e}"),
            }
        }
        Ok(())
    })
}
