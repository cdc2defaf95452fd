//! Chapter 3: identities (identity), ROUTER brokers for REQ and DEALER workers (rtreq,
//! rtdealer) and the load-balancing brokers (lbbroker, lbbroker2, lbbroker3).

mod common;
use common::*;

use std::collections::HashSet;
use std::time::{Duration, Instant};

#[test]
fn identity_prints_a_generated_and_a_set_identity() {
    let (status, lines) = run_to_end(
        bin!("identity"),
        &["--endpoint", "inproc://identity-test"],
        WAIT,
    );
    assert!(status.success(), "{lines:?}");
    let dashes = "-".repeat(40);
    assert_eq!(lines.len(), 8, "{lines:?}");
    assert_eq!(lines[0], dashes);
    // generated: a zero byte and four more, in upper-case hex
    let generated = lines[1]
        .strip_prefix("[005] 00")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(
        generated.len() == 8
            && generated
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)),
        "{lines:?}"
    );
    assert_eq!(lines[2], "[000] ");
    assert_eq!(lines[3], "[039] ROUTER uses a generated 5 byte identity");
    assert_eq!(lines[4], dashes);
    assert_eq!(lines[5], "[005] PEER2");
    assert_eq!(lines[6], "[000] ");
    assert_eq!(lines[7], "[040] ROUTER socket uses REQ's socket identity");
}

/// Runs a ROUTER-broker example (`rtreq` or `rtdealer`) with ten workers for a short time and
/// checks that every worker reports, and that none was starved.
fn every_worker_gets_a_fair_share(path: &str) {
    let ep = tcp_ep();
    let mut broker = Proc::start(
        path,
        &[
            "--bind",
            &ep,
            "--connect",
            &ep,
            "--workers",
            "10",
            "--duration-ms",
            "1500",
            "--work-ms",
            "20",
        ],
    );
    let lines = broker.lines_until_end(WAIT);
    broker.wait_success(WAIT);
    let counts: Vec<u32> = lines
        .iter()
        .map(|l| {
            l.strip_prefix("Completed: ")
                .and_then(|l| l.strip_suffix(" tasks"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected line {l:?} in {lines:?}"))
        })
        .collect();
    assert_eq!(counts.len(), 10, "{lines:?}");
    let (min, max) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
    // about 1500 ms / 10.5 ms of average work each: some 140 tasks per worker, when not starved
    assert!(counts.iter().sum::<u32>() > 0, "{counts:?}");
    assert!(
        min > 0 && min >= max / 4,
        "a worker was starved: {counts:?}"
    );
}

#[test]
fn rtreq_workers_all_complete_their_share() {
    every_worker_gets_a_fair_share(bin!("rtreq"));
}

#[test]
fn rtdealer_workers_all_complete_their_share() {
    every_worker_gets_a_fair_share(bin!("rtdealer"));
}

#[test]
fn rtreq_and_rtdealer_brokers_answer_on_the_wire_and_stop_on_sigint() {
    for path in [bin!("rtreq"), bin!("rtdealer")] {
        let ep = tcp_ep();
        // The broker's own workers point nowhere: the test's REQ socket is its only worker.
        let nowhere = tcp_ep();
        let mut broker = Proc::start(
            path,
            &[
                "--bind",
                &ep,
                "--connect",
                &nowhere,
                "--duration-ms",
                "60000",
            ],
        );
        let ctx = zmq::Context::new();
        let worker = ctx.socket(zmq::REQ).unwrap();
        worker.set_linger(0).unwrap();
        worker.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
        worker.connect(&ep).unwrap();
        for _ in 0..3 {
            worker.send("Hi Boss", 0).unwrap();
            let reply = worker.recv_string(0).expect("no answer from the broker");
            assert_eq!(reply, Ok("Work harder".to_string()), "{}", broker.context());
        }
        broker.stop_with(libc::SIGINT, WAIT);
    }
}

/// What a load-balancing broker prints for each request its workers handle.
fn worker_prefix(path: &str) -> &'static str {
    if path.ends_with("/lbbroker") {
        "Worker: HELLO (worker "
    } else {
        "Worker: [005] HELLO (worker "
    }
}

/// The identity in a worker line `Worker: ... (worker 1A2B-3C4D)`.
fn worker_of(line: &str, prefix: &str) -> String {
    line.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a worker line: {line:?}"))
        .to_string()
}

/// `lbbroker` / `lbbroker2` on their own: ten clients get `OK`, three workers print ten
/// requests, and the broker exits by itself.
fn ten_clients_served(path: &str) {
    let dir = TempDir::new("lb");
    let (fe, be) = (dir.ipc("frontend.ipc"), dir.ipc("backend.ipc"));
    let mut broker = Proc::start(path, &["--frontend", &fe, "--backend", &be]);
    let lines = broker.lines_until_end(WAIT);
    broker.wait_success(WAIT);
    let prefix = worker_prefix(path);
    let clients = lines.iter().filter(|l| *l == "Client: OK").count();
    let workers: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("Worker: "))
        .map(|l| worker_of(l, prefix))
        .collect();
    assert_eq!(clients, 10, "{lines:?}");
    assert_eq!(workers.len(), 10, "{lines:?}");
    assert_eq!(lines.len(), 20, "{lines:?}");
    let distinct: HashSet<&String> = workers.iter().collect();
    assert!((1..=3).contains(&distinct.len()), "{lines:?}");
}

#[test]
fn lbbroker_serves_ten_clients_and_exits() {
    ten_clients_served(bin!("lbbroker"));
}

#[test]
fn lbbroker2_serves_ten_clients_and_exits() {
    ten_clients_served(bin!("lbbroker2"));
}

#[test]
fn lbbroker3_clients_keep_asking_until_sigint() {
    let dir = TempDir::new("lb3");
    let (fe, be) = (dir.ipc("frontend.ipc"), dir.ipc("backend.ipc"));
    let mut broker = Proc::start(
        bin!("lbbroker3"),
        &["--frontend", &fe, "--backend", &be, "--interval-ms", "20"],
    );
    let prefix = worker_prefix(bin!("lbbroker3"));
    let (mut clients, mut workers) = (0, 0);
    // Ten clients asking every 20 ms: well over ten replies means they loop.
    while clients < 30 {
        let line = broker.expect_where(|_| true, "more output", WAIT);
        if line == "Client: OK" {
            clients += 1;
        } else {
            worker_of(&line, prefix);
            workers += 1;
        }
    }
    assert!(workers >= clients, "a reply without a worker line");
    broker.stop_with(libc::SIGINT, WAIT);
}

/// The broker with its own three workers and no clients; the test's client asks one request
/// at a time. Once all three workers have answered, they must take turns strictly (the one
/// that waited longest gets the next request).
fn own_workers_take_turns(path: &str) {
    let dir = TempDir::new("lbturns");
    let (fe, be) = (dir.ipc("frontend.ipc"), dir.ipc("backend.ipc"));
    let mut broker = Proc::start(
        path,
        &[
            "--frontend",
            &fe,
            "--backend",
            &be,
            "--clients",
            "0",
            "--workers",
            "3",
        ],
    );
    let prefix = worker_prefix(path);
    let ctx = zmq::Context::new();
    let client = ctx.socket(zmq::REQ).unwrap();
    client.set_linger(0).unwrap();
    client.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    client.connect(&fe).unwrap();

    let deadline = Instant::now() + WAIT;
    let mut order: Vec<String> = Vec::new();
    let mut all_seen_at = None;
    while all_seen_at.is_none_or(|k| order.len() < k + 1 + 6) {
        assert!(Instant::now() < deadline, "workers seen: {order:?}");
        client.send("HELLO", 0).unwrap();
        let reply = client.recv_string(0).expect("no reply through the broker");
        assert_eq!(reply, Ok("OK".to_string()), "{}", broker.context());
        let line = broker.expect_where(|l| l.starts_with("Worker: "), "a worker line", WAIT);
        order.push(worker_of(&line, prefix));
        if all_seen_at.is_none() && order.iter().collect::<HashSet<_>>().len() == 3 {
            all_seen_at = Some(order.len() - 1);
        }
    }
    let k = all_seen_at.unwrap();
    let turns = &order[k + 1..k + 7];
    assert_eq!(
        turns.iter().take(3).collect::<HashSet<_>>().len(),
        3,
        "not round the ready queue: {order:?}"
    );
    assert_eq!(
        turns[..3],
        turns[3..],
        "not round the ready queue: {order:?}"
    );
    broker.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn lbbroker_workers_take_turns() {
    own_workers_take_turns(bin!("lbbroker"));
}

#[test]
fn lbbroker2_workers_take_turns() {
    own_workers_take_turns(bin!("lbbroker2"));
}

#[test]
fn lbbroker3_workers_take_turns() {
    own_workers_take_turns(bin!("lbbroker3"));
}

/// A worker of the test's own: a DEALER that speaks like a REQ, and holds its request until
/// the test lets it reply.
struct TestWorker {
    socket: zmq::Socket,
    holding: Option<(Vec<Vec<u8>>, Instant)>,
    served: usize,
}

/// The broker with no clients and no workers of its own: three test workers (DEALER, so that
/// a second request would show up) and ten test clients. A worker must never be sent a
/// second request while it holds one; every client must get the reply to its own request; all
/// three workers must get work.
fn one_request_per_worker_on_the_wire(path: &str, ready: &[u8]) {
    let dir = TempDir::new("lbwire");
    let (fe, be) = (dir.ipc("frontend.ipc"), dir.ipc("backend.ipc"));
    let mut broker = Proc::start(
        path,
        &[
            "--frontend",
            &fe,
            "--backend",
            &be,
            "--clients",
            "0",
            "--workers",
            "0",
        ],
    );
    let ctx = zmq::Context::new();
    let mut workers: Vec<TestWorker> = (0..3)
        .map(|i| {
            let socket = ctx.socket(zmq::DEALER).unwrap();
            socket.set_linger(0).unwrap();
            socket.set_identity(format!("W{i}").as_bytes()).unwrap();
            socket.connect(&be).unwrap();
            socket.send_multipart([&b""[..], ready], 0).unwrap();
            TestWorker {
                socket,
                holding: None,
                served: 0,
            }
        })
        .collect();
    let clients: Vec<zmq::Socket> = (0..10)
        .map(|i| {
            let socket = ctx.socket(zmq::REQ).unwrap();
            socket.set_linger(0).unwrap();
            socket.connect(&fe).unwrap();
            socket.send(format!("HELLO {i}").as_bytes(), 0).unwrap();
            socket
        })
        .collect();

    // A worker replies once all three hold a request (so the first three requests must go to
    // three different workers), or after a while if one of them is slow to say READY.
    let hold = Duration::from_millis(300);
    let deadline = Instant::now() + WAIT;
    let mut replies: Vec<Option<String>> = vec![None; clients.len()];
    while replies.iter().any(Option::is_none) {
        assert!(
            Instant::now() < deadline,
            "replies {replies:?}\n{}",
            broker.context()
        );
        let ready: Vec<bool> = {
            let mut items: Vec<zmq::PollItem> = workers
                .iter()
                .map(|w| w.socket.as_poll_item(zmq::POLLIN))
                .chain(clients.iter().map(|c| c.as_poll_item(zmq::POLLIN)))
                .collect();
            zmq::poll(&mut items, 10).unwrap();
            items.iter().map(|i| i.is_readable()).collect()
        };
        for (i, w) in workers.iter_mut().enumerate() {
            if !ready[i] {
                continue;
            }
            while let Ok(parts) = w.socket.recv_multipart(zmq::DONTWAIT) {
                assert!(
                    w.holding.is_none(),
                    "worker W{i} was sent {parts:?} while it still held {:?}",
                    w.holding
                );
                // [""][client][""][request], as a REQ worker would see [client][""][request]
                assert!(
                    parts.len() == 4 && parts[0].is_empty() && parts[2].is_empty(),
                    "bad envelope {parts:?}"
                );
                w.holding = Some((parts, Instant::now()));
                w.served += 1;
            }
        }
        let all_busy = workers.iter().all(|w| w.holding.is_some());
        for w in workers.iter_mut() {
            if w.holding
                .as_ref()
                .is_some_and(|(_, t)| all_busy || t.elapsed() > hold)
            {
                let (mut parts, _) = w.holding.take().unwrap();
                let request = parts.pop().unwrap();
                parts.push([&b"OK "[..], &request].concat());
                w.socket.send_multipart(parts, 0).unwrap();
            }
        }
        for (i, c) in clients.iter().enumerate() {
            if ready[workers.len() + i] {
                let reply = c.recv_string(0).unwrap().unwrap();
                assert_eq!(
                    reply,
                    format!("OK HELLO {i}"),
                    "client {i} got another's reply"
                );
                assert!(replies[i].replace(reply).is_none());
            }
        }
    }
    let served: Vec<usize> = workers.iter().map(|w| w.served).collect();
    assert_eq!(served.iter().sum::<usize>(), 10, "{served:?}");
    assert!(
        served.iter().all(|n| *n > 0),
        "a worker got no work: {served:?}"
    );
    // and nothing more arrives afterwards
    for (i, w) in workers.iter().enumerate() {
        w.socket.set_rcvtimeo(100).unwrap();
        assert!(
            w.socket.recv_multipart(0).is_err(),
            "worker W{i} got an extra message"
        );
    }
    broker.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn lbbroker_never_gives_a_worker_two_requests() {
    one_request_per_worker_on_the_wire(bin!("lbbroker"), b"READY");
}

#[test]
fn lbbroker2_never_gives_a_worker_two_requests() {
    one_request_per_worker_on_the_wire(bin!("lbbroker2"), b"READY");
}

#[test]
fn lbbroker3_never_gives_a_worker_two_requests() {
    one_request_per_worker_on_the_wire(bin!("lbbroker3"), b"\x01");
}

/// Waits until every one of `files` is in `dir`.
fn wait_for_files(dir: &TempDir, files: &[&str], p: &Proc) {
    let deadline = Instant::now() + WAIT;
    while !files.iter().all(|f| dir.path().join(f).exists()) {
        assert!(
            Instant::now() < deadline,
            "{files:?} not created in {}\n{}",
            dir.path().display(),
            p.context()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn left_in(dir: &TempDir) -> Vec<String> {
    std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The guide's programs bind ipc files in the working directory (`ipc://frontend.ipc`), and
/// libzmq leaves them there: each binary that does removes them when it ends, on SIGTERM or
/// SIGINT as at its own end. Run in a temp dir with the defaults (ipc only, no port).
#[test]
fn binaries_remove_the_ipc_files_they_bind_in_the_working_directory() {
    let cases: [(&str, &[&str], &[&str], i32); 6] = [
        (
            bin!("lbbroker"),
            &["--clients", "0", "--workers", "0"],
            &["frontend.ipc", "backend.ipc"],
            libc::SIGTERM,
        ),
        (
            bin!("lbbroker2"),
            &["--clients", "0", "--workers", "0"],
            &["frontend.ipc", "backend.ipc"],
            libc::SIGINT,
        ),
        (
            bin!("lbbroker3"),
            &["--clients", "0", "--workers", "0"],
            &["frontend.ipc", "backend.ipc"],
            libc::SIGTERM,
        ),
        (
            bin!("wuserver"),
            &["--bind", "ipc://weather.ipc"],
            &["weather.ipc"],
            libc::SIGTERM,
        ),
        (
            bin!("peering1"),
            &["DC1"],
            &["DC1-state.ipc"],
            libc::SIGTERM,
        ),
        (
            bin!("peering3"),
            &["DC1", "--workers", "0", "--clients", "0"],
            &[
                "DC1-localfe.ipc",
                "DC1-localbe.ipc",
                "DC1-cloud.ipc",
                "DC1-state.ipc",
                "DC1-monitor.ipc",
            ],
            libc::SIGTERM,
        ),
    ];
    for (path, args, files, sig) in cases {
        let dir = TempDir::new("ipc-cwd");
        let mut p = Proc::start_in(dir.path(), path, args);
        wait_for_files(&dir, files, &p);
        p.stop_with(sig, WAIT);
        assert!(
            left_in(&dir).is_empty(),
            "{path}: {:?} left behind",
            left_in(&dir)
        );
    }
    // and at the program's own end
    let dir = TempDir::new("ipc-cwd-end");
    let mut p = Proc::start_in(dir.path(), bin!("lbbroker"), &[]);
    let lines = p.lines_until_end(WAIT);
    p.wait_success(WAIT);
    assert_eq!(lines.iter().filter(|l| *l == "Client: OK").count(), 10);
    assert!(left_in(&dir).is_empty(), "{:?} left behind", left_in(&dir));
}
