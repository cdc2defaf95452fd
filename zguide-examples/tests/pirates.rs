//! Chapter 4, the Pirates: Lazy Pirate (lpclient, lpserver), Simple Pirate (spqueue, spworker)
//! and Paranoid Pirate (ppqueue, ppworker), with crashed, overloaded, killed, silent and
//! misbehaving peers.

mod common;
use common::*;

use std::os::raw::{c_int, c_void};
use std::time::{Duration, Instant};

use rand::Rng;
use zmq_patterns::heartbeat::{HEARTBEAT, READY};

/// The sequence numbers of lpclient's `I: server replied OK (N)` lines.
fn replies(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("I: server replied OK ("))
        .map(|n| {
            n.strip_suffix(')')
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad reply line {n:?} in {lines:?}"))
        })
        .collect()
}

fn count(lines: &[String], text: &str) -> usize {
    lines.iter().filter(|l| l.as_str() == text).count()
}

const RETRYING: &str = "W: no response from server, retrying...";
const RECONNECTING: &str = "I: reconnecting to server...";
const ABANDONING: &str = "E: Server seems to be offline, abandoning";

/// Reads a running program's output up to and including the line `want`; returns every line.
fn read_until(p: &Proc, want: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = p.expect_where(|_| true, &format!("{want:?}"), WAIT);
        let done = line == want;
        lines.push(line);
        if done {
            return lines;
        }
    }
}

/// Reads a running lpclient's output until it has printed `OK (last)`.
fn client_until_reply(client: &Proc, last: u64) -> Vec<String> {
    read_until(client, &format!("I: server replied OK ({last})"))
}

/// Starts lpserver with `args` and waits for its start-up line.
fn lpserver(args: &[&str]) -> Proc {
    let p = Proc::start(bin!("lpserver"), args);
    p.expect("I: Lazy Pirate server is active at", WAIT);
    p
}

#[test]
fn lpclient_retries_then_abandons_a_crashed_lpserver() {
    let ep = tcp_ep();
    let mut server = lpserver(&["--bind", &ep, "--work-ms", "0", "--crash-after", "3"]);
    let (status, lines) = run_to_end(
        bin!("lpclient"),
        &["--connect", &ep, "--timeout-ms", "300", "--retries", "3"],
        WAIT,
    );
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert_eq!(
        lines,
        [
            "I: Connecting to server...",
            "I: server replied OK (1)",
            "I: server replied OK (2)",
            "I: server replied OK (3)",
            RETRYING,
            RECONNECTING,
            RETRYING,
            RECONNECTING,
            ABANDONING,
        ]
    );
    let out = server.lines_until_end(WAIT);
    server.wait_success(WAIT);
    assert_eq!(
        out,
        [
            "I: normal request (1)",
            "I: normal request (2)",
            "I: normal request (3)",
            "I: simulating a crash",
        ]
    );
}

#[test]
fn lpclient_carries_on_when_lpserver_is_restarted_in_time() {
    let ep = tcp_ep();
    let mut first = lpserver(&["--bind", &ep, "--work-ms", "0", "--crash-after", "2"]);
    let mut client = Proc::start(
        bin!("lpclient"),
        &[
            "--connect",
            &ep,
            "--timeout-ms",
            "500",
            "--retries",
            "10",
            "--requests",
            "5",
        ],
    );
    first.expect("I: simulating a crash", WAIT);
    first.wait_success(WAIT);
    // the client notices, then a new server comes up on the same endpoint
    let mut lines = read_until(&client, RETRYING);
    let mut second = lpserver(&["--bind", &ep, "--work-ms", "0", "--reliable"]);
    lines.extend(client.lines_until_end(WAIT));
    client.wait_success(WAIT);
    assert_eq!(replies(&lines), [1, 2, 3, 4, 5], "{lines:?}");
    assert_eq!(
        lines[..4],
        [
            "I: Connecting to server...",
            "I: server replied OK (1)",
            "I: server replied OK (2)",
            RETRYING
        ]
    );
    assert!(!lines.iter().any(|l| l.starts_with("E:")), "{lines:?}");
    assert_eq!(
        second.next_line(WAIT).as_deref(),
        Some("I: normal request (3)")
    );
    second.expect("I: normal request (5)", WAIT);
    second.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn lpclient_retries_through_an_lpserver_overload() {
    let ep = tcp_ep();
    let mut server = lpserver(&[
        "--bind",
        &ep,
        "--work-ms",
        "0",
        "--overload-after",
        "2",
        "--overload-ms",
        "1200",
    ]);
    let (status, lines) = run_to_end(
        bin!("lpclient"),
        &[
            "--connect",
            &ep,
            "--timeout-ms",
            "500",
            "--retries",
            "4",
            "--requests",
            "5",
        ],
        WAIT,
    );
    assert!(status.success(), "{lines:?}\n{}", server.context());
    assert_eq!(replies(&lines), [1, 2, 3, 4, 5], "{lines:?}");
    // 1200 ms of overload against 500 ms timeouts: one to three retries, each reconnecting
    let retries = count(&lines, RETRYING);
    assert!((1..=3).contains(&retries), "{lines:?}");
    assert_eq!(count(&lines, RECONNECTING), retries, "{lines:?}");
    server.expect("I: normal request (2)", WAIT);
    assert_eq!(
        server.next_line(WAIT).as_deref(),
        Some("I: simulating CPU overload")
    );
    server.expect("I: normal request (5)", WAIT);
    server.stop_with(libc::SIGINT, WAIT);
}

/// Without `--crash-after`/`--overload-after` lpserver misbehaves at random as the C does: the
/// first three requests are normal, then it overloads or crashes with odds 1 in 3; `--seed`
/// repeats a run.
#[test]
fn lpserver_trouble_is_random_after_three_cycles_and_repeats_with_a_seed() {
    let run = || {
        let ep = tcp_ep();
        let mut server = lpserver(&[
            "--bind",
            &ep,
            "--work-ms",
            "0",
            "--overload-ms",
            "0",
            "--seed",
            "4242",
        ]);
        let (status, lines) = run_to_end(
            bin!("lpclient"),
            &["--connect", &ep, "--timeout-ms", "300", "--retries", "2"],
            WAIT,
        );
        assert_eq!(status.code(), Some(1), "{lines:?}");
        let out = server.lines_until_end(WAIT);
        server.wait_success(WAIT);
        (lines, out)
    };
    let (lines, out) = run();
    assert_eq!(
        out.last().map(String::as_str),
        Some("I: simulating a crash")
    );
    assert_eq!(
        out[..3],
        [
            "I: normal request (1)",
            "I: normal request (2)",
            "I: normal request (3)"
        ]
    );
    assert!(
        out[..out.len() - 1]
            .iter()
            .all(|l| l.starts_with("I: normal request (") || l == "I: simulating CPU overload"),
        "{out:?}"
    );
    let served = replies(&lines);
    assert_eq!(served, (1..=served.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        count(&out, "I: simulating CPU overload") + served.len(),
        out.len() - 1
    );
    assert_eq!(run().1, out, "the same seed must give the same run");
}

/// Starts a worker of `path` and waits until it says it is ready.
fn start_worker(path: &str, be: &str, args: &[&str]) -> Proc {
    let mut all = vec!["--connect", be];
    all.extend_from_slice(args);
    let worker = Proc::start(path, &all);
    worker.expect("worker ready", WAIT);
    worker
}

/// A queue with three workers; one is killed (SIGKILL) while it holds a request, later a
/// second one: a Lazy Pirate client running all along gets every request answered, in order,
/// retrying only for the lost ones.
fn queue_survives_killed_workers(
    queue: &str,
    worker: &str,
    queue_args: &[&str],
    worker_args: &[&str],
) {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let mut args = vec!["--frontend", fe.as_str(), "--backend", be.as_str()];
    args.extend_from_slice(queue_args);
    let mut queue = Proc::start(queue, &args);
    let reliable = [worker_args, &["--reliable", "--work-ms", "50"]].concat();
    let mut live = start_worker(worker, &be, &reliable);
    let mut doomed = start_worker(worker, &be, &reliable);
    let holder = [
        worker_args,
        &["--overload-after", "0", "--overload-ms", "60000"],
    ]
    .concat();
    let mut victim = start_worker(worker, &be, &holder);

    let mut client = Proc::start(
        bin!("lpclient"),
        &["--connect", &fe, "--timeout-ms", "1500", "--retries", "3"],
    );
    // The victim takes a request and sits on it: kill it there
    victim.expect("simulating CPU overload", WAIT);
    victim.signal(libc::SIGKILL);
    assert!(!victim.wait(WAIT).success());
    let mut lines = client_until_reply(&client, 12);
    assert_eq!(
        count(&lines, RETRYING),
        1,
        "only the victim's request is retried: {lines:?}"
    );

    // Now kill another one, idle or busy: one worker is left, and enough
    doomed.kill();
    let more = client_until_reply(&client, 20);
    assert!(count(&more, RETRYING) <= 1, "{more:?}");
    lines.extend(more);
    client.stop_with(libc::SIGINT, WAIT);
    assert_eq!(replies(&lines), (1..=20).collect::<Vec<_>>(), "{lines:?}");
    assert!(!lines.iter().any(|l| l.starts_with("E:")), "{lines:?}");

    assert!(queue.is_running(), "{}", queue.context());
    queue.stop_with(libc::SIGINT, WAIT);
    live.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn spqueue_serves_every_request_while_one_spworker_lives() {
    queue_survives_killed_workers(bin!("spqueue"), bin!("spworker"), &[], &[]);
}

#[test]
fn ppqueue_serves_every_request_while_one_ppworker_lives() {
    let hb = ["--heartbeat-ms", "200"];
    queue_survives_killed_workers(bin!("ppqueue"), bin!("ppworker"), &hb, &hb);
}

#[test]
fn spworker_prints_its_identity_and_echoes_whole_messages() {
    let be = tcp_ep();
    let ctx = zmq::Context::new();
    let queue = ctx.socket(zmq::ROUTER).unwrap();
    queue.set_linger(0).unwrap();
    queue.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    queue.bind(&be).unwrap();
    let mut worker = Proc::start(
        bin!("spworker"),
        &["--connect", &be, "--work-ms", "0", "--crash-after", "1"],
    );
    let ready = worker.expect("worker ready", WAIT);
    let id = ready
        .strip_prefix("I: (")
        .and_then(|r| r.strip_suffix(") worker ready"))
        .unwrap_or_else(|| panic!("{ready:?}"))
        .to_string();
    assert!(id.len() == 9 && id.as_bytes()[4] == b'-', "{ready:?}");
    // READY on the wire: [identity][""][\x01]
    let msg = queue.recv_multipart(0).unwrap();
    assert_eq!(msg, [id.as_bytes(), b"", READY]);
    queue
        .send_multipart([id.as_bytes(), b"", b"C1", b"", b"part 1", b"part 2"], 0)
        .unwrap();
    let reply = queue.recv_multipart(0).unwrap();
    assert_eq!(
        reply,
        [id.as_bytes(), b"", b"C1", b"", b"part 1", b"part 2"]
    );
    assert_eq!(
        worker.next_line(WAIT),
        Some(format!("I: ({id}) normal reply"))
    );
    // second request: the simulated crash
    queue
        .send_multipart([id.as_bytes(), b"", b"C1", b"", b"x"], 0)
        .unwrap();
    assert_eq!(
        worker.next_line(WAIT),
        Some(format!("I: ({id}) simulating a crash"))
    );
    worker.wait_success(WAIT);
}

/// Receives what `socket` gets during `period`, with the time each message arrived.
fn recv_for(
    socket: &zmq::Socket,
    start: Instant,
    period: Duration,
) -> Vec<(Duration, Vec<Vec<u8>>)> {
    let deadline = Instant::now() + period;
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.poll(zmq::POLLIN, left.as_millis() as i64).unwrap() == 0 {
            return got;
        }
        got.push((start.elapsed(), socket.recv_multipart(0).unwrap()));
    }
}

#[test]
fn ppqueue_forgets_a_silent_worker_within_its_liveness() {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let mut queue = Proc::start(
        bin!("ppqueue"),
        &[
            "--frontend",
            &fe,
            "--backend",
            &be,
            "--heartbeat-ms",
            "200",
            "--liveness",
            "3",
        ],
    );
    let mut worker = start_worker(
        bin!("ppworker"),
        &be,
        &["--heartbeat-ms", "200", "--work-ms", "0", "--reliable"],
    );
    // A worker of the test's own says READY, then never another word
    let ctx = zmq::Context::new();
    let silent = ctx.socket(zmq::DEALER).unwrap();
    silent.set_linger(0).unwrap();
    silent.connect(&be).unwrap();
    silent.send(READY, 0).unwrap();
    let start = Instant::now();
    let got = recv_for(&silent, start, Duration::from_millis(1600));
    assert!(got.iter().all(|(_, m)| m == &[HEARTBEAT]), "{got:?}");
    // heartbeats while it lives, none after expiry: 3 x 200 ms after READY (plus slack)
    assert!(
        !got.is_empty(),
        "the queue never sent a heartbeat to its new worker"
    );
    let last = got.last().unwrap().0;
    assert!(
        last < Duration::from_millis(1000),
        "heartbeats went on after expiry: {got:?}"
    );
    assert!(got.len() <= 4, "{got:?}");

    // The live worker heartbeats, so the silent one would be first in line: it is gone, so no
    // request is lost
    let (status, lines) = run_to_end(
        bin!("lpclient"),
        &["--connect", &fe, "--requests", "6", "--timeout-ms", "2000"],
        WAIT,
    );
    assert!(status.success(), "{lines:?}\n{}", queue.context());
    assert_eq!(replies(&lines), [1, 2, 3, 4, 5, 6], "{lines:?}");
    assert_eq!(count(&lines, RETRYING), 0, "{lines:?}");
    let nothing = recv_for(&silent, start, Duration::from_millis(100));
    assert!(nothing.is_empty(), "{nothing:?}");
    let served = worker.lines_for(Duration::from_millis(300));
    assert_eq!(count(&served, "I: normal reply"), 6, "{served:?}");

    // A word from it and it is back: heartbeats again
    silent.send(HEARTBEAT, 0).unwrap();
    let again = recv_for(&silent, start, Duration::from_millis(1000));
    assert!(
        !again.is_empty() && again.iter().all(|(_, m)| m == &[HEARTBEAT]),
        "{again:?}"
    );

    queue.stop_with(libc::SIGINT, WAIT);
    worker.stop_with(libc::SIGINT, WAIT);
}

/// Reads a ppworker's output until it has printed `n` reconnect lines; returns the lines
/// other than heartbeats.
fn reconnects(worker: &Proc, n: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut seen = 0;
    while seen < n {
        let line = worker.expect_where(|_| true, "a reconnect line", WAIT);
        if line.starts_with("W: reconnecting in ") {
            seen += 1;
        }
        if line != "I: worker heartbeat" {
            lines.push(line);
        }
    }
    lines
}

fn delays(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("W: reconnecting in "))
        .map(|l| {
            l.strip_suffix(" msec...")
                .and_then(|n| n.parse().ok())
                .unwrap()
        })
        .collect()
}

#[test]
fn ppworker_backs_off_while_the_queue_is_down_and_serves_again_after_a_restart() {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let queue_args = [
        "--frontend",
        fe.as_str(),
        "--backend",
        be.as_str(),
        "--heartbeat-ms",
        "100",
    ];
    let mut queue = Proc::start(bin!("ppqueue"), &queue_args);
    let mut worker = start_worker(
        bin!("ppworker"),
        &be,
        &[
            "--heartbeat-ms",
            "100",
            "--reconnect-ms",
            "200",
            "--reconnect-max-ms",
            "800",
            "--work-ms",
            "0",
            "--reliable",
        ],
    );
    let lpclient = |n: &str, retries: usize| {
        let (status, lines) = run_to_end(
            bin!("lpclient"),
            &["--connect", &fe, "--requests", n, "--timeout-ms", "3000"],
            WAIT,
        );
        assert!(status.success(), "{lines:?}");
        assert!(count(&lines, RETRYING) <= retries, "{lines:?}");
        replies(&lines).len()
    };
    assert_eq!(lpclient("2", 0), 2);
    queue.stop_with(libc::SIGINT, WAIT);

    // Heartbeat failure after 3 x 100 ms; reconnects wait 200, 400, 800, 800 ms
    let lines = reconnects(&worker, 4);
    assert_eq!(delays(&lines), [200, 400, 800, 800], "{lines:?}");
    let failure = "W: heartbeat failure, can't reach queue";
    let first = lines.iter().position(|l| l == failure).unwrap();
    let steps: Vec<&[String]> = lines[first..].chunks(3).collect();
    assert_eq!(steps.len(), 4, "{lines:?}");
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(step[0], failure, "{lines:?}");
        assert!(step[1].starts_with("W: reconnecting in "), "{lines:?}");
        if i < 3 {
            assert_eq!(step[2], "I: worker ready", "{lines:?}");
        }
    }

    // The queue comes back on the same endpoints: the worker serves again
    let mut queue = Proc::start(bin!("ppqueue"), &queue_args);
    // (a request may go to a socket the worker dropped just before it heard the new queue)
    assert_eq!(lpclient("3", 1), 3);
    worker.expect("I: normal reply", WAIT);
    worker.expect("I: normal reply", WAIT);
    worker.expect("I: normal reply", WAIT);

    // It heard the queue, so the back-off starts from the beginning again
    queue.stop_with(libc::SIGINT, WAIT);
    let lines = reconnects(&worker, 1);
    assert_eq!(delays(&lines), [200], "{lines:?}");
    worker.stop_with(libc::SIGINT, WAIT);
}

/// Spec 6/PPP: a worker that gives up on a silent queue and reconnects MUST send READY again:
/// the first message of its new connection (a new routing id) is READY, on the wire.
#[test]
fn ppworker_says_ready_again_on_the_wire_after_reconnecting() {
    let be = tcp_ep();
    let ctx = zmq::Context::new();
    let queue = ctx.socket(zmq::ROUTER).unwrap();
    queue.set_linger(0).unwrap();
    queue.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    queue.bind(&be).unwrap();
    let mut worker = Proc::start(
        bin!("ppworker"),
        &[
            "--connect",
            &be,
            "--heartbeat-ms",
            "50",
            "--liveness",
            "2",
            "--reconnect-ms",
            "50",
            "--reliable",
        ],
    );
    let first = queue.recv_multipart(0).unwrap();
    assert_eq!(first[1..], [READY], "{}", worker.context());
    // The queue stays silent: the worker heartbeats, gives up, and comes back on a new socket
    worker.expect("W: reconnecting in", WAIT);
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(
            Instant::now() < deadline,
            "no new connection\n{}",
            worker.context()
        );
        let msg = queue.recv_multipart(0).unwrap();
        if msg[0] != first[0] {
            assert_eq!(msg[1..], [READY], "first message of the new connection");
            break;
        }
        assert_eq!(msg[1..], [HEARTBEAT], "{}", worker.context());
    }
    worker.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn ppworker_answers_queue_heartbeats_and_requests_on_the_wire() {
    let be = tcp_ep();
    let ctx = zmq::Context::new();
    let queue = ctx.socket(zmq::ROUTER).unwrap();
    queue.set_linger(0).unwrap();
    queue.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    queue.bind(&be).unwrap();
    let mut worker = Proc::start(
        bin!("ppworker"),
        &[
            "--connect",
            &be,
            "--heartbeat-ms",
            "100",
            "--liveness",
            "50",
            "--work-ms",
            "0",
            "--reliable",
        ],
    );
    let ready = queue.recv_multipart(0).unwrap();
    assert_eq!(ready[1..], [READY]);
    let id = ready[0].clone();
    // heartbeats come about every 100 ms, and the worker stays (we heartbeat it)
    let start = Instant::now();
    let mut beats = 0;
    while beats < 10 {
        let msg = queue.recv_multipart(0).unwrap();
        assert_eq!(msg, [&id[..], HEARTBEAT], "{}", worker.context());
        queue.send_multipart([&id[..], HEARTBEAT], 0).unwrap();
        beats += 1;
    }
    let took = start.elapsed();
    assert!(
        took > Duration::from_millis(700) && took < Duration::from_millis(3000),
        "{took:?}"
    );
    // a request [client][""][body...] comes back whole; anything else is invalid
    queue
        .send_multipart([&id[..], b"C", b"", b"a", b"b"], 0)
        .unwrap();
    queue.send_multipart([&id[..], b"bogus"], 0).unwrap();
    loop {
        let msg = queue.recv_multipart(0).unwrap();
        if msg[1..] != [HEARTBEAT] {
            assert_eq!(msg, [&id[..], b"C", b"", b"a", b"b"]);
            break;
        }
    }
    worker.expect("I: normal reply", WAIT);
    worker.expect("E: invalid message", WAIT);
    assert!(worker.is_running());
    worker.stop_with(libc::SIGINT, WAIT);
}

/// libzmq's ZMQ_CONNECT_ROUTING_ID, which `zmq` 0.10 has no setter for: it lets a connecting
/// ROUTER name its peer, so that the test's ROUTER can talk to a queue's ROUTER.
fn set_connect_routing_id(socket: &mut zmq::Socket, id: &[u8]) {
    unsafe extern "C" {
        fn zmq_setsockopt(s: *mut c_void, option: c_int, value: *const c_void, len: usize)
        -> c_int;
    }
    const ZMQ_CONNECT_ROUTING_ID: c_int = 61;
    // SAFETY: a live socket, and a buffer valid for the call
    let rc = unsafe {
        zmq_setsockopt(
            socket.as_mut_ptr(),
            ZMQ_CONNECT_ROUTING_ID,
            id.as_ptr().cast(),
            id.len(),
        )
    };
    assert_eq!(rc, 0, "zmq_setsockopt(ZMQ_CONNECT_ROUTING_ID) failed");
}

/// Wrong messages of every kind: missing frames, wrong commands, empty frames, random bytes,
/// and a few frames of several megabytes.
fn bad_messages(rng: &mut impl Rng, big: bool) -> Vec<Vec<Vec<u8>>> {
    let b = |s: &[u8]| s.to_vec();
    let mut out: Vec<Vec<Vec<u8>>> = vec![
        vec![b(b"")],
        vec![b(b""), b(b"")],
        vec![b(b""), b(b""), b(b"")],
        vec![b(b"\x03")],
        vec![b(b"\x00")],
        vec![b(b"\x01"), b(b"\x01")],
        vec![b(b"\x02"), b(b"")],
        vec![b(b"\x01\x02")],
        vec![b(b"READY")],
        vec![b(b"HEARTBEAT")],
        vec![b(b""), b(b"\x03")],
        vec![b(b"x"), b(b"y"), b(b"z")],
        vec![b(b"no-client"), b(b"")],
        vec![b(b""), b(b"no-client"), b(b"")],
        vec![b(b"no-client"), b(b""), b(b"reply")],
        vec![b(b""), b(b"no-client"), b(b""), b(b"reply")],
    ];
    for _ in 0..40 {
        let frames = rng.gen_range(1..6);
        out.push(
            (0..frames)
                .map(|_| {
                    let len = rng.gen_range(0..40);
                    (0..len).map(|_| rng.r#gen()).collect()
                })
                .collect(),
        );
    }
    if big {
        let mb = vec![0xA5u8; 4 << 20];
        out.push(vec![mb.clone()]);
        out.push(vec![b(b""), mb.clone()]);
        out.push(vec![mb.clone(), b(b""), mb]);
    }
    out
}

/// Sends hundreds of wrong messages to `endpoint` from DEALER, ROUTER and REQ peers, and
/// returns how many; the peers are closed at the end, once they have sent everything (their
/// linger lets libzmq finish the sending after the close; see [`settled`]).
fn flood(ctx: &zmq::Context, endpoint: &str, rng: &mut impl Rng) -> usize {
    let setup = |kind| {
        let s = ctx.socket(kind).unwrap();
        s.set_linger(WAIT.as_millis() as i32).unwrap();
        s.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
        s
    };
    let mut sent = 0;
    // DEALER: the frames as they are
    let dealer = setup(zmq::DEALER);
    dealer.connect(endpoint).unwrap();
    for msg in bad_messages(rng, true) {
        dealer.send_multipart(msg, 0).unwrap();
        sent += 1;
    }
    // ROUTER: names the queue "Q" and talks to it
    let mut router = setup(zmq::ROUTER);
    set_connect_routing_id(&mut router, b"Q");
    router.set_router_mandatory(true).unwrap();
    router.set_probe_router(true).unwrap(); // an empty message on connect, for a start
    router.connect(endpoint).unwrap();
    for msg in bad_messages(rng, true) {
        router.send(&b"Q"[..], zmq::SNDMORE).unwrap();
        router.send_multipart(msg, 0).unwrap();
        sent += 1;
    }
    // REQ: [""] then the frames; relaxed, so that it can send again without a reply. Many
    // peers come and go.
    for chunk in bad_messages(rng, false).chunks(6) {
        let req = setup(zmq::REQ);
        req.set_req_relaxed(true).unwrap();
        req.connect(endpoint).unwrap();
        for msg in chunk {
            req.send_multipart(msg, 0).unwrap();
            sent += 1;
        }
    }
    sent += ghosts(ctx, endpoint, 20);
    sent
}

/// Ghosts: `n` DEALERs that say READY (as a DEALER and as a REQ would: one form is wrong for
/// each queue), then go for good. Returns the number of messages sent. Closed with a linger,
/// they still deliver what they said; [`settled`] tells when the queue has seen them go.
fn ghosts(ctx: &zmq::Context, endpoint: &str, n: usize) -> usize {
    for _ in 0..n {
        let d = ctx.socket(zmq::DEALER).unwrap();
        d.set_linger(WAIT.as_millis() as i32).unwrap();
        d.connect(endpoint).unwrap();
        d.send(READY, 0).unwrap();
        d.send_multipart([&b""[..], READY], 0).unwrap();
    }
    2 * n
}

/// Waits until the queue holds no connection on `endpoint` but those of `keep` peers: every
/// closed peer has sent all it had (its linger), and the queue has read it to the end and
/// closed its side, so its ROUTER knows the peer is gone (a send to it fails at once).
fn settled(endpoint: &str, keep: usize, queue: &Proc) {
    let port = port_of(endpoint);
    assert!(
        wait_until(WAIT, || tcp_held(port) == keep),
        "{endpoint}: {} connections held, want {keep}\n{}",
        tcp_held(port),
        queue.context()
    );
}

/// A queue and one worker take a flood of wrong messages on both sides; the queue stays up,
/// and a Lazy Pirate client is served through the worker afterwards.
fn queue_outlives_bad_peers(queue: &str, worker: &str, args: &[&str]) -> Proc {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let mut all = vec!["--frontend", fe.as_str(), "--backend", be.as_str()];
    all.extend_from_slice(args);
    let mut queue = Proc::start(queue, &all);
    let worker_args = [args, &["--reliable", "--work-ms", "0"]].concat();
    let mut worker = start_worker(worker, &be, &worker_args);
    let ctx = zmq::Context::new();
    let mut rng = rand::thread_rng();
    let mut sent = 0;
    for _ in 0..2 {
        sent += flood(&ctx, &be, &mut rng);
        sent += flood(&ctx, &fe, &mut rng);
    }
    // Last, workers that said READY and left: no request may be lost to them
    sent += ghosts(&ctx, &be, 20);
    assert!(sent > 400, "{sent}");
    settled(&fe, 0, &queue);
    settled(&be, 1, &queue); // the worker's
    assert!(queue.is_running(), "{}", queue.context());
    assert!(worker.is_running(), "{}", worker.context());

    let (status, lines) = run_to_end(
        bin!("lpclient"),
        &["--connect", &fe, "--requests", "5", "--timeout-ms", "2000"],
        WAIT,
    );
    assert!(status.success(), "{lines:?}\n{}", queue.context());
    assert_eq!(replies(&lines), [1, 2, 3, 4, 5], "{lines:?}");
    assert_eq!(
        count(&lines, RETRYING),
        0,
        "a request went to a ghost: {lines:?}"
    );
    assert!(queue.is_running(), "{}", queue.context());
    worker.stop_with(libc::SIGINT, WAIT);
    queue.signal(libc::SIGINT);
    queue.wait_success(WAIT);
    queue
}

#[test]
fn spqueue_outlives_malformed_traffic_on_both_sides() {
    queue_outlives_bad_peers(bin!("spqueue"), bin!("spworker"), &[]);
}

#[test]
fn ppqueue_outlives_malformed_traffic_on_both_sides() {
    // Default heartbeats (1 s, so 3 s to expire): the ghosts must be skipped while they
    // still count as alive
    let queue = queue_outlives_bad_peers(bin!("ppqueue"), bin!("ppworker"), &[]);
    let out = queue.lines_for(Duration::from_millis(100));
    let invalid = count(&out, "E: invalid message from worker");
    assert!(
        invalid >= 50,
        "{invalid} invalid worker messages reported: {out:?}"
    );
}
