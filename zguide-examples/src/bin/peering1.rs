//! Broker peering simulation, part 1 (guide chapter 3, "Prototyping the State Flow"): brokers
//! tell each other how many workers they have free, over PUB-SUB.
//!
//! `peering1 me {you}...`: binds a PUB socket to `ipc://<me>-state.ipc` and connects a SUB
//! socket to `ipc://<you>-state.ipc` of each peer. Once a second it publishes the two-frame
//! state message `[me][N]` (N a random number of free workers, 0..9, as decimal text) and
//! prints `<peer> - N workers free` for each state message a peer sends.
//!
//! Run it three times, in the same directory, to simulate three clusters (the guide's
//! Python and C versions can take any of the places):
//! `peering1 DC1 DC2 DC3`, `peering1 DC2 DC1 DC3`, `peering1 DC3 DC1 DC2`.
//! Expect each to print `I: preparing broker at DC1...`, then about one state line per peer
//! and second. Ctrl-C stops it (exit status 0).
//!
//! The endpoints are templates in which `{}` stands for a broker's name (`--state`);
//! `--interval-ms` sets how often it publishes.
//!
//! Fixes the C original's heartbeat: it published only after a whole second without input,
//! so a broker with two or more peers that keep talking could stay silent for ever; this one
//! publishes once per interval whatever arrives (still at most once per interval, so no
//! message storms). A state message from a peer that is not two frames, or whose count is not
//! a number, is logged and dropped.

use clap::Parser;
use rand::Rng;
use zguide_examples::bind;
use zmq_patterns::{Msg, Poller, SocketExt, clock};

#[derive(Parser)]
#[command(about = "Broker peering, part 1: the state flow between brokers (PUB-SUB)")]
struct Args {
    /// This broker's name.
    me: String,
    /// The peers' names.
    peers: Vec<String>,
    /// State endpoint of a broker; `{}` is replaced by its name (we bind ours, connect theirs).
    #[arg(long, default_value = "ipc://{}-state.ipc")]
    state: String,
    /// How often we publish our state, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
}

/// `[peer][free workers]`, or `None` (logged) if the message is not that.
fn parse_state(mut msg: Msg) -> Option<(String, u32)> {
    if msg.len() != 2 {
        log::warn!("state message is not [peer][count], dropped: {msg:?}");
        return None;
    }
    let (peer, free) = (msg.pop_front_str()?, msg.pop_front_str()?);
    match free.parse() {
        Ok(n) => Some((peer, n)),
        Err(_) => {
            log::warn!("state message from {peer:?} with a bad count {free:?}, dropped");
            None
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let me = &args.me;
        println!("I: preparing broker at {me}...");
        let ctx = zmq::Context::new();

        // Bind state backend to endpoint
        let statebe = ctx.socket(zmq::PUB)?;
        statebe.set_linger(0)?;
        bind(&statebe, &args.state.replace("{}", me), "--state")?;

        // The ipc files we bound (the guide's defaults are in the working directory) go
        // when we return, Ctrl-C included.
        let _ipc_files = zguide_examples::IpcFiles::bound([args.state.replace("{}", me)]);

        // Connect statefe to all peers
        let statefe = ctx.socket(zmq::SUB)?;
        statefe.set_subscribe(b"")?;
        for peer in &args.peers {
            println!("I: connecting to state backend at '{peer}'");
            statefe.connect_to(&args.state.replace("{}", peer))?;
        }

        // The main loop sends out status messages to peers, and collects status messages
        // back from peers. The poll timeout is the time left to our next heartbeat.
        let mut rng = rand::thread_rng();
        let mut poller = Poller::new();
        let from_peers = poller.add(&statefe);
        let mut next_send = clock::mono_ms() + args.interval_ms as i64;
        loop {
            poller.poll(Some(clock::until(next_send)))?;

            // Handle incoming status messages
            if poller.is_readable(from_peers) {
                if let Some((peer, free)) = parse_state(Msg::recv(&statefe)?) {
                    println!("{peer} - {free} workers free");
                }
            }
            // Send random values for worker availability
            if clock::mono_ms() >= next_send {
                statebe.send_text_more(me)?;
                statebe.send_text(&rng.gen_range(0..10).to_string())?;
                next_send = clock::mono_ms() + args.interval_ms as i64;
            }
        }
    })
}
