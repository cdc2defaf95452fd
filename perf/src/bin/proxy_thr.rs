//! Proxy throughput: DEALER clients -> ROUTER frontend -> proxy -> DEALER backend -> DEALER echo
//! workers and back, with a choice of proxy: `zmq_patterns::Proxy` (plain, with capture, with a
//! control socket) or libzmq's own `zmq_proxy` (`zmq::proxy`, plain or with capture). Prints the
//! round trips per second. Each client keeps `--inflight` requests outstanding.
//!
//! `proxy_thr --proxy crate --workers 4 --size 64 --requests 200000`

use std::time::Instant;

use clap::Parser;
use zmq_patterns::Proxy;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    /// zmq_patterns::Proxy
    Crate,
    /// zmq_patterns::Proxy with a capture socket (PUB)
    CrateCapture,
    /// zmq_patterns::Proxy with a control socket
    CrateSteerable,
    /// libzmq's zmq_proxy
    Zmq,
    /// libzmq's zmq_proxy with a capture socket (PUB)
    ZmqCapture,
    /// libzmq's zmq_proxy_steerable with a control socket
    ZmqSteerable,
}

#[derive(Parser)]
#[command(about = "Round trips per second through a ROUTER/DEALER proxy")]
struct Args {
    /// Which proxy loop moves the messages.
    #[arg(long, value_enum, default_value = "crate")]
    proxy: Kind,
    /// Echo workers behind the backend.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Payload size in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Round trips to measure.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Requests each client keeps in flight.
    #[arg(long, default_value_t = 500)]
    inflight: u64,
    /// `tcp` (loopback) or `inproc`.
    #[arg(long, default_value = "tcp")]
    transport: String,
}

fn endpoints(transport: &str) -> anyhow::Result<(String, String)> {
    match transport {
        "inproc" => Ok(("inproc://proxy-fe".into(), "inproc://proxy-be".into())),
        "tcp" => Ok(("tcp://127.0.0.1:*".into(), "tcp://127.0.0.1:*".into())),
        other => anyhow::bail!("unknown transport {other}"),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = zmq::Context::new();
    let (fe_ep, be_ep) = endpoints(&args.transport)?;
    let frontend = ctx.socket(zmq::ROUTER)?;
    frontend.set_rcvhwm(0)?;
    frontend.set_sndhwm(0)?;
    frontend.bind(&fe_ep)?;
    let fe_ep = frontend
        .get_last_endpoint()?
        .map_err(|_| anyhow::anyhow!("endpoint"))?;
    let backend = ctx.socket(zmq::DEALER)?;
    backend.set_rcvhwm(0)?;
    backend.set_sndhwm(0)?;
    backend.bind(&be_ep)?;
    let be_ep = backend
        .get_last_endpoint()?
        .map_err(|_| anyhow::anyhow!("endpoint"))?;

    let kind = args.proxy;
    let proxy_ctx = ctx.clone();
    std::thread::spawn(move || -> anyhow::Result<()> {
        let (mut frontend, mut backend) = (frontend, backend);
        let mut capture = proxy_ctx.socket(zmq::PUB)?;
        capture.bind("inproc://proxy-capture")?;
        let mut control = proxy_ctx.socket(zmq::PAIR)?;
        control.bind("inproc://proxy-control")?;
        match kind {
            Kind::Crate => drop(Proxy::new(&frontend, &backend).run()?),
            Kind::CrateCapture => drop(Proxy::new(&frontend, &backend).capture(&capture).run()?),
            Kind::CrateSteerable => drop(Proxy::new(&frontend, &backend).control(&control).run()?),
            Kind::Zmq => zmq::proxy(&frontend, &backend)?,
            Kind::ZmqCapture => zmq::proxy_with_capture(&mut frontend, &mut backend, &mut capture)?,
            Kind::ZmqSteerable => zmq::proxy_steerable(&mut frontend, &mut backend, &mut control)?,
        }
        Ok(())
    });

    for _ in 0..args.workers {
        let ctx = ctx.clone();
        let be_ep = be_ep.clone();
        std::thread::spawn(move || -> anyhow::Result<()> {
            let worker = ctx.socket(zmq::DEALER)?;
            worker.set_rcvhwm(0)?;
            worker.set_sndhwm(0)?;
            worker.connect(&be_ep)?;
            let mut part = zmq::Message::new();
            loop {
                worker.recv(&mut part, 0)?;
                let more = part.get_more();
                let out = std::mem::replace(&mut part, zmq::Message::new());
                worker.send(out, if more { zmq::SNDMORE } else { 0 })?;
            }
        });
    }

    let client = ctx.socket(zmq::DEALER)?;
    client.set_rcvhwm(0)?;
    client.set_sndhwm(0)?;
    client.connect(&fe_ep)?;
    // Warm up: one round trip through every worker's connection.
    for _ in 0..args.workers * 2 {
        client.send(zmq::Message::with_size(args.size), 0)?;
        client.recv_msg(0)?;
    }
    let start = Instant::now();
    let mut sent = 0;
    while sent < args.inflight.min(args.requests) {
        client.send(zmq::Message::with_size(args.size), 0)?;
        sent += 1;
    }
    let mut reply = zmq::Message::new();
    for _ in 0..args.requests {
        client.recv(&mut reply, 0)?;
        if sent < args.requests {
            client.send(zmq::Message::with_size(args.size), 0)?;
            sent += 1;
        }
    }
    let elapsed = start.elapsed();
    let rate = args.requests as f64 / elapsed.as_secs_f64();
    println!("proxy: {}", kind_name(kind));
    println!("workers: {}", args.workers);
    println!("message size: {} [B]", args.size);
    println!("round trips: {}", args.requests);
    println!("mean throughput: {} [round trips/s]", rate as u64);
    // zmq_proxy returns only when the context ends, which would wait for the sockets of the
    // threads above: leave at once.
    std::process::exit(0);
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Crate => "crate",
        Kind::CrateCapture => "crate-capture",
        Kind::CrateSteerable => "crate-steerable",
        Kind::Zmq => "zmq",
        Kind::ZmqCapture => "zmq-capture",
        Kind::ZmqSteerable => "zmq-steerable",
    }
}
