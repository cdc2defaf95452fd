//! Majordomo throughput: an asynchronous client (mdclient2 style, `--inflight` requests in
//! flight) through `zmq_patterns::mdp::Broker` to `--workers` echo workers, with `--services`
//! services known to the broker (the others served by idle workers), over tcp loopback.
//! Prints requests per second. With `--broker ENDPOINT` it uses a broker already running there
//! (such as the `mdbroker` binary) instead of its own.
//!
//! `mdp_thr --workers 4 --services 1000 --requests 100000`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use zmq_patterns::{Msg, mdp};

#[derive(Parser)]
#[command(about = "Requests per second through the Majordomo broker")]
struct Args {
    /// Echo workers for the measured service.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Services the broker knows (the measured one and idle others).
    #[arg(long, default_value_t = 10)]
    services: usize,
    /// Requests to measure.
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// Requests the client keeps in flight.
    #[arg(long, default_value_t = 100)]
    inflight: u64,
    /// Request size in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Use the broker at this endpoint instead of one inside this process.
    #[arg(long)]
    broker: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = zmq::Context::new();
    let endpoint = match &args.broker {
        Some(endpoint) => endpoint.clone(),
        None => {
            let config = mdp::BrokerConfig {
                max_services: args.services + 10,
                ..Default::default()
            };
            let mut broker = mdp::Broker::new(&ctx, config)?;
            broker.socket().set_rcvhwm(0)?;
            broker.socket().set_sndhwm(0)?;
            broker.socket().bind("tcp://127.0.0.1:*")?;
            let endpoint = broker
                .socket()
                .get_last_endpoint()?
                .map_err(|_| anyhow::anyhow!("no endpoint"))?;
            std::thread::spawn(move || broker.run());
            endpoint
        }
    };

    // The other services, each with one idle worker that only says READY.
    let idle: Vec<zmq::Socket> = (1..args.services)
        .map(|i| -> anyhow::Result<zmq::Socket> {
            let s = ctx.socket(zmq::DEALER)?;
            s.connect(&endpoint)?;
            mdp::FromWorker::Ready {
                service: format!("service-{i}").as_str().into(),
            }
            .into_msg()
            .send(&s)?;
            Ok(s)
        })
        .collect::<anyhow::Result<_>>()?;

    // Echo workers; each counts itself in `serving` once it has answered a request.
    let serving = Arc::new(AtomicUsize::new(0));
    for _ in 0..args.workers {
        let (ctx, endpoint, serving) = (ctx.clone(), endpoint.clone(), serving.clone());
        std::thread::spawn(move || -> zmq_patterns::Result<()> {
            let mut worker = mdp::Worker::new(&ctx, &endpoint, "echo")?;
            let mut reply = Some(worker.recv(None)?);
            serving.fetch_add(1, Ordering::SeqCst);
            loop {
                reply = Some(worker.recv(reply.take())?);
            }
        });
    }

    // Warm up until every worker has answered (connected, registered, served).
    let client = mdp::AsyncClient::new(&ctx, &endpoint)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut warm = 0;
    while serving.load(Ordering::SeqCst) < args.workers || warm < 1000 {
        anyhow::ensure!(Instant::now() < deadline, "workers did not all answer");
        for _ in 0..args.inflight {
            client.send("echo", Msg::from_iter(["warm-up"]))?;
        }
        for _ in 0..args.inflight {
            anyhow::ensure!(client.recv()?.is_some(), "a warm-up reply did not come");
        }
        warm += args.inflight;
    }
    let body = vec![0u8; args.size];
    let start = Instant::now();
    let mut sent = 0;
    while sent < args.inflight.min(args.requests) {
        client.send("echo", Msg::from_iter([&body[..]]))?;
        sent += 1;
    }
    for _ in 0..args.requests {
        if client.recv()?.is_none() {
            anyhow::bail!("a reply did not come");
        }
        if sent < args.requests {
            client.send("echo", Msg::from_iter([&body[..]]))?;
            sent += 1;
        }
    }
    let rate = args.requests as f64 / start.elapsed().as_secs_f64();
    println!("workers: {}", args.workers);
    println!("services: {}", args.services);
    println!("requests: {}", args.requests);
    println!("mean throughput: {} [requests/s]", rate as u64);
    drop(idle);
    std::process::exit(0);
}
