//! Chapter 3, "Worked Example: Inter-Broker Routing": the broker peering simulations
//! (peering1, peering2, peering3). Each test runs its brokers in a temporary directory, where
//! their default `ipc://<name>-....ipc` endpoints live.

mod common;
use common::*;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Parses a peering1 state line `<peer> - N workers free`.
fn state_line(line: &str) -> Option<(String, u32)> {
    let (peer, rest) = line.split_once(" - ")?;
    let n = rest.strip_suffix(" workers free")?.parse().ok()?;
    Some((peer.to_string(), n))
}

/// Starts `peering1 me peers...` in `dir`, publishing every 100 ms.
fn peering1(dir: &Path, me: &str, peers: &[&str]) -> Proc {
    let mut args = vec![me];
    args.extend_from_slice(peers);
    args.extend_from_slice(&["--interval-ms", "100"]);
    Proc::start_in(dir, bin!("peering1"), &args)
}

#[test]
fn peering1_three_brokers_hear_each_other() {
    let dir = TempDir::new("peering1");
    let names = ["DC1", "DC2", "DC3"];
    let mut brokers: Vec<Proc> = names
        .iter()
        .map(|me| {
            let peers: Vec<&str> = names.iter().copied().filter(|n| n != me).collect();
            peering1(dir.path(), me, &peers)
        })
        .collect();
    for (me, broker) in names.iter().zip(&brokers) {
        broker.expect(&format!("I: preparing broker at {me}..."), WAIT);
        // Three state lines from each peer: they keep publishing, and nobody starves.
        let mut heard: HashMap<String, u32> = HashMap::new();
        let deadline = Instant::now() + WAIT;
        while heard.len() < 2 || heard.values().any(|&n| n < 3) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = broker.expect_where(|_| true, "state lines from both peers", left);
            if line.starts_with("I: connecting to state backend at ") {
                continue;
            }
            let (peer, free) = state_line(&line)
                .unwrap_or_else(|| panic!("{me}: unexpected line {line:?}\n{}", broker.context()));
            assert!(free < 10, "{me}: {line:?}");
            assert!(
                peer != *me && names.contains(&peer.as_str()),
                "{me}: {line:?}"
            );
            *heard.entry(peer).or_default() += 1;
        }
    }
    for broker in &mut brokers {
        broker.stop_with(libc::SIGINT, WAIT);
    }
}

#[test]
fn peering1_publishes_name_and_count_and_drops_bad_states() {
    let dir = TempDir::new("peering1-wire");
    let ctx = zmq::Context::new();
    // A fake peer X: its state publisher, and a subscriber to A's state
    let x_state = ctx.socket(zmq::PUB).unwrap();
    x_state.set_linger(0).unwrap();
    x_state.bind(&dir.ipc("X-state.ipc")).unwrap();
    let mut a = peering1(dir.path(), "A", &["X"]);
    a.expect("I: connecting to state backend at 'X'", WAIT);
    let a_state = ctx.socket(zmq::SUB).unwrap();
    a_state.set_subscribe(b"").unwrap();
    a_state.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    a_state.connect(&dir.ipc("A-state.ipc")).unwrap();
    for _ in 0..3 {
        let msg = a_state.recv_multipart(0).expect("no state from A");
        assert_eq!(msg.len(), 2, "{msg:?}");
        assert_eq!(msg[0], b"A");
        let n: u32 = std::str::from_utf8(&msg[1]).unwrap().parse().unwrap();
        assert!(n < 10, "{msg:?}");
    }

    // Bad states around a good one, until A has printed two good ones
    let bad: Vec<Vec<&[u8]>> = vec![
        vec![b"X"],
        vec![b"X", b"many"],
        vec![b"X", b"3", b"extra"],
        vec![b"X", b"\xff\xfe"],
    ];
    let mut good = 0;
    let deadline = Instant::now() + WAIT;
    while good < 2 {
        assert!(Instant::now() < deadline, "no good state\n{}", a.context());
        for parts in &bad {
            x_state.send_multipart(parts.clone(), 0).unwrap();
        }
        x_state.send_multipart(["X", "7"], 0).unwrap();
        for line in a.lines_for(Duration::from_millis(100)) {
            assert_eq!(line, "X - 7 workers free", "{}", a.context());
            good += 1;
        }
    }
    a.stop_with(libc::SIGINT, WAIT);
}

/// Starts `peering2 me peers... extra...` in `dir`, with a stdin for its Enter prompt.
fn peering2(dir: &Path, me: &str, peers: &[&str], extra: &[&str]) -> Proc {
    let mut args = vec![me];
    args.extend_from_slice(peers);
    args.extend_from_slice(extra);
    Proc::spawn(bin!("peering2"), &args, &[], true, Some(dir))
}

/// Presses Enter and checks that the prompt's line ends there.
fn press_enter(broker: &mut Proc) {
    broker.write_stdin("\n");
    let line = broker.expect("Press Enter", WAIT);
    assert_eq!(line, "Press Enter when all brokers are started: ");
}

/// Reads a peering2 broker's lines until its clients have printed `replies` times
/// `Client: OK` and its workers `requests` times `Worker: [005] HELLO` (those for the other
/// broker's clients come when they come), then for a short while more; returns the number of
/// worker lines.
fn count_peering2(broker: &Proc, replies: usize, requests: usize) -> usize {
    let (mut clients, mut workers) = (0, 0);
    let mut count = |line: &str| {
        match line {
            "Client: OK" => clients += 1,
            "Worker: [005] HELLO" => workers += 1,
            _ => panic!("unexpected line {line:?}\n{}", broker.context()),
        }
        (clients, workers)
    };
    let deadline = Instant::now() + WAIT;
    let what = format!("{replies} client and {requests} worker lines");
    let mut seen = (0, 0);
    while seen.0 < replies || seen.1 < requests {
        let left = deadline.saturating_duration_since(Instant::now());
        seen = count(&broker.expect_where(|_| true, &what, left));
    }
    // Nothing announces that no more lines will come: this pause only catches late lines
    // that would be wrong (a request served twice), it waits for nothing the test needs.
    for line in broker.lines_for(Duration::from_millis(300)) {
        seen = count(&line);
    }
    assert_eq!(seen.0, replies, "{}", broker.context());
    seen.1
}

#[test]
fn peering2_routes_requests_through_the_cloud_both_ways() {
    let dir = TempDir::new("peering2");
    // A's clients ask 2 x 3 times, B's 3 x 4 times, and each broker sends every request of
    // its clients to the other: A's workers handle B's 12 requests, B's workers A's 6.
    let opts = |clients, requests| {
        vec![
            "--clients",
            clients,
            "--requests",
            requests,
            "--workers",
            "2",
            "--cloud-percent",
            "100",
            "--interval-ms",
            "10",
        ]
    };
    // Cloud endpoints by absolute path, so that the test can find their connections
    let cloud = format!("ipc://{}/{{}}-cloud.ipc", dir.path().display());
    let opts = |clients, requests| {
        [
            &["--cloud", cloud.as_str()][..],
            &opts(clients, requests)[..],
        ]
        .concat()
    };
    let mut a = peering2(dir.path(), "A", &["B"], &opts("2", "3"));
    let mut b = peering2(dir.path(), "B", &["A"], &opts("3", "4"));
    a.expect("I: preparing broker at A...", WAIT);
    a.expect("I: connecting to cloud frontend at 'B'", WAIT);
    b.expect("I: preparing broker at B...", WAIT);
    b.expect("I: connecting to cloud frontend at 'A'", WAIT);
    // Both are started. As the guide's user would, wait until their cloud backends are
    // connected (a broker started first retries every 100 ms), then press Enter: each cloud
    // frontend has accepted the other's backend, and the ZMTP handshake that follows in their
    // I/O threads is done long before the first request, which comes after Enter, a read of
    // stdin and the start of the broker's client and worker threads.
    for me in ["A", "B"] {
        let path = dir.path().join(format!("{me}-cloud.ipc"));
        assert!(
            wait_until(WAIT, || unix_accepted(&path) >= 1),
            "no cloud connection to {me}\n{}\n{}",
            a.context(),
            b.context()
        );
    }
    press_enter(&mut a);
    press_enter(&mut b);
    let a_workers = count_peering2(&a, 6, 12);
    let b_workers = count_peering2(&b, 12, 6);
    assert_eq!(
        (a_workers, b_workers),
        (12, 6),
        "each broker's workers should serve exactly the other's clients\n{}\n{}",
        a.context(),
        b.context()
    );
    a.stop_with(libc::SIGINT, WAIT);
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn peering2_alone_serves_its_clients_locally() {
    let dir = TempDir::new("peering2-alone");
    // No peers, stdin at its end (counts as Enter): all requests go to the local workers
    let mut a = Proc::start_in(
        dir.path(),
        bin!("peering2"),
        &[
            "A",
            "--clients",
            "3",
            "--requests",
            "2",
            "--interval-ms",
            "10",
        ],
    );
    a.expect("I: preparing broker at A...", WAIT);
    a.expect("Press Enter when all brokers are started: ", WAIT);
    assert_eq!(count_peering2(&a, 6, 6), 6);
    a.stop_with(libc::SIGTERM, WAIT);
}

/// A ROUTER standing in for peer broker X: identity `X`, reporting unroutable messages.
fn fake_peer(ctx: &zmq::Context) -> zmq::Socket {
    let s = ctx.socket(zmq::ROUTER).unwrap();
    s.set_linger(0).unwrap();
    s.set_identity(b"X").unwrap();
    s.set_router_mandatory(true).unwrap();
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s
}

/// Receives a multipart message or panics with the broker's output.
fn recv_parts(socket: &zmq::Socket, broker: &Proc) -> Vec<Vec<u8>> {
    socket
        .recv_multipart(0)
        .unwrap_or_else(|e| panic!("nothing from the broker: {e}\n{}", broker.context()))
}

/// Sends `parts` out of a ROUTER with ROUTER_MANDATORY, retrying until the peer is connected.
fn send_when_connected(socket: &zmq::Socket, parts: &[&[u8]], broker: &Proc) {
    let deadline = Instant::now() + WAIT;
    loop {
        match socket.send_multipart(parts.iter().copied(), 0) {
            Ok(()) => return,
            Err(zmq::Error::EHOSTUNREACH) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("cannot send: {e}\n{}", broker.context()),
        }
    }
}

#[test]
fn peering2_cloud_envelopes_on_the_wire() {
    let dir = TempDir::new("peering2-wire");
    let ctx = zmq::Context::new();
    // Peer X: its cloud frontend (A's cloud backend connects to it) and its cloud backend
    let x_front = fake_peer(&ctx);
    x_front.bind(&dir.ipc("X-cloud.ipc")).unwrap();
    let x_back = fake_peer(&ctx);
    x_back.connect(&dir.ipc("A-cloud.ipc")).unwrap();

    // A's one client asks twice, through the cloud; its one worker serves X
    let mut a = peering2(
        dir.path(),
        "A",
        &["X"],
        &[
            "--clients",
            "1",
            "--requests",
            "2",
            "--workers",
            "1",
            "--cloud-percent",
            "100",
            "--interval-ms",
            "10",
        ],
    );
    a.expect("I: connecting to cloud frontend at 'X'", WAIT);
    // X can route to A once the handshake of A's cloud backend is done on X's side, and by
    // then X's half of it is on its way to A: A's backend knows X long before A's first
    // request, which comes after Enter and the start of A's threads. A drops the probe (there
    // is no client "probe").
    send_when_connected(&x_front, &[b"A", b"probe"], &a);
    press_enter(&mut a);

    // A's requests: [A][client][""][HELLO]; replies go back in the same envelope. Before
    // each, replies A must drop: an empty one and one for a client it does not have.
    for _ in 0..2 {
        let request = recv_parts(&x_front, &a);
        assert_eq!(request.len(), 4, "{request:?}");
        assert_eq!(request[0], b"A");
        assert_eq!(
            request[1].len(),
            5,
            "a generated client identity: {request:?}"
        );
        assert_eq!(request[2], b"");
        assert_eq!(request[3], b"HELLO");
        x_front.send_multipart([&b"A"[..], b""], 0).unwrap();
        x_front
            .send_multipart([&b"A"[..], b"nobody", b"", b"OK"], 0)
            .unwrap();
        let reply: Vec<&[u8]> = vec![&request[0], &request[1], b"", b"OK"];
        x_front.send_multipart(reply, 0).unwrap();
        a.expect("Client: OK", WAIT);
    }

    // X's request to A: [A][client][""][HELLO] from X's backend; A's worker answers it
    send_when_connected(&x_back, &[b"A", b"C1", b"", b"HELLO"], &a);
    a.expect("Worker: [005] HELLO", WAIT);
    let reply = recv_parts(&x_back, &a);
    assert_eq!(reply, [&b"A"[..], b"C1", b"", b"OK"]);

    a.stop_with(libc::SIGINT, WAIT);
    let rest = a.lines_until_end(WAIT);
    assert!(rest.is_empty(), "{rest:?}");
    // The bad replies were logged, not routed
    let log = a.context();
    assert!(log.contains("empty reply from a peer dropped"), "{log}");
    assert!(log.contains("reply for [006] nobody dropped"), "{log}");
}

/// Starts `peering3 me peers... extra...` in `dir`.
fn peering3(dir: &Path, me: &str, peers: &[&str], extra: &[&str]) -> Proc {
    let mut args = vec![me];
    args.extend_from_slice(peers);
    args.extend_from_slice(extra);
    Proc::start_in(dir, bin!("peering3"), &args)
}

/// A task id line, `1F3A`.
fn is_task_id(line: &str) -> bool {
    line.len() == 4
        && line
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
}

/// Reads a peering3 broker's output until it has printed `n` task ids; panics on anything
/// else (a lost task in particular).
fn expect_tasks(broker: &Proc, n: usize) {
    let deadline = Instant::now() + WAIT;
    for _ in 0..n {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = broker.expect_where(|_| true, "task ids", left);
        assert!(is_task_id(&line), "{line:?}\n{}", broker.context());
    }
}

/// Fast clients and workers; a task is lost after 2 s.
const FAST: [&str; 10] = [
    "--pause-ms",
    "100",
    "--burst",
    "6",
    "--work-ms",
    "20",
    "--timeout-ms",
    "2000",
    "--heartbeat-ms",
    "100",
];

#[test]
fn peering3_two_brokers_share_tasks_and_lose_none() {
    let dir = TempDir::new("peering3");
    // B has workers and clients; A has clients only, so every task of A's goes to B
    let b_opts = [&FAST[..], &["--clients", "3", "--workers", "3"]].concat();
    let a_opts = [&FAST[..], &["--clients", "3", "--workers", "0"]].concat();
    let mut b = peering3(dir.path(), "B", &["A"], &b_opts);
    b.expect("I: preparing broker at B...", WAIT);
    b.expect("I: connecting to cloud frontend at 'A'", WAIT);
    b.expect("I: connecting to state backend at 'A'", WAIT);
    let mut a = peering3(dir.path(), "A", &["B"], &a_opts);
    a.expect("I: preparing broker at A...", WAIT);
    a.expect("I: connecting to cloud frontend at 'B'", WAIT);
    a.expect("I: connecting to state backend at 'B'", WAIT);

    // Tasks flow on both, A's through the cloud
    expect_tasks(&a, 20);
    expect_tasks(&b, 20);
    // and none is lost: for longer than a client waits, only task ids
    let window = Duration::from_millis(2500);
    for broker in [&a, &b] {
        let lines = broker.lines_for(window);
        assert!(
            lines.iter().filter(|l| is_task_id(l)).count() > 10,
            "{lines:?}"
        );
        assert!(lines.iter().all(|l| is_task_id(l)), "{lines:?}");
    }
    a.stop_with(libc::SIGINT, WAIT);
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn peering3_state_cloud_and_monitor_on_the_wire() {
    let dir = TempDir::new("peering3-wire");
    let ctx = zmq::Context::new();
    // Peer X: its state publisher and its cloud frontend
    let x_state = ctx.socket(zmq::PUB).unwrap();
    x_state.set_linger(0).unwrap();
    x_state.bind(&dir.ipc("X-state.ipc")).unwrap();
    let x_front = fake_peer(&ctx);
    x_front.set_rcvtimeo(50).unwrap();
    x_front.bind(&dir.ipc("X-cloud.ipc")).unwrap();

    // A has one client and no worker: its tasks can only go to X, once X says it is free
    let a_opts = [&FAST[..], &["--clients", "1", "--workers", "0"]].concat();
    let a = peering3(dir.path(), "A", &["X"], &a_opts);
    a.expect("I: connecting to state backend at 'X'", WAIT);

    // A's state: [A][0], repeated although it does not change
    let a_state = ctx.socket(zmq::SUB).unwrap();
    a_state.set_subscribe(b"").unwrap();
    a_state.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    a_state.connect(&dir.ipc("A-state.ipc")).unwrap();
    for _ in 0..3 {
        assert_eq!(recv_parts(&a_state, &a), [&b"A"[..], b"0"]);
    }

    // X says it has a free worker (among bad state messages A must drop) until a task comes
    // in: [A][client][""][id]. Before each reply, two that A must drop.
    let bad: Vec<Vec<&[u8]>> = vec![
        vec![b"X"],
        vec![b"X", b"lots"],
        vec![b"Y", b"5"],
        vec![b"X", b"1", b"more"],
    ];
    let mut ids = Vec::new();
    let deadline = Instant::now() + WAIT;
    while ids.len() < 4 {
        assert!(
            Instant::now() < deadline,
            "no tasks from A\n{}",
            a.context()
        );
        for parts in &bad {
            x_state.send_multipart(parts.clone(), 0).unwrap();
        }
        x_state.send_multipart(["X", "1"], 0).unwrap();
        let Ok(task) = x_front.recv_multipart(0) else {
            continue;
        };
        assert_eq!(task.len(), 4, "{task:?}");
        assert_eq!(task[0], b"A");
        assert_eq!(task[1].len(), 5, "a generated client identity: {task:?}");
        assert_eq!(task[2], b"");
        let id = String::from_utf8(task[3].clone()).unwrap();
        assert!(is_task_id(&id), "{task:?}");
        if ids.len() == 3 {
            // The last one we never answer: A's client gives up and says so
            let line = a.expect("lost task", WAIT);
            assert_eq!(line, format!("E: CLIENT EXIT - lost task {id}"));
            break;
        }
        x_front.send_multipart([&b"A"[..], b""], 0).unwrap();
        x_front
            .send_multipart([&b"A"[..], b"nobody", b"", b"0000"], 0)
            .unwrap();
        x_front.send_multipart(task, 0).unwrap();
        let line = a.expect_where(|_| true, "the task id", WAIT);
        assert_eq!(line, id, "{}", a.context());
        ids.push(id);
    }
    let mut a = a;
    a.stop_with(libc::SIGINT, WAIT);
    let log = a.context();
    assert!(log.contains("empty reply from a peer dropped"), "{log}");
    assert!(log.contains("reply for [006] nobody dropped"), "{log}");
    assert!(
        log.contains("state message from unknown peer \"Y\""),
        "{log}"
    );
    assert!(log.contains("bad count \"lots\""), "{log}");
}
