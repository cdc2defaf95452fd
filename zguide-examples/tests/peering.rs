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
