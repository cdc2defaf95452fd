//! Chapter 3, "Asynchronous Client/Server": the one-process demo (asyncsrv).

mod common;
use common::*;

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// True for a `%04X-%04X` identity.
fn is_identity(id: &str) -> bool {
    id.len() == 9
        && id.char_indices().all(|(i, c)| {
            if i == 4 {
                c == '-'
            } else {
                c.is_ascii_digit() || ('A'..='F').contains(&c)
            }
        })
}

/// `1A2B-3C4D[010] request #7` -> ("1A2B-3C4D", 7), checking the `zframe_print` size.
fn parse_demo_reply(line: &str) -> Option<(&str, u64)> {
    let (id, frame) = (line.get(..9)?, line.get(9..)?);
    let (size, content) = frame.strip_prefix('[')?.split_once("] ")?;
    let n = content.strip_prefix("request #")?.parse().ok()?;
    (is_identity(id) && size.parse::<usize>().ok()? == content.len()).then_some((id, n))
}

#[test]
fn asyncsrv_ends_by_itself_with_replies_for_every_client() {
    let ep = tcp_ep();
    let started = Instant::now();
    let (status, lines) = run_to_end(
        bin!("asyncsrv"),
        &[
            "--bind",
            &ep,
            "--connect",
            &ep,
            "--duration-ms",
            "2500",
            "--interval-ms",
            "100",
            "--max-delay-ms",
            "100",
        ],
        WAIT,
    );
    assert!(status.success(), "{status:?}\n{lines:?}");
    assert!(
        started.elapsed() < Duration::from_millis(2500 + 3000),
        "slow exit"
    );
    // Each client sends one request per 100 ms tick: #1 to #25 at most
    let mut per_client: HashMap<&str, Vec<u64>> = HashMap::new();
    for line in &lines {
        let (id, n) = parse_demo_reply(line).unwrap_or_else(|| panic!("bad line {line:?}"));
        assert!((1..=25).contains(&n), "{line:?} was never sent");
        per_client.entry(id).or_default().push(n);
    }
    assert_eq!(
        per_client.len(),
        3,
        "not every client had a reply: {lines:?}"
    );
}

#[test]
fn asyncsrv_workers_echo_each_request_to_its_sender_0_to_4_times_and_stop_on_sigint() {
    let ep = tcp_ep();
    let mut server = Proc::start(
        bin!("asyncsrv"),
        &[
            "--bind",
            &ep,
            "--clients",
            "0",
            "--workers",
            "2",
            "--max-delay-ms",
            "10",
            "--duration-ms",
            "60000",
        ],
    );
    let ctx = zmq::Context::new();
    let clients: Vec<(String, zmq::Socket)> = ["A", "B"]
        .iter()
        .map(|id| {
            let s = ctx.socket(zmq::DEALER).unwrap();
            s.set_linger(0).unwrap();
            s.set_identity(id.as_bytes()).unwrap();
            s.connect(&ep).unwrap();
            (id.to_string(), s)
        })
        .collect();
    for n in 1..=10 {
        for (id, s) in &clients {
            s.send(format!("hello {id}{n}").as_str(), 0).unwrap();
        }
    }
    // Each request takes a worker at most 4 x 11 ms: after a second all echoes are queued
    std::thread::sleep(Duration::from_millis(1000));
    let mut echoes: HashMap<String, u32> = HashMap::new();
    for (id, s) in &clients {
        s.set_rcvtimeo(200).unwrap();
        while let Ok(msg) = s.recv_multipart(0) {
            assert_eq!(msg.len(), 1, "{msg:?}");
            let text = String::from_utf8(msg[0].clone()).unwrap();
            assert!(
                text.starts_with(&format!("hello {id}")),
                "{id} got another client's {text:?}"
            );
            *echoes.entry(text).or_default() += 1;
        }
    }
    assert!(echoes.values().all(|&n| n <= 4), "{echoes:?}");
    for (id, _) in &clients {
        assert!(
            echoes.keys().any(|k| k.starts_with(&format!("hello {id}"))),
            "no echo for {id}: {echoes:?}"
        );
    }
    server.stop_with(libc::SIGINT, WAIT);
}
