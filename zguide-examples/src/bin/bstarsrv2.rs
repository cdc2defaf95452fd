//! Binary Star server on a reactor (guide chapter 4, "Binary Star Reactor"): `bstarsrv` rebuilt
//! on the library's `bstar::Server` (the guide's `bstar` class), with an echo service as the
//! voter handler.
//!
//! Run it exactly as `bstarsrv`: `bstarsrv2 -p`, `bstarsrv2 -b` and `bstarcli`, in any order;
//! the two server programs also pair with each other, and with the guide's C versions. Kill the
//! active server to see the client fail over, start it again, kill the other to fail back.
//!
//! Prints its start-up line (`I: Primary active, waiting for backup (passive)`) and one
//! timestamped `I: ...` line per change of state, as the guide's `bstar` logs them;
//! `E: fatal error - dual actives, aborting` (exit status 1) if both servers are active. `-v`
//! also shows the library's debug log (states sent and heard, votes dropped).

use clap::Parser;
use zguide_examples::bstar_pair::{MAX_REQUEST, PairArgs};
use zguide_examples::console;
use zmq_patterns::Msg;
use zmq_patterns::bstar::Server;
use zmq_patterns::reactor::Flow;

#[derive(Parser)]
#[command(about = "Binary Star server on the bstar reactor: one of a pair (-p or -b)")]
struct Args {
    #[command(flatten)]
    pair: PairArgs,
    /// Log the library's events (states sent and heard, dropped votes) to stdout.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let pair = args.pair.pair();
        let ctx = zmq::Context::new();
        println!("{}", pair.banner());
        let mut server = Server::new(&ctx, pair.role, &pair.statepub, &pair.statesub)
            .map_err(|e| zguide_examples::flag_hint(e, "--statepub"))?;
        server.set_heartbeat(pair.heartbeat);
        // Our own voter socket, so that its size limit is set before the bind (where libzmq
        // takes it): a request is small
        let voter = ctx.socket(zmq::ROUTER)?;
        voter.set_linger(0)?;
        voter.set_maxmsgsize(MAX_REQUEST)?;
        zguide_examples::bind(&voter, &pair.frontend, "--frontend")?;
        server.set_voter(voter)?;
        let ran = server.run(
            &mut (),
            // Echo service
            |_, _, voter| {
                Msg::recv(voter)?.send(voter).map_err(|e| e.error)?;
                Ok(Flow::Continue)
            },
            |_, _, change| {
                console!("I: {change}");
                Ok(Flow::Continue)
            },
        );
        if let Err(zmq_patterns::Error::Bstar(fatal)) = &ran {
            console!("E: {fatal}");
        }
        Ok(ran?)
    })
}
