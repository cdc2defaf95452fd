//! The client side of Lazy Pirate, which `lpclient`, `bstarcli` and `flclient1` share: a REQ
//! socket that is thrown away when a reply does not come, and the wait for the reply that
//! echoes a request's sequence number.

use std::time::Duration;

use zmq_patterns::{Msg, Poller, SocketExt};

/// A new REQ socket connected to `endpoint`, with linger 0 so that closing it drops the
/// request it could not deliver (the guide's "old socket is confused; close it").
///
/// ```
/// let ctx = zmq::Context::new();
/// let client = zguide_examples::lazy_pirate::req_socket(&ctx, "tcp://127.0.0.1:5555").unwrap();
/// assert_eq!(client.get_linger().unwrap(), 0);
/// ```
pub fn req_socket(ctx: &zmq::Context, endpoint: &str) -> anyhow::Result<zmq::Socket> {
    let client = ctx.socket(zmq::REQ)?;
    client.set_linger(0)?;
    client.connect_to(endpoint)?;
    Ok(client)
}

/// Waits up to `timeout` for the reply to request `sequence`, which must be one frame holding
/// that number: prints `I: server replied OK (N)` and returns true. Any other reply is printed
/// as `E: {bad} reply from server: ...` and the wait goes on (a fresh `timeout`, as the guide's
/// loop does). False when nothing came in time.
///
/// ```
/// let ctx = zmq::Context::new();
/// let server = ctx.socket(zmq::REP).unwrap();
/// server.bind("inproc://lazy-doc").unwrap();
/// let client = zguide_examples::lazy_pirate::req_socket(&ctx, "inproc://lazy-doc").unwrap();
/// client.send("7", 0).unwrap();
/// let request = server.recv_bytes(0).unwrap();
/// server.send(request, 0).unwrap();
/// let wait = std::time::Duration::from_secs(5);
/// assert!(zguide_examples::lazy_pirate::await_echo(&client, 7, wait, "malformed").unwrap());
/// ```
pub fn await_echo(
    client: &zmq::Socket,
    sequence: u64,
    timeout: Duration,
    bad: &str,
) -> anyhow::Result<bool> {
    loop {
        // Poll socket for a reply, with timeout
        let mut poller = Poller::new();
        poller.add(client);
        if poller.poll(Some(timeout))? == 0 {
            return Ok(false);
        }
        // We got a reply from the server, must match sequence
        let reply = Msg::recv(client)?;
        let text = reply
            .front()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default();
        if reply.len() == 1 && text.parse() == Ok(sequence) {
            println!("I: server replied OK ({text})");
            return Ok(true);
        }
        println!("E: {bad} reply from server: {text}");
    }
}
