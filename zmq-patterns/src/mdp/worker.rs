//! [`Worker`]: a Majordomo worker (the guide's `mdwrkapi`): registers a service, receives
//! requests, sends replies, heartbeats both ways and reconnects when the broker goes silent.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::heartbeat::{HeartbeatConfig, Liveness};
use crate::mdp::protocol::{FromWorker, ToWorker};
use crate::msg::Msg;
use crate::poller::Poller;
use crate::stop::{StopHandle, StopSignal};

/// Settings of a [`Worker`]; `Default` gives the guide's values.
///
/// ```
/// use std::time::Duration;
/// let config = zmq_patterns::mdp::WorkerConfig {
///     heartbeat: Duration::from_secs(1),
///     ..Default::default()
/// };
/// assert_eq!(config.liveness, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Heartbeat interval, also how long one poll waits (guide: 2.5 s).
    pub heartbeat: Duration,
    /// Wait before reconnecting to a silent broker (guide: 2.5 s).
    pub reconnect: Duration,
    /// Heartbeat intervals of silence that mean the broker is gone (guide: 3).
    pub liveness: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            heartbeat: Duration::from_millis(2500),
            reconnect: Duration::from_millis(2500),
            liveness: 3,
        }
    }
}

impl WorkerConfig {
    /// The heartbeat timings these settings give: a fixed reconnect delay, as the guide's
    /// `mdwrkapi` has.
    fn heartbeat_config(&self) -> HeartbeatConfig {
        HeartbeatConfig {
            interval: self.heartbeat.max(Duration::from_millis(1)),
            liveness: self.liveness.max(1),
            reconnect_initial: self.reconnect,
            reconnect_max: self.reconnect,
        }
    }
}

/// A Majordomo worker for one service.
///
/// [`Worker::recv`] sends the previous reply (if any) and waits for the next request. While it
/// waits it heartbeats the broker every heartbeat interval (a [`Liveness`]), but not while it
/// sends other commands; if the broker says nothing valid for `liveness` intervals of that
/// wait, or sends DISCONNECT, the worker waits the reconnect interval and registers again on a
/// new socket, so it survives a broker restart. Malformed messages from the broker are logged
/// and dropped, and do not count as a sign of life. Dropping the worker tells the broker it is
/// leaving.
///
/// Between two calls of `recv` the application works on a request, and the worker reads
/// nothing and, by itself, sends nothing. Spec 7/MDP wants heartbeats at regular intervals
/// all the same, and a broker with a busy timeout (that of [`Broker`](crate::mdp::Broker),
/// [`BrokerConfig::busy_timeout`](crate::mdp::BrokerConfig::busy_timeout), 75 s by default)
/// drops a busy worker that stays silent that long: a request that may take long should call
/// [`Worker::heartbeat`] now and then while it works. What the broker sends meanwhile (its
/// heartbeats) waits in the socket and is read by the next `recv`; time spent outside `recv`
/// never counts as the broker's silence.
///
/// [`Worker::set_timeout`] bounds how long one [`Worker::recv`] waits for a request, and
/// [`Worker::stop_handle`] lets another thread end a waiting `recv` (an embedded worker),
/// without a signal and without terminating the context.
///
/// Logging (`log`): connecting and registering, a DISCONNECT from the broker, the broker gone
/// silent and the reconnect delay, a receive that timed out or was stopped at `debug`; every
/// message at `trace`; input it drops at `warn`.
///
/// ```no_run
/// use zmq_patterns::mdp;
/// # fn main() -> zmq_patterns::Result<()> {
/// let ctx = zmq::Context::new();
/// let mut worker = mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo")?;
/// let mut reply = None;
/// loop {
///     let request = worker.recv(reply.take())?;
///     reply = Some(request); // echo
/// }
/// # }
/// ```
pub struct Worker {
    ctx: zmq::Context,
    broker: String,
    curve: Option<crate::cert::CurveClient>,
    service: String,
    socket: zmq::Socket,
    config: WorkerConfig,
    liveness: Liveness,
    reply_to: Option<Frame>,
    /// How long one `recv` waits for a request (`None`: for ever).
    timeout: Option<Duration>,
    /// When a poll that heard nothing since counts one interval of silence.
    silence_at: Instant,
    /// While the broker is taken for gone: when to connect again.
    reconnect_at: Option<Instant>,
    /// Set up by the first [`Worker::stop_handle`].
    stop: Option<(StopSignal, StopHandle)>,
}

/// `now + d`, or a time far away if that does not fit.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(1 << 32)))
        .unwrap_or(now)
}

impl Worker {
    /// Connects to `broker` and registers for `service`, with the guide's heartbeat (2.5 s),
    /// reconnect interval (2.5 s) and liveness (3). An endpoint without a transport, or whose
    /// host does not resolve, is an [`Error::Endpoint`] here (see
    /// [`SocketExt::connect_to`](crate::SocketExt::connect_to)); reconnects do not look the
    /// host up again.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let worker = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// # drop(worker);
    /// ```
    pub fn new(ctx: &zmq::Context, broker: &str, service: &str) -> Result<Worker> {
        Self::with_config(ctx, broker, service, WorkerConfig::default())
    }

    /// Like [`Worker::new`] with other settings, in force from the first message.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmq_patterns::mdp::{Worker, WorkerConfig};
    /// let ctx = zmq::Context::new();
    /// let config = WorkerConfig { heartbeat: Duration::from_secs(1), ..Default::default() };
    /// let worker = Worker::with_config(&ctx, "tcp://localhost:5555", "echo", config).unwrap();
    /// # drop(worker);
    /// ```
    pub fn with_config(
        ctx: &zmq::Context,
        broker: &str,
        service: &str,
        config: WorkerConfig,
    ) -> Result<Worker> {
        Self::start(ctx, broker, service, config, None)
    }

    /// Like [`Worker::with_config`], over CURVE: every socket the worker connects with (a new
    /// one after the broker went silent) gets these keys
    /// ([`CurveClient::apply`](crate::cert::CurveClient::apply)).
    /// [`Error::Unsupported`] when the linked libzmq has no CURVE.
    ///
    /// ```
    /// use zmq_patterns::cert::{Certificate, CurveClient, PublicKey};
    /// use zmq_patterns::mdp::Worker;
    /// let ctx = zmq::Context::new();
    /// let curve = match Certificate::generate() {
    ///     Ok(cert) => CurveClient::new(cert, PublicKey([1; 32])),
    ///     Err(e) => return assert!(e.is_unsupported()),
    /// };
    /// let worker = Worker::with_curve(&ctx, "tcp://localhost:5555", "echo", Default::default(), curve);
    /// assert!(worker.is_ok());
    /// ```
    pub fn with_curve(
        ctx: &zmq::Context,
        broker: &str,
        service: &str,
        config: WorkerConfig,
        curve: crate::cert::CurveClient,
    ) -> Result<Worker> {
        crate::cert::require_curve("a CURVE Majordomo worker")?;
        Self::start(ctx, broker, service, config, Some(curve))
    }

    fn start(
        ctx: &zmq::Context,
        broker: &str,
        service: &str,
        config: WorkerConfig,
        curve: Option<crate::cert::CurveClient>,
    ) -> Result<Worker> {
        crate::socket::check_endpoint(crate::EndpointAction::Connect, broker)?;
        let mut worker = Worker {
            ctx: ctx.clone(),
            broker: broker.to_string(),
            curve,
            service: service.to_string(),
            socket: ctx.socket(zmq::DEALER)?,
            config,
            liveness: Liveness::new(config.heartbeat_config(), Instant::now()),
            reply_to: None,
            timeout: None,
            silence_at: Instant::now(),
            reconnect_at: None,
            stop: None,
        };
        worker.connect()?;
        Ok(worker)
    }

    fn connect(&mut self) -> Result<()> {
        let socket = self.ctx.socket(zmq::DEALER)?;
        socket.set_linger(0)?;
        if let Some(curve) = &self.curve {
            curve.apply(&socket)?;
        }
        crate::socket::connect_checked(&socket, &self.broker)?;
        self.socket = socket;
        log::debug!(
            "mdp worker: connecting to broker at {} for {}",
            self.broker,
            self.service
        );
        // A request taken before the broker went away cannot be answered on the new session.
        self.reply_to = None;
        self.send(FromWorker::Ready {
            service: Frame::from(self.service.as_str()),
        })?;
        self.liveness.reconnected(Instant::now());
        self.silence_at = later(Instant::now(), self.liveness.poll_timeout());
        Ok(())
    }

    fn send(&mut self, command: FromWorker) -> Result<()> {
        let msg = command.into_msg();
        if log::log_enabled!(log::Level::Trace) {
            let name = msg
                .get(2)
                .and_then(crate::mdp::Command::from_frame)
                .map_or("?", |c| c.name());
            log::trace!("mdp worker: sending {name} to broker\n{msg}");
        }
        msg.send(&self.socket)?;
        // Any command tells the broker we are alive: no heartbeat needed for an interval.
        self.liveness.sent(Instant::now());
        Ok(())
    }

    /// Sets the settings in force from now on (heartbeat, reconnect interval, liveness).
    fn reconfigure(&mut self, config: WorkerConfig) {
        self.config = config;
        self.liveness = Liveness::new(config.heartbeat_config(), Instant::now());
        self.silence_at = later(Instant::now(), self.liveness.poll_timeout());
    }

    /// Sets the heartbeat interval (also how long one poll waits).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut w = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// w.set_heartbeat(std::time::Duration::from_secs(1));
    /// ```
    #[doc(alias = "mdwrk_set_heartbeat")]
    pub fn set_heartbeat(&mut self, interval: Duration) {
        self.reconfigure(WorkerConfig {
            heartbeat: interval,
            ..self.config
        });
    }

    /// Sets how long to wait before reconnecting to a silent broker.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut w = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// w.set_reconnect(std::time::Duration::from_millis(500));
    /// ```
    #[doc(alias = "mdwrk_set_reconnect")]
    pub fn set_reconnect(&mut self, delay: Duration) {
        self.reconfigure(WorkerConfig {
            reconnect: delay,
            ..self.config
        });
    }

    /// Sets how many heartbeat intervals of silence mean the broker is gone (the guide's
    /// `mdwrk_set_liveness`, declared there but never written).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut w = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// w.set_liveness(5);
    /// ```
    #[doc(alias = "mdwrk_set_liveness")]
    pub fn set_liveness(&mut self, liveness: u32) {
        self.reconfigure(WorkerConfig {
            liveness,
            ..self.config
        });
    }

    /// Sets how long one [`Worker::recv`] waits for a request: after that long without one it
    /// returns [`Error::Timeout`] (`None`, the default: it waits for ever). Heartbeats and
    /// reconnects go on as usual while it waits, and the worker stays registered: call `recv`
    /// again (`recv(None)`, the reply having gone) to wait on.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = zmq::Context::new();
    /// let mut worker = zmq_patterns::mdp::Worker::new(&ctx, "tcp://127.0.0.1:1", "echo").unwrap();
    /// worker.set_timeout(Some(Duration::from_millis(20))); // nobody will ask
    /// assert!(worker.recv(None).unwrap_err().is_timeout());
    /// ```
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// A handle that makes a [`Worker::recv`] waiting in this worker's thread return
    /// [`Error::Interrupted`] promptly, from any other thread: for a worker embedded in a
    /// program that stops it without a signal (see [`StopHandle`]). The error is a shutdown
    /// ([`Error::is_shutdown`]), so a loop that ends on Ctrl-C ends the same way. One stop ends
    /// one `recv` (the one waiting, or else the next); the worker stays usable.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let mut worker = zmq_patterns::mdp::Worker::new(&ctx, "tcp://127.0.0.1:1", "echo").unwrap();
    /// let stop = worker.stop_handle().unwrap();
    /// let thread = std::thread::spawn(move || worker.recv(None));
    /// stop.stop();
    /// assert!(thread.join().unwrap().unwrap_err().is_interrupted());
    /// ```
    pub fn stop_handle(&mut self) -> Result<StopHandle> {
        let (_, handle) = match &mut self.stop {
            Some(stop) => stop,
            None => self.stop.insert(StopSignal::new()?),
        };
        Ok(handle.clone())
    }

    /// Sends `reply` to the client of the last request (if there is one), then waits for the
    /// next request and returns its body. Ends otherwise with an error: [`Error::Timeout`]
    /// once the [timeout](Worker::set_timeout) is up, [`Error::Interrupted`] on Ctrl-C or a
    /// [stop](Worker::stop_handle), or a fatal socket error.
    ///
    /// ```no_run
    /// # let ctx = zmq::Context::new();
    /// # let mut worker = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// let request = worker.recv(None).unwrap();
    /// let next = worker.recv(Some(request)).unwrap(); // echo the first, wait for the second
    /// # drop(next);
    /// ```
    #[doc(alias = "mdwrk_recv")]
    pub fn recv(&mut self, reply: Option<Msg>) -> Result<Msg> {
        // Whether the application held a request since the last recv.
        let was_serving = self.reply_to.is_some();
        if let Some(body) = reply {
            match self.reply_to.take() {
                Some(client) => self.send(FromWorker::Reply { client, body })?,
                None => log::warn!("mdp worker: a reply with no request to answer; dropped"),
            }
        }
        let deadline = self.timeout.map(|t| later(Instant::now(), t));
        // Silence is counted only while we wait here: the time the application spent on a
        // request is not the broker's (what it sent meanwhile is waiting to be read). After a
        // recv that timed out or was stopped, the count goes on: short timeouts cannot hide a
        // silent broker.
        if was_serving && self.reconnect_at.is_none() {
            self.silence_at = later(Instant::now(), self.liveness.poll_timeout());
        }
        loop {
            if let Some((signal, _)) = self.stop.as_ref().filter(|(s, _)| s.is_stopped()) {
                log::debug!("mdp worker: stopped by its handle");
                signal.rearm();
                return Err(Error::Interrupted);
            }
            if self.reconnect_at.is_some_and(|at| at <= Instant::now()) {
                self.reconnect_at = None;
                self.connect()?;
            }
            // Wake for the next heartbeat, the next silence count (or the reconnect), the
            // deadline, or a stop.
            let listening = self.reconnect_at.is_none();
            let mut wake = match self.reconnect_at {
                Some(at) => at,
                None => self.silence_at.min(self.liveness.next_heartbeat()),
            };
            wake = deadline.map_or(wake, |d| wake.min(d));
            let readable = {
                let mut poller = Poller::new();
                let socket = listening.then(|| poller.add(&self.socket));
                if let Some((signal, _)) = &self.stop {
                    poller.add_fd(signal.fd());
                }
                poller.poll(Some(wake.saturating_duration_since(Instant::now())))?;
                socket.is_some_and(|i| poller.is_readable(i))
            };
            if readable {
                let msg = Msg::recv(&self.socket)?;
                log::trace!("mdp worker: received message from broker:\n{msg}");
                match ToWorker::parse(msg) {
                    Ok(ToWorker::Request { client, body }) => {
                        self.liveness.heard();
                        self.reply_to = Some(client);
                        return Ok(body);
                    }
                    Ok(ToWorker::Heartbeat) => {
                        self.liveness.heard();
                        self.silence_at = later(Instant::now(), self.liveness.poll_timeout());
                    }
                    Ok(ToWorker::Disconnect) => {
                        log::debug!("mdp worker: the broker said DISCONNECT; registering again");
                        self.liveness.heard();
                        self.connect()?; // counts silence afresh
                    }
                    // Not a sign of life: a broker that only sends garbage is not there.
                    Err(e) => log::warn!("mdp worker: dropping an invalid message: {e}"),
                }
            }
            // Counted also when garbage keeps the socket busy: it is no sign of life.
            if listening && self.reconnect_at.is_none() && Instant::now() >= self.silence_at {
                self.silence_at = later(Instant::now(), self.liveness.poll_timeout());
                if let Some(delay) = self.liveness.silence() {
                    log::debug!("mdp worker: disconnected from broker, retrying in {delay:?}");
                    self.reconnect_at = Some(later(Instant::now(), delay));
                }
            }
            if self.reconnect_at.is_none() && self.liveness.heartbeat_due(Instant::now()) {
                self.send(FromWorker::Heartbeat)?;
            }
            if deadline.is_some_and(|d| d <= Instant::now()) {
                log::debug!(
                    "mdp worker: no request for {:?}: recv timed out",
                    self.timeout.unwrap_or_default()
                );
                return Err(Error::Timeout);
            }
        }
    }

    /// Sends the broker a HEARTBEAT if one is due, for an application that works long on a
    /// request: call it now and then while you work, so that the broker hears from a busy
    /// worker at regular intervals (spec 7/MDP) and does not drop it as dead (see the type's
    /// documentation). It sends at most one an interval, and none within an interval of
    /// another command (the last reply); it reads nothing, and never blocks: a heartbeat the
    /// socket cannot take now is skipped. Returns whether it sent one.
    ///
    /// ```no_run
    /// # fn work_on(_: &zmq_patterns::Msg, _step: u32) {}
    /// # let ctx = zmq::Context::new();
    /// # let mut worker = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "slow").unwrap();
    /// let request = worker.recv(None).unwrap();
    /// for step in 0..100 {
    ///     work_on(&request, step); // a second or so each
    ///     worker.heartbeat().unwrap();
    /// }
    /// # drop(worker.recv(Some(request)));
    /// ```
    #[doc(alias = "keepalive")]
    pub fn heartbeat(&mut self) -> Result<bool> {
        if !self.liveness.heartbeat_due(Instant::now()) {
            return Ok(false);
        }
        let msg = FromWorker::Heartbeat.into_msg();
        log::trace!("mdp worker: sending HEARTBEAT to broker while busy\n{msg}");
        match msg.try_send(&self.socket) {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.error, Error::Zmq(zmq::Error::EAGAIN)) => {
                log::debug!("mdp worker: the socket cannot take a heartbeat now; skipped");
                Ok(false)
            }
            Err(e) => Err(e.error),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Tell the broker at once, so that it routes nothing more here; never block.
        let _ = self.socket.set_linger(100);
        let msg = FromWorker::Disconnect.into_msg();
        if let Err(e) = msg.try_send(&self.socket) {
            if !matches!(e.error, Error::Zmq(zmq::Error::EAGAIN)) {
                log::debug!("worker: could not say DISCONNECT: {}", e.error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mdp::protocol::BrokerInput;
    use std::thread;

    /// A fake broker: a ROUTER on a free tcp port, driven by the test.
    fn fake_broker(ctx: &zmq::Context) -> (zmq::Socket, String) {
        let router = ctx.socket(zmq::ROUTER).unwrap();
        router.set_linger(0).unwrap();
        router.set_rcvtimeo(3000).unwrap();
        router.bind("tcp://127.0.0.1:*").unwrap();
        let ep = router.get_last_endpoint().unwrap().unwrap();
        (router, ep)
    }

    fn from_worker(router: &zmq::Socket) -> (Frame, FromWorker) {
        match BrokerInput::parse(Msg::recv(router).unwrap()).unwrap() {
            BrokerInput::Worker { sender, command } => (sender, command),
            other => panic!("{other:?}"),
        }
    }

    /// Spec 7/MDP: peers SHOULD NOT send HEARTBEAT while they send other commands. A worker
    /// that replies every few ms heartbeats no more, even when the broker's own heartbeats
    /// keep its loop turning (it used to, once an interval had passed since its last one).
    #[test]
    fn no_heartbeats_in_a_stream_of_replies() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let ctx2 = ctx.clone();
        let worker = thread::spawn(move || -> Result<()> {
            let config = WorkerConfig {
                heartbeat: Duration::from_millis(100),
                ..Default::default()
            };
            let mut w = Worker::with_config(&ctx2, &ep, "echo", config)?;
            let mut reply = None;
            loop {
                let request = w.recv(reply.take())?;
                if request[0] == "stop" {
                    return Ok(());
                }
                reply = Some(request);
            }
        });
        let (w1, _ready) = from_worker(&router);
        let start = std::time::Instant::now();
        let mut replies = 0;
        while start.elapsed() < Duration::from_millis(600) {
            let req = ToWorker::Request {
                client: "C1".into(),
                body: Msg::from_iter(["hi"]),
            };
            req.into_msg(w1.clone()).send(&router).unwrap();
            let (_, answer) = from_worker(&router);
            assert!(
                matches!(answer, FromWorker::Reply { .. }),
                "after {:?} and {replies} replies: {answer:?}",
                start.elapsed()
            );
            replies += 1;
            ToWorker::Heartbeat
                .into_msg(w1.clone())
                .send(&router)
                .unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let stop = ToWorker::Request {
            client: "C1".into(),
            body: Msg::from_iter(["stop"]),
        };
        stop.into_msg(w1).send(&router).unwrap();
        worker.join().unwrap().unwrap();
    }

    fn request(body: &str) -> ToWorker {
        ToWorker::Request {
            client: "C1".into(),
            body: Msg::from_iter([body]),
        }
    }

    /// Spec 7/MDP: the worker MUST heartbeat at regular intervals, also while the application
    /// works on a request: `Worker::heartbeat`, called as often as the application likes, sends
    /// one HEARTBEAT an interval, none within an interval of the last REPLY, and they reach
    /// the broker while the request is held.
    #[test]
    fn heartbeat_while_busy_sends_one_an_interval() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let ctx2 = ctx.clone();
        let interval = Duration::from_millis(150);
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || -> Result<()> {
            let config = WorkerConfig {
                heartbeat: interval,
                ..Default::default()
            };
            let mut w = Worker::with_config(&ctx2, &ep, "slow", config)?;
            let first = w.recv(None)?;
            let second = w.recv(Some(first))?; // the REPLY went just now
            let right_after_reply = w.heartbeat()?;
            let start = Instant::now();
            let mut sent = 0;
            while start.elapsed() < Duration::from_millis(800) {
                thread::sleep(Duration::from_millis(5));
                sent += u32::from(w.heartbeat()?);
            }
            tx.send((right_after_reply, sent)).unwrap();
            w.recv(Some(second))?;
            Ok(())
        });
        let (w1, _ready) = from_worker(&router);
        request("r1").into_msg(w1.clone()).send(&router).unwrap();
        let (_, reply) = from_worker(&router);
        assert!(matches!(reply, FromWorker::Reply { .. }), "{reply:?}");
        request("r2").into_msg(w1.clone()).send(&router).unwrap();
        let mut heartbeats = 0;
        loop {
            let (sender, command) = from_worker(&router);
            assert!(sender == w1, "a new socket");
            match command {
                FromWorker::Heartbeat => heartbeats += 1,
                FromWorker::Reply { body, .. } => {
                    assert!(body[0] == "r2");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        let (right_after_reply, sent) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(!right_after_reply, "a HEARTBEAT right after a REPLY");
        assert_eq!(heartbeats, sent, "heartbeats on the wire");
        // 800 ms at 150 ms an interval, the first an interval after the REPLY: 5
        assert!((3..=6).contains(&sent), "{sent} heartbeats in 800 ms");
    }

    /// A worker whose application works 200 ms on each request, ten heartbeat intervals,
    /// without calling `heartbeat`: the broker's heartbeats pile up meanwhile and are read by
    /// the next `recv`, and the time spent working is not taken for the broker's silence: the
    /// worker never registers again.
    #[test]
    fn a_long_request_is_not_the_brokers_silence() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let ctx2 = ctx.clone();
        let worker = thread::spawn(move || -> Result<u32> {
            let config = WorkerConfig {
                heartbeat: Duration::from_millis(20),
                reconnect: Duration::from_millis(10),
                liveness: 3,
            };
            let mut w = Worker::with_config(&ctx2, &ep, "slow", config)?;
            let mut reply = None;
            let mut served = 0;
            loop {
                let request = w.recv(reply.take())?;
                if request[0] == "stop" {
                    return Ok(served);
                }
                thread::sleep(Duration::from_millis(200)); // work
                served += 1;
                reply = Some(request);
            }
        });
        let (w1, _ready) = from_worker(&router);
        request("r0").into_msg(w1.clone()).send(&router).unwrap();
        // a live broker: a HEARTBEAT every 20 ms, the next request after each reply
        let mut replies = 0;
        let mut heartbeat_at = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(5);
        while replies < 3 {
            assert!(Instant::now() < deadline, "{replies} replies in 5 s");
            if Instant::now() >= heartbeat_at {
                ToWorker::Heartbeat
                    .into_msg(w1.clone())
                    .send(&router)
                    .unwrap();
                heartbeat_at += Duration::from_millis(20);
            }
            if router.poll(zmq::POLLIN, 5).unwrap() == 0 {
                continue;
            }
            let (sender, command) = from_worker(&router);
            match command {
                FromWorker::Reply { .. } => {
                    assert!(sender == w1);
                    replies += 1;
                    let next = if replies == 3 { "stop" } else { "next" };
                    request(next).into_msg(w1.clone()).send(&router).unwrap();
                }
                FromWorker::Heartbeat => assert!(sender == w1),
                other => panic!("after {replies} replies: {other:?}"),
            }
        }
        assert_eq!(worker.join().unwrap().unwrap(), 3);
    }

    /// Spec 7/MDP: any command from the broker acts as a heartbeat: a broker that sends only
    /// REQUESTs, one every 1.2 heartbeat intervals (so that each wait first counts an interval
    /// of silence), for more than liveness intervals, keeps the worker registered.
    #[test]
    fn requests_alone_keep_the_worker_registered() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let ctx2 = ctx.clone();
        let worker = thread::spawn(move || -> Result<u32> {
            let config = WorkerConfig {
                heartbeat: Duration::from_millis(50),
                reconnect: Duration::from_millis(10),
                liveness: 3,
            };
            let mut w = Worker::with_config(&ctx2, &ep, "echo", config)?;
            let mut reply = None;
            let mut served = 0;
            loop {
                let request = w.recv(reply.take())?;
                if request[0] == "stop" {
                    return Ok(served);
                }
                served += 1;
                reply = Some(request);
            }
        });
        let (w1, _ready) = from_worker(&router);
        for i in 0..6 {
            thread::sleep(Duration::from_millis(60));
            request("hi").into_msg(w1.clone()).send(&router).unwrap();
            loop {
                let (sender, command) = from_worker(&router);
                assert!(sender == w1, "registered again on a new socket");
                match command {
                    FromWorker::Reply { .. } => break,
                    FromWorker::Heartbeat => {}
                    other => panic!("request {i}: {other:?}"),
                }
            }
        }
        request("stop").into_msg(w1).send(&router).unwrap();
        assert_eq!(worker.join().unwrap().unwrap(), 6);
    }

    /// Only a valid command is a sign of life: a "broker" that sends nothing but garbage, more
    /// often than the heartbeat interval, is taken for gone and the worker registers again.
    #[test]
    fn garbage_is_not_a_sign_of_life() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let ctx2 = ctx.clone();
        thread::spawn(move || {
            let config = WorkerConfig {
                heartbeat: Duration::from_millis(30),
                reconnect: Duration::from_millis(10),
                liveness: 3,
            };
            let mut w = Worker::with_config(&ctx2, &ep, "echo", config)?;
            w.recv(None)
        });
        let (w1, _ready) = from_worker(&router);
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "no new READY in 2 s"
            );
            Msg::from_iter([w1.clone(), Frame::from("junk")])
                .send(&router)
                .unwrap();
            if router.poll(zmq::POLLIN, 10).unwrap() == 0 {
                continue;
            }
            let (sender, command) = from_worker(&router);
            if let FromWorker::Ready { .. } = command {
                assert!(sender != w1);
                break;
            }
        }
        // liveness 3 x 30 ms
        assert!(
            start.elapsed() >= Duration::from_millis(80),
            "{:?}",
            start.elapsed()
        );
    }

    fn send_request(router: &zmq::Socket, worker: &Frame, body: &str) {
        let req = ToWorker::Request {
            client: "C1".into(),
            body: Msg::from_iter([body]),
        };
        req.into_msg(worker.clone()).send(router).unwrap();
    }

    /// A receive timeout: the pending reply goes first, heartbeats go on while it waits, it
    /// ends within bounds, and the worker serves as before afterwards.
    #[test]
    fn recv_times_out_and_the_worker_serves_afterwards() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        // The worker's own context: a failed assertion here must not wait for it to end.
        let ctx2 = zmq::Context::new();
        let (timed_out, timeouts) = std::sync::mpsc::channel();
        let (done, result) = std::sync::mpsc::channel();
        thread::spawn(move || {
            done.send((|| -> Result<Vec<Duration>> {
                let cap = crate::test_log::capture();
                let config = WorkerConfig {
                    heartbeat: Duration::from_millis(50),
                    ..Default::default()
                };
                let mut w = Worker::with_config(&ctx2, &ep, "echo", config)?;
                w.set_timeout(Some(Duration::from_millis(300)));
                let mut waited = Vec::new();
                let request = w.recv(None)?;
                // the reply goes out first, then nothing comes: a timeout
                let start = Instant::now();
                let e = w.recv(Some(request)).unwrap_err();
                waited.push(start.elapsed());
                assert!(e.is_timeout(), "{e}");
                assert!(cap.has(log::Level::Debug, &["mdp worker: no request for 300ms"]));
                // and again
                let start = Instant::now();
                assert!(w.recv(None).unwrap_err().is_timeout());
                waited.push(start.elapsed());
                timed_out.send(()).unwrap();
                // without a timeout it waits for the next request
                w.set_timeout(None);
                let request = w.recv(None)?;
                assert!(request[0] == "again");
                Ok(waited)
            })())
        });
        let (w1, _ready) = from_worker(&router);
        send_request(&router, &w1, "hi");
        let (_, reply) = from_worker(&router);
        assert!(matches!(reply, FromWorker::Reply { .. }), "{reply:?}");
        // while it waits (two timeouts, 600 ms) it heartbeats every 50 ms, and goes on
        let (mut heartbeats, mut both_timed_out) = (0, false);
        while !both_timed_out || heartbeats < 15 {
            both_timed_out |= timeouts.try_recv().is_ok();
            let (sender, cmd) = from_worker(&router);
            assert_eq!(sender, w1, "a reconnect: {cmd:?}");
            assert_eq!(cmd, FromWorker::Heartbeat);
            heartbeats += 1;
            ToWorker::Heartbeat
                .into_msg(w1.clone())
                .send(&router)
                .unwrap();
        }
        send_request(&router, &w1, "again");
        let waited = result
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap();
        for w in waited {
            assert!(
                w >= Duration::from_millis(300) && w < Duration::from_millis(1000),
                "{w:?}"
            );
        }
    }

    /// A caller that receives with a timeout shorter than the heartbeat still sees a silent
    /// broker taken for gone and the worker register again, as without a timeout.
    #[test]
    fn short_timeouts_do_not_hide_a_silent_broker() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let ctx2 = zmq::Context::new();
        let stop_flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop_flag.clone();
        let worker = thread::spawn(move || -> Result<()> {
            let config = WorkerConfig {
                heartbeat: Duration::from_millis(50),
                reconnect: Duration::from_millis(10),
                liveness: 2,
            };
            let mut w = Worker::with_config(&ctx2, &ep, "echo", config)?;
            w.set_timeout(Some(Duration::from_millis(15)));
            while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                match w.recv(None) {
                    Err(e) if e.is_timeout() => {}
                    other => return other.map(drop),
                }
            }
            Ok(())
        });
        let (w1, _ready) = from_worker(&router);
        let start = Instant::now();
        let w2 = loop {
            let (sender, cmd) = from_worker(&router);
            if matches!(cmd, FromWorker::Ready { .. }) {
                break sender;
            }
        };
        assert!(w2 != w1);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        stop_flag.store(true, std::sync::atomic::Ordering::SeqCst);
        worker.join().unwrap().unwrap();
    }

    /// A stop handle ends a recv blocked in another thread promptly, both while it waits for a
    /// request and while it waits to reconnect; the worker can receive again afterwards.
    #[test]
    fn a_stop_handle_ends_a_blocked_recv() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let mut w = Worker::new(&ctx, &ep, "echo").unwrap();
        let stop = w.stop_handle().unwrap();
        let worker = thread::spawn(move || {
            let cap = crate::test_log::capture();
            let e = w.recv(None).unwrap_err();
            assert!(cap.has(log::Level::Debug, &["mdp worker: stopped by its handle"]));
            (w, e)
        });
        let (w1, _ready) = from_worker(&router);
        thread::sleep(Duration::from_millis(100)); // blocked in recv
        let start = Instant::now();
        stop.stop();
        let (mut w, e) = worker.join().unwrap();
        assert!(e.is_interrupted(), "{e}");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        // it carries on: a request is served
        let worker = thread::spawn(move || {
            let r = w.recv(None);
            (w, r)
        });
        send_request(&router, &w1, "hi");
        let (mut w, r) = worker.join().unwrap();
        assert!(r.unwrap()[0] == "hi");
        // silent broker, long reconnect delay: the stop ends the wait to reconnect
        w.set_heartbeat(Duration::from_millis(20));
        w.set_liveness(1);
        w.set_reconnect(Duration::from_secs(60));
        let worker = thread::spawn(move || w.recv(None));
        thread::sleep(Duration::from_millis(200)); // gone silent: waiting to reconnect
        let start = Instant::now();
        stop.stop();
        assert!(worker.join().unwrap().unwrap_err().is_interrupted());
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn serves_requests_heartbeats_and_comes_back_after_the_broker_goes_silent() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let ctx2 = ctx.clone();
        let worker = thread::spawn(move || -> Result<u32> {
            let mut w = Worker::new(&ctx2, &ep, "echo")?;
            w.set_heartbeat(Duration::from_millis(30));
            w.set_reconnect(Duration::from_millis(10));
            let mut reply = None;
            let mut served = 0;
            loop {
                let request = w.recv(reply.take())?;
                if request[0] == "stop" {
                    return Ok(served);
                }
                served += 1;
                reply = Some(request);
            }
        });
        let (w1, ready) = from_worker(&router);
        assert_eq!(
            ready,
            FromWorker::Ready {
                service: "echo".into()
            }
        );
        // a request, and its reply
        let req = ToWorker::Request {
            client: "C1".into(),
            body: Msg::from_iter(["hi"]),
        };
        req.into_msg(w1.clone()).send(&router).unwrap();
        let (_, reply) = from_worker(&router);
        assert_eq!(
            reply,
            FromWorker::Reply {
                client: "C1".into(),
                body: Msg::from_iter(["hi"])
            }
        );
        // garbage from the "broker" is dropped
        Msg::from_iter([w1.clone(), Frame::from("junk")])
            .send(&router)
            .unwrap();
        // silence: heartbeats come, then (liveness 3 x 30 ms) a new READY on a new socket
        let mut heartbeats = 0;
        let w2 = loop {
            let (sender, cmd) = from_worker(&router);
            match cmd {
                FromWorker::Heartbeat => heartbeats += 1,
                FromWorker::Ready { .. } => break sender,
                other => panic!("{other:?}"),
            }
        };
        assert!(heartbeats >= 1);
        assert!(w2 != w1, "reconnected on a new socket");
        // DISCONNECT also makes it register again
        ToWorker::Disconnect
            .into_msg(w2.clone())
            .send(&router)
            .unwrap();
        let w3 = loop {
            let (sender, cmd) = from_worker(&router);
            if matches!(cmd, FromWorker::Ready { .. }) {
                break sender;
            }
        };
        // spec 7/MDP: after DISCONNECT the worker reconnects on a new socket
        assert!(w3 != w2, "registered again on the same socket");
        let stop = ToWorker::Request {
            client: "C1".into(),
            body: Msg::from_iter(["stop"]),
        };
        stop.into_msg(w3).send(&router).unwrap();
        assert_eq!(worker.join().unwrap().unwrap(), 1);
        // dropping the worker says goodbye
        loop {
            let (_, cmd) = from_worker(&router);
            if cmd == FromWorker::Disconnect {
                break;
            }
        }
    }
}
