//! Property tests of every parser of network input, through the public API only:
//!
//! - any frames (0..8 of 0..64 bytes, some drawn from valid prefixes so that the deeper branches
//!   are reached) make every parser return `Ok` or `Err`, never panic, and what a parser accepts
//!   serialises back to the very same frames;
//! - a valid message built from arbitrary fields parses back to those fields;
//! - Binary Star: a state frame parses exactly when it is `"1"` to `"4"`, and any sequence of
//!   events keeps the state machine to its table (no backup serves before it was passive, a
//!   fatal refusal leaves the state as it was);
//! - Titanic: UUIDs are exactly the 32-hex-digit strings, the services answer any request, and
//!   the store gives back the frames it was given (in temporary directories, removed after).
//! - Freelance (spec 10/FLP): any frames make the server's and the client's parsers return `Ok`
//!   or `Err`, what they accept is exactly PING/PONG or a control frame with a body, and a live
//!   `freelance::Server` handed any frames drops or answers them and still serves.
//! - Credit (`fileio3`): any frames make `credit::Fetch::parse` return `Ok` or `Err`; what it accepts
//!   is exactly `["fetch", offset, size]` in canonical decimal with a size from 1 to the maximum and
//!   serialises back to the same frames; a live `credit::Server` drops what does not parse.
//! - Clone (`kvmsg`, spec 12/CHP): any frames make the `KvSimple`, `KvMsg` and snapshot-request
//!   parsers return `Ok` or a protocol error, what they accept serialises back to the same
//!   frames, valid messages round-trip, and a `KvMap` never grows past its limits.
//! - Clone servers (`clone::Store`): any `ttl` value parses exactly when it is decimal seconds
//!   (0 never expires), and any run of updates and expiries numbers each update and delete once,
//!   in order, and leaves no expired key in the map.
//! - Authentication (`auth`, spec 27/ZAP, and `cert`): any frames make the ZAP request and reply
//!   parsers return `Ok` or an error, what they accept builds back to the same frames, valid
//!   requests and replies round-trip, a live `Authenticator` answers anything (400 for what
//!   does not parse) and still serves; any text makes the certificate, Z85 and password
//!   parsers return, never panic, and certificates round-trip through their files' text.
//! - UDP discovery (`beacon`): any datagram makes `parse_beacon` return an identity only for 16
//!   bytes or 32 hexadecimal digits, and both forms of any identity parse back to it.
//!
//! `PROPTEST_CASES` overrides the number of cases (256 here, so that the file runs in seconds).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use zmq_patterns::auth;
use zmq_patterns::beacon;
use zmq_patterns::bstar::{self, Event, Fsm, Refusal, Role};
use zmq_patterns::cert::{Certificate, KeyPair, PublicKey, SecretKey, z85, z85_key};
use zmq_patterns::clone;
use zmq_patterns::credit::{self, Fetch};
use zmq_patterns::freelance::{self, FromServer, ServerInput};
use zmq_patterns::heartbeat::ReadyQueue;
use zmq_patterns::kvmsg::{self, KEY_MAX, KvMap, KvMsg, KvSimple, Limits, SnapshotRequest};
use zmq_patterns::mdp::{
    self, BrokerInput, Command, FromWorker, ToWorker, client_request, parse_client_reply,
};
use zmq_patterns::titanic::{self, ReplyStatus, Store, Uuid};
use zmq_patterns::{Frame, Msg, ProxyStats};

/// The case count for every property; no failure files are written into the source tree.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Any bytes, 0..64 of them.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..64)
}

/// 32 hex digits, either case.
fn uuid_text() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{32}"
}

/// A frame that is often one a parser looks for: a delimiter, a header, a command byte, an
/// address or service name the broker may have seen before, a UUID, else any bytes.
fn likely_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(b"MDPW01".to_vec()),
        Just(b"MDPC01".to_vec()),
        (0u8..=6).prop_map(|b| vec![b]),
        prop::sample::select(vec!["W1", "W2", "C1", "echo", "mmi.service", "mmi.x"])
            .prop_map(|s| s.as_bytes().to_vec()),
        uuid_text().prop_map(String::into_bytes),
        (0u64..4).prop_map(|n| n.to_ne_bytes().to_vec()),
        bytes(),
    ]
}

/// 0..8 frames: any bytes, frames biased towards valid prefixes, or a valid message with a few
/// frames cut, dropped, replaced or added.
fn frames() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        1 => vec(bytes(), 0..8),
        1 => vec(likely_frame(), 0..8),
        2 => near_valid(),
    ]
}

/// A valid message as one of the parsers receives it.
fn valid_wire() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        // worker to broker, after the ROUTER's address
        (likely_frame(), from_worker()).prop_map(|(sender, w)| {
            let mut m = w.into_msg();
            m.push_front(sender);
            to_vecs(&m)
        }),
        // broker to worker, as the worker's DEALER receives it
        to_worker().prop_map(|t| {
            let mut m = t.into_msg(Frame::from("W1"));
            m.pop_front();
            to_vecs(&m)
        }),
        // client to broker, after the ROUTER's address
        (likely_frame(), likely_frame(), vec(bytes(), 0..4)).prop_map(|(sender, service, body)| {
            let mut m = client_request(&service[..], msg(&body));
            m.push_envelope(&sender[..]);
            to_vecs(&m)
        }),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(prop::sample::Index),
    Drop(prop::sample::Index),
    Replace(prop::sample::Index, Vec<u8>),
    Insert(prop::sample::Index, Vec<u8>),
}

fn near_valid() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let index = any::<prop::sample::Index>;
    let mutation = prop_oneof![
        index().prop_map(Mutation::Truncate),
        index().prop_map(Mutation::Drop),
        (index(), likely_frame()).prop_map(|(i, f)| Mutation::Replace(i, f)),
        (index(), likely_frame()).prop_map(|(i, f)| Mutation::Insert(i, f)),
    ];
    (valid_wire(), vec(mutation, 0..3)).prop_map(|(mut frames, mutations)| {
        for m in mutations {
            let len = frames.len();
            match m {
                Mutation::Insert(i, f) => frames.insert(i.index(len + 1), f),
                _ if len == 0 => {}
                Mutation::Truncate(i) => frames.truncate(i.index(len)),
                Mutation::Drop(i) => {
                    frames.remove(i.index(len));
                }
                Mutation::Replace(i, f) => frames[i.index(len)] = f,
            }
        }
        frames
    })
}

fn msg(frames: &[Vec<u8>]) -> Msg {
    frames.iter().map(|f| Frame::from(&f[..])).collect()
}

fn to_vecs(msg: &Msg) -> Vec<Vec<u8>> {
    msg.iter().map(|f| f.as_bytes().to_vec()).collect()
}

fn command() -> impl Strategy<Value = Command> {
    prop::sample::select(vec![
        Command::Ready,
        Command::Request,
        Command::Reply,
        Command::Heartbeat,
        Command::Disconnect,
    ])
}

fn from_worker() -> impl Strategy<Value = FromWorker> {
    prop_oneof![
        bytes().prop_map(|s| FromWorker::Ready { service: s.into() }),
        (bytes(), vec(bytes(), 0..6)).prop_map(|(c, body)| FromWorker::Reply {
            client: c.into(),
            body: msg(&body),
        }),
        Just(FromWorker::Heartbeat),
        Just(FromWorker::Disconnect),
    ]
}

fn to_worker() -> impl Strategy<Value = ToWorker> {
    prop_oneof![
        (bytes(), vec(bytes(), 0..6)).prop_map(|(c, body)| ToWorker::Request {
            client: c.into(),
            body: msg(&body),
        }),
        Just(ToWorker::Heartbeat),
        Just(ToWorker::Disconnect),
    ]
}

/// An error's text is built from the frames it complains about: it must be printable too.
fn said(e: &zmq_patterns::Error) -> Result<(), TestCaseError> {
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A temporary directory, removed when dropped (also when a property fails and panics).

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "zmq-patterns-props-{}-{n}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a property in a runner of [`config`], panicking with the minimal failing input.
fn check<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(config());
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// (1) Any frames: Ok or Err, never a panic; what is accepted serialises back to the same frames.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn command_from_frame_is_exactly_the_five_bytes(frame in likely_frame()) {
        let f = Frame::from(&frame[..]);
        match Command::from_frame(&f) {
            Some(c) => {
                prop_assert!(matches!(frame[..], [1..=5]));
                prop_assert_eq!(c.frame(), f);
                prop_assert!(!c.name().is_empty());
            }
            None => prop_assert!(!matches!(frame[..], [1..=5])),
        }
    }

    #[test]
    fn broker_input_parse_never_panics_and_is_exact(frames in frames()) {
        match BrokerInput::parse(msg(&frames)) {
            Ok(BrokerInput::Client { sender, service, body }) => {
                prop_assert!(!body.is_empty());
                let mut back = client_request(service, body);
                back.push_envelope(sender);
                prop_assert_eq!(to_vecs(&back), frames);
            }
            Ok(BrokerInput::Worker { sender, command }) => {
                let mut back = command.into_msg();
                back.push_front(sender);
                prop_assert_eq!(to_vecs(&back), frames);
            }
            Err(e) => said(&e)?,
        }
    }

    #[test]
    fn worker_after_a_router_envelope_parses_as_broker_input(frames in frames()) {
        // What a worker's DEALER sends, as the broker's ROUTER hands it over.
        let mut m = msg(&frames);
        m.push_front("W1");
        match BrokerInput::parse(m) {
            Ok(BrokerInput::Worker { sender, command }) => {
                prop_assert!(sender == "W1");
                prop_assert_eq!(to_vecs(&command.into_msg()), frames);
            }
            Ok(BrokerInput::Client { .. }) => prop_assert!(frames[1] == b"MDPC01"),
            Err(e) => said(&e)?,
        }
    }

    #[test]
    fn to_worker_parse_never_panics_and_is_exact(frames in frames()) {
        match ToWorker::parse(msg(&frames)) {
            Ok(t) => {
                let mut back = t.into_msg(Frame::from("W1"));
                prop_assert!(back.pop_front().is_some_and(|w| w == "W1"));
                prop_assert_eq!(to_vecs(&back), frames);
            }
            Err(e) => said(&e)?,
        }
    }

    #[test]
    fn parse_client_reply_never_panics_and_is_exact(frames in frames()) {
        match parse_client_reply(msg(&frames)) {
            Ok((service, body)) => {
                let back = to_vecs(&client_request(service, body));
                let skip = usize::from(frames.first().is_some_and(Vec::is_empty));
                prop_assert_eq!(&back[..], &frames[skip..]);
            }
            Err(e) => said(&e)?,
        }
    }

    #[test]
    fn proxy_stats_from_reply_takes_exactly_eight_u64s(frames in frames()) {
        let stats = ProxyStats::from_reply(&msg(&frames));
        let shaped = frames.len() == 8 && frames.iter().all(|f| f.len() == 8);
        prop_assert_eq!(stats.is_some(), shaped);
        if let Some(stats) = stats {
            let want: Vec<u64> = frames
                .iter()
                .map(|f| u64::from_ne_bytes(f[..].try_into().unwrap()))
                .collect();
            prop_assert_eq!(&stats.to_array()[..], &want[..]);
            prop_assert_eq!(stats.capture_dropped, 0);
        }
    }

    #[test]
    fn uuid_parse_accepts_exactly_32_hex_digits(frame in likely_frame()) {
        let valid = frame.len() == 32 && frame.iter().all(u8::is_ascii_hexdigit);
        match Uuid::parse(&frame) {
            Ok(id) => {
                prop_assert!(valid);
                prop_assert_eq!(id.as_str().as_bytes(), frame.to_ascii_uppercase());
            }
            Err(e) => {
                prop_assert!(!valid);
                said(&e)?;
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // (2) Valid messages from arbitrary fields round-trip.

    #[test]
    fn commands_round_trip(c in command()) {
        prop_assert_eq!(Command::from_frame(&c.frame()), Some(c));
        prop_assert!(c.frame() == [c as u8]);
    }

    #[test]
    fn from_worker_round_trips_through_the_broker(w in from_worker(), sender in bytes()) {
        let mut m = w.clone().into_msg();
        m.push_front(&sender[..]); // the ROUTER's address frame
        let parsed = BrokerInput::parse(m).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed, BrokerInput::Worker { sender: sender.into(), command: w });
    }

    #[test]
    fn to_worker_round_trips(t in to_worker(), worker in bytes()) {
        let mut m = t.clone().into_msg(Frame::from(&worker[..]));
        prop_assert_eq!(m.pop_front(), Some(Frame::from(worker))); // the ROUTER takes it off
        prop_assert_eq!(ToWorker::parse(m).map_err(|e| TestCaseError::fail(e.to_string()))?, t);
    }

    #[test]
    fn client_request_round_trips_through_the_broker(
        sender in bytes(),
        service in bytes(),
        body in vec(bytes(), 1..6),
    ) {
        let mut m = client_request(&service[..], msg(&body));
        m.push_envelope(&sender[..]); // REQ's delimiter and the ROUTER's address
        let parsed = BrokerInput::parse(m).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            parsed,
            BrokerInput::Client { sender: sender.into(), service: service.into(), body: msg(&body) }
        );
    }

    #[test]
    fn client_replies_round_trip(
        service in bytes(),
        body in vec(bytes(), 0..6),
        dealer in any::<bool>(),
    ) {
        let mut m = client_request(&service[..], msg(&body));
        if dealer {
            m.push_front(Frame::empty());
        }
        let (s, b) = parse_client_reply(m).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(s, Frame::from(service));
        prop_assert_eq!(b, msg(&body));
    }

    #[test]
    fn proxy_stats_round_trip(counters in any::<[u64; 8]>()) {
        let reply: Msg = counters.iter().map(|n| n.to_ne_bytes()).collect();
        let stats = ProxyStats::from_reply(&reply).unwrap();
        prop_assert_eq!(stats.to_array(), counters);
    }

    #[test]
    fn any_32_hex_digits_are_a_uuid_that_round_trips(text in uuid_text()) {
        let id = Uuid::parse(text.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(id.as_str(), text.to_ascii_uppercase());
        prop_assert_eq!(id.to_string(), id.as_str());
        prop_assert_eq!(Uuid::parse(id.as_str().as_bytes()).ok(), Some(id));
    }

    #[test]
    fn any_other_text_is_not_a_uuid(
        text in prop_oneof![
            any::<String>(),
            "[0-9a-fA-F]{0,31}",
            "[0-9a-fA-F]{33,40}",
            // 32 characters with one that is not a hex digit
            ("[0-9a-fA-F]{0,31}", "[^0-9a-fA-F]", "[0-9a-fA-F]{0,31}")
                .prop_map(|(a, x, b)| format!("{a}{x}{b}")),
        ]
        .prop_filter("a UUID", |t| !(t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())))
    ) {
        prop_assert!(Uuid::parse(text.as_bytes()).is_err());
    }

    #[test]
    fn random_uuids_parse(_n in 0..4u8) {
        let id = Uuid::random();
        prop_assert_eq!(Uuid::parse(id.as_str().as_bytes()).ok(), Some(id));
    }
}

// ---------------------------------------------------------------------------------------------
// Titanic's services and store, in a temporary directory.

#[test]
fn titanic_services_answer_any_request() {
    let dir = TempDir::new("services");
    let store = Store::open(dir.path()).unwrap();
    check(frames(), |frames| {
        let is_uuid = frames.first().is_some_and(|f| Uuid::parse(f).is_ok());
        // Nothing is stored: a UUID is unknown (or closed), anything else is refused.
        let reply = store.serve_reply(msg(&frames));
        prop_assert_eq!(to_vecs(&reply), vec![titanic::UNKNOWN.as_bytes().to_vec()]);
        let closed = store.serve_close(msg(&frames));
        let want = if is_uuid {
            titanic::OK
        } else {
            titanic::UNKNOWN
        };
        prop_assert_eq!(to_vecs(&closed), vec![want.as_bytes().to_vec()]);

        let (reply, id) = store.serve_request(msg(&frames));
        if frames.len() < 2 {
            prop_assert_eq!(to_vecs(&reply), vec![titanic::FAILED.as_bytes().to_vec()]);
            prop_assert!(id.is_none());
            return Ok(());
        }
        let id = id.unwrap();
        prop_assert_eq!(reply.len(), 2);
        prop_assert!(reply[0] == titanic::OK && reply[1] == id.as_str());
        prop_assert_eq!(Uuid::parse(&reply[1]).ok(), Some(id.clone()));
        prop_assert_eq!(
            store.request(&id).unwrap().map(|m| to_vecs(&m)),
            Some(frames)
        );
        prop_assert!(store.serve_reply(Msg::from_iter([id.as_str()]))[0] == titanic::PENDING);
        prop_assert!(store.serve_close(Msg::from_iter([id.as_str()]))[0] == titanic::OK);
        prop_assert_eq!(store.request(&id).unwrap(), None);
        Ok(())
    });
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn titanic_store_round_trips_any_message() {
    let dir = TempDir::new("store");
    let store = Store::open(dir.path()).unwrap();
    let message = || {
        vec(
            prop_oneof![4 => bytes(), 1 => vec(any::<u8>(), 0..4096)],
            0..8,
        )
    };
    check((message(), message()), |(request, reply)| {
        let saved = store.save_request(&msg(&request));
        if request.len() < 2 {
            prop_assert!(saved.is_err()); // a request is [service][body...]
            return Ok(());
        }
        let id = saved.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            store.request(&id).unwrap().map(|m| to_vecs(&m)),
            Some(request)
        );
        prop_assert_eq!(store.status(&id).unwrap(), ReplyStatus::Pending);

        store.save_reply(&id, &msg(&reply)).unwrap();
        prop_assert_eq!(store.status(&id).unwrap(), ReplyStatus::Ready(msg(&reply)));
        let mut served = store.serve_reply(Msg::from_iter([id.as_str().to_ascii_lowercase()]));
        prop_assert!(served.pop_front().is_some_and(|f| f == titanic::OK));
        prop_assert_eq!(to_vecs(&served), reply);

        store.close(&id).unwrap();
        prop_assert_eq!(store.status(&id).unwrap(), ReplyStatus::Unknown);
        Ok(())
    });
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// The broker and the Paranoid Pirate ready queue, fed what peers send.

#[test]
fn broker_handles_any_sequence_of_messages() {
    // One context for all cases: a context per case would start and stop an I/O thread each.
    let ctx = zmq::Context::new();
    check(vec(frames(), 1..12), |messages| {
        // Not bound: whatever the broker sends goes to peers that are not there and is dropped.
        let mut broker = mdp::Broker::new(&ctx, Default::default()).unwrap();
        for frames in messages {
            let handled = broker.handle(msg(&frames));
            prop_assert!(handled.is_ok(), "{frames:?}: {handled:?}");
        }
        prop_assert!(broker.tick().is_ok());
        prop_assert!(broker.queued() <= 12 && broker.worker_count() <= 12);
        Ok(())
    });
}

#[derive(Debug, Clone)]
enum QueueOp {
    /// A worker said READY or HEARTBEAT.
    Ready(Vec<u8>),
    Pop,
    Remove(Vec<u8>),
    Purge,
    /// Time goes on by this many ms.
    Wait(u64),
}

fn queue_op() -> impl Strategy<Value = QueueOp> {
    // Few identities, so that the same worker comes back; any bytes at times.
    let id = || prop_oneof![4 => (0u8..4).prop_map(|n| vec![b'W', n]), 1 => bytes()];
    prop_oneof![
        3 => id().prop_map(QueueOp::Ready),
        1 => Just(QueueOp::Pop),
        1 => id().prop_map(QueueOp::Remove),
        1 => Just(QueueOp::Purge),
        2 => (0u64..60).prop_map(QueueOp::Wait),
    ]
}

#[test]
fn ready_queue_behaves_like_an_lru_list_with_expiry() {
    let t0 = Instant::now();
    let expiry = prop_oneof![(1u64..100).prop_map(Some), Just(None)];
    check((expiry, vec(queue_op(), 0..64)), |(expiry_ms, ops)| {
        let mut queue = ReadyQueue::new(expiry_ms.map_or(Duration::MAX, Duration::from_millis));
        // The model: (identity, expires at ms), least recently ready first.
        let mut model: Vec<(Vec<u8>, Option<u64>)> = Vec::new();
        let mut now = 0u64;
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let alive = |e: &Option<u64>, now: u64| e.is_none_or(|e| e > now);
        for op in ops {
            match op {
                QueueOp::Ready(id) => {
                    queue.ready(Frame::from(&id[..]), at(now));
                    model.retain(|(m, _)| *m != id);
                    model.push((id, expiry_ms.map(|e| now + e)));
                }
                QueueOp::Pop => {
                    let got = queue.pop(at(now));
                    let mut want = None;
                    while !model.is_empty() {
                        let (id, e) = model.remove(0);
                        if alive(&e, now) {
                            want = Some(id);
                            break;
                        }
                    }
                    prop_assert_eq!(got.map(|f| f.as_bytes().to_vec()), want);
                }
                QueueOp::Remove(id) => {
                    queue.remove(&Frame::from(&id[..]));
                    model.retain(|(m, _)| *m != id);
                }
                QueueOp::Purge => {
                    let gone: Vec<Vec<u8>> = queue
                        .purge(at(now))
                        .iter()
                        .map(|f| f.as_bytes().to_vec())
                        .collect();
                    let want: Vec<Vec<u8>> = model
                        .iter()
                        .filter(|(_, e)| !alive(e, now))
                        .map(|(id, _)| id.clone())
                        .collect();
                    model.retain(|(_, e)| alive(e, now));
                    prop_assert_eq!(gone, want);
                }
                QueueOp::Wait(ms) => now += ms,
            }
            let ids: Vec<Vec<u8>> = queue.iter().map(|f| f.as_bytes().to_vec()).collect();
            let want: Vec<Vec<u8>> = model.iter().map(|(id, _)| id.clone()).collect();
            prop_assert_eq!(ids, want);
            prop_assert_eq!(queue.len(), model.len());
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Binary Star

proptest! {
    #![proptest_config(config())]

    #[test]
    fn bstar_state_parse_is_exactly_one_digit_one_to_four(frame in likely_frame()) {
        match bstar::State::parse(&frame) {
            Ok(s) => {
                prop_assert!(matches!(&frame[..], b"1" | b"2" | b"3" | b"4"));
                prop_assert_eq!(s.as_wire().as_bytes(), &frame[..]);
            }
            Err(e) => {
                prop_assert!(e.is_protocol());
                prop_assert!(!matches!(&frame[..], b"1" | b"2" | b"3" | b"4"));
            }
        }
    }

    #[test]
    fn bstar_any_events_follow_the_table(
        primary in any::<bool>(),
        steps in vec((0u8..6, 0u64..1500), 0..40),
    ) {
        let heartbeat = Duration::from_millis(500);
        let start = Instant::now();
        let role = if primary { Role::Primary } else { Role::Backup };
        let mut fsm = Fsm::new(role, heartbeat, start);
        let (mut now, mut last_heard) = (start, start);
        let mut was_passive = false;
        for (what, wait) in steps {
            now += Duration::from_millis(wait);
            // 0..=3: a state frame from the peer, parsed as it would be off the wire
            let event = match what {
                0..=3 => Event::Peer(bstar::State::ALL[what as usize]),
                4 => Event::ClientRequest,
                _ => match bstar::State::parse(&[b'0' + what]) {
                    Ok(s) => Event::Peer(s),
                    Err(_) => continue, // garbage never reaches the machine
                },
            };
            let before = fsm.state();
            let gone = now >= last_heard + 2 * heartbeat;
            let got = fsm.handle(event, now);
            if let Event::Peer(_) = event {
                last_heard = now;
            }
            match got {
                Ok(Some(change)) => {
                    prop_assert_eq!((change.from, change.to), (before, fsm.state()));
                    prop_assert_ne!(change.from, change.to);
                    if change.to == bstar::State::Active && event == Event::ClientRequest {
                        prop_assert!(gone, "took over while the peer was alive");
                    }
                }
                Ok(None) => prop_assert_eq!(before, fsm.state()),
                Err(refusal) => {
                    prop_assert_eq!(before, fsm.state());
                    if refusal == Refusal::Rejected {
                        prop_assert_eq!(event, Event::ClientRequest);
                    } else {
                        prop_assert!(refusal.is_fatal());
                    }
                }
            }
            was_passive |= fsm.state() == bstar::State::Passive;
            if !primary && fsm.state() == bstar::State::Active {
                prop_assert!(was_passive, "a backup became active without being passive");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Freelance (spec 10/FLP)

/// 0..6 frames, often an address followed by PING, PONG, a sequence number or a body.
fn flp_frames() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let frame = prop_oneof![
        Just(Vec::new()),
        Just(b"PING".to_vec()),
        Just(b"PONG".to_vec()),
        Just(b"ping".to_vec()),
        (0u64..5).prop_map(|n| n.to_string().into_bytes()),
        bytes(),
    ];
    prop_oneof![vec(bytes(), 0..6), vec(frame, 0..6)]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn flp_server_input_parse_never_panics_and_is_exact(frames in flp_frames()) {
        match ServerInput::parse(msg(&frames)) {
            Ok(input) => {
                match &input {
                    ServerInput::Ping { .. } => {
                        prop_assert!(frames.len() == 2 && frames[1] == b"PING");
                    }
                    ServerInput::Request(r) => prop_assert!(frames.len() >= 3 && !r.body.is_empty()),
                }
                prop_assert_eq!(to_vecs(&input.into_msg()), frames);
            }
            Err(e) => {
                said(&e)?;
                prop_assert!(frames.len() < 3);
            }
        }
    }

    #[test]
    fn flp_from_server_parse_never_panics_and_is_exact(frames in flp_frames()) {
        match FromServer::parse(msg(&frames)) {
            Ok(input) => {
                if let FromServer::Pong { .. } = input {
                    prop_assert!(frames.len() == 2 && frames[1] == b"PONG");
                } else {
                    prop_assert!(frames.len() >= 3);
                }
                prop_assert_eq!(to_vecs(&input.into_msg()), frames);
            }
            Err(e) => {
                said(&e)?;
                prop_assert!(frames.len() < 3);
            }
        }
    }

    #[test]
    fn flp_replies_carry_the_control_frame_unmodified(
        client in bytes(), control in bytes(), body in vec(bytes(), 0..4)
    ) {
        let request = freelance::Request { client: Frame::from(&client[..]), control: Frame::from(&control[..]), body: Msg::new() };
        let reply = request.reply(msg(&body));
        let back = to_vecs(&reply);
        prop_assert_eq!(&back[0], &client);
        prop_assert_eq!(&back[1], &control);
        prop_assert_eq!(back.len(), 2 + body.len().max(1));
    }
}

/// A live server handed any frames (as its ROUTER would) answers PING, drops the rest, and a
/// well-formed request after them still gets its reply.
#[test]
fn flp_server_handles_any_frames_and_still_serves() {
    let ctx = zmq::Context::new();
    let ep = "inproc://properties-flp-server";
    let server = freelance::Server::bind(&ctx, ep, ep).unwrap();
    check(flp_frames(), |frames| {
        match server.handle(msg(&frames)) {
            Ok(Some(request)) => {
                prop_assert!(frames.len() >= 3 && request.control == frames[1][..])
            }
            Ok(None) => prop_assert!(frames.len() < 3),
            Err(e) => return Err(TestCaseError::fail(format!("handle failed: {e}"))),
        }
        Ok(())
    });
    let request = server
        .handle(Msg::from_iter(["client", "7", "random name"]))
        .unwrap()
        .unwrap();
    server.reply(request, Msg::from_iter(["OK"])).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Clone (kvsimple, kvmsg, the snapshot request; spec 12/CHP)

/// A frame a kvmsg parser looks at: a short key, an 8-byte sequence, a 16-byte UUID,
/// properties (valid or nearly), a command, or any bytes.
fn kv_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        "[a-z0-9/]{0,8}".prop_map(String::into_bytes),
        any::<u64>().prop_map(|n| n.to_be_bytes().to_vec()),
        any::<[u8; 16]>().prop_map(|u| u.to_vec()),
        "([a-z]{0,3}=[a-z0-9=]{0,3}\n){0,3}".prop_map(String::into_bytes),
        "[a-z=\n]{0,8}".prop_map(String::into_bytes),
        prop::sample::select(vec!["ICANHAZ?", "KTHXBAI", "/client/", "/a//", "HUGZ"])
            .prop_map(|s| s.as_bytes().to_vec()),
        vec(any::<u8>(), 0..300),
    ]
}

fn kv_frames() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![vec(bytes(), 0..7), vec(kv_frame(), 0..7)]
}

/// A valid property list: distinct names without '=' or newline, values without newline.
fn kv_props() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-zA-Z0-9_.-]{1,8}", "[^\n]{0,12}", 0..4)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn kvsimple_parse_never_panics_and_is_exact(frames in kv_frames()) {
        match KvSimple::parse(msg(&frames)) {
            Ok(kv) => {
                prop_assert!(frames.len() == 3 && frames[1].len() == 8 && frames[0].len() <= KEY_MAX);
                prop_assert_eq!(to_vecs(&kv.into_msg()), frames);
            }
            Err(e) => {
                said(&e)?;
                prop_assert!(e.is_protocol());
            }
        }
    }

    #[test]
    fn kvmsg_parse_never_panics_and_is_exact(frames in kv_frames()) {
        match KvMsg::parse(msg(&frames)) {
            Ok(kv) => {
                prop_assert!(frames.len() == 5 && frames[1].len() == 8);
                prop_assert!(frames[2].is_empty() || frames[2].len() == 16);
                prop_assert_eq!(to_vecs(&kv.into_msg()), frames);
            }
            Err(e) => {
                said(&e)?;
                prop_assert!(e.is_protocol());
            }
        }
    }

    #[test]
    fn snapshot_request_parse_never_panics(frames in kv_frames()) {
        match SnapshotRequest::parse(msg(&frames)) {
            Ok(r) => {
                prop_assert!((2..=3).contains(&frames.len()) && frames[1] == b"ICANHAZ?");
                prop_assert_eq!(r.client.as_bytes(), &frames[0][..]);
                prop_assert_eq!(r.subtree.as_bytes(), frames.get(2).map_or(&[][..], |f| &f[..]));
                let mut back = kvmsg::snapshot::request(&r.subtree);
                back.push_front(r.client);
                // the two-frame form with an empty subtree comes back as the one-frame form
                if frames.len() == 3 && frames[2].is_empty() {
                    prop_assert_eq!(to_vecs(&back), &frames[..2]);
                } else {
                    prop_assert_eq!(to_vecs(&back), frames);
                }
            }
            Err(e) => said(&e)?,
        }
    }

    #[test]
    fn valid_kvsimple_round_trips(key in "[^\u{0}]{0,60}", seq in any::<u64>(), body in bytes()) {
        let kv = KvSimple::new(key.clone(), seq, &body[..]).unwrap();
        let back = KvSimple::parse(kv.to_msg()).unwrap();
        prop_assert_eq!((back.key(), back.sequence(), back.body()), (&key[..], seq, &body[..]));
    }

    #[test]
    fn valid_kvmsg_round_trips(
        key in "[^\u{0}]{0,60}", seq in any::<u64>(), uuid in prop::option::of(any::<[u8; 16]>()),
        props in kv_props(), body in bytes()
    ) {
        let mut kv = KvMsg::new(key, seq, &body[..]).unwrap();
        kv.set_uuid_to(uuid.map(kvmsg::Uuid::from));
        for (name, value) in &props {
            kv.set_prop(name, value).unwrap();
        }
        let back = KvMsg::parse(kv.to_msg()).unwrap();
        prop_assert_eq!(&back, &kv);
        let got: Vec<(String, String)> =
            back.props().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        prop_assert_eq!(got, props);
    }

    #[test]
    fn kvmap_stays_within_its_limits(
        ops in vec(("[a-d]", vec(any::<u8>(), 0..6)), 0..40),
        max_keys in 0usize..4, max_bytes in 0usize..20
    ) {
        let mut map = KvMap::new(Limits { max_keys, max_bytes });
        let mut model = std::collections::BTreeMap::new();
        for (key, body) in ops {
            let stored = map.store(KvSimple::new(key.clone(), 0, &body[..]).unwrap());
            if body.is_empty() {
                prop_assert!(stored.is_ok());
                model.remove(&key);
            } else if stored.is_ok() {
                model.insert(key, body);
            }
            prop_assert!(map.len() <= max_keys && map.bytes() <= max_bytes);
            let bytes: usize = model.iter().map(|(k, b)| k.len() + b.len()).sum();
            prop_assert_eq!((map.len(), map.bytes()), (model.len(), bytes));
        }
        for (key, body) in &model {
            prop_assert_eq!(map.get(key).unwrap().body(), &body[..]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clone servers' store (`clone::Store`): the `ttl` property parser and expiry.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ttl_parse_never_panics_and_is_exact(
        value in prop_oneof![
            "[0-9]{0,22}",
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            "[ +0-9a-z.=-]{0,6}",
            any::<String>(),
        ]
    ) {
        let ttl = clone::parse_ttl(&value);
        let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        match value.parse::<u64>() {
            Ok(n) if digits && value.len() <= 20 => {
                let want = (n > 0).then(|| Duration::from_secs(n));
                prop_assert_eq!(ttl.unwrap(), want);
            }
            _ => prop_assert!(matches!(ttl, Err(clone::Refused::Ttl(_)))),
        }
    }

    #[test]
    fn store_numbers_every_update_and_delete_and_expires_exactly(
        ops in vec((0u8..6, prop::option::of(0u64..5), any::<bool>(), 0u64..4), 0..40)
    ) {
        // (key, ttl, body or delete, seconds to advance before expiring)
        let t0 = Instant::now();
        let mut store = clone::Store::default();
        let mut now = t0;
        let mut last = 0;
        for (key, ttl, set, advance) in ops {
            let mut update = KvMsg::new(format!("k{key}"), 0, if set { "v" } else { "" }).unwrap();
            if let Some(ttl) = ttl {
                update.set_prop("ttl", &ttl.to_string()).unwrap();
            }
            let published = store.publish(update, now).unwrap();
            prop_assert_eq!(published.sequence(), last + 1);
            last += 1;
            now += Duration::from_secs(advance);
            for delete in store.expire(now) {
                prop_assert!(delete.body().is_empty());
                prop_assert_eq!(delete.sequence(), last + 1);
                last += 1;
            }
            prop_assert_eq!(store.sequence(), last);
            for kv in store.map().iter() {
                // what is left is lasting or has time left
                prop_assert!(store.expiry(kv.key()).is_none_or(|at| at > now));
                let ttl = clone::ttl(kv).unwrap();
                prop_assert_eq!(ttl.is_some(), store.expiry(kv.key()).is_some());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Credit-based flow control (`fileio3`): the sender's request parser.

/// The largest chunk the credit properties allow.
const MAX_CHUNK: usize = 1000;

/// A frame a fetch parser is likely to meet: the command, numbers near the limits, signs,
/// spaces, leading zeros, else any bytes.
fn fetch_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"fetch".to_vec()),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        (0usize..=MAX_CHUNK + 2).prop_map(|n| n.to_string().into_bytes()),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        prop::sample::select(vec![
            "",
            "0",
            "00",
            "01",
            "+1",
            "-0",
            " 1",
            "1 ",
            "1e3",
            "0x10",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551616",
            "FETCH",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        bytes(),
    ]
}

/// 0..6 frames, often starting with `fetch`.
fn fetch_frames() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        vec(fetch_frame(), 0..6),
        vec(fetch_frame(), 0..4).prop_map(|mut f| {
            f.insert(0, b"fetch".to_vec());
            f
        }),
    ]
}

fn canonical(frame: &[u8]) -> bool {
    !frame.is_empty()
        && frame.iter().all(u8::is_ascii_digit)
        && (frame[0] != b'0' || frame.len() == 1)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fetch_parse_never_panics_and_is_exact(frames in fetch_frames()) {
        match Fetch::parse(&msg(&frames), MAX_CHUNK) {
            Ok(fetch) => {
                prop_assert_eq!(frames.len(), 3);
                prop_assert!(canonical(&frames[1]) && canonical(&frames[2]));
                prop_assert!(fetch.offset <= i64::MAX as u64);
                prop_assert!((1..=MAX_CHUNK).contains(&fetch.size));
                prop_assert_eq!(to_vecs(&fetch.to_msg()), frames);
            }
            Err(e) => {
                prop_assert!(e.is_protocol());
                said(&e)?;
            }
        }
    }

    #[test]
    fn valid_fetches_round_trip(offset in 0..=i64::MAX as u64, size in 1..=MAX_CHUNK) {
        let fetch = Fetch { offset, size };
        let wire = fetch.to_msg();
        prop_assert_eq!(&wire[0].as_bytes(), &b"fetch");
        let (offset_text, size_text) = (offset.to_string(), size.to_string());
        prop_assert_eq!(wire[1].as_bytes(), offset_text.as_bytes());
        prop_assert_eq!(wire[2].as_bytes(), size_text.as_bytes());
        prop_assert_eq!(Fetch::parse(&wire, MAX_CHUNK).unwrap(), fetch);
    }
}

/// A live `credit::Server` handed any frames after a ROUTER's identity answers exactly the
/// requests that parse, with at most the size asked for, and drops the rest.
#[test]
fn credit_server_handles_any_frames() {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_linger(0).unwrap();
    router.bind("inproc://properties-credit").unwrap();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.set_rcvtimeo(5000).unwrap();
    dealer.set_identity(b"peer").unwrap();
    dealer.connect("inproc://properties-credit").unwrap();
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
    let server = std::cell::RefCell::new(credit::Server::from_reader(
        std::io::Cursor::new(data.clone()),
        MAX_CHUNK,
    ));
    check(fetch_frames(), |frames| {
        let mut wire = msg(&frames);
        wire.push_front(Frame::from("peer"));
        let parsed = Fetch::parse(&msg(&frames), MAX_CHUNK).ok();
        let served = server.borrow_mut().handle(&router, wire);
        prop_assert_eq!(served.ok(), Some(parsed.is_some()));
        if let Some(fetch) = parsed {
            let reply = Msg::recv(&dealer).unwrap();
            prop_assert_eq!(reply.len(), 1);
            let from = (fetch.offset.min(data.len() as u64)) as usize;
            let to = (from + fetch.size).min(data.len());
            prop_assert_eq!(reply[0].as_bytes(), &data[from..to]);
        }
        Ok(())
    });
    // Nothing was sent for what was dropped
    dealer.set_rcvtimeo(0).unwrap();
    assert!(Msg::recv(&dealer).is_err());
}

// ---------------------------------------------------------------------------------------------
// UDP discovery (`udpping3`): the presence beacon parser.

/// A datagram a presence node may meet: any bytes, 16 of them, or 32 characters that are
/// hexadecimal digits or nearly.
fn beacon_datagram() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(any::<u8>(), 16..=16),
        "[0-9a-fA-F]{32}".prop_map(String::into_bytes),
        "[0-9a-fA-F]{31}[g-z +-]".prop_map(String::into_bytes),
        "[0-9a-fA-F]{31}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn beacon_parse_never_panics_and_is_exact(datagram in beacon_datagram()) {
        match beacon::parse_beacon(&datagram) {
            Some(id) if datagram.len() == 16 => prop_assert_eq!(&id[..], &datagram[..]),
            Some(id) => {
                prop_assert_eq!(datagram.len(), 32);
                let text = String::from_utf8(datagram.clone()).unwrap();
                prop_assert_eq!(beacon::node_id_hex(&id), text.to_uppercase());
            }
            None => prop_assert!(
                datagram.len() != 16
                    && (datagram.len() != 32 || !datagram.iter().all(u8::is_ascii_hexdigit))
            ),
        }
    }

    #[test]
    fn beacons_round_trip_in_both_forms(id in any::<[u8; 16]>()) {
        let hex = beacon::node_id_hex(&id);
        prop_assert_eq!(beacon::parse_beacon(&id), Some(id));
        prop_assert_eq!(beacon::parse_beacon(hex.as_bytes()), Some(id));
        prop_assert_eq!(beacon::parse_beacon(hex.to_lowercase().as_bytes()), Some(id));
    }
}

// ---------------------------------------------------------------------------------------------
// (9) Authentication (spec 27/ZAP) and certificates: any frames make the ZAP parsers return
// `Ok` or an error, what they accept builds back to the same frames, valid requests and
// replies round-trip; any text makes the certificate and password parsers return, and valid
// certificates round-trip through their files' text.

/// A ZAP-looking frame: a version, a mechanism, a status code, an address, a key, else bytes.
fn zap_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "1.0",
            "1.1",
            "NULL",
            "PLAIN",
            "CURVE",
            "GSSAPI",
            "200",
            "300",
            "400",
            "500",
            "201",
            "127.0.0.1",
            "::1",
            "global",
            "",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        any::<[u8; 32]>().prop_map(|k| k.to_vec()),
        bytes(),
    ]
}

fn mechanism() -> impl Strategy<Value = auth::Mechanism> {
    prop_oneof![
        Just(auth::Mechanism::Null),
        ("[ -~]{0,16}", "[ -~]{0,16}")
            .prop_map(|(username, password)| auth::Mechanism::Plain { username, password }),
        any::<[u8; 32]>().prop_map(|public_key| auth::Mechanism::Curve { public_key }),
    ]
}

fn zap_request() -> impl Strategy<Value = auth::ZapRequest> {
    (bytes(), "[ -~]{0,12}", "[ -~]{0,12}", bytes(), mechanism()).prop_map(
        |(request_id, domain, address, identity, mechanism)| auth::ZapRequest {
            request_id,
            domain,
            address,
            identity,
            mechanism,
        },
    )
}

fn metadata() -> impl Strategy<Value = auth::Metadata> {
    vec(("[A-Za-z0-9._+-]{1,12}", bytes()), 0..4).prop_map(|props| {
        let mut meta = auth::Metadata::new();
        for (name, value) in props {
            meta.insert(&name, value).unwrap();
        }
        meta
    })
}

fn zap_reply() -> impl Strategy<Value = auth::ZapReply> {
    let status = prop::sample::select(vec![
        auth::Status::Success,
        auth::Status::TemporaryError,
        auth::Status::AuthFailure,
        auth::Status::InternalError,
    ]);
    (bytes(), status, "[ -~]{0,16}", "[ -~]{0,16}", metadata()).prop_map(
        |(request_id, status, status_text, user_id, metadata)| auth::ZapReply {
            request_id,
            status,
            status_text,
            // "For other statuses, it SHALL be empty."
            user_id: if status == auth::Status::Success {
                user_id
            } else {
                String::new()
            },
            metadata,
        },
    )
}

/// Certificate-file-like text: lines from a certificate, broken or not, in any order.
fn cert_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("curve".to_string()),
        Just("metadata".to_string()),
        Just("    public-key = \"0000000000000000000000000000000000000000\"".to_string()),
        Just("    secret-key = \"HelloWorldHelloWorldHelloWorldHelloWorld\"".to_string()),
        Just("    public-key = \"#####\"".to_string()),
        "    [a-z-]{1,8} = [\"']?[ -~]{0,20}[\"']?",
        "[ -~]{0,30}",
        "#[ -~]{0,20}",
        ".{0,12}",
    ];
    vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

fn certificate() -> impl Strategy<Value = Certificate> {
    (
        any::<[u8; 32]>(),
        prop::option::of(any::<[u8; 32]>()),
        vec(("[A-Za-z0-9._+-]{1,12}", "[ -&(-~]{0,20}"), 0..4),
    )
        .prop_map(|(public, secret, meta)| {
            let mut cert = match secret {
                Some(s) => Certificate::from_pair(KeyPair {
                    public: PublicKey(public),
                    secret: SecretKey(s),
                }),
                None => Certificate::from_public(PublicKey(public)),
            };
            for (name, value) in meta {
                cert.set_meta(&name, &value).unwrap();
            }
            cert
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn zap_request_parse_never_panics_and_is_exact(frames in vec(zap_frame(), 0..10)) {
        let m = msg(&frames);
        match auth::ZapRequest::parse(&m) {
            Ok(request) => prop_assert_eq!(to_vecs(&request.to_msg()), frames),
            Err(e) => {
                said(&e)?;
                // The 400 answer echoes the id, if there was one, and is itself valid
                let reply = auth::ZapReply::malformed(&m, &e);
                prop_assert_eq!(reply.status, auth::Status::AuthFailure);
                prop_assert_eq!(&reply.request_id, &frames.get(1).cloned().unwrap_or_default());
                prop_assert_eq!(auth::ZapReply::parse(&reply.to_msg())?, reply);
            }
        }
    }

    #[test]
    fn zap_reply_parse_never_panics_and_is_exact(frames in vec(zap_frame(), 0..8)) {
        match auth::ZapReply::parse(&msg(&frames)) {
            Ok(reply) => prop_assert_eq!(to_vecs(&reply.to_msg()), frames),
            Err(e) => said(&e)?,
        }
    }

    #[test]
    fn zap_requests_round_trip(request in zap_request()) {
        prop_assert_eq!(auth::ZapRequest::parse(&request.to_msg())?, request);
    }

    #[test]
    fn zap_replies_round_trip(reply in zap_reply()) {
        prop_assert_eq!(auth::ZapReply::parse(&reply.to_msg())?, reply);
    }

    #[test]
    fn metadata_parse_never_panics_and_is_exact(wire in vec(any::<u8>(), 0..48)) {
        if let Ok(meta) = auth::Metadata::parse(&wire) {
            prop_assert_eq!(meta.encode(), wire);
        }
    }

    #[test]
    fn certificate_parse_never_panics(text in cert_text()) {
        match Certificate::parse(&text) {
            // What parses has a public key and saves to text that parses to it again
            Ok(cert) => {
                let again = Certificate::parse(&cert.to_public_text())?;
                prop_assert_eq!(again.public_key(), cert.public_key());
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn certificates_round_trip_through_their_text(cert in certificate()) {
        if cert.secret_key().is_some() {
            prop_assert_eq!(Certificate::parse(&cert.to_secret_text()?)?, cert.clone());
        }
        let public = Certificate::parse(&cert.to_public_text())?;
        prop_assert_eq!(public.public_key(), cert.public_key());
        prop_assert_eq!(public.metadata().collect::<Vec<_>>(), cert.metadata().collect::<Vec<_>>());
        prop_assert!(public.secret_key().is_none());
    }

    #[test]
    fn z85_keys_round_trip_and_any_text_is_safe(key in any::<[u8; 32]>(), text in ".{0,48}") {
        prop_assert_eq!(z85_key(&z85(&key))?, key);
        if let Ok(decoded) = z85_key(&text) {
            prop_assert_eq!(z85(&decoded), text);
        }
    }

    #[test]
    fn password_files_parse_any_text(text in ".{0,64}(\n.{0,32}){0,4}") {
        let passwords = auth::Passwords::parse(&text);
        for user in passwords.users() {
            prop_assert!(!user.is_empty() && !user.starts_with('#') && !user.contains('='));
        }
    }
}

/// A live Authenticator handed any frames on its ZAP endpoint answers each with a valid reply
/// (a malformed request with 400) and still serves a valid request afterwards.
#[test]
fn authenticator_answers_any_frames_and_still_serves() {
    let ctx = zmq::Context::new();
    let _auth = auth::Authenticator::new(&ctx).unwrap();
    let zap = ctx.socket(zmq::REQ).unwrap();
    zap.set_linger(0).unwrap();
    zap.set_rcvtimeo(5000).unwrap();
    zap.connect(auth::ZAP_ENDPOINT).unwrap();
    let ask = |frames: &[Vec<u8>]| -> auth::ZapReply {
        let mut m = msg(frames);
        if m.is_empty() {
            m.push_back(Frame::empty()); // a REQ sends at least one frame
        }
        m.send(&zap).unwrap();
        auth::ZapReply::parse(&Msg::recv(&zap).expect("a reply within 5 s")).unwrap()
    };
    check(vec(zap_frame(), 0..10), |frames| {
        let reply = ask(&frames);
        if auth::ZapRequest::parse(&msg(&frames)).is_err() {
            prop_assert_eq!(reply.status, auth::Status::AuthFailure);
        }
        let null: Vec<Vec<u8>> = ["1.0", "x", "", "127.0.0.1", "", "NULL"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        prop_assert_eq!(ask(&null).status, auth::Status::Success);
        Ok(())
    });
}
