//! The one helper module of every integration test: start real binaries on test-owned
//! endpoints, read what they print with deadlines, signal them, and kill them on drop.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod netns;

/// The path of an example binary, checked at compile time: `bin!("hwserver")`.
#[macro_export]
macro_rules! bin {
    ($name:literal) => {
        env!(concat!("CARGO_BIN_EXE_", $name))
    };
}

/// A generous default deadline for a single expected event (CI machines are slow and loaded).
pub const WAIT: Duration = Duration::from_secs(20);

/// A free TCP port on 127.0.0.1, released for the binary to bind.
///
/// Ports come from just below the kernel's ephemeral range (`ip_local_port_range`), never from
/// it: a port the OS picked with `bind(0)` and we released could be taken at once as the source
/// port of any outgoing connection on the machine (seen: `Address already in use`). Below the
/// range nothing is handed out automatically, and each port is given to one test only (a
/// per-process counter starting at an offset from the pid, so test programs differ too).
pub fn free_port() -> u16 {
    free_ports(1)
}

/// `n_ports` consecutive free TCP ports on 127.0.0.1 (a Clone server's snapshot, publisher and
/// collector, say); returns the first. Found under the same lock as [`free_port`], so tests
/// running in parallel never interleave and split a run.
pub fn free_ports(n_ports: u32) -> u16 {
    assert!(n_ports >= 1);
    static NEXT: Mutex<Option<u32>> = Mutex::new(None);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| {
            r.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u32>().ok())
        })
        .unwrap_or(32768);
    let (first, span) = if low > 11024 {
        (low - 10000, 10000)
    } else {
        (1024, low.saturating_sub(1024).max(1))
    };
    let mut next = NEXT.lock().unwrap_or_else(|e| e.into_inner());
    let n = next.get_or_insert(std::process::id() * 97 % span);
    for _ in 0..span {
        let start = *n % span;
        *n += 1;
        if start + n_ports > span {
            continue; // a run may not wrap into the ephemeral range
        }
        // (all held at once, then released together)
        let held: Vec<_> = (0..n_ports)
            .map_while(|i| bound((first + start + i) as u16))
            .collect();
        if held.len() == n_ports as usize {
            *n += n_ports - 1;
            return (first + start) as u16;
        }
    }
    panic!("no {n_ports} consecutive free ports below the ephemeral range");
}

/// A socket bound to 127.0.0.1:`port` with `SO_REUSEADDR`, as libzmq binds, that never
/// listens; `None` if the port is taken.
///
/// Never a listener: a test thread that spawns a program gives the child a copy of every open
/// socket until its exec, and a listening copy would keep the port taken a moment after the
/// check, so that the program or socket the port is for fails to bind it (seen: `Address
/// already in use` just after the check). A bound socket that does not listen is no obstacle
/// to a bind with `SO_REUSEADDR`, and a listener is one to it.
pub fn bound(port: u16) -> Option<socket2::Socket> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    s.set_reuse_address(true).ok()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    s.bind(&addr.into()).ok()?;
    Some(s)
}

/// `tcp://127.0.0.1:PORT`, for binding and connecting alike.
pub fn tcp(port: u16) -> String {
    format!("tcp://127.0.0.1:{port}")
}

/// A fresh endpoint on a free port.
pub fn tcp_ep() -> String {
    tcp(free_port())
}

/// Waits until `cond` holds, looking every 10 ms; false if it still does not after `timeout`.
/// For conditions nothing announces (a peer's connection, a line on stderr); the caller asserts
/// on the result with its own context. Never a fixed pause: it returns as soon as `cond` holds.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One line of `/proc/net/tcp{,6}`: local port, state (`0A` LISTEN, `01` ESTABLISHED, `08`
/// CLOSE_WAIT...) and receive queue (for a listener: connections waiting to be accepted).
struct TcpLine {
    local_port: u16,
    state: u8,
    rx_queue: u64,
}

fn tcp_lines() -> Vec<TcpLine> {
    let hex_port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let parsed = (|| {
                Some(TcpLine {
                    local_port: hex_port(f.get(1)?)?,
                    state: u8::from_str_radix(f.get(3)?, 16).ok()?,
                    rx_queue: u64::from_str_radix(f.get(4)?.split(':').nth(1)?, 16).ok()?,
                })
            })();
            out.extend(parsed);
        }
    }
    out
}

/// How many TCP connections to the bound `port` its owner still holds open (established or
/// half-closed by the peer, accepted yet or not). Zero once the owner has seen every peer go
/// and closed its side: libzmq then has told the socket that the peer's pipe is gone.
pub fn tcp_held(port: u16) -> usize {
    tcp_lines()
        .iter()
        .filter(|l| l.local_port == port && (l.state == 0x01 || l.state == 0x08))
        .count()
}

/// How many TCP connections to the bound `port` its owner has accepted (its I/O thread has
/// them and has started the ZMTP handshake): the peers it holds less those still waiting in the
/// listener's accept queue.
pub fn tcp_accepted(port: u16) -> usize {
    let lines = tcp_lines();
    let backlog: u64 = lines
        .iter()
        .filter(|l| l.local_port == port && l.state == 0x0A)
        .map(|l| l.rx_queue)
        .sum();
    tcp_held(port).saturating_sub(backlog as usize)
}

/// The port of a `tcp://host:port` endpoint.
pub fn port_of(endpoint: &str) -> u16 {
    endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {endpoint:?}"))
}

/// How many connections to the unix (ipc) socket at `path` its owner has accepted.
pub fn unix_accepted(path: &Path) -> usize {
    let text = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Num RefCount Protocol Flags Type St Inode Path; St 03: accepted (02 while it
            // waits in the accept queue, 01 for the listener)
            f.len() == 8 && f[5] == "03" && Path::new(f[7]) == path
        })
        .count()
}

/// A temporary directory, removed on drop: for ipc endpoints and files a binary writes.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zguide-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("cannot create temp dir");
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// `ipc://<dir>/<name>`
    pub fn ipc(&self, name: &str) -> String {
        format!("ipc://{}/{name}", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running binary. Its stdout is read line by line in the background; stderr is kept for
/// failure messages. Dropping it kills its whole process group.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// The start of the line being printed, before its end comes (a prompt).
    partial: Arc<Mutex<String>>,
    seen: Arc<Mutex<VecDeque<String>>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    status: Option<ExitStatus>,
}

const KEEP: usize = 40;

fn keep(buf: &Mutex<VecDeque<String>>, line: String) {
    let mut b = buf.lock().unwrap();
    if b.len() == KEEP {
        b.pop_front();
    }
    b.push_back(line);
}

impl Proc {
    /// Starts `path` with `args`, stdin closed.
    pub fn start(path: &str, args: &[&str]) -> Proc {
        Self::spawn(path, args, &[], false, None)
    }

    /// Starts `path` with `args` and a stdin the test can write to.
    pub fn start_with_stdin(path: &str, args: &[&str]) -> Proc {
        Self::spawn(path, args, &[], true, None)
    }

    /// Starts `path` in directory `dir` (for binaries that use relative ipc paths or files).
    pub fn start_in(dir: &Path, path: &str, args: &[&str]) -> Proc {
        Self::spawn(path, args, &[], false, Some(dir))
    }

    /// Full control: environment variables, stdin, working directory.
    pub fn spawn(
        path: &str,
        args: &[&str],
        env: &[(&str, &str)],
        with_stdin: bool,
        dir: Option<&Path>,
    ) -> Proc {
        Self::spawn_named(path, path, args, env, with_stdin, dir)
    }

    /// [`Proc::spawn`] of `path`, named after `bin` in failure messages: for a binary started
    /// through another program (`ip netns exec NS bin ...`).
    pub fn spawn_named(
        bin: &str,
        path: &str,
        args: &[&str],
        env: &[(&str, &str)],
        with_stdin: bool,
        dir: Option<&Path>,
    ) -> Proc {
        let name = Path::new(bin)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| bin.to_string());
        let mut cmd = Command::new(path);
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if with_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let (tx, rx) = channel();
        let seen = Arc::new(Mutex::new(VecDeque::new()));
        let partial = Arc::new(Mutex::new(String::new()));
        let mut out = child.stdout.take().unwrap();
        let (seen2, partial2) = (seen.clone(), partial.clone());
        std::thread::spawn(move || {
            // Whole lines go to the channel; the start of a line whose end has not come yet (a
            // prompt) is kept in `partial`, where `expect_prompt` looks. Lines can be megabytes
            // long (some print what they received): only new bytes are searched for the end,
            // and only the first KiB of a partial line is kept.
            let mut pending: Vec<u8> = Vec::new();
            let mut buf = [0u8; 65536];
            loop {
                let n = match out.read(&mut buf) {
                    Ok(0) | Err(_) => 0,
                    Ok(n) => n,
                };
                let mut from = pending.len();
                if n == 0 && !pending.is_empty() {
                    pending.push(b'\n'); // the last line, without its end
                }
                pending.extend_from_slice(&buf[..n]);
                while let Some(at) = pending[from..].iter().position(|&b| b == b'\n') {
                    let end = from + at;
                    let raw = &pending[..end];
                    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                    let line = String::from_utf8_lossy(raw).into_owned();
                    pending.drain(..=end);
                    from = 0;
                    keep(&seen2, line.clone());
                    if tx.send(line).is_err() {
                        return;
                    }
                }
                let head = &pending[..pending.len().min(1024)];
                *partial2.lock().unwrap() = String::from_utf8_lossy(head).into_owned();
                if n == 0 {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let err = child.stderr.take().unwrap();
        let stderr2 = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                keep(&stderr2, line);
            }
        });
        let stdin = child.stdin.take();
        Proc {
            name,
            child,
            stdin,
            lines: rx,
            partial,
            seen,
            stderr,
            status: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// What the process printed last, for failure messages.
    pub fn context(&self) -> String {
        let out: Vec<String> = self.seen.lock().unwrap().iter().cloned().collect();
        let err: Vec<String> = self.stderr.lock().unwrap().iter().cloned().collect();
        format!(
            "--- {} stdout (last {} lines):\n{}\n--- {} stderr:\n{}",
            self.name,
            out.len(),
            out.join("\n"),
            self.name,
            err.join("\n")
        )
    }

    /// The next stdout line, or `None` at end of output or after `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Waits for a stdout line containing `text` and returns it; panics with context after
    /// `timeout` or if the output ends first.
    pub fn expect(&self, text: &str, timeout: Duration) -> String {
        self.expect_where(
            |l| l.contains(text),
            &format!("a line containing {text:?}"),
            timeout,
        )
    }

    /// Waits for a stdout line that satisfies `pred`.
    pub fn expect_where(
        &self,
        pred: impl Fn(&str) -> bool,
        what: &str,
        timeout: Duration,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: no {what} within {timeout:?}\n{}",
                        self.name,
                        self.context()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "{}: output ended before {what}\n{}",
                        self.name,
                        self.context()
                    )
                }
            }
        }
    }

    /// Collects every stdout line until the output ends (the process exited) or `timeout`.
    pub fn lines_until_end(&self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => out.push(line),
                Err(RecvTimeoutError::Disconnected) => return out,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: still printing after {timeout:?}\n{}",
                    self.name,
                    self.context()
                ),
            }
        }
    }

    /// Collects the stdout lines that arrive during `period` (for programs that run for ever).
    pub fn lines_for(&self, period: Duration) -> Vec<String> {
        let deadline = Instant::now() + period;
        let mut out = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            out.push(line);
        }
        out
    }

    /// Waits until the line being printed, not ended yet, is `prompt` (a program waiting for
    /// input on the same line); panics with context after `timeout`.
    pub fn expect_prompt(&self, prompt: &str, timeout: Duration) {
        if !wait_until(timeout, || *self.partial.lock().unwrap() == prompt) {
            panic!(
                "{}: no prompt {prompt:?} within {timeout:?} (printing {:?})\n{}",
                self.name,
                self.partial.lock().unwrap(),
                self.context()
            );
        }
    }

    /// How many bytes written to the process's stdin it has not read yet.
    pub fn stdin_unread(&self) -> usize {
        use std::os::fd::AsRawFd;
        let stdin = self.stdin.as_ref().expect("started without stdin");
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD on a pipe's fd writes one c_int, to `n`, which outlives the call.
        let rc = unsafe { libc::ioctl(stdin.as_raw_fd(), libc::FIONREAD, &mut n) };
        assert_eq!(
            rc,
            0,
            "FIONREAD on stdin: {}",
            std::io::Error::last_os_error()
        );
        n as usize
    }

    /// Waits until the process has read everything written to its stdin; panics with context
    /// after `timeout`.
    pub fn expect_stdin_read(&self, timeout: Duration) {
        if !wait_until(timeout, || self.stdin_unread() == 0) {
            panic!(
                "{}: stdin not read within {timeout:?}\n{}",
                self.name,
                self.context()
            );
        }
    }

    /// Waits for a stderr line (diagnostics: `log` output) containing `text` and returns it;
    /// panics with context after `timeout`. It looks at the lines kept for failure messages
    /// (the last few), so use it for a line that comes soon after the event.
    pub fn expect_stderr(&self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(text))
                .cloned();
            if let Some(line) = found {
                return line;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: no stderr line containing {text:?} within {timeout:?}\n{}",
                    self.name,
                    self.context()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Writes `text` to the process's stdin.
    pub fn write_stdin(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("started without stdin");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes the process's stdin (end of file).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Sends `sig` (libc::SIGINT, SIGTERM, SIGKILL...) to the process.
    pub fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits for the process to exit; panics with context after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                self.status = Some(s);
                return s;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: still running after {timeout:?}\n{}",
                    self.name,
                    self.context()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the process to exit and asserts it exited with status 0.
    pub fn wait_success(&mut self, timeout: Duration) {
        let s = self.wait(timeout);
        assert!(
            s.success(),
            "{}: exited with {s:?} (signal {:?})\n{}",
            self.name,
            s.signal(),
            self.context()
        );
    }

    /// Sends `sig` and asserts a clean exit (status 0) within `timeout`.
    pub fn stop_with(&mut self, sig: i32, timeout: Duration) {
        self.signal(sig);
        self.wait_success(timeout);
    }

    /// True if the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.status.is_none() && self.child.try_wait().ok().flatten().is_none()
    }

    /// Kills the process group at once.
    pub fn kill(&mut self) {
        unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
        let _ = self.child.kill();
        if let Ok(s) = self.child.wait() {
            self.status.get_or_insert(s);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.kill();
        }
    }
}

/// Runs `path args` to its end with a deadline and returns (status, stdout lines).
pub fn run_to_end(path: &str, args: &[&str], timeout: Duration) -> (ExitStatus, Vec<String>) {
    let mut p = Proc::start(path, args);
    let lines = p.lines_until_end(timeout);
    let status = p.wait(timeout);
    (status, lines)
}
