//! The Majordomo Protocol (spec 7/MDP, with the service discovery of spec 8/MMI): a
//! service-oriented broker between clients and workers, from chapter 4 of the guide.
//!
//! - [`protocol`]: the messages as types, parsed from and built into [`Msg`](crate::Msg)s.
//! - [`Broker`]: a broker an application can embed or run (`mdbroker`).

pub mod broker;
pub mod protocol;

pub use broker::{Broker, BrokerConfig};
pub use protocol::{
    client_request, parse_client_reply, BrokerInput, Command, FromWorker, ToWorker, CLIENT,
    MMI_PREFIX, WORKER,
};
