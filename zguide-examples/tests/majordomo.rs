//! Chapter 4, Majordomo: mdbroker, mdworker, mdclient, mdclient2, mmiecho and tripping, run as
//! real processes on test-owned endpoints: counts, service discovery, a worker killed mid-request,
//! a broker restarted under load, a flood of malformed messages, and clean exits on signals.

mod common;
use common::*;

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use zmq_patterns::{Msg, mdp};

/// Starts `mdbroker` on `ep` and waits for its ready line, which it checks.
fn broker(ep: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["--bind", ep];
    args.extend_from_slice(extra);
    let p = Proc::start(bin!("mdbroker"), &args);
    let line = p.expect("MDP broker", WAIT);
    let want = format!(" I: MDP broker/0.2.0 is active at {ep}");
    // `YY-MM-DD HH:MM:SS` then the guide's text
    assert!(
        line.len() == 17 + want.len()
            && line.ends_with(&want)
            && line[..17].chars().enumerate().all(|(i, c)| match i {
                2 | 5 => c == '-',
                8 => c == ' ',
                11 | 14 => c == ':',
                _ => c.is_ascii_digit(),
            }),
        "{line:?}"
    );
    p
}

fn worker(ep: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["--connect", ep];
    args.extend_from_slice(extra);
    Proc::start(bin!("mdworker"), &args)
}

/// Asks the broker's `mmi.service` about `service` from the test itself.
fn lookup(ep: &str, service: &str) -> Option<String> {
    lookup_within(ep, service, 500)
}

fn lookup_within(ep: &str, service: &str, timeout_ms: i64) -> Option<String> {
    let ctx = zmq::Context::new();
    let mut client = mdp::Client::new(&ctx, ep).unwrap();
    client.set_timeout(Duration::from_millis(timeout_ms as u64));
    client.set_retries(1);
    client
        .send("mmi.service", Msg::from_iter([service]))
        .ok()
        .and_then(|reply| reply.front().and_then(|f| f.as_str().map(String::from)))
}

/// Waits until the broker has a worker for `service`.
fn wait_for_service(ep: &str, service: &str) {
    assert!(
        wait_until(WAIT, || lookup(ep, service).as_deref() == Some("200")),
        "no {service} worker registered"
    );
}

/// Runs a client binary to its end and returns (exit status, last stdout line).
fn client(name: &str, ep: &str, extra: &[&str]) -> (std::process::ExitStatus, String, Proc) {
    let path = match name {
        "mdclient" => bin!("mdclient"),
        "mdclient2" => bin!("mdclient2"),
        "mmiecho" => bin!("mmiecho"),
        other => panic!("not a client: {other}"),
    };
    let mut args = vec!["--connect", ep];
    args.extend_from_slice(extra);
    let mut p = Proc::start(path, &args);
    let lines = p.lines_until_end(WAIT);
    let status = p.wait(WAIT);
    let last = lines.last().cloned().unwrap_or_default();
    (status, last, p)
}

/// Waits for `text` in what `p` printed (its stderr is read by a thread of its own, which may
/// lag behind the end of its stdout).
fn assert_context_shows(p: &Proc, text: &str) {
    assert!(
        wait_until(WAIT, || p.context().contains(text)),
        "no {text:?}\n{}",
        p.context()
    );
}

/// Runs mdclient and asserts every request was answered.
fn mdclient_completes(ep: &str, requests: u32, extra: &[&str]) {
    let n = requests.to_string();
    let mut args = vec!["--requests", n.as_str()];
    args.extend_from_slice(extra);
    let (status, last, p) = client("mdclient", ep, &args);
    assert_eq!(
        last,
        format!("{requests} requests/replies processed"),
        "{}",
        p.context()
    );
    assert!(status.success(), "{status:?}\n{}", p.context());
}

/// Counts the requests each verbose mdworker printed until `total` are accounted for (each
/// `Hello world` body shows up twice: in the request it received and in the reply it sent).
fn served(workers: &[&Proc], total: usize) -> Vec<usize> {
    let mut bodies = vec![0; workers.len()];
    let deadline = Instant::now() + WAIT;
    while bodies.iter().sum::<usize>() < 2 * total && Instant::now() < deadline {
        for (n, w) in bodies.iter_mut().zip(workers) {
            while let Some(line) = w.next_line(Duration::from_millis(10)) {
                *n += usize::from(line == "[011] Hello world");
            }
        }
    }
    bodies.iter().map(|n| n / 2).collect()
}

#[test]
fn mdclient_through_one_then_two_workers() {
    let ep = tcp_ep();
    let mut b = broker(&ep, &["-v"]);
    let mut w1 = worker(&ep, &["-v"]);
    // the broker queues the requests until the worker has registered: no wait needed
    mdclient_completes(&ep, 200, &[]);
    assert_eq!(served(&[&w1], 200), [200]);

    let mut w2 = worker(&ep, &["-v"]);
    b.expect("mdp broker: registering new worker", WAIT); // w1
    b.expect("mdp broker: registering new worker", WAIT); // w2: both share the next requests
    mdclient_completes(&ep, 300, &[]);
    let s = served(&[&w1, &w2], 300);
    let (s1, s2) = (s[0], s[1]);
    assert_eq!(s1 + s2, 300, "{s1} + {s2}");
    assert!(s1 > 50 && s2 > 50, "LRU should share the work: {s1} / {s2}");

    w1.stop_with(libc::SIGINT, WAIT);
    w2.stop_with(libc::SIGTERM, WAIT);
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn mdclient2_through_one_then_two_workers() {
    let ep = tcp_ep();
    let mut b = broker(&ep, &[]);
    let mut w1 = worker(&ep, &[]);
    let (status, last, p) = client("mdclient2", &ep, &["--requests", "500"]);
    assert_eq!(last, "500 replies received", "{}", p.context());
    assert!(status.success());

    let mut w2 = worker(&ep, &[]);
    let (status, last, p) = client("mdclient2", &ep, &["--requests", "2000"]);
    assert_eq!(last, "2000 replies received", "{}", p.context());
    assert!(status.success());

    w1.stop_with(libc::SIGINT, WAIT);
    w2.stop_with(libc::SIGINT, WAIT);
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn mmiecho_says_200_with_a_worker_and_404_without() {
    let ep = tcp_ep();
    let mut b = broker(&ep, &[]);
    let (status, last, _) = client("mmiecho", &ep, &[]);
    assert_eq!(last, "Lookup echo service: 404");
    assert!(status.success());

    let mut w = worker(&ep, &[]);
    wait_for_service(&ep, "echo");
    let (status, last, _) = client("mmiecho", &ep, &[]);
    assert_eq!(last, "Lookup echo service: 200");
    assert!(status.success());
    let (_, last, _) = client("mmiecho", &ep, &["--service", "nothing"]);
    assert_eq!(last, "Lookup nothing service: 404");

    // a worker stopped with Ctrl-C says DISCONNECT: the service is gone at once
    w.stop_with(libc::SIGINT, WAIT);
    let (_, last, _) = client("mmiecho", &ep, &["--timeout-ms", "1000"]);
    assert_eq!(last, "Lookup echo service: 404");
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn mmiecho_without_a_broker_says_so_and_fails() {
    let ep = tcp_ep(); // nobody there
    let start = Instant::now();
    let (status, last, p) = client("mmiecho", &ep, &["--timeout-ms", "100", "--retries", "2"]);
    assert_eq!(
        last,
        "E: no response from broker, make sure it's running",
        "{}",
        p.context()
    );
    assert_eq!(status.code(), Some(1));
    assert_context_shows(&p, "error: no reply from the broker at");
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "two tries of 100 ms"
    );
}

#[test]
fn a_service_without_workers_is_404_and_its_requests_time_out() {
    let ep = tcp_ep();
    let mut b = broker(&ep, &[]);
    let _w = worker(&ep, &[]);
    wait_for_service(&ep, "echo");
    let (_, last, _) = client("mmiecho", &ep, &["--service", "nothing"]);
    assert_eq!(last, "Lookup nothing service: 404");

    // The broker queues the request for a worker that never comes; the client gives up after
    // its tries (spec 7/MDP: the client, not the broker, handles the timeout).
    let start = Instant::now();
    let (status, last, p) = client(
        "mdclient",
        &ep,
        &[
            "--service",
            "nothing",
            "--requests",
            "3",
            "--timeout-ms",
            "300",
            "--retries",
            "2",
        ],
    );
    assert_eq!(last, "0 requests/replies processed", "{}", p.context());
    assert_eq!(status.code(), Some(1), "{}", p.context());
    assert_context_shows(&p, "error: no reply from service nothing after 2 tries");
    assert!(start.elapsed() >= Duration::from_millis(600));

    // likewise for the asynchronous client
    let (status, last, p) = client(
        "mdclient2",
        &ep,
        &[
            "--service",
            "nothing",
            "--requests",
            "3",
            "--timeout-ms",
            "300",
        ],
    );
    assert_eq!(last, "0 replies received", "{}", p.context());
    assert_eq!(status.code(), Some(1));

    // and echo still works beside it
    mdclient_completes(&ep, 10, &[]);
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn a_worker_killed_mid_request_costs_a_retry_not_a_request() {
    let ep = tcp_ep();
    let hb = ["--heartbeat-ms", "500"];
    let _b = broker(&ep, &hb);
    let mut a = worker(&ep, &hb);
    wait_for_service(&ep, "echo");
    let _second = worker(&ep, &hb);
    // Freeze A: it is the longest-waiting worker, so the client's first request goes to it
    // and sits there; then kill it for good while it holds that request.
    a.signal(libc::SIGSTOP);
    let mut c = Proc::start(
        bin!("mdclient"),
        &[
            "-v",
            "--connect",
            &ep,
            "--requests",
            "300",
            "--timeout-ms",
            "1000",
            "--retries",
            "3",
        ],
    );
    c.expect("mdp client: no reply from", WAIT);
    a.kill();
    c.expect_where(
        |l| l == "300 requests/replies processed",
        "the final count",
        WAIT,
    );
    c.wait_success(WAIT);
}

#[test]
fn workers_come_back_after_a_broker_restart_under_load() {
    let ep = tcp_ep();
    let hb = ["--heartbeat-ms", "200"];
    let wargs = ["-v", "--heartbeat-ms", "200", "--reconnect-ms", "200"];
    let b = broker(&ep, &hb);
    let w1 = worker(&ep, &wargs);
    let w2 = worker(&ep, &wargs);
    let mut c = Proc::start(
        bin!("mdclient"),
        &[
            "-v",
            "--connect",
            &ep,
            "--requests",
            "2000",
            "--timeout-ms",
            "500",
            "--retries",
            "10",
        ],
    );
    // under load: replies are coming; then the broker crashes and comes back
    for _ in 0..20 {
        c.expect("mdp client: received reply:", WAIT);
    }
    drop(b); // SIGKILL
    let mut b = broker(&ep, &hb);
    // each worker registers again on a new socket
    w1.expect("mdp worker: connecting to broker at", WAIT);
    w2.expect("mdp worker: connecting to broker at", WAIT);
    c.expect_where(
        |l| l == "2000 requests/replies processed",
        "the final count",
        WAIT,
    );
    c.wait_success(WAIT);
    assert_eq!(lookup(&ep, "echo").as_deref(), Some("200"));
    b.stop_with(libc::SIGTERM, WAIT);
}

/// Sets ZMQ_CONNECT_ROUTING_ID, which `zmq` 0.10 does not wrap: the name a connecting ROUTER
/// gives its peer, so that the test's ROUTER can address the broker's ROUTER.
fn set_connect_routing_id(socket: &mut zmq::Socket, id: &[u8]) {
    use std::os::raw::{c_int, c_void};
    unsafe extern "C" {
        fn zmq_setsockopt(s: *mut c_void, option: c_int, value: *const c_void, len: usize)
        -> c_int;
    }
    const ZMQ_CONNECT_ROUTING_ID: c_int = 61;
    // SAFETY: a live socket, a valid buffer of `len` bytes; libzmq copies it.
    let rc = unsafe {
        zmq_setsockopt(
            socket.as_mut_ptr(),
            ZMQ_CONNECT_ROUTING_ID,
            id.as_ptr().cast(),
            id.len(),
        )
    };
    assert_eq!(rc, 0, "zmq_setsockopt(ZMQ_CONNECT_ROUTING_ID)");
}

/// Wrong messages of every kind, as frames after the routing envelope a ROUTER adds.
fn junk(rng: &mut impl Rng) -> Vec<Vec<Vec<u8>>> {
    let f = |s: &[u8]| s.to_vec();
    let mut out: Vec<Vec<Vec<u8>>> = vec![
        vec![f(b"")],
        vec![f(b""), f(b"")],
        vec![f(b"hello")],
        vec![f(b""), f(b"MDPC01")],
        vec![f(b""), f(b"MDPC01"), f(b"echo")],
        vec![f(b""), f(b"MDPC01"), f(b""), f(b"")],
        vec![f(b""), f(b"MDPC02"), f(b"echo"), f(b"x")],
        vec![f(b""), f(b"mdpc01"), f(b"echo"), f(b"x")],
        vec![f(b""), f(b"MDPW01")],
        vec![f(b""), f(b"MDPW01"), f(b"")],
        vec![f(b""), f(b"MDPW01"), f(b"\x00")],
        vec![f(b""), f(b"MDPW01"), f(b"\x06")],
        vec![f(b""), f(b"MDPW01"), f(b"\x01\x01"), f(b"junk")],
        vec![f(b""), f(b"MDPW01"), f(b"\x01")],
        vec![f(b""), f(b"MDPW01"), f(b"\x01"), f(b"junk"), f(b"extra")],
        // a READY (for a service nobody asks for), then the same READY again
        vec![f(b""), f(b"MDPW01"), f(b"\x01"), f(b"junk")],
        vec![f(b""), f(b"MDPW01"), f(b"\x01"), f(b"junk")],
        vec![f(b""), f(b"MDPW01"), f(b"\x02"), f(b"C"), f(b""), f(b"x")],
        vec![f(b""), f(b"MDPW01"), f(b"\x03")],
        vec![f(b""), f(b"MDPW01"), f(b"\x03"), f(b"client")],
        vec![f(b""), f(b"MDPW01"), f(b"\x03"), f(b"client"), f(b"x")],
        vec![
            f(b""),
            f(b"MDPW01"),
            f(b"\x03"),
            f(b"client"),
            f(b""),
            f(b"r"),
        ],
        vec![f(b""), f(b"MDPW01"), f(b"\x04")],
        vec![f(b""), f(b"MDPW01"), f(b"\x04"), f(b"x")],
        vec![f(b""), f(b"MDPW01"), f(b"\x05")],
        vec![f(b""), f(b"MDPW01"), f(b"\x05"), f(b"x")],
        vec![f(b""), f(b"MDPW01"), f(b"\x01"), f(b"mmi.service")],
        vec![f(b""), f(b"MDPC01"), f(b"mmi.service")],
        vec![f(b""), f(b"MDPC01"), f(b"mmi.nothing"), f(b"echo")],
        vec![f(b""), f(b"MDPC01"), f(b"mmi."), f(b"")],
    ];
    // random bytes, random shapes
    for _ in 0..60 {
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
    // well-formed headers with random commands and bodies
    for _ in 0..40 {
        let command: u8 = rng.r#gen();
        let body: Vec<u8> = (0..rng.gen_range(0..20)).map(|_| rng.r#gen()).collect();
        out.push(vec![f(b""), f(b"MDPW01"), vec![command], body]);
    }
    out
}

#[test]
fn the_broker_survives_malformed_traffic_and_keeps_serving() {
    let ep = tcp_ep();
    let mut b = broker(&ep, &["-v"]);
    let ctx = zmq::Context::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);

    // a ROUTER peer: it names the broker "BROKER" and sends full envelopes of its own making
    let mut router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_linger(0).unwrap();
    router.set_identity(b"EVIL-ROUTER").unwrap();
    set_connect_routing_id(&mut router, b"BROKER");
    router.set_router_mandatory(true).unwrap();
    router.connect(&ep).unwrap();
    // a DEALER peer: the broker sees [dealer id][frames...]
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.connect(&ep).unwrap();
    // a REQ peer (relaxed, so that it can send without waiting for replies that never come):
    // the broker sees [req id][""][frames...]
    let req = ctx.socket(zmq::REQ).unwrap();
    req.set_linger(0).unwrap();
    req.set_req_relaxed(true).unwrap();
    req.connect(&ep).unwrap();
    // the ROUTER can send once it is connected (mandatory routing says when)
    let deadline = Instant::now() + WAIT;
    while let Err(e) = Msg::from_iter(["BROKER", ""]).send(&router) {
        assert_eq!(e.error.zmq(), Some(zmq::Error::EHOSTUNREACH));
        assert!(Instant::now() < deadline, "the ROUTER peer never connected");
        std::thread::sleep(Duration::from_millis(10));
    }

    let mut sent = 0;
    for round in 0..3 {
        for frames in junk(&mut rng) {
            // ROUTER: [BROKER][frames...] (the broker sees [EVIL-ROUTER][frames...])
            let mut m = Msg::from_iter(frames.iter().map(|f| f.as_slice()));
            m.push_front("BROKER");
            m.send(&router).unwrap();
            // DEALER: the frames as they are
            Msg::from_iter(frames.iter().map(|f| f.as_slice()))
                .send(&dealer)
                .unwrap();
            // REQ: the frames after the delimiter (skip a leading empty frame)
            let body: Vec<&[u8]> = match frames.split_first() {
                Some((first, rest)) if first.is_empty() && !rest.is_empty() => {
                    rest.iter().map(|f| f.as_slice()).collect()
                }
                _ => frames.iter().map(|f| f.as_slice()).collect(),
            };
            Msg::from_iter(body).send(&req).unwrap();
            sent += 3;
        }
        // a few oversized frames (4 MB), bare and inside would-be requests
        let big = vec![0xAB_u8; 4 << 20];
        let big = big.as_slice();
        Msg::from_iter([&b""[..], big]).send(&dealer).unwrap();
        Msg::from_iter([&b""[..], b"MDPW01", b"\x01", big])
            .send(&dealer)
            .unwrap();
        Msg::from_iter([&b"MDPC01"[..], big, b"x"])
            .send(&req)
            .unwrap();
        let mut m = Msg::from_iter([&b""[..], b"MDPW01", big]);
        m.push_front("BROKER");
        m.send(&router).unwrap();
        sent += 4;
        // and a burst of client requests for many made-up services
        for i in 0..50 {
            Msg::from_iter([
                "".to_string(),
                "MDPC01".into(),
                format!("junk-{round}-{i}"),
                "x".into(),
            ])
            .send(&dealer)
            .unwrap();
            sent += 1;
        }
    }
    assert!(sent > 500, "{sent}");
    // the broker (-v) dumps each message it reads: it read every one of them
    let (mut received, mut from_router) = (0, 0);
    let deadline = Instant::now() + WAIT;
    while received < sent && Instant::now() < deadline {
        if let Some(line) = b.next_line(Duration::from_millis(100)) {
            received += usize::from(line.ends_with(" T: mdp broker: received message:"));
            from_router += usize::from(line == "[011] EVIL-ROUTER");
        }
    }
    assert!(
        received >= sent,
        "read {received} of {sent}\n{}",
        b.context()
    );
    assert!(from_router > 100, "{from_router} from the ROUTER peer");
    // the broker read everything: a request sent after the junk is answered
    assert_eq!(lookup_within(&ep, "echo", 10_000).as_deref(), Some("404"));
    assert!(b.is_running(), "{}", b.context());

    let mut w = worker(&ep, &[]);
    mdclient_completes(&ep, 100, &[]);
    assert!(b.is_running(), "{}", b.context());
    assert!(!b.context().contains("panicked"), "{}", b.context());
    w.stop_with(libc::SIGINT, WAIT);
    b.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn mdbroker_says_goodbye_on_sigint_and_fails_on_a_busy_port() {
    let ep = tcp_ep();
    let mut b = broker(&ep, &[]);
    // a second broker on the same endpoint: `error: ...`, status 1
    let (status, _) = run_to_end(bin!("mdbroker"), &["--bind", &ep], WAIT);
    assert_eq!(status.code(), Some(1));
    b.signal(libc::SIGINT);
    b.expect("W: interrupt received, shutting down...", WAIT);
    b.wait_success(WAIT);
}

#[test]
fn clients_stop_cleanly_on_sigint_and_print_their_count() {
    let ep = tcp_ep();
    let _b = broker(&ep, &[]);
    // no worker: both clients wait for a reply that does not come
    // (-v: each prints a line once it is sending, so past its start-up)
    let args = ["-v", "--connect", &ep, "--requests", "5"];
    let mut c = Proc::start(bin!("mdclient"), &args);
    let mut c2 = Proc::start(bin!("mdclient2"), &args);
    c.expect("mdp client: send request to 'echo' service:", WAIT);
    c2.expect("mdp client: send request to 'echo' service:", WAIT);
    c.signal(libc::SIGINT);
    c2.signal(libc::SIGINT);
    let last = |p: &Proc| p.lines_until_end(WAIT).last().cloned().unwrap_or_default();
    assert_eq!(last(&c), "0 requests/replies processed", "{}", c.context());
    assert_eq!(last(&c2), "0 replies received", "{}", c2.context());
    c.wait_success(WAIT);
    c2.wait_success(WAIT);

    // mmiecho waiting for a broker that is not there
    let mut m = Proc::start(bin!("mmiecho"), &["-v", "--connect", &tcp_ep()]);
    m.expect("mdp client: send request to 'mmi.service' service:", WAIT);
    m.stop_with(libc::SIGINT, WAIT);
}

/// ` N calls/second` with N > 0.
fn rate(line: &str) -> u64 {
    line.strip_prefix(' ')
        .and_then(|l| l.strip_suffix(" calls/second"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a rate line: {line:?}"))
}

fn tripping_args(front: &str, back: &str) -> Vec<String> {
    vec![
        "--frontend".into(),
        front.into(),
        "--backend".into(),
        back.into(),
        "--client-connect".into(),
        front.into(),
        "--worker-connect".into(),
        back.into(),
    ]
}

#[test]
fn tripping_prints_both_rates() {
    let mut args = tripping_args(&tcp_ep(), &tcp_ep());
    args.extend(["--requests", "500", "--async-requests", "5000"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, lines) = run_to_end(bin!("tripping"), &args, WAIT);
    assert!(status.success(), "{lines:?}");
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0], "Setting up test...");
    assert_eq!(lines[1], "Synchronous round-trip test...");
    let sync = rate(&lines[2]);
    assert_eq!(lines[3], "Asynchronous round-trip test...");
    let asynchronous = rate(&lines[4]);
    assert!(sync > 0 && asynchronous > 0, "{lines:?}");
}

#[test]
fn tripping_stops_on_sigint() {
    let mut args = tripping_args(&tcp_ep(), &tcp_ep());
    args.extend(["--requests", "100000000"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = Proc::start(bin!("tripping"), &args);
    p.expect("Synchronous round-trip test...", WAIT);
    p.stop_with(libc::SIGINT, WAIT);
}

/// A worker that dies while it holds a request never heartbeats again. The guide's broker keeps
/// it (and its service) for ever, so `mmi.service` goes on answering 200; ours drops a busy
/// worker silent for ten expiry periods (mdbroker's busy timeout).
#[test]
fn a_worker_that_died_holding_a_request_is_forgotten() {
    let ep = tcp_ep();
    let hb = ["--heartbeat-ms", "100", "--liveness", "3"];
    let _b = broker(&ep, &hb);
    let mut a = worker(&ep, &["--heartbeat-ms", "100"]);
    wait_for_service(&ep, "echo");
    a.signal(libc::SIGSTOP);
    let (_, last, _) = client(
        "mdclient",
        &ep,
        &["--requests", "1", "--timeout-ms", "200", "--retries", "1"],
    );
    assert_eq!(last, "0 requests/replies processed"); // A holds it
    a.kill();
    // ten times the expiry (100 ms x 3) later, the broker should know that A is gone
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut answer = lookup(&ep, "echo");
    while answer.as_deref() != Some("404") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        answer = lookup(&ep, "echo");
    }
    assert_eq!(
        answer.as_deref(),
        Some("404"),
        "the dead worker is still registered"
    );
}

/// Requests for a service that has no workers must not use up a limit shared with the services
/// that do: `max_queued` is per service (and smaller for unserved ones), so a flood for a service
/// nobody serves leaves `echo` working. Shown with an embedded broker whose limit is 5.
#[test]
fn requests_nobody_serves_do_not_starve_other_services() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let ep = tcp_ep();
    let stop = Arc::new(AtomicBool::new(false));
    let (stop2, ep2) = (stop.clone(), ep.clone());
    let broker = std::thread::spawn(move || -> zmq_patterns::Result<()> {
        let ctx = zmq::Context::new();
        let config = mdp::BrokerConfig {
            heartbeat: Duration::from_millis(100),
            max_queued: 5,
            ..Default::default()
        };
        let mut broker = mdp::Broker::new(&ctx, config)?;
        broker.bind(&ep2)?;
        while !stop2.load(Ordering::SeqCst) {
            let mut poller = zmq_patterns::Poller::new();
            poller.add(broker.socket());
            if poller.poll(Some(Duration::from_millis(10)))? > 0 {
                let msg = Msg::recv(broker.socket())?;
                broker.handle(msg)?;
            }
            broker.tick()?;
        }
        Ok(())
    });
    let ctx = zmq::Context::new();
    let nobody = mdp::AsyncClient::new(&ctx, &ep).unwrap();
    for _ in 0..5 {
        nobody.send("nothing", Msg::from_iter(["x"])).unwrap();
    }
    // the five are queued once a lookup sent after them (on the same socket) is answered
    nobody
        .send("mmi.service", Msg::from_iter(["nothing"]))
        .unwrap();
    let answer = nobody
        .recv()
        .unwrap()
        .expect("the broker answers mmi.service");
    assert!(answer.front().is_some_and(|f| f == "404"), "{answer:?}");
    let _w = worker(&ep, &["--heartbeat-ms", "100"]);
    wait_for_service(&ep, "echo");
    // ten tries of 500 ms, long after any expiry based on the 100 ms heartbeat
    let mut client = mdp::Client::new(&ctx, &ep).unwrap();
    client.set_timeout(Duration::from_millis(500));
    client.set_retries(10);
    let reply = client.send("echo", Msg::from_iter(["Hello world"]));
    stop.store(true, Ordering::SeqCst);
    broker.join().unwrap().unwrap();
    assert!(
        reply.is_ok(),
        "echo starved by requests for a service nobody serves: {:?}",
        reply.err()
    );
}

/// Resident memory of a process in kB (`VmRSS` in `/proc/PID/status`).
fn rss_kb(p: &Proc) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"))
}

/// A DEALER peer of the test's own making (reconnecting fast: a broker may drop it).
fn raw_peer(ctx: &zmq::Context, ep: &str) -> zmq::Socket {
    let s = ctx.socket(zmq::DEALER).unwrap();
    s.set_linger(0).unwrap();
    s.set_reconnect_ivl(10).unwrap();
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s.connect(ep).unwrap();
    s
}

/// Sends a client request `[""][MDPC01][service][body]` from a DEALER.
fn raw_request(s: &zmq::Socket, service: &str, body: &[u8]) {
    let mut m = mdp::client_request(service, Msg::from_iter([body]));
    m.push_front(zmq_patterns::Frame::empty());
    m.send(s).unwrap();
}

/// Asks `mmi.service` about `service` on the DEALER `s` and returns the code; everything the
/// broker read from `s` before the lookup has been handled by then.
fn raw_lookup(s: &zmq::Socket, service: &str, timeout: Duration) -> String {
    raw_request(s, "mmi.service", service.as_bytes());
    let deadline = Instant::now() + timeout;
    loop {
        assert!(Instant::now() < deadline, "no answer to mmi.service");
        let Ok(m) = Msg::recv(s) else { continue };
        if let Ok((svc, body)) = mdp::parse_client_reply(m) {
            if svc == "mmi.service" {
                return body.back().map(|f| f.to_string_lossy()).unwrap_or_default();
            }
        }
    }
}

/// One client naming more services than the broker's table holds (10,000 by default), none of
/// which has a worker, must not lock real workers out: the guide's broker (and ours before)
/// answered their READY with DISCONNECT for as long as the requests sat there, for ever.
#[test]
fn a_flood_of_unknown_services_never_locks_out_a_worker() {
    let ep = tcp_ep();
    let mut b = broker(&ep, &[]);
    let ctx = zmq::Context::new();
    let client = raw_peer(&ctx, &ep);
    for i in 0..10_050 {
        raw_request(&client, &format!("unknown-{i}"), b"x");
    }
    assert_eq!(raw_lookup(&client, "unknown-0", WAIT), "404");
    // a real worker comes
    let worker = raw_peer(&ctx, &ep);
    mdp::FromWorker::Ready {
        service: "echo".into(),
    }
    .into_msg()
    .send(&worker)
    .unwrap();
    // READY and the lookups travel on two connections: ask until the worker is there
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut answer = raw_lookup(&client, "echo", WAIT);
    while answer != "200" && Instant::now() < deadline {
        if let Ok(Some(m)) = Msg::try_recv(&worker) {
            let command = mdp::ToWorker::parse(m);
            assert!(
                !matches!(command, Ok(mdp::ToWorker::Disconnect)),
                "the worker's READY got DISCONNECT: the service table is full"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
        answer = raw_lookup(&client, "echo", WAIT);
    }
    assert_eq!(answer, "200", "the worker is not registered");
    raw_request(&client, "echo", b"real");
    let request = loop {
        match mdp::ToWorker::parse(Msg::recv(&worker).unwrap()).unwrap() {
            mdp::ToWorker::Heartbeat => continue,
            other => break other,
        }
    };
    assert!(
        matches!(&request, mdp::ToWorker::Request { body, .. } if body[0] == "real"),
        "{request:?}"
    );
    assert!(b.is_running(), "{}", b.context());
    b.stop_with(libc::SIGINT, WAIT);
}

/// Requests for services nobody serves, from clients that are gone, must not pin the broker's
/// memory: 40 requests of 16 MB took mdbroker from 5 MB to over 600 MB, for ever. With its
/// default limits it holds at most 64 MiB of waiting requests (a 16 MB request passes its 16 MiB
/// message size limit), and the allocator keeps some of what passed through.
#[test]
fn big_requests_for_unserved_services_do_not_stay_in_memory() {
    let ep = tcp_ep();
    let mut b = broker(&ep, &[]);
    let ctx = zmq::Context::new();
    let client = raw_peer(&ctx, &ep);
    assert_eq!(raw_lookup(&client, "big-0", WAIT), "404");
    let before = rss_kb(&b);
    let body = vec![0x5a_u8; 16_000_000];
    for i in 0..40 {
        raw_request(&client, &format!("big-{i}"), &body);
    }
    drop(body);
    // the lookup comes after them on this socket (a broker that refuses a message may drop the
    // connection; the socket reconnects and goes on with the next)
    assert_eq!(raw_lookup(&client, "big-0", WAIT), "404");
    let grown = rss_kb(&b).saturating_sub(before);
    assert!(
        grown < 160 * 1024,
        "the broker holds {} MB more after the big requests",
        grown / 1024
    );
    assert!(b.is_running(), "{}", b.context());
    b.stop_with(libc::SIGINT, WAIT);
}

/// A registered worker that floods valid HEARTBEATs must not grow the broker's memory (its
/// expiry queue kept an entry per heartbeat until the next heartbeat tick).
#[test]
fn a_heartbeat_flood_does_not_grow_the_broker() {
    let ep = tcp_ep();
    // a long heartbeat interval: no tick comes to clean up during the flood
    let mut b = broker(&ep, &["--heartbeat-ms", "60000"]);
    let ctx = zmq::Context::new();
    let client = raw_peer(&ctx, &ep);
    let worker = raw_peer(&ctx, &ep);
    let ready = || {
        mdp::FromWorker::Ready {
            service: "echo".into(),
        }
        .into_msg()
    };
    ready().send(&worker).unwrap();
    let deadline = Instant::now() + WAIT;
    while raw_lookup(&client, "echo", WAIT) != "200" {
        assert!(Instant::now() < deadline, "the worker did not register");
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = rss_kb(&b);
    for _ in 0..1_000_000 {
        mdp::FromWorker::Heartbeat.into_msg().send(&worker).unwrap();
    }
    // a second READY is a protocol error: its DISCONNECT means the broker read every heartbeat
    ready().send(&worker).unwrap();
    loop {
        let m = Msg::recv(&worker).expect("no DISCONNECT after the flood");
        if matches!(mdp::ToWorker::parse(m), Ok(mdp::ToWorker::Disconnect)) {
            break;
        }
    }
    let grown = rss_kb(&b).saturating_sub(before);
    assert!(
        grown < 30 * 1024,
        "the broker holds {} MB more after a million heartbeats",
        grown / 1024
    );
    b.stop_with(libc::SIGINT, WAIT);
}

/// Spec 7/MDP: requests for a service with no worker expire after a configurable time
/// (`--request-expiry-ms`); a worker that comes later gets only what was asked after.
#[test]
fn mdbroker_expires_requests_nobody_serves() {
    let ep = tcp_ep();
    let b = broker(
        &ep,
        &["-v", "--heartbeat-ms", "100", "--request-expiry-ms", "200"],
    );
    let ctx = zmq::Context::new();
    let client = raw_peer(&ctx, &ep);
    let start = Instant::now();
    raw_request(&client, "ghost", b"stale");
    b.expect("mdp broker: request for [005] ghost from", WAIT);
    b.expect_where(
        |l| l.contains("mdp broker: request for [005] ghost") && l.contains("expired after"),
        "the request's expiry",
        WAIT,
    );
    assert!(start.elapsed() >= Duration::from_millis(200));
    b.expect("mdp broker: forgot service [005] ghost", WAIT);
    let worker = raw_peer(&ctx, &ep);
    mdp::FromWorker::Ready {
        service: "ghost".into(),
    }
    .into_msg()
    .send(&worker)
    .unwrap();
    b.expect("mdp broker: registering new worker", WAIT);
    raw_request(&client, "ghost", b"fresh");
    let request = loop {
        match mdp::ToWorker::parse(Msg::recv(&worker).unwrap()).unwrap() {
            mdp::ToWorker::Heartbeat => continue,
            other => break other,
        }
    };
    assert!(
        matches!(&request, mdp::ToWorker::Request { body, .. } if body[0] == "fresh"),
        "{request:?}"
    );
}

/// `RUST_LOG=debug` (without `-v`) shows the library's debug events on stderr: a worker's
/// registration, a request waiting for a worker, the worker going and its service forgotten.
#[test]
fn mdbroker_logs_workers_and_requests_at_debug_on_stderr() {
    let ep = tcp_ep();
    let b = Proc::spawn(
        bin!("mdbroker"),
        &["--bind", &ep],
        &[("RUST_LOG", "debug")],
        false,
        None,
    );
    b.expect("MDP broker", WAIT);
    let ctx = zmq::Context::new();
    let client = raw_peer(&ctx, &ep);
    raw_request(&client, "logged", b"hello");
    b.expect_stderr(
        "mdp broker: added service [006] logged (no worker yet)",
        WAIT,
    );
    b.expect_stderr("mdp broker: request for [006] logged from", WAIT);
    let worker = raw_peer(&ctx, &ep);
    mdp::FromWorker::Ready {
        service: "logged".into(),
    }
    .into_msg()
    .send(&worker)
    .unwrap();
    let line = b.expect_stderr("mdp broker: registering new worker", WAIT);
    assert!(line.contains("for [006] logged"), "{line}");
    assert!(line.contains(" DEBUG "), "not at debug: {line}");
    mdp::FromWorker::Disconnect
        .into_msg()
        .send(&worker)
        .unwrap();
    b.expect_stderr("said DISCONNECT: forgetting it", WAIT);
    // nothing of it on stdout, the teaching output
    let out = b.lines_for(Duration::from_millis(200));
    assert!(out.iter().all(|l| !l.contains("mdp broker")), "{out:?}");
}
