//! Hostile peers against the servers, workers, brokers, sinks and subscribers of chapters 1-4:
//! no peer can crash or mute a server.
//!
//! Each test plays a peer that breaks the rules: a multipart message where one part is
//! expected, empty messages, a bare empty frame from a DEALER, 4 MB frames, binary garbage.
//! Then a well-behaved peer must still be served, the process must still run, and it must exit
//! with status 0 on SIGTERM (or at its own end, for the programs that have one). Each test's
//! comment names the defect it caught before the fix, or says that there was none.

mod common;
use common::*;

use std::time::Instant;

/// A message, part by part.
type Frames = Vec<Vec<u8>>;

/// What the REP servers of this repo answer to a request they cannot take (a multipart one).
const BAD_REQUEST: &str = "ERROR: bad request";

/// A 4 MB frame.
fn big() -> Vec<u8> {
    vec![0xA5; 4 << 20]
}

/// Bytes that are not UTF-8, with zeros and control characters.
fn garbage() -> Vec<u8> {
    (0..=255u8).rev().chain(*b"\xff\xfe\x00").collect()
}

/// A message of these parts.
fn msg<const N: usize>(parts: [&[u8]; N]) -> Frames {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// A message for failure messages: each part's size and first bytes, not 4 MB of them.
fn brief(frames: &[Vec<u8>]) -> String {
    let parts: Vec<String> = frames
        .iter()
        .map(|f| {
            let head = String::from_utf8_lossy(&f[..f.len().min(16)]).into_owned();
            format!("[{}] {head:?}", f.len())
        })
        .collect();
    parts.join(" ")
}

/// A test socket with linger 0 and send/receive deadlines, bound to or connected to `ep`.
fn socket(ctx: &zmq::Context, kind: zmq::SocketType, ep: &str, bind: bool) -> zmq::Socket {
    attach(ctx.socket(kind).unwrap(), ep, bind)
}

/// Gives `s` linger 0 and send/receive deadlines, and binds it to or connects it to `ep`.
fn attach(s: zmq::Socket, ep: &str, bind: bool) -> zmq::Socket {
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
    if bind {
        s.bind(ep).unwrap();
    } else {
        s.connect(ep).unwrap();
    }
    s
}

/// Sends `frames` as one message within WAIT; fails at once if one of `procs` exits meanwhile.
fn send(s: &zmq::Socket, frames: &[Vec<u8>], procs: &mut [&mut Proc]) {
    let deadline = Instant::now() + WAIT;
    while s.poll(zmq::POLLOUT, 50).unwrap() == 0 {
        if procs.iter_mut().any(|p| !p.is_running()) {
            fail(procs, "a process exited while a message waited to go");
        }
        if Instant::now() >= deadline {
            fail(
                procs,
                &format!("cannot send {} within {WAIT:?}", brief(frames)),
            );
        }
    }
    if let Err(e) = s.send_multipart(frames, 0) {
        fail(procs, &format!("cannot send {}: {e}", brief(frames)));
    }
}

/// What `p` printed last, each line cut short: some print what they received, 4 MB of it.
fn shown(p: &Proc) -> String {
    let lines: Vec<String> = p
        .context()
        .lines()
        .map(|l| l.chars().take(200).collect())
        .collect();
    lines.join("\n")
}

/// Fails with what every process printed, and the status of those that exited.
fn fail(procs: &mut [&mut Proc], what: &str) -> ! {
    let mut text = String::new();
    for p in procs.iter_mut() {
        if !p.is_running() {
            text += &format!("exited with {:?}\n", p.wait(WAIT));
        }
        text += &shown(p);
        text.push('\n');
    }
    panic!("{what}\n{text}");
}

/// The next message on `s` within WAIT; fails at once if one of `procs` exits meanwhile.
fn recv(s: &zmq::Socket, procs: &mut [&mut Proc]) -> Frames {
    let deadline = Instant::now() + WAIT;
    while s.poll(zmq::POLLIN, 50).unwrap() == 0 {
        if procs.iter_mut().any(|p| !p.is_running()) {
            fail(procs, "a process exited while a message was awaited");
        }
        if Instant::now() >= deadline {
            fail(procs, &format!("no message within {WAIT:?}"));
        }
    }
    s.recv_multipart(0).unwrap()
}

/// The next message on `s` must be `expected`.
fn expect_msg(s: &zmq::Socket, expected: &[Vec<u8>], procs: &mut [&mut Proc]) {
    let got = recv(s, procs);
    if got != expected {
        let what = format!("expected {}\n     got {}", brief(expected), brief(&got));
        fail(procs, &what);
    }
}

/// Sends each message and, where one is due, checks the reply before sending the next. A
/// `None` is a message that gets no reply; the next reply then shows that it got none.
fn session(s: &zmq::Socket, cases: &[(Frames, Option<Frames>)], procs: &mut [&mut Proc]) {
    for (request, expected) in cases {
        send(s, request, procs);
        if let Some(expected) = expected {
            let reply = recv(s, procs);
            if &reply != expected {
                let what = format!(
                    "sent {}\nexpected {}\n     got {}",
                    brief(request),
                    brief(expected),
                    brief(&reply)
                );
                fail(procs, &what);
            }
        }
    }
}

/// The hostile requests a DEALER sends to a REP server (directly or through a proxy), with the
/// reply each must get: a bare empty frame and a message without the empty delimiter are
/// dropped by libzmq's REP socket itself; each request body gets `answer(body)`.
fn rep_cases(answer: impl Fn(&[Vec<u8>]) -> Frames) -> Vec<(Frames, Option<Frames>)> {
    let bodies = [
        msg([b"Hello", b"extra"]),
        msg([b""]),
        vec![big()],
        vec![big(), big()],
        vec![garbage()],
        vec![garbage(), b"".to_vec(), garbage()],
    ];
    let mut cases = vec![(msg([b""]), None), (msg([b"Hello"]), None)];
    for body in bodies {
        let reply = [vec![vec![]], answer(&body)].concat();
        cases.push(([vec![vec![]], body].concat(), Some(reply)));
    }
    cases
}

/// What the Hello World servers (and rrworker, mtserver) answer: `World` to a one-part
/// request, [`BAD_REQUEST`] to a multipart one.
fn hello_answer(body: &[Vec<u8>]) -> Frames {
    if body.len() == 1 {
        msg([b"World"])
    } else {
        msg([BAD_REQUEST.as_bytes()])
    }
}

/// A REQ client sends `request` to `ep` and must get `expected`.
fn served(ep: &str, request: &str, expected: &[Vec<u8>], procs: &mut [&mut Proc]) {
    let ctx = zmq::Context::new();
    let client = socket(&ctx, zmq::REQ, ep, false);
    session(
        &client,
        &[(msg([request.as_bytes()]), Some(expected.to_vec()))],
        procs,
    );
}

/// Waits until `p` has logged a warning (its stderr is read by a thread of its own).
fn assert_warned(p: &Proc) {
    assert!(
        wait_until(WAIT, || p.context().contains("WARN")),
        "no warning\n{}",
        shown(p)
    );
}

/// Every process is still running, and exits with status 0 on SIGTERM.
fn still_up_then_stop(procs: &mut [&mut Proc]) {
    if procs.iter_mut().any(|p| !p.is_running()) {
        fail(procs, "a process exited");
    }
    for p in procs.iter_mut() {
        p.stop_with(libc::SIGTERM, WAIT);
    }
}

/// A REP server on `--bind`: a DEALER's hostile requests, then a REQ client.
fn rep_server_survives(path: &str, args: &[&str], answer: fn(&[Vec<u8>]) -> Frames, warns: bool) {
    let ep = tcp_ep();
    let mut server = Proc::start(path, &[&["--bind", ep.as_str()], args].concat());
    let ctx = zmq::Context::new();
    let hostile = socket(&ctx, zmq::DEALER, &ep, false);
    session(&hostile, &rep_cases(answer), &mut [&mut server]);
    served(&ep, "Hello", &answer(&msg([b"Hello"])), &mut [&mut server]);
    if warns {
        assert_warned(&server);
    }
    still_up_then_stop(&mut [&mut server]);
}

// ---- chapter 1: Hello World ----

/// Defect: a multipart request made hwserver exit 1 ("Operation cannot be accomplished in
/// current state": the reply went out with the rest of the request unread; since `recv_text`
/// reads whole messages, a protocol error).
#[test]
fn hwserver_answers_hostile_requests_and_keeps_serving() {
    rep_server_survives(bin!("hwserver"), &["--work-ms", "0"], hello_answer, true);
}

/// Defect: as hwserver, a multipart request made hwserver2 exit 1.
#[test]
fn hwserver2_answers_hostile_requests_and_keeps_serving() {
    rep_server_survives(bin!("hwserver2"), &["--work-ms", "0"], hello_answer, true);
}

/// No defect found: hwserver3 reads whole messages; one without the delimiter is discarded.
#[test]
fn hwserver3_survives_hostile_requests() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("hwserver3"), &["--bind", &ep, "--work-ms", "0"]);
    let ctx = zmq::Context::new();
    let hostile = socket(&ctx, zmq::DEALER, &ep, false);
    let world = Some(msg([b"", b"World"]));
    let cases = [
        (msg([b""]), world.clone()), // an empty request
        (msg([b"Hello"]), None),     // no delimiter: discarded
        (msg([b"", b"Hello", b"extra"]), world.clone()),
        (vec![vec![], big()], world.clone()),
        (vec![vec![], big(), big()], world.clone()),
        (vec![garbage(), garbage()], None),
        (vec![vec![], garbage()], world.clone()),
    ];
    session(&hostile, &cases, &mut [&mut server]);
    served(&ep, "Hello", &msg([b"World"]), &mut [&mut server]);
    assert_warned(&server);
    still_up_then_stop(&mut [&mut server]);
}

/// No defect found: hwserver4 answers only [identity][""][body] and drops the rest, logged.
#[test]
fn hwserver4_survives_hostile_requests() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("hwserver4"), &["--bind", &ep, "--work-ms", "0"]);
    let ctx = zmq::Context::new();
    let hostile = socket(&ctx, zmq::DEALER, &ep, false);
    let world = Some(msg([b"", b"World"]));
    let cases = [
        (msg([b""]), None),
        (msg([b"Hello"]), None),
        (msg([b"", b"Hello", b"extra"]), None),
        (msg([b"", b""]), world.clone()),
        (vec![vec![], big()], world.clone()),
        (vec![vec![], big(), big()], None),
        (vec![vec![], garbage()], world.clone()),
    ];
    session(&hostile, &cases, &mut [&mut server]);
    served(&ep, "Hello", &msg([b"World"]), &mut [&mut server]);
    assert_warned(&server);
    still_up_then_stop(&mut [&mut server]);
}

// ---- chapter 1: pipeline and publish-subscribe ----

/// Defect: a multipart task made taskwork exit 1 (before the library change it read each
/// part as a task of its own).
#[test]
fn taskwork_drops_hostile_tasks_and_keeps_working() {
    let (vent_ep, sink_ep) = (tcp_ep(), tcp_ep());
    let ctx = zmq::Context::new();
    let vent = socket(&ctx, zmq::PUSH, &vent_ep, true);
    let sink = socket(&ctx, zmq::PULL, &sink_ep, true);
    let mut worker = Proc::start(
        bin!("taskwork"),
        &["--ventilator", &vent_ep, "--sink", &sink_ep],
    );
    for task in [
        msg([b"10", b"20"]),
        msg([b""]),
        vec![big()],
        vec![big(), big()],
        vec![garbage()],
        msg([b"abc"]),
        msg([b"7"]),
    ] {
        send(&vent, &task, &mut [&mut worker]);
    }
    // The real task gives its result
    expect_msg(&sink, &msg([b""]), &mut [&mut worker]);
    assert_warned(&worker);
    still_up_then_stop(&mut [&mut worker]);
}

/// Defect: as taskwork, a multipart task made taskwork2 exit 1. It still obeys KILL.
#[test]
fn taskwork2_drops_hostile_tasks_and_still_obeys_kill() {
    let (vent_ep, sink_ep, ctl_ep) = (tcp_ep(), tcp_ep(), tcp_ep());
    let ctx = zmq::Context::new();
    let vent = socket(&ctx, zmq::PUSH, &vent_ep, true);
    let sink = socket(&ctx, zmq::PULL, &sink_ep, true);
    let controller = socket(&ctx, zmq::XPUB, &ctl_ep, true);
    let mut worker = Proc::start(
        bin!("taskwork2"),
        &[
            "--ventilator",
            &vent_ep,
            "--sink",
            &sink_ep,
            "--controller",
            &ctl_ep,
        ],
    );
    for task in [
        msg([b"10", b"20"]),
        msg([b""]),
        vec![big(), big()],
        vec![garbage()],
        msg([b"7"]),
    ] {
        send(&vent, &task, &mut [&mut worker]);
    }
    expect_msg(&sink, &msg([b""]), &mut [&mut worker]);
    expect_msg(&controller, &msg([b"\x01"]), &mut [&mut worker]);
    send(&controller, &msg([b"KILL"]), &mut [&mut worker]);
    worker.wait_success(WAIT);
}

/// A sink of `path`: hostile messages before and during a batch of three results.
fn sink_survives(path: &str, extra: &[&str]) {
    let ep = tcp_ep();
    let mut sink = Proc::start(
        path,
        &[&["--bind", ep.as_str(), "--tasks", "3"], extra].concat(),
    );
    let ctx = zmq::Context::new();
    let push = socket(&ctx, zmq::PUSH, &ep, false);
    let hostile = [
        msg([b"0", b"0"]),
        vec![big(), big()],
        vec![garbage(), vec![]],
    ];
    for m in hostile.iter().chain([&msg([b"0"])]).chain(&hostile) {
        send(&push, m, &mut [&mut sink]);
    }
    for _ in 0..3 {
        send(&push, &msg([b""]), &mut [&mut sink]);
    }
    let line = sink.expect("Total elapsed time", WAIT);
    assert!(line.starts_with(":..Total"), "{line}");
    sink.wait_success(WAIT);
    assert_warned(&sink);
}

/// Defect: a multipart message made tasksink exit 1 (before the library change each part
/// counted as a result).
#[test]
fn tasksink_drops_hostile_results_and_times_the_batch() {
    sink_survives(bin!("tasksink"), &[]);
}

/// Defect: as tasksink, a multipart message made tasksink2 exit 1.
#[test]
fn tasksink2_drops_hostile_results_and_times_the_batch() {
    sink_survives(bin!("tasksink2"), &["--controller", &tcp_ep()]);
}

/// Defect: a multipart update made wuclient exit 1.
#[test]
fn wuclient_drops_hostile_updates_and_averages_the_rest() {
    let ctx = zmq::Context::new();
    let ep = tcp_ep();
    let publisher = socket(&ctx, zmq::XPUB, &ep, true);
    let mut client = Proc::start(bin!("wuclient"), &["--connect", &ep, "--updates", "2"]);
    expect_msg(&publisher, &msg([b"\x0110001 "]), &mut [&mut client]);
    let big_update = [b"10001 ".to_vec(), big()].concat();
    let garbage_update = [b"10001 ".to_vec(), garbage()].concat();
    for update in [
        msg([b"10001 ", b"50 20"]),
        msg([b"10001 10 20", b"10001 10 20"]),
        vec![big_update],
        vec![garbage_update.clone(), garbage_update],
        msg([b"10001 50 20"]),
        msg([b"10001 70 20"]),
    ] {
        send(&publisher, &update, &mut [&mut client]);
    }
    let lines = client.lines_until_end(WAIT);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Average temperature for zipcode '10001 ' was 60F"),
        "{}",
        shown(&client)
    );
    client.wait_success(WAIT);
    assert_warned(&client);
}

/// Defect: a multipart synchronization request made syncpub exit 1.
#[test]
fn syncpub_answers_hostile_sync_requests_and_waits_for_a_real_subscriber() {
    let (pub_ep, sync_ep) = (tcp_ep(), tcp_ep());
    let mut publisher = Proc::start(
        bin!("syncpub"),
        &[
            "--publisher",
            &pub_ep,
            "--sync",
            &sync_ep,
            "--subscribers",
            "1",
            "--updates",
            "10",
        ],
    );
    publisher.expect("Waiting for subscribers", WAIT);
    let ctx = zmq::Context::new();
    let hostile = socket(&ctx, zmq::DEALER, &sync_ep, false);
    let bad = Some(msg([b"", BAD_REQUEST.as_bytes()]));
    let cases = [
        (msg([b""]), None),
        (msg([b"", b"sync", b"extra"]), bad.clone()),
        (vec![vec![], big(), big()], bad.clone()),
        (vec![vec![], garbage(), garbage()], bad),
    ];
    session(&hostile, &cases, &mut [&mut publisher]);
    // Not counted as subscribers: the publisher still waits for the real one
    let mut sub = Proc::start(
        bin!("syncsub"),
        &[
            "--publisher",
            &pub_ep,
            "--sync",
            &sync_ep,
            "--sleep-ms",
            "500",
        ],
    );
    assert_eq!(
        publisher.next_line(WAIT).as_deref(),
        Some("Broadcasting messages"),
        "{}",
        shown(&publisher)
    );
    assert_eq!(sub.lines_until_end(WAIT), ["Received 10 updates"]);
    sub.wait_success(WAIT);
    publisher.wait_success(WAIT);
    assert_warned(&publisher);
}

/// Defect: a multipart synchronization reply, or a multipart update, made syncsub exit 1.
#[test]
fn syncsub_takes_any_sync_reply_and_drops_hostile_updates() {
    let (pub_ep, sync_ep) = (tcp_ep(), tcp_ep());
    let ctx = zmq::Context::new();
    let publisher = socket(&ctx, zmq::XPUB, &pub_ep, true);
    let sync = socket(&ctx, zmq::REP, &sync_ep, true);
    let mut sub = Proc::start(
        bin!("syncsub"),
        &[
            "--publisher",
            &pub_ep,
            "--sync",
            &sync_ep,
            "--sleep-ms",
            "0",
        ],
    );
    expect_msg(&publisher, &msg([b"\x01"]), &mut [&mut sub]);
    recv(&sync, &mut [&mut sub]);
    send(&sync, &[garbage(), big()], &mut [&mut sub]);
    for update in [
        msg([b"Rhubarb", b"extra"]),
        vec![big(), big()],
        msg([b"END", b"not the end"]),
        msg([b"Rhubarb"]),
        msg([b"Rhubarb"]),
        msg([b"Rhubarb"]),
        msg([b"END"]),
    ] {
        send(&publisher, &update, &mut [&mut sub]);
    }
    assert_eq!(sub.lines_until_end(WAIT), ["Received 3 updates"]);
    sub.wait_success(WAIT);
    assert_warned(&sub);
}

// ---- chapter 2: brokers and workers ----

/// Defect: a multipart request made rrworker exit 1, as hwserver.
#[test]
fn rrworker_answers_hostile_requests_from_its_broker() {
    let ep = tcp_ep();
    let ctx = zmq::Context::new();
    let broker = socket(&ctx, zmq::DEALER, &ep, true);
    let mut worker = Proc::start(bin!("rrworker"), &["--connect", &ep, "--work-ms", "0"]);
    let mut cases = rep_cases(hello_answer);
    cases.push((msg([b"", b"Hello"]), Some(msg([b"", b"World"]))));
    session(&broker, &cases, &mut [&mut worker]);
    assert_warned(&worker);
    still_up_then_stop(&mut [&mut worker]);
}

/// A broker of `path` between a hostile client, a test worker that echoes (after sending
/// junk of its own) and a REQ client: every message goes through unchanged, junk included.
fn forwarding_broker_survives(path: &str) {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let mut broker = Proc::start(path, &["--frontend", &fe, "--backend", &be]);
    let ctx = zmq::Context::new();
    let worker = socket(&ctx, zmq::DEALER, &be, false);
    let client = ctx.socket(zmq::DEALER).unwrap();
    client.set_identity(b"H").unwrap();
    let client = attach(client, &fe, false);
    // Once the broker knows the client, the worker's junk goes to the frontend; all but the
    // last message are for nobody
    send(&client, &msg([b"ping"]), &mut [&mut broker]);
    expect_msg(&worker, &msg([b"H", b"ping"]), &mut [&mut broker]);
    for junk in [
        msg([b""]),
        vec![big()],
        vec![garbage(), garbage()],
        msg([b"nobody", b"", b"x"]),
        msg([b"H", b"", b"forged"]),
    ] {
        send(&worker, &junk, &mut [&mut broker]);
    }
    expect_msg(&client, &msg([b"", b"forged"]), &mut [&mut broker]);
    // The client's junk reaches the worker whole, and the echo comes back whole
    for request in [
        msg([b""]),
        msg([b"Hello"]),
        msg([b"", b"Hello", b"extra"]),
        vec![vec![], big(), big()],
        vec![garbage()],
    ] {
        send(&client, &request, &mut [&mut broker]);
        let got = [vec![b"H".to_vec()], request.clone()].concat();
        expect_msg(&worker, &got, &mut [&mut broker]);
        send(&worker, &got, &mut [&mut broker]);
        expect_msg(&client, &request, &mut [&mut broker]);
    }
    // And a REQ client is served
    let req = socket(&ctx, zmq::REQ, &fe, false);
    send(&req, &msg([b"Hello"]), &mut [&mut broker]);
    let got = recv(&worker, &mut [&mut broker]);
    send(&worker, &got, &mut [&mut broker]);
    expect_msg(&req, &msg([b"Hello"]), &mut [&mut broker]);
    still_up_then_stop(&mut [&mut broker]);
}

/// No defect found: rrbroker moves whole messages, whatever they hold.
#[test]
fn rrbroker_forwards_hostile_traffic_and_keeps_serving() {
    forwarding_broker_survives(bin!("rrbroker"));
}

/// No defect found: msgqueue's proxy moves whole messages, whatever they hold.
#[test]
fn msgqueue_forwards_hostile_traffic_and_keeps_serving() {
    forwarding_broker_survives(bin!("msgqueue"));
}

/// Defect: each multipart request killed one of mtserver's worker threads (quietly: a debug
/// line); once all were dead the server stayed up answering nobody.
#[test]
fn mtserver_answers_hostile_requests_without_losing_its_workers() {
    rep_server_survives(
        bin!("mtserver"),
        &["--workers", "2", "--work-ms", "0"],
        hello_answer,
        true,
    );
}

// ---- chapter 3: routing and load balancing ----

/// Defect (rtreq, rtdealer): the broker counted its `Fired!` replies, so a peer that asked
/// after the end was fired in place of a worker, and the broker stopped reading before its
/// own workers were fired, then waited for them for ever. Here its own worker points nowhere,
/// as a worker that has not asked yet: the broker must go on answering.
fn router_broker_fires_only_its_own_workers(path: &str) {
    let ep = tcp_ep();
    let nowhere = tcp_ep();
    let mut broker = Proc::start(
        path,
        &[
            "--bind",
            &ep,
            "--connect",
            &nowhere,
            "--workers",
            "1",
            "--duration-ms",
            "0",
        ],
    );
    let ctx = zmq::Context::new();
    let hostile = socket(&ctx, zmq::DEALER, &ep, false);
    let fired = Some(msg([b"", b"Fired!"]));
    let cases = [
        (msg([b"", b"Hi Boss"]), fired.clone()),
        (msg([b""]), fired.clone()),
        (vec![garbage()], fired.clone()),
        (vec![vec![], big(), big()], fired),
    ];
    session(&hostile, &cases, &mut [&mut broker]);
    served(&ep, "Hi Boss", &msg([b"Fired!"]), &mut [&mut broker]);
    still_up_then_stop(&mut [&mut broker]);
}

/// Defect: see `router_broker_fires_only_its_own_workers`.
#[test]
fn rtreq_fires_only_its_own_workers() {
    router_broker_fires_only_its_own_workers(bin!("rtreq"));
}

/// Defect: as rtreq.
#[test]
fn rtdealer_fires_only_its_own_workers() {
    router_broker_fires_only_its_own_workers(bin!("rtdealer"));
}

/// A load-balancing broker with one worker of its own: each of a hostile client's requests
/// gets an answer, then a REQ client must get `OK`.
fn lbbroker_survives(path: &str) {
    let (fe, be) = (tcp_ep(), tcp_ep());
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
            "1",
        ],
    );
    let ctx = zmq::Context::new();
    let hostile = socket(&ctx, zmq::DEALER, &fe, false);
    for request in [
        msg([b""]),
        msg([b"HELLO"]),
        msg([b"", b"HELLO", b"extra"]),
        msg([b"", b""]),
        vec![vec![], big()],
        vec![vec![], garbage(), garbage()],
    ] {
        // The worker answers whatever it gets (the envelope of the reply varies)
        send(&hostile, &request, &mut [&mut broker]);
        let reply = recv(&hostile, &mut [&mut broker]);
        assert!(
            reply.last().is_some_and(|f| f == b"OK"),
            "{} for {}\n{}",
            brief(&reply),
            brief(&request),
            shown(&broker)
        );
    }
    served(&fe, "HELLO", &msg([b"OK"]), &mut [&mut broker]);
    still_up_then_stop(&mut [&mut broker]);
}

/// Defect: a request without a body (a bare empty frame from a DEALER client) killed the
/// worker thread that got it, without a reply (a REQ socket must answer before it can
/// receive again); once every worker was dead the broker stayed up answering nobody.
#[test]
fn lbbroker_workers_answer_hostile_requests() {
    lbbroker_survives(bin!("lbbroker"));
}

/// No defect found: lbbroker2's workers answer whatever they get.
#[test]
fn lbbroker2_workers_answer_hostile_requests() {
    lbbroker_survives(bin!("lbbroker2"));
}

/// No defect found: lbbroker3's workers answer whatever they get.
#[test]
fn lbbroker3_workers_answer_hostile_requests() {
    lbbroker_survives(bin!("lbbroker3"));
}

// ---- chapter 4: the Pirates ----

/// No defect found: lpserver echoes whole messages.
#[test]
fn lpserver_echoes_hostile_requests_and_keeps_serving() {
    rep_server_survives(
        bin!("lpserver"),
        &["--work-ms", "0", "--reliable"],
        |body| body.to_vec(),
        false,
    );
}

/// No defect found: spworker echoes whole messages. A message without the empty delimiter
/// breaks libzmq's REQ protocol: the REQ socket closes that connection for good, and the
/// worker waits for work that cannot come, as it does when its queue restarts (the Simple
/// Pirate's known weakness, which the Paranoid Pirate's heartbeats cure); it must not crash,
/// and must still stop cleanly.
#[test]
fn spworker_echoes_hostile_requests_from_its_queue() {
    let be = tcp_ep();
    let ctx = zmq::Context::new();
    let queue = socket(&ctx, zmq::ROUTER, &be, true);
    queue
        .monitor(
            "inproc://spworker-queue",
            zmq::SocketEvent::DISCONNECTED as i32,
        )
        .unwrap();
    let events = socket(&ctx, zmq::PAIR, "inproc://spworker-queue", false);
    let mut worker = Proc::start(
        bin!("spworker"),
        &["--connect", &be, "--work-ms", "0", "--reliable"],
    );
    let ready = recv(&queue, &mut [&mut worker]);
    assert_eq!(ready[1..], msg([b"", b"\x01"]), "{}", brief(&ready));
    let id = ready[0].clone();
    let echoed = |body: Frames| {
        let request = [vec![id.clone(), vec![]], body].concat();
        (request.clone(), Some(request))
    };
    let cases = [
        echoed(msg([b"a", b"b"])),
        echoed(msg([b""])),
        echoed(vec![big(), big()]),
        echoed(vec![garbage()]),
        echoed(msg([b"client", b"", b"Hello"])),
    ];
    session(&queue, &cases, &mut [&mut worker]);
    // No delimiter: the worker's REQ socket drops the connection
    send(&queue, &[id.clone(), garbage()], &mut [&mut worker]);
    recv(&events, &mut [&mut worker]);
    still_up_then_stop(&mut [&mut worker]);
}

/// No defect found: ppworker echoes `[client][""][body...]`, answers heartbeats, and prints
/// `E: invalid message` for the rest.
#[test]
fn ppworker_echoes_requests_and_drops_hostile_messages_from_its_queue() {
    let be = tcp_ep();
    let ctx = zmq::Context::new();
    let queue = socket(&ctx, zmq::ROUTER, &be, true);
    let mut worker = Proc::start(
        bin!("ppworker"),
        &[
            "--connect",
            &be,
            "--work-ms",
            "0",
            "--reliable",
            "--heartbeat-ms",
            "60000",
        ],
    );
    let ready = recv(&queue, &mut [&mut worker]);
    assert_eq!(ready[1..], msg([b"\x01"]), "{}", brief(&ready));
    let id = ready[0].clone();
    for junk in [msg([b""]), msg([b"a", b"b"]), vec![big()], msg([b"", b""])] {
        send(
            &queue,
            &[vec![id.clone()], junk].concat(),
            &mut [&mut worker],
        );
        worker.expect("E: invalid message", WAIT);
    }
    let echoed = |body: Frames| {
        let request = [vec![id.clone()], body].concat();
        (request.clone(), Some(request))
    };
    let cases = [
        echoed(vec![garbage(), vec![], b"x".to_vec()]),
        echoed(vec![b"client".to_vec(), vec![], big(), big()]),
        echoed(msg([b"client", b"", b"Hello"])),
    ];
    session(&queue, &cases, &mut [&mut worker]);
    still_up_then_stop(&mut [&mut worker]);
}

/// A Pirate queue of `queue` with one real `worker` behind it: junk from a hostile worker
/// and a hostile client's requests, then a REQ client is served.
fn pirate_queue_survives(queue: &str, worker: &str, invalid_line: Option<&str>) {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let mut queue = Proc::start(queue, &["--frontend", &fe, "--backend", &be]);
    let mut worker = Proc::start(worker, &["--connect", &be, "--work-ms", "0", "--reliable"]);
    worker.expect("worker ready", WAIT);
    let ctx = zmq::Context::new();
    // A hostile worker: nothing it says is READY, a heartbeat or a reply
    let junk_worker = socket(&ctx, zmq::DEALER, &be, false);
    for junk in [
        msg([b""]),
        msg([b"", b"junk"]),
        vec![big()],
        vec![garbage(), garbage()],
    ] {
        send(&junk_worker, &junk, &mut [&mut queue, &mut worker]);
        if let Some(line) = invalid_line {
            queue.expect(line, WAIT);
        }
    }
    // A hostile client: what has no envelope is dropped, the rest is echoed by the worker
    let client = socket(&ctx, zmq::DEALER, &fe, false);
    let echoed = |request: Frames| (request.clone(), Some(request));
    let cases = [
        (msg([b""]), None),
        (msg([b"Hello"]), None),
        echoed(msg([b"", b"Hello", b"extra"])),
        echoed(msg([b"", b""])),
        echoed(vec![vec![], big(), big()]),
        echoed(vec![vec![], garbage()]),
    ];
    session(&client, &cases, &mut [&mut queue, &mut worker]);
    served(
        &fe,
        "Hello",
        &msg([b"Hello"]),
        &mut [&mut queue, &mut worker],
    );
    assert_warned(&queue);
    still_up_then_stop(&mut [&mut queue, &mut worker]);
}

/// No defect found: spqueue checks every message's shape.
#[test]
fn spqueue_drops_hostile_messages_and_keeps_serving() {
    pirate_queue_survives(bin!("spqueue"), bin!("spworker"), None);
}

/// No defect found: ppqueue checks every message's shape.
#[test]
fn ppqueue_drops_hostile_messages_and_keeps_serving() {
    pirate_queue_survives(
        bin!("ppqueue"),
        bin!("ppworker"),
        Some("E: invalid message from worker"),
    );
}
