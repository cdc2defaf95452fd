//! Decentralized chat (guide chapter 8, "A Self-Healing P2P Network in 30 Seconds"): every node
//! publishes what its user types and subscribes to every other address of its /24 network.
//!
//! `dechat 192.168.55.123 eth0 joe` binds a PUB socket to port 9000 of interface `eth0` (an
//! address works too: the C passed the name to libzmq, whose build here cannot resolve interface
//! names, so the program looks the address up itself) and connects a SUB socket to `tcp://192.168.55.1:9000` ...
//! `tcp://192.168.55.254:9000`, itself included; each line typed is published as `joe: line`,
//! and every line heard (its own too) is printed. Nodes come and go as they like: ZeroMQ
//! connects to whoever is there and reconnects when a node comes back. It ends at the end of
//! its input (Ctrl-D) or on Ctrl-C (status 0).
//!
//! Run beside it: `dechat` on the other hosts of the network, each with its own address,
//! interface and name.
//!
//! Differs from the C original: a message heard that is not one line of text in one frame (so
//! that nobody can print lines that look like someone else's), or longer than
//! `--max-message-bytes`, is dropped (the C printed any frame as a C string);
//! reconnects to absent addresses back off to `--reconnect-max-ms` instead of retrying 253
//! addresses ten times a second for ever.

use std::net::Ipv4Addr;

use clap::Parser;
use zmq_patterns::beacon::Interface;
use zmq_patterns::{Actor, ActorPipe, Msg, Poller, SocketExt, interrupt};

#[derive(Parser, Clone)]
#[command(about = "Decentralized chat: PUB our lines, SUB to every address of our /24")]
struct Args {
    /// This host's IPv4 address; the other nodes are looked for on its /24.
    ipaddress: Ipv4Addr,
    /// The interface (or address) the PUB socket binds to, e.g. eth0.
    interface: String,
    /// The name put in front of each line we send.
    username: String,
    /// TCP port of every node.
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// Longest message printed; longer ones are dropped.
    #[arg(long, default_value_t = 4096)]
    max_message_bytes: i64,
    /// Longest wait between reconnects to an address nobody answers on (milliseconds).
    #[arg(long, default_value_t = 5000)]
    reconnect_max_ms: i32,
}

/// The listener: a SUB socket connected to every address of the /24, printing what it hears.
fn listener_task(pipe: ActorPipe, ctx: zmq::Context, args: &Args) -> zmq_patterns::Result<()> {
    let listener = ctx.socket(zmq::SUB)?;
    listener.set_linger(0)?;
    listener.set_maxmsgsize(args.max_message_bytes)?;
    listener.set_reconnect_ivl_max(args.reconnect_max_ms)?;
    let [a, b, c, _] = args.ipaddress.octets();
    for address in 1..255 {
        listener.connect_to(&format!("tcp://{a}.{b}.{c}.{address}:{}", args.port))?;
    }
    listener.set_subscribe(b"")?;
    pipe.ready()?;
    loop {
        let mut poller = Poller::new();
        poller.add(&pipe);
        poller.add(&listener);
        poller.poll(None)?;
        if poller.is_readable(0) {
            return Ok(()); // $TERM: we are done
        }
        if poller.is_readable(1) {
            let message = Msg::recv(&listener)?;
            match one_line(&message) {
                Some(line) => println!("{line}"),
                None => log::warn!("dropped a message that is not one line of text: {message:?}"),
            }
        }
    }
}

/// The line a message holds: one frame of UTF-8 text, its line end (if any) removed, with no
/// other line end inside (a peer cannot print lines that look like someone else's).
fn one_line(message: &Msg) -> Option<&str> {
    if message.len() != 1 {
        return None;
    }
    let text = message.front()?.as_str()?;
    let line = text.strip_suffix('\n').unwrap_or(text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    (!line.contains(['\n', '\r'])).then_some(line)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let listener = {
            let (ctx2, args) = (ctx.clone(), args.clone());
            Actor::new(&ctx, move |pipe| listener_task(pipe, ctx2, &args))?
        };
        let broadcaster = ctx.socket(zmq::PUB)?;
        broadcaster.set_linger(0)?;
        // The libzmq the zmq crate builds cannot bind to an interface name (`tcp://eth0:9000`
        // fails with "No such device"): look its address up here, as libzmq would
        let host = Interface::list()?
            .into_iter()
            .find(|i| i.name == args.interface)
            .map_or_else(|| args.interface.clone(), |i| i.address.to_string());
        let endpoint = format!("tcp://{host}:{}", args.port);
        zguide_examples::bind(&broadcaster, &endpoint, "INTERFACE or --port")?;
        println!(
            "I: {} is chatting at {endpoint} ({})",
            args.username, args.interface
        );
        while let Some(line) = interrupt::read_line()? {
            broadcaster.send_text(&format!("{}: {line}\n", args.username))?;
        }
        drop(listener);
        Ok(())
    })
}
