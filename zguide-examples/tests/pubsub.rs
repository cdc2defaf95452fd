//! Publish-subscribe: wuserver/wuclient/wuproxy, msreader/mspoller, psenvpub/psenvsub,
//! syncpub/syncsub.

mod common;
use common::*;
use zmq_patterns::Msg;

/// A test-owned XPUB bound to a fresh endpoint: it publishes like a PUB, and tells the test
/// when a subscriber's subscription has arrived (so nothing is sent before anyone listens).
fn xpub(ctx: &zmq::Context) -> (zmq::Socket, String) {
    let ep = tcp_ep();
    let socket = ctx.socket(zmq::XPUB).unwrap();
    socket.set_linger(0).unwrap();
    socket.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    socket.bind(&ep).unwrap();
    (socket, ep)
}

/// Waits for the subscription message `\x01` + `topic` on an XPUB.
fn expect_subscription(xpub: &zmq::Socket, topic: &str, who: &Proc) {
    let sub = xpub
        .recv_bytes(0)
        .unwrap_or_else(|e| panic!("no subscription: {e}\n{}", who.context()));
    assert_eq!(
        sub,
        [b"\x01", topic.as_bytes()].concat(),
        "{}",
        who.context()
    );
}

/// A test-owned SUB subscribed to everything, connected to `ep`, with a receive deadline.
fn sub_all(ctx: &zmq::Context, ep: &str) -> zmq::Socket {
    let socket = ctx.socket(zmq::SUB).unwrap();
    socket.set_linger(0).unwrap();
    socket.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    socket.set_subscribe(b"").unwrap();
    socket.connect(ep).unwrap();
    socket
}

/// Checks `Average temperature for zipcode 'FILTER' was NF` with N in the server's range.
fn assert_average_line(line: &str, filter: &str) {
    let prefix = format!("Average temperature for zipcode '{filter}' was ");
    let value = line
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix('F'))
        .unwrap_or_else(|| panic!("not an average line: {line:?}"));
    let value: i64 = value.parse().unwrap_or_else(|_| panic!("{line:?}"));
    assert!((-80..=134).contains(&value), "{line:?}");
}

// ---- wuserver, wuclient, wuproxy ----

#[test]
fn wuserver_publishes_zipcode_temperature_humidity_and_stops_on_sigint() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("wuserver"), &["--bind", &ep, "--zipcodes", "10"]);
    let ctx = zmq::Context::new();
    let sub = sub_all(&ctx, &ep);
    for _ in 0..500 {
        let msg = Msg::recv(&sub).unwrap_or_else(|e| panic!("{e}\n{}", server.context()));
        assert_eq!(msg.len(), 1, "{msg}");
        let text = msg[0].to_string_lossy();
        let fields: Vec<&str> = text.split(' ').collect();
        assert_eq!(fields.len(), 3, "{text:?}");
        assert_eq!(fields[0].len(), 5, "zipcode is %05d: {text:?}");
        let zip: u32 = fields[0].parse().unwrap();
        let temperature: i32 = fields[1].parse().unwrap();
        let humidity: i32 = fields[2].parse().unwrap();
        assert!(zip < 10, "{text:?}");
        assert!((-80..=134).contains(&temperature), "{text:?}");
        assert!((10..=59).contains(&humidity), "{text:?}");
    }
    server.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn wuclient_averages_the_updates_of_its_zipcode_from_wuserver() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("wuserver"), &["--bind", &ep, "--zipcodes", "10"]);
    let (status, lines) = run_to_end(
        bin!("wuclient"),
        &["00003 ", "--connect", &ep, "--updates", "20"],
        WAIT,
    );
    assert!(status.success(), "{lines:?}\n{}", server.context());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "Collecting updates from weather server...");
    assert_average_line(&lines[1], "00003 ");
    server.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn wuclient_subscribes_to_10001_by_default_and_skips_malformed_updates() {
    let ctx = zmq::Context::new();
    let (publisher, ep) = xpub(&ctx);
    let mut client = Proc::start(bin!("wuclient"), &["--connect", &ep, "--updates", "3"]);
    expect_subscription(&publisher, "10001 ", &client);
    for update in [
        "10001 10 50",
        "10002 99 10",  // another zipcode: filtered out by the subscription
        "10001 hot 50", // malformed: dropped, not counted
        "10001 20 50",
        "10001 -1 40",
    ] {
        publisher.send(update, 0).unwrap();
    }
    let lines = client.lines_until_end(WAIT);
    client.wait_success(WAIT);
    assert_eq!(
        lines,
        [
            "Collecting updates from weather server...",
            // (10 + 20 - 1) / 3, truncated like C's integer division
            "Average temperature for zipcode '10001 ' was 9F",
        ]
    );
}

#[test]
fn wuproxy_forwards_wuserver_updates_to_wuclient_and_stops_on_sigint() {
    let (server_ep, proxy_ep) = (tcp_ep(), tcp_ep());
    let mut server = Proc::start(
        bin!("wuserver"),
        &["--bind", &server_ep, "--zipcodes", "10"],
    );
    let mut proxy = Proc::start(
        bin!("wuproxy"),
        &["--frontend", &server_ep, "--backend", &proxy_ep],
    );
    let (status, lines) = run_to_end(
        bin!("wuclient"),
        &["00007 ", "--connect", &proxy_ep, "--updates", "20"],
        WAIT,
    );
    assert!(
        status.success(),
        "{lines:?}\n{}\n{}",
        proxy.context(),
        server.context()
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_average_line(&lines[1], "00007 ");
    proxy.stop_with(libc::SIGINT, WAIT);
    server.stop_with(libc::SIGINT, WAIT);
}

// ---- msreader, mspoller ----

/// Feeds a reader two tasks over PUSH and three weather updates over PUB (one of them for
/// another zipcode) and returns what it printed with `-v --count 4`, sorted.
fn feed_reader(reader: &str, verbose: bool) -> Vec<String> {
    let ctx = zmq::Context::new();
    let (publisher, pub_ep) = xpub(&ctx);
    let push_ep = tcp_ep();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
    push.bind(&push_ep).unwrap();
    let mut args = vec![
        "--ventilator",
        &push_ep,
        "--publisher",
        &pub_ep,
        "--count",
        "4",
    ];
    if verbose {
        args.push("-v");
    }
    let mut proc = Proc::start(reader, &args);
    expect_subscription(&publisher, "10001 ", &proc);
    publisher.send("10001 1 20", 0).unwrap();
    publisher.send("10002 2 30", 0).unwrap();
    push.send("task one", 0).unwrap();
    publisher.send("10001 3 40", 0).unwrap();
    push.send("task two", 0).unwrap();
    let mut lines = proc.lines_until_end(WAIT);
    proc.wait_success(WAIT);
    lines.sort();
    lines
}

const READER_LINES: [&str; 4] = [
    "task: task one",
    "task: task two",
    "weather update: 10001 1 20",
    "weather update: 10001 3 40",
];

#[test]
fn msreader_reads_tasks_and_its_weather_updates_from_both_sockets() {
    assert_eq!(feed_reader(bin!("msreader"), true), READER_LINES);
}

#[test]
fn mspoller_reads_tasks_and_its_weather_updates_from_both_sockets() {
    assert_eq!(feed_reader(bin!("mspoller"), true), READER_LINES);
}

#[test]
fn readers_print_nothing_without_verbose() {
    assert!(feed_reader(bin!("msreader"), false).is_empty());
    assert!(feed_reader(bin!("mspoller"), false).is_empty());
}

#[test]
fn msreader_and_mspoller_exit_cleanly_on_signals() {
    let ctx = zmq::Context::new();
    for (reader, signal) in [
        (bin!("msreader"), libc::SIGINT),
        (bin!("mspoller"), libc::SIGTERM),
    ] {
        let (publisher, pub_ep) = xpub(&ctx);
        let push_ep = tcp_ep();
        let mut proc = Proc::start(reader, &["--ventilator", &push_ep, "--publisher", &pub_ep]);
        // Its subscription shows it is past start-up, in its read loop.
        expect_subscription(&publisher, "10001 ", &proc);
        proc.stop_with(signal, WAIT);
    }
}

// ---- psenvpub, psenvsub ----

#[test]
fn psenvpub_sends_two_frame_envelopes_a_and_b() {
    let ep = tcp_ep();
    let mut publisher = Proc::start(bin!("psenvpub"), &["--bind", &ep, "--interval-ms", "20"]);
    let ctx = zmq::Context::new();
    let sub = sub_all(&ctx, &ep);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 2 {
        let msg = sub
            .recv_multipart(0)
            .unwrap_or_else(|e| panic!("{e}\n{}", publisher.context()));
        let msg: Vec<String> = msg
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let expected = match msg.first().map(String::as_str) {
            Some("A") => ["A", "We don't want to see this"],
            _ => ["B", "We would like to see this"],
        };
        assert_eq!(msg, expected);
        seen.insert(msg[0].clone());
    }
    publisher.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn psenvsub_sees_only_the_b_envelopes_of_psenvpub() {
    let ep = tcp_ep();
    let mut publisher = Proc::start(bin!("psenvpub"), &["--bind", &ep, "--interval-ms", "20"]);
    let mut subscriber = Proc::start(bin!("psenvsub"), &["--connect", &ep]);
    for _ in 0..5 {
        let line = subscriber
            .next_line(WAIT)
            .unwrap_or_else(|| panic!("no line\n{}", subscriber.context()));
        assert_eq!(line, "[B] We would like to see this");
    }
    subscriber.stop_with(libc::SIGINT, WAIT);
    publisher.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn psenvsub_subscribes_to_b_and_drops_malformed_envelopes() {
    let ctx = zmq::Context::new();
    let (publisher, ep) = xpub(&ctx);
    let mut subscriber = Proc::start(bin!("psenvsub"), &["--connect", &ep]);
    expect_subscription(&publisher, "B", &subscriber);
    Msg::from_iter(["A", "not for B"]).send(&publisher).unwrap();
    Msg::from_iter(["B", "first"]).send(&publisher).unwrap();
    Msg::from_iter(["B", "three", "frames"])
        .send(&publisher)
        .unwrap();
    Msg::from_iter(["B"]).send(&publisher).unwrap();
    Msg::from_iter(["B", "last"]).send(&publisher).unwrap();
    assert_eq!(subscriber.next_line(WAIT).unwrap(), "[B] first");
    assert_eq!(subscriber.next_line(WAIT).unwrap(), "[B] last");
    subscriber.stop_with(libc::SIGINT, WAIT);
}

// ---- syncpub, syncsub ----

#[test]
fn syncpub_delivers_every_update_to_each_of_three_syncsubs() {
    let (pub_ep, sync_ep) = (tcp_ep(), tcp_ep());
    let mut publisher = Proc::start(
        bin!("syncpub"),
        &[
            "--publisher",
            &pub_ep,
            "--sync",
            &sync_ep,
            "--subscribers",
            "3",
            "--updates",
            "20000",
        ],
    );
    publisher.expect("Waiting for subscribers", WAIT);
    let subs: Vec<Proc> = (0..3)
        .map(|_| {
            Proc::start(
                bin!("syncsub"),
                &[
                    "--publisher",
                    &pub_ep,
                    "--sync",
                    &sync_ep,
                    "--sleep-ms",
                    "500",
                ],
            )
        })
        .collect();
    assert_eq!(
        publisher.next_line(WAIT).as_deref(),
        Some("Broadcasting messages")
    );
    for mut sub in subs {
        assert_eq!(sub.lines_until_end(WAIT), ["Received 20000 updates"]);
        sub.wait_success(WAIT);
    }
    assert!(publisher.lines_until_end(WAIT).is_empty());
    publisher.wait_success(WAIT);
}

#[test]
fn syncpub_waits_for_all_its_subscribers_and_exits_cleanly_on_sigint() {
    let (pub_ep, sync_ep) = (tcp_ep(), tcp_ep());
    let mut publisher = Proc::start(
        bin!("syncpub"),
        &[
            "--publisher",
            &pub_ep,
            "--sync",
            &sync_ep,
            "--subscribers",
            "2",
        ],
    );
    publisher.expect("Waiting for subscribers", WAIT);
    // One subscriber of two: the publisher keeps waiting, the subscriber too.
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
    assert!(
        publisher
            .lines_for(std::time::Duration::from_millis(500))
            .is_empty()
    );
    publisher.stop_with(libc::SIGINT, WAIT);
    sub.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn subscribers_stop_on_signals_while_messages_flood_in() {
    // While messages keep coming a blocking recv never returns EINTR: the loops must look
    // for the signal themselves.
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("wuserver"), &["--bind", &ep, "--zipcodes", "1"]);
    let flood = [
        "--publisher",
        ep.as_str(),
        "--ventilator",
        "tcp://127.0.0.1:1",
    ];
    let mut reader = Proc::start(
        bin!("msreader"),
        &[&flood[..], &["-v", "--filter", "00000 "]].concat(),
    );
    reader.expect("weather update: 00000 ", WAIT);
    reader.stop_with(libc::SIGINT, WAIT);
    let mut client = Proc::start(
        bin!("wuclient"),
        &["00000 ", "--connect", &ep, "--updates", "1000000000"],
    );
    client.expect("Collecting updates", WAIT);
    // Let it get busy receiving. Not a wait for a condition: the stop must be clean at any
    // moment, and this pause only makes a flood in progress the likely one.
    std::thread::sleep(std::time::Duration::from_millis(300));
    client.stop_with(libc::SIGINT, WAIT);
    server.stop_with(libc::SIGTERM, WAIT);

    let ep = tcp_ep();
    let mut publisher = Proc::start(bin!("psenvpub"), &["--bind", &ep, "--interval-ms", "0"]);
    let mut subscriber = Proc::start(bin!("psenvsub"), &["--connect", &ep]);
    subscriber.expect("[B] We would like to see this", WAIT);
    subscriber.stop_with(libc::SIGTERM, WAIT);
    publisher.stop_with(libc::SIGINT, WAIT);
}
