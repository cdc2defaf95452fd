//! Chapter 8, decentralized chat: `dechat` on three test hosts of one LAN delivers each line
//! typed on one host to the other two, and prints nothing a hostile node sends that is not one
//! line of text.

mod common;
use common::netns::Net;
use common::*;

use std::time::{Duration, Instant};

/// Types `line` on `from` until every one of `to` has printed `name: line` (the first lines
/// may go before the subscriptions are through, as with any PUB).
fn until_heard(from: &mut Proc, name: &str, to: &[&Proc], line: &str) {
    let deadline = Instant::now() + WAIT;
    let want = format!("{name}: {line}");
    let mut heard = vec![false; to.len()];
    while heard.contains(&false) {
        assert!(
            Instant::now() < deadline,
            "{want:?} not heard by all: {heard:?}"
        );
        from.write_stdin(&format!("{line}\n"));
        for (i, p) in to.iter().enumerate() {
            while !heard[i] {
                match p.next_line(Duration::from_millis(200)) {
                    Some(l) => heard[i] = l == want,
                    None => break,
                }
            }
        }
    }
}

/// Reads `p`'s lines until `want`; every line before it must be one of `earlier` (what the
/// chat said before, and its repeats).
fn next_new_line(p: &Proc, want: &str, earlier: &[&str], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(line) = p.next_line(left) else {
            return false;
        };
        if line == want {
            return true;
        }
        assert!(
            earlier.contains(&line.as_str()),
            "printed {line:?}\n{}",
            p.context()
        );
    }
}

#[test]
fn each_line_reaches_the_other_hosts_and_nothing_else_is_printed() {
    let Some(net) = Net::new() else { return };
    let lan = net.lan();
    let names = ["alice", "bob", "carol"];
    let hosts: Vec<_> = ["a", "b", "c"].iter().map(|n| net.host(n)).collect();
    let ports: Vec<_> = hosts.iter().map(|h| lan.join(h)).collect();
    let mut chat: Vec<Proc> = hosts
        .iter()
        .zip(&ports)
        .zip(names)
        .map(|((h, p), name)| {
            let addr = p.addr().to_string();
            h.spawn_with(bin!("dechat"), &[&addr, p.iface(), name], &[], true)
        })
        .collect();
    for ((p, name), port) in chat.iter().zip(names).zip(&ports) {
        let at = format!("tcp://{}:9000 (eth0)", port.addr());
        p.expect(&format!("I: {name} is chatting at {at}"), WAIT);
    }
    let (first, rest) = chat.split_at_mut(1);
    until_heard(&mut first[0], "alice", &[&rest[0], &rest[1]], "sync");
    let (head, last) = chat.split_at_mut(2);
    until_heard(&mut last[0], "carol", &[&head[0], &head[1]], "sync");
    // now the subscriptions are through: one line, heard once by each
    chat[1].write_stdin("hello from bob\n");
    for i in [0, 2] {
        chat[i].expect("bob: hello from bob", WAIT);
    }

    // a hostile node on the same LAN, where dechat looks for peers
    let evil = net.host("evil");
    let pe = lan.join(&evil);
    let ctx = zmq::Context::new();
    let publisher = evil.enter(|| {
        let s = ctx.socket(zmq::PUB).unwrap();
        s.set_linger(0).unwrap();
        s.bind(&format!("tcp://{}:9000", pe.addr())).unwrap();
        s
    });
    // the listeners connect within their reconnect back-off: send until each has heard; the
    // lines of the others and their own (each also hears itself) may still come first
    let earlier = ["alice: sync", "carol: sync", "bob: hello from bob"];
    let mallory = "mallory: just a line";
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut heard = [false; 3];
    while heard.contains(&false) {
        assert!(
            Instant::now() < deadline,
            "the hostile node was not heard by all: {heard:?}"
        );
        publisher
            .send_multipart(["bob: two", "frames\n"], 0)
            .unwrap();
        publisher.send(&b"\xff\xfe not text\n"[..], 0).unwrap();
        publisher
            .send("bob: hi\nalice: I owe bob 100\n", 0)
            .unwrap();
        publisher.send(mallory, 0).unwrap();
        // past --max-message-bytes: libzmq drops the connection (it comes back)
        publisher.send(vec![b'x'; 10_000], 0).unwrap();
        for (p, heard) in chat.iter().zip(&mut heard) {
            if !*heard {
                *heard = next_new_line(p, mallory, &earlier, Duration::from_millis(100));
            }
        }
    }
    // the end of input ends a node; so does SIGTERM
    chat[0].close_stdin();
    chat[0].wait_success(WAIT);
    chat[1].stop_with(libc::SIGTERM, WAIT);
    chat[2].stop_with(libc::SIGINT, WAIT);
}
