//! The Clone pattern (guide chapter 5, "Reliable Pub-Sub", models five and six; spec 12/CHP): a
//! key-value map replicated from a pair of servers to many clients.
//!
//! | here | guide | what it is |
//! |---|---|---|
//! | [`Client`] | `clone` (`clone.c`, `clonecli6`) | the client agent: snapshot, updates, `set`/`get`, failover between two servers |
//! | [`Store`] | `clonesrv5`, `clonesrv6` | the server's state: the map, sequence numbers, ephemeral values, the passive server's pending list |
//!
//! ```
//! use std::time::{Duration, Instant};
//! use zmq_patterns::clone::Store;
//! use zmq_patterns::kvmsg::KvMsg;
//! let t0 = Instant::now();
//! let mut store = Store::default();
//! let mut update = KvMsg::new("/client/42", 0, "hello").unwrap();
//! update.set_prop("ttl", "1").unwrap();
//! assert_eq!(store.publish(update, t0).unwrap().sequence(), 1);
//! assert_eq!(store.expire(t0 + Duration::from_secs(1)).len(), 1);
//! ```

mod client;
mod store;

pub use client::{Client, ClientConfig, Event};
pub use store::{PendingLimits, Refused, Store, TTL, parse_ttl, ttl};
