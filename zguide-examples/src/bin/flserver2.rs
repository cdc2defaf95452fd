//! Freelance server, Model Two (guide chapter 4, "Brokerless Reliability (Freelance Pattern)"):
//! does some work and replies `OK`, with message sequencing.
//!
//! Binds to the endpoint given as its one argument. A request is two frames, `[sequence][body]`
//! (behind the REQ/REP envelope); the reply is `[sequence][OK]`, so that a shotgun client can
//! tell the reply to its current request from late ones. Prints `I: service is ready at
//! <endpoint>`; on Ctrl-C, `W: interrupted` (status 0).
//!
//! Run beside it: `flclient2`, e.g. `flserver2 tcp://*:5555 &`, `flserver2 tcp://*:5556 &`,
//! then `flclient2 tcp://localhost:5555 tcp://localhost:5556`.
//!
//! Differs from the C original, which asserted (crashed) on a request that is not two frames:
//! any malformed request (no envelope, wrong number of frames) is logged and dropped, and the
//! server goes on. For that it reads with a ROUTER socket and handles the REP envelope itself
//! (identical on the wire): a REP socket must answer every request it has read.

use clap::Parser;
use zmq_patterns::{Error, Msg};

#[derive(Parser)]
#[command(about = "Freelance server, Model Two: [sequence][body] -> [sequence][OK]")]
struct Args {
    /// Endpoint the server binds to, e.g. tcp://*:5555.
    endpoint: String,
}

/// The reply to one request as it came off the ROUTER socket, `[address][""][sequence][body]`,
/// or why it is dropped.
fn reply_to(mut request: Msg) -> Result<Msg, String> {
    let address = request.pop_front().ok_or("empty message")?;
    match request.pop_front() {
        Some(delimiter) if delimiter.is_empty() => {}
        _ => return Err("no REQ envelope (empty delimiter frame)".into()),
    }
    if request.len() != 2 {
        return Err(format!("{} frames, want [sequence][body]", request.len()));
    }
    let sequence = request.pop_front().ok_or("no sequence frame")?;
    let mut reply = Msg::from_iter([sequence]);
    reply.push_back("OK");
    reply.push_envelope(address);
    Ok(reply)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let server = ctx.socket(zmq::ROUTER)?;
        server.set_linger(0)?;
        zguide_examples::bind(&server, &args.endpoint, "another ENDPOINT")?;

        println!("I: service is ready at {}", args.endpoint);
        loop {
            let request = match Msg::recv(&server) {
                Ok(msg) => msg,
                Err(Error::Interrupted) => break,
                Err(e) => return Err(e.into()),
            };
            match reply_to(request) {
                // A client that has gone is no reason to stop: the reply is dropped.
                Ok(reply) => reply.send(&server)?,
                Err(why) => log::warn!("dropped a malformed request: {why}"),
            }
        }
        println!("W: interrupted");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_keep_the_envelope_and_sequence() {
        let reply = reply_to(Msg::from_iter(["C1", "", "7", "random name"])).unwrap();
        assert_eq!(reply, Msg::from_iter(["C1", "", "7", "OK"]));
    }

    #[test]
    fn malformed_requests_are_refused() {
        for frames in [
            vec![],
            vec!["C1"],
            vec!["C1", "7", "body"],
            vec!["C1", ""],
            vec!["C1", "", "7"],
            vec!["C1", "", "7", "a", "b"],
        ] {
            assert!(
                reply_to(Msg::from_iter(frames.clone())).is_err(),
                "{frames:?}"
            );
        }
    }
}
