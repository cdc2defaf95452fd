//! [`StopHandle`]: ask a loop running in another thread (an embedded broker) to stop, without a
//! process-wide signal and without terminating the context.

use std::io::Write;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Result;

/// The side a loop keeps: a flag and a file descriptor to poll with its sockets, which becomes
/// readable when [`StopHandle::stop`] is called.
#[derive(Debug)]
pub(crate) struct StopSignal {
    stopped: Arc<AtomicBool>,
    read: UnixStream,
}

impl StopSignal {
    /// A new signal and the handle that raises it.
    pub(crate) fn new() -> Result<(StopSignal, StopHandle)> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let stopped = Arc::new(AtomicBool::new(false));
        let handle = StopHandle {
            stopped: Arc::clone(&stopped),
            write: Arc::new(write),
        };
        Ok((StopSignal { stopped, read }, handle))
    }

    /// The descriptor to poll.
    pub(crate) fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// True once a handle asked to stop.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Makes the signal wait again (for a loop that is run again after a stop).
    pub(crate) fn rearm(&self) {
        use std::io::Read;
        self.stopped.store(false, Ordering::SeqCst);
        let mut buf = [0u8; 16];
        while matches!((&self.read).read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// Asks a running loop (such as [`mdp::Broker::run`](crate::mdp::Broker::run)) to return, from
/// any thread: `Send`, `Sync` and cheap to clone. The loop returns `Ok(())` soon after
/// [`StopHandle::stop`], whatever it was waiting for.
///
/// ```
/// let ctx = zmq::Context::new();
/// let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
/// broker.bind("inproc://stop-doc").unwrap();
/// let stop = broker.stop_handle().unwrap();
/// let thread = std::thread::spawn(move || broker.run());
/// stop.stop();
/// thread.join().unwrap().unwrap(); // the broker returned Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct StopHandle {
    stopped: Arc<AtomicBool>,
    write: Arc<UnixStream>,
}

impl StopHandle {
    /// Asks the loop to stop; calling it again does nothing more.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// let stop = broker.stop_handle().unwrap();
    /// stop.stop();
    /// assert!(stop.is_stopped());
    /// broker.run().unwrap(); // returns at once
    /// ```
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            let _ = (&*self.write).write(&[1]);
        }
    }

    /// True once [`StopHandle::stop`] was called (on this handle or a clone).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut broker = zmq_patterns::mdp::Broker::new(&ctx, Default::default()).unwrap();
    /// assert!(!broker.stop_handle().unwrap().is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}
