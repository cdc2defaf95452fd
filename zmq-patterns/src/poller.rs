//! [`Poller`]: wait on several sockets and file descriptors at once (CZMQ's `zpoller`).

use std::os::unix::io::RawFd;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::interrupt;

/// Waits on sockets and raw file descriptors, with a timeout, and says which are ready.
///
/// Register each socket once with [`Poller::add`] (which returns its index), then call
/// [`Poller::poll`] in the loop and ask [`Poller::is_readable`]: no `PollItem` arrays rebuilt
/// by hand. If [`interrupt`] handling is installed, a poll also wakes on Ctrl-C and returns
/// [`Error::Interrupted`].
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::{Msg, Poller};
/// let ctx = zmq::Context::new();
/// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
/// a.bind("inproc://poller-doc").unwrap();
/// b.connect("inproc://poller-doc").unwrap();
/// let quiet = ctx.socket(zmq::SUB).unwrap();
///
/// let mut poller = Poller::new();
/// let from_b = poller.add(&b);
/// let from_quiet = poller.add(&quiet);
/// a.send("ping", 0).unwrap();
/// assert_eq!(poller.poll(Some(Duration::from_millis(1000))).unwrap(), 1);
/// assert!(poller.is_readable(from_b) && !poller.is_readable(from_quiet));
/// assert!(Msg::recv(&b).unwrap()[0] == "ping");
/// assert_eq!(poller.poll(Some(Duration::ZERO)).unwrap(), 0); // nothing left: timeout
/// ```
pub struct Poller<'a> {
    items: Vec<zmq::PollItem<'a>>,
    /// Index of the interrupt pipe in `items`, once added.
    interrupt: Option<usize>,
}

impl<'a> Default for Poller<'a> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Poller<'a> {
    /// An empty poller.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut p = zmq_patterns::Poller::new();
    /// assert_eq!(p.poll(Some(Duration::ZERO)).unwrap(), 0);
    /// ```
    pub fn new() -> Poller<'a> {
        Poller {
            items: Vec::new(),
            interrupt: None,
        }
    }

    /// Watches `socket` for input; returns its index.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// let mut p = zmq_patterns::Poller::new();
    /// assert_eq!(p.add(&s), 0);
    /// ```
    pub fn add(&mut self, socket: &'a zmq::Socket) -> usize {
        self.add_events(socket, zmq::POLLIN)
    }

    /// Watches `socket` for `events` (`zmq::POLLIN`, `zmq::POLLOUT`); returns its index.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PUSH).unwrap();
    /// let mut p = zmq_patterns::Poller::new();
    /// let i = p.add_events(&s, zmq::POLLOUT);
    /// p.poll(Some(Duration::ZERO)).unwrap();
    /// assert!(!p.is_writable(i)); // no peer yet
    /// ```
    pub fn add_events(&mut self, socket: &'a zmq::Socket, events: zmq::PollEvents) -> usize {
        self.insert(socket.as_poll_item(events))
    }

    /// Watches a raw file descriptor (a UDP socket, a pipe, stdin) for input; returns its index.
    ///
    /// ```
    /// let mut p = zmq_patterns::Poller::new();
    /// let stdin = p.add_fd(0);
    /// # let _ = stdin;
    /// ```
    pub fn add_fd(&mut self, fd: RawFd) -> usize {
        self.insert(zmq::PollItem::from_fd(fd, zmq::POLLIN))
    }

    fn insert(&mut self, item: zmq::PollItem<'a>) -> usize {
        match self.interrupt {
            // Keep the interrupt pipe last so that user indices never move.
            Some(at) => {
                self.items.insert(at, item);
                self.interrupt = Some(at + 1);
                at
            }
            None => {
                self.items.push(item);
                self.items.len() - 1
            }
        }
    }

    /// Changes the events watched on item `index`; empty events make the poll skip it (for
    /// example a backend while no worker is ready).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// let mut p = zmq_patterns::Poller::new();
    /// let i = p.add(&s);
    /// p.set_events(i, zmq::PollEvents::empty());
    /// ```
    pub fn set_events(&mut self, index: usize, events: zmq::PollEvents) {
        if let Some(item) = self.user_items_mut().get_mut(index) {
            item.set_events(events);
        }
    }

    fn user_items_mut(&mut self) -> &mut [zmq::PollItem<'a>] {
        let n = self.interrupt.unwrap_or(self.items.len());
        &mut self.items[..n]
    }

    /// Waits up to `timeout` (`None`: for ever, `Some(Duration::ZERO)`: just look) and returns
    /// how many items are ready; `0` means the time ran out. Returns [`Error::Interrupted`] on
    /// Ctrl-C once [`interrupt::install`] has run.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut p = zmq_patterns::Poller::new();
    /// assert_eq!(p.poll(Some(Duration::from_millis(10))).unwrap(), 0);
    /// ```
    #[doc(alias = "zmq_poll")]
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<usize> {
        let timeout_ms = poll_ms(timeout);
        if self.interrupt.is_none() {
            if let Some(fd) = interrupt::fd() {
                self.items.push(zmq::PollItem::from_fd(fd, zmq::POLLIN));
                self.interrupt = Some(self.items.len() - 1);
            }
        }
        let n = zmq::poll(&mut self.items, timeout_ms)?;
        if let Some(at) = self.interrupt {
            if self.items[at].is_readable() {
                return Err(Error::Interrupted);
            }
        }
        Ok(n as usize)
    }

    /// Waits like [`Poller::poll`] and returns the index of the first readable item, or
    /// `None` if the time ran out (CZMQ's `zpoller_wait`).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// let mut p = zmq_patterns::Poller::new();
    /// p.add(&s);
    /// assert_eq!(p.wait(Some(std::time::Duration::from_millis(5))).unwrap(), None);
    /// ```
    #[doc(alias = "zpoller_wait")]
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<usize>> {
        if self.poll(timeout)? == 0 {
            return Ok(None);
        }
        Ok(self.readable().next())
    }

    /// True if item `index` had input at the last poll.
    ///
    /// ```
    /// let p = zmq_patterns::Poller::new();
    /// assert!(!p.is_readable(3)); // unknown index: false, never a panic
    /// ```
    pub fn is_readable(&self, index: usize) -> bool {
        self.user_item(index).is_some_and(|i| i.is_readable())
    }

    /// True if item `index` could be written at the last poll.
    ///
    /// ```
    /// assert!(!zmq_patterns::Poller::new().is_writable(0));
    /// ```
    pub fn is_writable(&self, index: usize) -> bool {
        self.user_item(index).is_some_and(|i| i.is_writable())
    }

    /// The indices of the items that had input at the last poll.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::Poller::new().readable().count(), 0);
    /// ```
    pub fn readable(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.interrupt.unwrap_or(self.items.len());
        (0..n).filter(move |&i| self.items[i].is_readable())
    }

    /// Number of items registered.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::Poller::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.interrupt.unwrap_or(self.items.len())
    }

    /// True if nothing is registered.
    ///
    /// ```
    /// assert!(zmq_patterns::Poller::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn user_item(&self, index: usize) -> Option<&zmq::PollItem<'a>> {
        if Some(index) == self.interrupt {
            return None;
        }
        self.items.get(index)
    }
}

/// A timeout as `zmq_poll` takes it: milliseconds, rounded up so that a wait of less than a
/// millisecond does not become a busy loop, and `-1` for none.
pub(crate) fn poll_ms(timeout: Option<Duration>) -> i64 {
    match timeout {
        None => -1,
        Some(d) => i64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_which_of_several_is_ready() {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH).unwrap();
        let pull1 = ctx.socket(zmq::PULL).unwrap();
        let pull2 = ctx.socket(zmq::PULL).unwrap();
        pull2.bind("inproc://poller-2").unwrap();
        push.connect("inproc://poller-2").unwrap();
        let mut p = Poller::new();
        let i1 = p.add(&pull1);
        let i2 = p.add(&pull2);
        push.send("x", 0).unwrap();
        assert_eq!(p.wait(Some(Duration::from_millis(1000))).unwrap(), Some(i2));
        assert!(!p.is_readable(i1));
        assert_eq!(p.readable().collect::<Vec<_>>(), vec![i2]);
    }

    #[test]
    fn watches_a_raw_fd() {
        use std::io::Write;
        use std::os::unix::io::AsRawFd;
        let (read, mut write) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut p = Poller::new();
        let i = p.add_fd(read.as_raw_fd());
        assert_eq!(p.poll(Some(Duration::ZERO)).unwrap(), 0);
        write.write_all(b"!").unwrap();
        assert_eq!(p.poll(Some(Duration::from_millis(1000))).unwrap(), 1);
        assert!(p.is_readable(i));
    }

    #[test]
    fn disabled_item_is_skipped() {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH).unwrap();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("inproc://poller-off").unwrap();
        push.connect("inproc://poller-off").unwrap();
        push.send("x", 0).unwrap();
        let mut p = Poller::new();
        let i = p.add(&pull);
        p.set_events(i, zmq::PollEvents::empty());
        assert_eq!(p.poll(Some(Duration::from_millis(20))).unwrap(), 0);
        p.set_events(i, zmq::POLLIN);
        assert_eq!(p.poll(Some(Duration::from_millis(1000))).unwrap(), 1);
    }
}
