//! Chapter 8, UDP discovery: `udpping1` and `udpping2` on test hosts that share one LAN (a
//! bridge in network namespaces) find each other by broadcast, and outlive hostile datagrams.
//! Nothing here broadcasts outside the namespaces the test made.

mod common;
use common::netns::Net;
use common::*;

use std::net::UdpSocket;

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
