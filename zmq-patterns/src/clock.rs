//! Time helpers from the guide's `zhelpers.h` and CZMQ's `zclock`: a millisecond clock, an
//! interruptible sleep, and a timestamped console line.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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

/// Sleeps `ms` milliseconds (the guide's `s_sleep`). If [`interrupt`] handling is installed,
/// a signal ends the sleep early with [`Error::Interrupted`].
///
/// ```
/// zmq_patterns::clock::sleep_ms(1).unwrap();
/// ```
pub fn sleep_ms(ms: u64) -> Result<()> {
    let Some(fd) = interrupt::fd() else {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        return Ok(());
    };
    let deadline = Instant::now() + std::time::Duration::from_millis(ms);
    loop {
        interrupt::check()?;
        let left = deadline.saturating_duration_since(Instant::now());
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
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    // SAFETY: localtime_r writes into our struct and touches nothing shared.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
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
        sleep_ms(20).unwrap();
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
