//! UDP discovery (guide chapter 8, "Cooperative Discovery Using UDP Broadcasts"): [`Udp`], a
//! broadcast socket on an interface it picks and names ([`Interface`]), which programs poll
//! beside their ZeroMQ sockets.
//!
//! Tests and examples never broadcast on a real network: they use the loopback interface
//! (`Udp::bind_to(port, Some("lo"))`) or test hosts in network namespaces.

mod udp;

pub use udp::{Interface, Udp};
