//! Majordomo broker (guide chapter 4, "Service-Oriented Reliable Queuing (Majordomo Pattern)"):
//! the Majordomo Protocol (spec 7/MDP) with the service discovery of spec 8/MMI.
//!
//! Binds one ROUTER socket to `tcp://*:5555` for clients and workers alike and prints the
//! timestamped `I: MDP broker/0.2.0 is active at tcp://*:5555`. Workers register a service by
//! name; each client request goes to the service's least recently used idle worker, or waits in
//! the service's queue until one is free, where clients take turns (the C original served the
//! queue first come, first served, so a client with many requests in flight went first). Idle workers get a heartbeat every 2500 ms and are
//! dropped after 3 silent intervals; busy workers get heartbeats too (the C original
//! heartbeated idle workers only; spec 7/MDP says both peers MUST), but none while requests
//! keep them busy. A request to `mmi.service` is answered by the broker
//! itself: `200` if the named service has workers, `404` if not. `-v` prints every message it
//! receives and sends (the library's log, on stdout). Ctrl-C prints `W: interrupt received, shutting down...` and exits 0.
//!
//! Run beside it: `mdworker` (one or more), then `mdclient`, `mdclient2` or `mmiecho`.
//!
//! The broker is `zmq_patterns::mdp::Broker`; this program only configures and runs it. It fixes
//! the C original's bugs: the `mmi.` prefix is checked on the service a worker registers (the C
//! checked the worker's identity); a REPLY is forwarded only from the worker that holds that
//! client's request (the C passed any REPLY to whatever client it named), and any other
//! unexpected or malformed command from a worker gets DISCONNECT; a malformed message is logged
//! and dropped instead of failing an assertion; and what a peer can make it hold is bounded: a
//! request waits at most `--request-expiry-ms` for a service that makes no progress, services
//! that only clients name are limited (and never lock workers out), requests are limited in
//! number and bytes per service and in all (`--max-service-bytes`, `--max-total-bytes`), a
//! message in size (`--max-msg-size`), and its queues of workers by the number of workers, not
//! of their heartbeats.
//!
//! Over CURVE (not in the guide): `--curve-secret PATH` serves with the broker's certificate
//! (CZMQ's zcert format, with its secret key; give workers and clients its public file), and
//! `--curve-clients DIR` admits only the workers and clients whose public certificates are in
//! `DIR` (read again as files change), or `--curve-any-client` any that knows the broker's key;
//! one of the two is required, so that an open broker is a choice. Workers and clients take
//! `--curve-server` and `--curve-cert`. Without CURVE in the linked libzmq these flags end the
//! program at once with status 1 and `error: unsupported: ...`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use zmq_patterns::auth::{ANY_DOMAIN, Authenticator, CurveClients};
use zmq_patterns::cert::Certificate;
use zmq_patterns::mdp;

#[derive(Parser)]
#[command(about = "Majordomo broker: routes requests to workers by service name")]
#[command(group(clap::ArgGroup::new("curve_who").args(["curve_clients", "curve_any_client"])))]
struct Args {
    /// Print every message received and sent.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint the broker's ROUTER socket binds to (clients and workers).
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
    /// Interval between heartbeats to workers, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    heartbeat_ms: u64,
    /// Heartbeats a worker may miss before it is dropped.
    #[arg(long, default_value_t = 3)]
    liveness: u32,
    /// How long a request may wait for a service that has no worker (or none taking
    /// requests), in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    request_expiry_ms: u64,
    /// Largest message taken, in bytes (a peer that sends a larger frame is disconnected).
    #[arg(long, default_value_t = mdp::BrokerConfig::default().max_msg_size)]
    max_msg_size: usize,
    /// Most bytes of requests waiting for one service.
    #[arg(long, default_value_t = mdp::BrokerConfig::default().max_service_bytes)]
    max_service_bytes: usize,
    /// Most bytes of requests waiting for all services together.
    #[arg(long, default_value_t = mdp::BrokerConfig::default().max_total_bytes)]
    max_total_bytes: usize,
    /// The broker's certificate, with its secret key (CZMQ's zcert format): serve over CURVE.
    #[arg(long, value_name = "PATH", requires = "curve_who")]
    curve_secret: Option<PathBuf>,
    /// With --curve-secret: admit only the workers and clients whose public certificates are
    /// in this directory.
    #[arg(long, value_name = "DIR", requires = "curve_secret")]
    curve_clients: Option<PathBuf>,
    /// With --curve-secret: admit any worker or client that knows the broker's public key.
    #[arg(long, requires = "curve_secret")]
    curve_any_client: bool,
}

/// Makes the broker's socket a CURVE server: the authenticator that checks its peers (kept
/// running by the caller), or none for any client.
fn serve_curve(
    ctx: &zmq::Context,
    broker: &mdp::Broker,
    secret: &Path,
    clients: Option<&Path>,
) -> anyhow::Result<Option<Authenticator>> {
    zmq_patterns::cert::require_curve("mdbroker --curve-secret")?;
    let cert = Certificate::load(secret)
        .with_context(|| format!("cannot load the certificate {}", secret.display()))?;
    let Some(dir) = clients else {
        cert.apply_server(broker.socket(), CurveClients::Any)?;
        log::info!("CURVE: any client that knows the key {}", cert.public_key());
        return Ok(None);
    };
    anyhow::ensure!(
        dir.is_dir(),
        "--curve-clients {}: not a directory",
        dir.display()
    );
    let auth = Authenticator::new(ctx)?;
    auth.curve_certificates(ANY_DOMAIN, dir)?;
    cert.apply_server(broker.socket(), CurveClients::Checked(&auth))?;
    log::info!(
        "CURVE: key {}, clients in {}",
        cert.public_key(),
        dir.display()
    );
    Ok(Some(auth))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let heartbeat = Duration::from_millis(args.heartbeat_ms.max(1));
        let liveness = args.liveness.max(1);
        let config = mdp::BrokerConfig {
            heartbeat,
            liveness,
            // A worker silent for ten expiry periods while it holds a request is taken for dead.
            busy_timeout: Some(heartbeat.saturating_mul(10 * liveness)),
            request_expiry: Duration::from_millis(args.request_expiry_ms),
            max_msg_size: args.max_msg_size,
            max_service_bytes: args.max_service_bytes,
            max_total_bytes: args.max_total_bytes,
            ..Default::default()
        };
        let mut broker = mdp::Broker::new(&ctx, config)?;
        let _auth = match &args.curve_secret {
            Some(secret) => serve_curve(&ctx, &broker, secret, args.curve_clients.as_deref())?,
            None => None,
        };
        broker
            .bind(&args.bind)
            .map_err(|e| zguide_examples::flag_hint(e, "--bind"))?;
        zguide_examples::console!("I: MDP broker/0.2.0 is active at {}", args.bind);
        // Get and process messages forever or until interrupted
        match broker.run() {
            Err(e) if e.is_interrupted() => {
                println!("W: interrupt received, shutting down...");
                Ok(())
            }
            other => Ok(other?),
        }
    })
}
