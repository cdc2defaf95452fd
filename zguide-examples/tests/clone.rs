//! Chapter 5, the Clone pattern (spec 12/CHP), models one to six: the kvsimple and kvmsg
//! self-tests, clients whose maps end equal to their server's (compared through `--dump`), a
//! late joiner and a mid-stream joiner taking the snapshot, three clients updating one server
//! (on subtrees from model four, with values that expire from model five), a model six backup
//! taking over with every update once, and hostile peers on every socket a server reads.

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
    assert!(
        dump(&lines)
            .iter()
            .any(|l| l.starts_with("[seq:1][key:ok]"))
    );
}

// ---------------------------------------------------------------------------------------------
// Models Four and Five

/// A Clone server of model four or five on its own endpoints: (process, [snapshot, publisher,
/// collector]).
fn clone_server(bin: &str, extra: &[&str]) -> (Proc, [String; 3]) {
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
    let server = Proc::start(bin, &args);
    server.expect("I: clone server is active", WAIT);
    (server, eps)
}

/// A Clone client of model four or five on the server's endpoints, with `--dump`.
fn clone_client(bin: &str, eps: &[String; 3], extra: &[&str]) -> Proc {
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
    Proc::start(bin, &args)
}

/// Stops a client with SIGINT and returns its `--dump` lines.
fn client_dump(client: &mut Proc) -> Vec<String> {
    dump(&interrupt(client))
}

/// A kvmsg's five frames.
fn kvmsg_frames(key: &[u8], sequence: u64, props: &[u8], body: &[u8]) -> Msg {
    frames(&[key, &seq(sequence), b"", props, body])
}

#[test]
fn three_clonecli4_converge_with_clonesrv4_on_their_subtree() {
    let (mut server, eps) = clone_server(bin!("clonesrv4"), &[]);
    let ctx = zmq::Context::new();
    let push = socket(&ctx, zmq::PUSH);
    push.connect(&eps[2]).unwrap();
    // Keys outside the clients' subtree, and one inside it, before the clients join
    for key in ["/other/1", "/clientele", "/client/x"] {
        frames(&[key.as_bytes(), &seq(0), b"before"])
            .send(&push)
            .unwrap();
    }
    server.expect("I: publishing update     3", WAIT);
    // Three clients send 10 updates each, 300 ms apart; one more update outside their subtree
    // comes while they run. Update 34 is the last, and one of theirs.
    let extra = [
        "--interval-ms",
        "300",
        "--updates",
        "10",
        "--last",
        "34",
        "--keys",
        "20",
    ];
    let mut clients: Vec<Proc> = (0..3)
        .map(|_| clone_client(bin!("clonecli4"), &eps, &extra))
        .collect();
    for c in &clients {
        c.expect("I: received snapshot=3", WAIT);
    }
    server.expect("I: publishing update    10", WAIT);
    frames(&[b"/other/mid", &seq(0), b"during"])
        .send(&push)
        .unwrap();
    let mut dumps = Vec::new();
    for c in &mut clients {
        let lines = c.lines_until_end(WAIT);
        c.wait_success(WAIT);
        assert!(lines.contains(&"34 messages in".to_string()), "{lines:?}");
        dumps.push(dump(&lines));
    }
    server.expect("I: publishing update    34", WAIT);
    // A client that joins late gets its subtree in the snapshot
    let (status, late) = run_to_end(
        bin!("clonecli4"),
        &[
            "--snapshot",
            &eps[0],
            "--publisher",
            &eps[1],
            "--collector",
            &eps[2],
            "--updates",
            "0",
            "--last",
            "34",
            "--dump",
        ],
        WAIT,
    );
    assert!(status.success(), "{status:?} {late:?}");
    assert_eq!(late[..2], ["I: received snapshot=34", "34 messages in"]);
    dumps.push(dump(&late));
    server.expect("I: sending shapshot=34", WAIT);

    let server_lines = interrupt(&mut server);
    assert_eq!(server_lines[..2], [" Interrupted", "34 messages handled"]);
    let map = dump(&server_lines);
    for key in ["/other/1]", "/other/mid]", "/clientele]", "/client/x]"] {
        assert!(
            map.iter().any(|l| l.contains(&format!("[key:{key}"))),
            "{key} {map:?}"
        );
    }
    let subtree: Vec<String> = map
        .iter()
        .filter(|l| l.contains("][key:/client/"))
        .cloned()
        .collect();
    assert!(subtree.len() > 1, "{map:?}");
    for d in dumps {
        assert_eq!(
            d, subtree,
            "a client's map is not the server's /client/ subtree"
        );
    }
}

#[test]
fn clonesrv4_drops_malformed_updates_and_requests_and_still_serves() {
    let (mut server, eps) = clone_server(bin!("clonesrv4"), &["--max-bytes", "100000"]);
    let ctx = zmq::Context::new();
    let push = socket(&ctx, zmq::PUSH);
    push.connect(&eps[2]).unwrap();
    let big = big();
    let s = seq(0);
    let junk: Vec<Msg> = vec![
        frames(&[b"k"]),
        frames(&[b"k", &s]),
        frames(&[b"k", b"1234567", b"v"]),
        frames(&[&[b'k'; 256], &s, b"v"]),
        frames(&[b"\xff\xfe", &s, b"v"]),
        frames(&[b"k", &s, b"v", b"extra"]),
        kvmsg_frames(b"k", 0, b"", b"v"), // a kvmsg, not a kvsimple
        frames(&[b"/o/big", &s, &big]),   // no room in the map
        frames(&[&big]),
        frames(&[b""]),
    ];
    for msg in junk {
        msg.send(&push).unwrap();
    }
    frames(&[b"/o/ok", &s, b"1"]).send(&push).unwrap();
    frames(&[b"/p/ok", &s, b"2"]).send(&push).unwrap();
    assert_eq!(
        server.expect("I: publishing update", WAIT),
        "I: publishing update     1"
    );
    server.expect("I: publishing update     2", WAIT);
    server.expect_stderr("update dropped", WAIT);

    let dealer = socket(&ctx, zmq::DEALER);
    dealer.connect(&eps[0]).unwrap();
    for msg in [
        frames(&[b"ICANHAZ"]),
        frames(&[b"ICANHAZ?", b"/o"]),
        frames(&[b"ICANHAZ?", &big]),
        frames(&[b"ICANHAZ?", b"/o/", b"extra"]),
        frames(&[&big, &big]),
    ] {
        msg.send(&dealer).unwrap();
    }
    frames(&[b"ICANHAZ?", b"/o/"]).send(&dealer).unwrap();
    let texts = |m: Msg| -> Vec<Vec<u8>> { m.iter().map(|f| f.as_bytes().to_vec()).collect() };
    assert_eq!(
        texts(Msg::recv(&dealer).unwrap()),
        [b"/o/ok".to_vec(), seq(1).to_vec(), b"1".to_vec()]
    );
    assert_eq!(
        texts(Msg::recv(&dealer).unwrap()),
        [b"KTHXBAI".to_vec(), seq(2).to_vec(), b"/o/".to_vec()]
    );
    server.expect("I: sending shapshot=2", WAIT);
    server.expect_stderr("snapshot request dropped", WAIT);
    let server_lines = interrupt(&mut server);
    assert_eq!(server_lines[..2], [" Interrupted", "2 messages handled"]);
    assert_eq!(dump(&server_lines).len(), 2, "{server_lines:?}");
}

/// The sequence number in a line ending `=N` (`I: publishing update=N`).
fn number_after_eq(line: &str) -> u64 {
    line.rsplit('=').next().unwrap().parse().unwrap()
}

#[test]
fn three_clonecli5_converge_with_clonesrv5_and_expired_values_go_everywhere() {
    let (mut server, eps) = clone_server(bin!("clonesrv5"), &["--flush-ms", "100"]);
    // Each client sends 10 updates 100 ms apart, each living 0..2 s (0: for ever)
    let extra = [
        "--interval-ms",
        "100",
        "--updates",
        "10",
        "--max-ttl",
        "3",
        "--keys",
        "8",
    ];
    let mut clients: Vec<Proc> = (0..3)
        .map(|_| clone_client(bin!("clonecli5"), &eps, &extra))
        .collect();
    // A fourth client sets values that always live for ever (ttl 0..0) on keys of its own
    // (`/client/keep/N`), so some values are sure to last: with random ttls alone, every key's
    // last value expired in about one run in twenty and the map came out empty.
    let keeper = [
        "--interval-ms",
        "100",
        "--updates",
        "3",
        "--max-ttl",
        "1",
        "--keys",
        "8",
        "--subtree",
        "/client/keep/",
    ];
    let mut keeper = clone_client(bin!("clonecli5"), &eps, &keeper);
    keeper.expect("I: received snapshot=", WAIT);
    for c in &clients {
        c.expect("I: received snapshot=", WAIT);
    }
    let mut updates = 0;
    let mut last = 0;
    while updates < 33 {
        let line = server.expect("I: publishing ", WAIT);
        updates += usize::from(line.contains("update="));
        last = number_after_eq(&line);
    }
    // Every value with a ttl has expired 2.1 s after the last update: watch the deletes go
    let mut deletes = 0;
    for line in server.lines_for(std::time::Duration::from_millis(3500)) {
        assert!(line.contains("I: publishing delete="), "{line}");
        deletes += 1;
        last = number_after_eq(&line);
    }
    assert!(deletes > 0, "nothing expired");
    let want = format!("I: received update={last}");
    let mut dumps = Vec::new();
    for c in &mut clients {
        c.expect(&want, WAIT);
        dumps.push(client_dump(c));
    }
    let mut late = clone_client(bin!("clonecli5"), &eps, &["--updates", "0"]);
    late.expect(&format!("I: received snapshot={last}"), WAIT);
    dumps.push(client_dump(&mut late));

    let map = dump(&interrupt(&mut server));
    // ttl=0 values never expire (zguide #425: the guide's model six deleted them at once)
    assert!(
        map.iter().any(|l| l.contains("[key:/client/keep/")),
        "the lasting values are gone too: {map:?}"
    );
    interrupt(&mut keeper);
    for line in &map {
        assert!(
            line.contains(" [ttl=0;]"),
            "an expired value is left: {line}"
        );
    }
    for d in dumps {
        assert_eq!(d, map);
    }
}

#[test]
fn clonesrv5_drops_malformed_updates_and_requests_and_still_serves() {
    let (mut server, eps) = clone_server(
        bin!("clonesrv5"),
        &["--flush-ms", "100", "--max-bytes", "100000"],
    );
    let ctx = zmq::Context::new();
    let sub = socket(&ctx, zmq::SUB);
    sub.set_subscribe(b"").unwrap();
    sub.connect(&eps[1]).unwrap();
    let push = socket(&ctx, zmq::PUSH);
    push.connect(&eps[2]).unwrap();
    let big = big();
    let s = seq(0);
    let junk: Vec<Msg> = vec![
        frames(&[b"k"]),
        frames(&[b"k", &s, b"v"]), // a kvsimple, not a kvmsg
        frames(&[b"k", &s, b"", b""]),
        frames(&[b"k", &s, b"", b"", b"v", b"extra"]),
        frames(&[b"k", b"1234567", b"", b"", b"v"]),
        frames(&[b"k", &s, b"12345", b"", b"v"]), // a UUID of 5 bytes
        kvmsg_frames(b"k", 0, b"noequals\n", b"v"),
        kvmsg_frames(b"k", 0, b"=v\n", b"v"),
        kvmsg_frames(b"k", 0, b"a=\xff\n", b"v"),
        kvmsg_frames(b"k", 0, b"ttl=soon\n", b"v"),
        kvmsg_frames(b"k", 0, b"ttl=-1\n", b"v"),
        kvmsg_frames(&[b'k'; 256], 0, b"", b"v"),
        kvmsg_frames(b"\xff\xfe", 0, b"", b"v"),
        kvmsg_frames(b"k", 0, &big, b"v"),
        kvmsg_frames(b"big", 0, b"", &big), // no room in the map
        frames(&[&big]),
        frames(&[b""]),
    ];
    for msg in junk {
        msg.send(&push).unwrap();
    }
    kvmsg_frames(b"ok", 0, b"ttl=0\n", b"1")
        .send(&push)
        .unwrap();
    kvmsg_frames(b"brief", 0, b"ttl=1\n", b"2")
        .send(&push)
        .unwrap();
    let first = server.expect("I: publishing ", WAIT);
    assert!(first.ends_with("I: publishing update=1"), "{first}");
    server.expect("I: publishing update=2", WAIT);
    server.expect("I: publishing delete=3", WAIT);
    server.expect_stderr("update dropped", WAIT);
    server.expect_stderr("ttl property \"soon\"", WAIT);
    // On the wire: the two updates, then the delete (an empty body)
    let texts = |m: Msg| -> Vec<Vec<u8>> { m.iter().map(|f| f.as_bytes().to_vec()).collect() };
    let wire: Vec<Vec<Vec<u8>>> = (0..3).map(|_| texts(Msg::recv(&sub).unwrap())).collect();
    assert_eq!(wire[0], texts(kvmsg_frames(b"ok", 1, b"ttl=0\n", b"1")));
    assert_eq!(wire[1], texts(kvmsg_frames(b"brief", 2, b"ttl=1\n", b"2")));
    assert_eq!(wire[2], texts(kvmsg_frames(b"brief", 3, b"ttl=1\n", b"")));

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
    frames(&[b"ICANHAZ?", b""]).send(&dealer).unwrap();
    assert_eq!(
        texts(Msg::recv(&dealer).unwrap()),
        texts(kvmsg_frames(b"ok", 1, b"ttl=0\n", b"1"))
    );
    assert_eq!(
        texts(Msg::recv(&dealer).unwrap()),
        texts(kvmsg_frames(b"KTHXBAI", 3, b"", b""))
    );
    server.expect_stderr("snapshot request dropped", WAIT);

    // A normal client still gets the snapshot (its subtree: nothing) and its own update
    let mut client = clone_client(
        bin!("clonecli5"),
        &eps,
        &["--interval-ms", "100", "--updates", "1", "--last", "4"],
    );
    let lines = client.lines_until_end(WAIT);
    client.wait_success(WAIT);
    assert_eq!(
        lines[..3],
        [
            "I: received snapshot=3",
            "I: received update=4",
            "4 messages in"
        ]
    );
    server.expect("I: publishing update=4", WAIT);
    let map = dump(&interrupt(&mut server));
    assert_eq!(map.len(), 2, "{map:?}");
    assert!(map[0].starts_with("[seq:4][key:/client/"), "{map:?}");
    assert_eq!(map[1], "[seq:1][key:ok][size:1] [ttl=0;]31");
}

// ---------------------------------------------------------------------------------------------
// Model Six

/// A clonesrv6 pair on its own endpoints, heartbeat 200 ms: (primary, backup, [primary's
/// snapshot, publisher, collector], [the backup's]).
fn clonesrv6_pair() -> (Proc, Proc, [String; 3], [String; 3]) {
    let (p_state, b_state) = (tcp_ep(), tcp_ep());
    let p = [tcp_ep(), tcp_ep(), tcp_ep()];
    let b = [tcp_ep(), tcp_ep(), tcp_ep()];
    let start = |role: &str, state: [&String; 2], me: &[String; 3], peer: &[String; 3]| {
        Proc::start(
            bin!("clonesrv6"),
            &[
                role,
                "--statepub",
                state[0],
                "--statesub",
                state[1],
                "--snapshot",
                &me[0],
                "--publisher",
                &me[1],
                "--collector",
                &me[2],
                "--peer-snapshot",
                &peer[0],
                "--peer-publisher",
                &peer[1],
                "--heartbeat-ms",
                "200",
                "--flush-ms",
                "100",
                "--dump",
            ],
        )
    };
    let primary = start("-p", [&p_state, &b_state], &p, &b);
    let backup = start("-b", [&b_state, &p_state], &b, &p);
    (primary, backup, p, b)
}

/// A client update as the guide's clone agent sends it: a UUID and a `ttl`.
fn agent_update(key: &str, body: &str, ttl: &str) -> Msg {
    let mut kv = zmq_patterns::kvmsg::KvMsg::new(key, 0, body).unwrap();
    kv.set_uuid();
    kv.set_prop("ttl", ttl).unwrap();
    kv.into_msg()
}

#[test]
fn clonesrv6_backup_takes_over_with_every_update_once() {
    let (mut primary, mut backup, p, b) = clonesrv6_pair();
    primary.expect("ready active", WAIT);
    backup.expect("I: received snapshot=0", WAIT);
    // A raw client: one XPUB publishes to both collectors (it sees each subscribe, so nothing
    // is sent before both listen)
    let ctx = zmq::Context::new();
    let xpub = socket(&ctx, zmq::XPUB);
    xpub.set_xpub_verbose(true).unwrap(); // each subscribe, not the first only
    xpub.connect(&p[2]).unwrap();
    xpub.connect(&b[2]).unwrap();
    for _ in 0..2 {
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01");
    }
    for i in 0..10 {
        agent_update(&format!("/client/k{i}"), "v", "0")
            .send(&xpub)
            .unwrap();
    }
    primary.expect("I: publishing update=10", WAIT);
    backup.expect("I: received update=10", WAIT);

    // The primary dies; the client's next updates reach the backup alone, which holds them.
    // The first lives one second, and is over before the backup takes over.
    primary.kill();
    agent_update("/client/brief", "v", "1").send(&xpub).unwrap();
    for i in 0..4 {
        agent_update(&format!("/client/late{i}"), "v", "0")
            .send(&xpub)
            .unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(1300)); // the ttl of /client/brief

    // A client's snapshot request is a vote for the backup: once the primary has been silent
    // for two heartbeats, it takes over and answers
    let dealer = socket(&ctx, zmq::DEALER);
    dealer.set_rcvtimeo(500).unwrap();
    dealer.connect(&b[0]).unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    let first = loop {
        assert!(std::time::Instant::now() < deadline, "{}", backup.context());
        frames(&[b"ICANHAZ?", b""]).send(&dealer).unwrap();
        if let Ok(msg) = Msg::recv(&dealer) {
            break msg;
        }
    };
    backup.expect("failover successful, ready active", WAIT);
    for n in 11..=14 {
        backup.expect(&format!("I: publishing pending={n}"), WAIT);
    }
    let mut keys = Vec::new();
    let mut msg = first;
    loop {
        let texts: Vec<String> = msg.iter().map(|f| f.to_string_lossy()).collect();
        if texts[0] == "KTHXBAI" {
            assert_eq!(msg[1].as_bytes(), seq(14), "none lost, none applied twice");
            break;
        }
        keys.push((
            texts[0].clone(),
            u64::from_be_bytes(msg[1].as_bytes().try_into().unwrap()),
        ));
        msg = Msg::recv(&dealer).unwrap();
    }
    keys.sort_by_key(|(_, s)| *s);
    let mut want: Vec<(String, u64)> = (0..10).map(|i| (format!("/client/k{i}"), i + 1)).collect();
    want.extend((0..4).map(|i| (format!("/client/late{i}"), i + 11)));
    assert_eq!(keys, want);

    let lines = interrupt(&mut backup);
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("pending=15") || l.contains("brief")),
        "{lines:?}"
    );
    assert_eq!(dump(&lines).len(), 14, "{lines:?}");
}
