//! The Majordomo Protocol (spec 7/MDP, with the service discovery of spec 8/MMI): a
//! service-oriented broker between clients and workers, from chapter 4 of the guide.
//!
//! - [`protocol`]: the messages as types, parsed from and built into [`Msg`](crate::Msg)s.
//! - [`Broker`]: a broker an application can embed or run (`mdbroker`).
//! - [`Client`] (`mdcliapi`, synchronous, timeout and retries) and [`AsyncClient`]
//!   (`mdcliapi2`, many requests in flight).
//! - [`Worker`] (`mdwrkapi`): heartbeats both ways, reconnects when the broker goes silent.
//!
//! ```
//! use std::time::Duration;
//! use zmq_patterns::{mdp, Msg};
//! let ctx = zmq::Context::new();
//! let mut broker = mdp::Broker::new(&ctx, Default::default()).unwrap();
//! broker.bind("tcp://127.0.0.1:*").unwrap();
//! let endpoint = broker.socket().get_last_endpoint().unwrap().unwrap();
//! let ctx2 = ctx.clone();
//! let ep = endpoint.clone();
//! std::thread::spawn(move || -> zmq_patterns::Result<()> {
//!     let mut worker = mdp::Worker::new(&ctx2, &ep, "echo")?;
//!     let mut reply = None;
//!     loop {
//!         reply = Some(worker.recv(reply.take())?);
//!     }
//! });
//! let client_thread = std::thread::spawn(move || {
//!     let ctx = zmq::Context::new();
//!     let mut client = mdp::Client::new(&ctx, &endpoint).unwrap();
//!     client.send("echo", Msg::from_iter(["Hello world"])).unwrap()
//! });
//! // run the broker by hand until the client has its reply
//! while !client_thread.is_finished() {
//!     let mut poller = zmq_patterns::Poller::new();
//!     poller.add(broker.socket());
//!     if poller.poll(Some(Duration::from_millis(10))).unwrap() > 0 {
//!         let msg = Msg::recv(broker.socket()).unwrap();
//!         broker.handle(msg).unwrap();
//!     }
//!     broker.tick().unwrap();
//! }
//! assert!(client_thread.join().unwrap()[0] == "Hello world");
//! ```

pub mod broker;
pub mod client;
mod key;
pub mod protocol;
pub mod worker;

pub use broker::{Broker, BrokerConfig};
pub use client::{AsyncClient, Client};
pub use protocol::{
    BrokerInput, CLIENT, Command, FromWorker, MMI_PREFIX, ToWorker, WORKER, client_request,
    parse_client_reply,
};
pub use worker::{Worker, WorkerConfig};
