//! Clone server, Model Six (guide chapter 5, "Adding the Binary Star Pattern for Reliability"):
//! Model Five's server as one of a Binary Star pair, so that clients fail over to the backup
//! when the primary dies (spec 12/CHP).
//!
//! Run `clonesrv6 -p` and `clonesrv6 -b`. The pair exchanges states on `tcp://*:5003` and
//! `tcp://*:5004` (`--statepub`, `--statesub`); the primary serves snapshots on a ROUTER at
//! `tcp://*:5556` (`--snapshot`, the Binary Star voter), publishes on `tcp://*:5557`
//! (`--publisher`) and collects on a SUB socket at `tcp://*:5558` (`--collector`); the backup
//! uses 5566, 5567 and 5568. Clients publish each update to both collectors.
//! - The active server numbers, stores and republishes each update (`I: publishing
//!   update=N`), answers snapshots (`I: sending shapshot=N`), deletes expired values once a
//!   second (`--flush-ms`, `I: publishing delete=N`), and publishes `HUGZ` every heartbeat.
//! - The passive server subscribes to the active one (`--peer-publisher`): at the first message
//!   it asks the peer for a snapshot (`--peer-snapshot`; `I: asking for snapshot from: ...`,
//!   `I: received snapshot=N`), then applies each update (`I: received update=N`). The updates
//!   it collects from clients wait on its pending list until the active server publishes the
//!   same one (same UUID); when it takes over it publishes those still pending
//!   (`I: publishing pending=N`).
//! - Binary Star's state changes are printed as `bstarsrv2` prints them (`I: connected to
//!   backup (passive), ready active`); `-v` logs the rest. `--dump` prints the map on Ctrl-C.
//!   The state is `zmq_patterns::clone::Store`, the pair `zmq_patterns::bstar::Server`.
//!
//! Run beside it: the other server of the pair, and `clonecli6` ×N.
//!
//! Differs from the C original:
//! - an update held on the pending list expires by its TTL: one whose time ran out before the
//!   take-over is not published, the others keep their deadline (zguide #897: the C published
//!   them with a `ttl` in seconds that its flush then read as an absolute time); a `ttl` of 0
//!   never expires (zguide #425);
//! - an update the active server published before the client's own copy reached this server is
//!   remembered by UUID and not applied a second time after a take-over; an update without a
//!   UUID cannot be matched, so the passive server does not hold it (logged);
//! - only the active server deletes expired values (the C's passive server ran its flush too,
//!   numbering deletes that then made it ignore the active server's updates);
//! - the snapshot from the peer has a deadline (`--timeout-ms`, 5 s: it is asked again at the
//!   next message), where the C waited for ever; a malformed update, request or snapshot pair is
//!   logged and dropped; `KTHXBAI` carries the subtree, and the maps are bounded (`--max-keys`,
//!   `--max-bytes`, `--max-pending`).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use clap::Parser;
use zguide_examples::clone_model::{self, MapArgs};
use zguide_examples::console;
use zmq_patterns::bstar::{Role, Server, State};
use zmq_patterns::clone::{PendingLimits, Refused, Store};
use zmq_patterns::kvmsg::{KvMap, KvMsg, SnapshotRequest, snapshot};
use zmq_patterns::reactor::{Flow, Reactor, ReaderId};
use zmq_patterns::{Msg, SocketExt};

#[derive(Parser)]
#[command(about = "Clone server, Model Six: a Binary Star pair (-p or -b)")]
#[command(group(clap::ArgGroup::new("role").required(true).args(["primary", "backup"])))]
struct Args {
    /// Run as the primary: snapshots at tcp://*:5556, updates out at tcp://*:5557, collector
    /// at tcp://*:5558, state out at tcp://*:5003; the backup at 5566, 5567 and 5004.
    #[arg(short, long)]
    primary: bool,
    /// Run as the backup: snapshots at tcp://*:5566, updates out at tcp://*:5567, collector
    /// at tcp://*:5568, state out at tcp://*:5004; the primary at 5556, 5557 and 5003.
    #[arg(short, long)]
    backup: bool,
    /// Where this server publishes its Binary Star state (default tcp://*:5003 for -p,
    /// tcp://*:5004 for -b).
    #[arg(long)]
    statepub: Option<String>,
    /// Where the peer publishes its state (default tcp://localhost:5004 for -p,
    /// tcp://localhost:5003 for -b).
    #[arg(long)]
    statesub: Option<String>,
    /// The ROUTER snapshot socket, the Binary Star voter (default tcp://*:5556 for -p,
    /// tcp://*:5566 for -b).
    #[arg(long)]
    snapshot: Option<String>,
    /// The PUB socket (default tcp://*:5557 for -p, tcp://*:5567 for -b).
    #[arg(long)]
    publisher: Option<String>,
    /// The SUB collector socket (default tcp://*:5558 for -p, tcp://*:5568 for -b).
    #[arg(long)]
    collector: Option<String>,
    /// The peer's snapshot socket (default tcp://localhost:5566 for -p, tcp://localhost:5556
    /// for -b).
    #[arg(long)]
    peer_snapshot: Option<String>,
    /// The peer's PUB socket (default tcp://localhost:5567 for -p, tcp://localhost:5557 for
    /// -b).
    #[arg(long)]
    peer_publisher: Option<String>,
    /// Binary Star heartbeat and HUGZ interval, in milliseconds (both servers the same).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_ms: u64,
    /// Time between two flushes of expired values, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    flush_ms: u64,
    /// How long to wait for the peer's snapshot, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(i32).range(1..))]
    timeout_ms: i32,
    /// Most updates held on the pending list.
    #[arg(long, default_value_t = PendingLimits::default().max)]
    max_pending: usize,
    /// Print the map at the end.
    #[arg(long)]
    dump: bool,
    /// Log the library's events to stdout.
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    map: MapArgs,
}

/// The server's state between handlers.
struct Clone6 {
    store: Store,
    active: bool,
    /// Set when the server becomes passive: take a snapshot at the next message from the peer.
    need_snapshot: bool,
    subscriber: Option<ReaderId>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(args.verbose, || {
        let p = args.primary;
        let pick = |flag: &Option<String>, primary: &str, backup: &str| {
            flag.clone()
                .unwrap_or_else(|| (if p { primary } else { backup }).to_string())
        };
        let statepub = pick(&args.statepub, "tcp://*:5003", "tcp://*:5004");
        let statesub = pick(
            &args.statesub,
            "tcp://localhost:5004",
            "tcp://localhost:5003",
        );
        let snapshot_ep = pick(&args.snapshot, "tcp://*:5556", "tcp://*:5566");
        let publisher_ep = pick(&args.publisher, "tcp://*:5557", "tcp://*:5567");
        let collector_ep = pick(&args.collector, "tcp://*:5558", "tcp://*:5568");
        let peer_snapshot = pick(
            &args.peer_snapshot,
            "tcp://localhost:5566",
            "tcp://localhost:5556",
        );
        let peer_publisher = pick(
            &args.peer_publisher,
            "tcp://localhost:5567",
            "tcp://localhost:5557",
        );
        let role = if p { Role::Primary } else { Role::Backup };
        let heartbeat = Duration::from_millis(args.heartbeat_ms);

        let ctx = zmq::Context::new();
        let mut server = Server::new(&ctx, role, &statepub, &statesub)
            .map_err(|e| zguide_examples::flag_hint(e, "--statepub"))?;
        server.set_heartbeat(heartbeat);
        let voter = ctx.socket(zmq::ROUTER)?;
        voter.set_linger(0)?;
        voter.set_sndhwm(args.map.snapshot_hwm())?;
        zguide_examples::bind(&voter, &snapshot_ep, "--snapshot")?;
        server.set_voter(voter)?;
        if p {
            console!("I: primary active, waiting for backup (passive)");
        } else {
            console!("I: backup passive, waiting for primary (active)");
        }

        // Set up our clone server sockets
        let publisher = ctx.socket(zmq::PUB)?;
        publisher.set_linger(1000)?;
        zguide_examples::bind(&publisher, &publisher_ep, "--publisher")?;
        let collector = ctx.socket(zmq::SUB)?;
        collector.set_linger(0)?;
        collector.set_subscribe(b"")?;
        zguide_examples::bind(&collector, &collector_ep, "--collector")?;
        // Our own clone client interface to the peer
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.set_linger(0)?;
        subscriber.set_subscribe(b"")?;
        subscriber.connect_to(&peer_publisher)?;

        let mut app = Clone6 {
            store: Store::new(args.map.limits()).with_pending_limits(PendingLimits {
                max: args.max_pending,
                ..PendingLimits::default()
            }),
            active: false,
            need_snapshot: false,
            subscriber: None,
        };
        let (publisher, collector, subscriber) = (&publisher, &collector, &subscriber);
        let (ctx, peer_snapshot, args) = (&ctx, &peer_snapshot, &args);
        let last_error = RefCell::new(None::<anyhow::Error>);
        let last_error = &last_error;
        let mut reactor: Reactor<'_, Clone6> = Reactor::new();
        server.register(
            &mut reactor,
            // Snapshot requests, when Binary Star lets us serve
            |_, app, voter| {
                let request = match SnapshotRequest::parse(Msg::recv(voter)?) {
                    Ok(request) => request,
                    Err(e) => {
                        log::warn!("snapshot request dropped: {e}");
                        return Ok(Flow::Continue);
                    }
                };
                snapshot::send(voter, &request, app.store.map(), app.store.sequence())?;
                console!("I: sending shapshot={}", app.store.sequence());
                Ok(Flow::Continue)
            },
            move |reactor, app, change| {
                console!("I: {change}");
                match change.to {
                    State::Active => {
                        // Stop subscribing to the peer; apply the pending list
                        app.active = true;
                        app.need_snapshot = false;
                        if let Some(id) = app.subscriber.take() {
                            reactor.remove_reader(id);
                        }
                        let (published, refused) = app.store.take_over(Instant::now());
                        for update in published {
                            let sequence = update.sequence();
                            update.send(publisher).map_err(|e| e.error)?;
                            console!("I: publishing pending={sequence}");
                        }
                        for refused in refused {
                            log::warn!("pending update dropped: {refused}");
                        }
                    }
                    State::Passive => {
                        // Wipe the map, take a new snapshot at the first message of the peer
                        app.active = false;
                        app.store.clear();
                        app.need_snapshot = true;
                        if app.subscriber.is_none() {
                            let id = reactor.add_reader(subscriber, move |_, app: &mut Clone6| {
                                on_peer_update(
                                    app,
                                    ctx,
                                    subscriber,
                                    peer_snapshot,
                                    args.timeout_ms,
                                )
                                .map_err(|e| {
                                    let shutdown = zguide_examples::is_shutdown(&e);
                                    let mapped = zmq_patterns::Error::Actor(format!("{e:#}"));
                                    if shutdown {
                                        zmq_patterns::Error::Interrupted
                                    } else {
                                        *last_error.borrow_mut() = Some(e);
                                        mapped
                                    }
                                })?;
                                Ok(Flow::Continue)
                            });
                            app.subscriber = Some(id);
                        }
                    }
                    _ => {}
                }
                Ok(Flow::Continue)
            },
        )?;

        // Updates from clients: the active server applies them, the passive one holds them
        reactor.add_reader(collector, |_, app| {
            while let Some(msg) = Msg::try_recv(collector)? {
                let update = match KvMsg::parse(msg) {
                    Ok(update) => update,
                    Err(e) => {
                        log::warn!("update dropped: {e}");
                        continue;
                    }
                };
                let key = update.key().to_string();
                let now = Instant::now();
                if app.active {
                    match app.store.publish(update, now) {
                        Ok(update) => {
                            update.send(publisher).map_err(|e| e.error)?;
                            console!("I: publishing update={}", app.store.sequence());
                        }
                        Err(Refused::Duplicate(uuid)) => {
                            log::debug!("update {uuid} of {key} applied already")
                        }
                        Err(refused) => log::warn!("update of {key} dropped: {refused}"),
                    }
                } else if let Err(refused) = app.store.hold(update, now) {
                    log::warn!("update of {key} not held: {refused}");
                }
            }
            Ok(Flow::Continue)
        });
        // Flush expired values (the active server) and expired pending updates
        reactor.add_timer(Duration::from_millis(args.flush_ms), 0, |_, app| {
            let now = Instant::now();
            if app.active {
                for delete in app.store.expire(now) {
                    let sequence = delete.sequence();
                    delete.send(publisher).map_err(|e| e.error)?;
                    console!("I: publishing delete={sequence}");
                }
            } else {
                app.store.expire_pending(now);
            }
            Ok(Flow::Continue)
        });
        // HUGZ, so that clients can tell that we are alive
        reactor.add_timer(heartbeat, 0, |_, app| {
            // HUGZ is a valid key
            if let Ok(hugz) = KvMsg::new("HUGZ", app.store.sequence(), "") {
                hugz.send(publisher).map_err(|e| e.error)?;
            }
            Ok(Flow::Continue)
        });

        let ran = reactor.run(&mut app);
        drop(reactor);
        if let Some(e) = last_error.borrow_mut().take() {
            return Err(e);
        }
        let outcome = match ran {
            Err(zmq_patterns::Error::Bstar(fatal)) => {
                console!("E: {fatal}");
                Err(zmq_patterns::Error::Bstar(fatal).into())
            }
            Err(e) if e.is_shutdown() => Ok(()),
            other => other.map_err(anyhow::Error::from),
        };
        if args.dump {
            clone_model::print_dump(app.store.map());
        }
        outcome
    })
}

/// The passive server's subscriber: takes a snapshot from the peer if it needs one, then
/// applies the peer's update.
fn on_peer_update(
    app: &mut Clone6,
    ctx: &zmq::Context,
    subscriber: &zmq::Socket,
    peer_snapshot: &str,
    timeout_ms: i32,
) -> anyhow::Result<()> {
    if app.need_snapshot {
        let dealer = ctx.socket(zmq::DEALER)?;
        dealer.set_linger(0)?;
        dealer.set_rcvtimeo(timeout_ms)?;
        dealer.connect_to(peer_snapshot)?;
        console!("I: asking for snapshot from: {peer_snapshot}");
        snapshot::request("").send(&dealer)?;
        let mut map = KvMap::new(app.store.map().limits());
        match snapshot::recv(&dealer, &mut map) {
            Ok(sequence) => {
                app.store.load(map, sequence, Instant::now());
                app.need_snapshot = false;
                console!("I: received snapshot={sequence}");
            }
            Err(e) if e.is_timeout() => {
                log::warn!("no snapshot from {peer_snapshot}: asking again at the next update");
            }
            Err(e) => return Err(e.into()),
        }
    }
    while let Some(msg) = Msg::try_recv(subscriber)? {
        let update = match KvMsg::parse(msg) {
            Ok(update) => update,
            Err(e) => {
                log::warn!("update from the peer dropped: {e}");
                continue;
            }
        };
        if update.key() == "HUGZ" || app.need_snapshot {
            continue;
        }
        let key = update.key().to_string();
        match app.store.apply(update, Instant::now()) {
            Ok(true) => console!("I: received update={}", app.store.sequence()),
            Ok(false) => {}
            Err(refused) => log::warn!("update of {key} from the peer dropped: {refused}"),
        }
    }
    Ok(())
}
