//! What the Clone models' binaries share (guide chapter 5, "Reliable Pub-Sub"): the map limits
//! on the command line, random updates, and the `--dump` of a map.

use rand::Rng;
use zmq_patterns::kvmsg::{KeyValue, KvMap, KvSimple, Limits};

/// The bounds of a server's or client's map: `--max-keys`, `--max-bytes`.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct MapArgs {
    /// Most keys the map holds; an update for a new key beyond it is logged and dropped.
    #[arg(long, default_value_t = Limits::default().max_keys)]
    pub max_keys: usize,
    /// Most bytes of keys and values the map holds; an update beyond it is logged and dropped.
    #[arg(long, default_value_t = Limits::default().max_bytes)]
    pub max_bytes: usize,
}

impl MapArgs {
    /// The limits for a [`KvMap`].
    pub fn limits(&self) -> Limits {
        Limits {
            max_keys: self.max_keys,
            max_bytes: self.max_bytes,
        }
    }

    /// An empty map with these limits.
    pub fn map<M: KeyValue>(&self) -> KvMap<M> {
        KvMap::new(self.limits())
    }

    /// A send high-water mark for a snapshot ROUTER socket: room for a whole snapshot (every
    /// key and the `KTHXBAI`), since a ROUTER drops what does not fit.
    pub fn snapshot_hwm(&self) -> i32 {
        i32::try_from(self.max_keys.saturating_add(2)).unwrap_or(i32::MAX)
    }
}

/// The flags of the Clone servers of models three to five: their three endpoints (the guide's
/// ports), `--dump` and the map's bounds.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// Endpoint the ROUTER snapshot socket binds to.
    #[arg(long, default_value = "tcp://*:5556")]
    pub snapshot: String,
    /// Endpoint the PUB socket binds to.
    #[arg(long, default_value = "tcp://*:5557")]
    pub publisher: String,
    /// Endpoint the PULL collector socket binds to.
    #[arg(long, default_value = "tcp://*:5558")]
    pub collector: String,
    /// Print the map at the end.
    #[arg(long)]
    pub dump: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub map: MapArgs,
}

/// The sockets of a Clone server of models three to five, bound.
pub struct ServerSockets {
    /// ROUTER: answers `ICANHAZ?` with snapshots (room for a whole one).
    pub snapshot: zmq::Socket,
    /// PUB: the numbered updates go out here.
    pub publisher: zmq::Socket,
    /// PULL: the clients' updates come in here.
    pub collector: zmq::Socket,
}

impl ServerArgs {
    /// Binds the three sockets and prints the guide's `I: clone server is active: ...` line.
    pub fn bind(&self, ctx: &zmq::Context) -> anyhow::Result<ServerSockets> {
        let snapshot = ctx.socket(zmq::ROUTER)?;
        snapshot.set_linger(0)?;
        snapshot.set_sndhwm(self.map.snapshot_hwm())?;
        crate::bind(&snapshot, &self.snapshot, "--snapshot")?;
        let publisher = ctx.socket(zmq::PUB)?;
        publisher.set_linger(1000)?;
        crate::bind(&publisher, &self.publisher, "--publisher")?;
        let collector = ctx.socket(zmq::PULL)?;
        collector.set_linger(0)?;
        crate::bind(&collector, &self.collector, "--collector")?;
        crate::console!(
            "I: clone server is active: snapshots at {}, updates at {}, collector at {}",
            self.snapshot,
            self.publisher,
            self.collector
        );
        Ok(ServerSockets {
            snapshot,
            publisher,
            collector,
        })
    }
}

/// A random update as the guide's servers and clients make them: key `randof(keys)`, body
/// `randof(1000000)`, both in decimal.
pub fn random_update(rng: &mut impl Rng, keys: u32, sequence: u64) -> KvSimple {
    let key = rng.gen_range(0..keys.max(1)).to_string();
    let body = rng.gen_range(0..1_000_000u32).to_string();
    // A decimal u32 is a valid key
    KvSimple::new(key, sequence, body).unwrap_or_else(|_| unreachable!("a short key"))
}

/// Stores `kv` in `map`; a map that is full logs it (`warn`) and drops it. True if stored.
pub fn store<M: KeyValue>(map: &mut KvMap<M>, kv: M) -> bool {
    match map.store(kv) {
        Ok(_) => true,
        Err(full) => {
            log::warn!("update of {} dropped: {full}", full.msg.key());
            false
        }
    }
}

/// Prints the map, one `kvmsg_dump` line per key in key order (the `--dump` flag).
pub fn print_dump<M: KeyValue>(map: &KvMap<M>) {
    for kv in map.iter() {
        println!("{kv}");
    }
    crate::flush();
}

/// Blocks until Ctrl-C or SIGTERM (returns the interrupt as an error).
pub fn wait_for_interrupt() -> zmq_patterns::Result<()> {
    loop {
        zmq_patterns::clock::sleep(std::time::Duration::from_secs(3600))?;
    }
}

/// Checks a `--subtree` value as a server will: empty (the whole map), or `/` then path
/// segments each ending in `/` (`/client/`), at most 240 bytes so that keys under it fit.
pub fn subtree_arg(value: &str) -> Result<String, String> {
    if value.len() > 240 {
        return Err(format!(
            "a subtree of {} bytes is longer than 240",
            value.len()
        ));
    }
    let probe = zmq_patterns::Msg::from_iter(["client", zmq_patterns::kvmsg::ICANHAZ, value]);
    match zmq_patterns::kvmsg::SnapshotRequest::parse(probe) {
        Ok(request) => Ok(request.subtree),
        Err(_) => Err(format!(
            "{value:?} is not a subtree: empty, or /path/ (segments each ending in /)"
        )),
    }
}
