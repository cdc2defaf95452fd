//! [`Worker`]: a Majordomo worker (the guide's `mdwrkapi`): registers a service, receives
//! requests, sends replies, heartbeats both ways and reconnects when the broker goes silent.

use crate::clock;
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::mdp::protocol::{FromWorker, ToWorker};
use crate::msg::Msg;
use crate::poller::Poller;

/// Settings of a [`Worker`]; `Default` gives the guide's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Heartbeat interval in ms, also how long one poll waits (guide: 2500).
    pub heartbeat_ms: i64,
    /// Wait before reconnecting to a silent broker, in ms (guide: 2500).
    pub reconnect_ms: i64,
    /// Heartbeat intervals of silence that mean the broker is gone (guide: 3).
    pub liveness: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            heartbeat_ms: 2500,
            reconnect_ms: 2500,
            liveness: 3,
        }
    }
}

/// A Majordomo worker for one service.
///
/// [`Worker::recv`] sends the previous reply (if any) and waits for the next request. While it
/// waits it heartbeats the broker every heartbeat interval; if the broker says nothing for
/// `liveness` intervals, or sends DISCONNECT, the worker waits the reconnect interval and
/// registers again on a new socket, so it survives a broker restart. Malformed messages from
/// the broker are logged and dropped. Dropping the worker tells the broker it is leaving.
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
    service: String,
    socket: zmq::Socket,
    heartbeat_ms: i64,
    reconnect_ms: i64,
    liveness: u32,
    liveness_left: u32,
    heartbeat_at: i64,
    reply_to: Option<Frame>,
}

impl Worker {
    /// Connects to `broker` and registers for `service`, with the guide's heartbeat (2500 ms),
    /// reconnect interval (2500 ms) and liveness (3).
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
    /// use zmq_patterns::mdp::{Worker, WorkerConfig};
    /// let ctx = zmq::Context::new();
    /// let config = WorkerConfig { heartbeat_ms: 1000, ..Default::default() };
    /// let worker = Worker::with_config(&ctx, "tcp://localhost:5555", "echo", config).unwrap();
    /// # drop(worker);
    /// ```
    pub fn with_config(
        ctx: &zmq::Context,
        broker: &str,
        service: &str,
        config: WorkerConfig,
    ) -> Result<Worker> {
        let mut worker = Worker {
            ctx: ctx.clone(),
            broker: broker.to_string(),
            service: service.to_string(),
            socket: ctx.socket(zmq::DEALER)?,
            heartbeat_ms: config.heartbeat_ms.max(1),
            reconnect_ms: config.reconnect_ms.max(0),
            liveness: config.liveness.max(1),
            liveness_left: config.liveness.max(1),
            heartbeat_at: 0,
            reply_to: None,
        };
        worker.connect()?;
        Ok(worker)
    }

    fn connect(&mut self) -> Result<()> {
        let socket = self.ctx.socket(zmq::DEALER)?;
        socket.set_linger(0)?;
        socket.connect(&self.broker)?;
        self.socket = socket;
        log::debug!("mdp worker: connecting to broker at {}", self.broker);
        self.send(FromWorker::Ready {
            service: Frame::from(self.service.as_str()),
        })?;
        self.liveness_left = self.liveness;
        self.heartbeat_at = clock::mono_ms() + self.heartbeat_ms;
        Ok(())
    }

    fn send(&self, command: FromWorker) -> Result<()> {
        let msg = command.into_msg();
        if log::log_enabled!(log::Level::Trace) {
            let name = msg
                .get(2)
                .and_then(crate::mdp::Command::from_frame)
                .map_or("?", |c| c.name());
            log::trace!("mdp worker: sending {name} to broker\n{msg}");
        }
        msg.send(&self.socket)?;
        Ok(())
    }

    /// Sets the heartbeat interval in ms (also how long one poll waits).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut w = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// w.set_heartbeat(1000);
    /// ```
    pub fn set_heartbeat(&mut self, ms: i64) {
        self.heartbeat_ms = ms.max(1);
        // The first heartbeat was planned with the old interval when we connected (the guide's
        // mdwrkapi keeps that, so a shorter interval set after mdwrk_new is ignored at first).
        self.heartbeat_at = self.heartbeat_at.min(clock::mono_ms() + self.heartbeat_ms);
    }

    /// Sets how long to wait before reconnecting to a silent broker, in ms.
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut w = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// w.set_reconnect(500);
    /// ```
    pub fn set_reconnect(&mut self, ms: i64) {
        self.reconnect_ms = ms.max(0);
    }

    /// Sets how many heartbeat intervals of silence mean the broker is gone (the guide's
    /// `mdwrk_set_liveness`, declared there but never written).
    ///
    /// ```
    /// # let ctx = zmq::Context::new();
    /// # let mut w = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// w.set_liveness(5);
    /// ```
    pub fn set_liveness(&mut self, liveness: u32) {
        self.liveness = liveness.max(1);
        self.liveness_left = self.liveness;
    }

    /// Sends `reply` to the client of the last request (if there is one), then waits for the
    /// next request and returns its body. Ends only with an error: [`Error::Interrupted`] on
    /// Ctrl-C, or a fatal socket error.
    ///
    /// ```no_run
    /// # let ctx = zmq::Context::new();
    /// # let mut worker = zmq_patterns::mdp::Worker::new(&ctx, "tcp://localhost:5555", "echo").unwrap();
    /// let request = worker.recv(None).unwrap();
    /// let next = worker.recv(Some(request)).unwrap(); // echo the first, wait for the second
    /// # drop(next);
    /// ```
    pub fn recv(&mut self, reply: Option<Msg>) -> Result<Msg> {
        if let Some(body) = reply {
            match self.reply_to.take() {
                Some(client) => self.send(FromWorker::Reply { client, body })?,
                None => log::warn!("W: a reply with no request to answer; dropped"),
            }
        }
        loop {
            let mut poller = Poller::new();
            poller.add(&self.socket);
            let timeout = self.heartbeat_ms;
            if poller.poll(timeout)? > 0 {
                let msg = Msg::recv(&self.socket)?;
                drop(poller);
                log::trace!("mdp worker: received message from broker:\n{msg}");
                self.liveness_left = self.liveness;
                match ToWorker::parse(msg) {
                    Ok(ToWorker::Request { client, body }) => {
                        self.reply_to = Some(client);
                        return Ok(body);
                    }
                    Ok(ToWorker::Heartbeat) => {}
                    Ok(ToWorker::Disconnect) => self.connect()?,
                    Err(e) => log::warn!("E: invalid input message: {e}"),
                }
            } else {
                drop(poller);
                self.liveness_left -= 1;
                if self.liveness_left == 0 {
                    log::debug!("mdp worker: disconnected from broker, retrying");
                    clock::sleep_ms(self.reconnect_ms as u64)?;
                    self.connect()?;
                }
            }
            if clock::mono_ms() >= self.heartbeat_at {
                self.send(FromWorker::Heartbeat)?;
                self.heartbeat_at = clock::mono_ms() + self.heartbeat_ms;
            }
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

    #[test]
    fn serves_requests_heartbeats_and_comes_back_after_the_broker_goes_silent() {
        let ctx = zmq::Context::new();
        let (router, ep) = fake_broker(&ctx);
        let ctx2 = ctx.clone();
        let worker = thread::spawn(move || -> Result<u32> {
            let mut w = Worker::new(&ctx2, &ep, "echo")?;
            w.set_heartbeat(30);
            w.set_reconnect(10);
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
