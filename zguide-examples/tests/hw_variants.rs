//! The untexted Hello World variants: hwserver2-4 (REP verbose, ROUTER by hand) and
//! hwclient2-4 (DEALER by hand, identities), against each other and the chapter 1 pair.

mod common;
use common::*;
use zmq_patterns::Msg;

const REQUESTS: usize = 3;

/// What hwclient2, hwclient3 and hwclient4 print for `REQUESTS` answered requests.
fn assert_variant_client_output(lines: &[String]) {
    let mut expected = vec!["Connecting to hello world server...".to_string()];
    for n in 1..=REQUESTS {
        expected.push(format!("Sending request msg: Hello NO={n}..."));
        expected.push(format!("Received respond msg: World NO={n}"));
        expected.push(String::new());
    }
    assert_eq!(lines, expected);
}

/// Runs a variant client with 3 requests against `ep` and checks what it prints.
fn run_variant_client(client: &str, ep: &str, server: &Proc) {
    let (status, lines) = run_to_end(client, &["--connect", ep, "--requests", "3"], WAIT);
    assert!(status.success(), "{lines:?}\n{}", server.context());
    assert_variant_client_output(&lines);
}

/// Runs the chapter 1 hwclient with 3 requests against `ep`.
fn run_hwclient(ep: &str, server: &Proc) {
    let (status, lines) = run_to_end(
        bin!("hwclient"),
        &["--connect", ep, "--requests", "3"],
        WAIT,
    );
    assert!(status.success(), "{lines:?}\n{}", server.context());
    assert_eq!(lines.len(), 1 + 2 * REQUESTS, "{lines:?}");
    assert_eq!(lines[REQUESTS * 2], "Received World 2");
}

/// Starts a server on `ep` and waits for its start-up line.
fn start_server(server: &str, ep: &str) -> Proc {
    let p = Proc::start(server, &["--bind", ep, "--work-ms", "10"]);
    p.expect("is active at", WAIT);
    p
}

#[test]
fn hwclient2_3_4_talk_to_the_rep_hwserver() {
    let ep = tcp_ep();
    let mut server = start_server(bin!("hwserver"), &ep);
    run_variant_client(bin!("hwclient2"), &ep, &server);
    run_variant_client(bin!("hwclient3"), &ep, &server);
    run_variant_client(bin!("hwclient4"), &ep, &server);
    for _ in 0..3 * REQUESTS {
        server.expect("Received Hello", WAIT);
    }
    server.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn hwserver2_prints_each_request_and_reply_and_stops_on_sigterm() {
    let ep = tcp_ep();
    let mut server = start_server(bin!("hwserver2"), &ep);
    run_hwclient(&ep, &server);
    run_variant_client(bin!("hwclient2"), &ep, &server);
    let lines: Vec<String> = (0..6 * REQUESTS)
        .map(|_| server.next_line(WAIT).expect("hwserver2 output ended"))
        .collect();
    for chunk in lines.chunks(3) {
        assert_eq!(
            chunk,
            ["Received request msg: Hello", "Send respond msg: World", ""],
            "{}",
            server.context()
        );
    }
    server.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn hwserver3_prints_the_identity_zmq_of_hwclient3_and_hwclient4() {
    let ep = tcp_ep();
    let mut server = start_server(bin!("hwserver3"), &ep);
    for client in [bin!("hwclient3"), bin!("hwclient4")] {
        run_variant_client(client, &ep, &server);
        for _ in 0..REQUESTS {
            assert_eq!(server.expect("[Frame_1]", WAIT), "[Frame_1] identity = ZMQ");
            assert_eq!(server.next_line(WAIT).unwrap(), "[Frame_2] string = ");
            assert_eq!(
                server.next_line(WAIT).unwrap(),
                "[Frame_3] Received request msg: Hello"
            );
            assert_eq!(server.next_line(WAIT).unwrap(), "Send respond msg: World");
            assert_eq!(server.next_line(WAIT).unwrap(), "");
        }
    }
    server.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn hwserver3_prints_generated_identities_in_hex_and_discards_requests_without_delimiter() {
    let ep = tcp_ep();
    let mut server = start_server(bin!("hwserver3"), &ep);
    // A plain REQ gets a libzmq-generated binary identity: 00 followed by 4 bytes
    run_hwclient(&ep, &server);
    let line = server.expect("[Frame_1]", WAIT);
    let id = line.strip_prefix("[Frame_1] identity = ").unwrap();
    assert_eq!(id.len(), 10, "{line}");
    assert!(
        id.starts_with("00") && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{line}"
    );

    // A raw DEALER that forgets the delimiter is discarded, and the server goes on serving.
    let ctx = zmq::Context::new();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.set_identity(b"RAW").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("Hello", 0).unwrap();
    assert_eq!(server.expect("RAW", WAIT), "[Frame_1] identity = RAW");
    assert_eq!(server.next_line(WAIT).unwrap(), "[Frame_2] string = Hello");
    assert_eq!(server.next_line(WAIT).unwrap(), "Discard the ZMQ message!");
    run_variant_client(bin!("hwclient3"), &ep, &server);
    server.stop_with(libc::SIGTERM, WAIT);
}

#[test]
fn hwserver4_traces_every_frame_of_hwclient4_and_serves_hwclient_and_hwclient2() {
    let ep = tcp_ep();
    let mut server = start_server(bin!("hwserver4"), &ep);
    run_variant_client(bin!("hwclient4"), &ep, &server);
    for _ in 0..REQUESTS {
        let trace: Vec<String> = (0..7)
            .map(|_| server.next_line(WAIT).expect("hwserver4 output ended"))
            .collect();
        assert_eq!(
            trace,
            [
                "[recv] frame1 = ZMQ",
                "[recv] frame2 = ",
                "[recv] frame3 = Hello",
                "[send] frame1 = ZMQ",
                "[send] frame2 = ",
                "[send] frame3 = World",
                "",
            ]
        );
    }
    run_hwclient(&ep, &server);
    run_variant_client(bin!("hwclient2"), &ep, &server);
    for _ in 0..2 * REQUESTS {
        server.expect("[send] frame3 = World", WAIT);
    }
    server.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn hwclient4_sends_identity_delimiter_hello_on_the_wire() {
    let ep = tcp_ep();
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_linger(0).unwrap();
    router.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    router.bind(&ep).unwrap();
    let client = Proc::start(bin!("hwclient4"), &["--connect", &ep, "--requests", "2"]);
    let request = Msg::recv(&router).unwrap_or_else(|e| panic!("{e}\n{}", client.context()));
    assert_eq!(request.len(), 3, "{request}");
    assert!(request[0] == "ZMQ" && request[1].is_empty() && request[2] == "Hello");
    // A reply without the delimiter is dropped; the proper one is printed.
    Msg::from_iter(["ZMQ", "Bogus"]).send(&router).unwrap();
    Msg::from_iter(["ZMQ", "", "World"]).send(&router).unwrap();
    assert_eq!(
        client.expect("Received", WAIT),
        "Received respond msg: World NO=1"
    );
}

#[test]
fn hwclient2_discards_a_reply_without_delimiter() {
    let ep = tcp_ep();
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_linger(0).unwrap();
    router.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    router.bind(&ep).unwrap();
    let mut client = Proc::start(bin!("hwclient2"), &["--connect", &ep, "--requests", "2"]);
    let mut first = Msg::recv(&router).unwrap_or_else(|e| panic!("{e}\n{}", client.context()));
    assert_eq!(first.len(), 3, "{first}");
    assert!(first[1].is_empty() && first[2] == "Hello", "{first}");
    let id = first.pop_front().unwrap();
    Msg::from_iter([id.clone(), "World".into()])
        .send(&router)
        .unwrap();
    Msg::recv(&router).unwrap();
    Msg::from_iter([id, "".into(), "World".into()])
        .send(&router)
        .unwrap();
    let lines = client.lines_until_end(WAIT);
    client.wait_success(WAIT);
    assert_eq!(
        lines,
        [
            "Connecting to hello world server...",
            "Sending request msg: Hello NO=1...",
            "Discard the ZMQ message!",
            "Sending request msg: Hello NO=2...",
            "Received respond msg: World NO=1",
            "",
        ]
    );
}
