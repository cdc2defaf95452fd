//! Ironhouse (CZMQ's `examples/security`, the fifth of the guide's five security models):
//! CURVE encryption with both sides authenticated. The client must know the server's public
//! key, and the server admits only clients whose public certificate is in its certificate
//! directory (`Authenticator::curve_certificates`, a `zmq_patterns::cert::CertStore`).
//!
//! The program makes a client certificate and saves its public part as
//! `.curve/testcert.pub` (`--certs` to put it elsewhere; "in practice this would be done by
//! hand or some out-of-band process"), then a PUSH server with its own certificate binds
//! `tcp://*:9000`, the PULL client connects to `tcp://127.0.0.1:9000`, the server sends
//! `Hello`, and the program prints `Ironhouse test OK` (exit 0). Run it alone; it ends by
//! itself. The application sees the client's key as the User-Id of its messages, and the
//! certificate's metadata (`name`) with them.
//!
//! CURVE needs a libzmq built with libsodium, which the `zmq` crate's own build of libzmq is
//! not. Without one the program ends at once with status 1 (a runtime failure, like any other
//! missing capability) and `error: CURVE is not available in this libzmq, ...`, saying how to
//! link one that has it, before it writes any file. Also status 1 if the client is refused
//! or nothing arrives within `--timeout-ms` (the C original waits for ever).
//!
//! `--role server` runs only the server (it prints `Ironhouse: sent Hello` once a client
//! passed), `--role client` only the client, to meet a peer in another process or language
//! (the interop script runs them against pyzmq). `--server-cert PATH` gives the server's
//! certificate (CZMQ's zcert format; pyzmq's `create_certificates` writes it too) instead of a
//! new one: the server needs its secret key, a client alone only the public file. The client
//! always makes a new certificate and saves its public part in `--certs`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use clap::Parser;
use zguide_examples::bind;
use zguide_examples::security::{
    AuthFailures, Role, recv_or_refused, recv_within, require_curve, send_or_refused,
};
use zmq_patterns::SocketExt;
use zmq_patterns::auth::{ANY_DOMAIN, Authenticator, CurveClients};
use zmq_patterns::cert::{Certificate, CurveClient};

#[derive(Parser)]
#[command(about = "Ironhouse: PUSH to PULL in one process, CURVE with known clients only")]
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
    /// The directory of client certificates (created if missing).
    #[arg(long, default_value = ".curve")]
    certs: PathBuf,
    /// How long each step may take, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// The server's certificate file (a new one by default); the server needs its secret key.
    #[arg(long, value_name = "PATH")]
    server_cert: Option<PathBuf>,
    /// Run both halves, or only the server or the client (which needs --server-cert).
    #[arg(
        long,
        value_enum,
        default_value_t,
        requires_if("client", "server_cert")
    )]
    role: Role,
    /// Log the authenticator's decisions.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        require_curve("ironhouse")?;
        let timeout = Duration::from_millis(args.timeout_ms);
        let ctx = zmq::Context::new();
        //  Create and start authentication engine
        let auth = Authenticator::new(&ctx)?;
        auth.allow(&args.allow)?;
        //  Tell the authenticator to use the certificate store in .curve
        auth.curve_certificates(ANY_DOMAIN, &args.certs)?;

        //  We'll generate a new client certificate and save the public part
        //  in the certificate store (in practice this would be done by hand
        //  or some out-of-band process).
        std::fs::create_dir_all(&args.certs)
            .with_context(|| format!("cannot create {}", args.certs.display()))?;
        let client_cert = if args.role.client() {
            let mut cert = Certificate::generate()?;
            cert.set_meta("name", "Client test certificate")?;
            cert.save_public(&args.certs.join("testcert.pub"))?;
            Some(cert)
        } else {
            None
        };

        //  Prepare the server certificate as we did in Stonehouse
        let server_cert = match &args.server_cert {
            Some(path) => Certificate::load(path)
                .with_context(|| format!("cannot load the certificate {}", path.display()))?,
            None => Certificate::generate()?,
        };
        let server_key = *server_cert.public_key();
        if let (Role::Client, Some(client_cert)) = (args.role, client_cert.as_ref()) {
            let client = ctx.socket(zmq::PULL)?;
            client.set_linger(0)?;
            CurveClient::new(client_cert.clone(), server_key).apply(&client)?;
            client.connect_to(&args.connect)?;
            let message = recv_within(&client, timeout)?;
            ensure!(
                message == "Hello",
                "the client received {message:?}, not Hello"
            );
            println!("Ironhouse test OK");
            return Ok(());
        }

        //  Create and bind server socket
        let server = ctx.socket(zmq::PUSH)?;
        server.set_linger(0)?;
        //  (safe by default: a CURVE server needs the authenticator, or an explicit
        //  CurveClients::Any, where C's zsocket_set_curve_server admits anyone)
        server_cert.apply_server(&server, CurveClients::Checked(&auth))?;
        let failures = AuthFailures::watch(&ctx, &server, "ironhouse")?;
        bind(&server, &args.bind, "--bind")?;
        let Some(client_cert) = client_cert else {
            send_or_refused(&server, &failures, "Hello", timeout)?;
            println!("Ironhouse: sent Hello");
            // Give the message time to leave before the socket closes
            server.set_linger(i32::try_from(args.timeout_ms).unwrap_or(i32::MAX))?;
            return Ok(());
        };

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
        println!("Ironhouse test OK");
        auth.stop()?;
        Ok(())
    })
}
