//! Chapter 5, Clone model six with its own two programs: a `clonesrv6` pair and `clonecli6`
//! clients converge (a late one too) and lose the values that expire; the clients fail over to
//! the backup when the primary dies, with every update once, and the primary comes back with
//! the backup's snapshot; the same on three test hosts whose primary is cut off the network;
//! and a `clonesrv6` fed junk on every socket it reads keeps serving.

mod common;
use common::netns::{Host, Net};
use common::*;

use std::collections::BTreeMap;
use std::time::Duration;

use zmq_patterns::Msg;

/// Binary Star heartbeat and HUGZ interval of the test pairs: the peer is gone after 400 ms.
const HEARTBEAT_MS: &str = "200";

/// Three consecutive free ports (a Clone server's snapshot, publisher and collector, as a
/// model six client finds them); returns the first.
fn three_ports() -> u16 {
    free_ports(3)
}

/// The `--dump` lines among a program's output.
fn dump(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("[seq:"))
        .cloned()
        .collect()
}

/// Stops a program with SIGINT and returns what it prints from then on.
fn interrupt(p: &mut Proc) -> Vec<String> {
    p.signal(libc::SIGINT);
    let lines = p.lines_until_end(WAIT);
    p.wait_success(WAIT);
    lines
}

/// The sequence number in a line ending `=N`.
fn number_after_eq(line: &str) -> u64 {
    line.rsplit('=')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line:?}"))
}

/// A dump line's sequence number, key and body (hex, as `kvmsg_dump` prints a body that is not
/// text... or the text).
fn parse_dump(line: &str) -> (u64, String, String) {
    let seq = line
        .strip_prefix("[seq:")
        .and_then(|r| r.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"));
    let key = line
        .split("[key:")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    let body = line.rsplit(']').next().unwrap_or_default().to_string();
    (seq, key, body)
}

/// A body as `--dump` prints it: hex, as the guide's `kvmsg_dump` prints numbers.
fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02X}")).collect()
}

/// Where the two servers of a pair are, and how they reach each other. On one machine all are
/// 127.0.0.1; on test hosts each server has an address for its peer and one for the client.
struct Pair {
    /// Snapshot ports (publisher + 1, collector + 2).
    ports: [u16; 2],
    state_ports: [u16; 2],
    /// Each server's address as its peer sees it.
    peer_addr: [String; 2],
}

impl Pair {
    fn local() -> Pair {
        Pair {
            ports: [three_ports(), three_ports()],
            state_ports: {
                let s = three_ports();
                [s, s + 1]
            },
            peer_addr: ["127.0.0.1".into(), "127.0.0.1".into()],
        }
    }

    /// The arguments of the primary (0) or the backup (1).
    fn args(&self, me: usize) -> Vec<String> {
        let peer = 1 - me;
        let (port, peer_port) = (self.ports[me], self.ports[peer]);
        let peer_addr = &self.peer_addr[peer];
        #[rustfmt::skip]
        let args = [
            if me == 0 { "-p" } else { "-b" }.to_string(),
            "--statepub".into(), format!("tcp://*:{}", self.state_ports[me]),
            "--statesub".into(), format!("tcp://{peer_addr}:{}", self.state_ports[peer]),
            "--snapshot".into(), format!("tcp://*:{port}"),
            "--publisher".into(), format!("tcp://*:{}", port + 1),
            "--collector".into(), format!("tcp://*:{}", port + 2),
            "--peer-snapshot".into(), format!("tcp://{peer_addr}:{peer_port}"),
            "--peer-publisher".into(), format!("tcp://{peer_addr}:{}", peer_port + 1),
            "--heartbeat-ms".into(), HEARTBEAT_MS.into(),
            "--flush-ms".into(), "100".into(),
            "--dump".into(),
        ];
        args.to_vec()
    }

    /// The primary (0) or the backup (1) on test host `host`.
    fn server_on(&self, host: &Host, me: usize) -> Proc {
        let args = self.args(me);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        host.spawn(bin!("clonesrv6"), &args)
    }

    fn server(&self, me: usize) -> Proc {
        let args = self.args(me);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Proc::start(bin!("clonesrv6"), &args)
    }

    /// The primary's (0) or backup's (1) name as a client on this machine names it.
    fn name(&self, me: usize) -> String {
        tcp(self.ports[me])
    }

    /// A clonecli6 of this pair, with `--dump`.
    fn client(&self, extra: &[&str]) -> Proc {
        let (primary, backup) = (self.name(0), self.name(1));
        let mut args = vec!["--primary", &primary, "--backup", &backup, "--dump"];
        args.extend_from_slice(extra);
        Proc::start(bin!("clonecli6"), &args)
    }
}

/// Starts a pair and waits until the primary is active and the backup has its snapshot.
fn start_pair(pair: &Pair) -> (Proc, Proc) {
    let primary = pair.server(0);
    let backup = pair.server(1);
    primary.expect("I: connected to backup (passive), ready active", WAIT);
    backup.expect("I: connected to primary (active), ready passive", WAIT);
    backup.expect("I: received snapshot=0", WAIT);
    (primary, backup)
}

#[test]
fn three_clonecli6_and_a_late_one_converge_with_the_pair_and_expired_values_go() {
    let pair = Pair::local();
    let (mut primary, mut backup) = start_pair(&pair);
    // 20 values each, 100 ms apart, on 8 keys the clients share, each living 0..2 s
    #[rustfmt::skip]
    let extra = [
        "--interval-ms", "100", "--updates", "20", "--keys", "8", "--max-ttl", "3",
        "--server-ttl-ms", "3000",
    ];
    let mut clients: Vec<Proc> = (0..3).map(|_| pair.client(&extra)).collect();
    let snapshot_from_primary = format!("I: received from {} snapshot=", pair.name(0));
    for c in &clients {
        c.expect(&snapshot_from_primary, WAIT);
    }
    // Watch the primary number them; a fourth client joins when 30 are in, and sets 10 more
    // that do not expire
    let (mut updates, mut last) = (0, 0);
    let mut deletes = 0;
    while updates < 70 {
        let line = primary.expect("I: publishing ", WAIT);
        updates += usize::from(line.contains("I: publishing update="));
        deletes += usize::from(line.contains("I: publishing delete="));
        last = number_after_eq(&line);
        if updates == 30 && clients.len() == 3 {
            // (its keys are its own, and last: some values are left at the end)
            #[rustfmt::skip]
            let late = pair.client(&[
                "--interval-ms", "100", "--updates", "10", "--counter", "late/",
                "--max-ttl", "1", "--server-ttl-ms", "3000",
            ]);
            clients.push(late);
        }
    }
    assert_eq!(updates, 70, "more updates than the clients set");
    // Every value with a ttl is gone 2 s (and a flush) after the last update: watch the deletes
    for line in primary.lines_for(Duration::from_millis(3000)) {
        assert!(line.contains("I: publishing delete="), "{line}");
        deletes += 1;
        last = number_after_eq(&line);
    }
    assert!(deletes > 0, "nothing expired");
    let want = format!("update={last}");
    let mut dumps = Vec::new();
    for c in &mut clients {
        c.expect(&want, WAIT);
        let lines = interrupt(c);
        dumps.push(dump(&lines));
    }
    backup.expect(&format!("I: received update={last}"), WAIT);
    let primary_lines = interrupt(&mut primary);
    let map = dump(&primary_lines);
    let backup_map = dump(&interrupt(&mut backup));
    assert!(
        !map.is_empty(),
        "the lasting values are gone too: {primary_lines:?}"
    );
    for line in &map {
        assert!(
            line.contains(" [ttl=0;]"),
            "an expired value is left: {line}"
        );
    }
    assert_eq!(backup_map, map, "the backup's map is not the primary's");
    for (i, d) in dumps.iter().enumerate() {
        assert_eq!(d, &map, "client {i}'s map is not the server's");
    }
}

/// Client `i` sets `/client/i/0` .. `/client/i/{n-1}`, each to its number, with no ttl: the
/// map that holds each once, as `--dump` prints it, without the sequence numbers.
fn counted(clients: std::ops::Range<usize>, n: usize) -> BTreeMap<String, String> {
    clients
        .flat_map(|i| (0..n).map(move |k| (format!("/client/{i}/{k}"), hex(&k.to_string()))))
        .collect()
}

/// A dump as key → body, checking that no sequence number is above `top` nor given twice.
fn keys_and_bodies(dump: &[String], top: u64) -> BTreeMap<String, String> {
    let mut seqs = std::collections::BTreeSet::new();
    let mut map = BTreeMap::new();
    for line in dump {
        let (seq, key, body) = parse_dump(line);
        assert!(seq <= top && seqs.insert(seq), "sequence {seq}: {dump:?}");
        map.insert(key, body);
    }
    map
}

#[test]
fn clients_fail_over_to_the_backup_with_every_update_once_and_the_primary_comes_back() {
    let pair = Pair::local();
    let (mut primary, mut backup) = start_pair(&pair);
    // Three clients, 100 updates each on keys of their own; each ends once update 300 is in
    // (so none can end if one is lost, and one applied twice would number past 300)
    let prefixes: Vec<String> = (0..3).map(|i| format!("{i}/")).collect();
    let mut clients: Vec<Proc> = prefixes
        .iter()
        .map(|prefix| {
            #[rustfmt::skip]
            let c = pair.client(&[
                "--counter", prefix, "--max-ttl", "1", "--interval-ms", "30",
                "--updates", "100", "--last", "300", "--server-ttl-ms", "1000",
            ]);
            c
        })
        .collect();
    // The primary dies a fifth of the way
    primary.expect("I: publishing update=60", WAIT);
    primary.kill();
    let silent = format!("I: server at {} didn't give HUGZ", pair.name(0));
    let snapshot_from_backup = format!("I: received from {} snapshot=", pair.name(1));
    let mut dumps = Vec::new();
    for c in &mut clients {
        c.expect(&silent, WAIT);
        c.expect(&snapshot_from_backup, WAIT);
        let lines = c.lines_until_end(WAIT);
        c.wait_success(WAIT);
        assert!(lines.iter().any(|l| l.ends_with("update=300")), "{lines:?}");
        dumps.push(dump(&lines));
    }
    backup.expect("I: failover successful, ready active", WAIT);
    for (i, d) in dumps.iter().enumerate() {
        assert_eq!(keys_and_bodies(d, 300), counted(0..3, 100), "client {i}");
    }

    // The primary comes back: passive, with the backup's snapshot
    let mut primary = pair.server(0);
    primary.expect("I: connected to backup (active), ready passive", WAIT);
    primary.expect("I: received snapshot=300", WAIT);
    // and it follows the backup: a late client asks the (passive) primary first, goes on to the
    // backup, and sets 5 values the primary receives
    #[rustfmt::skip]
    let mut late = pair.client(&[
        "--counter", "3/", "--max-ttl", "1", "--interval-ms", "30",
        "--updates", "5", "--last", "305", "--server-ttl-ms", "1000",
    ]);
    late.expect(&snapshot_from_backup, WAIT);
    primary.expect("I: received update=305", WAIT);
    let late_lines = late.lines_until_end(WAIT);
    late.wait_success(WAIT);
    let primary_map = dump(&interrupt(&mut primary));
    let backup_lines = interrupt(&mut backup);
    let map = dump(&backup_lines);
    assert!(
        !backup_lines.iter().any(|l| l.contains("=306")),
        "{backup_lines:?}"
    );
    let mut want = counted(0..3, 100);
    want.extend((0..5).map(|k| (format!("/client/3/{k}"), hex(&k.to_string()))));
    assert_eq!(keys_and_bodies(&map, 305), want, "none lost, none twice");
    assert_eq!(primary_map, map, "the primary's map is not the backup's");
    assert_eq!(dump(&late_lines), map, "the late client's map");
}

/// The failover case on three test hosts, a link between each two: the primary is cut off the
/// network (both its links unplugged; it stays up, active and alone) while the client sets
/// values; the client fails over to the backup, which holds every update once. Then the
/// primary is killed, plugged back and restarted: it takes the backup's snapshot.
#[test]
fn on_three_test_hosts_the_client_fails_over_when_the_primary_is_cut_off() {
    let Some(net) = Net::new() else { return };
    let (p, b, c) = (net.host("p"), net.host("b"), net.host("c"));
    let pb = net.link(&p, &b);
    let pc = net.link(&p, &c);
    let bc = net.link(&b, &c);
    let (p_pb, b_pb) = pb.addrs();
    let (p_pc, _) = pc.addrs();
    let (b_bc, _) = bc.addrs();
    // Each host has its ports to itself: the guide's
    let pair = Pair {
        ports: [5556, 5566],
        state_ports: [5003, 5004],
        peer_addr: [p_pb.to_string(), b_pb.to_string()],
    };
    let mut primary = pair.server_on(&p, 0);
    let mut backup = pair.server_on(&b, 1);
    primary.expect("I: connected to backup (passive), ready active", WAIT);
    backup.expect("I: received snapshot=0", WAIT);
    let (p_name, b_name) = (format!("tcp://{p_pc}:5556"), format!("tcp://{b_bc}:5566"));
    #[rustfmt::skip]
    let mut client = c.spawn(bin!("clonecli6"), &[
        "--primary", &p_name, "--backup", &b_name, "--counter", "0/", "--max-ttl", "1",
        "--interval-ms", "30", "--updates", "100", "--last", "100", "--server-ttl-ms", "1000",
        "--dump",
    ]);
    primary.expect("I: publishing update=30", WAIT);
    pb.down();
    pc.down();
    client.expect(&format!("I: server at {p_name} didn't give HUGZ"), WAIT);
    client.expect(&format!("I: received from {b_name} snapshot="), WAIT);
    let lines = client.lines_until_end(WAIT);
    client.wait_success(WAIT);
    backup.expect("I: failover successful, ready active", WAIT);
    let want = counted(0..1, 100);
    assert_eq!(
        keys_and_bodies(&dump(&lines), 100),
        want,
        "the client's map"
    );

    // The primary, alone, is still active: stop it, plug it back, start it again. (Its
    // kernel would deliver what it had sent into the cut once the link is back, the dead
    // primary's "active" state among it, and the backup, hearing a second active server,
    // would stop, as Binary Star says: wait until those connections have given up first.)
    assert!(primary.is_running(), "{}", primary.context());
    p.enter(|| std::fs::write("/proc/sys/net/ipv4/tcp_orphan_retries", "1"))
        .expect("tcp_orphan_retries");
    primary.kill();
    let sockets = || {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", p.netns(), "ss", "-tanH"])
            .output()
            .expect("ss");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with("LISTEN"))
            .map(str::to_string)
            .collect::<Vec<String>>()
    };
    assert!(
        wait_until(Duration::from_secs(60), || sockets().is_empty()),
        "the dead primary's connections are still there: {:?}",
        sockets()
    );
    pb.up();
    pc.up();
    let mut primary = pair.server_on(&p, 0);
    primary.expect("I: connected to backup (active), ready passive", WAIT);
    primary.expect("I: received snapshot=100", WAIT);
    let primary_map = dump(&interrupt(&mut primary));
    let map = dump(&interrupt(&mut backup));
    assert_eq!(keys_and_bodies(&map, 100), want, "none lost, none twice");
    assert_eq!(primary_map, map, "the primary's map is not the backup's");
    drop(net);
}

/// A test socket of `kind`, linger 0, with send and receive deadlines.
fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
    s
}

fn frames(parts: &[&[u8]]) -> Msg {
    parts.iter().copied().collect()
}

/// A kvmsg's five frames, no UUID.
fn kvmsg_frames(key: &[u8], sequence: u64, props: &[u8], body: &[u8]) -> Msg {
    frames(&[key, &sequence.to_be_bytes(), b"", props, body])
}

/// A primary whose "backup" is this test: junk states before the one that makes it active,
/// junk updates on its collector (the test's PUB connects to the SUB it binds) before a good
/// one, junk snapshot requests on its ROUTER before a good one. It logs and drops each, and
/// numbers, publishes and serves only the good ones.
#[test]
fn clonesrv6_drops_junk_on_every_socket_and_keeps_serving() {
    let pair = Pair::local();
    let ctx = zmq::Context::new();
    let peer = socket(&ctx, zmq::PUB);
    peer.bind(&tcp(pair.state_ports[1])).unwrap();
    let mut primary = pair.server(0);
    primary.expect("I: primary active, waiting for backup (passive)", WAIT);
    let big = vec![0xA5u8; 4 << 20];

    // The state socket: small junk, until the primary hears the one valid state among it
    // ("2": a passive backup). (A huge state comes last: libzmq drops the connection over it,
    // for good.)
    let deadline = std::time::Instant::now() + WAIT;
    let changed = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            primary.context()
        );
        for junk in [&b"5"[..], b"x", b"33", b"", b"\xff\xfe", b"-1"] {
            peer.send(junk, 0).unwrap();
        }
        peer.send_multipart(["2", "2"], 0).unwrap();
        peer.send("2", 0).unwrap();
        if let Some(line) = primary.next_line(Duration::from_millis(100)) {
            break line;
        }
    };
    assert!(
        changed.ends_with("I: connected to backup (passive), ready active"),
        "{changed}"
    );

    // The collector: junk, then a good update; the first published is the good one, numbered 1
    let sub = socket(&ctx, zmq::SUB);
    sub.set_subscribe(b"/client/").unwrap();
    sub.connect(&tcp(pair.ports[0] + 1)).unwrap();
    let xpub = socket(&ctx, zmq::XPUB);
    xpub.connect(&tcp(pair.ports[0] + 2)).unwrap();
    assert_eq!(
        xpub.recv_bytes(0).unwrap(),
        b"\x01",
        "the collector subscribes"
    );
    let s = 0u64.to_be_bytes();
    let junk: Vec<Msg> = vec![
        frames(&[b"/client/k"]),
        frames(&[b"/client/k", &s, b"v"]), // a kvsimple, not a kvmsg
        frames(&[b"/client/k", &s, b"", b"", b"v", b"extra"]),
        frames(&[b"/client/k", b"1234567", b"", b"", b"v"]),
        frames(&[b"/client/k", &s, b"12345", b"", b"v"]), // a UUID of 5 bytes
        kvmsg_frames(b"/client/k", 0, b"noequals\n", b"v"),
        kvmsg_frames(b"/client/k", 0, b"ttl=soon\n", b"v"),
        kvmsg_frames(&[b'k'; 256], 0, b"", b"v"),
        kvmsg_frames(b"\xff\xfe", 0, b"", b"v"),
        kvmsg_frames(b"/client/k", 0, &big, b"v"),
        frames(&[&big]),
        frames(&[b""]),
    ];
    for msg in junk {
        msg.send(&xpub).unwrap();
    }
    let mut good = zmq_patterns::kvmsg::KvMsg::new("/client/ok", 0, "1").unwrap();
    good.set_uuid();
    good.set_prop("ttl", "0").unwrap();
    good.clone().into_msg().send(&xpub).unwrap();
    let first = primary.expect("I: publishing ", WAIT);
    assert!(first.ends_with("I: publishing update=1"), "{first}");
    primary.expect_stderr("update dropped", WAIT);
    primary.expect_stderr("ttl property \"soon\"", WAIT);
    let texts = |m: Msg| -> Vec<Vec<u8>> { m.iter().map(|f| f.as_bytes().to_vec()).collect() };
    good.set_sequence(1);
    assert_eq!(texts(Msg::recv(&sub).unwrap()), texts(good.to_msg()));

    // The snapshot ROUTER (the Binary Star voter): junk requests, then a good one
    let dealer = socket(&ctx, zmq::DEALER);
    dealer.connect(&tcp(pair.ports[0])).unwrap();
    for msg in [
        frames(&[b"ICANHAZ"]),
        frames(&[b"ICANHAZ?", b"nope"]),
        frames(&[b"ICANHAZ?", b"/client/", b"extra"]),
        frames(&[b"ICANHAZ?", &big]),
        frames(&[&big, &big]),
        frames(&[b""]),
    ] {
        msg.send(&dealer).unwrap();
    }
    frames(&[b"ICANHAZ?", b"/client/"]).send(&dealer).unwrap();
    assert_eq!(texts(Msg::recv(&dealer).unwrap()), texts(good.to_msg()));
    assert_eq!(
        texts(Msg::recv(&dealer).unwrap()),
        texts(kvmsg_frames(b"KTHXBAI", 1, b"", b"/client/"))
    );
    primary.expect("I: sending shapshot=1", WAIT);
    primary.expect_stderr("snapshot request dropped", WAIT);

    // A huge state: the server stays up, active, and serves
    peer.send(&big[..], 0).unwrap();
    for _ in 0..3 {
        frames(&[b"ICANHAZ?", b"/other/"]).send(&dealer).unwrap();
        assert_eq!(
            texts(Msg::recv(&dealer).unwrap()),
            texts(kvmsg_frames(b"KTHXBAI", 1, b"", b"/other/"))
        );
    }
    assert!(primary.is_running(), "{}", primary.context());
    let map = dump(&interrupt(&mut primary));
    assert_eq!(map, ["[seq:1][key:/client/ok][size:1] [ttl=0;]31"]);
}
