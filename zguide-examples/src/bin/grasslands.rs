//! Grasslands (CZMQ's `examples/security`, the first of the guide's five security models):
//! no security at all. Anyone who can reach the port can connect, and everything goes over
//! the wire in clear text.
//!
//! A PUSH server binds `tcp://*:9000`, a PULL client in the same process connects to
//! `tcp://127.0.0.1:9000`, the server sends `Hello`, and the program prints
//! `Grasslands test OK` when the client has it. Run it alone; it ends by itself (exit 0), or
//! with status 1 and `error: ...` if no client comes or nothing arrives within `--timeout-ms`
//! (the C original waits for ever).
//!
//! Next: `strawhouse` (an address allow list), `woodhouse` (user names and passwords).

use anyhow::ensure;
use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::SocketExt;

#[derive(Parser)]
#[command(about = "Grasslands: PUSH to PULL in one process, no security")]
struct Args {
    /// Endpoint the server (PUSH) binds to.
    #[arg(long, default_value = "tcp://*:9000")]
    bind: String,
    /// Endpoint the client (PULL) connects to.
    #[arg(long, default_value = "tcp://127.0.0.1:9000")]
    connect: String,
    /// How long the client waits for the message, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        //  Create and bind server socket
        let server = ctx.socket(zmq::PUSH)?;
        server.set_linger(0)?;
        let timeout = i32::try_from(args.timeout_ms).unwrap_or(i32::MAX);
        server.set_sndtimeo(timeout)?; // a PUSH waits for a client
        bind(&server, &args.bind, "--bind")?;

        //  Create and connect client socket
        let client = ctx.socket(zmq::PULL)?;
        client.set_rcvtimeo(timeout)?;
        client.connect_to(&args.connect)?;

        //  Send a single message from server to client
        server.send("Hello", 0).map_err(|e| match e {
            zmq::Error::EAGAIN => anyhow::anyhow!("no client within {} ms", args.timeout_ms),
            e => zmq_patterns::Error::from(e).into(),
        })?;
        let message = client.recv_text().map_err(|e| {
            if e.is_timeout() {
                anyhow::anyhow!("nothing arrived within {} ms", args.timeout_ms)
            } else {
                e.into()
            }
        })?;
        ensure!(
            message == "Hello",
            "the client received {message:?}, not Hello"
        );
        println!("Grasslands test OK");
        Ok(())
    })
}
