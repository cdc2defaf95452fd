//! A thin, safe, typed layer over the [`zmq`] crate, with what CZMQ adds for C and the ZeroMQ
//! guide's patterns as reusable building blocks.
//!
//! It never hides `zmq`: everything works on plain [`zmq::Socket`]s and [`zmq::Context`]s, and
//! `zmq` itself is re-exported ([`zmq_patterns::zmq`](zmq)) so that your code uses the same
//! version. Add it to an existing rust-zmq project and use only the parts you want.
//!
//! | here | CZMQ / guide | what it is |
//! |---|---|---|
//! | [`Frame`] | `zframe` | one message part, owning its `zmq::Message` (no copies) |
//! | [`Msg`] | `zmsg`, `s_dump` | a multipart message: `push_front`/`pop_front` ..., ROUTER envelopes, send/recv, `s_dump` display |
//! | [`SocketExt`] | `zstr`, `s_send`, `s_recv`, `s_set_id` | text and identity helpers on `zmq::Socket` |
//! | [`Poller`] | `zpoller`, `zmq_poll` | wait on sockets and fds, say which are ready |
//! | [`Actor`] | `zactor`, `zthread_fork` | a thread with a PAIR pipe, ready handshake, clean stop |
//! | [`reactor::Reactor`] | `zloop` | readers and timers in one loop; handlers may add/remove/reset |
//! | [`heartbeat`] | `ppqueue`/`ppworker` logic | Paranoid Pirate liveness, back-off, LRU ready queue with expiry |
//! | [`bstar`] | `bstar`, `bstarsrv` | Binary Star: the high-availability pair's state machine |
//! | [`freelance`] | `flcliapi`, `flserver3` | Freelance: brokerless failover over a pool of servers (spec 10/FLP) |
//! | [`mdp`] | `mdbroker`, `mdcliapi`, `mdwrkapi` | Majordomo: typed protocol, embeddable broker, clients, worker |
//! | [`titanic`] | `titanic` | durable request-reply: validated UUIDs, an atomic disk store, the three services |
//! | [`kvmsg`] | `kvsimple`, `kvmsg`, `clonesrv2` | Clone: key-value messages, a bounded map, the snapshot exchange (spec 12/CHP) |
//! | [`clone`] | `clone`, `clonesrv5`, `clonesrv6`, `clonecli6` | Clone: the client agent (snapshot, updates, `set`/`get`, failover between two servers) and the servers' state (sequence numbers, TTL expiry that publishes deletes, the passive server's pending list) |
//! | [`credit`] | `fileio3` | credit-based flow control: chunked transfers of any size in bounded memory |
//! | [`beacon`] | `udplib`, `zbeacon` | UDP discovery: a broadcast socket on an interface it picks and names, a beacon actor, presence (JOINED/LEFT) |
//! | [`auth`] | `zauth`, ThreadAuthenticator | a ZAP handler (spec 27/ZAP): address lists, PLAIN passwords, CURVE certificates, per domain |
//! | [`cert`] | `zcert`, `zcertstore` | Z85 CURVE keys, certificates in CZMQ's file format, a directory store that notices changes |
//! | [`Proxy`] | `zmq_proxy_steerable`, `zproxy` | frontend/backend forwarding, capture, control |
//! | [`interrupt`] | `s_catch_signals`, `zsys_interrupted` | opt-in Ctrl-C handling that wakes blocked calls |
//! | [`clock`] | `zclock`, `s_clock`, `s_sleep` | ms clocks, interruptible sleep, timestamped lines |
//!
//! ```
//! use zmq_patterns::{Msg, SocketExt};
//!
//! let ctx = zmq::Context::new();
//! let server = ctx.socket(zmq::ROUTER).unwrap();
//! server.bind("inproc://lib-doc").unwrap();
//! let client = ctx.socket(zmq::REQ).unwrap();
//! client.connect("inproc://lib-doc").unwrap();
//!
//! client.send_text("Hello").unwrap();
//! let mut request = Msg::recv(&server).unwrap(); // [identity][""][Hello]
//! let address = request.pop_envelope().expect("an address");
//! let mut reply = Msg::from_iter(["World"]);
//! reply.push_envelope(address);
//! reply.send(&server).unwrap();
//! assert_eq!(client.recv_text().unwrap(), "World");
//! ```
//!
//! # Shutting down
//! A `zmq::Socket` keeps its context alive, and libzmq's default linger is infinite: a socket
//! with unsent messages makes the context's termination wait for ever. Close (drop) sockets
//! before the context, set a finite linger (`set_linger(0)`) on sockets that may hold messages
//! for a peer that is gone, and end threads' loops on [`Error::is_shutdown`]. Sockets this
//! crate creates (actor pipes) have a linger of 0.
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]
// A failed send hands the message back by value: no allocation or copy on the error path, and
// a large `Err` costs nothing on the `Ok` path. Protocol enums carry their frames inline for the
// same reason (boxing would allocate once per message).
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

pub use zmq;

pub mod actor;
pub mod auth;
pub mod beacon;
pub mod bstar;
pub mod cert;
pub mod clock;
pub mod clone;
pub mod credit;
mod error;
mod frame;
pub mod freelance;
pub mod heartbeat;
pub mod interrupt;
pub mod kvmsg;
pub mod mdp;
mod msg;
mod poller;
mod proxy;
mod raw;
pub mod reactor;
mod socket;
mod stop;
#[cfg(test)]
mod test_log;
mod ticket_queue;
pub mod titanic;

pub use actor::{Actor, ActorPipe};
pub use error::{EndpointAction, EndpointReason, Error, Result, SendError};
pub use frame::Frame;
pub use msg::{Iter as MsgIter, Msg};
pub use poller::Poller;
pub use proxy::{Proxy, ProxyStats, SocketStats};
pub use socket::{SocketExt, random_identity};
pub use stop::StopHandle;
