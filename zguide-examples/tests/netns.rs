//! The test hosts of `common::netns` themselves: hosts talk over their link, not while it is
//! down, again once it is up; a LAN carries broadcast; nothing is left after drop.

mod common;
use common::netns::{Net, netns_exists};
use common::*;

use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

/// A DEALER in `host` connected to `endpoint`, speaking to a REP: `[""][body]`.
fn dealer_in(host: &netns::Host, endpoint: &str) -> (zmq::Context, zmq::Socket) {
    host.enter(|| {
        let ctx = zmq::Context::new();
        let s = ctx.socket(zmq::DEALER).unwrap();
        s.set_linger(0).unwrap();
        s.connect(endpoint).unwrap();
        (ctx, s)
    })
}

/// The reply body received within `timeout`, if any.
fn reply_within(s: &zmq::Socket, timeout: Duration) -> Option<String> {
    let mut items = [s.as_poll_item(zmq::POLLIN)];
    zmq::poll(&mut items, timeout.as_millis() as i64).unwrap();
    if !items[0].is_readable() {
        return None;
    }
    let msg = s.recv_multipart(0).unwrap();
    assert_eq!(msg.len(), 2, "{msg:?}");
    Some(String::from_utf8(msg[1].clone()).unwrap())
}

#[test]
fn hosts_talk_over_a_link_and_not_while_it_is_down() {
    let Some(net) = Net::new() else { return };
    let (a, b) = (net.host("a"), net.host("b"));
    let link = net.link(&a, &b);
    let (addr_a, addr_b) = link.addrs();
    assert_eq!((a.addr(), b.addr()), (addr_a, addr_b));
    assert_eq!(addr_a.octets()[..2], [10, 213]);
    let names = net.namespaces();
    assert!(
        names.len() == 3 && names.iter().all(|n| netns_exists(n)),
        "{names:?}"
    );

    // A ZeroMQ ping: hwserver on a, a DEALER on b (the test's own socket, made inside b)
    let mut server = a.spawn(
        bin!("hwserver"),
        &["--bind", "tcp://*:5555", "--work-ms", "0"],
    );
    let (_ctx, client) = dealer_in(&b, &format!("tcp://{addr_a}:5555"));
    client.send_multipart(["", "Hello"], 0).unwrap();
    server.expect("Received Hello", WAIT);
    assert_eq!(reply_within(&client, WAIT).as_deref(), Some("World"));

    // Wire cut: the request waits, unseen by the server; the hosts' interfaces stay up
    link.down();
    assert!(!link.ports().1.has_carrier(), "b still has a carrier");
    client.send_multipart(["", "Hello"], 0).unwrap();
    assert_eq!(reply_within(&client, Duration::from_millis(2000)), None);
    assert_eq!(
        server.next_line(Duration::from_millis(100)),
        None,
        "the server heard a request over a link that is down"
    );
    // Wire back: TCP sends it again, and the answer comes
    link.up();
    server.expect("Received Hello", WAIT);
    assert_eq!(reply_within(&client, WAIT).as_deref(), Some("World"));

    server.stop_with(libc::SIGINT, WAIT);
    drop(client);
    drop(net);
    for n in &names {
        assert!(!netns_exists(n), "{n} left behind");
    }
}

#[test]
fn a_lan_carries_broadcast_to_every_host_that_is_plugged_in() {
    let Some(net) = Net::new() else { return };
    let lan = net.lan();
    let hosts: Vec<_> = ["a", "b", "c"].iter().map(|n| net.host(n)).collect();
    let ports: Vec<_> = hosts.iter().map(|h| lan.join(h)).collect();
    assert_eq!(ports[2].addr(), Ipv4Addr::new(10, 213, 101, 3));
    assert_eq!(hosts[1].addr(), ports[1].addr());
    // a and b listen; c broadcasts
    let listeners: Vec<UdpSocket> = hosts[..2]
        .iter()
        .map(|h| {
            h.enter(|| {
                let s = UdpSocket::bind("0.0.0.0:5670").unwrap();
                s.set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                s
            })
        })
        .collect();
    let sender = hosts[2].enter(|| {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        s.set_broadcast(true).unwrap();
        s
    });
    // Heard: whether `l` receives a beacon within a second (sent every 100 ms)
    let heard = |l: &UdpSocket| -> Option<Ipv4Addr> {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut buf = [0u8; 16];
        while Instant::now() < deadline {
            sender.send_to(b"beacon", "255.255.255.255:5670").unwrap();
            if let Ok((n, from)) = l.recv_from(&mut buf) {
                assert_eq!(&buf[..n], b"beacon");
                match from.ip() {
                    std::net::IpAddr::V4(ip) => return Some(ip),
                    other => panic!("beacon from {other}"),
                }
            }
        }
        None
    };
    for l in &listeners {
        assert_eq!(heard(l), Some(ports[2].addr()));
    }
    // b unplugged: a still hears, b does not (and its sends would not fail: its interface is up)
    ports[1].down();
    assert!(!ports[1].has_carrier());
    assert_eq!(heard(&listeners[0]), Some(ports[2].addr()));
    while listeners[1].recv_from(&mut [0u8; 16]).is_ok() {} // what came before the unplug
    assert_eq!(heard(&listeners[1]), None);
    ports[1].up();
    assert_eq!(heard(&listeners[1]), Some(ports[2].addr()));
    let names = net.namespaces();
    drop(net);
    assert!(
        names.iter().all(|n| !netns_exists(n)),
        "{names:?} left behind"
    );
}
