//! UDP discovery (guide chapter 8, "Cooperative Discovery Using UDP Broadcasts"): [`Udp`], a
//! broadcast socket on an interface it picks and names ([`Interface`]), which programs poll
//! beside their ZeroMQ sockets; and on it [`Presence`], the guide's `interface`: nodes that
//! beacon a random identity and hear who joins and who leaves.
//!
//! The guide's own nodes disagree on the presence beacon: `interface.c` sends the identity as
//! 16 raw bytes, `interface.py` as 32 hexadecimal characters (the C hears the Python one only
//! because it reads the first 16 bytes). [`Presence`] sends the C form and accepts both
//! ([`parse_beacon`]).
//!
//! Tests and examples never broadcast on a real network: they use the loopback interface
//! (`Udp::bind_to(port, Some("lo"))`) or test hosts in network namespaces.

mod presence;
mod udp;

pub use presence::{node_id_hex, parse_beacon, NodeId, Presence, PresenceConfig};
pub use udp::{Interface, Udp};
