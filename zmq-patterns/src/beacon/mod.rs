//! UDP discovery (guide chapter 8, "Cooperative Discovery Using UDP Broadcasts"): [`Udp`], a
//! broadcast socket on an interface it picks and names ([`Interface`]), which programs poll
//! beside their ZeroMQ sockets (the guide's `udplib`); on it [`Beacon`], CZMQ's `zbeacon`, an
//! actor that broadcasts a payload at an interval and hears the others' beacons through a
//! filter; and on that [`Presence`], the guide's `interface`: nodes that beacon a random
//! identity and hear who joins and who leaves.
//!
//! The guide's own nodes disagree on the presence beacon: `interface.c` sends the identity as
//! 16 raw bytes, `interface.py` as 32 hexadecimal characters (the C hears the Python one only
//! because it reads the first 16 bytes). [`Presence`] sends the C form and accepts both
//! ([`parse_beacon`]).
//!
//! Tests and examples never broadcast on a real network: they use the loopback interface
//! (`Udp::bind_to(port, Some("lo"))`) or test hosts in network namespaces.

mod actor;
mod presence;
mod udp;

pub use actor::{Beacon, Heard, PAYLOAD_MAX};
pub use presence::{NodeId, Presence, PresenceConfig, node_id_hex, parse_beacon};
pub use udp::{Interface, Udp};
