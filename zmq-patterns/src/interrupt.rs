//! Opt-in Ctrl-C / SIGTERM handling that wakes blocked receives, polls and reads of stdin.
//!
//! Nothing is installed unless the program calls [`install`]. Once it has:
//! - SIGINT or SIGTERM sets a flag ([`is_interrupted`]) and makes a self-pipe readable
//!   ([`fd`]); every [`Poller`](crate::Poller) (and so every loop, proxy and actor built on it)
//!   watches that pipe and returns [`Error::Interrupted`];
//! - the crate's blocking receives ([`Msg::recv`](crate::Msg::recv),
//!   [`Frame::recv`](crate::Frame::recv), [`SocketExt::recv_text`](crate::SocketExt::recv_text))
//!   return [`Error::Interrupted`], even when the signal came just before the call or while
//!   messages keep arriving (they wait on the socket and the pipe together). A message is
//!   received whole or not at all: a signal between its parts does not split it;
//! - [`clock::sleep`](crate::clock::sleep) and [`read_line`] return early;
//! - a blocking call straight on `zmq` returns `EINTR` if the signal is delivered to its thread
//!   while it waits (Linux delivers a process's SIGINT and SIGTERM to the main thread unless it
//!   blocks them; other threads should use the crate's receives or a [`Poller`](crate::Poller));
//! - with [`exit_on_second_signal`], a second signal ends the process at once, for a program
//!   that does not stop on the first. That is the program's choice: the library never exits.
//!
//! [`reset`] clears the interrupted state, for a program that handles a Ctrl-C and goes on.
//!
//! This is the guide's `interrupt.c` pattern (a self-pipe written by the handler and polled with
//! the sockets) made reusable, without CZMQ's handler installed behind the user's back. The
//! handlers are registered through the `signal-hook` crate, which chains them with any others
//! and keeps the signal-handler code out of this crate. Unix only (Linux is tested in CI; macOS
//! and the BSDs use the same POSIX calls).
//!
//! ```no_run
//! use zmq_patterns::{interrupt, Msg};
//! # fn main() -> zmq_patterns::Result<()> {
//! interrupt::install()?;
//! let ctx = zmq::Context::new();
//! let server = ctx.socket(zmq::REP)?;
//! server.bind("tcp://*:5555")?;
//! loop {
//!     match Msg::recv(&server) {
//!         Ok(msg) => msg.send(&server)?,
//!         Err(e) if e.is_interrupted() => break, // Ctrl-C: leave cleanly, exit status 0
//!         Err(e) => return Err(e),
//!     }
//! }
//! # Ok(()) }
//! ```

use std::io::{ErrorKind, Read, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};

/// The signals this module handles.
const SIGNALS: [i32; 2] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];

/// The exit status of a process ended by a second signal: 128 + SIGINT, as shells report it.
pub const SECOND_SIGNAL_STATUS: i32 = 130;

struct Handling {
    /// Set by the signal handlers.
    interrupted: Arc<AtomicBool>,
    /// Once set, the next signal ends the process.
    armed: Arc<AtomicBool>,
    /// Whether [`exit_on_second_signal`] has registered the arming handlers.
    exit_on_second: AtomicBool,
    /// The self-pipe: the handlers write to a clone of `write`; polls wait on `read`.
    read: UnixStream,
    write: UnixStream,
}

static HANDLING: OnceLock<Handling> = OnceLock::new();
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// Installs the SIGINT and SIGTERM handlers. Calling it again does nothing.
///
/// ```
/// zmq_patterns::interrupt::install().unwrap();
/// assert!(zmq_patterns::interrupt::is_installed());
/// ```
pub fn install() -> Result<()> {
    let _guard = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if HANDLING.get().is_some() {
        return Ok(());
    }
    let (read, write) = UnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    let handling = Handling {
        interrupted: Arc::new(AtomicBool::new(false)),
        armed: Arc::new(AtomicBool::new(false)),
        exit_on_second: AtomicBool::new(false),
        read,
        write,
    };
    for sig in SIGNALS {
        // In this order for each signal: exit if armed (by an earlier signal), then set the
        // flag, then wake the polls.
        signal_hook::flag::register_conditional_shutdown(
            sig,
            SECOND_SIGNAL_STATUS,
            Arc::clone(&handling.armed),
        )?;
        signal_hook::flag::register(sig, Arc::clone(&handling.interrupted))?;
        signal_hook::low_level::pipe::register(sig, handling.write.try_clone()?)?;
    }
    let _ = HANDLING.set(handling);
    log::debug!("interrupt: SIGINT and SIGTERM handlers installed");
    Ok(())
}

/// Makes a second SIGINT or SIGTERM end the process at once with status
/// [`SECOND_SIGNAL_STATUS`] (130), for a program that may not stop on the first (a user who
/// presses Ctrl-C twice means it). Installs the handlers if [`install`] has not run.
///
/// ```no_run
/// zmq_patterns::interrupt::exit_on_second_signal().unwrap();
/// ```
pub fn exit_on_second_signal() -> Result<()> {
    install()?;
    let _guard = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(h) = HANDLING.get() else {
        return Ok(());
    };
    if h.exit_on_second.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    for sig in SIGNALS {
        // Runs after the exit check registered by `install`: the first signal arms, the
        // second exits.
        signal_hook::flag::register(sig, Arc::clone(&h.armed))?;
    }
    if h.interrupted.load(Ordering::SeqCst) {
        h.armed.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// True once [`install`] has run.
///
/// ```
/// let _ = zmq_patterns::interrupt::is_installed();
/// ```
pub fn is_installed() -> bool {
    HANDLING.get().is_some()
}

/// True once SIGINT or SIGTERM has arrived (after [`install`]), until [`reset`].
///
/// ```
/// // nothing has been sent to this process
/// assert!(!zmq_patterns::interrupt::is_interrupted());
/// ```
pub fn is_interrupted() -> bool {
    HANDLING
        .get()
        .is_some_and(|h| h.interrupted.load(Ordering::SeqCst))
}

/// `Err(Error::Interrupted)` once a signal has arrived, else `Ok(())`: a one-liner for loops.
///
/// ```
/// # fn main() -> zmq_patterns::Result<()> {
/// while work_left() {
///     zmq_patterns::interrupt::check()?;
///     // ...
/// }
/// # Ok(()) }
/// # fn work_left() -> bool { false }
/// ```
pub fn check() -> Result<()> {
    if is_interrupted() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// The read end of the self-pipe, for a poll of your own: it becomes readable at the first
/// signal and stays readable until [`reset`]. `None` before [`install`].
///
/// ```
/// zmq_patterns::interrupt::install().unwrap();
/// assert!(zmq_patterns::interrupt::fd().is_some());
/// ```
pub fn fd() -> Option<RawFd> {
    HANDLING.get().map(|h| h.read.as_raw_fd())
}

/// Behaves as if a signal had arrived: sets the flag and wakes every poll. For tests, and for a
/// program that wants to stop itself the same way Ctrl-C would.
///
/// ```
/// // (in a test process of its own)
/// # if false {
/// zmq_patterns::interrupt::install().unwrap();
/// zmq_patterns::interrupt::raise();
/// assert!(zmq_patterns::interrupt::is_interrupted());
/// # }
/// ```
pub fn raise() {
    if let Some(h) = HANDLING.get() {
        h.interrupted.store(true, Ordering::SeqCst);
        let _ = (&h.write).write(&[1]);
    }
}

/// Clears the interrupted state: the flag goes down and the pipe is emptied, so that polls and
/// receives wait again, and the next signal counts as a first one. For a program that handles
/// a Ctrl-C (asks "really quit?", cancels one operation) and carries on.
///
/// ```
/// // (in a test process of its own)
/// # if false {
/// zmq_patterns::interrupt::install().unwrap();
/// zmq_patterns::interrupt::raise();
/// zmq_patterns::interrupt::reset();
/// assert!(!zmq_patterns::interrupt::is_interrupted());
/// # }
/// ```
pub fn reset() {
    let Some(h) = HANDLING.get() else {
        return;
    };
    h.armed.store(false, Ordering::SeqCst);
    h.interrupted.store(false, Ordering::SeqCst);
    drain(&h.read);
    // A signal that came while we drained wrote again or set the flag again: keep the two in
    // step (the flag is up whenever the pipe may be readable).
    if pipe_readable(&h.read) {
        h.interrupted.store(true, Ordering::SeqCst);
    }
}

fn drain(mut read: &UnixStream) {
    let mut buf = [0u8; 64];
    loop {
        match read.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return, // WouldBlock: empty
        }
    }
}

fn pipe_readable(read: &UnixStream) -> bool {
    let mut items = [zmq::PollItem::from_fd(read.as_raw_fd(), zmq::POLLIN)];
    zmq::poll(&mut items, 0).is_ok_and(|n| n > 0)
}

/// Buffered stdin bytes that came after the last line returned by [`read_line`].
static STDIN_PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Reads one line from stdin, waiting on stdin and the interrupt pipe together, so that
/// Ctrl-C ends the wait even while a partial line is typed (the guide's "press Enter when the
/// workers are ready"). Returns the line without its end (`\n` or `\r\n`, invalid UTF-8
/// replaced), `Ok(None)` at the end of input (a last line without an end is returned first),
/// or [`Error::Interrupted`].
///
/// Reads stdin's file descriptor directly: do not mix it with `std::io::stdin()`, whose buffer
/// would take bytes this function never sees.
///
/// ```no_run
/// println!("Press Enter when the workers are ready: ");
/// let _ = zmq_patterns::interrupt::read_line()?;
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
pub fn read_line() -> Result<Option<String>> {
    let mut pending = STDIN_PENDING.lock().unwrap_or_else(|e| e.into_inner());
    // stdin, as a stream that must not close fd 0 when dropped
    let mut stdin = std::mem::ManuallyDrop::new(stdin_file());
    loop {
        if let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            return Ok(Some(line_text(&line[..end])));
        }
        let mut poller = crate::Poller::new();
        poller.add_fd(0);
        poller.poll(None)?;
        let mut buf = [0u8; 4096];
        match stdin.read(&mut buf) {
            Ok(0) if pending.is_empty() => return Ok(None),
            Ok(0) => {
                let line = std::mem::take(&mut *pending);
                return Ok(Some(line_text(&line)));
            }
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::Interrupted | ErrorKind::WouldBlock) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn line_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

fn stdin_file() -> std::fs::File {
    use std::os::unix::io::FromRawFd;
    // SAFETY: fd 0 is open for the life of the process (or reads fail with EBADF, which is an
    // error we return); the File is kept in a ManuallyDrop by the caller, so it never closes
    // it, and each read is one read(2) of our own buffer.
    unsafe { std::fs::File::from_raw_fd(0) }
}

#[cfg(test)]
mod tests {
    // The handlers and flag are process-wide; the behaviour on real signals is tested with the
    // example binaries and zmq-patterns/tests/interrupt.rs, in processes of their own. Here:
    // installing is idempotent and gives a pipe that is not readable before any signal.
    use super::*;

    #[test]
    fn install_twice_keeps_one_pipe() {
        install().unwrap();
        let fd1 = fd().unwrap();
        install().unwrap();
        assert_eq!(fd().unwrap(), fd1);
        let h = HANDLING.get().unwrap();
        assert!(
            !pipe_readable(&h.read),
            "the pipe is readable before any signal"
        );
    }

    #[test]
    fn line_ends_are_taken_off() {
        assert_eq!(line_text(b"abc\r"), "abc");
        assert_eq!(line_text(b"a\xffc"), "a\u{fffd}c");
    }
}
