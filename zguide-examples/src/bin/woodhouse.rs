//! Woodhouse (CZMQ's `examples/security`, the third of the guide's five security models):
//! PLAIN security, user names and passwords checked by an authenticator
//! (`zmq_patterns::auth`, CZMQ's `zauth`), on top of an address allow list. The password goes
//! over the wire in clear text: PLAIN is for a network you trust.
//!
//! A PUSH server with PLAIN binds `tcp://*:9000`, a PULL client in the same process connects
//! to `tcp://127.0.0.1:9000` as user `admin` with password `secret`, the server sends `Hello`,
//! and the program prints `Woodhouse test OK`. The passwords are those of CZMQ's
//! `examples/security/passwords` (`admin=secret`), or a file in that format with
//! `--passwords FILE` (`name=password` lines). Run it alone; it ends by itself (exit 0).
//! With a wrong password (`--password guess`) the server refuses the client and the program
//! ends with status 1 and `error: user admin: refused by the server (ZAP status 400)`; also
//! status 1 if nothing arrives within `--timeout-ms` (the C original waits for ever in both
//! cases). `-v` logs each of the authenticator's decisions (never a password).
//!
//! `--role server` runs only the server (it prints `Woodhouse: sent Hello` once a client passed),
//! `--role client` only the client, to meet a peer in another process or language (the
//! interop script runs them against pyzmq's `ThreadAuthenticator`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use clap::Parser;
use zguide_examples::bind;
use zguide_examples::security::{
    AuthFailures, Role, recv_or_refused, recv_within, send_or_refused,
};
use zmq_patterns::SocketExt;
use zmq_patterns::auth::{ANY_DOMAIN, Authenticator};

#[derive(Parser)]
#[command(about = "Woodhouse: PUSH to PULL in one process, PLAIN user names and passwords")]
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
    /// A password file (`name=password` lines, CZMQ's format); default: admin=secret.
    #[arg(long)]
    passwords: Option<PathBuf>,
    /// The client's user name.
    #[arg(long, default_value = "admin")]
    username: String,
    /// The client's password.
    #[arg(long, default_value = "secret")]
    password: String,
    /// How long the client waits for the message, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Run both halves, or only the server or the client.
    #[arg(long, value_enum, default_value_t)]
    role: Role,
    /// Log the authenticator's decisions.
    #[arg(short, long)]
    verbose: bool,
}

/// The client half alone: PLAIN credentials, one message within `timeout`.
fn client_only(ctx: &zmq::Context, args: &Args, timeout: Duration) -> anyhow::Result<()> {
    let client = ctx.socket(zmq::PULL)?;
    client.set_linger(0)?;
    client.set_plain_username(Some(&args.username))?;
    client.set_plain_password(Some(&args.password))?;
    client.connect_to(&args.connect)?;
    let message =
        recv_within(&client, timeout).with_context(|| format!("user {}", args.username))?;
    ensure!(
        message == "Hello",
        "the client received {message:?}, not Hello"
    );
    println!("Woodhouse test OK");
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let ctx = zmq::Context::new();
        let timeout = Duration::from_millis(args.timeout_ms);
        if args.role == Role::Client {
            return client_only(&ctx, &args, timeout);
        }
        //  Create and start authentication engine
        let auth = Authenticator::new(&ctx)?;
        auth.allow(&args.allow)?;
        //  Tell the authenticator how to handle PLAIN requests
        match &args.passwords {
            Some(file) => auth
                .plain_file(ANY_DOMAIN, file)
                .with_context(|| format!("cannot read the password file {}", file.display()))?,
            None => auth.plain_passwords(ANY_DOMAIN, [("admin", "secret")])?,
        }

        //  Create and bind server socket
        let server = ctx.socket(zmq::PUSH)?;
        server.set_linger(0)?;
        server.set_plain_server(true)?;
        let failures = AuthFailures::watch(&ctx, &server, "woodhouse")?;
        bind(&server, &args.bind, "--bind")?;
        if args.role == Role::Server {
            send_or_refused(&server, &failures, "Hello", timeout)?;
            println!("Woodhouse: sent Hello");
            // Give the message time to leave before the socket closes
            server.set_linger(i32::try_from(args.timeout_ms).unwrap_or(i32::MAX))?;
            return Ok(());
        }

        //  Create and connect client socket
        let client = ctx.socket(zmq::PULL)?;
        client.set_linger(0)?;
        client.set_plain_username(Some(&args.username))?;
        client.set_plain_password(Some(&args.password))?;
        client.connect_to(&args.connect)?;

        //  Send a single message from server to client
        let message = send_or_refused(&server, &failures, "Hello", timeout)
            .and_then(|()| recv_or_refused(&client, &failures, timeout))
            .with_context(|| format!("user {}", args.username))?;
        ensure!(
            message == "Hello",
            "the client received {message:?}, not Hello"
        );
        println!("Woodhouse test OK");
        auth.stop()?;
        Ok(())
    })
}
