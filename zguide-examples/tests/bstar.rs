//! Chapter 4, Binary Star: bstarsrv / bstarsrv2 pairs with bstarcli, through failover and
//! failback, servers fed a hostile peer's states, and the split brain the pattern exists to
//! prevent, on test hosts with real links.

mod common;
use common::netns::Net;
use common::*;

use std::time::Duration;

/// Heartbeat of the test pairs (the guide's is 1000 ms): the peer is gone after 200 ms.
const HEARTBEAT_MS: &str = "100";

/// The endpoints of one pair.
struct Ports {
    primary: String,
    backup: String,
    primary_state: String,
    backup_state: String,
}

impl Ports {
    fn new() -> Ports {
        Ports {
            primary: tcp_ep(),
            backup: tcp_ep(),
            primary_state: tcp_ep(),
            backup_state: tcp_ep(),
        }
    }

    /// Starts `bin` as the primary (`-p`) or the backup (`-b`) of this pair.
    fn server(&self, bin: &str, primary: bool) -> Proc {
        let (role, frontend, mine, peer) = if primary {
            ("-p", &self.primary, &self.primary_state, &self.backup_state)
        } else {
            ("-b", &self.backup, &self.backup_state, &self.primary_state)
        };
        #[rustfmt::skip]
        let args = [
            role, "--frontend", frontend, "--statepub", mine, "--statesub", peer,
            "--heartbeat-ms", HEARTBEAT_MS,
        ];
        Proc::start(bin, &args)
    }

    fn client(&self) -> Proc {
        #[rustfmt::skip]
        let args = [
            "--primary", &self.primary, "--backup", &self.backup,
            "--timeout-ms", "400", "--settle-ms", "400", "--interval-ms", "20",
        ];
        Proc::start(bin!("bstarcli"), &args)
    }
}

/// Reads the client's output until reply `n`; records the sequence numbers of the replies.
fn replies_until(client: &Proc, n: u64, seen: &mut Vec<u64>) {
    read_replies(client, &format!("reply {n}"), seen, |k, _| k >= n);
}

/// Reads the client's output until a line containing `text`, recording the replies on the way.
fn replies_until_line(client: &Proc, text: &str, seen: &mut Vec<u64>) {
    read_replies(client, text, seen, |_, line| line.contains(text));
}

/// Reads the client's output, recording every `I: server replied OK (N)` in `seen`, until
/// `done(last reply, line)` holds.
fn read_replies(client: &Proc, what: &str, seen: &mut Vec<u64>, done: impl Fn(u64, &str) -> bool) {
    loop {
        let line = client.expect_where(|_| true, what, WAIT);
        if let Some(k) = line
            .strip_prefix("I: server replied OK (")
            .and_then(|k| k.strip_suffix(')'))
        {
            seen.push(k.parse().unwrap_or_else(|_| panic!("bad line {line:?}")));
        }
        if done(seen.last().copied().unwrap_or(0), &line) {
            return;
        }
    }
}

/// The guide's test: start the pair and the client, kill the primary (failover), start it again
/// (it comes back passive), kill the backup (failback). Every request is answered once, in order.
fn failover_and_failback(bin: &str) {
    let ports = Ports::new();
    let mut primary = ports.server(bin, true);
    primary.expect("I: Primary active, waiting for backup (passive)", WAIT);
    let mut backup = ports.server(bin, false);
    backup.expect("I: Backup passive, waiting for primary (active)", WAIT);
    primary.expect("I: connected to backup (passive), ready active", WAIT);
    backup.expect("I: connected to primary (active), ready passive", WAIT);

    let client = ports.client();
    client.expect("I: connecting to server at", WAIT);
    let mut seen = Vec::new();
    replies_until(&client, 5, &mut seen);

    // failover: the backup takes over on the client's vote
    primary.kill();
    replies_until_line(
        &client,
        "W: no response from server, failing over",
        &mut seen,
    );
    backup.expect("I: failover successful, ready active", WAIT);
    let next = seen.last().copied().unwrap_or(0) + 5;
    replies_until(&client, next, &mut seen);

    // the primary comes back passive
    let mut primary = ports.server(bin, true);
    primary.expect("I: connected to backup (active), ready passive", WAIT);
    let next = seen.last().copied().unwrap_or(0) + 5;
    replies_until(&client, next, &mut seen);

    // failback: kill the backup
    backup.kill();
    replies_until_line(
        &client,
        "W: no response from server, failing over",
        &mut seen,
    );
    primary.expect("I: failover successful, ready active", WAIT);
    let next = seen.last().copied().unwrap_or(0) + 5;
    replies_until(&client, next, &mut seen);

    let want: Vec<u64> = (1..=seen.len() as u64).collect();
    assert_eq!(seen, want, "each request answered once, in order");
    primary.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn bstarsrv_fails_over_and_back() {
    failover_and_failback(bin!("bstarsrv"));
}

#[test]
fn bstarsrv2_fails_over_and_back() {
    failover_and_failback(bin!("bstarsrv2"));
}

/// A passive server answers no client while its peer is alive: a request sent straight to it
/// gets nothing.
#[test]
fn a_passive_server_does_not_answer() {
    let ports = Ports::new();
    let primary = ports.server(bin!("bstarsrv"), true);
    let backup = ports.server(bin!("bstarsrv2"), false);
    primary.expect("ready active", WAIT);
    backup.expect("ready passive", WAIT);
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ).unwrap();
    req.set_linger(0).unwrap();
    req.set_rcvtimeo(1000).unwrap();
    req.connect(&ports.backup).unwrap();
    req.send("1", 0).unwrap();
    assert!(req.recv_bytes(0).is_err(), "the passive backup answered");
    // while the active primary does
    let req = ctx.socket(zmq::REQ).unwrap();
    req.set_linger(0).unwrap();
    req.set_rcvtimeo(5000).unwrap();
    req.connect(&ports.primary).unwrap();
    req.send("1", 0).unwrap();
    assert_eq!(req.recv_bytes(0).unwrap(), b"1");
}

/// Hostile clients on the active server's frontend: multipart, empty and many-part requests
/// are echoed whole as the guide's echo does; a request past the size limit is not (libzmq
/// drops that client's connection, and it comes back); an HTTP request instead of ZMTP is
/// refused. The server serves a normal client right after.
#[test]
fn the_frontend_outlives_hostile_clients() {
    for bin in [bin!("bstarsrv"), bin!("bstarsrv2")] {
        let ports = Ports::new();
        let mut primary = ports.server(bin, true);
        let _backup = ports.server(bin, false);
        primary.expect("ready active", WAIT);
        let ctx = zmq::Context::new();
        let hostile = ctx.socket(zmq::DEALER).unwrap();
        hostile.set_linger(0).unwrap();
        hostile.set_rcvtimeo(5000).unwrap();
        hostile.connect(&ports.primary).unwrap();
        let many: Vec<Vec<u8>> = (0..100).map(|i| format!("part {i}").into_bytes()).collect();
        let requests: Vec<Vec<Vec<u8>>> = vec![
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()],
            vec![Vec::new()],
            many,
        ];
        for request in &requests {
            hostile.send_multipart(request, 0).unwrap();
            let echo = hostile.recv_multipart(0).unwrap_or_else(|e| {
                panic!(
                    "{bin}: no echo of {} parts: {e}\n{}",
                    request.len(),
                    primary.context()
                )
            });
            assert_eq!(&echo, request, "{bin}");
        }
        // past the limit: not echoed; the client's next request is (its connection is back)
        let too_big = vec![b'x'; 64 * 1024 + 1];
        hostile.send(&too_big, 0).unwrap();
        let mut tries = 0;
        let echo = loop {
            hostile.send("after", 0).unwrap();
            match hostile.recv_bytes(0) {
                Ok(echo) => break echo,
                // sent while the connection was down
                Err(zmq::Error::EAGAIN) if tries < 5 => tries += 1,
                Err(e) => panic!("{bin}: {e}\n{}", primary.context()),
            }
        };
        assert_eq!(
            echo.len(),
            5,
            "{bin}: the first echo after the large request"
        );
        // not ZMTP at all
        let addr = ports.primary.trim_start_matches("tcp://");
        let mut http = std::net::TcpStream::connect(addr).unwrap();
        http.set_read_timeout(Some(WAIT)).unwrap();
        use std::io::{Read, Write};
        let _ = http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut rest = Vec::new();
        let _ = http.read_to_end(&mut rest); // libzmq closes it
        // and a normal client
        let req = ctx.socket(zmq::REQ).unwrap();
        req.set_linger(0).unwrap();
        req.set_rcvtimeo(5000).unwrap();
        req.connect(&ports.primary).unwrap();
        req.send("1", 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), b"1", "{bin}");
        assert!(primary.is_running(), "{bin}\n{}", primary.context());
    }
}

/// A hostile "peer" publishes garbage states: a `5` (the guide's number for a client request),
/// text, two parts, a large message. None changes a server's state or keeps its peer alive:
/// once the only valid state it heard is old, a vote makes the passive backup take over.
#[test]
fn garbage_states_are_dropped_and_are_no_sign_of_life() {
    for bin in [bin!("bstarsrv"), bin!("bstarsrv2")] {
        let ports = Ports::new();
        let ctx = zmq::Context::new();
        let peer = ctx.socket(zmq::PUB).unwrap();
        peer.set_linger(0).unwrap();
        peer.bind(&ports.primary_state).unwrap();
        let mut backup = ports.server(bin, false);
        backup.expect("I: Backup passive", WAIT);
        // small garbage only: a message over the state socket's size limit makes libzmq drop
        // the connection (and the garbage after it), which would prove less
        let garbage = |peer: &zmq::Socket| {
            peer.send("5", 0).unwrap();
            peer.send("x", 0).unwrap();
            peer.send("33", 0).unwrap();
            peer.send_multipart(["3", "3"], 0).unwrap();
        };
        // until the backup hears "3" (active primary) it stays as it is; garbage first
        let changed = loop {
            garbage(&peer);
            peer.send("3", 0).unwrap();
            if let Some(line) = backup.next_line(Duration::from_millis(100)) {
                break line;
            }
        };
        assert!(
            changed.ends_with("I: connected to primary (active), ready passive"),
            "{changed}"
        );
        // now only garbage, and a client's vote every 100 ms: the backup takes over once
        // the "3" is 200 ms old, whatever the garbage
        let req = ctx.socket(zmq::REQ).unwrap();
        req.set_linger(0).unwrap();
        req.set_rcvtimeo(100).unwrap();
        req.set_req_relaxed(true).unwrap();
        req.connect(&ports.backup).unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            garbage(&peer);
            req.send("vote", 0).unwrap();
            if req.recv_bytes(0).is_ok() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "garbage kept the peer alive\n{}",
                backup.context()
            );
        }
        backup.expect("I: failover successful, ready active", WAIT);
        assert!(backup.is_running(), "{}", backup.context());
        backup.stop_with(libc::SIGTERM, WAIT);
    }
}

/// One state message over the size limit makes libzmq end the state connection, and a
/// connecting socket never makes it again by itself: the server must connect again while its
/// peer is silent, or it stays deaf to a live peer and a vote makes it a second active server.
#[test]
fn an_oversized_state_does_not_deafen_a_server() {
    for bin in [bin!("bstarsrv"), bin!("bstarsrv2")] {
        let ports = Ports::new();
        let ctx = zmq::Context::new();
        // an XPUB, to see the backup's subscription arrive: the message then reaches it
        let peer = ctx.socket(zmq::XPUB).unwrap();
        peer.set_linger(0).unwrap();
        peer.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
        peer.bind(&ports.primary_state).unwrap();
        let mut backup = ports.server(bin, false);
        backup.expect("I: Backup passive", WAIT);
        assert_eq!(peer.recv_bytes(0).unwrap(), b"\x01", "no subscription");
        peer.send(vec![b'3'; 1000], 0).unwrap();
        // then an active primary's state, as a live peer sends it
        let deadline = std::time::Instant::now() + WAIT;
        let changed = loop {
            peer.send("3", 0).unwrap();
            if let Some(line) = backup.next_line(Duration::from_millis(100)) {
                break line;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{bin} never heard its peer again\n{}",
                backup.context()
            );
        };
        assert!(
            changed.ends_with("I: connected to primary (active), ready passive"),
            "{changed}"
        );
        backup.stop_with(libc::SIGTERM, WAIT);
    }
}

/// Both servers active (a healed split brain) is fatal: each says so and exits with status 1.
#[test]
fn dual_actives_are_fatal() {
    for bin in [bin!("bstarsrv"), bin!("bstarsrv2")] {
        let ports = Ports::new();
        let ctx = zmq::Context::new();
        // a lone primary goes active on a vote, once it has waited for its backup
        let mut primary = ports.server(bin, true);
        primary.expect("I: Primary active", WAIT);
        let req = ctx.socket(zmq::REQ).unwrap();
        req.set_linger(0).unwrap();
        req.set_rcvtimeo(100).unwrap();
        req.set_req_relaxed(true).unwrap();
        req.connect(&ports.primary).unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            req.send("1", 0).unwrap();
            if req.recv_bytes(0).is_ok() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}",
                primary.context()
            );
        }
        primary.expect("I: request from client, ready active", WAIT);
        // now a peer that says it is active too
        let peer = ctx.socket(zmq::PUB).unwrap();
        peer.set_linger(0).unwrap();
        peer.bind(&ports.backup_state).unwrap();
        let fatal = loop {
            peer.send("3", 0).unwrap();
            if let Some(line) = primary.next_line(Duration::from_millis(100)) {
                break line;
            }
        };
        assert!(
            fatal.ends_with("E: fatal error - dual actives, aborting"),
            "{fatal}"
        );
        assert_eq!(primary.wait(WAIT).code(), Some(1), "{}", primary.context());
    }
}

/// The pattern's central promise, on three test hosts with a link between each pair: cut only
/// the primary-backup link and no second server goes active while the client still reaches the
/// primary; cut the primary-client link too and the backup takes over on the client's vote.
/// When both links come back, the two active servers find each other and one or both stop
/// (fatal).
#[test]
fn split_brain_needs_the_clients_vote() {
    let Some(net) = Net::new() else { return };
    let (p, b, c) = (net.host("p"), net.host("b"), net.host("c"));
    let pb = net.link(&p, &b);
    let pc = net.link(&p, &c);
    let bc = net.link(&b, &c);
    let hb = "200"; // the peer is gone after 400 ms
    let (p_pb, b_pb) = pb.addrs();
    let (p_pc, _) = pc.addrs();
    let (b_bc, _) = bc.addrs();
    #[rustfmt::skip]
    let mut primary = p.spawn(bin!("bstarsrv"), &[
        "-p", "--frontend", "tcp://*:5001", "--statepub", "tcp://*:5003",
        "--statesub", &format!("tcp://{b_pb}:5004"), "--heartbeat-ms", hb,
    ]);
    #[rustfmt::skip]
    let mut backup = b.spawn(bin!("bstarsrv2"), &[
        "-b", "--frontend", "tcp://*:5002", "--statepub", "tcp://*:5004",
        "--statesub", &format!("tcp://{p_pb}:5003"), "--heartbeat-ms", hb,
    ]);
    primary.expect("I: connected to backup (passive), ready active", WAIT);
    backup.expect("I: connected to primary (active), ready passive", WAIT);
    #[rustfmt::skip]
    let client = c.spawn(bin!("bstarcli"), &[
        "--primary", &format!("tcp://{p_pc}:5001"), "--backup", &format!("tcp://{b_bc}:5002"),
        "--timeout-ms", "1000", "--settle-ms", "500", "--interval-ms", "100",
    ]);
    let mut seen = Vec::new();
    replies_until(&client, 3, &mut seen);

    // Cut the pair's own link: each server loses its peer, but the client still reaches the
    // primary, so the backup gets no vote and stays passive; the client keeps its answers.
    pb.down();
    let cut = std::time::Instant::now();
    while cut.elapsed() < Duration::from_secs(3) {
        let next = seen.last().copied().unwrap_or(0) + 1;
        replies_until(&client, next, &mut seen);
    }
    let said = backup.lines_for(Duration::from_millis(100));
    assert!(said.is_empty(), "the backup changed state: {said:?}");
    let said = primary.lines_for(Duration::from_millis(100));
    assert!(said.is_empty(), "the primary changed state: {said:?}");

    // Cut the primary from the client too: the client fails over, and its vote makes the
    // backup active, the primary being silent for it.
    pc.down();
    replies_until_line(
        &client,
        "W: no response from server, failing over",
        &mut seen,
    );
    backup.expect("I: failover successful, ready active", WAIT);
    let next = seen.last().copied().unwrap_or(0) + 3;
    replies_until(&client, next, &mut seen);
    let want: Vec<u64> = (1..=seen.len() as u64).collect();
    assert_eq!(seen, want, "each request answered once, in order");

    // Heal: the two actives see each other, and a fatal error stops the first to hear the
    // other, or both. (Each server connects again to a silent peer, to survive libzmq ending
    // the state link for good on an oversized message; so the links come back one at a time,
    // and the other may then hear nobody and stay on as the one active server.)
    pb.up();
    pc.up();
    let fatal = "E: fatal error - dual actives, aborting";
    let deadline = std::time::Instant::now() + WAIT;
    let stopped = loop {
        let short = Duration::from_millis(50);
        if let Some(line) = primary.next_line(short).filter(|l| l.ends_with(fatal)) {
            break (line, &mut primary);
        }
        if let Some(line) = backup.next_line(short).filter(|l| l.ends_with(fatal)) {
            break (line, &mut backup);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "two active servers after the heal\n{}\n{}",
            primary.context(),
            backup.context()
        );
    };
    assert_eq!(stopped.1.wait(WAIT).code(), Some(1), "{}", stopped.0);
    drop(client);
    drop(net);
}
