//! Plumbing shared by the zguide example binaries: start-up (logging, Ctrl-C handling) and the
//! exit-status rules every binary follows (0 at the end and on SIGINT/SIGTERM, 1 with a one-line
//! `error: ...` for a runtime failure, 2 for a usage error, which clap gives).
//!
//! Everything about ZeroMQ itself lives in `zmq-patterns`; this crate keeps the examples'
//! `main` functions alike (one binary per guide example, `src/bin/`), plus the few pieces that
//! several example binaries share ([`pirate_trouble`], [`asyncsrv_worker`], [`bstar_pair`],
//! [`lazy_pirate`], [`clone_model`], [`fileio`], [`security`]).

use std::process::ExitCode;

pub use zmq_patterns;

pub mod asyncsrv_worker;
pub mod bstar_pair;
pub mod clone_model;
pub mod fileio;
pub mod lazy_pirate;
pub mod pirate_trouble;
pub mod security;

/// Runs an example's body: sets up logging (see [`init_logging`]), installs the crate's interrupt
/// handling, then maps the outcome to an exit status.
/// An interrupted or terminated body is a clean exit (0).
pub fn run(verbose: bool, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    init_logging(verbose);
    // Rust ignores SIGPIPE, so printing to a closed pipe (`asyncsrv | head`) made every
    // `println!` panic; the C originals just end there, and so do these.
    // SAFETY: signal(2) with SIG_DFL installs no handler of ours; nothing else runs yet.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The guide's programs stop on the first Ctrl-C; a second one ends a program that does not.
    if let Err(e) = zmq_patterns::interrupt::exit_on_second_signal() {
        eprintln!("error: cannot install signal handlers: {e}");
        return ExitCode::from(1);
    }
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_shutdown(&e) => {
            log::debug!("stopped: {e}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Starts a thread that the process cannot do without, such as one of a server's workers: if
/// it fails (an error that is not a shutdown, or a panic) the whole process ends with status 1
/// and `error: <name>: ...` on stderr, as [`run`] does for the main thread, rather than stay up
/// without it, answering nobody. A shutdown (Ctrl-C, a terminated context) ends the thread
/// quietly.
pub fn spawn_vital(
    name: &str,
    body: impl FnOnce() -> anyhow::Result<()> + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let name = name.to_string();
    std::thread::spawn(move || {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) if is_shutdown(&e) => log::debug!("{name} stopped: {e}"),
            Ok(Err(e)) => {
                eprintln!("error: {name}: {e:#}");
                std::process::exit(1);
            }
            // The panic message is already on stderr
            Err(_) => {
                eprintln!("error: {name} panicked");
                std::process::exit(1);
            }
        }
    })
}

/// The socket files of the `ipc://` endpoints a program bound, removed when this is dropped:
/// libzmq leaves them behind, and the guide's programs bind in the working directory
/// (`ipc://frontend.ipc`). Create it right after the binds, in the function whose return ends
/// the program (so a Ctrl-C, which returns from it, removes them too); other endpoints are
/// ignored. A file is removed only if it is still the one this program bound (same inode): a
/// second instance that took the path over keeps its own.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("ipcfiles-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let ep = format!("ipc://{}/frontend.ipc", dir.display());
/// let ctx = zmq::Context::new();
/// let socket = ctx.socket(zmq::ROUTER).unwrap();
/// socket.bind(&ep).unwrap();
/// let files = zguide_examples::IpcFiles::bound([&ep, "tcp://*:5555"]);
/// assert!(dir.join("frontend.ipc").exists());
/// drop(files);
/// assert!(!dir.join("frontend.ipc").exists());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct IpcFiles(Vec<(std::path::PathBuf, u64, u64)>);

impl IpcFiles {
    /// Notes the files of the `ipc://` endpoints among `endpoints`, which this program has
    /// bound. Paths are taken from the working directory now; `ipc://*` and abstract (`@`)
    /// names have no file of ours.
    pub fn bound<S: AsRef<str>>(endpoints: impl IntoIterator<Item = S>) -> IpcFiles {
        use std::os::unix::fs::MetadataExt;
        let files = endpoints
            .into_iter()
            .filter_map(|ep| {
                let path = ep.as_ref().strip_prefix("ipc://")?;
                if path.is_empty() || path.starts_with('*') || path.starts_with('@') {
                    return None;
                }
                let path = std::path::absolute(path).ok()?;
                let meta = std::fs::symlink_metadata(&path).ok()?;
                Some((path, meta.dev(), meta.ino()))
            })
            .collect();
        IpcFiles(files)
    }
}

impl Drop for IpcFiles {
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        for (path, dev, ino) in &self.0 {
            let ours =
                std::fs::symlink_metadata(path).is_ok_and(|m| m.dev() == *dev && m.ino() == *ino);
            if ours {
                match std::fs::remove_file(path) {
                    Ok(()) => log::debug!("removed {}", path.display()),
                    Err(e) => log::debug!("cannot remove {}: {e}", path.display()),
                }
            }
        }
    }
}

/// Binds `socket` to `endpoint`, the value of the command-line flag `flag`, with an error that
/// names what failed, and for an address in use (the usual trouble when two examples share a
/// default port) the way out: `cannot bind tcp://*:5555: Address already in use (is another
/// example running? try --bind ...)`. Connects need no flag: `socket.connect_to(..)`
/// ([`SocketExt::connect_to`](zmq_patterns::SocketExt::connect_to)).
///
/// ```
/// let ctx = zmq::Context::new();
/// let (first, second) = (ctx.socket(zmq::REP).unwrap(), ctx.socket(zmq::REP).unwrap());
/// zguide_examples::bind(&first, "inproc://doc", "--bind").unwrap();
/// let e = zguide_examples::bind(&second, "inproc://doc", "--bind").unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "cannot bind inproc://doc: Address already in use (is another example running? try --bind ...)"
/// );
/// ```
pub fn bind(socket: &zmq::Socket, endpoint: &str, flag: &str) -> anyhow::Result<()> {
    use zmq_patterns::SocketExt;
    socket.bind_to(endpoint).map_err(|e| flag_hint(e, flag))
}

/// The error of a bind done elsewhere (`mdp::Broker::bind`) to the value of the command-line
/// flag `flag`, with the hint [`bind`] gives for an address in use; other errors unchanged.
///
/// ```
/// let ctx = zmq::Context::new();
/// let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
/// let e = broker.bind("*:5555").map_err(|e| zguide_examples::flag_hint(e, "--bind")).unwrap_err();
/// assert_eq!(e.to_string(), "cannot bind *:5555: an endpoint needs a transport, e.g. tcp://*:5555");
/// ```
pub fn flag_hint(e: zmq_patterns::Error, flag: &str) -> anyhow::Error {
    if e.is_address_in_use() {
        anyhow::anyhow!("{e} (is another example running? try {flag} ...)")
    } else {
        e.into()
    }
}

/// Sets up `env_logger` once: `RUST_LOG` if set, else `info` on stderr.
///
/// `verbose` is the guide's `-v`: what `zmq-patterns` does (its `debug` events and `trace`
/// message dumps) and the program's own `debug` lines go to stdout, timestamped as the guide's
/// `zclock_log` prints them (`26-12-01 10:40:00 I: ...`), beside the teaching output.
pub fn init_logging(verbose: bool) {
    let default = if verbose {
        "debug,zmq_patterns=trace"
    } else {
        "info"
    };
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default));
    if verbose {
        builder
            .target(env_logger::Target::Stdout)
            .format(|out, record| {
                use std::io::Write;
                let level = match record.level() {
                    log::Level::Error => 'E',
                    log::Level::Warn => 'W',
                    log::Level::Info => 'I',
                    log::Level::Debug => 'D',
                    log::Level::Trace => 'T',
                };
                writeln!(
                    out,
                    "{} {level}: {}",
                    zmq_patterns::clock::timestamp(),
                    record.args()
                )
            });
    } else {
        builder.format_timestamp_millis();
    }
    let _ = builder.try_init();
}

/// Prints one line to stdout, prefixed with the local time as the guide's `s_console` and
/// CZMQ's `zclock_log` do (`YY-MM-DD HH:MM:SS`), and flushes it.
#[macro_export]
macro_rules! console {
    ($($arg:tt)*) => {{
        println!("{} {}", $crate::zmq_patterns::clock::timestamp(), ::std::format_args!($($arg)*));
        $crate::flush();
    }};
}

/// True if `e` means "asked to stop": an interrupt (Ctrl-C, SIGTERM) or a terminated context,
/// whether it came through `zmq-patterns` or straight from `zmq`.
pub fn is_shutdown(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(e) = cause.downcast_ref::<zmq_patterns::Error>() {
            return e.is_shutdown();
        }
        if let Some(e) = cause.downcast_ref::<zmq::Error>() {
            return matches!(e, zmq::Error::EINTR | zmq::Error::ETERM);
        }
        false
    })
}

/// Flushes stdout: for teaching output printed without a newline (`print!`).
pub fn flush() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupts_and_eterm_are_clean_exits() {
        assert!(is_shutdown(&anyhow::Error::from(
            zmq_patterns::Error::Interrupted
        )));
        assert!(is_shutdown(&anyhow::Error::from(zmq::Error::EINTR)));
        assert!(is_shutdown(
            &anyhow::Error::from(zmq::Error::ETERM).context("worker loop")
        ));
        assert!(!is_shutdown(&anyhow::Error::from(zmq::Error::EADDRINUSE)));
    }
}

/// The README's Rust snippets, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
