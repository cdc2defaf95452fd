//! Binary Star (chapter 4 of the guide): a primary and a backup server in a high-availability
//! pair. One of them, the active, serves clients; the passive one takes over when the active
//! has gone silent and a client asks it to (a client's request is its "vote"), so that a pair
//! cut in two by the network does not end with two active servers as long as clients still
//! reach the active one.
//!
//! - [`Fsm`]: the state machine alone, with no sockets and no clock, each transition tested.
//!   The pair's state exchange is one text frame per heartbeat, [`State::as_wire`] /
//!   [`State::parse`].
//! - [`Server`]: a server of the pair on the [`Reactor`](crate::reactor::Reactor) (the guide's
//!   `bstar` class): state publisher and subscriber, a voter socket whose requests the
//!   application serves, a hook on each change of state.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use zmq_patterns::bstar::{Event, Fsm, Role, State};
//! let now = Instant::now();
//! let mut primary = Fsm::new(Role::Primary, Duration::from_secs(1), now);
//! let mut backup = Fsm::new(Role::Backup, Duration::from_secs(1), now);
//! // each publishes its state to the other every heartbeat
//! primary.handle(Event::Peer(backup.state()), now).unwrap();
//! backup.handle(Event::Peer(primary.state()), now).unwrap();
//! assert_eq!((primary.state(), backup.state()), (State::Active, State::Passive));
//! ```

mod fsm;
mod server;

pub use fsm::{Change, Event, Fsm, Refusal, Role, State};
pub use server::{DEFAULT_HEARTBEAT, Server};
