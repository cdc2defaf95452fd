//! Clone: the server side of the guide's reliable key-value store (chapter 5, "Reliable
//! Pub-Sub", Clone models five and six; spec 12/CHP): [`Store`], the map, sequence numbers,
//! ephemeral values and the passive server's pending list.
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

mod store;
pub use store::{parse_ttl, ttl, PendingLimits, Refused, Store, TTL};
