//! Ironhouse, in two tasks (CZMQ's `examples/security/ironhouse2.c`): the Ironhouse model
//! again (CURVE, both sides authenticated), with the server and the client in threads of their
//! own, each with its own ZeroMQ context, so that what each side does is seen apart, and the
//! certificates kept on disk.
//!
//! The main thread makes the client's certificate, saves its public part in the server's
//! certificate directory as `.curve/testcert.pub` (`--certs`) and the whole certificate as
//! `client_cert.txt` and `client_cert.txt_secret` (`--client-cert`), and makes the server's
//! certificate. The server task starts an authenticator that admits the certificates in
//! `.curve` from 127.0.0.1 (`--allow`), binds a PUSH socket to `tcp://*:9000` and sends `Hello`;
//! the client task loads its certificate from the file, connects a PULL socket to
//! `tcp://127.0.0.1:9000` with the server's public key and prints `Ironhouse test OK` when
//! `Hello` arrives (exit 0). Run it alone; it ends by itself.
//!
//! Unlike the C original, which sleeps 200 ms and hopes both threads are done, the main thread
//! waits for both tasks, and the server keeps its socket until the client has its message;
//! each wait is bounded by `--timeout-ms`, and a refused client or a failed task is status 1
//! with `error: ...`. `-v` logs the authenticator's decisions (the C's `zauth_set_verbose`).
//!
//! CURVE needs a libzmq built with libsodium, which the `zmq` crate's own build of libzmq is
//! not. Without one the program ends at once with status 1 and `error: CURVE is not available
//! in this libzmq, ...`, saying how to link one that has it, before it writes any file.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, ensure};
use clap::Parser;
use zguide_examples::bind;
use zguide_examples::security::{AuthFailures, require_curve, send_or_refused};
use zmq_patterns::SocketExt;
use zmq_patterns::auth::{ANY_DOMAIN, Authenticator, CurveClients};
use zmq_patterns::cert::{Certificate, CurveClient, PublicKey};

#[derive(Parser)]
#[command(about = "Ironhouse with the server and the client as separate tasks")]
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
    /// The server's directory of client certificates (created if missing).
    #[arg(long, default_value = ".curve")]
    certs: PathBuf,
    /// Where the client's own certificate is saved, and loaded from by the client task.
    #[arg(long, default_value = "client_cert.txt")]
    client_cert: PathBuf,
    /// How long each step may take, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Log the authenticator's decisions.
    #[arg(short, long)]
    verbose: bool,
}

/// The server task: its own context and authenticator, a PUSH socket that sends `Hello` once,
/// kept open until the client says it has the message (or `timeout`).
fn server_task(
    args: &Args,
    server_cert: Certificate,
    client_done: mpsc::Receiver<()>,
) -> anyhow::Result<()> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let ctx = zmq::Context::new();
    //  Start the authenticator and tell it to authenticate clients
    //  via the certificates stored in the .curve directory.
    let auth = Authenticator::new(&ctx)?;
    auth.allow(&args.allow)?;
    auth.curve_certificates(ANY_DOMAIN, &args.certs)?;

    //  Create server socket and configure it to use full encryption
    let server = ctx.socket(zmq::PUSH)?;
    server.set_linger(0)?;
    server_cert.apply_server(&server, CurveClients::Checked(&auth))?;
    let failures = AuthFailures::watch(&ctx, &server, "ironhouse2")?;
    bind(&server, &args.bind, "--bind")?;

    //  Send our test message, just once
    send_or_refused(&server, &failures, "Hello", timeout)?;
    // The C original sleeps 200 ms here; wait for the client instead. A client that went
    // away (its task failed) is reported by the main thread.
    let _ = client_done.recv_timeout(timeout);
    auth.stop()?;
    Ok(())
}

/// The client task: its own context, its certificate loaded from disk, the server's key given.
fn client_task(
    args: &Args,
    cert_file: &Path,
    server_key: PublicKey,
    done: mpsc::Sender<()>,
) -> anyhow::Result<()> {
    let timeout = Duration::from_millis(args.timeout_ms);
    //  Load our persistent certificate from disk
    let client_cert = Certificate::load(cert_file)
        .with_context(|| format!("cannot load {}", cert_file.display()))?;

    //  Create client socket and configure it to use full encryption
    let ctx = zmq::Context::new();
    let client = ctx.socket(zmq::PULL)?;
    client.set_linger(0)?;
    CurveClient::new(client_cert, server_key).apply(&client)?;
    client.connect_to(&args.connect)?;

    //  Wait for our message, that signals the test was successful
    let message = match client.poll(zmq::POLLIN, timeout.as_millis() as i64)? {
        0 => None,
        _ => Some(client.recv_text()?),
    };
    let _ = done.send(());
    let message = message.ok_or_else(|| {
        anyhow!(
            "the client task received nothing within {} ms",
            timeout.as_millis()
        )
    })?;
    ensure!(
        message == "Hello",
        "the client received {message:?}, not Hello"
    );
    println!("Ironhouse test OK");
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        require_curve("ironhouse2")?;
        //  Create the certificate store directory and client certs
        let mut client_cert = Certificate::generate()?;
        std::fs::create_dir_all(&args.certs)
            .with_context(|| format!("cannot create {}", args.certs.display()))?;
        client_cert.set_meta("name", "Client test certificate")?;
        client_cert.save_public(&args.certs.join("testcert.pub"))?;
        client_cert
            .save(&args.client_cert)
            .with_context(|| format!("cannot save {}", args.client_cert.display()))?;
        drop(client_cert);

        //  Create the server certificate
        let server_cert = Certificate::generate()?;
        let server_key = *server_cert.public_key();

        //  Now start the two tasks; each of these has its own ZeroMQ context.
        let (done_tx, done_rx) = mpsc::channel();
        let (server_result, client_result) = std::thread::scope(|scope| {
            let server = scope.spawn(|| server_task(&args, server_cert, done_rx));
            let client = scope.spawn(|| client_task(&args, &args.client_cert, server_key, done_tx));
            // Both end within their timeouts; wait for both, then report the first failure.
            let join = |r: std::thread::Result<anyhow::Result<()>>, name: &str| {
                r.unwrap_or_else(|_| Err(anyhow!("the {name} task panicked")))
            };
            (join(server.join(), "server"), join(client.join(), "client"))
        });
        server_result.context("server task")?;
        client_result.context("client task")?;
        Ok(())
    })
}
