//! Test-only: a `log::Log` that captures records, so that unit tests can check that the library
//! logs what a person debugging a pattern needs.
//!
//! The logger is installed once for the test binary ([`capture`] does it). Records are kept
//! only while a [`Capture`] is alive, so tests that do not capture pay nothing but a check:
//! - [`capture`] keeps the records logged on the calling thread (tests run in parallel on
//!   their own threads, so one test never sees another's records);
//! - [`capture_all`] keeps the records of every thread, for events logged by a thread the
//!   library starts (an actor); such a test looks for text only it can produce (an endpoint,
//!   an identity of its own).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

struct Logger;

/// Live [`capture_all`] captures.
static GLOBAL_CAPTURES: AtomicUsize = AtomicUsize::new(0);
/// Records of all threads while a [`capture_all`] capture is alive.
static GLOBAL: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

thread_local! {
    /// Records of this thread while a [`capture`] capture is alive.
    static LOCAL: RefCell<Option<Vec<(log::Level, String)>>> = const { RefCell::new(None) };
}

fn local_active() -> bool {
    LOCAL
        .try_with(|l| l.try_borrow().is_ok_and(|l| l.is_some()))
        .unwrap_or(false)
}

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        GLOBAL_CAPTURES.load(Ordering::SeqCst) > 0 || local_active()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = record.args().to_string();
        let _ = LOCAL.try_with(|l| {
            if let Ok(mut l) = l.try_borrow_mut() {
                if let Some(l) = l.as_mut() {
                    l.push((record.level(), line.clone()));
                }
            }
        });
        if GLOBAL_CAPTURES.load(Ordering::SeqCst) > 0 {
            GLOBAL
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((record.level(), line));
        }
    }

    fn flush(&self) {}
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        static LOGGER: Logger = Logger;
        log::set_logger(&LOGGER).expect("no other logger in the library's tests");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// Records kept while it lives; see the module's doc.
pub(crate) struct Capture {
    global: bool,
}

/// Captures what this thread logs from now on.
pub(crate) fn capture() -> Capture {
    install();
    LOCAL.with(|l| *l.borrow_mut() = Some(Vec::new()));
    Capture { global: false }
}

/// Captures what any thread logs from now on.
pub(crate) fn capture_all() -> Capture {
    install();
    // Under the lock, so that the last capture's drop cannot clear the first records.
    let _g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    GLOBAL_CAPTURES.fetch_add(1, Ordering::SeqCst);
    Capture { global: true }
}

impl Capture {
    /// The records so far, as `LEVEL text` lines.
    pub(crate) fn lines(&self) -> Vec<String> {
        let fmt = |(level, text): &(log::Level, String)| format!("{level} {text}");
        if self.global {
            let g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
            g.iter().map(fmt).collect()
        } else {
            LOCAL.with(|l| l.borrow().iter().flatten().map(fmt).collect())
        }
    }

    /// True if a record at `level` contains all of `parts`.
    pub(crate) fn has(&self, level: log::Level, parts: &[&str]) -> bool {
        let prefix = format!("{level} ");
        self.lines()
            .iter()
            .any(|l| l.starts_with(&prefix) && parts.iter().all(|p| l.contains(p)))
    }

    /// Waits up to `timeout` for a record at `level` containing all of `parts`; panics with
    /// the records seen if none comes.
    pub(crate) fn expect(&self, level: log::Level, parts: &[&str], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.has(level, parts) {
            if Instant::now() >= deadline {
                panic!(
                    "no {level} record containing {parts:?}; records:\n{}",
                    self.lines().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.global {
            let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
            if GLOBAL_CAPTURES.fetch_sub(1, Ordering::SeqCst) == 1 {
                g.clear();
            }
        } else {
            let _ = LOCAL.try_with(|l| *l.borrow_mut() = None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_sees_its_own_records_only() {
        let cap = capture();
        log::debug!("test_log: mine");
        std::thread::spawn(|| log::debug!("test_log: theirs"))
            .join()
            .unwrap();
        assert!(cap.has(log::Level::Debug, &["mine"]));
        assert!(!cap.has(log::Level::Debug, &["theirs"]));
        assert!(!cap.has(log::Level::Trace, &["mine"]));
    }

    #[test]
    fn capture_all_sees_other_threads() {
        let cap = capture_all();
        std::thread::spawn(|| log::trace!("test_log: from another thread"))
            .join()
            .unwrap();
        cap.expect(
            log::Level::Trace,
            &["from another thread"],
            Duration::from_secs(1),
        );
    }
}
