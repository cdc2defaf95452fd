//! Chapter 8, UDP discovery: `udpping1` and `udpping2` on test hosts that share one LAN (a
//! bridge in network namespaces) find each other by broadcast, and outlive hostile datagrams.
//! Nothing here broadcasts outside the namespaces the test made.

mod common;
use common::netns::Net;
use common::*;

use std::net::UdpSocket;
use std::time::Duration;

/// Every host's `udpping1` finds every host, itself included, as the guide's model one does.
#[test]
fn udpping1_hosts_find_each_other() {
    let Some(net) = Net::new() else { return };
    let lan = net.lan();
    let hosts: Vec<_> = ["a", "b", "c"].iter().map(|n| net.host(n)).collect();
    let ports: Vec<_> = hosts.iter().map(|h| lan.join(h)).collect();
    let mut pings: Vec<Proc> = hosts
        .iter()
        .map(|h| h.spawn(bin!("udpping1"), &["--interval-ms", "100"]))
        .collect();
    for ping in &pings {
        ping.expect("Pinging peers...", WAIT);
        // beacons come every 100 ms from each: every peer's line comes back, whatever the order
        for port in &ports {
            ping.expect(&format!("Found peer {}:9999", port.addr()), WAIT);
        }
    }
    for ping in &mut pings {
        ping.stop_with(libc::SIGTERM, WAIT);
    }
}

/// `udpping2` says which interface it chose and broadcasts on its subnet: `udpping1` on
/// another host hears it, two `udpping2` on one host share the port and both hear the others.
#[test]
fn udpping2_broadcasts_on_the_interface_it_names() {
    let Some(net) = Net::new() else { return };
    let lan = net.lan();
    let (a, b) = (net.host("a"), net.host("b"));
    let (pa, pb) = (lan.join(&a), lan.join(&b));
    let debug = [("RUST_LOG", "debug")];
    let args = ["--interval-ms", "100"];
    let mut first = a.spawn_with(bin!("udpping2"), &args, &debug, false);
    let mut second = a.spawn_with(bin!("udpping2"), &args, &debug, false);
    let mut other = b.spawn(bin!("udpping1"), &args);
    let chose = format!(
        "I: pinging on {} ({}), port 9999, to 10.213.",
        pa.iface(),
        pa.addr()
    );
    first.expect(&chose, WAIT);
    second.expect(&chose, WAIT);
    other.expect(&format!("Found peer {}:9999", pa.addr()), WAIT);
    for p in [&first, &second] {
        p.expect_stderr(&format!("found peer {}:9999", pb.addr()), WAIT);
    }
    for p in [&mut first, &mut second, &mut other] {
        p.stop_with(libc::SIGINT, WAIT);
    }
}

/// Datagrams that are not beacons (empty, long, random bytes) change nothing: both models keep
/// pinging and reading.
#[test]
fn hostile_datagrams_are_read_and_dropped() {
    let Some(net) = Net::new() else { return };
    let lan = net.lan();
    let (a, b, evil) = (net.host("a"), net.host("b"), net.host("evil"));
    let (pa, pb) = (lan.join(&a), lan.join(&b));
    lan.join(&evil);
    let args = ["--interval-ms", "100"];
    // one per host: udpping1 binds the port alone, as the C does
    let mut one = a.spawn(bin!("udpping1"), &args);
    let mut two = b.spawn_with(bin!("udpping2"), &args, &[("RUST_LOG", "debug")], false);
    one.expect("Pinging peers...", WAIT);
    two.expect("Pinging peers...", WAIT);
    let sender = evil.enter(|| UdpSocket::bind("0.0.0.0:0").unwrap());
    let junk: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0xff; 60_000],
        (0..=255u8).collect(),
        b"!!!!".to_vec(),
    ];
    for target in [pa.addr(), pb.addr()] {
        for j in &junk {
            sender.send_to(j, (target, 9999)).unwrap();
        }
    }
    let from = sender.local_addr().unwrap().port();
    let evil_addr = evil.addr();
    one.expect(&format!("Found peer {evil_addr}:{from}"), WAIT);
    two.expect_stderr(&format!("found peer {evil_addr}:{from}"), WAIT);
    // still pinging, still hearing itself
    for p in [&one, &two] {
        p.expect("Pinging peers...", WAIT);
    }
    one.expect(&format!("Found peer {}:9999", pb.addr()), WAIT);
    two.expect_stderr(&format!("found peer {}:9999", pa.addr()), WAIT);
    assert!(one.is_running() && two.is_running());
    one.stop_with(libc::SIGTERM, WAIT);
    two.stop_with(libc::SIGTERM, WAIT);
}

/// The events `udpping3` prints until every `(event, id)` of `want` has come (any order), within
/// WAIT; fails on an event about the node itself.
fn events_until(p: &Proc, own: &str, want: &[(&str, &str)]) {
    let deadline = std::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    let mut event = String::new();
    while !want
        .iter()
        .all(|w| seen.contains(&(w.0.to_string(), w.1.to_string())))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(line) = p.next_line(left) else {
            panic!("udpping3: saw {seen:?}, wanted {want:?}\n{}", p.context());
        };
        if let Some(e) = line.strip_prefix("[006] ").or(line.strip_prefix("[004] ")) {
            event = e.to_string();
        } else if let Some(id) = line.strip_prefix("[032] ") {
            assert_ne!(id, own, "a node reported itself\n{}", p.context());
            seen.push((event.clone(), id.to_string()));
        }
    }
}

/// The identity `udpping3` announces in its first line.
fn node_id(p: &Proc) -> String {
    let line = p.expect("I: node ", WAIT);
    let id = line
        .strip_prefix("I: node ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_default()
        .to_string();
    assert_eq!(id.len(), 32, "{line}");
    id
}

/// Three nodes on a LAN: each reports the other two as JOINED, never itself; unplug one and
/// the others report it LEFT within the expiry time; plug it back and it JOINED again.
#[test]
fn udpping3_reports_nodes_joining_and_leaving() {
    let Some(net) = Net::new() else { return };
    let lan = net.lan();
    let hosts: Vec<_> = ["a", "b", "c"].iter().map(|n| net.host(n)).collect();
    let ports: Vec<_> = hosts.iter().map(|h| lan.join(h)).collect();
    let args = ["--interval-ms", "100", "--expiry-ms", "600"];
    let mut nodes: Vec<Proc> = hosts
        .iter()
        .map(|h| h.spawn(bin!("udpping3"), &args))
        .collect();
    let ids: Vec<String> = nodes.iter().map(node_id).collect();
    for (i, node) in nodes.iter().enumerate() {
        let others: Vec<(&str, &str)> = (0..3)
            .filter(|j| *j != i)
            .map(|j| ("JOINED", ids[j].as_str()))
            .collect();
        events_until(node, &ids[i], &others);
    }
    ports[2].down();
    let t = std::time::Instant::now();
    for i in 0..2 {
        events_until(&nodes[i], &ids[i], &[("LEFT", &ids[2])]);
    }
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    ports[2].up();
    for i in 0..2 {
        events_until(&nodes[i], &ids[i], &[("JOINED", &ids[2])]);
    }
    for node in &mut nodes {
        node.stop_with(libc::SIGINT, WAIT);
    }
}

/// Datagrams on the presence port that are not beacons change nobody's presence; a beacon in
/// the Python form (32 hex digits) is a node.
#[test]
fn udpping3_drops_what_is_not_a_beacon() {
    let Some(net) = Net::new() else { return };
    let lan = net.lan();
    let (a, evil) = (net.host("a"), net.host("evil"));
    let pa = lan.join(&a);
    lan.join(&evil);
    let mut node = a.spawn(bin!("udpping3"), &["--interval-ms", "100"]);
    let own = node_id(&node);
    let sender = evil.enter(|| UdpSocket::bind("0.0.0.0:0").unwrap());
    let junk: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"!".to_vec(),
        vec![7; 15],
        vec![7; 17],
        vec![b'Z'; 32],
        vec![0xff; 60_000],
    ];
    for j in &junk {
        sender.send_to(j, (pa.addr(), 9999)).unwrap();
    }
    let python = "00112233445566778899AABBCCDDEEFF";
    sender
        .send_to(python.as_bytes(), (pa.addr(), 9999))
        .unwrap();
    // the first event is the Python-form node: nothing before it came from the junk
    let first: Vec<Option<String>> = (0..3).map(|_| node.next_line(WAIT)).collect();
    let expected = [
        "----------------------------------------".to_string(),
        "[006] JOINED".to_string(),
        format!("[032] {python}"),
    ];
    assert_eq!(first, expected.map(Some), "{}", node.context());
    assert_ne!(own, python);
    assert!(node.is_running());
    node.stop_with(libc::SIGTERM, WAIT);
}
