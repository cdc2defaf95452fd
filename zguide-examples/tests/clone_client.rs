//! Chapter 5, the Clone pattern, model six: the real `clonecli6` against stand-in servers made
//! of plain sockets here (a ROUTER answering `ICANHAZ?`, an XPUB sending updates and `HUGZ`, a
//! SUB collecting the client's sets): it takes the snapshot, applies the newer updates, sends
//! well-formed sets, and fails over to the backup when the primary goes silent.

mod common;
use common::*;

use std::time::{Duration, Instant};

use zmq_patterns::kvmsg::{KvMsg, snapshot};
use zmq_patterns::{Frame, Msg};

/// Three consecutive free ports (a Clone server's snapshot, publisher and collector); returns
/// the first.
fn three_ports() -> u16 {
    free_ports(3)
}

/// A stand-in Clone server at 127.0.0.1: ROUTER at `port`, XPUB at `port + 1` (so that the
/// test sees the client's subscriptions), SUB at `port + 2` (the collector).
struct Fake {
    port: u16,
    router: zmq::Socket,
    publisher: zmq::Socket,
    collector: zmq::Socket,
}

fn socket(ctx: &zmq::Context, kind: zmq::SocketType, port: u16) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
    if kind == zmq::SUB {
        s.set_subscribe(b"").unwrap();
    }
    s.bind(&tcp(port)).unwrap();
    s
}

impl Fake {
    fn new(ctx: &zmq::Context) -> Fake {
        let port = three_ports();
        Fake {
            port,
            router: socket(ctx, zmq::ROUTER, port),
            publisher: socket(ctx, zmq::XPUB, port + 1),
            collector: socket(ctx, zmq::SUB, port + 2),
        }
    }

    /// The server as the client names it.
    fn name(&self) -> String {
        tcp(self.port)
    }

    /// Waits for a snapshot request for `/client/` and returns the client's address.
    fn request(&self) -> Frame {
        let mut msg = Msg::recv(&self.router).expect("a snapshot request");
        let client = msg.pop_front().unwrap();
        let texts: Vec<String> = msg.iter().map(|f| f.to_string_lossy()).collect();
        assert_eq!(texts, ["ICANHAZ?", "/client/"]);
        client
    }

    /// Sends `pairs` and `KTHXBAI` at `sequence` to `client`.
    fn snapshot(&self, client: &Frame, pairs: &[(&str, u64, &str)], sequence: u64) {
        let end = snapshot::end::<KvMsg>(sequence, "/client/");
        for kv in pairs.iter().map(|p| kv(*p)).chain([end]) {
            let mut msg = kv.into_msg();
            msg.push_front(client.clone());
            msg.send(&self.router).unwrap();
        }
    }

    /// Waits until the client has subscribed to `topic`.
    fn subscribed(&self, topic: &str) {
        let want = [&[1u8][..], topic.as_bytes()].concat();
        while self.publisher.recv_bytes(0).expect("a subscription") != want {}
    }

    fn publish(&self, pair: (&str, u64, &str)) {
        kv(pair).send(&self.publisher).unwrap();
    }
}

fn kv((key, sequence, body): (&str, u64, &str)) -> KvMsg {
    KvMsg::new(key, sequence, body).unwrap()
}

/// Checks a set as the C `clonecli6` sends it: `[/client/N][0][uuid][ttl=0..29\n][number]`;
/// returns its key and value.
fn well_formed(msg: Msg) -> (String, String) {
    let frames: Vec<&[u8]> = msg.iter().map(|f| f.as_bytes()).collect();
    assert_eq!(frames.len(), 5, "{msg:?}");
    let key = String::from_utf8(frames[0].to_vec()).unwrap();
    let n: u32 = key.strip_prefix("/client/").unwrap().parse().unwrap();
    assert!(n < 10_000, "{key}");
    assert_eq!(frames[1], [0u8; 8], "a set has no sequence number");
    assert_eq!(frames[2].len(), 16, "a uuid");
    let props = std::str::from_utf8(frames[3]).unwrap();
    let ttl: u64 = props
        .strip_prefix("ttl=")
        .and_then(|p| p.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("props {props:?}"))
        .parse()
        .unwrap();
    assert!(ttl < 30, "ttl {ttl}");
    let value = String::from_utf8(frames[4].to_vec()).unwrap();
    assert!(value.parse::<u32>().unwrap() < 1_000_000, "{value}");
    (key, value)
}

#[test]
fn clonecli6_takes_the_snapshot_applies_newer_updates_and_sends_well_formed_sets() {
    let ctx = zmq::Context::new();
    let primary = Fake::new(&ctx);
    let nobody = tcp(three_ports()); // a backup that is not there
    let mut client = Proc::start(
        bin!("clonecli6"),
        &[
            "--primary",
            &primary.name(),
            "--backup",
            &nobody,
            "--interval-ms",
            "200",
            "--updates",
            "5",
            "--last",
            "12",
            "--dump",
        ],
    );
    client.expect(&format!("I: adding server {}...", primary.name()), WAIT);
    let address = primary.request();
    primary.snapshot(
        &address,
        &[("/client/a", 8, "1"), ("/client/b", 10, "2")],
        10,
    );
    client.expect(
        &format!("I: received from {} snapshot=10", primary.name()),
        WAIT,
    );
    // The client's sets reach the collector (a PUB socket drops what it sends before the
    // connection is up: the first may be lost). Read them now: the client cannot end before
    // it has update 12, and a peer's messages still unread when it goes are dropped.
    let sets: Vec<(String, String)> = (0..2)
        .map(|_| well_formed(Msg::recv(&primary.collector).expect("a set")))
        .collect();
    assert_ne!(sets[0], sets[1]);
    primary.subscribed("/client/");
    primary.publish(("/client/b", 9, "old")); // not newer than the snapshot
    primary.publish(("/client/c", 11, "3"));
    primary.publish(("HUGZ", 11, ""));
    primary.publish(("/client/a", 12, "")); // deletes
    client.expect("update=12", WAIT);
    let lines = client.lines_until_end(WAIT);
    client.wait_success(WAIT);

    // The map: the snapshot and the newer updates (the sets, sequence 0, are the client's own)
    let held: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("[seq:") && !l.starts_with("[seq:0]"))
        .collect();
    assert_eq!(
        held,
        [
            "[seq:10][key:/client/b][size:1] 32",
            "[seq:11][key:/client/c][size:1] 33"
        ],
        "{}",
        client.context()
    );
    let own = lines
        .iter()
        .filter(|l| l.starts_with("[seq:0][key:/client/"));
    assert!(own.count() <= 5, "{}", client.context());
}

#[test]
fn clonecli6_fails_over_to_the_backup_when_the_primary_is_silent() {
    let ttl = Duration::from_millis(1000);
    let ctx = zmq::Context::new();
    let (primary, backup) = (Fake::new(&ctx), Fake::new(&ctx));
    let client = Proc::start(
        bin!("clonecli6"),
        &[
            "--primary",
            &primary.name(),
            "--backup",
            &backup.name(),
            "--interval-ms",
            "100",
            "--server-ttl-ms",
            &ttl.as_millis().to_string(),
        ],
    );
    let address = primary.request();
    primary.snapshot(&address, &[("/client/a", 5, "1")], 5);
    client.expect(
        &format!("I: received from {} snapshot=5", primary.name()),
        WAIT,
    );

    // While the primary gives HUGZ, the backup is not asked
    primary.subscribed("/client/");
    backup.router.set_rcvtimeo(100).unwrap();
    let hugging = Instant::now();
    while hugging.elapsed() < ttl * 3 {
        primary.publish(("HUGZ", 5, ""));
        assert!(
            Msg::recv(&backup.router).is_err(),
            "the backup was asked while the primary gave HUGZ\n{}",
            client.context()
        );
    }

    // Silence: the backup is asked for a snapshot within the silence time (plus a margin for
    // a loaded machine)
    let silent = Instant::now();
    backup.router.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    let address = backup.request();
    let after = silent.elapsed();
    assert!(
        after >= ttl / 2 && after < ttl + Duration::from_secs(3),
        "the backup was asked {after:?} after the primary went silent"
    );
    client.expect(
        &format!("I: server at {} didn't give HUGZ", primary.name()),
        WAIT,
    );
    backup.snapshot(&address, &[("/client/a", 7, "2")], 7);
    client.expect(
        &format!("I: received from {} snapshot=7", backup.name()),
        WAIT,
    );
    backup.subscribed("/client/");
    backup.publish(("/client/b", 8, "3"));
    client.expect(
        &format!("I: received from {} update=8", backup.name()),
        WAIT,
    );
    // The client's sets go to the backup too
    backup
        .collector
        .set_rcvtimeo(WAIT.as_millis() as i32)
        .unwrap();
    let msg = Msg::recv(&backup.collector).expect("a set at the backup");
    well_formed(msg);
}

#[test]
fn clonecli6_dumps_its_map_on_ctrl_c() {
    let ctx = zmq::Context::new();
    let primary = Fake::new(&ctx);
    let nobody = tcp(three_ports());
    let mut client = Proc::start(
        bin!("clonecli6"),
        &[
            "--primary",
            &primary.name(),
            "--backup",
            &nobody,
            "--updates",
            "0",
            "--dump",
        ],
    );
    let address = primary.request();
    primary.snapshot(&address, &[("/client/a", 3, "1")], 3);
    client.expect(
        &format!("I: received from {} snapshot=3", primary.name()),
        WAIT,
    );
    primary.subscribed("/client/");
    primary.publish(("/client/c", 4, "2"));
    client.expect("update=4", WAIT);
    client.signal(libc::SIGINT);
    let lines = client.lines_until_end(WAIT);
    client.wait_success(WAIT);
    assert_eq!(
        lines,
        [
            "[seq:3][key:/client/a][size:1] 31",
            "[seq:4][key:/client/c][size:1] 32"
        ],
        "{}",
        client.context()
    );
}

/// The C clonecli6 set its first value at once, before its connection to the collector was
/// up, and lost it; this one sets nothing before its first snapshot, then `/client/0`, ... with
/// `--counter`.
#[test]
fn clonecli6_sets_nothing_before_its_snapshot_and_loses_no_set() {
    let ctx = zmq::Context::new();
    let primary = Fake::new(&ctx);
    let nobody = tcp(three_ports());
    let _client = Proc::start(
        bin!("clonecli6"),
        &[
            "--primary",
            &primary.name(),
            "--backup",
            &nobody,
            "--interval-ms",
            "50",
            "--updates",
            "3",
            "--counter",
            "--max-ttl",
            "1",
        ],
    );
    let address = primary.request();
    // The request shows that the client is connected: a set made now would arrive
    primary.collector.set_rcvtimeo(500).unwrap();
    assert!(
        Msg::recv(&primary.collector).is_err(),
        "a set before the snapshot"
    );
    primary.snapshot(&address, &[], 0);
    primary
        .collector
        .set_rcvtimeo(WAIT.as_millis() as i32)
        .unwrap();
    for n in 0..3 {
        let set = Msg::recv(&primary.collector).expect("a set");
        let texts: Vec<String> = set.iter().map(|f| f.to_string_lossy()).collect();
        assert_eq!(texts[0], format!("/client/{n}"), "{texts:?}");
        assert_eq!(
            (texts[3].as_str(), texts[4].as_str()),
            ("ttl=0\n", &*n.to_string())
        );
    }
}
