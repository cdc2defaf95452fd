//! Advanced pub-sub (guide chapter 5): espresso, pathopub/pathosub/lvcache (last value
//! caching), suisnail.

mod common;

use std::time::{Duration, Instant};

use common::*;
use zmq_patterns::Msg;

/// A test-owned SUB connected to `ep`, subscribed to `topic`, with a receive deadline.
fn sub(ctx: &zmq::Context, ep: &str, topic: &str, timeout: Duration) -> zmq::Socket {
    let socket = ctx.socket(zmq::SUB).unwrap();
    socket.set_linger(0).unwrap();
    socket.set_rcvtimeo(timeout.as_millis() as i32).unwrap();
    socket.set_subscribe(topic.as_bytes()).unwrap();
    socket.connect(ep).unwrap();
    socket
}

#[test]
fn each_prints_its_help() {
    for bin in [
        bin!("espresso"),
        bin!("pathopub"),
        bin!("pathosub"),
        bin!("lvcache"),
        bin!("suisnail"),
    ] {
        let (status, lines) = run_to_end(bin, &["--help"], WAIT);
        assert!(status.success(), "{bin}: {status:?}");
        assert!(
            lines.iter().any(|l| l.starts_with("Usage:")),
            "{bin}: {lines:?}"
        );
    }
}

// ---- espresso ----

#[test]
fn espresso_listener_prints_subscriptions_messages_and_unsubscriptions() {
    let (publisher, proxy) = (tcp_ep(), tcp_ep());
    let mut espresso = Proc::start(
        bin!("espresso"),
        &[
            "--publisher",
            &publisher,
            "--frontend",
            &publisher,
            "--backend",
            &proxy,
            "--subscriber",
            &proxy,
            "--interval-ms",
            "10",
        ],
    );
    espresso.expect("I: espresso proxy is active", WAIT);
    // The subscriber's two subscriptions go upstream first: byte 1, then the topic
    let mut subscriptions = vec![
        espresso.next_line(WAIT).unwrap_or_default(),
        espresso.next_line(WAIT).unwrap_or_default(),
    ];
    subscriptions.sort();
    assert_eq!(
        subscriptions,
        ["[002] 0141", "[002] 0142"],
        "{}",
        espresso.context()
    );
    // Then the messages, only A and B (the publisher filters), until the subscriber has had
    // five and leaves: its unsubscriptions (byte 0) go upstream
    let mut messages = 0;
    let mut unsubscriptions = Vec::new();
    let deadline = Instant::now() + WAIT;
    while unsubscriptions.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(line) = espresso.next_line(left) else {
            panic!("no unsubscriptions\n{}", espresso.context());
        };
        if line.starts_with("[002] 00") {
            unsubscriptions.push(line);
            continue;
        }
        let message = line
            .strip_prefix("[007] ")
            .unwrap_or_else(|| panic!("not a message: {line:?}\n{}", espresso.context()));
        let (letter, number) = message.split_at(2);
        assert!(letter == "A-" || letter == "B-", "{line:?}");
        assert!(
            number.len() == 5 && number.bytes().all(|b| b.is_ascii_digit()),
            "{line:?}"
        );
        messages += 1;
    }
    unsubscriptions.sort();
    assert_eq!(unsubscriptions, ["[002] 0041", "[002] 0042"]);
    assert!(messages >= 5, "{messages} messages\n{}", espresso.context());
    espresso.signal(libc::SIGINT);
    espresso.expect(" interrupted", WAIT);
    espresso.wait_success(WAIT);
}

#[test]
fn espresso_stops_on_sigterm_at_once() {
    let (publisher, proxy) = (tcp_ep(), tcp_ep());
    let mut espresso = Proc::start(
        bin!("espresso"),
        &[
            "--publisher",
            &publisher,
            "--frontend",
            &publisher,
            "--backend",
            &proxy,
            "--subscriber",
            &proxy,
        ],
    );
    espresso.expect("I: espresso proxy is active", WAIT);
    espresso.stop_with(libc::SIGTERM, WAIT);
}

// ---- pathopub, pathosub, lvcache ----

#[test]
fn late_subscribers_get_the_last_value_from_the_cache_at_once() {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let mut cache = Proc::start(bin!("lvcache"), &["--frontend", &fe, "--backend", &be]);
    cache.expect("I: last value cache is active", WAIT);
    // A watcher of the last topic of the publisher's burst, subscribed before the burst
    let ctx = zmq::Context::new();
    let watcher = sub(&ctx, &be, "999", WAIT);
    // The random updates come far apart: any value a subscriber gets soon after the burst
    // comes from the cache
    let mut publisher = Proc::start(bin!("pathopub"), &[&fe, "--interval-ms", "600000"]);
    publisher.expect("I: pathological publisher is active", WAIT);
    let last = Msg::recv(&watcher).unwrap_or_else(|e| {
        panic!(
            "no topic 999: {e}\n{}\n{}",
            publisher.context(),
            cache.context()
        )
    });
    assert!(
        last.len() == 2 && last[0] == "999" && last[1] == "Save Roger",
        "{last}"
    );
    // The burst is over (updates arrive in order): only the cache can answer now. The first
    // subscriber stays, so the second one's subscription is a repeat, which the XPUB reports
    // only in verbose mode
    let mut subscribers = Vec::new();
    for who in ["first", "second"] {
        let start = Instant::now();
        let subscriber = Proc::start(bin!("pathosub"), &[&be, "--topic", "042"]);
        let line = subscriber.next_line(Duration::from_secs(10));
        assert_eq!(
            line.as_deref(),
            Some("Save Roger"),
            "{who} subscriber, after {:?}\n{}\n{}",
            start.elapsed(),
            subscriber.context(),
            cache.context()
        );
        cache.expect("Sending cached topic 042", WAIT);
        subscribers.push(subscriber);
    }
    // The first one got the value again, when the second subscribed
    assert_eq!(
        subscribers[0].next_line(WAIT).as_deref(),
        Some("Save Roger"),
        "{}",
        subscribers[0].context()
    );
    for mut subscriber in subscribers {
        subscriber.stop_with(libc::SIGINT, WAIT);
    }
    publisher.stop_with(libc::SIGINT, WAIT);
    cache.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn pathopub_sends_the_burst_then_random_updates_and_stops_on_signals() {
    let ep = tcp_ep();
    // Signalled while it waits for subscribers, before the burst
    let mut publisher = Proc::start(bin!("pathopub"), &[&ep]);
    publisher.expect("I: pathological publisher is active", WAIT);
    publisher.stop_with(libc::SIGTERM, WAIT);

    let mut publisher = Proc::start(bin!("pathopub"), &[&ep, "--interval-ms", "10"]);
    publisher.expect("I: pathological publisher is active", WAIT);
    let ctx = zmq::Context::new();
    let watcher = sub(&ctx, &ep, "", WAIT);
    let recv = |what: &str| {
        Msg::recv(&watcher).unwrap_or_else(|e| panic!("no {what}: {e}\n{}", publisher.context()))
    };
    // It waits a second for subscribers: the burst comes whole, in order
    for topic_nbr in 0..1000 {
        let msg = recv("burst");
        assert!(msg.len() == 2 && msg[1] == "Save Roger", "{msg}");
        assert_eq!(msg[0].to_string_lossy(), format!("{topic_nbr:03}"));
    }
    for _ in 0..3 {
        let msg = recv("random update");
        assert!(msg.len() == 2 && msg[1] == "Off with his head!", "{msg}");
        let topic = msg[0].to_string_lossy();
        assert!(topic.len() == 3 && topic.parse::<u32>().is_ok(), "{msg}");
    }
    publisher.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn pathosub_prints_its_topic_only_and_drops_what_is_not() {
    let ctx = zmq::Context::new();
    let ep = tcp_ep();
    let publisher = ctx.socket(zmq::XPUB).unwrap();
    publisher.set_linger(0).unwrap();
    publisher.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    publisher.bind(&ep).unwrap();
    let mut subscriber = Proc::start(bin!("pathosub"), &[&ep, "--topic", "042"]);
    let subscription = publisher
        .recv_bytes(0)
        .unwrap_or_else(|e| panic!("no subscription: {e}\n{}", subscriber.context()));
    assert_eq!(subscription, b"\x01042");
    // The prefix subscription lets 0421 through, and messages of any shape: the C asserts
    publish(&publisher, b"0421", b"not mine");
    publisher.send_multipart(["042", "a", "b"], 0).unwrap();
    publisher.send("042", 0).unwrap();
    publish(&publisher, b"042", b"Save Roger");
    let line = subscriber.next_line(WAIT);
    assert_eq!(
        line.as_deref(),
        Some("Save Roger"),
        "{}",
        subscriber.context()
    );
    subscriber.expect_stderr(
        "dropping a message that is not [042][value]: 2 frames",
        WAIT,
    );
    subscriber.expect_stderr(
        "dropping a message that is not [042][value]: 3 frames",
        WAIT,
    );
    subscriber.expect_stderr(
        "dropping a message that is not [042][value]: 1 frames",
        WAIT,
    );
    subscriber.stop_with(libc::SIGTERM, WAIT);
}

/// A peer speaking ZMTP 3.0 by hand over TCP (NULL security), to send what a libzmq socket
/// would not.
struct Zmtp(std::net::TcpStream);

impl Zmtp {
    /// Connects to `ep` (`tcp://127.0.0.1:PORT`) and does the handshake as a `socket_type`.
    fn connect(ep: &str, socket_type: &str) -> Zmtp {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port_of(ep))).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        // Greeting: signature, version 3.0, mechanism NULL, as-server 0, filler
        let mut greeting = [0u8; 64];
        greeting[0] = 0xFF;
        greeting[9] = 0x7F;
        greeting[10] = 3;
        greeting[12..16].copy_from_slice(b"NULL");
        stream.write_all(&greeting).unwrap();
        let mut theirs = [0u8; 64];
        stream.read_exact(&mut theirs).unwrap();
        assert_eq!(theirs[10], 3, "{theirs:?}");
        let mut ready = vec![5];
        ready.extend_from_slice(b"READY");
        ready.push(11);
        ready.extend_from_slice(b"Socket-Type");
        ready.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
        ready.extend_from_slice(socket_type.as_bytes());
        let mut peer = Zmtp(stream);
        peer.write_frame(0x04, &ready).unwrap();
        // Their READY
        let (flags, _) = peer.read_frame().unwrap();
        assert_eq!(flags & 0x04, 0x04, "not a command");
        peer
    }

    fn write_frame(&mut self, flags: u8, body: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut head = Vec::new();
        if body.len() > 255 {
            head.push(flags | 0x02);
            head.extend_from_slice(&(body.len() as u64).to_be_bytes());
        } else {
            head.push(flags);
            head.push(body.len() as u8);
        }
        self.0.write_all(&head)?;
        self.0.write_all(body)
    }

    fn read_frame(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        use std::io::Read;
        let mut flags = [0u8; 1];
        self.0.read_exact(&mut flags)?;
        let size = if flags[0] & 0x02 != 0 {
            let mut size = [0u8; 8];
            self.0.read_exact(&mut size)?;
            u64::from_be_bytes(size) as usize
        } else {
            let mut size = [0u8; 1];
            self.0.read_exact(&mut size)?;
            size[0] as usize
        };
        let mut body = vec![0u8; size];
        self.0.read_exact(&mut body)?;
        Ok((flags[0], body))
    }

    /// Sends one message of `parts`.
    fn try_send(&mut self, parts: &[&[u8]]) -> std::io::Result<()> {
        for (i, part) in parts.iter().enumerate() {
            let more = if i + 1 < parts.len() { 0x01 } else { 0 };
            self.write_frame(more, part)?;
        }
        Ok(())
    }

    /// Sends one message of `parts`; the peer must take it.
    fn send(&mut self, parts: &[&[u8]]) {
        self.try_send(parts).unwrap();
    }

    /// The next message (commands skipped); an error at the end of the connection.
    fn recv(&mut self) -> std::io::Result<Vec<Vec<u8>>> {
        let mut parts = Vec::new();
        loop {
            let (flags, body) = self.read_frame()?;
            if flags & 0x04 != 0 {
                continue;
            }
            parts.push(body);
            if flags & 0x01 == 0 {
                return Ok(parts);
            }
        }
    }
}

/// Sends `[topic][value]` from `publisher`.
fn publish(publisher: &zmq::Socket, topic: &[u8], value: &[u8]) {
    publisher.send(topic, zmq::SNDMORE).unwrap();
    publisher.send(value, 0).unwrap();
}

#[test]
fn lvcache_stays_bounded_and_up_under_hostile_peers() {
    let ctx = zmq::Context::new();
    // The test is the publisher: an XPUB, to see lvcache's subscription, queueing without limit
    let fe = tcp_ep();
    let publisher = ctx.socket(zmq::XPUB).unwrap();
    publisher.set_linger(0).unwrap();
    publisher.set_sndhwm(0).unwrap();
    publisher.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    publisher.bind(&fe).unwrap();
    let be = tcp_ep();
    let mut cache = Proc::start(
        bin!("lvcache"),
        &[
            "--frontend",
            &fe,
            "--backend",
            &be,
            "--max-topics",
            "100",
            "--max-topic-bytes",
            "16",
            "--max-value-bytes",
            "1000",
        ],
    );
    cache.expect("I: last value cache is active", WAIT);
    let subscription = publisher
        .recv_bytes(0)
        .unwrap_or_else(|e| panic!("lvcache did not subscribe: {e}\n{}", cache.context()));
    assert_eq!(subscription, b"\x01");

    // Updates of the wrong shape, far more topics than the cache takes, values and topics
    // too large
    publisher.send("lonely", 0).unwrap();
    publisher.send_multipart(["a", "b", "c"], 0).unwrap();
    for i in 0..5000 {
        publish(&publisher, format!("t{i:04}").as_bytes(), b"value");
    }
    // t0001 was cached; its new value is too large, so its old one must go
    publish(&publisher, b"t0001", &[b'v'; 2000]);
    publish(&publisher, &[b'k'; 100], b"x");
    for i in 0..20 {
        publish(
            &publisher,
            format!("big{i}").as_bytes(),
            &vec![b'B'; 256 * 1024],
        );
    }
    // The marker: once a watcher gets it, lvcache has read everything before it
    let watcher = sub(&ctx, &be, "zz", Duration::from_millis(100));
    let marked = wait_until(WAIT, || {
        publish(&publisher, b"zz", b"end");
        watcher.recv_multipart(0).is_ok()
    });
    assert!(marked, "no marker through lvcache\n{}", cache.context());

    // A subscriber that sends what no SUB sends: a raw ZMTP peer, as a libzmq XSUB would
    // itself keep (and crash on) a huge subscription
    let mut peer = Zmtp::connect(&be, "XSUB");
    peer.send(&[&b""[..]]);
    peer.send(&[&b"\x05garbage"[..], b"\x05x"]);
    peer.send(&[&b"\x01abc"[..], b"payload"]);
    peer.send(&[&b"\x02zz"[..]]);
    peer.send(&[&b"\x01"[..]]);
    peer.send(&[&b"\x00"[..]]);
    for i in 0..3000 {
        peer.send(&[format!("\x01t{i:04}").as_bytes()]);
    }
    peer.send(&[&b"\x01zz"[..]]);
    // It gets the cached topics, in order, and then the marker: the first 100 topics were
    // cached, less t0001, whose last value was too large
    let mut got = Vec::new();
    loop {
        let msg = peer
            .recv()
            .unwrap_or_else(|e| panic!("no answer: {e}; got {got:?}\n{}", cache.context()));
        assert_eq!(msg.len(), 2, "{msg:?}");
        let topic = String::from_utf8_lossy(&msg[0]).into_owned();
        if topic == "zz" {
            break;
        }
        assert_eq!(msg[1], b"value", "{topic}");
        got.push(topic);
    }
    let expected: Vec<String> = (0..100)
        .filter(|&i| i != 1)
        .map(|i| format!("t{i:04}"))
        .collect();
    assert_eq!(got, expected);
    // A subscription longer than --max-subscription-bytes ends the peer's connection
    let mut peer = Zmtp::connect(&be, "SUB");
    // (lvcache may cut it off while it is still sending)
    let end = peer
        .try_send(&[&[&b"\x01"[..], &vec![b'h'; 1 << 20]].concat()])
        .and_then(|()| peer.try_send(&[&b"\x01zz"[..]]))
        .and_then(|()| peer.recv());
    assert!(
        end.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
        )),
        "not disconnected: {end:?}\n{}",
        cache.context()
    );
    // The same on its stdout
    let mut printed = Vec::new();
    while printed.len() < expected.len() {
        let line = cache.expect("Sending cached topic t", WAIT);
        printed.push(line.trim_start_matches("Sending cached topic ").to_string());
    }
    assert_eq!(printed, expected);
    cache.expect("Sending cached topic zz", WAIT);
    // What it refused, it said (now and then)
    for text in [
        "dropping an update of 1 frames",
        "dropping an update of 3 frames",
        "cache full (100 topics): topic t0100 forwarded, not cached (1 such",
        "with a value of 2000 bytes forwarded, not cached",
        "not a subscription (1 frames, first [000] )",
        "not a subscription (2 frames, first [008] 05676172626167",
        "not a subscription (1 frames, first [003] 027A7A) (4 so far)",
    ] {
        cache.expect_stderr(text, WAIT);
    }

    // And it serves a well-behaved subscriber as before
    assert!(cache.is_running(), "{}", cache.context());
    let mut subscriber = Proc::start(bin!("pathosub"), &[&be, "--topic", "zz"]);
    subscriber.expect("end", WAIT);
    subscriber.stop_with(libc::SIGINT, WAIT);
    cache.stop_with(libc::SIGINT, WAIT);
}

// ---- suisnail ----

#[test]
fn suisnail_a_slow_subscriber_notices_and_aborts() {
    let ep = tcp_ep();
    let start = Instant::now();
    let mut snail = Proc::start(
        bin!("suisnail"),
        &[
            "--bind",
            &ep,
            "--connect",
            &ep,
            "--work-ms",
            "20",
            "--max-lag-ms",
            "200",
        ],
    );
    let lines = snail.lines_until_end(WAIT);
    let status = snail.wait(WAIT);
    assert_eq!(status.code(), Some(1), "{status:?}\n{}", snail.context());
    snail.expect_stderr("E: subscriber cannot keep up, aborting", WAIT);
    snail.expect_stderr("error: the subscriber got a message ", WAIT);
    assert!(!lines.is_empty(), "{}", snail.context());
    // Every line is a timestamp in milliseconds, taken since the start
    let since = zmq_patterns::clock::time_ms() - start.elapsed().as_millis() as i64 - 1000;
    for line in &lines {
        let t: i64 = line.parse().unwrap_or_else(|_| panic!("{line:?}"));
        assert!(t >= since, "{line:?}");
    }
}

#[test]
fn suisnail_a_subscriber_that_keeps_up_lives_until_ctrl_c() {
    let ep = tcp_ep();
    let mut snail = Proc::start(
        bin!("suisnail"),
        &[
            "--bind",
            &ep,
            "--connect",
            &ep,
            "--interval-ms",
            "5",
            "--work-ms",
            "0",
        ],
    );
    snail.expect_where(|l| l.parse::<i64>().is_ok(), "a timestamp", WAIT);
    let lines = snail.lines_for(Duration::from_millis(1500));
    assert!(
        lines.len() > 50,
        "{} lines\n{}",
        lines.len(),
        snail.context()
    );
    assert!(snail.is_running(), "{}", snail.context());
    snail.stop_with(libc::SIGINT, WAIT);
}
