//! The out-of-band snapshot of the Clone pattern (guide chapter 5, "Getting an Out-of-Band
//! Snapshot"; spec 12/CHP, "State Synchronization").
//!
//! A client sends `ICANHAZ?` (and, from Clone model 4 on, a subtree) on a DEALER socket; the
//! server answers on its ROUTER socket with every key-value pair in that subtree, then a
//! `KTHXBAI` message whose sequence number is the server's current one and whose body is the
//! subtree. The client applies the updates it gets on its SUB socket only if their sequence is
//! higher.
//!
//! ```
//! use zmq_patterns::kvmsg::{snapshot, KvMap, KvSimple};
//! let ctx = zmq::Context::new();
//! let server = ctx.socket(zmq::ROUTER).unwrap();
//! server.bind("inproc://snapshot-doc").unwrap();
//! let client = ctx.socket(zmq::DEALER).unwrap();
//! client.connect("inproc://snapshot-doc").unwrap();
//!
//! let mut state = KvMap::default();
//! state.store(KvSimple::new("1234", 7, "v").unwrap()).unwrap();
//!
//! snapshot::request("").send(&client).unwrap();
//! let request = snapshot::SnapshotRequest::recv(&server).unwrap();
//! assert_eq!(snapshot::send(&server, &request, &state, 7).unwrap(), 1);
//!
//! let mut copy: KvMap<KvSimple> = KvMap::default();
//! assert_eq!(snapshot::recv(&client, &mut copy).unwrap(), 7);
//! assert_eq!(copy.get("1234").unwrap().body(), b"v");
//! ```

use super::{KEY_MAX, KeyValue, KvMap};
use crate::error::{Error, Result};
use crate::{Frame, Msg};

/// The snapshot request command.
pub const ICANHAZ: &str = "ICANHAZ?";
/// The key of the message that ends a snapshot.
pub const KTHXBAI: &str = "KTHXBAI";

/// A snapshot request as a server's ROUTER socket reads it: `[client]["ICANHAZ?"]` (Clone
/// models 2–3) or `[client]["ICANHAZ?"][subtree]` (model 4 on, CHP).
///
/// ```
/// use zmq_patterns::kvmsg::SnapshotRequest;
/// use zmq_patterns::Msg;
/// let r = SnapshotRequest::parse(Msg::from_iter(["client", "ICANHAZ?", "/client/"])).unwrap();
/// assert_eq!(r.subtree, "/client/");
/// assert!(SnapshotRequest::parse(Msg::from_iter(["client", "ICANHAZ"])).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// The client's address (the ROUTER's identity frame).
    pub client: Frame,
    /// The subtree asked for: `""` for everything, else `/` then one or more path segments
    /// each ending in `/`.
    pub subtree: String,
}

impl SnapshotRequest {
    /// Parses a message as read from a server's ROUTER socket. Anything but `[client]
    /// ["ICANHAZ?"]` or `[client]["ICANHAZ?"][subtree]`, with a subtree that is empty or
    /// `/segment/.../` of at most [`KEY_MAX`] bytes, is [`Error::Protocol`].
    ///
    /// ```
    /// use zmq_patterns::kvmsg::SnapshotRequest;
    /// use zmq_patterns::Msg;
    /// let r = SnapshotRequest::parse(Msg::from_iter(["c", "ICANHAZ?"])).unwrap();
    /// assert!(r.client == "c" && r.subtree.is_empty());
    /// for bad in [&["c"][..], &["c", "ICANHAZ?", "client"], &["c", "ICANHAZ?", "/a//"],
    ///             &["c", "ICANHAZ?", "", ""]] {
    ///     assert!(SnapshotRequest::parse(Msg::from_iter(bad.iter().copied())).is_err());
    /// }
    /// ```
    pub fn parse(mut msg: Msg) -> Result<SnapshotRequest> {
        if !(2..=3).contains(&msg.len()) {
            return Err(Error::protocol(format!(
                "a snapshot request of {} frames ({} bytes), not 2 or 3",
                msg.len(),
                msg.content_size()
            )));
        }
        if msg[1] != ICANHAZ {
            return Err(Error::protocol(format!(
                "command {:.20?} is not {ICANHAZ}",
                msg[1].to_string_lossy()
            )));
        }
        let subtree = match msg.get(2) {
            Some(frame) => parse_subtree(frame)?,
            None => String::new(),
        };
        let client = msg.pop_front().unwrap_or_default();
        Ok(SnapshotRequest { client, subtree })
    }

    /// Receives the next message whole from a ROUTER socket and parses it. A malformed request
    /// is read whole and comes back as [`Error::Protocol`]: log it and receive again.
    ///
    /// ```
    /// use zmq_patterns::kvmsg::{snapshot, SnapshotRequest};
    /// let ctx = zmq::Context::new();
    /// let server = ctx.socket(zmq::ROUTER).unwrap();
    /// server.bind("inproc://snapshot-request-recv").unwrap();
    /// let client = ctx.socket(zmq::DEALER).unwrap();
    /// client.connect("inproc://snapshot-request-recv").unwrap();
    /// client.send("ICANHAZ", 0).unwrap();
    /// snapshot::request("/a/").send(&client).unwrap();
    /// assert!(SnapshotRequest::recv(&server).unwrap_err().is_protocol());
    /// assert_eq!(SnapshotRequest::recv(&server).unwrap().subtree, "/a/");
    /// ```
    pub fn recv(router: &zmq::Socket) -> Result<SnapshotRequest> {
        let request = Self::parse(Msg::recv(router)?)?;
        log::trace!(
            "snapshot request from {}, subtree {:?}",
            request.client,
            request.subtree
        );
        Ok(request)
    }
}

/// A subtree: empty, or `/` then segments each ending in `/`; UTF-8, at most [`KEY_MAX`] bytes.
fn parse_subtree(frame: &Frame) -> Result<String> {
    let bad = || {
        Error::protocol(format!(
            "subtree {:.40?} ({} bytes) is not empty nor /path/",
            frame.to_string_lossy(),
            frame.len()
        ))
    };
    if frame.len() > KEY_MAX {
        return Err(bad());
    }
    let text = frame.as_str().ok_or_else(bad)?;
    if text.is_empty() {
        return Ok(String::new());
    }
    let inner = text
        .strip_prefix('/')
        .and_then(|t| t.strip_suffix('/'))
        .ok_or_else(bad)?;
    if inner.is_empty() || inner.split('/').any(str::is_empty) {
        return Err(bad());
    }
    Ok(text.to_string())
}

/// The request a client sends on its DEALER socket: `["ICANHAZ?"]` for the whole map (as Clone
/// models 2–3 send it), `["ICANHAZ?"][subtree]` for a subtree.
///
/// ```
/// use zmq_patterns::kvmsg::snapshot;
/// use zmq_patterns::Msg;
/// assert_eq!(snapshot::request(""), Msg::from_iter(["ICANHAZ?"]));
/// assert_eq!(snapshot::request("/client/"), Msg::from_iter(["ICANHAZ?", "/client/"]));
/// ```
pub fn request(subtree: &str) -> Msg {
    let mut msg = Msg::from_iter([ICANHAZ]);
    if !subtree.is_empty() {
        msg.push_back(subtree);
    }
    msg
}

/// The message that ends a snapshot: key `KTHXBAI`, the server's `sequence`, and the subtree as
/// body (spec 12/CHP; the guide's C servers sent an empty body).
///
/// ```
/// use zmq_patterns::kvmsg::{snapshot, KvSimple};
/// let end: KvSimple = snapshot::end(42, "/client/");
/// assert_eq!((end.key(), end.sequence(), end.body()), ("KTHXBAI", 42, &b"/client/"[..]));
/// ```
pub fn end<M: KeyValue>(sequence: u64, subtree: &str) -> M {
    // KTHXBAI is a valid key, and a subtree is at most KEY_MAX bytes: building cannot fail
    M::build(KTHXBAI, sequence, Frame::from(subtree))
        .unwrap_or_else(|_| unreachable!("KTHXBAI is a valid key"))
}

/// Answers `request` on the server's ROUTER socket: every message of `map` in the request's
/// subtree, then [`end`] with `sequence`, each behind the client's address. Returns how many
/// key-value pairs were sent. (A ROUTER drops what it cannot deliver: give the socket a send
/// high-water mark above the map's [`Limits::max_keys`](super::Limits::max_keys).)
///
/// ```
/// use zmq_patterns::kvmsg::{snapshot, KvMap, KvSimple, SnapshotRequest};
/// use zmq_patterns::Frame;
/// let ctx = zmq::Context::new();
/// let router = ctx.socket(zmq::ROUTER).unwrap();
/// let request = SnapshotRequest { client: Frame::from("gone"), subtree: String::new() };
/// let map: KvMap<KvSimple> = KvMap::default();
/// assert_eq!(snapshot::send(&router, &request, &map, 0).unwrap(), 0);
/// ```
pub fn send<M: KeyValue>(
    router: &zmq::Socket,
    request: &SnapshotRequest,
    map: &KvMap<M>,
    sequence: u64,
) -> Result<usize> {
    let mut sent = 0;
    for kv in map.subtree(&request.subtree) {
        let mut msg = kv.to_msg();
        msg.push_front(request.client.clone());
        msg.send(router)?;
        sent += 1;
    }
    let mut msg = end::<M>(sequence, &request.subtree).to_msg();
    msg.push_front(request.client.clone());
    msg.send(router)?;
    log::debug!(
        "snapshot of {sent} pairs (subtree {:?}, sequence {sequence}) sent to {}",
        request.subtree,
        request.client
    );
    Ok(sent)
}

/// Receives a snapshot on a client's DEALER socket into `map`, up to and including the
/// `KTHXBAI` message, and returns its sequence number. A malformed message, or one the map has
/// no room for, is logged (`warn`) and dropped. Set a receive timeout on the socket to bound
/// the wait ([`Error::Timeout`]).
///
/// ```
/// use zmq_patterns::kvmsg::{snapshot, KvMap, KvMsg};
/// let ctx = zmq::Context::new();
/// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
/// a.bind("inproc://snapshot-recv").unwrap();
/// b.connect("inproc://snapshot-recv").unwrap();
/// a.send_multipart(["not", "a", "kvmsg"], 0).unwrap();
/// KvMsg::new("k", 3, "v").unwrap().send(&a).unwrap();
/// snapshot::end::<KvMsg>(5, "").send(&a).unwrap();
/// let mut map: KvMap<KvMsg> = KvMap::default();
/// assert_eq!(snapshot::recv(&b, &mut map).unwrap(), 5);
/// assert_eq!(map.len(), 1);
/// ```
pub fn recv<M: KeyValue>(dealer: &zmq::Socket, map: &mut KvMap<M>) -> Result<u64> {
    loop {
        let kv = match M::parse(Msg::recv(dealer)?) {
            Ok(kv) => kv,
            Err(e) => {
                log::warn!("snapshot: message dropped: {e}");
                continue;
            }
        };
        log::trace!("snapshot in: {kv}");
        if kv.key() == KTHXBAI {
            return Ok(kv.sequence());
        }
        if let Err(full) = map.store(kv) {
            log::warn!("snapshot: {} dropped: {full}", full.msg.key());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kvmsg::KvSimple;

    #[test]
    fn subtrees_are_empty_or_slash_paths() {
        for good in ["", "/a/", "/client/", "/a/b/c/"] {
            assert_eq!(parse_subtree(&Frame::from(good)).unwrap(), good);
        }
        for bad in ["/", "//", "a/", "/a", "/a//b/", "client"] {
            assert!(parse_subtree(&Frame::from(bad)).is_err(), "{bad:?}");
        }
        let long = format!("/{}/", "a".repeat(KEY_MAX));
        assert!(parse_subtree(&Frame::from(long)).is_err());
        assert!(parse_subtree(&Frame::new(b"/\xff/")).is_err());
    }

    #[test]
    fn a_snapshot_holds_the_subtree_and_ends_with_it() {
        let ctx = zmq::Context::new();
        let server = ctx.socket(zmq::ROUTER).unwrap();
        server.bind("inproc://snapshot-subtree").unwrap();
        let client = ctx.socket(zmq::DEALER).unwrap();
        client.connect("inproc://snapshot-subtree").unwrap();
        let mut map = KvMap::default();
        for (i, key) in ["/a/1", "/b/1", "/a/2"].into_iter().enumerate() {
            map.store(KvSimple::new(key, i as u64 + 1, "v").unwrap())
                .unwrap();
        }
        request("/a/").send(&client).unwrap();
        let req = SnapshotRequest::recv(&server).unwrap();
        assert_eq!(send(&server, &req, &map, 3).unwrap(), 2);
        let mut got = Vec::new();
        loop {
            let kv = KvSimple::recv(&client).unwrap();
            if kv.key() == KTHXBAI {
                assert_eq!((kv.sequence(), kv.body()), (3, &b"/a/"[..]));
                break;
            }
            got.push(kv.key().to_string());
        }
        assert_eq!(got, ["/a/1", "/a/2"]);
    }
}
