//! Asynchronous client/server platform, the proxy (guide chapter 3, "Asynchronous
//! Client/Server", taken to separate processes like the ZeroMQ London meetup's "async server
//! client platform"): the `asyncsrv` server's ROUTER-DEALER proxy, with its clients and servers
//! in other processes.
//!
//! Binds a ROUTER for `asyncsrv-client`s to `tcp://127.0.0.1:8085` and a DEALER for
//! `asyncsrv-server`s to `tcp://127.0.0.1:8087`, and passes requests (`[client][request #N]`)
//! to the servers in turn and their replies back to the client they name. Prints
//! `I: proxy ready...` at start. Reads commands on stdin, one per line, and prints a line for
//! each: `add` starts one more server worker in this process (named `proxy-1`, `proxy-2`...,
//! answering like `asyncsrv-server`'s workers, with `--max-delay-ms`), `quit` stops everything
//! and prints how many requests and replies went through (exit status 0). End of input does not
//! stop it: run it in the background or under a service manager and stop it with Ctrl-C or
//! SIGTERM (exit status 0).
//!
//! Start proxy, servers and clients in any order, and kill or add servers and clients at any
//! time. What happens to requests on the way:
//! - ZMQ_IMMEDIATE is not set on the backend: it only changes connections a socket makes
//!   itself (messages stop queueing for a peer whose connection is not complete yet). The
//!   backend binds, and a bound DEALER has pipes only to servers whose handshake is done, so it
//!   would change nothing here.
//! - With no server connected the DEALER cannot take a request at all: a proxy loop that reads
//!   a request and then sends it, blocking, would stop in that send, deaf to its console, until
//!   a server comes. This proxy keeps the one request it has begun (its first part, the rest
//!   still queued in libzmq), stops reading clients until
//!   the backend can take it (polling it for POLLOUT), and so still answers its console. Meanwhile
//!   new requests wait in the ROUTER's queues, and the clients' retries come after them: the
//!   first server to connect gets both, and the clients count the second answer as a
//!   duplicate.
//! - Whatever is ready is moved in bursts of up to 1,000 messages each way per poll, part by
//!   part as libzmq's `zmq_proxy` does: one message per poll held it to a quarter of the
//!   library's `Proxy`.
//! - Requests already dealt to a server that dies are lost with it (those it held, and those
//!   still queued in the proxy for it); the clients' timeout-and-retry covers them.
//! - Heartbeats (a PING a second, three seconds' timeout) close connections that died silently,
//!   so the DEALER stops dealing to a vanished server within seconds; ROUTER_HANDOVER lets a
//!   client that reconnects (same identity) take over from its old, not yet closed connection,
//!   so replies follow it.

use zguide_examples::asyncsrv_worker as worker;

use std::io::BufRead;

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Actor, Frame, Msg, Poller, SocketExt};

/// Where the servers this process starts with `add` connect: the backend, without TCP.
const INPROC_BACKEND: &str = "inproc://asyncsrv-proxy-backend";
/// Messages moved each way per poll at most: whatever is ready is drained in bursts (as the
/// library's `Proxy` does), and the console and the other direction still get their turn.
const BURST: u64 = 1000;
/// Where the stdin thread passes the console's lines to the main loop.
const CONSOLE: &str = "inproc://asyncsrv-proxy-console";

#[derive(Parser)]
#[command(about = "Asynchronous client/server platform: ROUTER-DEALER proxy with a console")]
struct Args {
    /// Endpoint the ROUTER socket for clients binds to.
    #[arg(long, default_value = "tcp://127.0.0.1:8085")]
    frontend: String,
    /// Endpoint the DEALER socket for servers binds to.
    #[arg(long, default_value = "tcp://127.0.0.1:8087")]
    backend: String,
    /// Longest random pause before each reply of the servers started with `add`, in ms.
    #[arg(long, default_value_t = 0)]
    max_delay_ms: u64,
}

/// Reads stdin line by line and passes each line to the main loop, until end of input.
fn console_reader(ctx: zmq::Context) {
    let run = || -> anyhow::Result<()> {
        let lines = ctx.socket(zmq::PUSH)?;
        lines.set_linger(0)?;
        lines.connect_to(CONSOLE)?;
        for line in std::io::stdin().lock().lines() {
            lines.send(line?.trim(), 0)?;
        }
        Ok(())
    };
    match run() {
        Ok(()) => log::info!("end of input: commands are over; quit with Ctrl-C or SIGTERM"),
        Err(e) => log::debug!("console reader stopped: {e}"),
    }
}

/// Moves up to [`BURST`] whole messages that are waiting on `from` to `to`, part by part as
/// libzmq's proxy does (no `Msg` built per message), and returns how many. What is ready is
/// drained in bursts, not one message per poll: a poll costs more than the message it wakes
/// for. The first part of a message is sent without blocking; if `to` cannot take it (a DEALER
/// with no server yet), it stays in `held` for the next call. The other parts follow at once:
/// libzmq delivers a message whole and accepts the rest of one whose first part it took.
fn forward(
    from: &zmq::Socket,
    to: &zmq::Socket,
    held: &mut Option<Frame>,
) -> zmq_patterns::Result<u64> {
    let flag = |more: bool| if more { zmq::SNDMORE } else { 0 };
    let mut moved = 0;
    while moved < BURST {
        let first = match held.take() {
            Some(frame) => frame,
            None => match Frame::try_recv(from)? {
                Some(frame) => frame,
                None => break,
            },
        };
        let mut more = first.more();
        match first.send(to, zmq::DONTWAIT | flag(more)) {
            Ok(()) => {}
            Err(e) if e.error.zmq() == Some(zmq::Error::EAGAIN) => {
                *held = Some(e.msg);
                break;
            }
            Err(e) => return Err(e.error),
        }
        while more {
            // already here: libzmq delivers messages whole
            let part = Frame::recv_flags(from, zmq::DONTWAIT)?;
            more = part.more();
            part.send(to, flag(more)).map_err(|e| e.error)?;
        }
        moved += 1;
    }
    Ok(moved)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let frontend = ctx.socket(zmq::ROUTER)?;
        worker::tune(&frontend)?;
        frontend.set_router_handover(true)?;
        bind(&frontend, &args.frontend, "--frontend")?;
        let backend = ctx.socket(zmq::DEALER)?;
        worker::tune(&backend)?;
        bind(&backend, &args.backend, "--backend")?;
        backend.bind_to(INPROC_BACKEND)?;

        let console = ctx.socket(zmq::PULL)?;
        console.bind_to(CONSOLE)?;
        let ctx2 = ctx.clone();
        // Blocked on stdin for good, it must not keep the process alive: it is never joined
        std::thread::spawn(move || console_reader(ctx2));
        println!(
            "I: proxy ready, clients on {}, servers on {}; commands: add, quit",
            args.frontend, args.backend
        );

        let mut servers: Vec<Actor> = Vec::new();
        let (mut requests, mut replies) = (0u64, 0u64);
        // The first part of a request read from a client that no server could take yet
        let mut pending: Option<Frame> = None;
        // (the same for a reply, which a ROUTER never refuses: there for symmetry)
        let mut held_reply: Option<Frame> = None;
        let mut poller = Poller::new();
        let from_clients = poller.add(&frontend);
        let from_servers = poller.add(&backend);
        let from_console = poller.add(&console);
        loop {
            // While a request waits for a server, read no more: wait for the backend instead
            if pending.is_some() {
                poller.set_events(from_clients, zmq::PollEvents::empty());
                poller.set_events(from_servers, zmq::POLLIN | zmq::POLLOUT);
            } else {
                poller.set_events(from_clients, zmq::POLLIN);
                poller.set_events(from_servers, zmq::POLLIN);
            }
            poller.poll(None)?;

            if poller.is_readable(from_console) {
                match Msg::recv(&console)?
                    .pop_front_str()
                    .unwrap_or_default()
                    .as_str()
                {
                    "add" => {
                        let name = format!("proxy-{}", servers.len() + 1);
                        let (ctx2, me, max_delay_ms) =
                            (ctx.clone(), name.clone(), args.max_delay_ms);
                        servers.push(Actor::new(&ctx, move |pipe| {
                            worker::server_worker(&ctx2, pipe, INPROC_BACKEND, &me, max_delay_ms)
                        })?);
                        println!("I: added server {name}");
                    }
                    "quit" => {
                        println!("I: quit: {requests} requests and {replies} replies forwarded");
                        return Ok(());
                    }
                    "" => {}
                    other => println!("W: unknown command '{other}' (commands: add, quit)"),
                }
            }
            // Replies go back to the client named in their envelope (dropped if it is gone)
            if poller.is_readable(from_servers) {
                replies += forward(&backend, &frontend, &mut held_reply)?;
            }
            // Requests go to the next server in turn, when there is one
            if pending.is_some() || poller.is_readable(from_clients) {
                requests += forward(&frontend, &backend, &mut pending)?;
            }
        }
    })
}
