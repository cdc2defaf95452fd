//! The Freelance pattern (spec 10/FLP): brokerless reliable request-reply between many clients
//! and a few interchangeable servers, from chapter 4 of the guide ("Brokerless Reliability").
//!
//! - [`protocol`]: the messages as types ([`ServerInput`], [`FromServer`]) and builders.
//! - [`Client`] (`flcliapi`): an actor that pings the servers, forgets silent ones and fails a
//!   request over to the next server, answering with the reply or [`Error::Timeout`](crate::Error::Timeout).
//! - [`Server`] (`flserver3`): a ROUTER whose identity is its public endpoint; it answers pings
//!   and drops malformed messages, handing over requests.
//!
//! ```
//! use zmq_patterns::freelance::{Client, Server};
//! use zmq_patterns::Msg;
//! let ctx = zmq::Context::new();
//! let server = Server::bind(&ctx, "inproc://flp-doc", "inproc://flp-doc").unwrap();
//! std::thread::spawn(move || -> zmq_patterns::Result<()> {
//!     loop {
//!         let request = server.recv()?;
//!         server.reply(request, Msg::from_iter(["OK"]))?;
//!     }
//! });
//! let mut client = Client::new(&ctx).unwrap();
//! client.connect("inproc://flp-doc").unwrap();
//! assert!(client.request(Msg::from_iter(["random name"])).unwrap()[0] == "OK");
//! ```

pub mod client;
pub mod protocol;
pub mod server;

pub use client::{Client, ClientConfig};
pub use protocol::{FromServer, PING, PONG, Request, ServerInput, ping, pong, request};
pub use server::Server;
