//! Strawhouse (CZMQ's `examples/security`, the second of the guide's five security models):
//! NULL security with an address allow list. An authenticator (`zmq_patterns::auth`, CZMQ's
//! `zauth`) admits clients from the listed addresses only; messages are still in clear text.
//!
//! A PUSH server binds `tcp://*:9000`, a PULL client in the same process connects to
//! `tcp://127.0.0.1:9000` (allowed), the server sends `Hello`, and the program prints
//! `Strawhouse test OK`. Then, unlike the C original, it also shows a refusal: a second client
//! connects from `127.0.0.2` (any 127.x address is this host on Linux), which is not in the
//! list, and the program prints `Strawhouse: a client from 127.0.0.2 was refused (ZAP status
//! 400)`. Run it alone; it ends by itself (exit 0), or with status 1 and `error: ...` if the
//! allowed client gets nothing or the other is not refused within `--timeout-ms`.
//! `-v` logs each of the authenticator's decisions.
//!
//! A fix of the C original: libzmq (since 4.1) asks the authenticator about NULL clients only
//! when the server socket has a ZAP domain, which the C original does not set, so its allow
//! list admits everyone. This port sets the domain `global`.

use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use zguide_examples::bind;
use zguide_examples::security::{AuthFailures, from_source, recv_or_refused, send_or_refused};
use zmq_patterns::SocketExt;
use zmq_patterns::auth::Authenticator;

#[derive(Parser)]
#[command(about = "Strawhouse: PUSH to PULL in one process, clients allowed by IP address")]
struct Args {
    /// Endpoint the server (PUSH) binds to.
    #[arg(long, default_value = "tcp://*:9000")]
    bind: String,
    /// Endpoint the clients (PULL) connect to.
    #[arg(long, default_value = "tcp://127.0.0.1:9000")]
    connect: String,
    /// An address the authenticator allows (repeat for more).
    #[arg(long, default_value = "127.0.0.1")]
    allow: Vec<String>,
    /// The address the second client connects from, to be refused ("" for none).
    #[arg(long, default_value = "127.0.0.2")]
    denied_from: String,
    /// How long each step may take, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Log the authenticator's decisions.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let timeout = Duration::from_millis(args.timeout_ms);
        let ctx = zmq::Context::new();
        //  Start an authentication engine for this context. This engine
        //  allows or denies incoming connections (talking to the libzmq
        //  core over a protocol called ZAP).
        let auth = Authenticator::new(&ctx)?;
        //  Allow our address; any other address will be rejected
        auth.allow(&args.allow)?;

        //  Create and bind server socket; a ZAP domain makes libzmq ask about NULL clients
        let server = ctx.socket(zmq::PUSH)?;
        server.set_linger(0)?;
        server.set_zap_domain("global")?;
        let failures = AuthFailures::watch(&ctx, &server, "strawhouse")?;
        bind(&server, &args.bind, "--bind")?;

        //  Create and connect client socket
        let client = ctx.socket(zmq::PULL)?;
        client.set_linger(0)?;
        client.connect_to(&args.connect)?;

        //  Send a single message from server to client
        send_or_refused(&server, &failures, "Hello", timeout)?;
        let message = recv_or_refused(&client, &failures, timeout)?;
        ensure!(
            message == "Hello",
            "the client received {message:?}, not Hello"
        );
        println!("Strawhouse test OK");
        zguide_examples::flush();

        //  And a client from an address that is not allowed
        if !args.denied_from.is_empty() {
            let source = &args.denied_from;
            let stranger = ctx.socket(zmq::PULL)?;
            stranger.set_linger(0)?;
            let endpoint = from_source(&args.connect, source)?;
            stranger
                .connect(&endpoint)
                .with_context(|| format!("cannot connect {endpoint}"))?;
            match failures.wait(timeout)? {
                Some(code) => {
                    println!("Strawhouse: a client from {source} was refused (ZAP status {code})")
                }
                None => bail!(
                    "a client from {source} was not refused within {} ms",
                    args.timeout_ms
                ),
            }
        }
        auth.stop()?;
        Ok(())
    })
}
