//! [`Fsm`]: the Binary Star state machine, with no sockets and no clock of its own, so that
//! every transition can be tested.

use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A Binary Star server's state. Each server publishes its state to its peer every heartbeat,
/// as a one-digit text frame (`"1"` to `"4"`, the guide's `"%d"`).
///
/// ```
/// use zmq_patterns::bstar::State;
/// assert_eq!(State::Active.as_wire(), "3");
/// assert_eq!(State::parse(b"3").unwrap(), State::Active);
/// assert!(State::parse(b"5").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The primary, waiting to hear from its peer.
    Primary,
    /// The backup, waiting to hear from its peer.
    Backup,
    /// Accepting client requests. At most one server of a pair is active.
    Active,
    /// Not accepting client requests; takes over when the active one is gone and a client asks.
    Passive,
}

impl State {
    /// Every state, in wire order.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::bstar::State::ALL.len(), 4);
    /// ```
    pub const ALL: [State; 4] = [State::Primary, State::Backup, State::Active, State::Passive];

    /// The state as it goes on the wire: `"1"` (primary) to `"4"` (passive).
    ///
    /// ```
    /// assert_eq!(zmq_patterns::bstar::State::Primary.as_wire(), "1");
    /// ```
    pub fn as_wire(self) -> &'static str {
        match self {
            State::Primary => "1",
            State::Backup => "2",
            State::Active => "3",
            State::Passive => "4",
        }
    }

    /// Parses a state frame from the peer. Anything but `"1"` to `"4"` is an
    /// [`Error::Protocol`]: in particular `"5"`, the guide's number for a client request, which
    /// a peer can never send.
    ///
    /// ```
    /// use zmq_patterns::bstar::State;
    /// assert_eq!(State::parse(b"4").unwrap(), State::Passive);
    /// assert!(State::parse(b"04").unwrap_err().is_protocol());
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<State> {
        match bytes {
            b"1" => Ok(State::Primary),
            b"2" => Ok(State::Backup),
            b"3" => Ok(State::Active),
            b"4" => Ok(State::Passive),
            _ => Err(Error::protocol(format!(
                "not a Binary Star state: {}",
                crate::Frame::new(bytes).strhex()
            ))),
        }
    }

    /// The state's name in lower case, as the guide's lines print it.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::bstar::State::Passive.name(), "passive");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            State::Primary => "primary",
            State::Backup => "backup",
            State::Active => "active",
            State::Passive => "passive",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which server of the pair this is; it decides the state a server starts in.
///
/// ```
/// use zmq_patterns::bstar::{Role, State};
/// assert_eq!(Role::Backup.initial_state(), State::Backup);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The server that is normally active.
    Primary,
    /// The server that is normally passive.
    Backup,
}

impl Role {
    /// [`State::Primary`] or [`State::Backup`].
    ///
    /// ```
    /// use zmq_patterns::bstar::{Role, State};
    /// assert_eq!(Role::Primary.initial_state(), State::Primary);
    /// ```
    pub fn initial_state(self) -> State {
        match self {
            Role::Primary => State::Primary,
            Role::Backup => State::Backup,
        }
    }
}

/// What happens to a server: its peer said which state it is in, or a client sent a request
/// (the guide's `PEER_PRIMARY` ... `CLIENT_REQUEST`).
///
/// ```
/// use zmq_patterns::bstar::{Event, State};
/// assert_eq!(Event::Peer(State::Active), Event::Peer(State::Active));
/// assert_ne!(Event::Peer(State::Active), Event::ClientRequest);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The peer published this state.
    Peer(State),
    /// A client sent a request: it asks this server to serve (a "vote").
    ClientRequest,
}

/// A change of state, and why; it prints as the guide's line for it (without the `I: `).
///
/// ```
/// use std::time::{Duration, Instant};
/// use zmq_patterns::bstar::{Event, Fsm, Role, State};
/// let now = Instant::now();
/// let mut fsm = Fsm::new(Role::Primary, Duration::from_secs(1), now);
/// let change = fsm.handle(Event::Peer(State::Backup), now).unwrap().unwrap();
/// assert_eq!(change.to, State::Active);
/// assert_eq!(change.to_string(), "connected to backup (passive), ready active");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Change {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// What caused it.
    pub event: Event,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use State::*;
        let text = match (self.from, self.event, self.to) {
            (Primary, Event::Peer(Backup), Active) => "connected to backup (passive), ready active",
            (Primary, Event::Peer(Active), Passive) => {
                "connected to backup (active), ready passive"
            }
            (Primary, Event::ClientRequest, Active) => "request from client, ready active",
            (Backup, Event::Peer(Active), Passive) => {
                "connected to primary (active), ready passive"
            }
            (Passive, Event::Peer(Primary), Active) => {
                "primary (passive) is restarting, ready active"
            }
            (Passive, Event::Peer(Backup), Active) => {
                "backup (passive) is restarting, ready active"
            }
            (Passive, Event::ClientRequest, Active) => "failover successful, ready active",
            (from, _, to) => return write!(f, "{from} -> {to}"),
        };
        f.write_str(text)
    }
}

/// Why an event was refused. [`Refusal::Rejected`] only turns a client away; the other two are
/// fatal: the pair is broken and the server should stop, as the guide's does.
///
/// ```
/// use zmq_patterns::bstar::Refusal;
/// assert!(!Refusal::Rejected.is_fatal());
/// assert!(Refusal::DualActives.is_fatal());
/// assert_eq!(Refusal::DualActives.to_string(), "fatal error - dual actives, aborting");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// A client request this server must not serve now: it is the backup waiting for its
    /// primary, or it is passive and its peer is alive, or it is the primary just started and
    /// the backup may be active. The request is dropped; the client will try the other server.
    Rejected,
    /// Both servers are active (split brain): this server is active and its peer says so too.
    DualActives,
    /// Both servers are passive, so nobody would ever serve.
    DualPassives,
}

impl Refusal {
    /// True for [`Refusal::DualActives`] and [`Refusal::DualPassives`].
    ///
    /// ```
    /// assert!(zmq_patterns::bstar::Refusal::DualPassives.is_fatal());
    /// ```
    pub fn is_fatal(self) -> bool {
        !matches!(self, Refusal::Rejected)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Rejected => "client request rejected",
            Refusal::DualActives => "fatal error - dual actives, aborting",
            Refusal::DualPassives => "fatal error - dual passives, aborting",
        })
    }
}

impl std::error::Error for Refusal {}

/// The Binary Star finite state machine of one server (chapter 4 of the guide): its state,
/// and when its peer counts as gone.
///
/// | state | peer primary | peer backup | peer active | peer passive | client request |
/// |---|---|---|---|---|---|
/// | primary | – | → active | → passive | – | → active if the peer is gone, else rejected |
/// | backup | – | – | → passive | – | rejected |
/// | active | – | – | **fatal** (dual actives) | – | accepted |
/// | passive | → active | → active | – | **fatal** (dual passives) | → active if the peer is gone, else rejected |
///
/// The peer is gone when it has said nothing for twice the heartbeat (since the machine was
/// made, or since its last state). Every state heard from the peer counts as a sign of life;
/// only [`State::parse`]d states reach the machine, so garbage on the state socket does not.
///
/// Unlike the guide's `bstarsrv.c`, a primary does not serve while it waits for its peer:
/// started again while its backup is active after a failover, it would answer clients beside
/// the active backup until it heard from it (the failback race, zguide PR #174). It serves
/// only once the peer has been silent for twice the heartbeat, as the passive rule has it.
///
/// ```
/// use std::time::{Duration, Instant};
/// use zmq_patterns::bstar::{Event, Fsm, Refusal, Role, State};
/// let heartbeat = Duration::from_secs(1);
/// let start = Instant::now();
/// let mut backup = Fsm::new(Role::Backup, heartbeat, start);
/// backup.handle(Event::Peer(State::Active), start).unwrap(); // the primary is up
/// assert_eq!(backup.state(), State::Passive);
/// // a client asks while the primary is alive: turned away
/// let soon = start + heartbeat;
/// assert_eq!(backup.handle(Event::ClientRequest, soon), Err(Refusal::Rejected));
/// // the primary has been silent for two heartbeats: the next request makes the backup active
/// let later = start + 2 * heartbeat;
/// let change = backup.handle(Event::ClientRequest, later).unwrap().unwrap();
/// assert_eq!((change.from, change.to), (State::Passive, State::Active));
/// ```
#[derive(Debug, Clone)]
pub struct Fsm {
    state: State,
    heartbeat: Duration,
    peer_expiry: Instant,
}

impl Fsm {
    /// A machine for `role`, started at `now`; the peer counts as gone if it says nothing for
    /// twice `heartbeat` (the guide's heartbeat is 1 s).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use zmq_patterns::bstar::{Fsm, Role, State};
    /// let fsm = Fsm::new(Role::Primary, Duration::from_secs(1), Instant::now());
    /// assert_eq!(fsm.state(), State::Primary);
    /// ```
    pub fn new(role: Role, heartbeat: Duration, now: Instant) -> Fsm {
        let mut fsm = Fsm {
            state: role.initial_state(),
            heartbeat,
            peer_expiry: now,
        };
        fsm.heard_from_peer(now);
        fsm
    }

    /// The current state.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use zmq_patterns::bstar::{Fsm, Role, State};
    /// let fsm = Fsm::new(Role::Backup, Duration::from_secs(1), Instant::now());
    /// assert_eq!(fsm.state(), State::Backup);
    /// ```
    pub fn state(&self) -> State {
        self.state
    }

    /// The heartbeat the machine was made with.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use zmq_patterns::bstar::{Fsm, Role};
    /// let fsm = Fsm::new(Role::Backup, Duration::from_secs(1), Instant::now());
    /// assert_eq!(fsm.heartbeat(), Duration::from_secs(1));
    /// ```
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// True when the peer has said nothing for twice the heartbeat, at `now`.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use zmq_patterns::bstar::{Fsm, Role};
    /// let start = Instant::now();
    /// let fsm = Fsm::new(Role::Backup, Duration::from_secs(1), start);
    /// assert!(!fsm.peer_is_gone(start));
    /// assert!(fsm.peer_is_gone(start + Duration::from_secs(2)));
    /// ```
    pub fn peer_is_gone(&self, now: Instant) -> bool {
        now >= self.peer_expiry
    }

    /// Applies `event` at `now`.
    ///
    /// `Ok(Some(change))` when the state changed, `Ok(None)` when it did not; for a
    /// [`Event::ClientRequest`] either means "serve it". `Err` refuses the event: see
    /// [`Refusal`]. A peer's state also renews the peer's lease of life, whatever it does.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use zmq_patterns::bstar::{Event, Fsm, Refusal, Role, State};
    /// let now = Instant::now();
    /// let mut fsm = Fsm::new(Role::Primary, Duration::from_secs(1), now);
    /// fsm.handle(Event::Peer(State::Backup), now).unwrap();
    /// assert_eq!(fsm.handle(Event::ClientRequest, now), Ok(None)); // active: serve it
    /// assert_eq!(fsm.handle(Event::Peer(State::Active), now), Err(Refusal::DualActives));
    /// ```
    pub fn handle(&mut self, event: Event, now: Instant) -> Result<Option<Change>, Refusal> {
        use State::*;
        let from = self.state;
        if let Event::Peer(_) = event {
            self.heard_from_peer(now);
        }
        let to = match (from, event) {
            (Primary, Event::Peer(Backup)) => Active,
            (Primary, Event::Peer(Active)) => Passive,
            (Primary | Passive, Event::ClientRequest) if self.peer_is_gone(now) => Active,
            (Primary | Passive | Backup, Event::ClientRequest) => {
                log::trace!("bstar: {from}: client request rejected");
                return Err(Refusal::Rejected);
            }
            (Backup, Event::Peer(Active)) => Passive,
            (Active, Event::Peer(Active)) => return Err(self.fatal(Refusal::DualActives)),
            (Passive, Event::Peer(Primary | Backup)) => Active,
            (Passive, Event::Peer(Passive)) => return Err(self.fatal(Refusal::DualPassives)),
            (_, Event::Peer(_)) | (Active, Event::ClientRequest) => from,
        };
        if to == from {
            return Ok(None);
        }
        self.state = to;
        let change = Change { from, to, event };
        log::debug!("bstar: {change}");
        Ok(Some(change))
    }

    fn heard_from_peer(&mut self, now: Instant) {
        self.peer_expiry = now + self.heartbeat.saturating_mul(2);
    }

    fn fatal(&self, refusal: Refusal) -> Refusal {
        log::warn!("bstar: {} in state {}", refusal, self.state);
        refusal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HB: Duration = Duration::from_millis(1000);

    /// A machine for `role` brought to `state` by the guide's own transitions.
    fn in_state(state: State, start: Instant) -> Fsm {
        let role = if state == State::Backup {
            Role::Backup
        } else {
            Role::Primary
        };
        let mut fsm = Fsm::new(role, HB, start);
        match state {
            State::Primary | State::Backup => {}
            State::Active => {
                fsm.handle(Event::Peer(State::Backup), start).unwrap();
            }
            State::Passive => {
                fsm.handle(Event::Peer(State::Active), start).unwrap();
            }
        }
        assert_eq!(fsm.state(), state);
        fsm
    }

    /// Every state × every event, with the peer alive and with it gone: the full table.
    #[test]
    fn every_transition_is_the_table() {
        use State::*;
        type Expect = Result<State, Refusal>;
        let events = [
            Event::Peer(Primary),
            Event::Peer(Backup),
            Event::Peer(Active),
            Event::Peer(Passive),
            Event::ClientRequest,
        ];
        // rows: state; columns: the events above; (peer alive, peer gone)
        let table: [(State, [(Expect, Expect); 5]); 4] = [
            (
                Primary,
                [
                    (Ok(Primary), Ok(Primary)),
                    (Ok(Active), Ok(Active)),
                    (Ok(Passive), Ok(Passive)),
                    (Ok(Primary), Ok(Primary)),
                    (Err(Refusal::Rejected), Ok(Active)),
                ],
            ),
            (
                Backup,
                [
                    (Ok(Backup), Ok(Backup)),
                    (Ok(Backup), Ok(Backup)),
                    (Ok(Passive), Ok(Passive)),
                    (Ok(Backup), Ok(Backup)),
                    (Err(Refusal::Rejected), Err(Refusal::Rejected)),
                ],
            ),
            (
                Active,
                [
                    (Ok(Active), Ok(Active)),
                    (Ok(Active), Ok(Active)),
                    (Err(Refusal::DualActives), Err(Refusal::DualActives)),
                    (Ok(Active), Ok(Active)),
                    (Ok(Active), Ok(Active)),
                ],
            ),
            (
                Passive,
                [
                    (Ok(Active), Ok(Active)),
                    (Ok(Active), Ok(Active)),
                    (Ok(Passive), Ok(Passive)),
                    (Err(Refusal::DualPassives), Err(Refusal::DualPassives)),
                    (Err(Refusal::Rejected), Ok(Active)),
                ],
            ),
        ];
        let start = Instant::now();
        for (state, row) in table {
            for (event, (alive, gone)) in events.into_iter().zip(row) {
                for (when, expect) in [(start, alive), (start + 2 * HB, gone)] {
                    let mut fsm = in_state(state, start);
                    let got = fsm.handle(event, when);
                    let label = format!("{state} + {event:?} at +{:?}", when - start);
                    match (got, expect) {
                        (Ok(change), Ok(to)) => {
                            assert_eq!(fsm.state(), to, "{label}");
                            assert_eq!(change.is_some(), to != state, "{label}: {change:?}");
                            if let Some(c) = change {
                                assert_eq!((c.from, c.to, c.event), (state, to, event));
                                assert!(!c.to_string().contains("->"), "{label}: no text");
                            }
                        }
                        (Err(refusal), Err(want)) => {
                            assert_eq!(refusal, want, "{label}");
                            assert_eq!(fsm.state(), state, "{label}: state kept");
                        }
                        (got, want) => panic!("{label}: got {got:?}, want {want:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn the_peer_is_gone_after_two_heartbeats_of_silence_and_back_when_heard() {
        let start = Instant::now();
        let mut fsm = in_state(State::Passive, start);
        let just_before = start + 2 * HB - Duration::from_millis(1);
        assert_eq!(
            fsm.handle(Event::ClientRequest, just_before),
            Err(Refusal::Rejected)
        );
        // any state from the peer renews its lease, even one that changes nothing
        fsm.handle(Event::Peer(State::Active), just_before).unwrap();
        let after_first_expiry = start + 3 * HB;
        assert_eq!(
            fsm.handle(Event::ClientRequest, after_first_expiry),
            Err(Refusal::Rejected)
        );
        let gone = just_before + 2 * HB;
        assert!(fsm.peer_is_gone(gone));
        let change = fsm.handle(Event::ClientRequest, gone).unwrap().unwrap();
        assert_eq!(change.to_string(), "failover successful, ready active");
    }

    /// The failback race: the primary restarts while the backup is active after a failover.
    /// It must not serve a client before it hears the backup, and then it goes passive.
    #[test]
    fn a_restarted_primary_does_not_serve_beside_an_active_backup() {
        let start = Instant::now();
        let mut primary = Fsm::new(Role::Primary, HB, start);
        let a_moment = start + HB / 10;
        assert_eq!(
            primary.handle(Event::ClientRequest, a_moment),
            Err(Refusal::Rejected)
        );
        let change = primary
            .handle(Event::Peer(State::Active), start + HB)
            .unwrap()
            .unwrap();
        assert_eq!(change.to, State::Passive);
        assert_eq!(
            primary.handle(Event::ClientRequest, start + HB),
            Err(Refusal::Rejected)
        );
    }

    /// A primary alone (its backup never started) serves once it has waited for the backup.
    #[test]
    fn a_lone_primary_serves_after_waiting_for_its_peer() {
        let start = Instant::now();
        let mut primary = Fsm::new(Role::Primary, HB, start);
        let change = primary
            .handle(Event::ClientRequest, start + 2 * HB)
            .unwrap()
            .unwrap();
        assert_eq!(change.to_string(), "request from client, ready active");
    }

    /// Failover and failback, both servers driven by each other's published states.
    #[test]
    fn a_pair_fails_over_and_back() {
        let t0 = Instant::now();
        let mut p = Fsm::new(Role::Primary, HB, t0);
        let mut b = Fsm::new(Role::Backup, HB, t0);
        // each publishes its state to the other
        b.handle(Event::Peer(p.state()), t0).unwrap();
        p.handle(Event::Peer(b.state()), t0).unwrap();
        b.handle(Event::Peer(p.state()), t0).unwrap();
        assert_eq!((p.state(), b.state()), (State::Active, State::Passive));
        // the primary dies; a client votes on the backup after two silent heartbeats
        let t1 = t0 + 2 * HB;
        b.handle(Event::ClientRequest, t1).unwrap();
        assert_eq!(b.state(), State::Active);
        // the primary comes back and hears the active backup: passive
        let mut p = Fsm::new(Role::Primary, HB, t1);
        p.handle(Event::Peer(b.state()), t1).unwrap();
        b.handle(Event::Peer(p.state()), t1).unwrap();
        assert_eq!((p.state(), b.state()), (State::Passive, State::Active));
        // the backup dies; a client votes on the primary: failback
        let t2 = t1 + 2 * HB;
        p.handle(Event::ClientRequest, t2).unwrap();
        assert_eq!(p.state(), State::Active);
    }

    #[test]
    fn states_round_trip_on_the_wire_and_nothing_else_parses() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_wire().as_bytes()).unwrap(), s);
        }
        for bad in [&b""[..], b"0", b"5", b"3\0", b" 3", b"33", b"\xff"] {
            assert!(State::parse(bad).unwrap_err().is_protocol(), "{bad:?}");
        }
    }
}
