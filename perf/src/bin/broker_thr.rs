//! Requests per second through one of the guide's brokers, run as its own process: `lbbroker`
//! (chapter 3's load-balancing broker, started with `--clients 0 --workers 0`) or
//! `asyncsrv-proxy` (the asynchronous client/server platform's proxy). This process plays the
//! rest: one asynchronous client (a DEALER keeping `--inflight` requests in flight, as
//! `mdclient2` does) and `--workers` echo workers, REQ sockets that say `READY` for `lbbroker`,
//! DEALER sockets for `asyncsrv-proxy`. Everything goes over tcp loopback.
//!
//! Measuring starts once every worker has answered a request. Prints requests per second.
//!
//! `broker_thr --broker lbbroker --spawn target/release/lbbroker --workers 4`

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use zmq_patterns::{Frame, Msg};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Broker {
    /// `lbbroker`: REQ workers announce themselves with READY; one request per worker at a time.
    Lbbroker,
    /// `asyncsrv-proxy`: DEALER workers get requests dealt round-robin.
    Asyncsrv,
}

#[derive(Parser)]
#[command(about = "Requests per second through lbbroker or asyncsrv-proxy")]
struct Args {
    /// Which broker is on the other side.
    #[arg(long, value_enum, default_value = "lbbroker")]
    broker: Broker,
    /// Start this broker binary with the endpoints below, and stop it at the end.
    #[arg(long)]
    spawn: Option<String>,
    /// The broker's frontend (default: a free loopback port).
    #[arg(long)]
    frontend: Option<String>,
    /// The broker's backend (default: a free loopback port).
    #[arg(long)]
    backend: Option<String>,
    /// Echo workers.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Requests to measure.
    #[arg(long, default_value_t = 50_000)]
    requests: u64,
    /// Requests the client keeps in flight.
    #[arg(long, default_value_t = 100)]
    inflight: u64,
    /// Request size in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Printable routing identities and a body of `x`s, for a broker that handles strings only
    /// (the guide's C `lbbroker` receives every frame with `s_recv`).
    #[arg(long)]
    text: bool,
}

/// A loopback endpoint on a port that was free a moment ago.
fn free_endpoint() -> anyhow::Result<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Ok(format!("tcp://127.0.0.1:{port}"))
}

/// Kills the broker when the benchmark ends, however it ends.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(path: &str, broker: Broker, frontend: &str, backend: &str) -> anyhow::Result<Spawned> {
    let mut cmd = Command::new(path);
    cmd.args(["--frontend", frontend, "--backend", backend]);
    if broker == Broker::Lbbroker {
        cmd.args(["--clients", "0", "--workers", "0"]);
    }
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "warn"); // not asyncsrv-proxy's note that its console has ended
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {path}: {e}"))?;
    Ok(Spawned(child))
}

/// An echo worker: sends back each request in the envelope it came in, and counts itself in
/// `serving` after its first one.
fn worker(
    ctx: zmq::Context,
    broker: Broker,
    endpoint: String,
    serving: Arc<AtomicUsize>,
    identity: Option<String>,
) -> anyhow::Result<()> {
    let socket = ctx.socket(if broker == Broker::Lbbroker {
        zmq::REQ
    } else {
        zmq::DEALER
    })?;
    socket.set_linger(0)?;
    if let Some(identity) = identity {
        socket.set_identity(identity.as_bytes())?;
    }
    socket.connect(&endpoint)?;
    if broker == Broker::Lbbroker {
        socket.send("READY", 0)?;
    }
    let mut first = true;
    loop {
        // lbbroker: [client][""][body] (REQ took the delimiter); asyncsrv: [client][body]
        Msg::recv(&socket)?.send(&socket)?;
        if first {
            serving.fetch_add(1, Ordering::SeqCst);
            first = false;
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let frontend = args.frontend.clone().map_or_else(free_endpoint, Ok)?;
    let backend = args.backend.clone().map_or_else(free_endpoint, Ok)?;
    let _broker = match &args.spawn {
        Some(path) => Some(spawn(path, args.broker, &frontend, &backend)?),
        None => None,
    };

    let ctx = zmq::Context::new();
    let serving = Arc::new(AtomicUsize::new(0));
    for n in 0..args.workers {
        let (ctx, backend, serving) = (ctx.clone(), backend.clone(), serving.clone());
        let broker = args.broker;
        let identity = args.text.then(|| format!("worker-{n}"));
        std::thread::spawn(move || {
            if let Err(e) = worker(ctx, broker, backend, serving, identity) {
                eprintln!("worker stopped: {e}");
            }
        });
    }

    let client = ctx.socket(zmq::DEALER)?;
    client.set_linger(0)?;
    client.set_rcvtimeo(10_000)?; // a broker that stops answering fails the run
    if args.text {
        client.set_identity(b"client")?;
    }
    client.connect(&frontend)?;
    let body = vec![if args.text { b'x' } else { 0 }; args.size];
    let request = || {
        let mut msg = Msg::from_iter([&body[..]]);
        if args.broker == Broker::Lbbroker {
            msg.push_front(Frame::empty()); // the delimiter the REQ workers' envelope needs
        }
        msg
    };
    let reply = |client: &zmq::Socket| -> anyhow::Result<()> {
        let msg = Msg::recv(client)?;
        // lbbroker: ["", body]; asyncsrv: [body]
        anyhow::ensure!(
            msg.back().is_some_and(|f| f.len() == args.size),
            "unexpected reply: {msg}"
        );
        Ok(())
    };

    // Warm up until every worker has answered (connections up, workers registered)
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut warm = 0u64;
    while serving.load(Ordering::SeqCst) < args.workers || warm < 1000 {
        anyhow::ensure!(Instant::now() < deadline, "workers did not all answer");
        for _ in 0..args.inflight {
            request().send(&client)?;
        }
        for _ in 0..args.inflight {
            reply(&client)?;
        }
        warm += args.inflight;
    }

    let start = Instant::now();
    let mut sent = 0;
    while sent < args.inflight.min(args.requests) {
        request().send(&client)?;
        sent += 1;
    }
    for _ in 0..args.requests {
        reply(&client)?;
        if sent < args.requests {
            request().send(&client)?;
            sent += 1;
        }
    }
    let rate = args.requests as f64 / start.elapsed().as_secs_f64();
    println!(
        "broker: {}",
        match args.broker {
            Broker::Lbbroker => "lbbroker",
            Broker::Asyncsrv => "asyncsrv-proxy",
        }
    );
    println!("workers: {}", args.workers);
    println!("message size: {} [B]", args.size);
    println!("requests: {}", args.requests);
    println!("mean throughput: {} [requests/s]", rate as u64);
    drop(_broker);
    // The worker threads block in recv for good: leave without waiting for them.
    std::process::exit(0);
}
