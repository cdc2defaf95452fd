//! Every scenario in `workshop/scenarios/` runs and holds, so the workshop cannot rot; and a
//! scenario whose check cannot hold fails.
//!
//! A scenario with a `[network]` needs root and `ip` (network namespaces); elsewhere the runner
//! says SKIPPED and this test lists it as skipped, but under CI (`CI` set) the runner fails it,
//! as zguide-examples' netns tests do.
//!
//! The runner starts the zguide-examples binaries from its own directory. Cargo builds a
//! package's own binaries for its tests, not another package's, so the test first runs
//! `cargo test --workspace --no-run` itself (in the same profile and target dir): a no-op when
//! `cargo test --workspace` (CI, the README) has built everything, and never a stale binary
//! under test. Not `cargo build -p zguide-examples --bins`: its features are resolved for that
//! package alone, differently from the workspace's, and in a clean checkout that rebuilt
//! libzmq and every example (about three minutes of CI).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// No scenario may take longer (each bounds itself with `end_ms` well below this).
const RUN_BOUND: Duration = Duration::from_secs(90);

fn runner() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_workshop"))
}

fn bin_dir() -> &'static Path {
    runner().parent().expect("the runner has a directory")
}

fn build_examples() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["test", "--quiet", "--workspace", "--no-run"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if bin_dir().file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        // bin_dir is TARGET/debug (or release): build into that TARGET
        let target = bin_dir().parent().expect("a target directory");
        cmd.env("CARGO_TARGET_DIR", target);
        let status = cmd.status().expect("cannot run cargo");
        assert!(status.success(), "cargo test --workspace --no-run failed");
    });
}

/// A base with ten free ports after it (scenarios use `{port}` to `{port+9}`).
///
/// Bases lie below the kernel's ephemeral range (`ip_local_port_range`), as zguide-examples'
/// `common::free_port` takes its ports: a port in that range that was found free can be taken
/// at once as the source port of any outgoing connection on the machine, and the scenario's
/// bind then fails with `Address already in use`.
fn free_port_base(salt: u32) -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let first = low.saturating_sub(10000).max(1024);
    let blocks = (low.saturating_sub(first) / 10).max(1);
    let mut n = std::process::id()
        .wrapping_mul(7919)
        .wrapping_add(salt * 131);
    for _ in 0..1000 {
        let base = (first + (n % blocks) * 10) as u16;
        n = n.wrapping_add(17);
        if (base..base + 10).all(can_bind) {
            return base;
        }
    }
    panic!("no ten free ports in {first}..{low}");
}

/// Whether 127.0.0.1:`port` can be bound with `SO_REUSEADDR`, as libzmq binds. The check never
/// listens: a test thread spawning a program at that moment gives the child a copy of the
/// socket until its exec, and a listening copy would keep the port from the scenario's bind.
fn can_bind(port: u16) -> bool {
    use socket2::{Domain, Socket, Type};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    Socket::new(Domain::IPV4, Type::STREAM, None)
        .and_then(|s| s.set_reuse_address(true).map(|()| s))
        .and_then(|s| s.bind(&addr.into()))
        .is_ok()
}

/// Runs the runner to its end (bounded), with its output.
fn run(scenario: &Path, port_base: u16) -> Output {
    let mut child = Command::new(runner())
        .args([
            "run",
            &scenario.to_string_lossy(),
            "--port-base",
            &port_base.to_string(),
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the runner");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            // SIGKILL: the runner's programs die with it (PR_SET_PDEATHSIG)
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} still runs after {RUN_BOUND:?}", scenario.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_holds() {
    build_examples();
    let files = scenario_files();
    assert!(files.len() >= 7, "expected the scenarios, found {files:?}");
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let output = run(file, free_port_base(i as u32));
        let name = file.file_stem().unwrap_or_default().to_string_lossy();
        if output.status.success() && String::from_utf8_lossy(&output.stdout).contains("SKIPPED") {
            eprintln!(
                "skipped: {name}: {}",
                String::from_utf8_lossy(&output.stdout)
            );
            skipped.push(name.into_owned());
        } else if !output.status.success() {
            eprintln!(
                "==== {} failed ({}):\n{}{}",
                file.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            failed.push(name.into_owned());
        }
    }
    if !skipped.is_empty() {
        eprintln!("scenarios skipped (no network namespaces here): {skipped:?}");
    }
    assert!(
        failed.is_empty(),
        "scenarios failed: {failed:?} (output above)"
    );
}

#[test]
fn a_check_that_cannot_hold_fails_the_run() {
    build_examples();
    let dir = std::env::temp_dir().join(format!("workshop-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("impossible.toml");
    // Two requests cannot give three replies, and a server that runs on does not exit 0
    std::fs::write(
        &file,
        r#"
title = "impossible"
chapter = 1
end_ms = 10000
end_when_exited = ["client"]
promise = "two requests, three replies"

[[role]]
name = "server"
bin = "hwserver"
args = ["--bind", "tcp://127.0.0.1:{port}", "--work-ms", "10"]

[[role]]
name = "client"
bin = "hwclient"
args = ["--connect", "tcp://127.0.0.1:{port}", "--requests", "2"]

[[check]]
role = "client"
contains = "^Received World"
at_least = 2

[[check]]
role = "client"
contains = "^Received World"
at_least = 3

[[check]]
role = "server"
exit = 0

[[count]]
name = "answered"
role = "client"
matches = "^Received World"

[[count]]
name = "sent"
role = "server"
matches = "^Received Hello"

[[count]]
name = "lost"
expr = "sent - answered"

[[check]]
count = "answered"
at_least = 3

[[check]]
count = "lost"
at_most = 0
"#,
    )
    .expect("write the scenario");
    let output = run(&file, free_port_base(99));
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "want exit status 1:\n{stdout}"
    );
    assert!(
        stdout.contains("PASS client: 2 lines match /^Received World/ (want at least 2)"),
        "the possible check holds:\n{stdout}"
    );
    assert!(
        stdout.contains("FAIL client: 2 lines match /^Received World/ (want at least 3)"),
        "the impossible check fails:\n{stdout}"
    );
    assert!(
        stdout.contains("FAIL server: want exit status 0, but server was still running"),
        "a server the runner stopped did not exit by itself:\n{stdout}"
    );
    // The summary counts, in the order of a request's life, and checks on them
    assert!(
        stdout.contains(
            "[workshop]   sent     2\n[workshop]   answered 2\n[workshop]   lost     0\n"
        ),
        "the counts:\n{stdout}"
    );
    assert!(
        stdout.contains("FAIL answered is 2 (want at least 3)"),
        "a count's check fails:\n{stdout}"
    );
    assert!(
        stdout.contains("PASS lost is 0 (want 0)"),
        "a count's check holds:\n{stdout}"
    );
    assert!(
        stdout.contains("promise broken: two requests, three replies (a check failed)"),
        "the promise line:\n{stdout}"
    );
}

/// The namespaces `ip netns list` shows (none where `ip` cannot run).
fn netns_list() -> Vec<String> {
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A scenario on test hosts whose check cannot hold fails, and leaves no namespace behind;
/// where the runner cannot make test hosts it says SKIPPED instead (and fails under CI).
#[test]
fn a_network_scenario_can_fail_and_cleans_up() {
    build_examples();
    let dir = std::env::temp_dir().join(format!("workshop-test-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("lonely.toml");
    // Two nodes on a LAN, nobody unplugged: nobody leaves, and nobody joins twice
    std::fs::write(
        &file,
        r#"
title = "lonely"
chapter = 8
end_ms = 2500

[network]
kind = "lan"

[[role]]
name = "x"
bin = "udpping3"
host = "x"
args = ["--interval-ms", "100", "--expiry-ms", "1000"]

[[role]]
name = "y"
bin = "udpping3"
host = "y"
args = ["--interval-ms", "100", "--expiry-ms", "1000"]

[[check]]
role = "x"
contains = '^\[006\] JOINED$'

[[check]]
role = "y"
contains = '^\[006\] JOINED$'
at_least = 2
"#,
    )
    .expect("write the scenario");
    let output = run(&file, free_port_base(98));
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && stdout.contains("SKIPPED: lonely: its test hosts need") {
        eprintln!("skipped: {stdout}");
        return;
    }
    assert_eq!(
        output.status.code(),
        Some(1),
        "want exit status 1:\n{stdout}"
    );
    assert!(
        stdout.contains("PASS x: 1 lines match /^\\[006\\] JOINED$/ (want at least 1)"),
        "x heard y:\n{stdout}"
    );
    assert!(
        stdout.contains("FAIL y: 1 lines match /^\\[006\\] JOINED$/ (want at least 2)"),
        "y heard x once:\n{stdout}"
    );
    // The namespaces the runner named are gone
    let made: Vec<&str> = stdout
        .split("(namespaces ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the runner names its namespaces")
        .split(", ")
        .collect();
    assert_eq!(made.len(), 3, "{made:?}");
    let left = netns_list();
    assert!(
        made.iter().all(|ns| !left.iter().any(|l| l == ns)),
        "left behind: {left:?}"
    );
}
