//! [`Client`]: the client side of the Clone pattern, model six (the guide's `clone` class,
//! `clone.c`; spec 12/CHP): an agent that keeps a copy of a server's key-value map (or of one
//! subtree of it), sends the application's updates to the servers, and fails over from one
//! server to the other when the first goes silent.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::kvmsg::{KTHXBAI, KvMap, KvMsg, Limits, SnapshotRequest, snapshot};
use crate::{Actor, ActorPipe, Frame, Msg, Poller, SocketExt};

/// The most servers a client talks to (the guide's `SERVER_MAX`): a Binary Star pair.
const SERVER_MAX: usize = 2;

/// The key of a server's heartbeat (spec 12/CHP), which a client subscribes to beside its
/// subtree.
const HUGZ: &str = "HUGZ";

/// Events kept for [`Client::try_event`] when nobody reads them; later ones are dropped.
const EVENTS_MAX: usize = 1024;

/// `get` requests waiting for a first snapshot; older ones are answered "timed out".
const GETS_MAX: usize = 64;

/// Messages read from one socket in one turn of the agent, so that a busy server cannot keep
/// the application's commands waiting.
const BATCH: usize = 1000;

/// How long past its own deadline the caller waits for the agent's answer (a loaded machine).
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

const SUBTREE: &str = "SUBTREE";
const CONNECT: &str = "CONNECT";
const SET: &str = "SET";
const GET: &str = "GET";
const MAP: &str = "MAP";

/// Timing and bounds of a [`Client`]; the defaults are the guide's.
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::clone::ClientConfig;
/// let config = ClientConfig { server_ttl: Duration::from_secs(2), ..Default::default() };
/// assert_eq!(config.get_timeout, Duration::from_secs(4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// A server that sends nothing (no update, no `HUGZ`, no part of a snapshot) for this long
    /// is given up, and the client asks the next server for a snapshot (the guide's
    /// `SERVER_TTL`, 5 s). Servers send `HUGZ` every second.
    pub server_ttl: Duration,
    /// How long [`Client::get`] waits for a first snapshot before it fails with
    /// [`Error::Timeout`] (the guide's `GLOBAL_TIMEOUT`, 4 s).
    pub get_timeout: Duration,
    /// How much the client's copy of the map may hold; updates beyond it are logged and
    /// dropped.
    pub limits: Limits,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            server_ttl: Duration::from_millis(5000),
            get_timeout: Duration::from_millis(4000),
            limits: Limits::default(),
        }
    }
}

/// What a [`Client`]'s agent did: the lines the guide's agent logs (`I: ...`). Its `Display`
/// is the guide's text.
///
/// ```
/// use zmq_patterns::clone::Event;
/// let e = Event::Silent { server: "tcp://localhost:5556".into() };
/// assert_eq!(e.to_string(), "server at tcp://localhost:5556 didn't give HUGZ");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// [`Client::connect`] added a server (`address:port`).
    ServerAdded {
        /// The server, `address:port`.
        server: String,
    },
    /// A snapshot was asked of this server.
    Waiting {
        /// The server, `address:port`.
        server: String,
    },
    /// A whole snapshot came: the client's map is now the server's (`keys` keys) at `sequence`.
    Snapshot {
        /// The server, `address:port`.
        server: String,
        /// The sequence number of the snapshot (its `KTHXBAI`).
        sequence: u64,
        /// How many keys the map holds now.
        keys: usize,
    },
    /// An update newer than the map was applied.
    Update {
        /// The server, `address:port`.
        server: String,
        /// The update's sequence number, now the client's.
        sequence: u64,
        /// The key it set (or deleted, with an empty value).
        key: String,
    },
    /// The server sent nothing for [`ClientConfig::server_ttl`]: the client fails over.
    Silent {
        /// The server, `address:port`.
        server: String,
    },
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::ServerAdded { server } => write!(f, "adding server {server}..."),
            Event::Waiting { server } => write!(f, "waiting for server at {server}..."),
            Event::Snapshot {
                server, sequence, ..
            } => write!(f, "received from {server} snapshot={sequence}"),
            Event::Update {
                server, sequence, ..
            } => write!(f, "received from {server} update={sequence}"),
            Event::Silent { server } => write!(f, "server at {server} didn't give HUGZ"),
        }
    }
}

/// What the agent answers a command with.
enum Answer {
    Done(Result<()>),
    Value(Result<Option<Frame>>),
    Map(KvMap<KvMsg>),
}

/// An answer and the number of the command it answers.
struct Reply {
    id: u64,
    answer: Answer,
}

/// A Clone client (the guide's `clone` class): a copy of the servers' key-value map, or of one
/// subtree of it, kept up to date in an [`Actor`] (the guide's agent thread).
///
/// For each server (at most two, [`Client::connect`]) the agent connects a SUB socket to
/// `port + 1`, subscribed to the subtree and `HUGZ`, and its one PUB socket to `port + 2`, the
/// server's collector. It asks the current server for a snapshot (`ICANHAZ?` on a DEALER to
/// `port`), takes it whole, then applies the server's updates whose sequence number is higher
/// than the one it holds. A server that sends nothing for [`ClientConfig::server_ttl`] is given
/// up: the agent asks the other server for a snapshot and goes on with that one.
/// [`Client::set`] sends an update to every server, [`Client::get`] reads the copy. (A
/// snapshot replaces the copy: a set made while one is being taken is back in it when the
/// server publishes it.)
///
/// Differences from the guide's `clone.c`: `get` waits at most [`ClientConfig::get_timeout`]
/// (the C defined `GLOBAL_TIMEOUT` and never used it); a snapshot is applied only when it is
/// whole, replacing the map (the C merged a partial snapshot from a server that died midway
/// into it); each snapshot request has a fresh DEALER socket, so a late answer to an earlier
/// request is never read as the current one; updates queued from a server before its snapshot
/// is asked for are dropped unread, rather than fill its queue while it is not the current
/// server; `HUGZ` only keeps a server alive (the C stored one whose sequence number was ahead
/// of its own); a malformed message, or a key outside the subtree, is logged and dropped (the
/// C crashed or stored it); the map is bounded ([`ClientConfig::limits`]).
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::clone::Client;
/// use zmq_patterns::kvmsg::{snapshot, KvMap, KvMsg, SnapshotRequest};
/// let ctx = zmq::Context::new();
/// // A stand-in server that answers one snapshot request (an ipc address: ports are suffixes)
/// let address = format!("ipc://{}/clone-doc-{}", std::env::temp_dir().display(), std::process::id());
/// let router = ctx.socket(zmq::ROUTER)?;
/// router.bind(&format!("{address}:5556"))?;
///
/// let mut client = Client::new(&ctx)?;
/// client.set_subtree("/client/")?;
/// client.connect(&address, 5556)?;
///
/// let request = SnapshotRequest::recv(&router)?;
/// assert_eq!(request.subtree, "/client/");
/// let mut state = KvMap::default();
/// state.store(KvMsg::new("/client/a", 7, "1")?).unwrap();
/// snapshot::send(&router, &request, &state, 7)?;
///
/// assert_eq!(client.get("/client/a")?.unwrap(), "1");
/// client.set("/client/b", "2", Duration::from_secs(30))?; // goes to the server's port + 2
/// assert_eq!(client.get("/client/b")?.unwrap(), "2");
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[doc(alias = "clone")]
pub struct Client {
    actor: Actor,
    config: ClientConfig,
    servers: usize,
    next_id: u64,
    replies: mpsc::Receiver<Reply>,
    events: mpsc::Receiver<Event>,
    /// The map the agent held when it stopped (set as it stops).
    left: Arc<Mutex<Option<KvMap<KvMsg>>>>,
}

impl Client {
    /// A client with the guide's timing ([`ClientConfig::default`]), no subtree and no server
    /// yet.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let client = zmq_patterns::clone::Client::new(&ctx)?;
    /// drop(client); // stops the agent
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "clone_new")]
    pub fn new(ctx: &zmq::Context) -> Result<Client> {
        Client::with_config(ctx, ClientConfig::default())
    }

    /// A client with its own timing and bounds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmq_patterns::clone::{Client, ClientConfig};
    /// let ctx = zmq::Context::new();
    /// let config = ClientConfig { server_ttl: Duration::from_secs(2), ..Default::default() };
    /// let client = Client::with_config(&ctx, config)?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn with_config(ctx: &zmq::Context, config: ClientConfig) -> Result<Client> {
        let publisher = ctx.socket(zmq::PUB)?;
        // Long enough for a last update to go out, short enough not to hold up the
        // context's end for a server that is gone
        publisher.set_linger(1000)?;
        let (reply_tx, replies) = mpsc::channel();
        let (event_tx, events) = mpsc::sync_channel(EVENTS_MAX);
        let left = Arc::new(Mutex::new(None));
        let agent_left = left.clone();
        let agent_ctx = ctx.clone();
        let actor = Actor::new(ctx, move |pipe| {
            pipe.ready()?;
            Agent {
                ctx: agent_ctx,
                config,
                subtree: String::new(),
                servers: Vec::new(),
                current: 0,
                state: State::Initial,
                expiry: Instant::now(),
                sequence: 0,
                kvmap: KvMap::new(config.limits),
                synced: false,
                publisher,
                gets: VecDeque::new(),
                replies: reply_tx,
                events: event_tx,
                dropped: 0,
                left: agent_left,
            }
            .run(&pipe)
        })?;
        // A command to an agent that has stopped fails after a while rather than wait for ever
        actor.set_sndtimeo(duration_ms(ANSWER_MARGIN))?;
        Ok(Client {
            actor,
            config,
            servers: 0,
            next_id: 0,
            replies,
            events,
            left,
        })
    }

    /// Keeps only the keys under `subtree` (`/client/`, say; `""`, the default, for all): the
    /// snapshot asks for that subtree and the SUB sockets subscribe to it. Call it before
    /// [`Client::connect`], as the guide says: afterwards it is `EINVAL`
    /// ([`Error::Zmq`]); so is a subtree that is not empty nor `/segment/.../` (spec 12/CHP).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let mut client = zmq_patterns::clone::Client::new(&ctx)?;
    /// assert!(client.set_subtree("client").is_err());
    /// client.set_subtree("/client/")?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "clone_subtree")]
    pub fn set_subtree(&mut self, subtree: &str) -> Result<()> {
        // The server-side parser is the one rule of what a subtree is
        let request = Msg::from_iter(["", snapshot::ICANHAZ, subtree]);
        if self.servers > 0 || SnapshotRequest::parse(request).is_err() {
            return Err(Error::Zmq(zmq::Error::EINVAL));
        }
        Msg::from_iter([SUBTREE, subtree]).send(&self.actor)?;
        Ok(())
    }

    /// Adds a server: `address` is an endpoint without its port (`tcp://localhost`), `port`
    /// the server's snapshot port (the guide's 5556 for a primary, 5566 for a backup); its
    /// publisher is at `port + 1` and its collector at `port + 2`. The first server connected
    /// is the first asked for a snapshot. At most two servers (a Binary Star pair): a third is
    /// `EINVAL` ([`Error::Zmq`]); an endpoint libzmq refuses, or a host that does not
    /// resolve, is [`Error::Endpoint`].
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let mut client = zmq_patterns::clone::Client::new(&ctx)?;
    /// client.connect("tcp://127.0.0.1", 5556)?;
    /// client.connect("tcp://127.0.0.1", 5566)?;
    /// assert!(client.connect("tcp://127.0.0.1", 5576).is_err());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "clone_connect")]
    pub fn connect(&mut self, address: &str, port: u16) -> Result<()> {
        if self.servers >= SERVER_MAX || port.checked_add(2).is_none() {
            return Err(Error::Zmq(zmq::Error::EINVAL));
        }
        let port = port.to_string();
        match self.call(CONNECT, [address, port.as_str()], ANSWER_MARGIN)? {
            Answer::Done(result) => {
                result?;
                self.servers += 1;
                Ok(())
            }
            _ => Err(Error::Actor(
                "the clone agent answered CONNECT wrongly".into(),
            )),
        }
    }

    /// Sets `key` to `value` in the shared map: the update goes to every server (which numbers
    /// it and publishes it to all clients) and into this client's copy at once. An empty value
    /// deletes the key. `ttl` is how long the servers keep it (the `ttl` property, in whole
    /// seconds, rounded up); zero keeps it until it is set again. A key longer than
    /// [`KEY_MAX`](crate::kvmsg::KEY_MAX) bytes is [`Error::Protocol`].
    ///
    /// As with any PUB socket, an update sent before the connection to a server is up is lost
    /// for that server.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = zmq::Context::new();
    /// let mut client = zmq_patterns::clone::Client::new(&ctx)?;
    /// client.set("/client/1", "value", Duration::from_secs(5))?;
    /// client.set("/client/2", "kept", Duration::ZERO)?;
    /// assert!(client.set(&"k".repeat(300), "v", Duration::ZERO).unwrap_err().is_protocol());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "clone_set")]
    pub fn set(&mut self, key: &str, value: impl Into<Frame>, ttl: Duration) -> Result<()> {
        let mut kvmsg = KvMsg::new(key, 0, value)?;
        kvmsg.set_uuid();
        kvmsg.set_prop("ttl", &ttl_seconds(ttl).to_string())?;
        let mut msg = kvmsg.into_msg();
        msg.push_front(SET);
        msg.send(&self.actor)?;
        Ok(())
    }

    /// The value of `key` in this client's copy of the map, `None` if it has none. Before the
    /// first snapshot has come from a server, it waits for it at most
    /// [`ClientConfig::get_timeout`], then fails with [`Error::Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmq_patterns::clone::{Client, ClientConfig};
    /// let ctx = zmq::Context::new();
    /// let config = ClientConfig { get_timeout: Duration::from_millis(50), ..Default::default() };
    /// let mut client = Client::with_config(&ctx, config)?;
    /// // no server: no snapshot
    /// assert!(client.get("/client/1").unwrap_err().is_timeout());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "clone_get")]
    pub fn get(&mut self, key: &str) -> Result<Option<Frame>> {
        match self.call(GET, [key], self.config.get_timeout + ANSWER_MARGIN)? {
            Answer::Value(value) => value,
            _ => Err(Error::Actor("the clone agent answered GET wrongly".into())),
        }
    }

    /// A copy of this client's map, in key order (for a dump, or to compare with a server's).
    /// Once the agent has stopped (on Ctrl-C, when the [interrupt](crate::interrupt) handlers
    /// are installed), the map it held as it stopped.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ctx = zmq::Context::new();
    /// let mut client = zmq_patterns::clone::Client::new(&ctx)?;
    /// client.set("/client/1", "v", Duration::ZERO)?;
    /// let map = client.to_map()?;
    /// assert_eq!(map.get("/client/1").unwrap().prop("ttl"), Some("0"));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    ///
    /// ```
    /// // (in a test process of its own: Ctrl-C is process-wide)
    /// # if false {
    /// # use std::time::Duration;
    /// zmq_patterns::interrupt::install()?;
    /// let ctx = zmq::Context::new();
    /// let mut client = zmq_patterns::clone::Client::new(&ctx)?;
    /// client.set("/client/1", "v", Duration::ZERO)?;
    /// zmq_patterns::interrupt::raise(); // the agent stops...
    /// assert!(client.to_map()?.get("/client/1").is_some()); // ...and leaves its map
    /// # }
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn to_map(&mut self) -> Result<KvMap<KvMsg>> {
        if let Some(map) = self.left_map() {
            return Ok(map);
        }
        match self.call(MAP, std::iter::empty(), ANSWER_MARGIN) {
            Ok(Answer::Map(map)) => Ok(map),
            Ok(_) => Err(Error::Actor("the clone agent answered MAP wrongly".into())),
            // (it stopped while we asked)
            Err(e) => self.left_map().ok_or(e),
        }
    }

    /// The map the agent left when it stopped, if it has.
    fn left_map(&self) -> Option<KvMap<KvMsg>> {
        self.left.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The agent's next [`Event`] if there is one. At most 1,024 are kept for a reader; later
    /// ones are dropped until some are read.
    ///
    /// ```
    /// use zmq_patterns::clone::{Client, Event};
    /// let ctx = zmq::Context::new();
    /// let mut client = Client::new(&ctx)?;
    /// client.connect("tcp://127.0.0.1", 5556)?;
    /// let added = client.try_event();
    /// assert_eq!(added, Some(Event::ServerAdded { server: "tcp://127.0.0.1:5556".into() }));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn try_event(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// The agent's next [`Event`], waiting for it at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmq_patterns::clone::{Client, Event};
    /// let ctx = zmq::Context::new();
    /// let mut client = Client::new(&ctx)?;
    /// client.connect("tcp://127.0.0.1", 5556)?;
    /// client.event_timeout(Duration::from_secs(5)); // adding server
    /// let waiting = client.event_timeout(Duration::from_secs(5));
    /// assert_eq!(waiting, Some(Event::Waiting { server: "tcp://127.0.0.1:5556".into() }));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn event_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Sends a command with a fresh number and waits at most `timeout` for its answer; answers
    /// to earlier commands whose caller gave up are skipped.
    fn call<'a>(
        &mut self,
        command: &str,
        args: impl IntoIterator<Item = &'a str>,
        timeout: Duration,
    ) -> Result<Answer> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = Msg::from_iter([command, id.to_string().as_str()]);
        for arg in args {
            msg.push_back(arg);
        }
        msg.send(&self.actor)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(reply) if reply.id == id => return Ok(reply.answer),
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(Error::Actor(format!(
                        "the clone agent did not answer {command}"
                    )));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(if crate::interrupt::is_interrupted() {
                        Error::Interrupted
                    } else {
                        Error::Actor("the clone agent has stopped".into())
                    });
                }
            }
        }
    }
}

/// `duration` in whole milliseconds for a socket option, at most `i32::MAX`.
fn duration_ms(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

/// `ttl` in whole seconds, rounded up: a millisecond is one second, not "for ever".
fn ttl_seconds(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}

/// One server as the agent sees it.
struct Server {
    /// `address:port`, the snapshot endpoint and the server's name in logs and events.
    name: String,
    /// The DEALER of the snapshot request in progress, if one is.
    snapshot: Option<zmq::Socket>,
    subscriber: zmq::Socket,
}

/// Where the agent is with the current server.
enum State {
    /// About to ask it for a snapshot.
    Initial,
    /// Taking its snapshot, into a map of its own.
    Syncing(KvMap<KvMsg>),
    /// Applying its updates.
    Active,
}

/// A `get` waiting for the first snapshot.
struct PendingGet {
    id: u64,
    key: String,
    deadline: Instant,
}

/// The agent's side (`clone_agent`, `agent_t`).
struct Agent {
    ctx: zmq::Context,
    config: ClientConfig,
    subtree: String,
    servers: Vec<Server>,
    current: usize,
    state: State,
    /// When the current server is given up unless it sends something.
    expiry: Instant,
    /// The sequence number of the last update applied (or of the snapshot).
    sequence: u64,
    kvmap: KvMap<KvMsg>,
    /// A snapshot has come once: `get` answers from the map.
    synced: bool,
    publisher: zmq::Socket,
    gets: VecDeque<PendingGet>,
    replies: mpsc::Sender<Reply>,
    events: mpsc::SyncSender<Event>,
    /// Malformed messages dropped so far.
    dropped: u64,
    /// Where the agent leaves its map when it stops, for [`Client::to_map`].
    left: Arc<Mutex<Option<KvMap<KvMsg>>>>,
}

impl Agent {
    /// Serves until `$TERM` or an error (Ctrl-C), then leaves the map behind.
    fn run(mut self, pipe: &ActorPipe) -> Result<()> {
        let result = self.serve(pipe);
        let map = std::mem::replace(&mut self.kvmap, KvMap::new(self.config.limits));
        *self.left.lock().unwrap_or_else(|e| e.into_inner()) = Some(map);
        result
    }

    fn serve(&mut self, pipe: &ActorPipe) -> Result<()> {
        loop {
            if matches!(self.state, State::Initial) && !self.servers.is_empty() {
                self.ask_for_snapshot()?;
            }
            let wake = self
                .gets
                .iter()
                .map(|g| g.deadline)
                .chain((!matches!(self.state, State::Initial)).then_some(self.expiry))
                .min();
            let (pipe_ready, server_ready) = {
                let mut poller = Poller::new();
                poller.add(pipe);
                let socket = self.current_socket();
                if let Some(socket) = socket {
                    poller.add(socket);
                }
                poller.poll(wake.map(|at| at.saturating_duration_since(Instant::now())))?;
                (
                    poller.is_readable(0),
                    socket.is_some() && poller.is_readable(1),
                )
            };
            if pipe_ready {
                while let Some(msg) = Msg::try_recv(pipe)? {
                    if pipe.is_term(&msg) {
                        return Ok(());
                    }
                    self.command(msg)?;
                }
            }
            if server_ready {
                self.server_input()?;
            }
            let now = Instant::now();
            // (the expiry is the current server's only once it has been asked)
            if !matches!(self.state, State::Initial) && now >= self.expiry {
                self.fail_over();
            }
            while self.gets.front().is_some_and(|g| g.deadline <= now) {
                if let Some(get) = self.gets.pop_front() {
                    self.reply(get.id, Answer::Value(Err(Error::Timeout)));
                }
            }
        }
    }

    /// The socket the current server's input comes on: its snapshot while syncing, its
    /// publisher once active.
    fn current_socket(&self) -> Option<&zmq::Socket> {
        let server = self.servers.get(self.current)?;
        match self.state {
            State::Initial => None,
            State::Syncing(_) => server.snapshot.as_ref(),
            State::Active => Some(&server.subscriber),
        }
    }

    fn reply(&self, id: u64, answer: Answer) {
        // The caller may have gone; nothing to do then
        let _ = self.replies.send(Reply { id, answer });
    }

    fn event(&self, event: Event) {
        let _ = self.events.try_send(event);
    }

    fn command(&mut self, mut msg: Msg) -> Result<()> {
        let command = msg.pop_front_str();
        if command.as_deref() == Some(SET) {
            return self.set(msg);
        }
        if command.as_deref() == Some(SUBTREE) {
            self.subtree = msg.pop_front_str().unwrap_or_default();
            return Ok(());
        }
        let Some(id) = msg.pop_front_str().and_then(|id| id.parse().ok()) else {
            log::warn!("clone agent: command {command:?} without a number, dropped");
            return Ok(());
        };
        match command.as_deref() {
            Some(CONNECT) => {
                let address = msg.pop_front_str().unwrap_or_default();
                let port = msg.pop_front_str().and_then(|p| p.parse().ok());
                let result = match port {
                    Some(port) => self.connect(&address, port),
                    None => Err(Error::Zmq(zmq::Error::EINVAL)),
                };
                self.reply(id, Answer::Done(result));
            }
            Some(GET) => {
                let key = msg.pop_front_str().unwrap_or_default();
                if self.synced {
                    let value = self.kvmap.get(&key).map(|kv| Frame::new(kv.body()));
                    self.reply(id, Answer::Value(Ok(value)));
                } else {
                    if self.gets.len() >= GETS_MAX {
                        if let Some(old) = self.gets.pop_front() {
                            self.reply(old.id, Answer::Value(Err(Error::Timeout)));
                        }
                    }
                    self.gets.push_back(PendingGet {
                        id,
                        key,
                        deadline: Instant::now() + self.config.get_timeout,
                    });
                }
            }
            Some(MAP) => self.reply(id, Answer::Map(self.kvmap.clone())),
            other => log::warn!("clone agent: unknown command {other:?}, dropped"),
        }
        Ok(())
    }

    fn connect(&mut self, address: &str, port: u16) -> Result<()> {
        if self.servers.len() >= SERVER_MAX {
            log::warn!("clone: too many servers (max. {SERVER_MAX})");
            return Err(Error::Zmq(zmq::Error::EINVAL));
        }
        let (Some(updates), Some(collector)) = (port.checked_add(1), port.checked_add(2)) else {
            return Err(Error::Zmq(zmq::Error::EINVAL));
        };
        let name = format!("{address}:{port}");
        log::debug!("clone: adding server {name}...");
        let subscriber = self.ctx.socket(zmq::SUB)?;
        subscriber.set_linger(0)?;
        subscriber.set_subscribe(self.subtree.as_bytes())?;
        subscriber.set_subscribe(HUGZ.as_bytes())?;
        subscriber.connect_to(&format!("{address}:{updates}"))?;
        // We send updates to all known servers
        self.publisher
            .connect_to(&format!("{address}:{collector}"))?;
        self.event(Event::ServerAdded {
            server: name.clone(),
        });
        self.servers.push(Server {
            name,
            snapshot: None,
            subscriber,
        });
        Ok(())
    }

    /// Sends the application's update to the servers and stores it.
    fn set(&mut self, msg: Msg) -> Result<()> {
        let kvmsg = match KvMsg::parse(msg) {
            Ok(kvmsg) => kvmsg,
            Err(e) => {
                log::warn!("clone agent: SET dropped: {e}");
                return Ok(());
            }
        };
        // A PUB socket never blocks: with no server connected, the update is dropped
        if let Err(e) = kvmsg.send_copy(&self.publisher) {
            if e.is_shutdown() {
                return Err(e);
            }
            log::warn!("clone: update of {} not sent: {e}", kvmsg.key());
        }
        if let Err(full) = self.kvmap.store(kvmsg) {
            log::warn!("clone: update of {} not stored: {full}", full.msg.key());
        }
        Ok(())
    }

    /// Asks the current server for a snapshot, on a fresh DEALER socket.
    fn ask_for_snapshot(&mut self) -> Result<()> {
        let server = &mut self.servers[self.current];
        log::debug!("clone: waiting for server at {}...", server.name);
        let name = server.name.clone();
        // The updates queued from this server so far are older than the snapshot to come
        let mut stale = 0usize;
        while stale < 100 * BATCH && Msg::try_recv(&server.subscriber)?.is_some() {
            stale += 1;
        }
        if stale > 0 {
            log::trace!("clone: {stale} earlier messages from {name} dropped");
        }
        let dealer = self.ctx.socket(zmq::DEALER)?;
        dealer.set_linger(0)?;
        match dealer.connect_to(&name) {
            Ok(()) => {
                let request = snapshot::request(&self.subtree);
                if let Err(e) = request.send_flags(&dealer, zmq::DONTWAIT) {
                    log::debug!("clone: snapshot request to {name} not sent: {}", e.error);
                }
                server.snapshot = Some(dealer);
            }
            // (a name that resolved when it was added and no longer does: try again later)
            Err(e) => log::warn!("clone: {e}"),
        }
        self.state = State::Syncing(KvMap::new(self.config.limits));
        self.expiry = Instant::now() + self.config.server_ttl;
        self.event(Event::Waiting { server: name });
        Ok(())
    }

    /// Reads what the current server sent, a batch at most.
    fn server_input(&mut self) -> Result<()> {
        for _ in 0..BATCH {
            let Some(socket) = self.current_socket() else {
                return Ok(());
            };
            let Some(msg) = Msg::try_recv(socket)? else {
                return Ok(());
            };
            let kvmsg = match KvMsg::parse(msg) {
                Ok(kvmsg) => kvmsg,
                Err(e) => {
                    self.malformed(&e);
                    continue;
                }
            };
            // Anything from the server shows it is alive
            self.expiry = Instant::now() + self.config.server_ttl;
            if matches!(self.state, State::Active) {
                self.update(kvmsg);
            } else {
                self.snapshot_part(kvmsg);
            }
        }
        Ok(())
    }

    fn snapshot_part(&mut self, kvmsg: KvMsg) {
        let State::Syncing(map) = &mut self.state else {
            return;
        };
        let name = &self.servers[self.current].name;
        if kvmsg.key() == KTHXBAI {
            let State::Syncing(map) = std::mem::replace(&mut self.state, State::Active) else {
                return;
            };
            self.kvmap = map;
            self.sequence = kvmsg.sequence();
            self.synced = true;
            let name = name.clone();
            self.servers[self.current].snapshot = None;
            log::debug!("clone: received from {name} snapshot={}", self.sequence);
            self.event(Event::Snapshot {
                server: name,
                sequence: self.sequence,
                keys: self.kvmap.len(),
            });
            while let Some(get) = self.gets.pop_front() {
                let value = self.kvmap.get(&get.key).map(|kv| Frame::new(kv.body()));
                self.reply(get.id, Answer::Value(Ok(value)));
            }
        } else if !kvmsg.key().starts_with(&self.subtree) {
            log::warn!(
                "clone: snapshot from {name}: {} is outside subtree {:?}, dropped",
                kvmsg.key(),
                self.subtree
            );
        } else if let Err(full) = map.store(kvmsg) {
            log::warn!(
                "clone: snapshot from {name}: {} dropped: {full}",
                full.msg.key()
            );
        }
    }

    fn update(&mut self, kvmsg: KvMsg) {
        let name = &self.servers[self.current].name;
        if kvmsg.key() == HUGZ {
            log::trace!("clone: HUGZ from {name}");
            return;
        }
        // Discard out-of-sequence updates
        if kvmsg.sequence() <= self.sequence {
            log::trace!("clone: old update {} from {name}", kvmsg.sequence());
            return;
        }
        if !kvmsg.key().starts_with(&self.subtree) {
            log::warn!(
                "clone: update from {name}: {} is outside subtree {:?}, dropped",
                kvmsg.key(),
                self.subtree
            );
            return;
        }
        self.sequence = kvmsg.sequence();
        log::trace!("clone: received from {name} update={}", self.sequence);
        let event = Event::Update {
            server: name.clone(),
            sequence: self.sequence,
            key: kvmsg.key().to_string(),
        };
        if let Err(full) = self.kvmap.store(kvmsg) {
            log::warn!("clone: update of {} dropped: {full}", full.msg.key());
        }
        self.event(event);
    }

    fn malformed(&mut self, e: &Error) {
        self.dropped += 1;
        // 1, 2, 4, 8...: a flood leaves a few lines
        if self.dropped.is_power_of_two() {
            log::warn!(
                "clone: message from {} dropped: {e} ({} dropped so far)",
                self.servers[self.current].name,
                self.dropped
            );
        }
    }

    /// The current server has been silent too long: on to the next.
    fn fail_over(&mut self) {
        let server = &mut self.servers[self.current];
        log::debug!("clone: server at {} didn't give HUGZ", server.name);
        server.snapshot = None;
        let name = server.name.clone();
        self.event(Event::Silent { server: name });
        self.current = (self.current + 1) % self.servers.len();
        self.state = State::Initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every wait in these tests is bounded by this.
    const WAIT: Duration = Duration::from_secs(10);

    /// A stand-in Clone server made of plain sockets, bound at `address:5556` (ROUTER for
    /// snapshots), `:5557` (XPUB, so that the test sees the client's subscriptions) and `:5558`
    /// (SUB, the collector).
    struct Fake {
        address: String,
        router: zmq::Socket,
        publisher: zmq::Socket,
        collector: zmq::Socket,
    }

    fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
        let s = ctx.socket(kind).unwrap();
        s.set_linger(0).unwrap();
        s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
        s.set_sndtimeo(WAIT.as_millis() as i32).unwrap();
        s
    }

    fn fake(ctx: &zmq::Context, tag: &str) -> Fake {
        let address = format!(
            "ipc://{}/clone-client-{tag}-{}",
            std::env::temp_dir().display(),
            std::process::id()
        );
        let router = socket(ctx, zmq::ROUTER);
        router.bind(&format!("{address}:5556")).unwrap();
        let publisher = socket(ctx, zmq::XPUB);
        publisher.bind(&format!("{address}:5557")).unwrap();
        let collector = socket(ctx, zmq::SUB);
        collector.set_subscribe(b"").unwrap();
        collector.bind(&format!("{address}:5558")).unwrap();
        Fake {
            address,
            router,
            publisher,
            collector,
        }
    }

    fn kv(key: &str, sequence: u64, body: &str) -> KvMsg {
        KvMsg::new(key, sequence, body).unwrap()
    }

    impl Fake {
        /// Waits for a snapshot request and returns it.
        fn request(&self) -> SnapshotRequest {
            SnapshotRequest::recv(&self.router).expect("a snapshot request")
        }

        /// Sends raw messages to a client, behind its address.
        fn send_to(&self, client: &Frame, msgs: impl IntoIterator<Item = Msg>) {
            for mut msg in msgs {
                msg.push_front(client.clone());
                msg.send(&self.router).unwrap();
            }
        }

        /// Answers the next snapshot request with `pairs` and `KTHXBAI` at `sequence`.
        fn snapshot(&self, pairs: &[KvMsg], sequence: u64) -> SnapshotRequest {
            let request = self.request();
            let end = snapshot::end::<KvMsg>(sequence, &request.subtree);
            let msgs = pairs.iter().map(KvMsg::to_msg).chain([end.to_msg()]);
            self.send_to(&request.client, msgs);
            request
        }

        /// Waits until the client has subscribed to `topic`.
        fn subscribed(&self, topic: &str) {
            let mut want = vec![1u8];
            want.extend_from_slice(topic.as_bytes());
            loop {
                let got = self.publisher.recv_bytes(0).expect("a subscription");
                if got == want {
                    return;
                }
            }
        }

        fn publish(&self, kvmsg: KvMsg) {
            kvmsg.send(&self.publisher).unwrap();
        }
    }

    fn config(server_ttl: Duration) -> ClientConfig {
        ClientConfig {
            server_ttl,
            get_timeout: WAIT,
            ..Default::default()
        }
    }

    /// The first event that `pred` accepts, within `WAIT`.
    fn event_where(client: &Client, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match client.event_timeout(left) {
                Some(e) if pred(&e) => return e,
                Some(_) => continue,
                None => panic!("no such event within {WAIT:?}"),
            }
        }
    }

    fn value(client: &mut Client, key: &str) -> Option<String> {
        client.get(key).unwrap().map(|f| f.to_string_lossy())
    }

    #[test]
    fn takes_the_snapshot_then_applies_only_newer_updates() {
        let ctx = zmq::Context::new();
        let server = fake(&ctx, "snapshot");
        let mut client = Client::with_config(&ctx, config(WAIT)).unwrap();
        client.connect(&server.address, 5556).unwrap();
        let name = format!("{}:5556", server.address);
        assert_eq!(
            client.try_event(),
            Some(Event::ServerAdded {
                server: name.clone()
            })
        );

        let request = server.snapshot(&[kv("/a", 3, "1"), kv("/b", 5, "2")], 5);
        assert_eq!(request.subtree, "");
        let e = event_where(&client, |e| matches!(e, Event::Snapshot { .. }));
        assert_eq!(
            e,
            Event::Snapshot {
                server: name.clone(),
                sequence: 5,
                keys: 2
            }
        );
        assert_eq!(e.to_string(), format!("received from {name} snapshot=5"));
        assert_eq!(value(&mut client, "/a").as_deref(), Some("1"));

        server.subscribed("");
        server.publish(kv("/b", 4, "old")); // not newer than the snapshot
        server.publish(kv("/c", 6, "3"));
        server.publish(kv(HUGZ, 6, ""));
        server.publish(kv("/a", 7, "")); // deletes
        let e = event_where(&client, |e| matches!(e, Event::Update { sequence: 7, .. }));
        assert_eq!(e.to_string(), format!("received from {name} update=7"));
        let map = client.to_map().unwrap();
        let pairs: Vec<(String, u64, String)> = map
            .iter()
            .map(|m| {
                (
                    m.key().into(),
                    m.sequence(),
                    String::from_utf8_lossy(m.body()).into(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [("/b".into(), 5, "2".into()), ("/c".into(), 6, "3".into())]
        );
        assert_eq!(value(&mut client, "/a"), None);
        assert_eq!(value(&mut client, HUGZ), None);
    }

    #[test]
    fn keeps_to_its_subtree() {
        let ctx = zmq::Context::new();
        let server = fake(&ctx, "subtree");
        let mut client = Client::with_config(&ctx, config(WAIT)).unwrap();
        client.set_subtree("/client/").unwrap();
        client.connect(&server.address, 5556).unwrap();
        // A subtree goes with the first request; it cannot change afterwards
        assert_eq!(
            client.set_subtree("/other/").unwrap_err().zmq(),
            Some(zmq::Error::EINVAL)
        );
        // A server that sends more than it was asked for
        let request = server.snapshot(&[kv("/client/a", 1, "1"), kv("/other/b", 2, "2")], 2);
        assert_eq!(request.subtree, "/client/");
        event_where(&client, |e| matches!(e, Event::Snapshot { .. }));
        // The SUB socket takes the subtree and the heartbeats only
        server.subscribed("/client/");
        server.subscribed(HUGZ);
        server.publish(kv("/other/c", 3, "3"));
        server.publish(kv("/client/d", 4, "4"));
        event_where(&client, |e| matches!(e, Event::Update { sequence: 4, .. }));
        let keys: Vec<String> = client
            .to_map()
            .unwrap()
            .iter()
            .map(|m| m.key().to_string())
            .collect();
        assert_eq!(keys, ["/client/a", "/client/d"]);
    }

    #[test]
    fn a_set_goes_out_as_a_kvmsg_with_a_uuid_and_a_ttl_in_seconds() {
        let ctx = zmq::Context::new();
        let server = fake(&ctx, "set");
        let mut client = Client::with_config(&ctx, config(WAIT)).unwrap();
        client.connect(&server.address, 5556).unwrap();
        server.snapshot(&[], 0);
        // (a snapshot replaces the map: one that came after the sets would take them out)
        event_where(&client, |e| matches!(e, Event::Snapshot { .. }));
        // A PUB socket drops what it sends before its peer is connected: set until one arrives
        server.collector.set_rcvtimeo(100).unwrap();
        let deadline = Instant::now() + WAIT;
        let first = loop {
            assert!(Instant::now() < deadline, "no update reached the collector");
            client
                .set("/client/first", "x", Duration::from_millis(2500))
                .unwrap();
            if let Ok(msg) = Msg::recv(&server.collector) {
                break msg;
            }
        };
        let set = KvMsg::parse(first).unwrap();
        assert_eq!(set.key(), "/client/first");
        assert_eq!(set.sequence(), 0);
        assert_eq!(set.prop("ttl"), Some("3"), "2.5 s is 3 whole seconds");
        assert_eq!(set.uuid().unwrap().as_bytes()[6] >> 4, 4);
        assert_eq!(set.body(), b"x");

        server
            .collector
            .set_rcvtimeo(WAIT.as_millis() as i32)
            .unwrap();
        while Msg::try_recv(&server.collector).unwrap().is_some() {}
        client.set("/client/k", "v", Duration::ZERO).unwrap();
        let raw = Msg::recv(&server.collector).unwrap();
        assert_eq!(raw.len(), 5);
        assert!(raw[0] == "/client/k" && raw[1].as_bytes() == [0u8; 8]);
        assert_eq!(raw[2].len(), 16);
        assert!(raw[3] == "ttl=0\n" && raw[4] == "v");
        assert_ne!(
            KvMsg::parse(raw).unwrap().uuid(),
            set.uuid(),
            "every set has its own uuid"
        );
        // and the client's own copy has it at once
        assert_eq!(value(&mut client, "/client/k").as_deref(), Some("v"));
    }

    #[test]
    fn fails_over_to_the_next_server_when_the_current_one_is_silent() {
        let ttl = Duration::from_millis(400);
        let ctx = zmq::Context::new();
        let (primary, backup) = (fake(&ctx, "primary"), fake(&ctx, "backup"));
        let mut client = Client::with_config(&ctx, config(ttl)).unwrap();
        client.connect(&primary.address, 5556).unwrap();
        client.connect(&backup.address, 5556).unwrap();
        primary.snapshot(&[kv("/a", 10, "1")], 10);
        let mut before = Vec::new();
        while !matches!(before.last(), Some(Event::Snapshot { .. })) {
            before.push(client.event_timeout(WAIT).expect("a snapshot"));
        }
        // The first server connected is the first asked, and it was not given up
        let asked: Vec<&Event> = before
            .iter()
            .filter(|e| !matches!(e, Event::ServerAdded { .. }))
            .collect();
        assert!(
            matches!(asked[..], [Event::Waiting { server: a }, Event::Snapshot { server: b, .. }]
                if *a == format!("{}:5556", primary.address) && a == b),
            "{before:?}"
        );

        // HUGZ keep the primary current: the backup hears nothing for several TTLs
        primary.subscribed("");
        backup.router.set_rcvtimeo(50).unwrap();
        let hugging = Instant::now();
        while hugging.elapsed() < ttl * 4 {
            primary.publish(kv(HUGZ, 10, ""));
            assert!(
                Msg::recv(&backup.router).is_err(),
                "the backup was asked for a snapshot while the primary gave HUGZ"
            );
        }

        // Silence: the backup is asked within the TTL (and a margin for a loaded machine)
        let silent = Instant::now();
        backup.router.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
        backup.subscribed("");
        let request = backup.request();
        let after = silent.elapsed();
        assert!(
            after >= ttl / 2 && after < ttl + Duration::from_secs(3),
            "asked after {after:?}"
        );
        let primary_name = format!("{}:5556", primary.address);
        let backup_name = format!("{}:5556", backup.address);
        let e = event_where(&client, |e| matches!(e, Event::Silent { .. }));
        assert_eq!(
            e.to_string(),
            format!("server at {primary_name} didn't give HUGZ")
        );
        assert_eq!(
            event_where(&client, |e| matches!(e, Event::Waiting { .. })),
            Event::Waiting {
                server: backup_name.clone()
            }
        );
        // The backup's snapshot replaces the map; its updates apply from its sequence on
        let msgs = [kv("/a", 12, "2"), kv("/b", 11, "3"), snapshot::end(12, "")];
        backup.send_to(&request.client, msgs.iter().map(KvMsg::to_msg));
        assert_eq!(
            event_where(&client, |e| matches!(e, Event::Snapshot { .. })),
            Event::Snapshot {
                server: backup_name.clone(),
                sequence: 12,
                keys: 2
            }
        );
        backup.publish(kv("/b", 12, "old")); // not newer than its snapshot
        backup.publish(kv("/c", 13, "4"));
        event_where(&client, |e| matches!(e, Event::Update { sequence: 13, .. }));
        assert_eq!(value(&mut client, "/a").as_deref(), Some("2"));
        assert_eq!(value(&mut client, "/b").as_deref(), Some("3"));
        assert_eq!(value(&mut client, "/c").as_deref(), Some("4"));
    }

    #[test]
    fn malformed_messages_are_dropped_and_the_client_goes_on() {
        let ctx = zmq::Context::new();
        let server = fake(&ctx, "malformed");
        let mut client = Client::with_config(&ctx, config(WAIT)).unwrap();
        client.connect(&server.address, 5556).unwrap();
        let seq = 1u64.to_be_bytes();
        let big = vec![0xA5u8; 1 << 20];
        let junk = || -> Vec<Msg> {
            [
                &[&b"/x"[..]][..],
                &[b"/x", &seq, b"", b"", b"v", b"extra"],
                &[b"/x", b"1234567", b"", b"", b"v"],
                &[b"/x", &seq, b"123", b"", b"v"],
                &[b"/x", &seq, b"", b"no equals sign", b"v"],
                &[b"\xff\xfe", &seq, b"", b"", b"v"],
                &[&big],
                &[b""],
            ]
            .iter()
            .map(|parts| parts.iter().copied().collect())
            .collect()
        };
        let request = server.request();
        server.send_to(&request.client, junk());
        let rest = [kv("/ok", 1, "1"), snapshot::end(1, "")];
        server.send_to(&request.client, rest.iter().map(KvMsg::to_msg));
        assert_eq!(
            event_where(&client, |e| matches!(e, Event::Snapshot { .. })),
            Event::Snapshot {
                server: format!("{}:5556", server.address),
                sequence: 1,
                keys: 1
            }
        );
        server.subscribed("");
        for msg in junk() {
            msg.send(&server.publisher).unwrap();
        }
        server.publish(kv("/ok2", 2, "2"));
        event_where(&client, |e| matches!(e, Event::Update { sequence: 2, .. }));
        let keys: Vec<String> = client
            .to_map()
            .unwrap()
            .iter()
            .map(|m| m.key().to_string())
            .collect();
        assert_eq!(keys, ["/ok", "/ok2"]);
    }

    #[test]
    fn get_waits_for_the_first_snapshot() {
        let ctx = zmq::Context::new();
        let server = fake(&ctx, "get");
        let mut client = Client::with_config(&ctx, config(WAIT)).unwrap();
        client.connect(&server.address, 5556).unwrap();
        let answering = std::thread::spawn(move || {
            let request = server.request();
            std::thread::sleep(Duration::from_millis(300));
            let msgs = [kv("/k", 1, "v"), snapshot::end(1, "")];
            server.send_to(&request.client, msgs.iter().map(KvMsg::to_msg));
            server
        });
        let asked = Instant::now();
        assert_eq!(value(&mut client, "/k").as_deref(), Some("v"));
        assert!(
            asked.elapsed() >= Duration::from_millis(250),
            "answered before the snapshot"
        );
        drop(answering.join().unwrap());
    }

    #[test]
    fn ttls_round_up_to_whole_seconds() {
        assert_eq!(ttl_seconds(Duration::ZERO), 0);
        assert_eq!(ttl_seconds(Duration::from_millis(1)), 1);
        assert_eq!(ttl_seconds(Duration::from_secs(29)), 29);
        assert_eq!(ttl_seconds(Duration::from_millis(29_001)), 30);
    }
}
