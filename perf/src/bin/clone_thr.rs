//! Clone (guide chapter 5, model five) figures for a server already running, the Rust
//! `clonesrv5` or the guide's Python `clonesrv5.py`: its snapshot socket on `--port`, its
//! publisher on the port above, its collector (PULL) on the one above that.
//!
//! `clone_thr updates --clients 10`: each client pushes `kvmsg` updates to the collector and
//! subscribes to every update the server publishes, as a Clone client does; it keeps at most
//! `--window` of its own updates unpublished, so nothing is dropped at a high-water mark, and
//! the figure is what the server sustains: updates published per second.
//!
//! `clone_thr snapshot --keys 100000`: stores that many distinct keys through the server, then
//! times whole snapshots of them (`ICANHAZ?` with their subtree, `/fill/`, to `KTHXBAI`); prints
//! the median.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use zmq_patterns::Msg;
use zmq_patterns::kvmsg::{ICANHAZ, KTHXBAI, KvMsg};

#[derive(Parser)]
#[command(about = "Updates per second and snapshot time of a Clone model-five server")]
struct Args {
    /// Where the server runs.
    #[arg(long, default_value = "tcp://127.0.0.1")]
    server: String,
    /// The server's snapshot port (publisher: +1, collector: +2).
    #[arg(long, default_value_t = 5556)]
    port: u16,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Updates published per second, with some clients pushing at once.
    Updates {
        /// Clients, each on its own thread with its own sockets.
        #[arg(long, default_value_t = 1)]
        clients: usize,
        /// Updates each client sends.
        #[arg(long, default_value_t = 20_000)]
        updates: u64,
        /// A client's updates sent and not yet seen published, at most.
        #[arg(long, default_value_t = 50)]
        window: u64,
        /// Distinct keys each client writes to.
        #[arg(long, default_value_t = 1000)]
        keys: u64,
    },
    /// Median time of a whole snapshot of this many keys.
    Snapshot {
        /// Keys stored before the snapshots.
        #[arg(long, default_value_t = 10_000)]
        keys: u64,
        /// Snapshots timed.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

fn endpoint(args: &Args, offset: u16) -> String {
    format!("{}:{}", args.server, args.port + offset)
}

/// A subscriber to every update, with room for a burst.
fn subscriber(ctx: &zmq::Context, args: &Args) -> anyhow::Result<zmq::Socket> {
    let sub = ctx.socket(zmq::SUB)?;
    sub.set_linger(0)?;
    sub.set_rcvhwm(100_000)?;
    sub.set_rcvtimeo(10_000)?; // a server that stops publishing fails the run
    sub.set_subscribe(b"")?;
    sub.connect(&endpoint(args, 1))?;
    Ok(sub)
}

fn pusher(ctx: &zmq::Context, args: &Args) -> anyhow::Result<zmq::Socket> {
    let push = ctx.socket(zmq::PUSH)?;
    push.set_linger(0)?;
    push.connect(&endpoint(args, 2))?;
    Ok(push)
}

fn update(key: &str, body: &str) -> anyhow::Result<KvMsg> {
    let mut kv = KvMsg::new(key, 0, body)?;
    kv.set_uuid();
    Ok(kv)
}

/// Sends `key` until the server publishes it: the sockets are connected and subscribed.
fn warm_up(push: &zmq::Socket, sub: &zmq::Socket, key: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the server never published {key}"
        );
        update(key, "warm")?.send(push).map_err(|e| e.error)?;
        let until = Instant::now() + Duration::from_millis(200);
        while Instant::now() < until {
            if sub.poll(zmq::POLLIN, 50)? > 0 && KvMsg::recv(sub)?.key() == key {
                return Ok(());
            }
        }
    }
}

/// One client: pushes `updates` updates to keys `{id}/0..keys`, keeping at most `window` of
/// them unpublished; returns when it has seen all of its own published.
fn client(
    ctx: zmq::Context,
    args: &Args,
    id: usize,
    updates: u64,
    window: u64,
    keys: u64,
    start: &std::sync::Barrier,
) -> anyhow::Result<()> {
    let push = pusher(&ctx, args)?;
    let sub = subscriber(&ctx, args)?;
    let prefix = format!("{id}/");
    warm_up(&push, &sub, &format!("{prefix}warm"))?;
    start.wait();
    let (mut sent, mut seen) = (0u64, 0u64);
    while seen < updates {
        while sent < updates && sent - seen < window {
            let key = format!("{prefix}{}", sent % keys);
            update(&key, &format!("{:06}", sent % 1_000_000))?
                .send(&push)
                .map_err(|e| e.error)?;
            sent += 1;
        }
        let kv = KvMsg::recv(&sub)?;
        if kv.key().starts_with(&prefix) && !kv.key().ends_with("warm") {
            seen += 1;
        }
    }
    Ok(())
}

fn updates(
    args: &Args,
    clients: usize,
    updates: u64,
    window: u64,
    keys: u64,
) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let start = std::sync::Barrier::new(clients + 1);
    let elapsed = std::thread::scope(|s| -> anyhow::Result<Duration> {
        let threads: Vec<_> = (0..clients)
            .map(|id| {
                let (ctx, start) = (ctx.clone(), &start);
                s.spawn(move || client(ctx, args, id, updates, window, keys, start))
            })
            .collect();
        start.wait();
        let began = Instant::now();
        for t in threads {
            t.join()
                .map_err(|_| anyhow::anyhow!("a client panicked"))??;
        }
        Ok(began.elapsed())
    })?;
    let total = updates * clients as u64;
    println!("clients: {clients}");
    println!("updates: {total}");
    println!(
        "updates per second: {:.0}",
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn snapshots(args: &Args, keys: u64, rounds: usize) -> anyhow::Result<()> {
    let ctx = zmq::Context::new();
    let push = pusher(&ctx, args)?;
    let sub = subscriber(&ctx, args)?;
    warm_up(&push, &sub, "warm")?;
    // Fill, a window at a time (well under the publisher's high-water mark of 1000, past which
    // it drops), until the last key is published: then all are stored
    let (mut sent, mut seen) = (0u64, 0u64);
    while seen < keys {
        while sent < keys && sent - seen < 500 {
            update(&format!("/fill/{sent}"), "123456")?
                .send(&push)
                .map_err(|e| e.error)?;
            sent += 1;
        }
        if KvMsg::recv(&sub)?.key().starts_with("/fill/") {
            seen += 1;
        }
    }
    let mut times = Vec::new();
    for _ in 0..rounds {
        let dealer = ctx.socket(zmq::DEALER)?;
        dealer.set_linger(0)?;
        dealer.set_rcvhwm(0)?;
        dealer.set_rcvtimeo(60_000)?;
        dealer.connect(&endpoint(args, 0))?;
        let began = Instant::now();
        // [ICANHAZ?][subtree]: the guide's Python model five answers only a request with a
        // subtree
        Msg::from_iter([ICANHAZ, "/fill/"])
            .send(&dealer)
            .map_err(|e| e.error)?;
        let mut pairs = 0u64;
        loop {
            let msg = Msg::recv(&dealer)?;
            if msg.front().is_some_and(|k| k == KTHXBAI) {
                break;
            }
            pairs += 1;
        }
        times.push(began.elapsed());
        anyhow::ensure!(pairs == keys, "a snapshot of {pairs} pairs, not {keys}");
    }
    times.sort();
    println!("keys: {keys}");
    println!(
        "snapshot ms: {:.1}",
        times[times.len() / 2].as_secs_f64() * 1000.0
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.what {
        What::Updates {
            clients,
            updates: n,
            window,
            keys,
        } => updates(&args, clients, n, window, keys),
        What::Snapshot { keys, rounds } => snapshots(&args, keys, rounds.max(1)),
    }
}
