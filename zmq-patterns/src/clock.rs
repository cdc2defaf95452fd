//! Time helpers from the guide's `zhelpers.h` and CZMQ's `zclock`: millisecond clocks, an
//! interruptible sleep, and the guide's console timestamp.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::interrupt;

/// Milliseconds on a monotonic clock (CZMQ's `zclock_mono`): use it for timeouts and
/// heartbeats, which must not jump when the wall clock is set.
///
/// ```
/// let a = zmq_patterns::clock::mono_ms();
/// assert!(zmq_patterns::clock::mono_ms() >= a);
/// ```
pub fn mono_ms() -> i64 {
    static START: OnceLock<Instant> = OnceLock::new();
    // Offset so that the value is never 0 and stays positive.
    START.get_or_init(Instant::now).elapsed().as_millis() as i64 + 1
}

/// Milliseconds since the Unix epoch (the guide's `s_clock`, CZMQ's `zclock_time`).
///
/// ```
/// assert!(zmq_patterns::clock::time_ms() > 1_600_000_000_000);
/// ```
pub fn time_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The time left until the [`mono_ms`] clock reaches `deadline_ms`: zero once it has passed.
/// For loops that keep their deadlines as [`mono_ms`] readings, as the guide's do.
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::clock;
/// let left = clock::until(clock::mono_ms() + 1000);
/// assert!(left <= Duration::from_secs(1) && left > Duration::from_millis(900));
/// assert_eq!(clock::until(0), Duration::ZERO);
/// ```
pub fn until(deadline_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(deadline_ms.saturating_sub(mono_ms())).unwrap_or(0))
}

/// Sleeps for `duration` (the guide's `s_sleep`). If [`interrupt`] handling is installed, a
/// signal ends the sleep early with [`Error::Interrupted`].
///
/// ```
/// zmq_patterns::clock::sleep(std::time::Duration::from_millis(1)).unwrap();
/// ```
#[doc(alias = "s_sleep", alias = "zclock_sleep")]
pub fn sleep(duration: Duration) -> Result<()> {
    let Some(fd) = interrupt::fd() else {
        std::thread::sleep(duration);
        return Ok(());
    };
    // A sleep too long to have an end (Duration::MAX) lasts until a signal.
    let deadline = Instant::now().checked_add(duration);
    loop {
        interrupt::check()?;
        let left = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        if left.is_zero() {
            return Ok(());
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let wait = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // A signal makes poll return early (EINTR) or the pipe readable: both end the sleep.
        // SAFETY: `pfd` is a valid pollfd that lives across the call, and its count is 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, wait) };
        if rc > 0 {
            return Err(Error::Interrupted);
        }
    }
}

/// The local time as the guide's `s_console` and CZMQ's `zclock_log` print it: `YY-MM-DD HH:MM:SS`.
///
/// ```
/// let t = zmq_patterns::clock::timestamp();
/// assert_eq!(t.len(), 17);
/// ```
pub fn timestamp() -> String {
    // SAFETY: time(NULL) only returns the current time.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    // SAFETY: libc::tm is plain data (integers and a pointer), for which all zeroes is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r reads `now` and writes into our own `tm`, touching nothing shared.
    unsafe { libc::localtime_r(&now, &mut tm) };
    format!(
        "{:02}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year % 100,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_move_forward() {
        let a = mono_ms();
        sleep(Duration::from_millis(20)).unwrap();
        let b = mono_ms();
        assert!(b - a >= 19, "slept {} ms", b - a);
    }

    #[test]
    fn timestamp_has_the_guide_shape() {
        let t = timestamp();
        let b = t.as_bytes();
        assert_eq!(
            (b[2], b[5], b[8], b[11], b[14]),
            (b'-', b'-', b' ', b':', b':'),
            "{t}"
        );
    }
}
