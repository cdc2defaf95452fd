//! Handling Ctrl-C (guide chapter 2, "Handling Interrupt Signals").
//!
//! Binds a REP socket to `tcp://*:5555` and waits on it with a poller. The C original installs
//! its own SIGINT/SIGTERM handler that writes to a self-pipe, and polls that pipe beside the
//! socket; here the library does exactly that (`zguide_examples::run` installs
//! `zmq_patterns::interrupt`, and every `Poller` watches its pipe), so the poll returns
//! `Interrupted` on the first signal. Prints `W: recv` for each request, and on SIGINT or
//! SIGTERM `W: interrupt received, killing server...` then `W: cleaning up`, and exits 0.
//!
//! Run beside it: any REQ client, e.g. `hwclient`. Fixes the C original's REP socket that
//! never replied (so it could take only one request): it echoes each request back.

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Msg, Poller};

#[derive(Parser)]
#[command(about = "Shows Ctrl-C handling: REP server that stops cleanly on SIGINT/SIGTERM")]
struct Args {
    /// Endpoint the REP socket binds to.
    #[arg(long, default_value = "tcp://*:5555")]
    bind: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let socket = ctx.socket(zmq::REP)?;
        socket.set_linger(0)?;
        bind(&socket, &args.bind, "--bind")?;
        zguide_examples::console!(
            "I: REP server is active at {}; Ctrl-C to interrupt it",
            args.bind
        );

        let mut poller = Poller::new();
        let server = poller.add(&socket);
        loop {
            match poller.poll(None) {
                Ok(_) => {}
                // The signal: the library's self-pipe woke the poll
                Err(e) if e.is_interrupted() => {
                    println!("W: interrupt received, killing server...");
                    break;
                }
                Err(e) => return Err(e.into()),
            }
            if poller.is_readable(server) {
                // Non-blocking, so that we go straight back to watching for the signal
                if let Some(request) = Msg::try_recv(&socket)? {
                    println!("W: recv");
                    // Now send the message back
                    request.send(&socket)?;
                }
            }
        }
        println!("W: cleaning up");
        Ok(())
    })
}
