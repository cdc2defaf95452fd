//! Opt-in Ctrl-C / SIGTERM handling that wakes blocked receives and polls.
//!
//! Nothing is installed unless the program calls [`install`]. Once it has:
//! - the first SIGINT or SIGTERM sets a flag ([`is_interrupted`]) and makes a self-pipe
//!   readable ([`fd`]); every [`Poller`](crate::Poller) (and so every loop, proxy and actor
//!   built on it) watches that pipe and returns [`Error::Interrupted`];
//! - the crate's blocking receives ([`Msg::recv`](crate::Msg::recv),
//!   [`Frame::recv`](crate::Frame::recv), [`SocketExt::recv_text`](crate::SocketExt::recv_text))
//!   return [`Error::Interrupted`], even when the signal came just before the call or while
//!   messages keep arriving (they wait on the socket and the pipe together);
//! - a blocking call straight on `zmq` in the thread that called [`install`] returns `EINTR`
//!   if the signal arrives while it waits. If the signal lands on another thread, the handler
//!   forwards it to the installing thread so that its blocking call wakes up too;
//! - [`clock::sleep_ms`](crate::clock::sleep_ms) returns early;
//! - a second signal ends the process at once with status 130, for a program that does not stop.
//!
//! This is the guide's `interrupt.c` pattern (a self-pipe written by the handler and polled with
//! the sockets) made reusable, without CZMQ's handler installed behind the user's back.
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

use std::os::raw::c_int;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};

static INSTALLED: AtomicBool = AtomicBool::new(false);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicU32 = AtomicU32::new(0);
static FORWARDED: AtomicU32 = AtomicU32::new(0);
static READ_FD: AtomicI32 = AtomicI32::new(-1);
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static MAIN_THREAD: AtomicUsize = AtomicUsize::new(0);
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

extern "C" fn on_signal(sig: c_int) {
    // Only async-signal-safe work here: atomics, write(2), pthread_self/pthread_kill, _exit.
    let me = unsafe { libc::pthread_self() } as usize;
    let main = MAIN_THREAD.load(Ordering::SeqCst);
    if me == main && FORWARDED.load(Ordering::SeqCst) > 0 {
        // The copy we forwarded from another thread: its only job was to wake this thread.
        FORWARDED.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
        // Second signal: the program did not stop on the first one.
        unsafe { libc::_exit(130) };
    }
    INTERRUPTED.store(true, Ordering::SeqCst);
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    if me != main {
        FORWARDED.fetch_add(1, Ordering::SeqCst);
        unsafe { libc::pthread_kill(main as libc::pthread_t, sig) };
    }
}

/// Installs the SIGINT and SIGTERM handlers. Call it once, early, from the thread whose
/// blocking calls should wake up (normally `main`). Calling it again does nothing.
///
/// ```
/// zmq_patterns::interrupt::install().unwrap();
/// assert!(zmq_patterns::interrupt::is_installed());
/// ```
pub fn install() -> Result<()> {
    let _guard = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if INSTALLED.load(Ordering::SeqCst) {
        return Ok(());
    }
    let mut fds = [0 as c_int; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    READ_FD.store(fds[0], Ordering::SeqCst);
    WRITE_FD.store(fds[1], Ordering::SeqCst);
    MAIN_THREAD.store(unsafe { libc::pthread_self() } as usize, Ordering::SeqCst);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with our handler and an empty mask; no SA_RESTART, so
        // blocking calls return EINTR.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0;
            if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
        }
    }
    INSTALLED.store(true, Ordering::SeqCst);
    Ok(())
}

/// True once [`install`] has run.
///
/// ```
/// let _ = zmq_patterns::interrupt::is_installed();
/// ```
pub fn is_installed() -> bool {
    INSTALLED.load(Ordering::SeqCst)
}

/// True once SIGINT or SIGTERM has arrived (after [`install`]).
///
/// ```
/// // nothing has been sent to this process
/// assert!(!zmq_patterns::interrupt::is_interrupted());
/// ```
pub fn is_interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
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
/// signal and stays readable. `None` before [`install`].
///
/// ```
/// zmq_patterns::interrupt::install().unwrap();
/// assert!(zmq_patterns::interrupt::fd().is_some());
/// ```
pub fn fd() -> Option<RawFd> {
    let fd = READ_FD.load(Ordering::SeqCst);
    (fd >= 0).then_some(fd)
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
    INTERRUPTED.store(true, Ordering::SeqCst);
    let fd = WRITE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

#[cfg(test)]
mod tests {
    // The handler and flag are process-wide; the behaviour on a real signal is tested with the
    // `interrupt` example binary, in a process of its own. Here: installing is idempotent and
    // gives a pipe that is not readable before any signal.
    use super::*;

    #[test]
    fn install_twice_keeps_one_pipe() {
        install().unwrap();
        let fd1 = fd().unwrap();
        install().unwrap();
        assert_eq!(fd().unwrap(), fd1);
        let mut pfd = libc::pollfd {
            fd: fd1,
            events: libc::POLLIN,
            revents: 0,
        };
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        assert_eq!(n, 0, "the pipe is readable before any signal");
    }
}
