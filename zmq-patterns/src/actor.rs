//! [`Actor`]: a thread tied to its parent by an inproc PAIR pipe (CZMQ's `zactor`, the guide's
//! `zthread_fork`).

use std::any::Any;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The command a parent sends down the pipe to ask its actor to stop.
pub const TERM: &str = "$TERM";

/// How long dropping an [`Actor`] waits for its thread by default.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(2);

enum Event {
    Ready,
    Done(Result<()>),
}

/// A thread running your closure, with its own end of a PAIR pipe to the parent.
///
/// - [`Actor::new`] returns once the closure has called [`ActorPipe::ready`] (so sockets it
///   binds are bound); if the closure returned an error first, `new` returns that very error
///   (a failed bind stays [`Error::Endpoint`]); if it panicked or ended, [`Error::Actor`].
/// - The parent talks to the actor through the pipe: the handle derefs to the parent's
///   `zmq::Socket`.
/// - Dropping the handle sends [`TERM`] without blocking and waits for the thread a bounded
///   time ([`DEFAULT_STOP_TIMEOUT`], see [`Actor::set_stop_timeout`]); [`Actor::stop`] does
///   the same and returns the closure's result, a panic coming back as [`Error::Actor`].
///
/// The closure should poll its pipe and return when it reads `$TERM`
/// ([`ActorPipe::is_term`]).
///
/// ```
/// use zmq_patterns::{Actor, Msg};
/// let ctx = zmq::Context::new();
/// let echo = Actor::new(&ctx, |pipe| {
///     pipe.ready()?;
///     loop {
///         let msg = Msg::recv(&pipe)?;
///         if pipe.is_term(&msg) {
///             return Ok(());
///         }
///         msg.send(&pipe)?;
///     }
/// })
/// .unwrap();
/// Msg::from_iter(["hello"]).send(&echo).unwrap();
/// assert!(Msg::recv(&echo).unwrap()[0] == "hello");
/// echo.stop().unwrap(); // $TERM, then join
/// ```
pub struct Actor {
    pipe: zmq::Socket,
    events: mpsc::Receiver<Event>,
    thread: Option<JoinHandle<()>>,
    stop_timeout: Duration,
    /// Its number, in log lines (`actor 7: ...`); its pipe is `inproc://zmq-patterns-actor-7`.
    id: u64,
}

/// The actor's end of the pipe, given to the closure. It derefs to the `zmq::Socket`.
pub struct ActorPipe {
    socket: zmq::Socket,
    events: mpsc::Sender<Event>,
}

impl ActorPipe {
    /// Tells the parent that the actor is set up; [`Actor::new`] returns at this point.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let actor = zmq_patterns::Actor::new(&ctx, |pipe| {
    ///     pipe.ready()?;
    ///     pipe.wait_term()
    /// }).unwrap();
    /// drop(actor);
    /// ```
    pub fn ready(&self) -> Result<()> {
        // The parent may have given up waiting; that is not the actor's error.
        let _ = self.events.send(Event::Ready);
        Ok(())
    }

    /// True if `msg` is the parent's request to stop.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let a = zmq_patterns::Actor::new(&ctx, |pipe| {
    /// assert!(pipe.is_term(&zmq_patterns::Msg::from_iter(["$TERM"])));
    /// # pipe.ready() }).unwrap();
    /// ```
    pub fn is_term(&self, msg: &crate::Msg) -> bool {
        msg.front().is_some_and(|f| f == TERM)
    }

    /// Sleeps for `duration` unless the parent asks the actor to stop: returns `Ok(true)` as
    /// soon as `$TERM` arrives, `Ok(false)` when the time is up. Other messages on the pipe during
    /// the sleep are dropped. For actors that simulate work or pace themselves.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = zmq::Context::new();
    /// let actor = zmq_patterns::Actor::new(&ctx, |pipe| {
    ///     pipe.ready()?;
    ///     while !pipe.sleep(Duration::from_secs(60))? {} // "work" until told to stop
    ///     Ok(())
    /// }).unwrap();
    /// actor.stop().unwrap(); // returns at once, not after a minute
    /// ```
    pub fn sleep(&self, duration: Duration) -> Result<bool> {
        let deadline = Instant::now().checked_add(duration);
        let mut poller = crate::Poller::new();
        poller.add(&self.socket);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) || poller.poll(left)? == 0 {
                return Ok(false);
            }
            if self.is_term(&crate::Msg::recv(&self.socket)?) {
                return Ok(true);
            }
        }
    }

    /// Blocks until the parent asks the actor to stop (any other message is dropped). For an
    /// actor whose work happens elsewhere, after [`ActorPipe::ready`].
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let actor = zmq_patterns::Actor::new(&ctx, |pipe| {
    ///     pipe.ready()?;
    ///     pipe.wait_term()
    /// }).unwrap();
    /// actor.stop().unwrap();
    /// ```
    pub fn wait_term(&self) -> Result<()> {
        loop {
            let msg = crate::Msg::recv(&self.socket)?;
            if self.is_term(&msg) {
                return Ok(());
            }
        }
    }
}

impl Deref for ActorPipe {
    type Target = zmq::Socket;
    fn deref(&self) -> &zmq::Socket {
        &self.socket
    }
}

fn panic_text(p: Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

impl Actor {
    /// Starts `body` on a new thread and waits until it calls [`ActorPipe::ready`].
    ///
    /// Returns [`Error::Actor`] if the closure returns or panics before it is ready.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let err = zmq_patterns::Actor::new(&ctx, |_pipe| {
    ///     Err(zmq_patterns::Error::protocol("cannot start"))
    /// });
    /// assert!(err.is_err());
    /// ```
    pub fn new<F>(ctx: &zmq::Context, body: F) -> Result<Actor>
    where
        F: FnOnce(ActorPipe) -> Result<()> + Send + 'static,
    {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let endpoint = format!("inproc://zmq-patterns-actor-{id}");
        let parent = ctx.socket(zmq::PAIR)?;
        parent.set_linger(0)?;
        parent.bind(&endpoint)?;
        let child = ctx.socket(zmq::PAIR)?;
        child.set_linger(0)?;
        child.connect(&endpoint)?;

        let (tx, rx) = mpsc::channel();
        let done = tx.clone();
        let pipe = ActorPipe {
            socket: child,
            events: tx,
        };
        let thread = std::thread::Builder::new()
            .name("zmq-actor".into())
            .spawn(move || {
                let outcome = match catch_unwind(AssertUnwindSafe(move || body(pipe))) {
                    Ok(result) => result,
                    Err(p) => Err(Error::Actor(format!("actor panicked: {}", panic_text(p)))),
                };
                match &outcome {
                    Ok(()) => log::debug!("actor {id}: ended"),
                    Err(e) if e.is_shutdown() => log::debug!("actor {id}: ended: {e}"),
                    Err(e) => log::debug!("actor {id}: failed: {e}"),
                }
                let _ = done.send(Event::Done(outcome));
            })?;

        let mut actor = Actor {
            pipe: parent,
            events: rx,
            thread: Some(thread),
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            id,
        };
        match actor.events.recv() {
            Ok(Event::Ready) => {
                log::debug!("actor {id}: started");
                Ok(actor)
            }
            Ok(Event::Done(result)) => {
                actor.join();
                Err(match result {
                    Ok(()) => Error::Actor("actor ended before it was ready".into()),
                    // The closure's own error, so that a caller can match its kind (an
                    // address in use, say) as if it had done the work itself
                    Err(e) => e,
                })
            }
            Err(_) => Err(Error::Actor("actor thread vanished".into())),
        }
    }

    /// Sets how long [`Actor::stop`] and drop wait for the thread after `$TERM`.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut actor = zmq_patterns::Actor::new(&ctx, |p| { p.ready()?; p.wait_term() }).unwrap();
    /// actor.set_stop_timeout(std::time::Duration::from_millis(500));
    /// ```
    pub fn set_stop_timeout(&mut self, timeout: Duration) {
        self.stop_timeout = timeout;
    }

    /// The parent's end of the pipe.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let actor = zmq_patterns::Actor::new(&ctx, |p| { p.ready()?; p.wait_term() }).unwrap();
    /// assert_eq!(actor.pipe().get_socket_type().unwrap(), zmq::PAIR);
    /// ```
    pub fn pipe(&self) -> &zmq::Socket {
        &self.pipe
    }

    /// Asks the actor to stop, waits for it (at most the stop timeout) and returns what the
    /// closure returned. A panic is `Err(Error::Actor)`; an actor that does not stop in time is
    /// `Err(Error::Timeout)` and its thread is left to run detached.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let actor = zmq_patterns::Actor::new(&ctx, |pipe| {
    ///     pipe.ready()?;
    ///     pipe.wait_term()?;
    ///     panic!("boom");
    /// }).unwrap();
    /// assert!(actor.stop().unwrap_err().to_string().contains("boom"));
    /// ```
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if self.thread.is_none() {
            return Ok(());
        }
        // Never block here: the actor may be gone, or its pipe full.
        log::debug!("actor {}: stopping ($TERM)", self.id);
        let _ = self.pipe.send(TERM, zmq::DONTWAIT);
        let deadline = std::time::Instant::now() + self.stop_timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Ready) => continue,
                Ok(Event::Done(result)) => {
                    self.join();
                    log::debug!("actor {}: stopped", self.id);
                    return result;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    log::warn!(
                        "actor {}: did not stop within {:?} of $TERM; leaving its thread detached",
                        self.id,
                        self.stop_timeout
                    );
                    self.thread = None;
                    return Err(Error::Timeout);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.join();
                    return Err(Error::Actor("actor thread vanished".into()));
                }
            }
        }
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Deref for Actor {
    type Target = zmq::Socket;
    fn deref(&self) -> &zmq::Socket {
        &self.pipe
    }
}

impl Drop for Actor {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            if !e.is_shutdown() {
                log::debug!("actor {}: ended with: {e}", self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Msg, Poller};
    use std::time::Instant;

    #[test]
    fn ready_handshake_happens_before_new_returns() {
        let ctx = zmq::Context::new();
        let actor = Actor::new(&ctx, |pipe| {
            let ctx = zmq::Context::new();
            let s = ctx.socket(zmq::REP)?;
            s.bind("inproc://actor-bound")?;
            std::thread::sleep(Duration::from_millis(50));
            pipe.ready()?;
            pipe.wait_term()
        })
        .unwrap();
        actor.stop().unwrap();
    }

    #[test]
    fn drop_sends_term_and_joins_within_the_bound() {
        let ctx = zmq::Context::new();
        let (tx, rx) = mpsc::channel();
        let actor = Actor::new(&ctx, move |pipe| {
            pipe.ready()?;
            let mut poller = Poller::new();
            poller.add(&pipe);
            loop {
                if poller.poll(Some(Duration::from_millis(10)))? > 0 {
                    let msg = Msg::recv(&pipe)?;
                    if pipe.is_term(&msg) {
                        tx.send("stopped").unwrap();
                        return Ok(());
                    }
                }
            }
        })
        .unwrap();
        let t = Instant::now();
        drop(actor);
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(rx.try_recv().unwrap(), "stopped");
    }

    #[test]
    fn panic_comes_back_as_an_error_not_a_hang() {
        let ctx = zmq::Context::new();
        let actor = Actor::new(&ctx, |pipe| {
            pipe.ready()?;
            let _ = Msg::recv(&pipe)?;
            panic!("worker exploded");
        })
        .unwrap();
        let t = Instant::now();
        let err = actor.stop().unwrap_err();
        assert!(matches!(err, Error::Actor(_)), "{err}");
        assert!(err.to_string().contains("worker exploded"));
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn panic_before_ready_is_an_error_from_new() {
        let ctx = zmq::Context::new();
        let err = Actor::new(&ctx, |_pipe| panic!("no start")).err().unwrap();
        assert!(err.to_string().contains("no start"), "{err}");
        let err = Actor::new(&ctx, |_pipe| Ok(())).err().unwrap();
        assert!(err.to_string().contains("before it was ready"), "{err}");
    }

    #[test]
    fn an_error_before_ready_comes_back_as_it_was() {
        use crate::SocketExt;
        let ctx = zmq::Context::new();
        let taken = ctx.socket(zmq::REP).unwrap();
        taken.bind("inproc://actor-taken").unwrap();
        let ctx2 = ctx.clone();
        let err = Actor::new(&ctx, move |pipe| {
            let s = ctx2.socket(zmq::REP)?;
            s.bind_to("inproc://actor-taken")?;
            pipe.ready()
        })
        .err()
        .unwrap();
        assert!(err.is_address_in_use(), "{err:?}");
        assert_eq!(
            err.to_string(),
            "cannot bind inproc://actor-taken: Address already in use"
        );
    }

    #[test]
    fn an_actor_that_ignores_term_is_detached_after_the_timeout() {
        let ctx = zmq::Context::new();
        let mut actor = Actor::new(&ctx, |pipe| {
            pipe.ready()?;
            std::thread::sleep(Duration::from_millis(1500));
            Ok(())
        })
        .unwrap();
        actor.set_stop_timeout(Duration::from_millis(100));
        let t = Instant::now();
        assert!(matches!(actor.stop(), Err(Error::Timeout)));
        assert!(t.elapsed() < Duration::from_millis(1000));
    }

    /// The number an actor's log lines carry, from its pipe's endpoint.
    fn log_name(actor: &Actor) -> String {
        let ep = actor.pipe().get_last_endpoint().unwrap().unwrap();
        format!("actor {}:", ep.rsplit('-').next().unwrap())
    }

    #[test]
    fn start_stop_and_failure_are_logged_at_debug() {
        use log::Level::Debug;
        let cap = crate::test_log::capture_all();
        let ctx = zmq::Context::new();
        let actor = Actor::new(&ctx, |pipe| {
            pipe.ready()?;
            pipe.wait_term()
        })
        .unwrap();
        let name = log_name(&actor);
        assert!(cap.has(Debug, &[&name, "started"]), "{:?}", cap.lines());
        actor.stop().unwrap();
        for what in ["stopping ($TERM)", "ended", "stopped"] {
            assert!(cap.has(Debug, &[&name, what]), "{what}: {:?}", cap.lines());
        }
        let actor = Actor::new(&ctx, |pipe| {
            pipe.ready()?;
            pipe.wait_term()?;
            Err(Error::protocol("gave up"))
        })
        .unwrap();
        let name = log_name(&actor);
        assert!(actor.stop().is_err());
        assert!(cap.has(Debug, &[&name, "failed: protocol error: gave up"]));
    }

    #[test]
    fn an_actor_that_already_ended_stops_at_once() {
        let ctx = zmq::Context::new();
        let actor = Actor::new(&ctx, |pipe| {
            pipe.ready()?;
            Ok(())
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        actor.stop().unwrap();
        assert!(t.elapsed() < Duration::from_millis(500));
    }
}
