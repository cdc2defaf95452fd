//! Titanic client (guide chapter 4, "Disconnected Reliability (Titanic Pattern)"): the client
//! side of spec 9/TSP, over Majordomo.
//!
//! Connects to the Majordomo broker at `tcp://localhost:5555` and sends `[echo][Hello world]`
//! to `titanic.request`, which stores it and answers with a UUID: prints `I: request UUID
//! [032] <uuid>`. Then, after 100 ms, asks `titanic.reply` for the reply; while Titanic answers
//! `300` (not yet) it prints `I: no reply yet, trying again...` and asks again 5 s later. When
//! the reply comes it prints `Reply: Hello world`, sends `titanic.close` and exits 0. A `400`
//! prints `E: client fatal error, aborting` and exits with status 1; a `500` prints `W: server
//! error, trying again later...` and the call is made again later. `-v` shows every request and
//! reply.
//!
//! Run beside it: `mdbroker`, `titanic` and (now or later) `mdworker`.
//!
//! Each call to Titanic waits up to 2500 ms and tries 3 times (`--timeout-ms`, `--retries`);
//! `--interval-ms` and `--retry-ms` are the two waits between polls. Fixes the C original's
//! failure paths: when Titanic does not answer it exits with status 1 and `error: ...` (the C
//! exited 0), and a `titanic.request` answer that is neither an error nor `200` with a UUID is
//! an error (the C went on with a null UUID and crashed). As spec 9/TSP says (and the C did
//! not), a `500` is retried later rather than fatal, and only a status's three-digit code counts,
//! not any text after it. Ctrl-C exits 0.

use anyhow::{anyhow, bail};
use clap::Parser;
use std::time::Duration;
use zmq_patterns::{Error, Msg, clock, mdp};

#[derive(Parser)]
#[command(about = "Titanic client: a request stored by Titanic, its reply fetched later")]
struct Args {
    /// Print every request and reply.
    #[arg(short, long)]
    verbose: bool,
    /// Endpoint of the Majordomo broker.
    #[arg(long, default_value = "tcp://localhost:5555")]
    connect: String,
    /// The service Titanic should send the request to.
    #[arg(long, default_value = "echo")]
    service: String,
    /// How long to wait for each answer from Titanic, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    timeout_ms: u64,
    /// How many times a call to Titanic is sent before giving up.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Wait before each poll of `titanic.reply`, in milliseconds.
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
    /// Further wait after `I: no reply yet, trying again...`, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    retry_ms: u64,
}

/// Calls a TSP service: the reply after its `200`; `None` to try again later for `300`, `500`
/// and codes it does not know; an error for `400`. Only the code (the first three characters of
/// the status) counts: its text is not significant (spec 9/TSP).
fn service_call(
    session: &mut mdp::Client,
    service: &str,
    request: Msg,
) -> anyhow::Result<Option<Msg>> {
    let mut reply = match session.send(service, request) {
        Ok(reply) => reply,
        Err(Error::Timeout) => bail!("no answer from {service}: is titanic running?"),
        Err(e) => return Err(e.into()), // Interrupted: a clean exit
    };
    let status = reply.pop_front();
    match status.as_ref().and_then(|f| f.as_bytes().get(..3)) {
        Some(b"200") => Ok(Some(reply)),
        Some(b"400") => {
            println!("E: client fatal error, aborting");
            Err(anyhow!("{service} answered 400"))
        }
        Some(b"500") => {
            // The C original aborts here; the spec says to retry later
            println!("W: server error, trying again later...");
            Ok(None)
        }
        // Didn't succeed; don't care why not
        _ => Ok(None),
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let mut session = mdp::Client::new(&ctx, &args.connect)?;
        session.set_timeout(Duration::from_millis(args.timeout_ms));
        session.set_retries(args.retries);

        // 1. Send 'echo' request to Titanic (again later if it cannot take it now)
        let mut reply = loop {
            let request = Msg::from_iter([args.service.as_str(), "Hello world"]);
            if let Some(reply) = service_call(&mut session, "titanic.request", request)? {
                break reply;
            }
            clock::sleep(Duration::from_millis(args.retry_ms))?;
        };
        let uuid = reply
            .pop_front()
            .ok_or_else(|| anyhow!("titanic.request gave no UUID"))?;
        println!("I: request UUID {uuid:.70}");

        // 2. Wait until we get a reply
        loop {
            clock::sleep(Duration::from_millis(args.interval_ms))?;
            let request = Msg::from(uuid.clone());
            if let Some(reply) = service_call(&mut session, "titanic.reply", request)? {
                let body = reply
                    .back()
                    .map(|f| f.to_string_lossy())
                    .unwrap_or_default();
                println!("Reply: {body}");

                // 3. Close request
                service_call(&mut session, "titanic.close", Msg::from(uuid))?;
                return Ok(());
            }
            println!("I: no reply yet, trying again...");
            clock::sleep(Duration::from_millis(args.retry_ms))?; // Try again in 5 seconds
        }
    })
}
