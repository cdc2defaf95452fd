//! Asynchronous client/server platform, the server (guide chapter 3, "Asynchronous
//! Client/Server", taken to separate processes): one or more server workers that connect to
//! `asyncsrv-proxy`'s backend and answer the clients' requests.
//!
//! Connects `--workers` DEALER sockets (default one) to `tcp://127.0.0.1:8087`. Each request
//! arrives as `[client identity][request #N]`; it is answered exactly once (unlike the `asyncsrv`
//! demo's 0 to 4 echoes), after a random pause of up to `--max-delay-ms` (default none), with
//! `[client identity][request #N][server name]`, so the client can say who answered. Prints
//! `I: server NAME ready...` at start and `NAME: request #N from <client>` for each request.
//! The name is `--name` (default a random `%04X-%04X`), with `/1`, `/2`... per worker when
//! there are several.
//!
//! Run beside it: `asyncsrv-proxy` and some `asyncsrv-client`s, in any order; start and kill
//! servers at any time. A server that dies takes the requests it held with it: the clients ask
//! again after their timeout. Ctrl-C stops it (exit status 0).

use zguide_examples::asyncsrv_worker as worker;

use clap::Parser;
use zmq_patterns::{Actor, Poller, random_identity};

#[derive(Parser)]
#[command(about = "Asynchronous client/server platform: server workers for asyncsrv-proxy")]
struct Args {
    /// Endpoint of the proxy's backend the workers connect to.
    #[arg(long, default_value = "tcp://127.0.0.1:8087")]
    connect: String,
    /// Number of server workers in this process.
    #[arg(long, default_value_t = 1)]
    workers: u32,
    /// The server's name, sent with each reply (default: a random id).
    #[arg(long)]
    name: Option<String>,
    /// Longest random pause before each reply, in milliseconds.
    #[arg(long, default_value_t = 0)]
    max_delay_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let name = args.name.clone().unwrap_or_else(random_identity);
        let mut workers = Vec::new();
        for n in 1..=args.workers {
            let ctx2 = ctx.clone();
            let endpoint = args.connect.clone();
            let me = if args.workers == 1 {
                name.clone()
            } else {
                format!("{name}/{n}")
            };
            let max_delay_ms = args.max_delay_ms;
            workers.push(Actor::new(&ctx, move |pipe| {
                worker::server_worker(&ctx2, pipe, &endpoint, &me, max_delay_ms)
            })?);
        }
        println!(
            "I: server {name} ready, {} worker(s) connected to {}",
            args.workers, args.connect
        );
        // The workers do everything; wait for Ctrl-C (dropping them stops them)
        Poller::new().poll(None)?;
        Ok(())
    })
}
