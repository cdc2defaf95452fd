//! Running a scenario: start the roles, play the timeline, label their output, check, clean up.

use crate::hosts::{self, Lan};
use crate::scenario::{Action, Check, Instance, NetworkKind, Scenario, parse_expr, tally};
use anyhow::{Context, Result, bail};
use regex::Regex;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

/// A partial line (a prompt, a row of dots) is shown once it has waited this long.
const PARTIAL_LINE_AFTER: Duration = Duration::from_millis(150);
/// How long a program has to exit after SIGTERM before it gets SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How long the runner waits for the last output of its programs.
const DRAIN_BOUND: Duration = Duration::from_secs(2);
/// Output still arriving after the programs a scenario waits for have exited.
const END_GRACE: Duration = Duration::from_millis(300);

/// Output from a program: (instance, stream 0 stdout / 1 stderr, bytes or None at its end).
type Chunk = (usize, usize, Option<Vec<u8>>);

struct Proc {
    inst: Instance,
    /// The network namespace of its host, if it has one.
    netns: Option<String>,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    started: bool,
    exit: Option<ExitStatus>,
    /// The last run ended because the runner killed it (timeline or end of the run).
    killed_by_runner: bool,
    /// Everything it printed, per stream, for the checks.
    transcript: [Vec<u8>; 2],
    /// What is not yet shown, per stream, and since when.
    pending: [(Vec<u8>, Instant); 2],
}

/// Every program started; kills whatever still runs when dropped (an error, a panic).
struct Procs(Vec<Proc>);

impl Drop for Procs {
    fn drop(&mut self) {
        for p in &mut self.0 {
            if let Some(mut child) = p.child.take() {
                signal(&child, libc::SIGKILL);
                let _ = child.wait();
            }
        }
    }
}

/// The run's own directory (`{dir}`), removed at the end, also on an error.
struct RunDir(std::path::PathBuf);

impl RunDir {
    fn new() -> Result<RunDir> {
        let path = std::env::temp_dir().join(format!("workshop-{}", std::process::id()));
        // Left over by an earlier runner of the same pid that was killed
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(RunDir(path))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Printer {
    colour: bool,
}

impl Printer {
    fn line(&self, label: &str, index: Option<usize>, text: &str) {
        const PALETTE: [&str; 10] = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];
        let mut out = std::io::stdout().lock();
        let _ = if self.colour {
            let code = index.map_or("1", |i| PALETTE[i % PALETTE.len()]);
            writeln!(out, "\x1b[{code}m[{label}]\x1b[0m {text}")
        } else {
            writeln!(out, "[{label}] {text}")
        };
        let _ = out.flush();
    }

    fn note(&self, text: &str) {
        self.line("workshop", None, text);
    }
}

/// Runs a scenario to its end; true if every check holds (or the run was interrupted, or
/// skipped because its `[network]` cannot be made here, outside CI).
pub fn run(scenario: &Scenario, port_base: u16, bin_dir: &Path) -> Result<bool> {
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let printer = Printer { colour };
    if scenario.network.is_some() {
        if let Err(why) = hosts::available() {
            if hosts::in_ci() {
                bail!(
                    "CI must run this scenario, but its test hosts need network namespaces \
                     (root and iproute2's ip): {why}"
                );
            }
            printer.note(&format!(
                "SKIPPED: {}: its test hosts need network namespaces (root and iproute2's \
                 ip): {why}",
                scenario.title
            ));
            return Ok(true);
        }
    }
    let dir = RunDir::new()?;
    let instances = scenario.instances(port_base, &dir.0.to_string_lossy())?;
    for inst in &instances {
        let path = bin_dir.join(&inst.bin);
        if !path.is_file() {
            bail!(
                "no {} in {}: build the examples first, in the runner's profile \
                 (cargo build --release -p zguide-examples), or give --bin-dir",
                inst.bin,
                bin_dir.display()
            );
        }
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&interrupted))
            .context("cannot install the signal handlers")?;
    }
    printer.note(&format!(
        "{} ({}), ports from {port_base}",
        scenario.title,
        scenario.source()
    ));
    // Made before the programs start and dropped after they are killed (declared before
    // `procs`): its Drop removes the namespaces on every way out, an error or a panic too
    let lan = match scenario.network.as_ref().map(|n| n.kind) {
        Some(NetworkKind::Lan) => {
            let names = scenario.hosts();
            let lan = Lan::new(&names).context("cannot make the test hosts")?;
            let list: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, h)| match hosts::address(i) {
                    Some(a) => format!("{h} ({a})"),
                    None => h.clone(),
                })
                .collect();
            printer.note(&format!(
                "test hosts on one LAN: {} (namespaces {})",
                list.join(", "),
                lan.namespaces().join(", ")
            ));
            Some(lan)
        }
        None => None,
    };

    let now = Instant::now();
    let mut procs = Procs(
        instances
            .into_iter()
            .map(|inst| Proc {
                netns: inst
                    .host
                    .as_deref()
                    .and_then(|h| lan.as_ref()?.netns(h))
                    .map(str::to_string),
                inst,
                child: None,
                stdin: None,
                started: false,
                exit: None,
                killed_by_runner: false,
                transcript: [Vec::new(), Vec::new()],
                pending: [(Vec::new(), now), (Vec::new(), now)],
            })
            .collect(),
    );
    let (tx, rx) = channel::<Chunk>();
    let mut readers = 0usize;

    let mut timeline: Vec<_> = scenario.timeline.iter().collect();
    timeline.sort_by_key(|e| e.at_ms);
    let mut next_event = 0;
    let started_later = |inst: &Instance| {
        timeline
            .iter()
            .any(|e| e.action == Action::Start && inst.is(&e.role))
    };
    for i in 0..procs.0.len() {
        if !started_later(&procs.0[i].inst) {
            start(&mut procs.0[i], i, bin_dir, &tx, &mut readers, &printer)?;
        }
    }

    let begin = Instant::now();
    let end = begin + Duration::from_millis(scenario.end_ms);
    let mut ending: Option<Instant> = None;
    loop {
        if interrupted.load(Ordering::SeqCst) {
            printer.note("interrupted: stopping everything, no checks");
            stop_all(&mut procs, &printer);
            return Ok(true);
        }
        let elapsed = begin.elapsed().as_millis() as u64;
        while next_event < timeline.len() && timeline[next_event].at_ms <= elapsed {
            let event = timeline[next_event];
            next_event += 1;
            let what = match (&event.text, &event.host) {
                (Some(text), _) => format!("type {text:?} on {}", event.role),
                (None, Some(host)) => format!("{:?} host {host}", event.action).to_lowercase(),
                (None, None) => format!("{:?} {}", event.action, event.role).to_lowercase(),
            };
            printer.note(&format!("at {} ms: {what}", event.at_ms));
            if let (Some(host), Some(lan)) = (&event.host, &lan) {
                lan.plug(host, event.action == Action::Plug)?;
                continue;
            }
            for i in 0..procs.0.len() {
                if procs.0[i].inst.is(&event.role) {
                    act(
                        &mut procs.0[i],
                        i,
                        event.action,
                        event.text.as_deref(),
                        bin_dir,
                        &tx,
                        &mut readers,
                        &printer,
                    )?;
                }
            }
        }
        for p in &mut procs.0 {
            reap(p, &printer);
        }
        if Instant::now() >= end {
            printer.note(&format!("end of the scenario at {} ms", scenario.end_ms));
            break;
        }
        if let Some(at) = ending {
            if Instant::now() >= at {
                break;
            }
        } else if !scenario.end_when_exited.is_empty()
            && procs.0.iter().all(|p| {
                !scenario.end_when_exited.iter().any(|n| p.inst.is(n))
                    || (p.started && p.child.is_none())
            })
        {
            printer.note(&format!(
                "{} exited: the end",
                scenario.end_when_exited.join(", ")
            ));
            ending = Some(Instant::now() + END_GRACE);
        }
        pump(
            &rx,
            &mut procs,
            &mut readers,
            &printer,
            Duration::from_millis(20),
        );
    }
    stop_all(&mut procs, &printer);
    let drain_end = Instant::now() + DRAIN_BOUND;
    while readers > 0 && Instant::now() < drain_end {
        pump(
            &rx,
            &mut procs,
            &mut readers,
            &printer,
            Duration::from_millis(20),
        );
    }
    for (i, p) in procs.0.iter_mut().enumerate() {
        for stream in 0..2 {
            flush_pending(p, i, stream, &printer);
        }
    }

    let counts = count(scenario, &procs.0);
    if !counts.is_empty() {
        printer.note("counts:");
        let width = counts.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        let mut shown: Vec<&(String, i64)> = counts.iter().collect();
        // The usual ones in the order of a request's life, then the scenario's own
        const ORDER: [&str; 5] = ["sent", "answered", "retried", "lost", "duplicated"];
        shown.sort_by_key(|(n, _)| ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()));
        for (name, n) in shown {
            printer.note(&format!("  {name:<width$} {n}"));
        }
    }
    let mut all_ok = true;
    printer.note("checks:");
    for check in &scenario.checks {
        let (ok, says) = evaluate(check, &procs.0, &counts);
        all_ok &= ok;
        printer.note(&format!("  {} {says}", if ok { "PASS" } else { "FAIL" }));
    }
    printer.note(&match (&scenario.promise, all_ok) {
        (Some(promise), true) => format!("promise held: {promise}"),
        (Some(promise), false) => format!("promise broken: {promise} (a check failed)"),
        (None, true) => "every check holds".to_string(),
        (None, false) => "a check failed".to_string(),
    });
    Ok(all_ok)
}

/// The lines a role (all its instances) or instance printed, stdout and stderr.
fn lines_of(procs: &[Proc], target: &str) -> Vec<String> {
    procs
        .iter()
        .filter(|p| p.inst.is(target))
        .flat_map(|p| {
            p.transcript.iter().flat_map(|t| {
                String::from_utf8_lossy(t)
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
        })
        .collect()
}

/// The scenario's counts, in its order.
fn count(scenario: &Scenario, procs: &[Proc]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for c in &scenario.counts {
        // Checked when the scenario was loaded: either role and matches, or expr of earlier counts
        let n = match (&c.role, &c.matches, &c.expr) {
            (Some(role), Some(re), _) => match Regex::new(re) {
                Ok(regex) => tally(
                    c.kind,
                    &regex,
                    lines_of(procs, role).iter().map(String::as_str),
                ),
                Err(_) => 0,
            },
            (_, _, Some(expr)) => parse_expr(expr)
                .map(|terms| {
                    terms
                        .iter()
                        .map(|(sign, name)| {
                            sign * out.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v)
                        })
                        .sum()
                })
                .unwrap_or(0),
            _ => 0,
        };
        out.push((c.name.clone(), n));
    }
    out
}

fn signal(child: &Child, sig: libc::c_int) {
    // A pid from std fits in pid_t; the child is not reaped yet, so the pid is still its own.
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe {
        libc::kill(pid, sig);
    }
}

fn start(
    p: &mut Proc,
    index: usize,
    bin_dir: &Path,
    tx: &Sender<Chunk>,
    readers: &mut usize,
    printer: &Printer,
) -> Result<()> {
    let bin = bin_dir.join(&p.inst.bin);
    let mut cmd = match &p.netns {
        // `ip netns exec` enters the namespace and execs the binary in place: the pid, the
        // process group and the parent-death signal below are the binary's own
        Some(ns) => {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", ns]).arg(&bin);
            cmd
        }
        None => Command::new(&bin),
    };
    cmd.args(&p.inst.args)
        .envs(p.inst.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: Ctrl-C reaches the runner only, which stops everything.
        .process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and the closure allocates nothing. It makes the child
    // die with the runner even when the runner is killed with SIGKILL.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let env: String = p
        .inst
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v} "))
        .collect();
    let on = match &p.inst.host {
        Some(host) => format!(" on host {host}"),
        None => String::new(),
    };
    printer.note(&format!(
        "start {}{on}: {env}{} {}",
        p.inst.label,
        p.inst.bin,
        p.inst.args.join(" ")
    ));
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", p.inst.bin))?;
    let outputs: [Box<dyn Read + Send>; 2] = [
        Box::new(child.stdout.take().context("no stdout")?),
        Box::new(child.stderr.take().context("no stderr")?),
    ];
    for (stream, mut out) in outputs.into_iter().enumerate() {
        let tx = tx.clone();
        *readers += 1;
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send((index, stream, Some(buf[..n].to_vec()))).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send((index, stream, None));
        });
    }
    p.stdin = child.stdin.take();
    p.child = Some(child);
    p.started = true;
    p.exit = None;
    p.killed_by_runner = false;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn act(
    p: &mut Proc,
    index: usize,
    action: Action,
    text: Option<&str>,
    bin_dir: &Path,
    tx: &Sender<Chunk>,
    readers: &mut usize,
    printer: &Printer,
) -> Result<()> {
    match action {
        Action::Start if p.child.is_none() => start(p, index, bin_dir, tx, readers, printer)?,
        Action::Start => printer.note(&format!("{} already runs", p.inst.label)),
        Action::Kill => kill(p, printer),
        Action::Restart => {
            kill(p, printer);
            start(p, index, bin_dir, tx, readers, printer)?;
        }
        Action::Stop | Action::Cont => match &p.child {
            Some(child) => signal(
                child,
                if action == Action::Stop {
                    libc::SIGSTOP
                } else {
                    libc::SIGCONT
                },
            ),
            None => printer.note(&format!("{} does not run", p.inst.label)),
        },
        // Done by the timeline on the host, never on a program
        Action::Unplug | Action::Plug => {}
        Action::Type => {
            let line = format!("{}\n", text.unwrap_or_default());
            let ok = p
                .stdin
                .as_mut()
                .is_some_and(|s| s.write_all(line.as_bytes()).and_then(|_| s.flush()).is_ok());
            if !ok {
                printer.note(&format!("{} does not read its input", p.inst.label));
            }
        }
    }
    Ok(())
}

/// SIGKILL and wait (a crash, as the chapter's fault).
fn kill(p: &mut Proc, printer: &Printer) {
    if let Some(mut child) = p.child.take() {
        signal(&child, libc::SIGKILL);
        // SIGKILL cannot be caught or blocked, and kills a stopped process too
        let status = child.wait().ok();
        p.stdin = None;
        p.exit = status;
        p.killed_by_runner = true;
        printer.note(&format!("{} killed", p.inst.label));
    }
}

/// Notes a program that ended by itself.
fn reap(p: &mut Proc, printer: &Printer) {
    if let Some(child) = &mut p.child {
        if let Ok(Some(status)) = child.try_wait() {
            p.child = None;
            p.stdin = None;
            p.exit = Some(status);
            printer.note(&format!("{} exited: {}", p.inst.label, describe(status)));
        }
    }
}

/// SIGTERM to everything that runs (thawed first), SIGKILL to what is left after a grace.
fn stop_all(procs: &mut Procs, printer: &Printer) {
    for p in &mut procs.0 {
        reap(p, printer);
        if let Some(child) = &p.child {
            signal(child, libc::SIGCONT);
            signal(child, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + TERM_GRACE;
    for p in &mut procs.0 {
        if let Some(mut child) = p.child.take() {
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    _ => {
                        signal(&child, libc::SIGKILL);
                        break child.wait().ok();
                    }
                }
            };
            p.stdin = None;
            p.exit = status;
            p.killed_by_runner = true;
        }
    }
}

/// Takes the output that has arrived (waiting up to `wait` for some), shows whole lines, and
/// partial ones that have waited long enough.
fn pump(
    rx: &Receiver<Chunk>,
    procs: &mut Procs,
    readers: &mut usize,
    printer: &Printer,
    wait: Duration,
) {
    let mut next = rx.recv_timeout(wait);
    loop {
        match next {
            Ok((i, stream, Some(bytes))) => {
                let p = &mut procs.0[i];
                p.transcript[stream].extend_from_slice(&bytes);
                if p.pending[stream].0.is_empty() {
                    p.pending[stream].1 = Instant::now();
                }
                p.pending[stream].0.extend_from_slice(&bytes);
                while let Some(end) = p.pending[stream].0.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = p.pending[stream].0.drain(..=end).collect();
                    let text = String::from_utf8_lossy(&line[..end]);
                    printer.line(&p.inst.label, Some(i), text.trim_end_matches('\r'));
                    p.pending[stream].1 = Instant::now();
                }
            }
            Ok((i, stream, None)) => {
                *readers -= 1;
                flush_pending(&mut procs.0[i], i, stream, printer);
                let t = &mut procs.0[i].transcript[stream];
                if t.last().is_some_and(|&b| b != b'\n') {
                    t.push(b'\n');
                }
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
        }
        next = rx.try_recv().map_err(|_| RecvTimeoutError::Timeout);
    }
    for (i, p) in procs.0.iter_mut().enumerate() {
        for stream in 0..2 {
            if p.pending[stream].1.elapsed() >= PARTIAL_LINE_AFTER {
                flush_pending(p, i, stream, printer);
            }
        }
    }
}

fn flush_pending(p: &mut Proc, index: usize, stream: usize, printer: &Printer) {
    if !p.pending[stream].0.is_empty() {
        let bytes = std::mem::take(&mut p.pending[stream].0);
        printer.line(&p.inst.label, Some(index), &String::from_utf8_lossy(&bytes));
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => format!("{status}"),
    }
}

/// Whether a check holds, and a line that says why.
fn evaluate(check: &Check, procs: &[Proc], counts: &[(String, i64)]) -> (bool, String) {
    let mine: Vec<&Proc> = procs.iter().filter(|p| p.inst.is(&check.role)).collect();
    let lines = || lines_of(procs, &check.role).into_iter();
    if let Some(name) = &check.count {
        let n = counts
            .iter()
            .find(|(c, _)| c == name)
            .map_or(0, |(_, v)| *v);
        let least = i64::from(check.at_least.unwrap_or(0));
        let most = check.at_most.map_or(i64::MAX, i64::from);
        let want = match (check.at_least, check.at_most) {
            (_, Some(m)) if i64::from(m) == least => format!("{m}"),
            (_, Some(m)) => format!("{least} to {m}"),
            _ => format!("at least {least}"),
        };
        (
            (least..=most).contains(&n),
            format!("{name} is {n} (want {want})"),
        )
    } else if let Some(re) = &check.contains {
        // Checked when the scenario was loaded
        let Ok(regex) = Regex::new(re) else {
            return (false, format!("{}: bad regex /{re}/", check.role));
        };
        let n = lines().filter(|l| regex.is_match(l)).count();
        let least = check.at_least.unwrap_or(1) as usize;
        let most = check.at_most.map_or(usize::MAX, |m| m as usize);
        let want = match check.at_most {
            Some(m) => format!("{least} to {m}"),
            None => format!("at least {least}"),
        };
        (
            (least..=most).contains(&n),
            format!("{}: {n} lines match /{re}/ (want {want})", check.role),
        )
    } else if let Some(re) = &check.not_contains {
        let Ok(regex) = Regex::new(re) else {
            return (false, format!("{}: bad regex /{re}/", check.role));
        };
        match lines().find(|l| regex.is_match(l)) {
            None => (true, format!("{}: no line matches /{re}/", check.role)),
            Some(l) => (false, format!("{}: /{re}/ matches {l:?}", check.role)),
        }
    } else if let Some(want) = check.exit {
        let mut bad = Vec::new();
        for p in &mine {
            match (p.started, p.exit, p.killed_by_runner) {
                (false, _, _) => bad.push(format!("{} never started", p.inst.label)),
                (_, Some(s), false) if s.code() == Some(want) => {}
                (_, Some(s), false) => {
                    bad.push(format!("{} exited with {}", p.inst.label, describe(s)))
                }
                _ => bad.push(format!("{} was still running or was killed", p.inst.label)),
            }
        }
        let ok = bad.is_empty();
        let says = if ok {
            format!("{}: exited with status {want}", check.role)
        } else {
            format!(
                "{}: want exit status {want}, but {}",
                check.role,
                bad.join(", ")
            )
        };
        (ok, says)
    } else {
        (false, format!("{}: empty check", check.role))
    }
}
