//! The server worker of the asynchronous client/server platform, shared by `asyncsrv-server`
//! (its workers) and `asyncsrv-proxy` (the workers its `add` command starts).

use rand::Rng;
use std::time::Duration;
use zmq_patterns::{ActorPipe, Msg, Poller, SocketExt};

/// How soon a lost connection is retried, and the longest back-off between retries (ms).
pub const RECONNECT_IVL_MS: i32 = 250;
pub const RECONNECT_IVL_MAX_MS: i32 = 1000;
/// ZMTP heartbeats: a PING each second; a peer that has not been heard from for three seconds
/// is taken for dead and its connection closed (then retried by the side that connected).
pub const HEARTBEAT_IVL_MS: i32 = 1000;
pub const HEARTBEAT_TIMEOUT_MS: i32 = 3000;

/// Sets the options every socket of the platform shares: linger 0 (messages for a gone peer
/// are never worth waiting for), quick reconnects and heartbeats that find dead connections.
pub fn tune(socket: &zmq::Socket) -> zmq::Result<()> {
    socket.set_linger(0)?;
    socket.set_reconnect_ivl(RECONNECT_IVL_MS)?;
    socket.set_reconnect_ivl_max(RECONNECT_IVL_MAX_MS)?;
    socket.set_heartbeat_ivl(HEARTBEAT_IVL_MS)?;
    socket.set_heartbeat_timeout(HEARTBEAT_TIMEOUT_MS)
}

/// One server worker: a DEALER connected to the proxy's backend. It answers each request
/// `[client][body]` exactly once with `[client][body][name]`, after a random pause of up to
/// `max_delay_ms`, and prints `<name>: <body> from <client>`. It stops on `$TERM`.
pub fn server_worker(
    ctx: &zmq::Context,
    pipe: ActorPipe,
    endpoint: &str,
    name: &str,
    max_delay_ms: u64,
) -> zmq_patterns::Result<()> {
    let worker = ctx.socket(zmq::DEALER)?;
    tune(&worker)?;
    worker.connect_to(endpoint)?;
    pipe.ready()?;

    let mut poller = Poller::new();
    let from_parent = poller.add(&pipe);
    let from_proxy = poller.add(&worker);
    let mut rng = rand::thread_rng();
    loop {
        poller.poll(None)?;
        if poller.is_readable(from_parent) && pipe.is_term(&Msg::recv(&pipe)?) {
            return Ok(());
        }
        if !poller.is_readable(from_proxy) {
            continue;
        }
        // The proxy's ROUTER put the client's identity in front of the request
        let mut msg = Msg::recv(&worker)?;
        let (Some(client), Some(body), None) = (msg.pop_front(), msg.pop_front(), msg.pop_front())
        else {
            log::warn!("{name}: malformed request dropped");
            continue;
        };
        if max_delay_ms > 0 {
            // Some work, but stop at once if asked to
            let delay = rng.gen_range(0..=max_delay_ms);
            if pipe.sleep(Duration::from_millis(delay))? {
                return Ok(());
            }
        }
        // Clients set printable identities; show any other (libzmq's binary ones) in hex
        let from = if client.is_text() {
            client.to_string_lossy()
        } else {
            client.strhex()
        };
        println!("{name}: {} from {from}", body.to_string_lossy());
        let reply = Msg::from_iter([client, body, name.into()]);
        // Never block on a proxy that is gone: the client asks again if the reply is lost
        if let Err(e) = reply.try_send(&worker) {
            log::warn!("{name}: reply dropped: {}", e.error);
        }
    }
}
