//! Majordomo throughput: an asynchronous client (mdclient2 style, `--inflight` requests in
//! flight) through `zmq_patterns::mdp::Broker` to `--workers` echo workers, with `--services`
//! services known to the broker (the others served by idle workers), over tcp loopback.
//! Prints requests per second.
//!
//! `mdp_thr --workers 4 --services 1000 --requests 100000`

use std::time::Instant;

use clap::Parser;
use zmq_patterns::{mdp, Msg};

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
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = zmq::Context::new();
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

    for _ in 0..args.workers {
        let (ctx, endpoint) = (ctx.clone(), endpoint.clone());
        std::thread::spawn(move || -> zmq_patterns::Result<()> {
            let mut worker = mdp::Worker::new(&ctx, &endpoint, "echo")?;
            let mut reply = None;
            loop {
                reply = Some(worker.recv(reply.take())?);
            }
        });
    }

    // Wait until every worker is registered.
    let mut lookup = mdp::Client::new(&ctx, &endpoint)?;
    let client = mdp::AsyncClient::new(&ctx, &endpoint)?;
    loop {
        let reply = lookup.send("mmi.service", Msg::from_iter(["echo"]))?;
        if reply.first().is_some_and(|f| f == "200") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
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
