//! Stonehouse (CZMQ's `examples/security`, the fourth of the guide's five security models):
//! CURVE encryption, with the server authenticated by its key but any client admitted. The
//! client must know the server's public key; the server does not check who the client is
//! (`Authenticator::curve_any`, CZMQ's `CURVE_ALLOW_ANY`), only its address.
//!
//! A PUSH server with a new certificate binds `tcp://*:9000`, a PULL client with a certificate
//! of its own connects to `tcp://127.0.0.1:9000` with the server's key, the server sends
//! `Hello`, and the program prints `Stonehouse test OK` (exit 0). Run it alone; it ends by
//! itself.
//!
//! CURVE needs a libzmq built with libsodium, which the `zmq` crate's own build of libzmq is
//! not. Without one the program ends at once with status 1 (a runtime failure, like any other
//! missing capability) and `error: CURVE is not available in this libzmq, ...`, saying how to
//! link one that has it. Also status 1 if the client is refused or nothing arrives within
//! `--timeout-ms` (the C original waits for ever).

use std::time::Duration;

use anyhow::ensure;
use clap::Parser;
use zguide_examples::bind;
use zguide_examples::security::{AuthFailures, recv_or_refused, require_curve, send_or_refused};
use zmq_patterns::SocketExt;
use zmq_patterns::auth::{ANY_DOMAIN, Authenticator, CurveClients};
use zmq_patterns::cert::Certificate;

#[derive(Parser)]
#[command(about = "Stonehouse: PUSH to PULL in one process, CURVE with any client")]
struct Args {
    /// Endpoint the server (PUSH) binds to.
    #[arg(long, default_value = "tcp://*:9000")]
    bind: String,
    /// Endpoint the client (PULL) connects to.
    #[arg(long, default_value = "tcp://127.0.0.1:9000")]
    connect: String,
    /// An address the authenticator allows (repeat for more).
    #[arg(long, default_value = "127.0.0.1")]
    allow: Vec<String>,
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
        require_curve("stonehouse")?;
        let timeout = Duration::from_millis(args.timeout_ms);
        let ctx = zmq::Context::new();
        //  Create and start authentication engine
        let auth = Authenticator::new(&ctx)?;
        auth.allow(&args.allow)?;
        //  Tell the authenticator how to handle CURVE requests
        auth.curve_any(ANY_DOMAIN)?;

        //  We need two certificates, one for the client and one for
        //  the server. The client must know the server's public key
        //  to make a CURVE connection.
        let client_cert = Certificate::generate()?;
        let server_cert = Certificate::generate()?;
        let server_key = *server_cert.public_key();

        //  Create and bind server socket
        let server = ctx.socket(zmq::PUSH)?;
        server.set_linger(0)?;
        //  (safe by default: a CURVE server needs the authenticator, or an explicit
        //  CurveClients::Any, where C's zsocket_set_curve_server admits anyone)
        server_cert.apply_server(&server, CurveClients::Checked(&auth))?;
        let failures = AuthFailures::watch(&ctx, &server, "stonehouse")?;
        bind(&server, &args.bind, "--bind")?;

        //  Create and connect client socket
        let client = ctx.socket(zmq::PULL)?;
        client.set_linger(0)?;
        client_cert.apply(&client)?;
        client.set_curve_serverkey(&server_key.0)?;
        client.connect_to(&args.connect)?;

        //  Send a single message from server to client
        send_or_refused(&server, &failures, "Hello", timeout)?;
        let message = recv_or_refused(&client, &failures, timeout)?;
        ensure!(
            message == "Hello",
            "the client received {message:?}, not Hello"
        );
        println!("Stonehouse test OK");
        auth.stop()?;
        Ok(())
    })
}
