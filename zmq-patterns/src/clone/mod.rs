//! The Clone pattern, model six (guide chapter 5, "Reliable Pub-Sub"; spec 12/CHP): a
//! key-value map replicated from a pair of servers to many clients.
//!
//! | here | guide | what it is |
//! |---|---|---|
//! | [`Client`] | `clone` (`clone.c`, `clonecli6`) | the client agent: snapshot, updates, `set`/`get`, failover between two servers |

mod client;

pub use client::{Client, ClientConfig, Event};
