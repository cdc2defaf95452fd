//! Chapter 3, "Asynchronous Client/Server": the one-process demo (asyncsrv) and the platform of
//! separate processes (asyncsrv-proxy, asyncsrv-server, asyncsrv-client).

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use zmq_patterns::Msg;

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
    // Each request is echoed 0 to 4 times, so each client has echoes (unless all ten of its
    // requests drew 0: 1 in 5^10): wait for the first, then read until they stop coming (a
    // worker takes at most 4 x 11 ms a request; an echo missed under load only counts less).
    let mut echoes: HashMap<String, u32> = HashMap::new();
    for (id, s) in &clients {
        s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
        let mut got = 0;
        while let Ok(msg) = s.recv_multipart(0) {
            assert_eq!(msg.len(), 1, "{msg:?}");
            let text = String::from_utf8(msg[0].clone()).unwrap();
            assert!(
                text.starts_with(&format!("hello {id}")),
                "{id} got another client's {text:?}"
            );
            *echoes.entry(text).or_default() += 1;
            got += 1;
            s.set_rcvtimeo(300).unwrap();
        }
        assert!(got > 0, "no echo for {id}\n{}", server.context());
    }
    assert!(echoes.values().all(|&n| n <= 4), "{echoes:?}");
    server.stop_with(libc::SIGINT, WAIT);
}

/// A running binary whose every stdout line is kept, for checks at the end.
struct Logged {
    name: String,
    proc: Proc,
    lines: Vec<String>,
}

impl Logged {
    fn start(name: &str, path: &str, args: &[&str], with_stdin: bool) -> Logged {
        let proc = Proc::spawn(path, args, &[], with_stdin, None);
        Logged {
            name: name.to_string(),
            proc,
            lines: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `pred`; panics with context after `timeout`.
    fn until(&mut self, what: &str, pred: impl Fn(&str) -> bool, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(line) = self.proc.next_line(left) else {
                panic!(
                    "{}: no {what} within {timeout:?}\n{}",
                    self.name,
                    self.proc.context()
                );
            };
            let done = pred(&line);
            self.lines.push(line);
            if done {
                return;
            }
        }
    }

    /// Reads lines until `n` lines in all satisfy `pred`.
    fn until_count(&mut self, what: &str, pred: impl Fn(&str) -> bool, n: usize) {
        while self.lines.iter().filter(|l| pred(l)).count() < n {
            self.until(what, &pred, WAIT);
        }
    }

    /// Reads the rest of the output, until the process ends.
    fn read_to_end(&mut self) {
        let rest = self.proc.lines_until_end(WAIT);
        self.lines.extend(rest);
    }
}

/// What a platform client printed, checked line by line.
#[derive(Debug, Default)]
struct ClientReport {
    id: String,
    /// Sequence number -> the server that answered it.
    answered: BTreeMap<u64, String>,
    duplicates: u64,
    retries: u64,
    /// sent, answered, retried, duplicates, lost
    summary: Option<[u64; 5]>,
}

/// Parses a client's output; panics on a second answer counted as an answer, on a duplicate of
/// a request not answered yet, and on any unexpected line.
fn client_report(c: &Logged) -> ClientReport {
    let mut r = ClientReport::default();
    let fail =
        |why: &str, line: &str| -> ! { panic!("{}: {why}: {line:?}\n{:#?}", c.name, c.lines) };
    for line in &c.lines {
        let Some((id, rest)) = line.split_once(' ') else {
            fail("bad line", line)
        };
        if !is_identity(id) {
            fail("no client id", line);
        }
        if r.id.is_empty() {
            r.id = id.to_string();
        } else if r.id != id {
            fail("another id", line);
        }
        let reply = |text: &str| -> Option<(u64, String)> {
            let (n, server) = text.split_once(" from ")?;
            Some((n.parse().ok()?, server.to_string()))
        };
        if let Some((n, server)) = rest.strip_prefix("reply #").and_then(reply) {
            if r.answered.insert(n, server).is_some() {
                fail("answered twice", line);
            }
        } else if let Some((n, _)) = rest.strip_prefix("duplicate reply #").and_then(reply) {
            if !r.answered.contains_key(&n) {
                fail("duplicate of a request not answered yet", line);
            }
            r.duplicates += 1;
        } else if rest.starts_with("no reply to #") && rest.ends_with(", retrying") {
            r.retries += 1;
        } else if let Some(s) = rest.strip_prefix("summary: ") {
            let numbers: Vec<u64> = s
                .split(", ")
                .zip(["sent ", "answered ", "retried ", "duplicates ", "lost "])
                .filter_map(|(part, key)| part.strip_prefix(key)?.parse().ok())
                .collect();
            match numbers.try_into() {
                Ok(n) => r.summary = Some(n),
                Err(_) => fail("bad summary", line),
            }
        } else if !rest.starts_with("started, connecting to ") {
            fail("unexpected line", line);
        }
    }
    r
}

#[test]
fn platform_answers_every_request_once_while_servers_die_and_join() {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let client_args = |requests: Option<&'static str>| -> Vec<String> {
        let mut a: Vec<String> = ["--connect", &fe, "--interval-ms", "100"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(["--timeout-ms".into(), "600".into()]);
        if let Some(n) = requests {
            a.extend(["--requests".into(), n.into()]);
        }
        a
    };
    let server_args = |name: &str| -> Vec<String> {
        ["--connect", &be, "--name", name, "--max-delay-ms", "20"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let proxy_args: Vec<String> = ["--frontend", &fe, "--backend", &be, "--max-delay-ms", "20"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // Who starts in which order is up to chance: every order must work
    let mut order = vec!["proxy", "s1", "s2", "c1", "c2", "c3"];
    order.shuffle(&mut rand::thread_rng());
    eprintln!("start order: {order:?}");
    let mut procs: HashMap<&str, Logged> = HashMap::new();
    for who in &order {
        let (path, args, stdin) = match *who {
            "proxy" => (bin!("asyncsrv-proxy"), proxy_args.clone(), true),
            "s1" | "s2" => (bin!("asyncsrv-server"), server_args(who), false),
            "c1" | "c2" => (bin!("asyncsrv-client"), client_args(Some("50")), false),
            _ => (bin!("asyncsrv-client"), client_args(None), false),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut p = Logged::start(who, path, &args, stdin);
        // The next starts once this one is up (bound or connected), so the order is real
        let ready = match *who {
            "proxy" => "I: proxy ready",
            "s1" | "s2" => "I: server",
            _ => "",
        };
        p.until(
            "start line",
            |l| l.starts_with(ready) && (!ready.is_empty() || l.contains(" started, ")),
            WAIT,
        );
        procs.insert(who, p);
    }
    let mut take = |who: &str| procs.remove(who).unwrap();
    let (mut proxy, mut s1, mut s2) = (take("proxy"), take("s1"), take("s2"));
    let mut clients = [take("c1"), take("c2"), take("c3")];

    for c in clients.iter_mut() {
        c.until_count("3 replies", |l| l.contains(" reply #"), 3);
    }
    // s1 dies while it serves: the requests it held are asked again
    s1.until("a request", |l| l.starts_with("s1: request #"), WAIT);
    s1.proc.signal(libc::SIGKILL);
    s1.proc.wait(WAIT);
    proxy.proc.write_stdin("add\n");
    proxy.until("add", |l| l == "I: added server proxy-1", WAIT);

    // c1 and c2 stop by themselves after 50 answers
    let mut servers = BTreeSet::new();
    for c in clients[..2].iter_mut() {
        c.read_to_end();
        c.proc.wait_success(WAIT);
        let r = client_report(c);
        let want: Vec<u64> = (1..=50).collect();
        assert_eq!(
            r.answered.keys().copied().collect::<Vec<_>>(),
            want,
            "{}: not every request answered once\n{:#?}",
            c.name,
            c.lines
        );
        assert_eq!(
            r.summary,
            Some([50, 50, r.retries, r.duplicates, 0]),
            "{}: summary does not match the output\n{:#?}",
            c.name,
            c.lines
        );
        servers.extend(r.answered.into_values());
    }
    // c3 runs until Ctrl-C: by then it has had replies from the added server too
    let c3 = &mut clients[2];
    c3.until(
        "a reply from proxy-1",
        |l| l.ends_with(" from proxy-1"),
        WAIT,
    );
    c3.proc.signal(libc::SIGINT);
    c3.read_to_end();
    c3.proc.wait_success(WAIT);
    let r = client_report(c3);
    let [sent, answered, retried, duplicates, lost] = r.summary.unwrap_or_else(|| {
        panic!("c3: no summary\n{:#?}", c3.lines);
    });
    assert_eq!(answered, r.answered.len() as u64, "{:#?}", c3.lines);
    assert_eq!((retried, duplicates), (r.retries, r.duplicates));
    assert_eq!(answered + lost, sent, "{:#?}", c3.lines);
    // Only the requests in flight at Ctrl-C may be unanswered
    let unanswered: Vec<u64> = (1..=sent).filter(|n| !r.answered.contains_key(n)).collect();
    assert!(
        unanswered.iter().all(|&n| n + 3 > sent),
        "c3: old requests unanswered: {unanswered:?}\n{:#?}",
        c3.lines
    );
    servers.extend(r.answered.into_values());

    assert!(
        servers.contains("s2") && servers.contains("proxy-1"),
        "replies came from {servers:?}"
    );
    s2.proc.stop_with(libc::SIGINT, WAIT);
    proxy.proc.write_stdin("quit\n");
    proxy.until("quit line", |l| l.starts_with("I: quit: "), WAIT);
    proxy.proc.wait_success(WAIT);
}

#[test]
fn platform_loses_no_request_when_the_proxy_restarts() {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let proxy_args = ["--frontend", &fe, "--backend", &be];
    let mut proxy = Proc::start(bin!("asyncsrv-proxy"), &proxy_args);
    proxy.expect("I: proxy ready", WAIT);
    let mut server = Proc::start(
        bin!("asyncsrv-server"),
        &["--connect", &be, "--name", "s1", "--workers", "2"],
    );
    server.expect("I: server s1 ready, 2 worker(s)", WAIT);
    let mut client = Logged::start(
        "client",
        bin!("asyncsrv-client"),
        &[
            "--connect",
            &fe,
            "--interval-ms",
            "50",
            "--timeout-ms",
            "1000",
            "--requests",
            "40",
        ],
        false,
    );
    client.until_count("5 replies", |l| l.contains(" reply #"), 5);
    // The proxy dies and comes back on the same endpoints; its stdin is closed (end of input)
    proxy.kill();
    // An outage, not a wait for anything: the client sends on into a dead connection for a
    // while and must ride it out (what follows waits for the client's own end)
    std::thread::sleep(Duration::from_millis(300));
    let mut proxy = Proc::start(bin!("asyncsrv-proxy"), &proxy_args);
    proxy.expect("I: proxy ready", WAIT);
    client.read_to_end();
    client.proc.wait_success(WAIT);
    let r = client_report(&client);
    assert_eq!(r.answered.len(), 40, "{:#?}", client.lines);
    assert_eq!(r.summary.map(|s| (s[0], s[1], s[4])), Some((40, 40, 0)));
    // Both workers of s1 answered, under their own names
    let names: BTreeSet<&str> = r.answered.values().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["s1/1", "s1/2"]),
        "{:#?}",
        client.lines
    );
    assert!(proxy.is_running(), "end of input stopped the proxy");
    server.stop_with(libc::SIGTERM, WAIT);
    proxy.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn platform_proxy_quits_without_servers_and_server_replies_name_it() {
    let (fe, be) = (tcp_ep(), tcp_ep());
    let mut proxy = Proc::start_with_stdin(
        bin!("asyncsrv-proxy"),
        &["--frontend", &fe, "--backend", &be],
    );
    proxy.expect("I: proxy ready", WAIT);
    // A request with no server to take it waits in the proxy; the console still answers
    let ctx = zmq::Context::new();
    let client = ctx.socket(zmq::DEALER).unwrap();
    client.set_linger(0).unwrap();
    client.set_identity(b"C1").unwrap();
    client.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    client.connect(&fe).unwrap();
    client.send("request #1", 0).unwrap();
    proxy.write_stdin("help\n");
    proxy.expect("W: unknown command 'help' (commands: add, quit)", WAIT);
    // A server that connects now gets it: [client][request] in, [client][request][name] out
    let mut server = Proc::start(bin!("asyncsrv-server"), &["--connect", &be, "--name", "S"]);
    server.expect("S: request #1 from C1", WAIT);
    let reply = Msg::recv(&client).unwrap();
    assert_eq!(reply.len(), 2, "{reply:?}");
    assert!(reply[0] == "request #1" && reply[1] == "S", "{reply:?}");
    server.stop_with(libc::SIGINT, WAIT);
    // Once the proxy has seen the server go (closed its end of the connection, so the pipe's
    // end is queued for its DEALER), the next request waits for another server, and gets it
    let backend_port = port_of(&be);
    assert!(
        wait_until(WAIT, || tcp_held(backend_port) == 0),
        "the proxy still holds the stopped server's connection\n{}",
        proxy.context()
    );
    client.send("request #2", 0).unwrap();
    let mut server = Proc::start(bin!("asyncsrv-server"), &["--connect", &be, "--name", "T"]);
    server.expect("T: request #2 from C1", WAIT);
    let reply = Msg::recv(&client).unwrap();
    assert!(reply[0] == "request #2" && reply[1] == "T", "{reply:?}");
    server.stop_with(libc::SIGINT, WAIT);
    proxy.write_stdin("quit\n");
    proxy.expect("I: quit: 2 requests and 2 replies forwarded", WAIT);
    proxy.wait_success(WAIT);
}

/// A platform client on another host than its proxy rides out a 15 s dead wire: every request
/// is answered once, and the wire coming back brings no flood of duplicate replies (it resends
/// one probe at a time, backing off, while it hears nothing).
#[test]
fn platform_client_rides_out_a_dead_wire_without_a_flood_of_duplicates() {
    let Some(net) = netns::Net::new() else { return };
    let (host_a, host_b) = (net.host("a"), net.host("b"));
    let wire = net.link(&host_a, &host_b);
    // Inside the test's own hosts every port is the test's own
    let frontend = format!("tcp://{}:5555", host_a.addr());
    let backend = "tcp://127.0.0.1:5556";
    let mut proxy = host_a.spawn(
        bin!("asyncsrv-proxy"),
        &["--frontend", &frontend, "--backend", backend],
    );
    proxy.expect("I: proxy ready", WAIT);
    let mut server = host_a.spawn(
        bin!("asyncsrv-server"),
        &["--connect", backend, "--name", "s1", "--workers", "2"],
    );
    server.expect("I: server s1 ready", WAIT);
    let mut client = Logged {
        name: "client".into(),
        proc: host_b.spawn(
            bin!("asyncsrv-client"),
            &[
                "--connect",
                &frontend,
                "--interval-ms",
                "250",
                "--timeout-ms",
                "1000",
                "--requests",
                "40",
            ],
        ),
        lines: Vec::new(),
    };
    client.until_count("5 replies", |l| l.contains(" reply #"), 5);

    // The wire between client and proxy goes dead for 15 s; the client sends on meanwhile
    wire.down();
    let grace = client.proc.lines_for(Duration::from_secs(1));
    let cut = client.proc.lines_for(Duration::from_secs(14));
    wire.up();
    assert!(
        !cut.iter().any(|l| l.contains(" reply #")),
        "replies came over a dead wire: {cut:#?}"
    );
    client.lines.extend(grace.into_iter().chain(cut));
    client.read_to_end();
    client.proc.wait_success(WAIT);

    let r = client_report(&client);
    // What the servers did meanwhile: one line per request handled, resends included
    let served = server
        .lines_for(Duration::from_millis(1000))
        .iter()
        .filter(|l| l.contains(": request #"))
        .count();
    eprintln!(
        "after a 15 s outage: retried {}, duplicate replies {}, requests served {served}",
        r.retries, r.duplicates
    );
    let want: Vec<u64> = (1..=40).collect();
    assert_eq!(
        r.answered.keys().copied().collect::<Vec<_>>(),
        want,
        "not every request answered once\n{:#?}",
        client.lines
    );
    assert_eq!(
        r.summary,
        Some([40, 40, r.retries, r.duplicates, 0]),
        "summary does not match the output\n{:#?}",
        client.lines
    );
    // Resending every overdue request each timeout: 398 retries and 121 duplicates (more came
    // after the client stopped). Backing off: a probe or five, and one resend of each request
    // lost in the dead connection (those sent before the heartbeats gave it up, some 3 s)
    assert!(
        r.duplicates <= 5 && r.retries <= 40,
        "a flood after the outage: {} retries, {} duplicates\n{:#?}",
        r.retries,
        r.duplicates,
        client.lines
    );
    server.stop_with(libc::SIGTERM, WAIT);
    proxy.stop_with(libc::SIGINT, WAIT);
}
