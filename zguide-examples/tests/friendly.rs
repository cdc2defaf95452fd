//! Errors that say what failed and how out, and a start-up line from every server, broker and
//! proxy, so that a person knows it is up before the first message arrives.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// Runs `bin args` expecting it to fail at once: exit status 1 within `deadline`, and returns
/// its `error: ...` line.
fn fails_with(bin: &str, args: &[&str], deadline: Duration) -> String {
    let start = Instant::now();
    let mut p = Proc::start(bin, args);
    let status = p.wait(deadline);
    assert_eq!(
        status.code(),
        Some(1),
        "{bin} {args:?}: {status:?} after {:?}\n{}",
        start.elapsed(),
        p.context()
    );
    p.expect_stderr("error: ", WAIT)
}

#[test]
fn a_second_copy_on_the_same_port_names_the_endpoint_and_the_flag() {
    let ep = tcp_ep();
    let (fe, be) = (tcp_ep(), tcp_ep());
    // (binary, the first copy's flags, the second copy's flags, the flag in the hint, its value)
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            bin!("hwserver"),
            vec!["--bind", &ep],
            vec!["--bind", &ep],
            "--bind",
            &ep,
        ),
        (
            bin!("mdbroker"),
            vec!["--bind", &fe],
            vec!["--bind", &fe],
            "--bind",
            &fe,
        ),
        (
            bin!("flserver3"),
            vec!["--bind", &ep],
            vec!["--bind", &ep],
            "--bind",
            &ep,
        ),
        (
            bin!("flserver1"),
            vec![&ep],
            vec![&ep],
            "another ENDPOINT",
            &ep,
        ),
        (
            bin!("msgqueue"),
            vec!["--frontend", &ep, "--backend", &be],
            vec!["--frontend", &fe, "--backend", &be],
            "--backend",
            &be,
        ),
    ];
    for (bin, first_args, second_args, flag, taken) in cases {
        let first = Proc::start(bin, &first_args);
        first.expect(" at ", WAIT); // its start-up line
        let line = fails_with(bin, &second_args, WAIT);
        assert_eq!(
            line,
            format!(
                "error: cannot bind {taken}: Address already in use \
                 (is another example running? try {flag} ...)"
            ),
            "{bin}"
        );
        drop(first);
    }
}

#[test]
fn a_port_taken_under_an_actor_is_named_with_its_flag() {
    // asyncsrv binds inside its server actor: the error comes back through Actor::new as the
    // bind's own error, so the hint still names the flag
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = tcp(listener.local_addr().unwrap().port());
    let line = fails_with(bin!("asyncsrv"), &["--bind", &ep, "--connect", &ep], WAIT);
    assert_eq!(
        line,
        format!(
            "error: cannot bind {ep}: Address already in use \
             (is another example running? try --bind ...)"
        )
    );
}

#[test]
fn an_endpoint_without_a_transport_shows_the_fix() {
    let line = fails_with(bin!("hwclient"), &["--connect", "localhost:5555"], WAIT);
    assert_eq!(
        line,
        "error: cannot connect localhost:5555: an endpoint needs a transport, \
         e.g. tcp://localhost:5555"
    );
    let line = fails_with(bin!("hwserver"), &["--bind", "*:5555"], WAIT);
    assert_eq!(
        line,
        "error: cannot bind *:5555: an endpoint needs a transport, e.g. tcp://*:5555"
    );
    // Through the library's Majordomo client too
    let line = fails_with(bin!("mdclient"), &["--connect", "localhost:5555"], WAIT);
    assert!(line.contains("e.g. tcp://localhost:5555"), "{line}");
}

#[test]
fn a_host_that_does_not_resolve_is_named_at_once() {
    let ep = "tcp://no-such-host.invalid:5555";
    // Without the check each of these waits for ever for a reply (libzmq retries in silence)
    for (bin, flag) in [
        (bin!("hwclient"), "--connect"),
        (bin!("mdclient"), "--connect"),
        (bin!("mdworker"), "--connect"),
        (bin!("taskwork"), "--ventilator"),
    ] {
        let line = fails_with(bin, &[flag, ep], Duration::from_secs(15));
        assert!(
            line.starts_with(&format!(
                "error: cannot connect {ep}: unknown host no-such-host.invalid"
            )),
            "{bin}: {line}"
        );
    }
}

#[test]
fn every_server_broker_and_proxy_says_it_is_up() {
    let dir = TempDir::new("friendly");
    let titanic_dir = dir.path().join("titanic");
    let titanic_dir = titanic_dir.to_str().unwrap();
    let (a, b, c) = (tcp_ep(), tcp_ep(), tcp_ep());
    let a_b = [
        ["--frontend", a.as_str()].as_slice(),
        ["--backend", b.as_str()].as_slice(),
    ]
    .concat();
    // (binary, its flags, what its first line says); peering brokers use ipc endpoints in
    // the directory they are started in
    let cases: Vec<(&str, Vec<&str>, String)> = vec![
        (
            bin!("hwserver"),
            vec!["--bind", &a],
            format!("I: Hello World server (REP) is active at {a}"),
        ),
        (
            bin!("hwserver2"),
            vec!["--bind", &a],
            format!("I: Hello World server (REP) is active at {a}"),
        ),
        (
            bin!("hwserver3"),
            vec!["--bind", &a],
            format!("I: Hello World server (ROUTER) is active at {a}"),
        ),
        (
            bin!("hwserver4"),
            vec!["--bind", &a],
            format!("I: Hello World server (ROUTER) is active at {a}"),
        ),
        (
            bin!("interrupt"),
            vec!["--bind", &a],
            format!("I: REP server is active at {a}"),
        ),
        (
            bin!("wuserver"),
            vec!["--bind", &a],
            format!("I: weather server is active at {a}"),
        ),
        (
            bin!("wuproxy"),
            a_b.clone(),
            format!("I: weather proxy is active: from {a} to subscribers at {b}"),
        ),
        (
            bin!("psenvpub"),
            vec!["--bind", &a],
            format!("I: envelope publisher is active at {a}"),
        ),
        (
            bin!("taskvent"),
            vec!["--bind", &a, "--sink", &b],
            "Press Enter when the workers are ready".into(),
        ),
        (
            bin!("tasksink"),
            vec!["--bind", &a],
            format!("I: task sink is active at {a}"),
        ),
        (
            bin!("tasksink2"),
            vec!["--bind", &a, "--controller", &b],
            format!("I: task sink is active at {a}, controlling workers at {b}"),
        ),
        (
            bin!("rrbroker"),
            a_b.clone(),
            format!("I: request-reply broker is active: clients at {a}, workers at {b}"),
        ),
        (
            bin!("msgqueue"),
            a_b.clone(),
            format!("I: message queue is active: clients at {a}, workers at {b}"),
        ),
        (
            bin!("mtserver"),
            vec!["--bind", &a],
            format!("I: multithreaded server is active at {a} ("),
        ),
        (
            bin!("syncpub"),
            vec!["--publisher", &a, "--sync", &b],
            "Waiting for subscribers".into(),
        ),
        (
            bin!("asyncsrv-proxy"),
            a_b.clone(),
            format!("I: proxy ready, clients on {a}, servers on {b}"),
        ),
        (
            bin!("asyncsrv-server"),
            vec!["--connect", &b],
            format!("worker(s) connected to {b}"),
        ),
        (
            bin!("peering1"),
            vec!["me", "you"],
            "I: preparing broker at me...".into(),
        ),
        (
            bin!("peering2"),
            vec!["me", "you"],
            "I: preparing broker at me...".into(),
        ),
        (
            bin!("peering3"),
            vec!["me", "you"],
            "I: preparing broker at me...".into(),
        ),
        (
            bin!("lpserver"),
            vec!["--bind", &a],
            format!("I: Lazy Pirate server is active at {a}"),
        ),
        (
            bin!("spqueue"),
            a_b.clone(),
            format!("I: Simple Pirate queue is active: clients at {a}, workers at {b}"),
        ),
        (
            bin!("ppqueue"),
            a_b.clone(),
            format!("I: Paranoid Pirate queue is active: clients at {a}, workers at {b}"),
        ),
        (
            bin!("bstarsrv"),
            vec!["-p", "--frontend", &a, "--statepub", &b, "--statesub", &c],
            "I: Primary active, waiting for backup (passive)".into(),
        ),
        (
            bin!("bstarsrv2"),
            vec!["-b", "--frontend", &a, "--statepub", &b, "--statesub", &c],
            "I: Backup passive, waiting for primary (active)".into(),
        ),
        (
            bin!("flserver1"),
            vec![&a],
            format!("I: echo service is ready at {a}"),
        ),
        (
            bin!("flserver2"),
            vec![&a],
            format!("I: service is ready at {a}"),
        ),
        (
            bin!("flserver3"),
            vec!["--bind", &a],
            format!("I: service is ready at {a}"),
        ),
        (
            bin!("clonesrv1"),
            vec!["--bind", &a],
            format!("I: clone server is active at {a}"),
        ),
        (
            bin!("clonesrv2"),
            vec!["--snapshot", &a, "--publisher", &b],
            format!("I: clone server is active: snapshots at {a}, updates at {b}"),
        ),
        (
            bin!("clonesrv3"),
            vec!["--snapshot", &a, "--publisher", &b, "--collector", &c],
            format!(
                "I: clone server is active: snapshots at {a}, updates at {b}, collector at {c}"
            ),
        ),
        (
            bin!("clonesrv4"),
            vec!["--snapshot", &a, "--publisher", &b, "--collector", &c],
            format!(
                "I: clone server is active: snapshots at {a}, updates at {b}, collector at {c}"
            ),
        ),
        (
            bin!("clonesrv5"),
            vec!["--snapshot", &a, "--publisher", &b, "--collector", &c],
            format!(
                "I: clone server is active: snapshots at {a}, updates at {b}, collector at {c}"
            ),
        ),
        (
            bin!("mdbroker"),
            vec!["--bind", &a],
            format!("I: MDP broker/0.2.0 is active at {a}"),
        ),
        (
            bin!("titanic"),
            vec!["--connect", &b, "--dir", titanic_dir],
            format!("I: Titanic is active at the broker {b} (titanic.request"),
        ),
        (
            bin!("espresso"),
            vec![
                "--publisher",
                &a,
                "--frontend",
                &a,
                "--backend",
                &b,
                "--subscriber",
                &b,
            ],
            format!("I: espresso proxy is active: from {a} to subscribers at {b}"),
        ),
        (
            bin!("pathopub"),
            vec![&a],
            format!("I: pathological publisher is active at {a}"),
        ),
        (
            bin!("lvcache"),
            a_b.clone(),
            format!("I: last value cache is active: publisher at {a}, subscribers at {b}"),
        ),
    ];
    let deadline = Duration::from_secs(10);
    for (bin, args, expected) in cases {
        let p = Proc::start_in(dir.path(), bin, &args);
        let first = p.next_line(deadline);
        assert!(
            first.as_deref().is_some_and(|l| l.contains(&expected)),
            "{bin} {args:?}: first line {first:?} within {deadline:?}, expected one containing \
             {expected:?}\n{}",
            p.context()
        );
        drop(p); // killed: the next one binds the same endpoints
    }
}

/// Output piped into a reader that stops early (`asyncsrv | head -3`) ends the program quietly
/// by SIGPIPE, as it ends the C original; it used to panic on the next `println!`.
#[test]
fn a_closed_stdout_ends_the_program_without_a_panic() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let port = free_port();
    let mut child = Command::new(bin!("asyncsrv"))
        .args(["--bind", &format!("tcp://127.0.0.1:{port}")])
        .args(["--connect", &format!("tcp://127.0.0.1:{port}")])
        .args([
            "--interval-ms",
            "20",
            "--max-delay-ms",
            "10",
            "--duration-ms",
            "10000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "no output");
    drop(out); // the reader goes away; asyncsrv prints on for seconds
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "asyncsrv still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?} {stderr}");
}

/// Cargo.toml lists the examples without unit tests with `test = false` (so that `cargo test` does
/// not build a test harness for each); an example listed there that gains unit tests would have them
/// silently never run. Every listed example must have none, and every unlisted one must be a file.
#[test]
fn examples_with_unit_tests_are_not_listed_test_false() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
    let listed: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter(|entry| entry.contains("test = false"))
        .filter_map(|entry| entry.lines().find_map(|l| l.strip_prefix("name = ")))
        .map(|name| name.trim_matches('"'))
        .collect();
    assert!(listed.len() > 90, "{} examples listed", listed.len());
    for name in listed {
        let path = dir.join("src/bin").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{name} is listed but {}: {e}", path.display()));
        assert!(
            !source.contains("#[test]") && !source.contains("#[cfg(test)]"),
            "{name} has unit tests: take it out of the test = false list in Cargo.toml"
        );
    }
}
