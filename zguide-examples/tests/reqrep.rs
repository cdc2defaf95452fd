//! Chapter 2: request-reply brokers (rrclient, rrworker, rrbroker, msgqueue), the multithreaded
//! server (mtserver), the PAIR relay (mtrelay) and signal handling (interrupt).

mod common;
use common::*;

use std::time::{Duration, Instant};

const REQUEST: &str = "Received request: [Hello]";

/// A REQ socket of the test's own, connected to `endpoint`, that gives up after `WAIT`.
fn req_socket(ctx: &zmq::Context, endpoint: &str) -> zmq::Socket {
    let req = ctx.socket(zmq::REQ).unwrap();
    req.set_linger(0).unwrap();
    req.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    req.connect(endpoint).unwrap();
    req
}

/// Sends requests through the broker until every worker has answered one, so that all of
/// them are known to be connected (a DEALER only round-robins over connected peers). Each
/// request makes exactly one worker print exactly one line, which this consumes.
fn warm_up(frontend: &str, workers: &[Proc]) {
    let ctx = zmq::Context::new();
    let req = req_socket(&ctx, frontend);
    let mut seen = vec![false; workers.len()];
    let deadline = Instant::now() + WAIT;
    while !seen.iter().all(|s| *s) {
        assert!(Instant::now() < deadline, "not every worker got a request");
        req.send("Hello", 0).unwrap();
        let reply = req.recv_string(0).expect("no reply through the broker");
        assert_eq!(reply, Ok("World".to_string()));
        'found: loop {
            assert!(Instant::now() < deadline, "no worker printed the request");
            for (i, worker) in workers.iter().enumerate() {
                if let Some(line) = worker.next_line(Duration::from_millis(10)) {
                    assert_eq!(line, REQUEST);
                    seen[i] = true;
                    break 'found;
                }
            }
        }
    }
}

/// Two rrworkers behind `broker` (rrbroker or msgqueue); rrclient's ten requests must all be
/// answered and shared by both workers. Stops the workers with SIGINT and the broker with `sig`.
fn ten_requests_through(broker: &str, sig: i32) {
    let (front, back) = (tcp_ep(), tcp_ep());
    let mut broker = Proc::start(broker, &["--frontend", &front, "--backend", &back]);
    let workers: Vec<Proc> = (0..2)
        .map(|_| Proc::start(bin!("rrworker"), &["--connect", &back, "--work-ms", "20"]))
        .collect();
    warm_up(&front, &workers);

    let (status, lines) = run_to_end(bin!("rrclient"), &["--connect", &front], WAIT);
    assert!(status.success(), "{lines:?}\n{}", broker.context());
    let expected: Vec<String> = (0..10)
        .map(|n| format!("Received reply {n} [World]"))
        .collect();
    assert_eq!(lines, expected);

    let mut total = 0;
    for mut worker in workers {
        worker.stop_with(libc::SIGINT, WAIT);
        let lines = worker.lines_until_end(WAIT);
        assert!(lines.iter().all(|l| l == REQUEST), "{lines:?}");
        assert!(
            !lines.is_empty(),
            "a worker got none of rrclient's requests"
        );
        total += lines.len();
    }
    assert_eq!(total, 10);
    broker.stop_with(sig, WAIT);
}

#[test]
fn rrclient_gets_ten_replies_through_rrbroker_from_two_workers() {
    ten_requests_through(bin!("rrbroker"), libc::SIGINT);
}

#[test]
fn rrclient_gets_ten_replies_through_msgqueue_from_two_workers() {
    ten_requests_through(bin!("msgqueue"), libc::SIGTERM);
}

#[test]
fn rrbroker_keeps_the_envelope_on_the_wire() {
    // A DEALER worker of the test's own sees [identity][""][Hello] and its reply goes back
    // to the right client.
    let (front, back) = (tcp_ep(), tcp_ep());
    let mut broker = Proc::start(
        bin!("rrbroker"),
        &["--frontend", &front, "--backend", &back],
    );
    let ctx = zmq::Context::new();
    let worker = ctx.socket(zmq::DEALER).unwrap();
    worker.set_linger(0).unwrap();
    worker.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    worker.connect(&back).unwrap();
    let client = req_socket(&ctx, &front);
    client.send("Hello", 0).unwrap();
    let request = worker.recv_multipart(0).expect("no request at the backend");
    assert_eq!(request.len(), 3, "{request:?}");
    assert!(
        request[1].is_empty() && request[2] == b"Hello",
        "{request:?}"
    );
    worker
        .send_multipart([request[0].clone(), vec![], b"World".to_vec()], 0)
        .unwrap();
    assert_eq!(client.recv_string(0).unwrap(), Ok("World".to_string()));
    broker.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn hwclient_gets_ten_worlds_from_mtserver() {
    let ep = tcp_ep();
    let mut server = Proc::start(
        bin!("mtserver"),
        &["--bind", &ep, "--workers", "3", "--work-ms", "10"],
    );
    server.expect("I: multithreaded server is active at", WAIT);
    let (status, lines) = run_to_end(bin!("hwclient"), &["--connect", &ep], WAIT);
    assert!(status.success(), "{lines:?}\n{}", server.context());
    assert_eq!(lines.len(), 21, "{lines:?}");
    for n in 0..10 {
        assert_eq!(lines[2 + 2 * n], format!("Received World {n}"));
    }
    for _ in 0..10 {
        assert_eq!(server.next_line(WAIT).as_deref(), Some(REQUEST));
    }
    server.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn mtserver_threads_answer_clients_in_parallel_and_it_stops_on_sigterm_while_working() {
    // Two clients at once, each request holding a worker thread for a long time: both
    // requests must be taken at once (two threads), and SIGTERM must end the process even
    // though its workers are busy.
    let ep = tcp_ep();
    let mut server = Proc::start(
        bin!("mtserver"),
        &["--bind", &ep, "--workers", "2", "--work-ms", "60000"],
    );
    // Both clients come at once, as the server starts: its workers are connected before it
    // serves, so neither request can be queued behind the other's minute of work in a worker
    // that libzmq had attached first.
    let client = || Proc::start(bin!("hwclient"), &["--connect", &ep, "--requests", "1"]);
    let (_first, _second) = (client(), client());
    server.expect(REQUEST, WAIT);
    server.expect(REQUEST, WAIT);
    server.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn mtrelay_passes_the_signal_through_three_threads() {
    let (status, lines) = run_to_end(bin!("mtrelay"), &[], WAIT);
    assert!(status.success());
    assert_eq!(
        lines,
        vec![
            "Step 1 ready, signaling step 2",
            "Step 2 ready, signaling step 3",
            "Test successful!",
        ]
    );
}

/// Starts `interrupt` and makes one echo round trip (so that it is up and in its loop).
fn interrupt_server(ep: &str, ctx: &zmq::Context) -> (Proc, zmq::Socket) {
    let server = Proc::start(bin!("interrupt"), &["--bind", ep]);
    server.expect("I: REP server is active at", WAIT);
    let client = req_socket(ctx, ep);
    client.send("ping 1", 0).unwrap();
    assert_eq!(client.recv_string(0).unwrap(), Ok("ping 1".to_string()));
    assert_eq!(server.next_line(WAIT).as_deref(), Some("W: recv"));
    (server, client)
}

const STOPPING: [&str; 2] = ["W: interrupt received, killing server...", "W: cleaning up"];

#[test]
fn interrupt_echoes_requests_and_exits_cleanly_on_sigint_while_blocked() {
    let ctx = zmq::Context::new();
    let (mut server, client) = interrupt_server(&tcp_ep(), &ctx);
    // The C original never replied, so a second request was never read.
    client.send("ping 2", 0).unwrap();
    assert_eq!(client.recv_string(0).unwrap(), Ok("ping 2".to_string()));
    assert_eq!(server.next_line(WAIT).as_deref(), Some("W: recv"));
    server.stop_with(libc::SIGINT, WAIT);
    assert_eq!(server.lines_until_end(WAIT), STOPPING);
}

#[test]
fn interrupt_exits_cleanly_on_sigterm_while_blocked() {
    let ctx = zmq::Context::new();
    let (mut server, _client) = interrupt_server(&tcp_ep(), &ctx);
    server.stop_with(libc::SIGTERM, WAIT);
    assert_eq!(server.lines_until_end(WAIT), STOPPING);
}
