//! [`Reactor`]: an event loop over sockets, file descriptors and timers (CZMQ's `zloop`),
//! without zloop's known re-entrancy bugs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::os::unix::io::RawFd;

use std::time::Duration;

use crate::clock;
use crate::error::Result;
use crate::poller::Poller;

/// What a handler tells the reactor after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep the loop going.
    Continue,
    /// End [`Reactor::run`] with `Ok(())` once this handler returns.
    Stop,
}

/// Identifies a reader registered with [`Reactor::add_reader`] or [`Reactor::add_fd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReaderId(u64);

/// Identifies a timer registered with [`Reactor::add_timer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

/// A handler: gets the reactor (to add, remove or reset readers and timers, its own included)
/// and the application state passed to [`Reactor::run`].
pub type Handler<'s, T> = Box<dyn FnMut(&mut Reactor<'s, T>, &mut T) -> Result<Flow> + 's>;

enum Source<'s> {
    Socket(&'s zmq::Socket),
    Fd(RawFd),
}

struct Reader<'s, T> {
    source: Source<'s>,
    /// `None` while the handler is running.
    handler: Option<Handler<'s, T>>,
}

struct Timer<'s, T> {
    interval_ms: i64,
    /// Runs left; `None` for a timer that repeats for ever.
    times_left: Option<u64>,
    due: i64,
    handler: Option<Handler<'s, T>>,
}

/// An event loop: readers on sockets and file descriptors, one-shot and repeating timers, each
/// with a handler that returns [`Flow::Continue`] or [`Flow::Stop`].
///
/// - Handlers may add and remove readers and timers (their own and others') while the loop
///   runs. A removal takes effect at once: a removed handler is never called again, not even
///   later in the same turn (zloop could, czmq #1634). A reader added during a turn is polled
///   from the next turn on.
/// - [`Reactor::reset_timer`] restarts a timer's countdown from now: the heartbeat and expiry
///   patterns use it.
/// - A handler's error ends [`Reactor::run`] with that error; Ctrl-C ends it with
///   [`Error::Interrupted`](crate::Error::Interrupted) once [`interrupt`](crate::interrupt)
///   handling is installed.
/// - Timers due at the same time run in the order they were added; expired timers run before
///   readers in a turn. Polling costs O(readers); timers live in a heap, O(log timers) each.
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::reactor::{Flow, Reactor};
/// use zmq_patterns::Msg;
/// let ctx = zmq::Context::new();
/// let pull = ctx.socket(zmq::PULL).unwrap();
/// pull.bind("inproc://reactor-doc").unwrap();
/// let push = ctx.socket(zmq::PUSH).unwrap();
/// push.connect("inproc://reactor-doc").unwrap();
///
/// let mut reactor = Reactor::new();
/// // every 5 ms send a message; stop after the third one arrives
/// reactor.add_timer(Duration::from_millis(5), 0, |_, _| {
///     push.send("tick", 0)?;
///     Ok(Flow::Continue)
/// });
/// reactor.add_reader(&pull, |_, received: &mut u32| {
///     let _ = Msg::recv(&pull)?;
///     *received += 1;
///     Ok(if *received == 3 { Flow::Stop } else { Flow::Continue })
/// });
/// let mut received = 0;
/// reactor.run(&mut received).unwrap();
/// assert_eq!(received, 3);
/// ```
pub struct Reactor<'s, T> {
    next_id: u64,
    readers: BTreeMap<ReaderId, Reader<'s, T>>,
    readers_changed: bool,
    timers: HashMap<TimerId, Timer<'s, T>>,
    /// (due, id) of every scheduled timer; entries whose due time no longer matches the timer
    /// (reset or removed) are skipped when they come up.
    schedule: BinaryHeap<Reverse<(i64, TimerId)>>,
}

impl<'s, T> Default for Reactor<'s, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'s, T> Reactor<'s, T> {
    /// An empty reactor.
    ///
    /// ```
    /// let reactor: zmq_patterns::reactor::Reactor<()> = zmq_patterns::reactor::Reactor::new();
    /// # drop(reactor);
    /// ```
    pub fn new() -> Self {
        Reactor {
            next_id: 0,
            readers: BTreeMap::new(),
            readers_changed: true,
            timers: HashMap::new(),
            schedule: BinaryHeap::new(),
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Calls `handler` whenever `socket` has input. The handler must read from the socket (or
    /// remove the reader), or it will be called again at once.
    ///
    /// ```
    /// use zmq_patterns::reactor::{Flow, Reactor};
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// let mut r: Reactor<()> = Reactor::new();
    /// let id = r.add_reader(&s, |_, _| Ok(Flow::Continue));
    /// r.remove_reader(id);
    /// ```
    pub fn add_reader(
        &mut self,
        socket: &'s zmq::Socket,
        handler: impl FnMut(&mut Reactor<'s, T>, &mut T) -> Result<Flow> + 's,
    ) -> ReaderId {
        self.insert_reader(Source::Socket(socket), Box::new(handler))
    }

    /// Calls `handler` whenever the file descriptor `fd` is readable (a UDP socket, a pipe,
    /// stdin).
    ///
    /// ```
    /// use zmq_patterns::reactor::{Flow, Reactor};
    /// let mut r: Reactor<()> = Reactor::new();
    /// let _stdin = r.add_fd(0, |_, _| Ok(Flow::Stop));
    /// ```
    pub fn add_fd(
        &mut self,
        fd: RawFd,
        handler: impl FnMut(&mut Reactor<'s, T>, &mut T) -> Result<Flow> + 's,
    ) -> ReaderId {
        self.insert_reader(Source::Fd(fd), Box::new(handler))
    }

    fn insert_reader(&mut self, source: Source<'s>, handler: Handler<'s, T>) -> ReaderId {
        let id = ReaderId(self.id());
        self.readers.insert(
            id,
            Reader {
                source,
                handler: Some(handler),
            },
        );
        self.readers_changed = true;
        id
    }

    /// Removes a reader; its handler is never called again. Removing an unknown or already
    /// removed reader does nothing.
    ///
    /// ```
    /// # use zmq_patterns::reactor::{Flow, Reactor};
    /// # let mut r: Reactor<()> = Reactor::new();
    /// let id = r.add_fd(0, |_, _| Ok(Flow::Continue));
    /// r.remove_reader(id);
    /// r.remove_reader(id); // harmless
    /// ```
    pub fn remove_reader(&mut self, id: ReaderId) {
        if self.readers.remove(&id).is_some() {
            self.readers_changed = true;
        }
    }

    /// Calls `handler` after `delay`, `times` times (`0`: for ever), `delay` apart.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmq_patterns::reactor::{Flow, Reactor};
    /// let mut r = Reactor::new();
    /// r.add_timer(Duration::from_millis(1), 3, |_, n: &mut u32| { *n += 1; Ok(Flow::Continue) });
    /// let mut n = 0;
    /// r.run(&mut n).unwrap(); // ends when nothing is left to wait for
    /// assert_eq!(n, 3);
    /// ```
    pub fn add_timer(
        &mut self,
        delay: Duration,
        times: u64,
        handler: impl FnMut(&mut Reactor<'s, T>, &mut T) -> Result<Flow> + 's,
    ) -> TimerId {
        let id = TimerId(self.id());
        let interval_ms =
            i64::try_from(delay.as_millis()).map_or(i64::MAX / 2, |ms| ms.min(i64::MAX / 2));
        let due = clock::mono_ms() + interval_ms;
        self.timers.insert(
            id,
            Timer {
                interval_ms,
                times_left: (times > 0).then_some(times),
                due,
                handler: Some(Box::new(handler)),
            },
        );
        self.schedule.push(Reverse((due, id)));
        id
    }

    /// Removes a timer; its handler is never called again.
    ///
    /// ```
    /// use std::time::Duration;
    /// # use zmq_patterns::reactor::{Flow, Reactor};
    /// let mut r: Reactor<()> = Reactor::new();
    /// let t = r.add_timer(Duration::from_millis(10), 0, |_, _| Ok(Flow::Continue));
    /// r.remove_timer(t);
    /// r.run(&mut ()).unwrap(); // nothing left: returns at once
    /// ```
    pub fn remove_timer(&mut self, id: TimerId) {
        self.timers.remove(&id);
    }

    /// Restarts a timer's countdown from now (a heartbeat that arrived pushes its expiry
    /// back). Returns false if the timer is gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// # use zmq_patterns::reactor::{Flow, Reactor};
    /// let mut r: Reactor<()> = Reactor::new();
    /// let t = r.add_timer(Duration::from_millis(1000), 1, |_, _| Ok(Flow::Continue));
    /// assert!(r.reset_timer(t));
    /// ```
    pub fn reset_timer(&mut self, id: TimerId) -> bool {
        let now = clock::mono_ms();
        match self.timers.get_mut(&id) {
            Some(timer) => {
                timer.due = now + timer.interval_ms;
                self.schedule.push(Reverse((timer.due, id)));
                true
            }
            None => false,
        }
    }

    /// Number of readers and timers registered.
    ///
    /// ```
    /// let r: zmq_patterns::reactor::Reactor<()> = zmq_patterns::reactor::Reactor::new();
    /// assert_eq!(r.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.readers.len() + self.timers.len()
    }

    /// True if no reader or timer is registered.
    ///
    /// ```
    /// assert!(zmq_patterns::reactor::Reactor::<()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs until a handler returns [`Flow::Stop`] (`Ok`), a handler fails (its error), Ctrl-C
    /// ([`Error::Interrupted`](crate::Error::Interrupted)), or nothing is left to wait for
    /// (`Ok`).
    ///
    /// ```
    /// use std::time::Duration;
    /// # use zmq_patterns::reactor::{Flow, Reactor};
    /// let mut r = Reactor::new();
    /// r.add_timer(Duration::from_millis(1), 1, |_, _: &mut ()| Ok(Flow::Stop));
    /// r.run(&mut ()).unwrap();
    /// ```
    pub fn run(&mut self, state: &mut T) -> Result<()> {
        log::debug!(
            "reactor: started with {} readers and {} timers",
            self.readers.len(),
            self.timers.len()
        );
        let result = self.run_loop(state);
        if let Err(e) = &result {
            log::debug!("reactor: stopped: {e}");
        }
        result
    }

    fn run_loop(&mut self, state: &mut T) -> Result<()> {
        let mut order: Vec<ReaderId> = Vec::new();
        let mut poller = Poller::new();
        loop {
            if self.readers.is_empty() && self.timers.is_empty() {
                log::debug!("reactor: stopped: no reader or timer left");
                return Ok(());
            }
            if self.readers_changed {
                // Rebuild the poll set only when readers changed.
                order.clear();
                poller = Poller::new();
                for (id, reader) in &self.readers {
                    match reader.source {
                        Source::Socket(s) => poller.add(s),
                        Source::Fd(fd) => poller.add_fd(fd),
                    };
                    order.push(*id);
                }
                self.readers_changed = false;
            }
            let timeout = self.next_timeout();
            let ready = poller.poll(timeout)?;

            if self.run_due_timers(state)? == Flow::Stop {
                log::debug!("reactor: stopped by a timer's handler");
                return Ok(());
            }
            if ready == 0 {
                continue;
            }
            let ready_ids: Vec<ReaderId> = poller.readable().map(|i| order[i]).collect();
            for id in ready_ids {
                // Skip readers removed earlier in this turn.
                let Some(mut handler) = self.readers.get_mut(&id).and_then(|r| r.handler.take())
                else {
                    continue;
                };
                log::trace!("reactor: reader {} ready", id.0);
                let flow = handler(self, state);
                if let Some(reader) = self.readers.get_mut(&id) {
                    reader.handler = Some(handler);
                }
                if let Err(e) = &flow {
                    log::debug!("reactor: reader {}'s handler failed: {e}", id.0);
                }
                if flow? == Flow::Stop {
                    log::debug!("reactor: stopped by reader {}'s handler", id.0);
                    return Ok(());
                }
            }
        }
    }

    /// Time until the next timer is due, `None` if there is none.
    fn next_timeout(&mut self) -> Option<Duration> {
        while let Some(Reverse((due, id))) = self.schedule.peek().copied() {
            match self.timers.get(&id) {
                Some(t) if t.due == due => {
                    let ms = (due - clock::mono_ms()).max(0);
                    return Some(Duration::from_millis(ms as u64));
                }
                _ => {
                    self.schedule.pop(); // stale entry: removed or reset timer
                }
            }
        }
        None
    }

    fn run_due_timers(&mut self, state: &mut T) -> Result<Flow> {
        let now = clock::mono_ms();
        // Collect first, so that timers added or reset by handlers wait for the next turn.
        let mut due_now = Vec::new();
        while let Some(Reverse((due, id))) = self.schedule.peek().copied() {
            if due > now {
                break;
            }
            self.schedule.pop();
            if self.timers.get(&id).is_some_and(|t| t.due == due) {
                due_now.push(id);
            }
        }
        for id in due_now {
            let Some(timer) = self.timers.get_mut(&id) else {
                continue; // removed by a handler earlier in this turn
            };
            let Some(mut handler) = timer.handler.take() else {
                continue;
            };
            // Schedule the next run before calling, so that the handler may reset it.
            let last = match &mut timer.times_left {
                Some(n) => {
                    *n -= 1;
                    *n == 0
                }
                None => false,
            };
            timer.due = now + timer.interval_ms;
            if !last {
                self.schedule.push(Reverse((timer.due, id)));
            }
            log::trace!("reactor: timer {} due", id.0);
            let flow = handler(self, state);
            if last {
                self.timers.remove(&id);
            } else if let Some(timer) = self.timers.get_mut(&id) {
                timer.handler = Some(handler);
            }
            if let Err(e) = &flow {
                log::debug!("reactor: timer {}'s handler failed: {e}", id.0);
            }
            if flow? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Msg};
    use std::cell::{Cell, RefCell};

    fn pair(ctx: &zmq::Context, name: &str) -> (zmq::Socket, zmq::Socket) {
        let a = ctx.socket(zmq::PAIR).unwrap();
        let b = ctx.socket(zmq::PAIR).unwrap();
        a.bind(&format!("inproc://{name}")).unwrap();
        b.connect(&format!("inproc://{name}")).unwrap();
        (a, b)
    }

    #[test]
    fn one_shot_and_repeating_timers() {
        let mut r = Reactor::new();
        r.add_timer(Duration::from_millis(5), 1, |_, log: &mut Vec<&str>| {
            log.push("once");
            Ok(Flow::Continue)
        });
        r.add_timer(Duration::from_millis(2), 4, |_, log: &mut Vec<&str>| {
            log.push("rep");
            Ok(Flow::Continue)
        });
        let mut log = Vec::new();
        let t = clock::mono_ms();
        r.run(&mut log).unwrap();
        assert!(clock::mono_ms() - t >= 5);
        assert_eq!(log.iter().filter(|s| **s == "once").count(), 1);
        assert_eq!(log.iter().filter(|s| **s == "rep").count(), 4);
        assert!(r.is_empty());
    }

    #[test]
    fn a_reader_removed_by_a_timer_in_the_same_turn_is_not_called() {
        // czmq #1634: the socket is readable and the timer that removes its reader is due in
        // the same turn; the reader must not run.
        let ctx = zmq::Context::new();
        let (a, b) = pair(&ctx, "reactor-remove");
        a.send("x", 0).unwrap();
        assert_eq!(
            b.poll(zmq::POLLIN, 10_000).unwrap(),
            1,
            "readable in the first turn"
        );
        let called = Cell::new(false);
        let mut r: Reactor<Option<ReaderId>> = Reactor::new();
        let reader = r.add_reader(&b, |_, _| {
            called.set(true);
            Ok(Flow::Continue)
        });
        r.add_timer(Duration::from_millis(0), 1, |r, target| {
            r.remove_reader(target.take().unwrap());
            Ok(Flow::Continue)
        });
        r.add_timer(Duration::from_millis(50), 1, |_, _| Ok(Flow::Stop));
        r.run(&mut Some(reader)).unwrap();
        assert!(!called.get(), "a removed reader was called");
    }

    #[test]
    fn a_reader_can_remove_another_ready_reader_and_itself() {
        let ctx = zmq::Context::new();
        let (a1, b1) = pair(&ctx, "reactor-r1");
        let (a2, b2) = pair(&ctx, "reactor-r2");
        a1.send("1", 0).unwrap();
        a2.send("2", 0).unwrap();
        for b in [&b1, &b2] {
            assert_eq!(
                b.poll(zmq::POLLIN, 10_000).unwrap(),
                1,
                "readable in the first turn"
            );
        }
        let calls = RefCell::new(Vec::new());
        struct Ids {
            first: Option<ReaderId>,
            second: Option<ReaderId>,
        }
        let mut r: Reactor<Ids> = Reactor::new();
        let first = r.add_reader(&b1, |r, ids| {
            calls.borrow_mut().push("first");
            r.remove_reader(ids.second.unwrap());
            r.remove_reader(ids.first.unwrap());
            Ok(Flow::Continue)
        });
        let second = r.add_reader(&b2, |_, _| {
            calls.borrow_mut().push("second");
            Ok(Flow::Continue)
        });
        let mut ids = Ids {
            first: Some(first),
            second: Some(second),
        };
        r.run(&mut ids).unwrap(); // ends: nothing left
        assert_eq!(*calls.borrow(), vec!["first"]);
    }

    #[test]
    fn handlers_add_readers_and_timers_while_running() {
        let ctx = zmq::Context::new();
        let (a, b) = pair(&ctx, "reactor-add");
        let mut r: Reactor<u32> = Reactor::new();
        r.add_timer(Duration::from_millis(1), 1, |r, _| {
            a.send("late", 0)?;
            r.add_reader(&b, |_, got| {
                let m = Msg::recv(&b)?;
                assert!(m[0] == "late");
                *got += 1;
                Ok(Flow::Stop)
            });
            Ok(Flow::Continue)
        });
        let mut got = 0;
        r.run(&mut got).unwrap();
        assert_eq!(got, 1);
    }

    #[test]
    fn a_timer_removes_itself_and_another_due_timer() {
        let mut r: Reactor<(Vec<&str>, Option<TimerId>)> = Reactor::new();
        let first = r.add_timer(Duration::from_millis(0), 0, |r, (log, other)| {
            log.push("first");
            if let Some(other) = other.take() {
                r.remove_timer(other);
            }
            Ok(Flow::Continue)
        });
        let second = r.add_timer(Duration::from_millis(0), 0, |_, (log, _)| {
            log.push("second");
            Ok(Flow::Continue)
        });
        r.add_timer(Duration::from_millis(30), 1, move |r, _| {
            r.remove_timer(first);
            Ok(Flow::Continue)
        });
        let mut state = (Vec::new(), Some(second));
        r.run(&mut state).unwrap();
        assert!(!state.0.contains(&"second"), "{:?}", state.0);
        assert!(state.0.iter().filter(|s| **s == "first").count() >= 2);
    }

    #[test]
    fn reset_pushes_a_timer_back() {
        // An "expiry" timer of 40 ms, reset by a 10 ms heartbeat for 100 ms: it must not fire
        // until the heartbeats stop.
        let mut r: Reactor<(Option<TimerId>, u32, bool)> = Reactor::new();
        let start = clock::mono_ms();
        let expiry = r.add_timer(Duration::from_millis(40), 1, move |_, state| {
            state.2 = true;
            assert!(
                clock::mono_ms() - start >= 100,
                "expired while heartbeats were coming"
            );
            Ok(Flow::Stop)
        });
        r.add_timer(Duration::from_millis(10), 10, |r, state| {
            state.1 += 1;
            assert!(r.reset_timer(state.0.unwrap()));
            Ok(Flow::Continue)
        });
        let mut state = (Some(expiry), 0, false);
        r.run(&mut state).unwrap();
        assert_eq!(state.1, 10);
        assert!(state.2);
    }

    #[test]
    fn an_error_from_a_handler_ends_the_loop() {
        let mut r: Reactor<()> = Reactor::new();
        r.add_timer(Duration::from_millis(1), 0, |_, _| {
            Err(Error::protocol("bad"))
        });
        let e = r.run(&mut ()).unwrap_err();
        assert!(matches!(e, Error::Protocol(_)));
        // and the reactor can run again afterwards (zloop broke after a restart, czmq #2278)
        r.remove_timer(TimerId(1));
        r.add_timer(Duration::from_millis(1), 1, |_, _| Ok(Flow::Continue));
        r.run(&mut ()).unwrap();
    }

    #[test]
    fn start_handler_failure_and_stop_are_logged() {
        use log::Level::{Debug, Trace};
        let cap = crate::test_log::capture();
        let mut r: Reactor<()> = Reactor::new();
        let t = r.add_timer(Duration::from_millis(1), 0, |_, _| {
            Err(Error::protocol("bad"))
        });
        r.run(&mut ()).unwrap_err();
        assert!(cap.has(Debug, &["reactor: started with 0 readers and 1 timers"]));
        assert!(cap.has(Trace, &[&format!("reactor: timer {} due", t.0)]));
        assert!(cap.has(
            Debug,
            &[&format!(
                "reactor: timer {}'s handler failed: protocol error: bad",
                t.0
            )]
        ));
        assert!(cap.has(Debug, &["reactor: stopped: protocol error: bad"]));
        r.remove_timer(t);
        r.run(&mut ()).unwrap();
        assert!(cap.has(Debug, &["reactor: stopped: no reader or timer left"]));
    }

    #[test]
    fn timers_run_once_per_due_time() {
        // czmq #1995: a timer called twice for one expiry.
        let count = Cell::new(0);
        let mut r: Reactor<()> = Reactor::new();
        r.add_timer(Duration::from_millis(20), 1, |_, _| {
            count.set(count.get() + 1);
            Ok(Flow::Continue)
        });
        r.add_timer(Duration::from_millis(60), 1, |_, _| Ok(Flow::Stop));
        r.run(&mut ()).unwrap();
        assert_eq!(count.get(), 1);
    }
}
