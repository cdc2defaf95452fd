//! Chapter 4, the Freelance pattern: Model One (flserver1, flclient1), Model Two (flserver2,
//! flclient2, the shotgun) and Model Three (flserver3, flclient3 on `zmq_patterns::freelance`),
//! with servers killed mid-run, all servers gone, and hostile peers.

mod common;
use common::*;

use std::time::{Duration, Instant};

use zmq_patterns::Msg;

/// A test socket of `kind`, linger 0, with a receive timeout so that no wait is unbounded.
fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s
}

/// `frames` as text, for assertions.
fn texts(msg: &Msg) -> Vec<String> {
    msg.iter().map(|f| f.to_string_lossy()).collect()
}

/// An endpoint nothing listens on.
fn dead_ep() -> String {
    tcp_ep()
}

// ---------------------------------------------------------------------------------------------
// Model One

#[test]
fn flclient1_gets_an_answer_from_one_flserver1() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("flserver1"), &[&ep]);
    server.expect(&format!("I: echo service is ready at {ep}"), WAIT);
    let (status, lines) = run_to_end(bin!("flclient1"), &[&ep], WAIT);
    assert!(status.success(), "{status:?} {lines:?}");
    assert_eq!(
        lines,
        [
            format!("I: trying echo service at {ep}..."),
            "Service is running OK".into()
        ]
    );
    server.signal(libc::SIGINT);
    server.expect("W: interrupted", WAIT);
    server.wait_success(WAIT);
}

#[test]
fn flclient1_fails_over_to_the_next_server() {
    let (dead, live) = (dead_ep(), tcp_ep());
    let server = Proc::start(bin!("flserver1"), &[&live]);
    server.expect("I: echo service is ready", WAIT);
    let t = Instant::now();
    let (status, lines) = run_to_end(
        bin!("flclient1"),
        &[&dead, &live, "--timeout-ms", "300"],
        WAIT,
    );
    assert!(status.success(), "{status:?} {lines:?}");
    assert_eq!(
        lines,
        [
            format!("I: trying echo service at {dead}..."),
            format!("W: no response from {dead}"),
            format!("I: trying echo service at {live}..."),
            "Service is running OK".into()
        ]
    );
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn flclient1_retries_one_server_then_abandons() {
    let dead = dead_ep();
    let (status, lines) = run_to_end(
        bin!("flclient1"),
        &[&dead, "--timeout-ms", "200", "--retries", "3"],
        WAIT,
    );
    assert_eq!(status.code(), Some(1), "{lines:?}");
    let trying = format!("I: trying echo service at {dead}...");
    let retrying = format!("W: no response from {dead}, retrying...");
    assert_eq!(
        lines,
        [
            &trying,
            &retrying,
            &trying,
            &retrying,
            &trying,
            &retrying,
            "E: echo service not available, abandoning"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Model Two

#[test]
fn flclient2_runs_against_three_flserver2() {
    let eps: Vec<String> = (0..3).map(|_| tcp_ep()).collect();
    let servers: Vec<Proc> = eps
        .iter()
        .map(|ep| Proc::start(bin!("flserver2"), &[ep]))
        .collect();
    for (server, ep) in servers.iter().zip(&eps) {
        server.expect(&format!("I: service is ready at {ep}"), WAIT);
    }
    let mut args: Vec<&str> = eps.iter().map(String::as_str).collect();
    args.extend(["--requests", "500"]);
    let (status, lines) = run_to_end(bin!("flclient2"), &args, WAIT);
    assert!(status.success(), "{status:?} {lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let usec = lines[0]
        .strip_prefix("Average round trip cost: ")
        .and_then(|l| l.strip_suffix(" usec"))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(usec.is_some(), "{lines:?}");
}

/// Two fake servers answer the first request both (the second answer must be dropped), then
/// answer the second request only with a late copy of the first answer and malformed replies:
/// a client that took any of those for the answer would end with status 0.
#[test]
fn flclient2_uses_the_first_reply_and_drops_the_others() {
    let ctx = zmq::Context::new();
    let fakes: Vec<zmq::Socket> = (0..2).map(|_| socket(&ctx, zmq::ROUTER)).collect();
    let eps: Vec<String> = fakes
        .iter()
        .map(|f| {
            let ep = tcp_ep();
            f.bind(&ep).unwrap();
            ep
        })
        .collect();
    let mut client = Proc::start(
        bin!("flclient2"),
        &[&eps[0], &eps[1], "--requests", "2", "--timeout-ms", "1000"],
    );
    // Request 1 reaches both servers; both answer it.
    for fake in &fakes {
        let mut request = Msg::recv(fake).unwrap();
        let id = request.pop_front().unwrap();
        assert_eq!(texts(&request), ["", "1", "random name"]);
        Msg::from_iter([id.clone(), "".into(), "1".into(), "OK".into()])
            .send(fake)
            .unwrap();
    }
    // Request 2 reaches both too (so one answer to request 1 was enough).
    let mut ids = Vec::new();
    for fake in &fakes {
        let mut request = Msg::recv(fake).unwrap();
        let id = request.pop_front().unwrap();
        assert_eq!(texts(&request), ["", "2", "random name"]);
        ids.push(id);
    }
    let t = Instant::now();
    let fake = &fakes[0];
    for junk in [
        vec!["", "1", "OK"],
        vec!["2", "OK"],
        vec!["", "2"],
        vec!["", "2", "OK", "extra"],
        vec!["x", "2", "OK"],
    ] {
        let mut reply = Msg::from_iter(junk);
        reply.push_front(ids[0].clone());
        reply.send(fake).unwrap();
    }
    let lines = client.lines_until_end(WAIT);
    let status = client.wait(WAIT);
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert_eq!(lines, ["E: name service not available, aborting"]);
    assert!(
        t.elapsed() >= Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
    // No third request was ever sent.
    for fake in &fakes {
        fake.set_rcvtimeo(0).unwrap();
        assert!(Msg::recv(fake).is_err());
    }
}

#[test]
fn flclient2_aborts_within_its_timeout_when_all_servers_are_gone() {
    let ep = tcp_ep();
    let server = Proc::start(bin!("flserver2"), &[&ep]);
    server.expect("I: service is ready", WAIT);
    drop(server); // killed
    let t = Instant::now();
    let (status, lines) = run_to_end(
        bin!("flclient2"),
        &[&ep, &dead_ep(), "--timeout-ms", "500"],
        WAIT,
    );
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert_eq!(lines, ["E: name service not available, aborting"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(3000),
        "{took:?}"
    );
}

#[test]
fn flserver2_outlives_malformed_requests_and_serves_right_after() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("flserver2"), &[&ep]);
    server.expect("I: service is ready", WAIT);
    let ctx = zmq::Context::new();
    let dealer = socket(&ctx, zmq::DEALER);
    dealer.connect(&ep).unwrap();
    for junk in [
        vec![""],
        vec!["no envelope", "x"],
        vec!["", "1"],
        vec!["", "1", "a", "b"],
        vec!["", "", "", "", "", ""],
        vec!["\u{0}\u{ff}"],
    ] {
        Msg::from_iter(junk).send(&dealer).unwrap();
    }
    Msg::from_iter(["", "42", "random name"])
        .send(&dealer)
        .unwrap();
    let reply = Msg::recv(&dealer).unwrap();
    assert_eq!(texts(&reply), ["", "42", "OK"]);
    assert!(server.is_running());
    server.stop_with(libc::SIGTERM, WAIT);
}

// ---------------------------------------------------------------------------------------------
// Model Three

/// Three verbose flserver3 (each dumps the messages it gets) on fresh ports, ready.
fn three_flserver3() -> (Vec<String>, Vec<Proc>) {
    let eps: Vec<String> = (0..3).map(|_| tcp_ep()).collect();
    let servers: Vec<Proc> = eps
        .iter()
        .map(|ep| Proc::start(bin!("flserver3"), &["-v", "--bind", ep]))
        .collect();
    for (server, ep) in servers.iter().zip(&eps) {
        server.expect(&format!("I: service is ready at {ep}"), WAIT);
    }
    (eps, servers)
}

fn flclient3(eps: &[String], extra: &[&str]) -> Proc {
    let mut args = vec!["--connect"];
    args.extend(eps.iter().map(String::as_str));
    args.extend(extra);
    Proc::start(bin!("flclient3"), &args)
}

#[test]
fn flclient3_goes_on_when_two_of_three_servers_are_killed() {
    let (eps, mut servers) = three_flserver3();
    let mut client = flclient3(
        &eps,
        &[
            "--requests",
            "20000",
            "--try-ms",
            "300",
            "--heartbeat-ms",
            "200",
        ],
    );
    for ep in &eps {
        client.expect(&format!("I: connecting to {ep}..."), WAIT);
    }
    // Requests go to the first server; kill it mid-run, then the one that takes over.
    servers[0].expect("random name", WAIT);
    servers[0].kill();
    servers[1].expect("random name", WAIT);
    servers[1].kill();
    servers[2].expect("random name", WAIT);
    let lines = client.lines_until_end(Duration::from_secs(60));
    client.wait_success(WAIT);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("Average round trip cost: ") && lines[0].ends_with(" usec"),
        "{lines:?}"
    );
}

#[test]
fn flclient3_fails_within_its_timeout_when_all_servers_are_gone() {
    let (eps, mut servers) = three_flserver3();
    let mut client = flclient3(&eps, &["--requests", "100000000", "--timeout-ms", "1000"]);
    servers[0].expect("random name", WAIT);
    let t = Instant::now();
    for server in &mut servers {
        server.kill();
    }
    let lines = client.lines_until_end(WAIT);
    let took = t.elapsed();
    assert_eq!(client.wait(WAIT).code(), Some(1), "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("E: name service not available, aborting"),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("Average")), "{lines:?}");
    assert!(
        took < Duration::from_millis(1000 + 1500),
        "failed {took:?} after the servers were killed"
    );
}

#[test]
fn flclient3_fails_within_its_timeout_when_no_server_ever_ran() {
    let eps = [dead_ep(), dead_ep()];
    let t = Instant::now();
    let mut client = flclient3(&eps, &["--timeout-ms", "500"]);
    let lines = client.lines_until_end(WAIT);
    let took = t.elapsed();
    assert_eq!(client.wait(WAIT).code(), Some(1), "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("E: name service not available, aborting")
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(3000),
        "{took:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile peers

#[test]
fn flserver1_outlives_malformed_requests_and_serves_right_after() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("flserver1"), &[&ep]);
    server.expect("I: echo service is ready", WAIT);
    let ctx = zmq::Context::new();
    let dealer = socket(&ctx, zmq::DEALER);
    dealer.connect(&ep).unwrap();
    // No empty delimiter: libzmq's REP drops these before the program sees them.
    for junk in [vec!["no envelope"], vec!["x", "y"], vec!["\u{0}\u{ff}"]] {
        Msg::from_iter(junk).send(&dealer).unwrap();
    }
    Msg::from_iter(["", "Hello world"]).send(&dealer).unwrap();
    let reply = Msg::recv(&dealer).unwrap();
    assert_eq!(texts(&reply), ["", "Hello world"]);
    server.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn flserver3_outlives_malformed_frames_and_serves_right_after() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("flserver3"), &["--bind", &ep, "--endpoint", &ep]);
    server.expect("I: service is ready", WAIT);
    let ctx = zmq::Context::new();
    // A DEALER: whatever it sends arrives behind its own address.
    let dealer = socket(&ctx, zmq::DEALER);
    dealer.connect(&ep).unwrap();
    for junk in [
        vec![""],
        vec!["HELLO"],
        vec!["ping"],
        vec!["PONG"],
        vec!["\u{0}\u{ff}\u{1}"],
    ] {
        Msg::from_iter(junk).send(&dealer).unwrap();
    }
    // A ROUTER client as FLP wants: addresses the server by its endpoint.
    let router = socket(&ctx, zmq::ROUTER);
    router.set_router_mandatory(true).unwrap();
    router.connect(&ep).unwrap();
    assert!(
        wait_until(WAIT, || Msg::from_iter([ep.as_str(), "PING"])
            .send(&router)
            .is_ok()),
        "never connected to flserver3 at {ep}"
    );
    assert_eq!(texts(&Msg::recv(&router).unwrap()), [ep.as_str(), "PONG"]);
    Msg::from_iter([ep.as_str(), "", ""]).send(&router).unwrap();
    Msg::from_iter([ep.as_str(), "17", "random name", "more"])
        .send(&router)
        .unwrap();
    assert_eq!(texts(&Msg::recv(&router).unwrap()), [ep.as_str(), "", "OK"]);
    assert_eq!(
        texts(&Msg::recv(&router).unwrap()),
        [ep.as_str(), "17", "OK"]
    );
    // The DEALER still gets an answer too.
    Msg::from_iter(["PING"]).send(&dealer).unwrap();
    assert_eq!(texts(&Msg::recv(&dealer).unwrap()), ["PONG"]);
    assert!(server.is_running());
    server.stop_with(libc::SIGINT, WAIT);
}
