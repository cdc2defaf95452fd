//! [`Client`]: the client side of spec 10/FLP (the guide's `flcliapi`, Model Three): an actor
//! that owns a ROUTER socket, addresses servers by endpoint, pings them, forgets the silent
//! ones, and sends each request to the first live server, failing over to the next.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::freelance::protocol::{FromServer, ping, request};
use crate::{Actor, ActorPipe, Frame, Msg, Poller, SocketExt};

/// Timing of a [`Client`]; the defaults are the guide's.
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::freelance::ClientConfig;
/// let config = ClientConfig { timeout: Duration::from_millis(500), ..Default::default() };
/// assert_eq!(config.ping_interval, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// How often each server is pinged when it has been quiet (2000 ms).
    pub ping_interval: Duration,
    /// A server silent this long is forgotten: no request goes to it until it answers a ping
    /// again (6000 ms, three pings).
    pub server_ttl: Duration,
    /// If no server replies within this time, the request fails with [`Error::Timeout`]
    /// (3000 ms).
    pub timeout: Duration,
    /// How long one server has to reply before the request is sent to the next (1000 ms). A
    /// server that is not connected at all is passed over at once.
    pub try_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            ping_interval: Duration::from_millis(2000),
            server_ttl: Duration::from_millis(6000),
            timeout: Duration::from_millis(3000),
            try_timeout: Duration::from_millis(1000),
        }
    }
}

/// How soon a request is tried again when no server could take it (none connected yet).
const UNROUTABLE_RETRY: Duration = Duration::from_millis(20);

const CONNECT: &str = "CONNECT";
const REQUEST: &str = "REQUEST";
const OK: &str = "OK";
const FAILED: &str = "FAILED";
const ERROR: &str = "ERROR";

/// A Freelance client: requests go to a pool of servers, each answered by one of them or by
/// [`Error::Timeout`] after [`ClientConfig::timeout`].
///
/// The work happens in an [`Actor`] (the guide's agent thread): it owns a ROUTER socket with
/// `ROUTER_MANDATORY`, pings every server every [`ClientConfig::ping_interval`], forgets a server
/// silent for [`ClientConfig::server_ttl`], and sends a request to the first server (in the
/// order they were connected) that is not forgotten and is connected; if that one does not
/// answer within [`ClientConfig::try_timeout`] it goes to the next, round the list, until the
/// global timeout. Replies to earlier requests are dropped (the control frame is a sequence
/// number).
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::freelance::{Client, ClientConfig, Server};
/// use zmq_patterns::Msg;
/// let ctx = zmq::Context::new();
/// let server = Server::bind(&ctx, "inproc://flp-client-doc", "inproc://flp-client-doc").unwrap();
/// std::thread::spawn(move || -> zmq_patterns::Result<()> {
///     loop {
///         let request = server.recv()?;
///         server.reply(request, Msg::from_iter(["OK"]))?;
///     }
/// });
/// let mut client = Client::new(&ctx).unwrap();
/// client.connect("inproc://flp-client-doc").unwrap();
/// let reply = client.request(Msg::from_iter(["random name"])).unwrap();
/// assert!(reply[0] == "OK");
///
/// // Nothing at all listens here: the request fails after the timeout.
/// let config = ClientConfig { timeout: Duration::from_millis(100), ..Default::default() };
/// let mut lonely = Client::with_config(&ctx, config).unwrap();
/// lonely.connect("tcp://127.0.0.1:9").unwrap();
/// assert!(lonely.request(Msg::from_iter(["anyone?"])).unwrap_err().is_timeout());
/// ```
pub struct Client {
    actor: Actor,
    config: ClientConfig,
    next_id: u64,
    /// The agent's error for a CONNECT that failed, as it was (the pipe carries only `ERROR`).
    connect_errors: mpsc::Receiver<Error>,
}

impl Client {
    /// A client with the guide's timing ([`ClientConfig::default`]).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let client = zmq_patterns::freelance::Client::new(&ctx).unwrap();
    /// drop(client); // stops the agent
    /// ```
    pub fn new(ctx: &zmq::Context) -> Result<Client> {
        Client::with_config(ctx, ClientConfig::default())
    }

    /// A client with its own timing.
    ///
    /// ```
    /// use zmq_patterns::freelance::{Client, ClientConfig};
    /// let ctx = zmq::Context::new();
    /// let client = Client::with_config(&ctx, ClientConfig::default()).unwrap();
    /// ```
    pub fn with_config(ctx: &zmq::Context, config: ClientConfig) -> Result<Client> {
        let router = ctx.socket(zmq::ROUTER)?;
        router.set_linger(0)?;
        router.set_router_mandatory(true)?;
        let (errors, connect_errors) = mpsc::channel();
        let actor = Actor::new(ctx, move |pipe| {
            pipe.ready()?;
            Agent::new(router, config, errors).run(&pipe)
        })?;
        Ok(Client {
            actor,
            config,
            next_id: 0,
            connect_errors,
        })
    }

    /// Connects to a server at `endpoint`, which is also the server's identity. Unlike the
    /// guide's `flcliapi_connect` it does not sleep: a request made before the connection is up
    /// waits for it (within the timeout).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let mut client = zmq_patterns::freelance::Client::new(&ctx).unwrap();
    /// client.connect("tcp://127.0.0.1:5555").unwrap();
    /// assert!(client.connect("no such transport").is_err());
    /// ```
    pub fn connect(&mut self, endpoint: &str) -> Result<()> {
        Msg::from_iter([CONNECT, endpoint]).send(&self.actor)?;
        let mut reply = self.answer(Duration::from_secs(5))?;
        match reply.pop_front_str().as_deref() {
            Some(OK) => Ok(()),
            _ => Err(self
                .connect_errors
                .try_recv()
                .unwrap_or_else(|_| Error::Actor("bad answer to CONNECT".into()))),
        }
    }

    /// Sends `body` to one server and returns its reply body, or [`Error::Timeout`] when no
    /// server replied within the timeout. An empty body is sent as one empty frame.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let config = zmq_patterns::freelance::ClientConfig {
    ///     timeout: std::time::Duration::from_millis(50), ..Default::default() };
    /// let mut client = zmq_patterns::freelance::Client::with_config(&ctx, config).unwrap();
    /// // no server at all
    /// assert!(client.request(zmq_patterns::Msg::new()).unwrap_err().is_timeout());
    /// ```
    pub fn request(&mut self, mut body: Msg) -> Result<Msg> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        body.push_front(id.as_str());
        body.push_front(REQUEST);
        body.send(&self.actor)?;
        // The agent answers within the timeout; the margin covers a loaded machine.
        let deadline = Instant::now() + self.config.timeout + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut reply = self.answer(left)?;
            let status = reply.pop_front_str();
            if reply.front().is_none_or(|f| *f != id.as_str()) {
                continue; // the answer to a request whose caller gave up (interrupted)
            }
            reply.pop_front();
            return match status.as_deref() {
                Some(OK) => Ok(reply),
                _ => Err(Error::Timeout),
            };
        }
    }

    /// The agent's next message on the pipe, waiting at most `timeout`.
    fn answer(&self, timeout: Duration) -> Result<Msg> {
        let mut poller = Poller::new();
        poller.add(&self.actor);
        if poller.poll(Some(timeout))? == 0 {
            return Err(Error::Actor("the freelance agent did not answer".into()));
        }
        Msg::recv(&self.actor)
    }
}

/// One server as the agent sees it.
struct ServerState {
    endpoint: String,
    /// Heard from within the TTL (for logging when that changes).
    alive: bool,
    ping_at: Instant,
    expires: Instant,
}

/// The request being worked on.
struct Pending {
    id: Frame,
    control: String,
    body: Msg,
    expires: Instant,
    next_try: Instant,
    next_server: usize,
}

/// The agent: the ROUTER socket, the servers in connect order, the current request.
struct Agent {
    router: zmq::Socket,
    config: ClientConfig,
    servers: Vec<ServerState>,
    sequence: u64,
    pending: Option<Pending>,
    /// Where a failed CONNECT's error goes, before `ERROR` on the pipe.
    connect_errors: mpsc::Sender<Error>,
}

impl Agent {
    fn new(
        router: zmq::Socket,
        config: ClientConfig,
        connect_errors: mpsc::Sender<Error>,
    ) -> Agent {
        Agent {
            router,
            config,
            servers: Vec::new(),
            sequence: 0,
            pending: None,
            connect_errors,
        }
    }

    fn run(mut self, pipe: &ActorPipe) -> Result<()> {
        loop {
            let wait = self
                .next_event()
                .map(|at| at.saturating_duration_since(Instant::now()));
            let (pipe_ready, router_ready) = {
                let mut poller = Poller::new();
                poller.add(pipe);
                poller.add(&self.router);
                poller.poll(wait)?;
                (poller.is_readable(0), poller.is_readable(1))
            };
            if pipe_ready {
                let msg = Msg::recv(pipe)?;
                if pipe.is_term(&msg) {
                    return Ok(());
                }
                self.control(pipe, msg)?;
            }
            if router_ready {
                while let Some(msg) = Msg::try_recv(&self.router)? {
                    self.server_message(pipe, msg)?;
                }
            }
            self.tick(pipe, Instant::now())?;
        }
    }

    /// The next moment something is due: a ping, a server's expiry, a retry, the timeout.
    fn next_event(&self) -> Option<Instant> {
        let servers = self.servers.iter().flat_map(|s| {
            [Some(s.ping_at), s.alive.then_some(s.expires)]
                .into_iter()
                .flatten()
        });
        let pending = self.pending.iter().flat_map(|p| [p.expires, p.next_try]);
        servers.chain(pending).min()
    }

    fn control(&mut self, pipe: &ActorPipe, mut msg: Msg) -> Result<()> {
        match msg.pop_front_str().as_deref() {
            Some(CONNECT) => {
                let endpoint = msg.pop_front_str().unwrap_or_default();
                let answer = self.connect(&endpoint);
                let reply = match answer {
                    Ok(()) => Msg::from_iter([OK]),
                    Err(e) => {
                        let _ = self.connect_errors.send(e);
                        Msg::from_iter([ERROR])
                    }
                };
                reply.send(pipe)?;
            }
            Some(REQUEST) => {
                let Some(id) = msg.pop_front() else {
                    log::warn!("freelance agent: REQUEST without an id");
                    return Ok(());
                };
                if let Some(old) = self.pending.take() {
                    Msg::from_iter([Frame::from(FAILED), old.id]).send(pipe)?;
                }
                self.sequence += 1;
                let now = Instant::now();
                self.pending = Some(Pending {
                    id,
                    control: self.sequence.to_string(),
                    body: msg,
                    expires: now + self.config.timeout,
                    next_try: now,
                    next_server: 0,
                });
            }
            other => log::warn!("freelance agent: unknown command {other:?}"),
        }
        Ok(())
    }

    fn connect(&mut self, endpoint: &str) -> Result<()> {
        if self.servers.iter().any(|s| s.endpoint == endpoint) {
            return Ok(());
        }
        self.router.connect_to(endpoint)?;
        log::debug!("freelance client: connecting to {endpoint}");
        let now = Instant::now();
        self.servers.push(ServerState {
            endpoint: endpoint.to_string(),
            alive: false,
            ping_at: now,
            expires: now + self.config.server_ttl,
        });
        Ok(())
    }

    fn server_message(&mut self, pipe: &ActorPipe, msg: Msg) -> Result<()> {
        log::trace!("freelance client received:\n{msg}");
        let input = match FromServer::parse(msg) {
            Ok(input) => input,
            Err(e) => {
                log::warn!("freelance client: dropped a message: {e}");
                return Ok(());
            }
        };
        let now = Instant::now();
        let Some(server) = self
            .servers
            .iter_mut()
            .find(|s| *input.server() == s.endpoint.as_str())
        else {
            log::warn!(
                "freelance client: dropped a message from unknown server {}",
                input.server().to_string_lossy()
            );
            return Ok(());
        };
        if !server.alive {
            log::debug!("freelance client: server {} is alive", server.endpoint);
            server.alive = true;
        }
        server.ping_at = now + self.config.ping_interval;
        server.expires = now + self.config.server_ttl;
        if let FromServer::Reply { control, body, .. } = input {
            match self.pending.take() {
                Some(p) if control == p.control.as_str() => {
                    let mut reply = body;
                    reply.push_front(p.id);
                    reply.push_front(OK);
                    reply.send(pipe)?;
                }
                other => {
                    log::debug!(
                        "freelance client: dropped a late reply ({})",
                        control.to_string_lossy()
                    );
                    self.pending = other;
                }
            }
        }
        Ok(())
    }

    fn tick(&mut self, pipe: &ActorPipe, now: Instant) -> Result<()> {
        for server in &mut self.servers {
            if server.alive && now >= server.expires {
                log::debug!(
                    "freelance client: server {} silent for {:?}, forgotten",
                    server.endpoint,
                    self.config.server_ttl
                );
                server.alive = false;
            }
            if now >= server.ping_at {
                let msg = ping(server.endpoint.as_str());
                log::trace!("freelance client sends:\n{msg}");
                if msg.route(&self.router)?.is_some() {
                    log::trace!("freelance client: {} not connected", server.endpoint);
                }
                server.ping_at = now + self.config.ping_interval;
            }
        }
        let Some(pending) = self.pending.as_mut() else {
            return Ok(());
        };
        if now >= pending.expires {
            log::debug!(
                "freelance client: no reply to request {} within {:?}",
                pending.control,
                self.config.timeout
            );
            if let Some(p) = self.pending.take() {
                Msg::from_iter([Frame::from(FAILED), p.id]).send(pipe)?;
            }
            return Ok(());
        }
        if now < pending.next_try {
            return Ok(());
        }
        // Send to the next server that is neither forgotten nor disconnected.
        let count = self.servers.len();
        for step in 0..count {
            let index = (pending.next_server + step) % count;
            let server = &self.servers[index];
            if now >= server.expires {
                continue;
            }
            let msg = request(
                server.endpoint.as_str(),
                pending.control.as_str(),
                pending.body.clone(),
            );
            log::trace!("freelance client sends:\n{msg}");
            if msg.route(&self.router)?.is_none() {
                if step > 0 || pending.next_server > 0 {
                    log::debug!(
                        "freelance client: request {} goes to {}",
                        pending.control,
                        server.endpoint
                    );
                }
                pending.next_server = (index + 1) % count;
                pending.next_try = now + self.config.try_timeout;
                return Ok(());
            }
        }
        // Nobody could take it: start again from the first server, soon.
        pending.next_server = 0;
        pending.next_try = now + UNROUTABLE_RETRY.min(self.config.try_timeout);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freelance::Server;

    fn config(timeout_ms: u64) -> ClientConfig {
        ClientConfig {
            ping_interval: Duration::from_millis(100),
            server_ttl: Duration::from_millis(300),
            timeout: Duration::from_millis(timeout_ms),
            try_timeout: Duration::from_millis(200),
        }
    }

    /// A server thread that answers `OK <name>` until its context is gone, or stays silent.
    fn serve(ctx: &zmq::Context, name: &'static str, answer: bool) -> String {
        let ep = format!("inproc://flp-client-test-{name}");
        let server = Server::bind(ctx, &ep, &ep).unwrap();
        std::thread::spawn(move || -> Result<()> {
            loop {
                let request = server.recv()?;
                if answer {
                    server.reply(request, Msg::from_iter(["OK", name]))?;
                }
            }
        });
        ep
    }

    #[test]
    fn requests_go_to_the_first_server_connected() {
        let ctx = zmq::Context::new();
        let a = serve(&ctx, "first-a", true);
        let b = serve(&ctx, "first-b", true);
        let mut client = Client::with_config(&ctx, config(1000)).unwrap();
        client.connect(&a).unwrap();
        client.connect(&b).unwrap();
        for _ in 0..20 {
            let reply = client.request(Msg::from_iter(["x"])).unwrap();
            assert_eq!(reply, Msg::from_iter(["OK", "first-a"]));
        }
    }

    #[test]
    fn a_silent_server_is_passed_over_after_the_try_timeout() {
        let ctx = zmq::Context::new();
        let mute = serve(&ctx, "mute", false);
        let good = serve(&ctx, "good", true);
        let mut client = Client::with_config(&ctx, config(1000)).unwrap();
        client.connect(&mute).unwrap();
        client.connect(&good).unwrap();
        let t = Instant::now();
        let reply = client.request(Msg::from_iter(["x"])).unwrap();
        assert_eq!(reply, Msg::from_iter(["OK", "good"]));
        assert!(
            t.elapsed() >= Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn no_server_means_a_timeout_within_the_bound() {
        let ctx = zmq::Context::new();
        let mute = serve(&ctx, "all-mute", false);
        let mut client = Client::with_config(&ctx, config(300)).unwrap();
        client.connect(&mute).unwrap();
        client.connect("tcp://127.0.0.1:9").unwrap();
        let t = Instant::now();
        let err = client.request(Msg::from_iter(["x"])).unwrap_err();
        assert!(err.is_timeout(), "{err}");
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(280) && took < Duration::from_millis(1500),
            "{took:?}"
        );
    }

    #[test]
    fn late_replies_are_dropped() {
        let ctx = zmq::Context::new();
        let ep = "inproc://flp-client-test-late";
        let server = Server::bind(&ctx, ep, ep).unwrap();
        // one try per request: no resend of request 1 to the same server
        let config = ClientConfig {
            try_timeout: Duration::from_secs(10),
            ..config(300)
        };
        let mut client = Client::with_config(&ctx, config).unwrap();
        client.connect(ep).unwrap();
        let t = std::thread::spawn(move || {
            let first = server.recv().unwrap();
            // answer request 1 only after request 2 has come, and request 2 never
            let second = server.recv().unwrap();
            assert!(first.control == "1" && second.control == "2");
            server.reply(first, Msg::from_iter(["late"])).unwrap();
            drop(second);
            server
        });
        assert!(
            client
                .request(Msg::from_iter(["1"]))
                .unwrap_err()
                .is_timeout()
        );
        assert!(
            client
                .request(Msg::from_iter(["2"]))
                .unwrap_err()
                .is_timeout()
        );
        let _server = t.join().unwrap();
    }

    #[test]
    fn malformed_and_unknown_messages_do_not_stop_the_agent() {
        let ctx = zmq::Context::new();
        let ep = "inproc://flp-client-test-hostile";
        let server = Server::bind(&ctx, ep, ep).unwrap();
        let mut client = Client::with_config(&ctx, config(1000)).unwrap();
        client.connect(ep).unwrap();
        let t = std::thread::spawn(move || {
            let request = server.recv().unwrap();
            let client_id = request.client.clone();
            for junk in [vec![""], vec!["PING"], vec!["1"]] {
                let mut m = Msg::from_iter(junk);
                m.push_front(client_id.clone());
                m.send(server.socket()).unwrap();
            }
            server.reply(request, Msg::from_iter(["OK"])).unwrap();
            server
        });
        let reply = client.request(Msg::from_iter(["x"])).unwrap();
        assert_eq!(reply, Msg::from_iter(["OK"]));
        let _server = t.join().unwrap();
    }

    #[test]
    fn a_bad_endpoint_is_an_error_from_connect() {
        let ctx = zmq::Context::new();
        let mut client = Client::new(&ctx).unwrap();
        let err = client.connect("nonsense").unwrap_err();
        assert_eq!(err.zmq(), None, "{err}");
        assert_eq!(
            err.to_string(),
            "cannot connect nonsense: an endpoint needs a transport, e.g. tcp://nonsense"
        );
        let err = client
            .connect("tcp://no-such-host.invalid:5555")
            .unwrap_err();
        assert!(err.is_endpoint(), "{err}");
        let err = client.connect("bogus://x").unwrap_err();
        assert_eq!(err.zmq(), Some(zmq::Error::EPROTONOSUPPORT), "{err}");
        client.connect("tcp://127.0.0.1:9").unwrap();
        client.connect("tcp://127.0.0.1:9").unwrap(); // twice is once
    }
}
