//! Chapter 5, the Clone pattern (spec 12/CHP), models one to three: the kvsimple and kvmsg
//! self-tests, clients whose maps end equal to their server's (compared through `--dump`), a
//! late joiner and a mid-stream joiner taking the snapshot, three clients updating one server,
//! and hostile peers on every socket a server reads.

mod common;
use common::*;

use zmq_patterns::Msg;

/// The `--dump` lines among a program's output.
fn dump(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("[seq:"))
        .cloned()
        .collect()
}

/// A test socket of `kind`, linger 0, with send and receive deadlines.
fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
    s
}

/// Stops a server with SIGINT and returns what it prints from then on.
fn interrupt(server: &mut Proc) -> Vec<String> {
    server.signal(libc::SIGINT);
    let lines = server.lines_until_end(WAIT);
    server.wait_success(WAIT);
    lines
}

/// A 4 MB frame.
fn big() -> Vec<u8> {
    vec![0xA5; 4 << 20]
}

fn seq(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

fn frames(parts: &[&[u8]]) -> Msg {
    parts.iter().copied().collect()
}

// ---------------------------------------------------------------------------------------------
// The self-tests

#[test]
fn tstkvsimple_and_tstkvmsg_print_ok_and_clean_up() {
    let dir = TempDir::new("tstkv");
    for (bin, text) in [
        (bin!("tstkvsimple"), " * kvsimple: OK"),
        (bin!("tstkvmsg"), " * kvmsg: OK"),
    ] {
        let mut p = Proc::start_in(dir.path(), bin, &["-v"]);
        let lines = p.lines_until_end(WAIT);
        p.wait_success(WAIT);
        assert_eq!(lines, [text], "{bin}");
        assert!(
            !dir.path().join("kvmsg_selftest.ipc").exists(),
            "{bin} left its ipc file"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Model One

#[test]
fn clonecli1_stores_every_update_of_clonesrv1() {
    let ep = tcp_ep();
    let client = Proc::start(
        bin!("clonecli1"),
        &["--connect", &ep, "--count", "500", "--dump"],
    );
    // The client connects first; the server waits a second for it (the guide's 200 ms pause
    // against slow joiners, made generous for loaded machines) and sends fewer updates than a
    // PUB socket queues.
    let mut server = Proc::start(
        bin!("clonesrv1"),
        &[
            "--bind",
            &ep,
            "--count",
            "500",
            "--delay-ms",
            "1000",
            "--dump",
        ],
    );
    server.expect("I: clone server is active", WAIT);
    server.expect("I: 500 updates published", WAIT);
    let client_lines = client.lines_until_end(WAIT);
    assert_eq!(client_lines[0], "500 messages in", "{}", client.context());
    let server_lines = interrupt(&mut server);
    assert_eq!(server_lines[..2], [" Interrupted", "500 messages out"]);
    let map = dump(&server_lines);
    assert!(!map.is_empty() && map.len() <= 500);
    assert_eq!(dump(&client_lines), map);
}

#[test]
fn clonecli1_says_how_many_it_got_on_ctrl_c() {
    let ep = tcp_ep();
    let mut client = Proc::start(bin!("clonecli1"), &["--connect", &ep]);
    // Nothing announces that it waits; a signal before the handlers are in place would kill
    // it (and fail the test), so wait until it has connected to our listener first.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port_of(&ep))).unwrap();
    listener.set_nonblocking(true).unwrap();
    assert!(
        wait_until(WAIT, || listener.accept().is_ok()),
        "clonecli1 never connected\n{}",
        client.context()
    );
    let lines = interrupt(&mut client);
    assert_eq!(lines, [" Interrupted", "0 messages in"]);
}

// ---------------------------------------------------------------------------------------------
// Model Two

/// A clonesrv2 on its own endpoints: (process, snapshot endpoint, publisher endpoint).
fn clonesrv2(extra: &[&str]) -> (Proc, String, String) {
    let (snapshot, publisher) = (tcp_ep(), tcp_ep());
    let mut args = vec!["--snapshot", &snapshot, "--publisher", &publisher, "--dump"];
    args.extend_from_slice(extra);
    let server = Proc::start(bin!("clonesrv2"), &args);
    server.expect("I: clone server is active", WAIT);
    (server, snapshot, publisher)
}

#[test]
fn clonecli2_joining_late_gets_the_whole_state_in_its_snapshot() {
    let (mut server, snapshot, publisher) = clonesrv2(&["--count", "300"]);
    server.expect("I: 300 updates published", WAIT);
    let (status, lines) = run_to_end(
        bin!("clonecli2"),
        &[
            "--snapshot",
            &snapshot,
            "--publisher",
            &publisher,
            "--last",
            "300",
            "--dump",
        ],
        WAIT,
    );
    assert!(status.success(), "{status:?} {lines:?}");
    assert_eq!(lines[0], "Received snapshot=300");
    server.expect("Sending state shapshot=300", WAIT);
    let server_lines = interrupt(&mut server);
    assert_eq!(server_lines[..2], [" Interrupted", "300 messages out"]);
    assert!(!dump(&server_lines).is_empty());
    assert_eq!(dump(&lines), dump(&server_lines));
}

#[test]
fn clonecli2_joining_mid_stream_applies_the_newer_updates() {
    let (mut server, snapshot, publisher) =
        clonesrv2(&["--count", "400", "--interval-ms", "5", "--keys", "50"]);
    let mut client = Proc::start(
        bin!("clonecli2"),
        &[
            "--snapshot",
            &snapshot,
            "--publisher",
            &publisher,
            "--last",
            "400",
            "--dump",
        ],
    );
    let received = client.expect("Received snapshot=", WAIT);
    let at: u64 = received["Received snapshot=".len()..].parse().unwrap();
    let lines = client.lines_until_end(WAIT);
    client.wait_success(WAIT);
    server.expect("I: 400 updates published", WAIT);
    let server_lines = interrupt(&mut server);
    assert!(at < 400, "the snapshot came after the last update: {at}");
    assert_eq!(dump(&lines), dump(&server_lines));
}

#[test]
fn clonesrv2_drops_malformed_requests_and_still_serves() {
    let (mut server, snapshot, publisher) = clonesrv2(&["--count", "50"]);
    server.expect("I: 50 updates published", WAIT);
    let ctx = zmq::Context::new();
    let dealer = socket(&ctx, zmq::DEALER);
    dealer.connect(&snapshot).unwrap();
    let big = big();
    let junk: Vec<Msg> = vec![
        frames(&[b"ICANHAZ"]),
        frames(&[b"icanhaz?"]),
        frames(&[b"ICANHAZ?", b"garbage"]),
        frames(&[b"ICANHAZ?", b"/a//"]),
        frames(&[b"ICANHAZ?", b"/x/", b"extra"]),
        frames(&[b"ICANHAZ?", &big]),
        frames(&[&big]),
        frames(&[b"\x00\xff\xfe", b"\x01"]),
        frames(&[b""]),
    ];
    for msg in junk {
        msg.send(&dealer).unwrap();
    }
    // Had any of the junk been answered, its snapshot would come first
    frames(&[b"ICANHAZ?", b"/marker/"]).send(&dealer).unwrap();
    let reply = Msg::recv(&dealer).unwrap();
    let texts: Vec<String> = reply.iter().map(|f| f.to_string_lossy()).collect();
    assert_eq!(texts[0], "KTHXBAI", "{texts:?}");
    assert_eq!(reply[1].as_bytes(), seq(50));
    assert_eq!(texts[2], "/marker/", "KTHXBAI carries the subtree");
    server.expect_stderr("snapshot request dropped", WAIT);

    let (status, lines) = run_to_end(
        bin!("clonecli2"),
        &[
            "--snapshot",
            &snapshot,
            "--publisher",
            &publisher,
            "--last",
            "50",
            "--dump",
        ],
        WAIT,
    );
    assert!(status.success(), "{status:?} {lines:?}");
    assert_eq!(lines[0], "Received snapshot=50");
    let server_lines = interrupt(&mut server);
    assert_eq!(dump(&lines), dump(&server_lines));
}

// ---------------------------------------------------------------------------------------------
// Model Three

/// A clonesrv3 on its own endpoints: (process, [snapshot, publisher, collector]).
fn clonesrv3(extra: &[&str]) -> (Proc, [String; 3]) {
    let eps = [tcp_ep(), tcp_ep(), tcp_ep()];
    let mut args = vec![
        "--snapshot",
        &eps[0],
        "--publisher",
        &eps[1],
        "--collector",
        &eps[2],
        "--dump",
    ];
    args.extend_from_slice(extra);
    let server = Proc::start(bin!("clonesrv3"), &args);
    server.expect("I: clone server is active", WAIT);
    (server, eps)
}

fn clonecli3(eps: &[String; 3], extra: &[&str]) -> Proc {
    let mut args = vec![
        "--snapshot",
        &eps[0],
        "--publisher",
        &eps[1],
        "--collector",
        &eps[2],
        "--dump",
    ];
    args.extend_from_slice(extra);
    Proc::start(bin!("clonecli3"), &args)
}

#[test]
fn three_clonecli3_converge_with_clonesrv3() {
    let (mut server, eps) = clonesrv3(&[]);
    // Each client sends 10 updates, the first 300 ms after its snapshot, so all three have
    // subscribed before the first update is published; each ends once update 30 is applied.
    let extra = [
        "--interval-ms",
        "300",
        "--updates",
        "10",
        "--last",
        "30",
        "--keys",
        "20",
    ];
    let mut clients: Vec<Proc> = (0..3).map(|_| clonecli3(&eps, &extra)).collect();
    for c in &clients {
        c.expect("I: received snapshot=", WAIT);
    }
    let mut dumps = Vec::new();
    for c in &mut clients {
        let lines = c.lines_until_end(WAIT);
        c.wait_success(WAIT);
        assert!(
            lines.contains(&"I: received update=30".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"30 messages in".to_string()), "{lines:?}");
        dumps.push(dump(&lines));
    }
    server.expect("I: publishing update    30", WAIT);
    let server_lines = interrupt(&mut server);
    assert_eq!(server_lines[..2], [" Interrupted", "30 messages handled"]);
    let map = dump(&server_lines);
    assert!(!map.is_empty());
    for d in dumps {
        assert_eq!(d, map);
    }
}

#[test]
fn clonesrv3_drops_malformed_updates_and_requests_and_still_serves() {
    let (mut server, eps) = clonesrv3(&["--max-bytes", "100000"]);
    let ctx = zmq::Context::new();
    let push = socket(&ctx, zmq::PUSH);
    push.connect(&eps[2]).unwrap();
    let big = big();
    let long_key = vec![b'k'; 256];
    let s = seq(0);
    let junk: Vec<Msg> = vec![
        frames(&[b"k"]),
        frames(&[b"k", &s]),
        frames(&[b"k", b"1234567", b"v"]),
        frames(&[b"k", b"123456789", b"v"]),
        frames(&[&long_key, &s, b"v"]),
        frames(&[b"\xff\xfe", &s, b"v"]),
        frames(&[b"k", &s, b"v", b"extra"]),
        frames(&[b"k", &s, b"", b"", b"v"]), // a kvmsg, not a kvsimple
        frames(&[b"big", &s, &big]),         // no room in the map
        frames(&[&big]),
        frames(&[b""]),
    ];
    for msg in junk {
        msg.send(&push).unwrap();
    }
    frames(&[b"ok", &s, b"1"]).send(&push).unwrap();
    // The first update published is the good one, numbered 1
    let line = server.expect("I: publishing update", WAIT);
    assert_eq!(line, "I: publishing update     1");
    server.expect_stderr("update dropped", WAIT);

    let dealer = socket(&ctx, zmq::DEALER);
    dealer.connect(&eps[0]).unwrap();
    for msg in [
        frames(&[b"ICANHAZ"]),
        frames(&[b"ICANHAZ?", b"nope"]),
        frames(&[b"ICANHAZ?", &big]),
        frames(&[&big, &big]),
    ] {
        msg.send(&dealer).unwrap();
    }
    frames(&[b"ICANHAZ?"]).send(&dealer).unwrap();
    let texts = |m: Msg| -> Vec<Vec<u8>> { m.iter().map(|f| f.as_bytes().to_vec()).collect() };
    assert_eq!(
        texts(Msg::recv(&dealer).unwrap()),
        [b"ok".to_vec(), seq(1).to_vec(), b"1".to_vec()]
    );
    assert_eq!(
        texts(Msg::recv(&dealer).unwrap()),
        [b"KTHXBAI".to_vec(), seq(1).to_vec(), Vec::new()]
    );

    // A normal client still gets the snapshot and the next update
    let mut client = clonecli3(
        &eps,
        &["--interval-ms", "100", "--updates", "1", "--last", "2"],
    );
    let lines = client.lines_until_end(WAIT);
    client.wait_success(WAIT);
    assert_eq!(
        lines[..3],
        [
            "I: received snapshot=1",
            "I: received update=2",
            "2 messages in"
        ]
    );
    let server_lines = interrupt(&mut server);
    assert_eq!(dump(&lines), dump(&server_lines));
    assert!(dump(&lines)
        .iter()
        .any(|l| l.starts_with("[seq:1][key:ok]")));
}
