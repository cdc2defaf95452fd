//! Chapter 4, Titanic: titanic and ticlient with the real mdbroker and mdworker, on test-owned
//! endpoints, each titanic with a store directory of its own: the round trip, requests that
//! survive titanic and the broker being killed, hostile UUIDs and requests over the wire, the
//! client's failure paths, and clean exits on signals.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zmq_patterns::titanic::{Dispatched, Store};
use zmq_patterns::{Msg, mdp};

/// Short heartbeats, so that workers and broker notice each other quickly.
const HB: [&str; 4] = ["--heartbeat-ms", "200", "--reconnect-ms", "200"];
const SERVICES: [&str; 3] = ["titanic.request", "titanic.reply", "titanic.close"];

fn broker(ep: &str) -> Proc {
    let p = Proc::start(bin!("mdbroker"), &["--bind", ep, "--heartbeat-ms", "200"]);
    p.expect(&format!("I: MDP broker/0.2.0 is active at {ep}"), WAIT);
    p
}

fn titanic(ep: &str, dir: &Path, extra: &[&str]) -> Proc {
    let dir = dir.to_str().unwrap();
    let mut args = vec!["--connect", ep, "--dir", dir, "--interval-ms", "100"];
    args.extend_from_slice(&HB);
    args.extend_from_slice(extra);
    Proc::start(bin!("titanic"), &args)
}

fn echo_worker(ep: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["--connect", ep];
    args.extend_from_slice(&HB);
    args.extend_from_slice(extra);
    Proc::start(bin!("mdworker"), &args)
}

fn client(ep: &str, timeout_ms: i64) -> mdp::Client {
    // the test's own context lives as long as the client's socket needs it
    let ctx = zmq::Context::new();
    let mut c = mdp::Client::new(&ctx, ep).unwrap();
    c.set_timeout(Duration::from_millis(timeout_ms as u64));
    c.set_retries(1);
    c
}

/// Calls `service` with `frames` and returns the reply; panics if none comes.
fn call<F: AsRef<[u8]>>(c: &mut mdp::Client, service: &str, frames: &[F]) -> Msg {
    let request = Msg::from_iter(frames.iter().map(|f| f.as_ref()));
    c.send(service, request)
        .unwrap_or_else(|e| panic!("{service}: no reply: {e}"))
}

/// The reply's frames as text.
fn text(reply: &Msg) -> Vec<String> {
    reply.iter().map(|f| f.to_string_lossy()).collect()
}

/// Waits until the broker has workers for every one of `services`.
fn wait_for_services(ep: &str, services: &[&str]) {
    let mut c = client(ep, 500);
    let deadline = Instant::now() + WAIT;
    for service in services {
        loop {
            match c.send("mmi.service", Msg::from_iter([*service])) {
                Ok(r) if r.front().is_some_and(|f| f == "200") => break,
                _ => {}
            }
            assert!(Instant::now() < deadline, "no worker for {service}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Every file under `dir` (two levels deep) with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).unwrap() {
                let inner = inner.unwrap().path();
                out.insert(inner.clone(), std::fs::read(&inner).unwrap_or_default());
            }
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// The names of the files in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `I: request UUID [032] <uuid>` -> the uuid (32 uppercase hex digits, checked).
fn uuid_of(line: &str) -> String {
    let uuid = line
        .strip_prefix("I: request UUID [032] ")
        .unwrap_or_else(|| panic!("not a UUID line: {line:?}"));
    assert!(
        uuid.len() == 32
            && uuid
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)),
        "{line:?}"
    );
    uuid.to_string()
}

const NO_REPLY: &str = "I: no reply yet, trying again...";

#[test]
fn ticlient_round_trip_and_the_store_is_empty_afterwards() {
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic");
    let store = tmp.path().join(".titanic");
    let mut b = broker(&ep);
    let mut t = titanic(&ep, &store, &["-v"]);
    let mut w = echo_worker(&ep, &[]);
    wait_for_services(&ep, &SERVICES);
    wait_for_services(&ep, &["echo"]);

    let args = ["--connect", &ep, "--retry-ms", "100"];
    let (status, lines) = run_to_end(bin!("ticlient"), &args, WAIT);
    assert!(status.success(), "{status:?} {lines:?}");
    let uuid = uuid_of(&lines[0]);
    assert_eq!(lines.last().unwrap(), "Reply: Hello world", "{lines:?}");
    assert!(
        lines[1..lines.len() - 1].iter().all(|l| l == NO_REPLY),
        "{lines:?}"
    );
    // titanic tried it (-v), and the close removed both files
    t.expect(&format!("I: processing request {uuid}"), WAIT);
    assert_eq!(names(&store), Vec::<String>::new());
    let mut c = client(&ep, 2000);
    assert_eq!(text(&call(&mut c, "titanic.reply", &[&uuid])), ["400"]);

    t.stop_with(libc::SIGINT, WAIT);
    w.stop_with(libc::SIGINT, WAIT);
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn ticlient_waits_for_a_worker_that_comes_later() {
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic");
    let store = tmp.path().join("store");
    let _b = broker(&ep);
    let mut t = titanic(&ep, &store, &["-v"]);
    wait_for_services(&ep, &SERVICES);

    let args = ["--connect", &ep, "--retry-ms", "100"];
    let mut c = Proc::start(bin!("ticlient"), &args);
    let uuid = uuid_of(&c.expect("I: request UUID", WAIT));
    // on disk before the UUID came back
    assert_eq!(names(&store), [format!("{uuid}.req")]);
    // no echo worker: titanic keeps trying, the client keeps asking
    for _ in 0..3 {
        c.expect(NO_REPLY, WAIT);
        t.expect(&format!("I: processing request {uuid}"), WAIT);
    }
    let _w = echo_worker(&ep, &[]);
    let rest = c.lines_until_end(WAIT);
    c.wait_success(WAIT);
    assert_eq!(rest.last().map(String::as_str), Some("Reply: Hello world"));
    assert!(
        rest[..rest.len() - 1].iter().all(|l| l == NO_REPLY),
        "{rest:?}"
    );
    assert_eq!(names(&store), Vec::<String>::new());
    t.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn requests_survive_titanic_and_the_broker_being_killed() {
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic");
    let store = tmp.path().join("store");
    let mut b = broker(&ep);
    let mut t = titanic(&ep, &store, &["-v"]);
    wait_for_services(&ep, &SERVICES);

    // five requests for a service nobody serves yet
    let mut c = client(&ep, 2000);
    let mut ids = Vec::new();
    for i in 0..5 {
        let reply = text(&call(
            &mut c,
            "titanic.request",
            &["echo", &format!("request-{i}")],
        ));
        assert!(reply.len() == 2 && reply[0] == "200", "{reply:?}");
        ids.push(reply[1].clone());
    }
    for id in &ids {
        assert_eq!(text(&call(&mut c, "titanic.reply", &[id])), ["300"]);
    }
    t.expect(&format!("I: processing request {}", ids[4]), WAIT);

    // both die without a word; the requests stay on disk
    t.kill();
    b.kill();
    let mut want: Vec<String> = ids.iter().map(|id| format!("{id}.req")).collect();
    want.sort();
    assert_eq!(names(&store), want);

    let mut b = broker(&ep);
    let mut t = titanic(&ep, &store, &["-v"]);
    // the restarted titanic picked them up from disk
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < ids.len() {
        let line = t.expect("I: processing request ", WAIT);
        seen.insert(line["I: processing request ".len()..].to_string());
    }
    assert_eq!(seen, ids.iter().cloned().collect());
    wait_for_services(&ep, &SERVICES);
    let mut c = client(&ep, 2000);
    for id in &ids {
        assert_eq!(text(&call(&mut c, "titanic.reply", &[id])), ["300"]);
    }

    // now a worker: every request gets its reply
    let mut w = echo_worker(&ep, &["-v"]);
    for (i, id) in ids.iter().enumerate() {
        let deadline = Instant::now() + WAIT;
        loop {
            let reply = text(&call(&mut c, "titanic.reply", &[id]));
            if reply[0] == "200" {
                assert_eq!(reply, ["200".to_string(), format!("request-{i}")]);
                break;
            }
            assert_eq!(reply, ["300"]);
            assert!(Instant::now() < deadline, "no reply for {id}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // a few dispatcher rounds (100 ms) for a request sent twice to show up at the worker:
    // nothing announces that one will not come, so this pause is the test's window for a
    // wrong event; the check below counts what the worker printed by its end
    std::thread::sleep(Duration::from_millis(500));
    // the reply stays until the close; close is idempotent; then it is unknown
    for (i, id) in ids.iter().enumerate() {
        let again = text(&call(&mut c, "titanic.reply", &[id]));
        assert_eq!(again, ["200".to_string(), format!("request-{i}")]);
        assert_eq!(text(&call(&mut c, "titanic.close", &[id])), ["200"]);
        assert_eq!(text(&call(&mut c, "titanic.close", &[id])), ["200"]);
        assert_eq!(text(&call(&mut c, "titanic.reply", &[id])), ["400"]);
    }
    assert_eq!(names(&store), Vec::<String>::new());

    // the worker (-v dumps what it receives and what it sends) saw each request exactly once
    w.signal(libc::SIGINT);
    let lines = w.lines_until_end(WAIT);
    w.wait_success(WAIT);
    for i in 0..5 {
        let body = format!("[009] request-{i}");
        let n = lines.iter().filter(|l| **l == body).count();
        assert_eq!(
            n, 2,
            "request-{i}: received and replied once each\n{lines:?}"
        );
    }
    t.stop_with(libc::SIGINT, WAIT);
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn hostile_uuids_and_requests_get_errors_and_touch_nothing() {
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic");
    let store = tmp.path().join("store");
    // targets of the traversals: beside the store, and inside it under a name that is no UUID
    std::fs::create_dir_all(&store).unwrap();
    for (path, content) in [
        (tmp.path().join("outside.req"), "outside request"),
        (tmp.path().join("outside.rep"), "outside reply"),
        (store.join("keep.req"), "inside request"),
        (store.join("keep.rep"), "inside reply"),
    ] {
        std::fs::write(path, content).unwrap();
    }
    let before = snapshot(tmp.path());

    let _b = broker(&ep);
    let mut t = titanic(&ep, &store, &[]);
    let _w = echo_worker(&ep, &[]);
    wait_for_services(&ep, &SERVICES);
    let mut c = client(&ep, 10_000);

    let store_name = store.file_name().unwrap().to_str().unwrap();
    let mut hostile: Vec<Vec<u8>> = [
        "../outside".to_string(),
        format!("../{store_name}/keep"),
        "./keep".to_string(),
        "keep".to_string(),
        "../../x".to_string(),
        "/etc/passwd".to_string(),
        format!("{}/outside", tmp.path().display()),
        String::new(),
        "0".repeat(31),
        "0".repeat(33),
        "g".repeat(32),
        format!("{}/", "A".repeat(31)),
        format!("{}.", "A".repeat(31)),
        format!("{} ", "A".repeat(31)),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    hostile.push([b"0123456789ABCDEF0123456789ABCDE".as_slice(), &[0]].concat());
    hostile.push(vec![b'A'; 10 << 20]); // all hex digits, ten megabytes of them
    for bad in &hostile {
        let shown = String::from_utf8_lossy(&bad[..bad.len().min(40)]).into_owned();
        for service in ["titanic.reply", "titanic.close"] {
            let reply = text(&call(&mut c, service, &[bad]));
            assert_eq!(reply, ["400"], "{service} {shown:?}");
        }
    }
    // requests with no body, and over the 1 MiB limit
    let big = vec![b'x'; (1 << 20) + 1];
    for request in [vec![b"echo".to_vec()], vec![b"echo".to_vec(), big]] {
        assert_eq!(text(&call(&mut c, "titanic.request", &request)), ["500"]);
    }
    assert_eq!(snapshot(tmp.path()), before, "files changed");
    assert!(t.is_running(), "{}", t.context());

    // and it goes on serving good requests
    let args = ["--connect", &ep, "--retry-ms", "100"];
    let (status, lines) = run_to_end(bin!("ticlient"), &args, WAIT);
    assert!(status.success(), "{lines:?}\n{}", t.context());
    assert_eq!(lines.last().map(String::as_str), Some("Reply: Hello world"));
    assert_eq!(snapshot(tmp.path()), before, "files left behind");
    assert!(!t.context().contains("panicked"), "{}", t.context());
    // without -v the dispatcher says nothing
    assert!(!t.context().contains("I: processing"), "{}", t.context());
    t.stop_with(libc::SIGINT, WAIT);
}

/// A client that closes its request while the dispatcher has it out at the service: once the
/// reply is in, nothing of the request may stay in the store.
#[test]
fn a_request_closed_while_in_flight_leaves_no_reply_behind() {
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic");
    let store = tmp.path().join("store");
    let _b = broker(&ep);
    let t = titanic(&ep, &store, &["-v", "--timeout-ms", "5000"]);
    wait_for_services(&ep, &SERVICES);
    let mut c = client(&ep, 2000);
    let reply = text(&call(&mut c, "titanic.request", &["slow", "x"]));
    let first = reply[1].clone();
    // the service: closes the request, asks titanic to store another one, then replies
    let (ep2, id) = (ep.clone(), first.clone());
    let service = std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let mut worker = mdp::Worker::new(&ctx, &ep2, "slow").unwrap();
        let request = worker.recv(None).unwrap();
        let mut c = client(&ep2, 2000);
        assert_eq!(text(&call(&mut c, "titanic.close", &[&id])), ["200"]);
        let second = text(&call(&mut c, "titanic.request", &["nobody", "y"]));
        let _ = std::thread::spawn(move || worker.recv(Some(request)));
        second[1].clone()
    });
    let second = service.join().unwrap();
    // the dispatcher takes the second request once it is done with the first
    t.expect(&format!("I: processing request {second}"), WAIT);
    assert_eq!(names(&store), [format!("{second}.req")]);
    assert_eq!(text(&call(&mut c, "titanic.reply", &[&first])), ["400"]);
}

/// `Store::dispatch` must not leave a reply behind for a request closed while it was out at the
/// service (found by this test; fixed in the library).
#[test]
fn store_dispatch_stores_no_reply_for_a_closed_request() {
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic");
    let _b = broker(&ep);
    let store = Store::open(tmp.path()).unwrap();
    let id = store.save_request(&Msg::from_iter(["slow", "x"])).unwrap();
    let (ep2, store2, id2) = (ep.clone(), store.clone(), id.clone());
    std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let mut worker = mdp::Worker::new(&ctx, &ep2, "slow").unwrap();
        let request = worker.recv(None).unwrap();
        store2.close(&id2).unwrap(); // titanic.close, while the request is here
        let _ = worker.recv(Some(request));
    });
    wait_for_services(&ep, &["slow"]);
    let mut c = client(&ep, 5000);
    assert_eq!(store.dispatch(&id, &mut c).unwrap(), Dispatched::Done);
    assert_eq!(names(tmp.path()), Vec::<String>::new(), "an orphan reply");
}

/// A stand-in for one titanic service: answers each request with the next of `answers`. (The
/// thread then waits for a request that never comes; each case has a broker of its own.)
fn fake_service(ep: &str, service: &'static str, answers: Vec<Vec<&'static str>>) {
    let ep = ep.to_string();
    std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let mut worker = mdp::Worker::new(&ctx, &ep, service).unwrap();
        let mut reply = None;
        for answer in answers {
            worker.recv(reply.take()).unwrap();
            reply = Some(Msg::from_iter(answer));
        }
        let _ = worker.recv(reply.take());
    });
}

/// Runs ticlient against fake titanic services, each answering with its list, on a broker of
/// their own; returns its exit code and what it printed.
fn ticlient_against(
    fakes: &[(&'static str, Vec<Vec<&'static str>>)],
) -> (Option<i32>, Vec<String>) {
    let ep = tcp_ep();
    let _b = broker(&ep);
    for (service, answers) in fakes {
        fake_service(&ep, service, answers.clone());
        wait_for_services(&ep, &[service]);
    }
    let args = ["--connect", &ep, "--retry-ms", "50", "--interval-ms", "10"];
    let (status, lines) = run_to_end(bin!("ticlient"), &args, WAIT);
    (status.code(), lines)
}

#[test]
fn ticlient_failure_paths() {
    // no titanic: an error, status 1 (the C exited 0)
    let ep = tcp_ep();
    let b = broker(&ep);
    let args = ["--connect", &ep, "--timeout-ms", "300", "--retries", "2"];
    let mut p = Proc::start(bin!("ticlient"), &args);
    assert_eq!(p.lines_until_end(WAIT), Vec::<String>::new());
    assert_eq!(p.wait(WAIT).code(), Some(1));
    assert!(
        p.context()
            .contains("error: no answer from titanic.request"),
        "{}",
        p.context()
    );
    drop(b);

    // titanic.request fails on the server's side, then succeeds: a 500 is retried later and
    // only the code counts, not the text after it (spec 9/TSP; the C aborted on 500)
    let id = "0123456789ABCDEF0123456789ABCDEF";
    let (code, lines) = ticlient_against(&[
        (
            "titanic.request",
            vec![vec!["500 Internal error"], vec!["200 OK", id]],
        ),
        (
            "titanic.reply",
            vec![
                vec!["300 Pending"],
                vec!["299"],
                vec!["200 OK", "Hello world"],
            ],
        ),
        ("titanic.close", vec![vec!["200 OK"]]),
    ]);
    assert_eq!(code, Some(0));
    let want = [
        "W: server error, trying again later...".to_string(),
        format!("I: request UUID [032] {id}"),
        NO_REPLY.to_string(),
        NO_REPLY.to_string(),
        "Reply: Hello world".to_string(),
    ];
    assert_eq!(lines, want);

    // a 200 without a UUID
    let (code, lines) = ticlient_against(&[("titanic.request", vec![vec!["200"]])]);
    assert_eq!(code, Some(1));
    assert_eq!(lines, Vec::<String>::new());

    // a UUID, then: pending, a reply of two frames (the last one is printed), a failed close
    let (code, lines) = ticlient_against(&[
        ("titanic.request", vec![vec!["200", id]]),
        (
            "titanic.reply",
            vec![vec!["300"], vec!["200", "first", "Hello world"]],
        ),
        ("titanic.close", vec![vec!["400"]]),
    ]);
    assert_eq!(code, Some(1));
    let want = [
        format!("I: request UUID [032] {id}"),
        NO_REPLY.to_string(),
        "Reply: Hello world".to_string(),
        "E: client fatal error, aborting".to_string(),
    ];
    assert_eq!(lines, want);
}

#[test]
fn titanic_and_ticlient_stop_cleanly_on_signals() {
    // titanic alone, no broker anywhere (it has its signal handlers once it made its store)
    let tmp = TempDir::new("titanic");
    for (sig, dir) in [(libc::SIGINT, "a"), (libc::SIGTERM, "b")] {
        let dir = tmp.path().join(dir);
        let mut t = titanic(&tcp_ep(), &dir, &[]);
        assert!(wait_until(WAIT, || dir.is_dir()), "no store made");
        // Nothing shows that its worker threads are up (they connect to a broker that is not
        // there). The stop must be clean at any moment; this only makes the likely moment a
        // later one, with the workers started.
        std::thread::sleep(Duration::from_millis(100));
        t.stop_with(sig, WAIT);
    }

    // titanic blocked in a dispatch that waits for a broker that is not there
    let dir = tmp.path().join("pending");
    let store = Store::open(&dir).unwrap();
    let id = store
        .save_request(&Msg::from_iter(["echo", "Hello world"]))
        .unwrap();
    let mut t = titanic(&tcp_ep(), &dir, &["-v", "--timeout-ms", "60000"]);
    t.expect(&format!("I: processing request {id}"), WAIT);
    let start = Instant::now();
    t.stop_with(libc::SIGINT, WAIT);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(names(&dir), [format!("{id}.req")]);

    // ticlient waiting for its reply
    let ep = tcp_ep();
    let mut b = broker(&ep);
    let mut t = titanic(&ep, &tmp.path().join("c"), &[]);
    wait_for_services(&ep, &SERVICES);
    let mut c = Proc::start(bin!("ticlient"), &["--connect", &ep, "--retry-ms", "60000"]);
    c.expect(NO_REPLY, WAIT);
    c.stop_with(libc::SIGINT, WAIT);
    t.stop_with(libc::SIGINT, WAIT);
    b.stop_with(libc::SIGINT, WAIT);
}

/// A worker for `service` that takes one request and never answers it, heartbeating all the
/// while so that the broker keeps it (and `mmi.service` answers 200). Sends on `taken` once it
/// holds the request.
fn stuck_worker(ep: &str, service: &'static str, taken: std::sync::mpsc::Sender<()>) {
    let ep = ep.to_string();
    std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let config = mdp::WorkerConfig {
            heartbeat: Duration::from_millis(200),
            reconnect: Duration::from_millis(200),
            ..Default::default()
        };
        let mut worker = mdp::Worker::with_config(&ctx, &ep, service, config).unwrap();
        if worker.recv(None).is_ok() {
            let _ = taken.send(());
        }
        // never a reply: each recv only heartbeats (the broker sends nothing to a busy worker)
        while worker.recv(None).is_ok() {}
    });
}

/// Polls `titanic.reply` for `id` until it answers 200 or `within` has passed; returns the
/// reply and how long it took.
fn reply_within(c: &mut mdp::Client, id: &str, within: Duration) -> (Vec<String>, Duration) {
    let start = Instant::now();
    loop {
        let reply = text(&call(c, "titanic.reply", &[id]));
        if reply[0] != "300" || start.elapsed() > within {
            return (reply, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One service whose worker never answers must not hold up the requests for the others: 25
/// requests for `stuck` are pending when one for `echo` comes, and the echo is answered within
/// 10 s (about 1 s: at most the one stuck request the dispatcher is waiting out). Before the
/// fix the dispatcher waited out every stuck request in turn, a second each, every round: the
/// echo took 26 s here, and up to twice that depending on when it came.
#[test]
fn a_stuck_service_does_not_starve_the_others() {
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic");
    let store = tmp.path().join("store");
    let _b = broker(&ep);
    let t = titanic(&ep, &store, &["-v"]);
    let _w = echo_worker(&ep, &[]);
    let (taken, stuck_has_one) = std::sync::mpsc::channel();
    stuck_worker(&ep, "stuck", taken);
    wait_for_services(&ep, &SERVICES);
    wait_for_services(&ep, &["echo", "stuck"]);

    let mut c = client(&ep, 5000);
    for i in 0..25 {
        let reply = text(&call(
            &mut c,
            "titanic.request",
            &["stuck", &format!("s-{i}")],
        ));
        assert_eq!(reply[0], "200", "{reply:?}");
    }
    // the dispatcher is at work on the stuck service
    stuck_has_one
        .recv_timeout(WAIT)
        .expect("the stuck worker got no request");
    let reply = text(&call(&mut c, "titanic.request", &["echo", "Hello"]));
    assert_eq!(reply[0], "200", "{reply:?}");
    let bound = Duration::from_secs(10);
    let (answer, took) = reply_within(&mut c, &reply[1], bound);
    assert_eq!(answer, ["200", "Hello"], "after {took:?}\n{}", t.context());
    assert!(took < bound, "the echo took {took:?}");
}

/// A message as the store writes it: each frame's length (4 bytes, little-endian), then it.
fn encoded(frames: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f.as_bytes());
    }
    out
}

/// Pushes the modification time of request `id` forward by `secs`: the store's queue is
/// oldest first, so this fixes the dispatch order without waiting.
fn age_request(dir: &Path, id: &str, secs: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(format!("{id}.req")))
        .unwrap();
    let when = std::time::SystemTime::now() + Duration::from_secs(secs);
    file.set_modified(when).unwrap();
}

/// Symbolic links planted in the store, where a request, a reply or a temporary goes, are
/// never followed: nothing outside the store is read, served, dispatched or written.
#[test]
fn links_planted_in_the_store_are_never_followed() {
    use std::os::unix::fs::symlink;
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic");
    let dir = tmp.path().join("store");
    let secret = tmp.path().join("secret");
    let stolen = tmp.path().join("stolen");
    let victim = tmp.path().join("victim");
    std::fs::write(&secret, encoded(&["secret"])).unwrap();
    std::fs::write(&stolen, encoded(&["echo", "stolen"])).unwrap();
    std::fs::write(&victim, "keep me").unwrap();
    let outside = || [&secret, &stolen, &victim].map(|p| std::fs::read(p).unwrap());
    let before = outside();

    let store = Store::open(&dir).unwrap();
    // b: a request that is a link to a valid request outside, the oldest in the store
    let b = zmq_patterns::titanic::Uuid::random().to_string();
    symlink(&stolen, dir.join(format!("{b}.req"))).unwrap();
    // a: a request for a service nobody serves, whose reply is a link to a secret outside
    let a = store
        .save_request(&Msg::from_iter(["nobody", "a"]))
        .unwrap();
    symlink(&secret, dir.join(format!("{a}.rep"))).unwrap();
    age_request(&dir, a.as_str(), 10);
    // c: an echo request, with a link where its reply's temporary file will be written
    let c = store.save_request(&Msg::from_iter(["echo", "c"])).unwrap();
    symlink(&victim, dir.join(format!("{c}.tmp"))).unwrap();
    age_request(&dir, c.as_str(), 20);

    let _b = broker(&ep);
    let _w = echo_worker(&ep, &[]);
    wait_for_services(&ep, &["echo"]);
    let t = titanic(&ep, &dir, &["-v"]);
    wait_for_services(&ep, &SERVICES);
    let mut cl = client(&ep, 5000);
    // c is the newest request for echo: once it is answered, b has had its turn
    let (reply, _) = reply_within(&mut cl, c.as_str(), WAIT);
    assert_eq!(reply, ["200", "c"], "{}", t.context());
    let c_rep = std::fs::symlink_metadata(dir.join(format!("{c}.rep"))).unwrap();
    assert!(c_rep.file_type().is_file(), "{c_rep:?}");
    assert_eq!(outside(), before, "a file outside the store changed");
    assert_eq!(text(&call(&mut cl, "titanic.reply", &[&b])), ["400"]);
    assert_eq!(
        text(&call(&mut cl, "titanic.reply", &[a.as_str()])),
        ["300"]
    );
    let processing = format!("I: processing request {b}");
    assert!(!t.context().contains(&processing), "{}", t.context());
    assert!(!dir.join(format!("{b}.rep")).exists());
}

/// What clients leave on disk is bounded (`--max-requests`: then `500`) and expires
/// (`--max-age-ms`: a request no client closed is removed, its status becomes `400`); the C
/// original kept every request for ever.
#[test]
fn a_full_store_answers_500_and_unclosed_requests_expire() {
    let ep = tcp_ep();
    let tmp = TempDir::new("titanic-bounded");
    let store = tmp.path().join("store");
    let _b = broker(&ep);
    #[rustfmt::skip]
    let _t = titanic(&ep, &store, &["--max-requests", "2", "--max-age-ms", "1500"]);
    wait_for_services(&ep, &SERVICES);
    let mut c = client(&ep, 10_000);
    // a service nobody offers: the requests stay on disk
    let first = text(&call(&mut c, "titanic.request", &["nobody", "1"]));
    assert_eq!(first[0], "200", "{first:?}");
    let second = text(&call(&mut c, "titanic.request", &["nobody", "2"]));
    assert_eq!(second[0], "200", "{second:?}");
    let full = text(&call(&mut c, "titanic.request", &["nobody", "3"]));
    assert_eq!(full, ["500"], "a third request was stored");
    assert_eq!(names(&store).len(), 2, "{:?}", names(&store));
    assert_eq!(text(&call(&mut c, "titanic.reply", &[&first[1]])), ["300"]);

    // Nobody closes them: 1.5 s later they are gone, and there is room again
    let deadline = Instant::now() + WAIT;
    for id in [&first[1], &second[1]] {
        while text(&call(&mut c, "titanic.reply", &[id])) != ["400"] {
            assert!(
                Instant::now() < deadline,
                "never expired: {:?}",
                names(&store)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert!(names(&store).is_empty(), "{:?}", names(&store));
    let again = text(&call(&mut c, "titanic.request", &["nobody", "4"]));
    assert_eq!(again[0], "200", "{again:?}");
}
