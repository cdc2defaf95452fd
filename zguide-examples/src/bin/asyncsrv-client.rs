//! Asynchronous client/server platform, the client (guide chapter 3, "Asynchronous
//! Client/Server", taken to separate processes): the `asyncsrv` client made reliable.
//!
//! A DEALER with a random `%04X-%04X` identity connects to `asyncsrv-proxy`'s frontend
//! (`tcp://127.0.0.1:8085`) and sends `request #N` every `--interval-ms` (1000), N counting up
//! from 1, without waiting for replies. Each reply, `[request #N][server name]`, is printed as
//! `<client-id> reply #N from <server>`. A request not answered within `--timeout-ms` (2500) is
//! sent again with the same N (`<client-id> no reply to #N within T ms, retrying`), for as long
//! as it takes; a second answer to a request that was answered already is printed as
//! `<client-id> duplicate reply #N from <server>` and not counted again. With `--requests N` it
//! stops once N requests are answered; else it runs until Ctrl-C or SIGTERM. Either way it ends
//! with one line, `<client-id> summary: sent S, answered A, retried R, duplicates D, lost L`
//! (L: requests sent and never answered), and exit status 0.
//!
//! Run beside it: `asyncsrv-proxy` and one or more `asyncsrv-server`s, in any order. The
//! socket reconnects every 250 ms (backing off to 1 s) and keeps its identity, so replies find
//! it after a reconnect; requests sent while the connection is down wait in its queue (no
//! ZMQ_IMMEDIATE: there is only one proxy to send to) and go out when it is back; heartbeats
//! notice a proxy that vanished without closing the connection. Requests and replies lost on
//! the way (with a dying server, or on a dead connection) are covered by the retry.
//!
//! Retries back off while nothing is heard. A request is asked again at once only if some reply
//! came after it was sent (the way works: this one was lost). If nothing at all came since, the
//! way itself may be down (a dead wire, no proxy): then the oldest such request alone is sent
//! again, as a probe, and the others wait with it; the wait doubles with each probe, up to
//! 8 x `--timeout-ms`. The first reply after that ends the back-off: the requests that waited
//! get one more `--timeout-ms` (those queued during the outage are answered then) and the rest
//! are asked again. Resending every request each timeout instead piles copies into the queue of
//! a dead connection, and each copy is answered once the connection is back: after a 15 s
//! outage, 40 requests had drawn 398 resends and well over a hundred duplicate replies.

use std::collections::BTreeMap;

use clap::Parser;
use zmq_patterns::{Msg, Poller, SocketExt, clock, random_identity};

#[derive(Parser)]
#[command(about = "Asynchronous client/server platform: a DEALER client that retries")]
struct Args {
    /// Endpoint of the proxy's frontend.
    #[arg(long, default_value = "tcp://127.0.0.1:8085")]
    connect: String,
    /// Pause between new requests, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: i64,
    /// How long to wait for a reply before sending the request again, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    timeout_ms: i64,
    /// Stop once this many requests are answered (default: run until Ctrl-C).
    #[arg(long)]
    requests: Option<u64>,
}

/// What the client has done so far: the summary line.
#[derive(Default)]
struct Counts {
    sent: u64,
    answered: u64,
    retried: u64,
    duplicates: u64,
}

/// While nothing is heard, each probe waits twice as long as the one before, at most this many
/// times `--timeout-ms`.
const MAX_BACKOFF: i64 = 8;

/// A request sent and not answered yet.
struct Pending {
    /// When it was last sent (mono ms).
    sent_at: i64,
    /// When to ask again.
    deadline: i64,
}

/// The requests sent and not answered yet, by sequence number.
type Outstanding = BTreeMap<u64, Pending>;

/// What the client has heard: the ground for resending at once or probing.
struct Hearing {
    /// When the last reply came (or the client started).
    last_heard: i64,
    /// The wait of the next probe: `--timeout-ms` while replies come, doubling while none do.
    backoff: i64,
    /// The request out as a probe while nothing is heard.
    probe: Option<u64>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        let client = ctx.socket(zmq::DEALER)?;
        client.set_linger(0)?;
        client.set_reconnect_ivl(250)?;
        client.set_reconnect_ivl_max(1000)?;
        client.set_heartbeat_ivl(1000)?;
        client.set_heartbeat_timeout(3000)?;
        // A printable identity of our own, kept across reconnects
        let id = random_identity();
        client.set_identity(id.as_bytes())?;
        client.connect_to(&args.connect)?;
        println!("{id} started, connecting to {}", args.connect);

        let mut counts = Counts::default();
        let mut outstanding = Outstanding::new();
        let outcome = run_client(&client, &args, &id, &mut counts, &mut outstanding);
        println!(
            "{id} summary: sent {}, answered {}, retried {}, duplicates {}, lost {}",
            counts.sent,
            counts.answered,
            counts.retried,
            counts.duplicates,
            outstanding.len()
        );
        outcome
    })
}

/// Sends `request #n`; if the queue is full (a long outage) the retry sends it later.
fn send_request(client: &zmq::Socket, n: u64) {
    if let Err(e) = Msg::from_iter([format!("request #{n}")]).try_send(client) {
        log::debug!("request #{n} not sent now: {}", e.error);
    }
}

fn run_client(
    client: &zmq::Socket,
    args: &Args,
    id: &str,
    counts: &mut Counts,
    outstanding: &mut Outstanding,
) -> anyhow::Result<()> {
    let mut poller = Poller::new();
    poller.add(client);
    let mut next_send = clock::mono_ms();
    let mut hearing = Hearing {
        last_heard: next_send,
        backoff: args.timeout_ms,
        probe: None,
    };
    loop {
        let now = clock::mono_ms();
        let more_to_send = args.requests.is_none_or(|r| counts.sent < r);
        if more_to_send && now >= next_send {
            counts.sent += 1;
            send_request(client, counts.sent);
            outstanding.insert(
                counts.sent,
                Pending {
                    sent_at: now,
                    deadline: now + args.timeout_ms,
                },
            );
            next_send = now + args.interval_ms;
        }
        retry_overdue(client, args, id, counts, outstanding, &mut hearing, now);
        if args.requests.is_some_and(|r| counts.answered >= r) {
            return Ok(());
        }

        // Wait for replies until the next thing to do
        let next_deadline = outstanding.values().map(|p| p.deadline).min();
        let wake = match (more_to_send, next_deadline) {
            (true, Some(d)) => d.min(next_send),
            (true, None) => next_send,
            (false, Some(d)) => d,
            (false, None) => now + args.timeout_ms,
        };
        if poller.poll(Some(clock::until(wake)))? == 0 {
            continue;
        }
        while let Some(mut reply) = Msg::try_recv(client)? {
            // [request #N][server name]
            let (Some(body), Some(server), None) = (
                reply.pop_front_str(),
                reply.pop_front_str(),
                reply.pop_front(),
            ) else {
                log::warn!("malformed reply dropped");
                continue;
            };
            let Some(n) = body
                .strip_prefix("request #")
                .and_then(|n| n.parse::<u64>().ok())
            else {
                log::warn!("reply to an unknown request dropped: {body:?}");
                continue;
            };
            if n == 0 || n > counts.sent {
                log::warn!("reply to a request never sent dropped: #{n}");
                continue;
            }
            heard(args, outstanding, &mut hearing, clock::mono_ms());
            if outstanding.remove(&n).is_some() {
                counts.answered += 1;
                println!("{id} reply #{n} from {server}");
            } else {
                counts.duplicates += 1;
                println!("{id} duplicate reply #{n} from {server}");
            }
        }
    }
}

/// Asks again for the requests whose reply is overdue: at once for those sent before the last
/// reply came; for those sent since, while nothing is heard, one probe at a time, each waiting
/// twice as long as the one before.
fn retry_overdue(
    client: &zmq::Socket,
    args: &Args,
    id: &str,
    counts: &mut Counts,
    outstanding: &mut Outstanding,
    hearing: &mut Hearing,
    now: i64,
) {
    // While a probe is out, the requests that have not been heard of wait with it
    let probe_deadline = hearing
        .probe
        .and_then(|n| outstanding.get(&n))
        .map(|p| p.deadline)
        .filter(|&d| d > now);
    let mut probe = None;
    for (&n, p) in outstanding.iter_mut() {
        if p.deadline > now {
            continue;
        }
        if p.sent_at < hearing.last_heard {
            // Replies came after it went: the way works, this one was lost
            println!(
                "{id} no reply to #{n} within {} ms, retrying",
                p.deadline - p.sent_at
            );
            send_request(client, n);
            counts.retried += 1;
            *p = Pending {
                sent_at: now,
                deadline: now + args.timeout_ms,
            };
        } else if let Some(deadline) = probe_deadline {
            p.deadline = deadline;
        } else if probe.is_none() {
            probe = Some(n);
        }
    }
    // Nothing heard since these went, and no probe out: the oldest goes again as the probe
    let Some(n) = probe else { return };
    let waited = {
        let p = &outstanding[&n];
        p.deadline - p.sent_at
    };
    hearing.backoff = (hearing.backoff * 2).min(args.timeout_ms * MAX_BACKOFF);
    hearing.probe = Some(n);
    let deadline = now + hearing.backoff;
    log::info!(
        "nothing heard for {} ms: asking again with #{n} only, next try in {} ms",
        now - hearing.last_heard,
        hearing.backoff
    );
    println!("{id} no reply to #{n} within {waited} ms, retrying");
    send_request(client, n);
    counts.retried += 1;
    for (&m, p) in outstanding.iter_mut() {
        if m == n {
            *p = Pending {
                sent_at: now,
                deadline,
            };
        } else if p.deadline <= now {
            p.deadline = deadline;
        }
    }
}

/// A reply came: the way works. After a silence, the requests that waited for the probe get
/// one more `--timeout-ms` (the queued ones come now), then are asked again.
fn heard(args: &Args, outstanding: &mut Outstanding, hearing: &mut Hearing, now: i64) {
    if hearing.backoff > args.timeout_ms {
        log::info!(
            "heard again after {} ms: back-off ends",
            now - hearing.last_heard
        );
        hearing.backoff = args.timeout_ms;
        hearing.probe = None;
        for p in outstanding.values_mut() {
            p.deadline = p.deadline.min(now + args.timeout_ms);
        }
    }
    hearing.last_heard = now;
}
