//! The command line shared by `bstarsrv` and `bstarsrv2`: which server of the Binary Star pair
//! this is (`-p` or `-b`, as the guide runs them), and its endpoints, whose defaults depend on
//! that choice as in the C originals.

use std::time::Duration;

use zmq_patterns::bstar::Role;

/// Largest client request the example servers echo, in bytes; the guide's requests are
/// sequence numbers. libzmq drops a client that sends more.
pub const MAX_REQUEST: i64 = 64 * 1024;

/// `-p` or `-b`, endpoints and heartbeat.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("role").required(true).args(["primary", "backup"])))]
pub struct PairArgs {
    /// Run as the primary server: clients at tcp://*:5001, state out at tcp://*:5003, the
    /// backup's state from tcp://localhost:5004.
    #[arg(short, long)]
    pub primary: bool,
    /// Run as the backup server: clients at tcp://*:5002, state out at tcp://*:5004, the
    /// primary's state from tcp://localhost:5003.
    #[arg(short, long)]
    pub backup: bool,
    /// Where clients connect (default: tcp://*:5001 for -p, tcp://*:5002 for -b).
    #[arg(long)]
    pub frontend: Option<String>,
    /// Where this server publishes its state (default: tcp://*:5003 for -p, tcp://*:5004 for -b).
    #[arg(long)]
    pub statepub: Option<String>,
    /// Where the peer publishes its state (default: tcp://localhost:5004 for -p,
    /// tcp://localhost:5003 for -b).
    #[arg(long)]
    pub statesub: Option<String>,
    /// How often each server sends its state, in milliseconds; the peer is gone after twice
    /// this. Both servers must use the same.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub heartbeat_ms: u64,
}

/// A server's role and endpoints, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Primary or backup.
    pub role: Role,
    /// The clients' endpoint (bound).
    pub frontend: String,
    /// This server's state publisher (bound).
    pub statepub: String,
    /// The peer's state publisher (connected).
    pub statesub: String,
    /// The heartbeat.
    pub heartbeat: Duration,
}

impl PairArgs {
    /// The role and endpoints, with the guide's defaults for the role.
    pub fn pair(&self) -> Pair {
        let (role, frontend, statepub, statesub) = if self.primary {
            (
                Role::Primary,
                "tcp://*:5001",
                "tcp://*:5003",
                "tcp://localhost:5004",
            )
        } else {
            (
                Role::Backup,
                "tcp://*:5002",
                "tcp://*:5004",
                "tcp://localhost:5003",
            )
        };
        Pair {
            role,
            frontend: self.frontend.clone().unwrap_or_else(|| frontend.into()),
            statepub: self.statepub.clone().unwrap_or_else(|| statepub.into()),
            statesub: self.statesub.clone().unwrap_or_else(|| statesub.into()),
            heartbeat: Duration::from_millis(self.heartbeat_ms),
        }
    }
}

impl Pair {
    /// The guide's start-up line: `I: Primary active, waiting for backup (passive)` or
    /// `I: Backup passive, waiting for primary (active)`.
    pub fn banner(&self) -> &'static str {
        match self.role {
            Role::Primary => "I: Primary active, waiting for backup (passive)",
            Role::Backup => "I: Backup passive, waiting for primary (active)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        pair: PairArgs,
    }

    #[test]
    fn the_role_picks_the_guides_endpoints() {
        let p = Cli::try_parse_from(["bstarsrv", "-p"]).unwrap().pair.pair();
        assert_eq!(
            (p.role, &*p.frontend, &*p.statepub, &*p.statesub),
            (
                Role::Primary,
                "tcp://*:5001",
                "tcp://*:5003",
                "tcp://localhost:5004"
            )
        );
        let b = Cli::try_parse_from(["bstarsrv", "-b", "--frontend", "tcp://*:7"])
            .unwrap()
            .pair
            .pair();
        assert_eq!(
            (b.role, &*b.frontend, &*b.statepub, &*b.statesub),
            (
                Role::Backup,
                "tcp://*:7",
                "tcp://*:5004",
                "tcp://localhost:5003"
            )
        );
        assert!(Cli::try_parse_from(["bstarsrv"]).is_err());
        assert!(Cli::try_parse_from(["bstarsrv", "-p", "-b"]).is_err());
    }
}
