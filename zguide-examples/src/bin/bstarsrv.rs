//! Binary Star server (guide chapter 4, "Binary Star Implementation"): a primary and a backup
//! server in a high-availability pair, of which one, the active, serves clients.
//!
//! Run `bstarsrv -p` (primary: clients at `tcp://*:5001`, state out at `tcp://*:5003`) and
//! `bstarsrv -b` (backup: `tcp://*:5002`, `tcp://*:5004`), then `bstarcli`, in any order. Each
//! server publishes its state every second (`--heartbeat-ms`) and runs the Binary Star state
//! machine on its peer's states and on client requests. The active server echoes each request;
//! the passive one drops them, so the client fails over to it only when the active one is gone.
//! Kill the primary: after the client's vote the backup prints `I: failover successful, ready
//! active`. Start the primary again: it goes passive. Kill the backup: failback.
//!
//! Prints its start-up line (`I: Primary active, waiting for backup (passive)`) and one
//! `I: ...` line per change of state; `E: fatal error - dual actives, aborting` (exit status 1)
//! if both servers are active, which the guide's design makes fatal.
//!
//! The state machine is `zmq_patterns::bstar::Fsm`; `bstarsrv2` is the same server on the
//! library's reactor-based `bstar::Server`. Fixes the C original's failback race: a primary
//! (re)started while the backup is active no longer answers clients before it has heard the
//! backup (it waits twice the heartbeat), and a state message other than `1` to `4` is dropped
//! instead of being taken as a state (a `5` was a client request) or as a sign of life.

use std::time::Instant;

use clap::Parser;
use zguide_examples::bind;
use zguide_examples::bstar_pair::{MAX_REQUEST, PairArgs};
use zmq_patterns::bstar::{Event, Fsm, State};
use zmq_patterns::{Msg, Poller, SocketExt};

#[derive(Parser)]
#[command(about = "Binary Star server: one of a primary/backup pair (-p or -b)")]
struct Args {
    #[command(flatten)]
    pair: PairArgs,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let pair = args.pair.pair();
        let ctx = zmq::Context::new();
        let statepub = ctx.socket(zmq::PUB)?;
        let statesub = ctx.socket(zmq::SUB)?;
        statesub.set_subscribe(b"")?;
        statesub.set_maxmsgsize(64)?;
        let frontend = ctx.socket(zmq::ROUTER)?;
        frontend.set_maxmsgsize(MAX_REQUEST)?;
        for s in [&statepub, &statesub, &frontend] {
            s.set_linger(0)?;
        }
        println!("{}", pair.banner());
        bind(&frontend, &pair.frontend, "--frontend")?;
        bind(&statepub, &pair.statepub, "--statepub")?;
        statesub.connect_to(&pair.statesub)?;

        let mut fsm = Fsm::new(pair.role, pair.heartbeat, Instant::now());
        // Set timer for next outgoing state message
        let mut send_state_at = Instant::now() + pair.heartbeat;
        let mut relinked = Instant::now();
        loop {
            let mut poller = Poller::new();
            poller.add(&frontend);
            poller.add(&statesub);
            match poller.poll(Some(
                send_state_at.saturating_duration_since(Instant::now()),
            )) {
                Err(e) if e.is_interrupted() => {
                    println!("W: interrupted");
                    return Ok(());
                }
                other => other?,
            };
            if poller.is_readable(0) {
                // Have a client request: answer it by echoing it back if we may
                let request = Msg::recv(&frontend)?;
                match fsm.handle(Event::ClientRequest, Instant::now()) {
                    Ok(change) => {
                        if let Some(change) = change {
                            println!("I: {change}");
                        }
                        request.send(&frontend).map_err(|e| e.error)?;
                    }
                    Err(refusal) => log::debug!("{}: {refusal}", fsm.state()),
                }
            }
            if poller.is_readable(1) {
                // Have state from our peer, execute as event
                let msg = Msg::recv(&statesub)?;
                let peer = match (msg.len(), msg.front()) {
                    (1, Some(frame)) => State::parse(frame),
                    _ => Err(zmq_patterns::Error::protocol("a state of several parts")),
                };
                match peer {
                    Err(e) => log::warn!("dropped a bad state message: {e}"),
                    Ok(peer) => match fsm.handle(Event::Peer(peer), Instant::now()) {
                        Ok(Some(change)) => println!("I: {change}"),
                        Ok(None) => {}
                        Err(fatal) => {
                            println!("E: {fatal}");
                            anyhow::bail!("{fatal}");
                        }
                    },
                }
            }
            // If we timed out, send state to peer
            if Instant::now() >= send_state_at {
                statepub.send(fsm.state().as_wire(), 0)?;
                send_state_at = Instant::now() + pair.heartbeat;
                // A state over the size limit makes libzmq end the connection for good: connect
                // again while the peer is silent, or a vote could make us a second active server
                if fsm.peer_is_gone(Instant::now()) && relinked.elapsed() >= 2 * pair.heartbeat {
                    relinked = Instant::now();
                    let _ = statesub.disconnect(&pair.statesub);
                    statesub.connect_to(&pair.statesub)?;
                }
            }
        }
    })
}
