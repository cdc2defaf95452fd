//! Provoking EAGAIN at the high-water mark (guide chapter 7, "Dealing with Blocked Peers").
//!
//! A DEALER with a send high-water mark of 4 and a send timeout of 0 connects to
//! `tcp://localhost:9876`, where nobody listens, and sends `message 0`, `message 1`... printing
//! `Sending message N` before each. The first four wait in the socket's queue; the fifth cannot
//! be queued, so the send fails at once with EAGAIN and the program prints libzmq's text for it,
//! `Resource temporarily unavailable`, and exits with status 0.
//!
//! Run it alone (with nothing on port 9876; `--connect` picks another endpoint). Expect
//! `Sending message 0` to `Sending message 4`, then `Resource temporarily unavailable`.
//!
//! As in the C original, where CZMQ's `zctx_destroy` set it, the socket's linger is 0: with
//! libzmq's default (wait for ever) the four queued messages would keep the program from ever
//! ending.

use clap::Parser;
use zmq_patterns::SocketExt;

#[derive(Parser)]
#[command(about = "Shows how to provoke EAGAIN when reaching HWM")]
struct Args {
    /// Endpoint the DEALER connects to (nobody should listen there).
    #[arg(long, default_value = "tcp://localhost:9876")]
    connect: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let mailbox = ctx.socket(zmq::DEALER)?;
        mailbox.set_linger(0)?;
        mailbox.set_sndhwm(4)?;
        mailbox.set_sndtimeo(0)?;
        mailbox.connect_to(&args.connect)?;

        for count in 0..10 {
            println!("Sending message {count}");
            if let Err(e) = mailbox.send(format!("message {count}").as_str(), 0) {
                if e == zmq::Error::EINTR {
                    return Err(e.into());
                }
                println!("{}", e.message());
                break;
            }
        }
        Ok(())
    })
}
