//! Titanic (spec 9/TSP): disconnected, durable request-reply on top of Majordomo, from chapter 4
//! of the guide. A client hands a request to `titanic.request` and gets a UUID back once the
//! request is on disk; it asks `titanic.reply` for the reply later (`200` with the reply, `300`
//! while pending, `400` if unknown) and ends with `titanic.close`. A dispatcher sends stored
//! requests to their services and stores the replies.
//!
//! This module has the parts an application needs: [`Uuid`] (validated, so that no name a peer
//! sends can reach outside the store), [`Store`] (the disk store, written atomically and synced
//! before a UUID is returned), the three services as functions from request to reply
//! ([`Store::serve_request`], [`Store::serve_reply`], [`Store::serve_close`]),
//! [`Store::dispatch`] for one stored request, and [`Dispatcher`], which chooses the request to
//! dispatch next so that a service that does not answer cannot hold up the others. The
//! `titanic` example binary runs them as MDP workers and a dispatcher thread.
//!
//! The store never follows a symbolic link: every file is opened with `O_NOFOLLOW`, and a link
//! (or a directory, FIFO, ...) found where a request, reply or temporary file should be is
//! logged and taken as absent. Renames and removals act on the link itself, never on what it
//! points to.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;

use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::msg::Msg;

/// Reply code: success.
pub const OK: &str = "200";
/// Reply code: the reply is not there yet.
pub const PENDING: &str = "300";
/// Reply code: no such request (or not a valid UUID).
pub const UNKNOWN: &str = "400";
/// Reply code: the request could not be stored or was refused.
pub const FAILED: &str = "500";

/// A request's identifier: 32 uppercase hex digits, as the guide's titanic makes them.
///
/// Parsing accepts only 32 hex digits (any case), so a UUID from a peer can never name a file
/// outside the store: `../../etc/passwd` is not a UUID.
///
/// ```
/// use zmq_patterns::titanic::Uuid;
/// let id = Uuid::random();
/// assert_eq!(id.as_str().len(), 32);
/// assert_eq!(Uuid::parse(id.as_str().as_bytes()).unwrap(), id);
/// assert!(Uuid::parse(b"../../x").is_err());
/// assert!(Uuid::parse(b"0123456789abcdef0123456789ABCDEF").is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(String);

impl Uuid {
    /// A new random UUID.
    ///
    /// ```
    /// assert_ne!(zmq_patterns::titanic::Uuid::random(), zmq_patterns::titanic::Uuid::random());
    /// ```
    pub fn random() -> Uuid {
        let bytes: [u8; 16] = rand::thread_rng().r#gen();
        Uuid(crate::frame::hex(&bytes))
    }

    /// Validates a UUID sent by a peer: exactly 32 hex digits.
    ///
    /// ```
    /// assert!(zmq_patterns::titanic::Uuid::parse(b"").is_err());
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Uuid> {
        if bytes.len() == 32 && bytes.iter().all(u8::is_ascii_hexdigit) {
            // ASCII hex digits are valid UTF-8.
            let s = String::from_utf8_lossy(bytes).to_ascii_uppercase();
            Ok(Uuid(s))
        } else {
            Err(Error::protocol(format!(
                "not a UUID (32 hex digits): {:.40}",
                Frame::new(bytes)
            )))
        }
    }

    /// The UUID as text.
    ///
    /// ```
    /// assert!(zmq_patterns::titanic::Uuid::random().as_str().chars().all(|c| c.is_ascii_hexdigit()));
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `titanic.reply` finds for a UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyStatus {
    /// The reply is stored.
    Ready(Msg),
    /// The request is stored, its reply not yet.
    Pending,
    /// Neither is there.
    Unknown,
}

/// The disk store: one directory, `<UUID>.req` and `<UUID>.rep` files, each a message written
/// to a temporary file (`<UUID>.tmp`), synced and renamed into place, so a file is either whole
/// or absent. A temporary is removed when its write fails, and [`Store::open`] removes those a
/// crash left behind. Links and other files that are not regular files are never followed or
/// read (see the [module documentation](crate::titanic)).
///
/// ```
/// use zmq_patterns::{titanic::{ReplyStatus, Store}, Msg};
/// let dir = std::env::temp_dir().join(format!("titanic-doc-{}", std::process::id()));
/// let store = Store::open(&dir).unwrap();
/// let id = store.save_request(&Msg::from_iter(["echo", "Hello"])).unwrap();
/// assert_eq!(store.status(&id).unwrap(), ReplyStatus::Pending);
/// store.save_reply(&id, &Msg::from_iter(["Hello"])).unwrap();
/// assert!(matches!(store.status(&id).unwrap(), ReplyStatus::Ready(_)));
/// store.close(&id).unwrap();
/// assert_eq!(store.status(&id).unwrap(), ReplyStatus::Unknown);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    max_request_bytes: usize,
    max_reply_bytes: usize,
    max_requests: usize,
    /// Requests on disk (`<UUID>.req`), shared by the clones each service thread holds.
    stored: Arc<AtomicUsize>,
}

/// Most requests the store holds by default, answered or not: with the default request size
/// limit, at most about 100 GB of disk for requests a client never closes.
pub const DEFAULT_MAX_REQUESTS: usize = 100_000;

/// Largest request the store accepts by default (all frames together).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1 << 20;

/// Largest reply the store keeps by default (all frames together): the default
/// [`BrokerConfig::max_msg_size`](crate::mdp::BrokerConfig::max_msg_size), so that whatever a
/// default broker passes on fits.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 16 << 20;

impl Store {
    /// Opens (creating if needed) the store in `dir`, and removes the temporary files
    /// (`<UUID>.tmp`) that an earlier run left behind when it stopped in the middle of a write.
    /// One directory is for one running store: a second one opened on it would remove the
    /// first one's temporaries.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("titanic-open-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let stale = dir.join("0123456789ABCDEF0123456789ABCDEF.tmp");
    /// std::fs::write(&stale, b"half a message").unwrap();
    /// let store = zmq_patterns::titanic::Store::open(&dir).unwrap();
    /// assert!(dir.is_dir() && !stale.exists());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        fs::create_dir_all(dir.as_ref())?;
        let store = Store {
            dir: dir.as_ref().to_path_buf(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            max_requests: DEFAULT_MAX_REQUESTS,
            stored: Arc::new(AtomicUsize::new(0)),
        };
        store.remove_temporaries()?;
        let stored = store.requests(|_, _| ())?;
        store.stored.store(stored, Ordering::Relaxed);
        Ok(store)
    }

    /// Removes every `<UUID>.tmp` in the store (a link is unlinked, not followed).
    fn remove_temporaries(&self) -> Result<()> {
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".tmp")) else {
                continue;
            };
            if Uuid::parse(stem.as_bytes()).is_err() {
                continue; // not a name the store makes: not ours to remove
            }
            let path = self.dir.join(&name);
            match fs::remove_file(&path) {
                Ok(()) => log::info!(
                    "titanic: removed {}, left by an earlier run",
                    path.display()
                ),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("titanic: cannot remove {}: {e}", path.display()),
            }
        }
        Ok(())
    }

    /// Sets the largest request accepted, in bytes (default 1 MiB).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-max-{}", std::process::id()));
    /// let mut store = zmq_patterns::titanic::Store::open(&dir).unwrap();
    /// store.set_max_request_bytes(4096);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn set_max_request_bytes(&mut self, bytes: usize) {
        self.max_request_bytes = bytes;
    }

    /// Sets the largest reply kept, in bytes (default 16 MiB). [`Store::dispatch`] drops a
    /// request whose reply is larger (logged), so its client hears `400` rather than waiting
    /// for ever.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-maxrep-{}", std::process::id()));
    /// use zmq_patterns::{titanic::Store, Msg};
    /// let mut store = Store::open(&dir).unwrap();
    /// store.set_max_reply_bytes(4);
    /// let id = store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
    /// assert!(store.save_reply(&id, &Msg::from_iter(["too long"])).is_err());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn set_max_reply_bytes(&mut self, bytes: usize) {
        self.max_reply_bytes = bytes;
    }

    /// Sets the most requests the store holds, answered or not (default
    /// [`DEFAULT_MAX_REQUESTS`]); beyond it [`Store::save_request`] refuses new ones (and
    /// `titanic.request` answers `500`) until clients close theirs or [`Store::expire`] removes
    /// old ones.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-maxn-{}", std::process::id()));
    /// use zmq_patterns::{titanic::Store, Msg};
    /// let mut store = Store::open(&dir).unwrap();
    /// store.set_max_requests(1);
    /// let id = store.save_request(&Msg::from_iter(["echo", "1"])).unwrap();
    /// assert!(store.save_request(&Msg::from_iter(["echo", "2"])).is_err()); // full
    /// store.close(&id).unwrap();
    /// assert!(store.save_request(&Msg::from_iter(["echo", "3"])).is_ok());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn set_max_requests(&mut self, requests: usize) {
        self.max_requests = requests;
    }

    /// How many requests the store holds (answered or not).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-len-{}", std::process::id()));
    /// let store = zmq_patterns::titanic::Store::open(&dir).unwrap();
    /// assert_eq!(store.len(), 0);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn len(&self) -> usize {
        self.stored.load(Ordering::Relaxed)
    }

    /// True when the store holds no request.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-empty-{}", std::process::id()));
    /// assert!(zmq_patterns::titanic::Store::open(&dir).unwrap().is_empty());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every request (and its reply) stored longer ago than `max_age`: those whose
    /// clients never closed them. Returns how many it removed. Titanic calls it from time to
    /// time, so that what the store holds for clients expires.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-expire-{}", std::process::id()));
    /// use std::time::Duration;
    /// use zmq_patterns::{titanic::Store, Msg};
    /// let store = Store::open(&dir).unwrap();
    /// store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
    /// assert_eq!(store.expire(Duration::from_secs(3600)).unwrap(), 0); // too young
    /// assert_eq!(store.expire(Duration::ZERO).unwrap(), 1);
    /// assert!(store.is_empty());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn expire(&self, max_age: Duration) -> Result<usize> {
        let now = SystemTime::now();
        let mut old = Vec::new();
        self.requests(|id, meta| {
            let age = meta
                .modified()
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or(Duration::ZERO);
            if age >= max_age {
                old.push(id);
            }
        })?;
        for id in &old {
            log::debug!("titanic: request {id} expired");
            self.close(id)?;
        }
        Ok(old.len())
    }

    /// Calls `each` with every stored request's UUID and file metadata (`<UUID>.req`, regular
    /// files only: a link is not followed); returns how many there are.
    fn requests(&self, mut each: impl FnMut(Uuid, &fs::Metadata)) -> Result<usize> {
        let mut n = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".req")) else {
                continue;
            };
            let Ok(id) = Uuid::parse(stem.as_bytes()) else {
                continue;
            };
            // The entry's own metadata: a link is not followed.
            let Ok(meta) = entry.metadata() else {
                continue; // removed meanwhile
            };
            if !meta.file_type().is_file() {
                let path = entry.path();
                log::warn!("titanic: {} is not a regular file: skipped", path.display());
                continue;
            }
            n += 1;
            each(id, &meta);
        }
        Ok(n)
    }

    /// The store's directory.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-dir-{}", std::process::id()));
    /// let store = zmq_patterns::titanic::Store::open(&dir).unwrap();
    /// assert_eq!(store.dir(), dir.as_path());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &Uuid, ext: &str) -> PathBuf {
        // `id` is 32 hex digits by construction: the name cannot leave the directory.
        self.dir.join(format!("{}.{ext}", id.as_str()))
    }

    /// Writes `msg` to `path` whole: to `<UUID>.tmp`, synced, then renamed over `path`. A
    /// rename replaces a link at `path` instead of following it. On any failure the temporary
    /// is removed.
    fn write(&self, path: &Path, msg: &Msg) -> Result<()> {
        let tmp = path.with_extension("tmp");
        let written = encode(msg)
            .and_then(|bytes| write_new(&tmp, &bytes))
            .and_then(|()| fs::rename(&tmp, path));
        if let Err(e) = written {
            match fs::remove_file(&tmp) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("titanic: cannot remove {}: {e}", tmp.display()),
            }
            return Err(e.into());
        }
        // Make the rename itself durable.
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The message in `path`; `None` if there is no regular file there (nothing, or a link, a
    /// directory, a FIFO..., which is logged). A file that does not decode is an error.
    fn read(&self, path: &Path) -> Result<Option<Msg>> {
        // O_NOFOLLOW: a link is not opened but refused (ELOOP); O_NONBLOCK: opening a FIFO
        // does not wait for a writer (no effect on a regular file).
        let opened = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path);
        let mut file = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                log::warn!(
                    "titanic: {} is a symbolic link: not followed",
                    path.display()
                );
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        if !file.metadata()?.is_file() {
            log::warn!("titanic: {} is not a regular file: ignored", path.display());
            return Ok(None);
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        decode(&bytes)
            .map(Some)
            .ok_or_else(|| corrupt(format!("corrupt file {}", path.display())))
    }

    /// True if `path` is a regular file; a link (not followed) or anything else that is not a
    /// regular file is logged and counts as absent.
    fn is_file(&self, path: &Path) -> Result<bool> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_file() => Ok(true),
            Ok(m) => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link: not followed"
                } else {
                    "not a regular file: ignored"
                };
                log::warn!("titanic: {} is {what}", path.display());
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a request (`[service][body...]`) and returns its new UUID; the file is on disk
    /// when this returns. Refuses an empty or oversized request.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-save-{}", std::process::id()));
    /// let store = zmq_patterns::titanic::Store::open(&dir).unwrap();
    /// assert!(store.save_request(&zmq_patterns::Msg::new()).is_err());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn save_request(&self, request: &Msg) -> Result<Uuid> {
        if request.len() < 2 {
            return Err(Error::protocol("a request needs a service and a body"));
        }
        if request.content_size() > self.max_request_bytes {
            return Err(Error::protocol(format!(
                "request of {} bytes is over the limit of {}",
                request.content_size(),
                self.max_request_bytes
            )));
        }
        if self.len() >= self.max_requests {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("the store holds {} requests, its limit", self.len()),
            )));
        }
        let id = Uuid::random();
        self.write(&self.path(&id, "req"), request)?;
        self.stored.fetch_add(1, Ordering::Relaxed);
        log::debug!(
            "titanic: request {id} for {:.64} stored ({} bytes)",
            request[0],
            request.content_size()
        );
        Ok(id)
    }

    /// The stored request `[service][body...]`, if there is one.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-load-{}", std::process::id()));
    /// # let store = zmq_patterns::titanic::Store::open(&dir).unwrap();
    /// let id = store.save_request(&zmq_patterns::Msg::from_iter(["echo", "x"])).unwrap();
    /// assert_eq!(store.request(&id).unwrap().unwrap().len(), 2);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn request(&self, id: &Uuid) -> Result<Option<Msg>> {
        self.read(&self.path(id, "req"))
    }

    /// Stores the reply to request `id`.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("titanic-rep-{}", std::process::id()));
    /// # let store = zmq_patterns::titanic::Store::open(&dir).unwrap();
    /// let id = store.save_request(&zmq_patterns::Msg::from_iter(["echo", "x"])).unwrap();
    /// store.save_reply(&id, &zmq_patterns::Msg::from_iter(["x"])).unwrap();
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn save_reply(&self, id: &Uuid, reply: &Msg) -> Result<()> {
        if reply.content_size() > self.max_reply_bytes {
            return Err(Error::protocol(format!(
                "reply of {} bytes is over the limit of {}",
                reply.content_size(),
                self.max_reply_bytes
            )));
        }
        self.write(&self.path(id, "rep"), reply)?;
        log::debug!(
            "titanic: reply to {id} stored ({} bytes)",
            reply.content_size()
        );
        Ok(())
    }

    /// What `titanic.reply` would answer for `id`.
    ///
    /// ```
    /// # use zmq_patterns::titanic::{ReplyStatus, Store, Uuid};
    /// # let dir = std::env::temp_dir().join(format!("titanic-status-{}", std::process::id()));
    /// # let store = Store::open(&dir).unwrap();
    /// assert_eq!(store.status(&Uuid::random()).unwrap(), ReplyStatus::Unknown);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn status(&self, id: &Uuid) -> Result<ReplyStatus> {
        if let Some(reply) = self.read(&self.path(id, "rep"))? {
            return Ok(ReplyStatus::Ready(reply));
        }
        Ok(if self.is_file(&self.path(id, "req"))? {
            ReplyStatus::Pending
        } else {
            ReplyStatus::Unknown
        })
    }

    /// Deletes request `id` and its reply (a missing file is not an error; a link is removed,
    /// never what it points to).
    ///
    /// ```
    /// # use zmq_patterns::titanic::{Store, Uuid};
    /// # let dir = std::env::temp_dir().join(format!("titanic-close-{}", std::process::id()));
    /// # let store = Store::open(&dir).unwrap();
    /// store.close(&Uuid::random()).unwrap();
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn close(&self, id: &Uuid) -> Result<()> {
        for ext in ["req", "rep"] {
            match fs::remove_file(self.path(id, ext)) {
                Ok(()) if ext == "req" => {
                    let _ = self
                        .stored
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                            Some(n.saturating_sub(1))
                        });
                }
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        log::debug!("titanic: request {id} closed");
        Ok(())
    }

    /// The stored requests that have no reply yet, oldest first: the dispatcher's queue after
    /// a restart. A `<UUID>.req` that is a link (or not a regular file) is logged and skipped.
    ///
    /// ```
    /// # use zmq_patterns::{titanic::Store, Msg};
    /// # let dir = std::env::temp_dir().join(format!("titanic-pending-{}", std::process::id()));
    /// # let store = Store::open(&dir).unwrap();
    /// let id = store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
    /// assert_eq!(store.pending().unwrap(), vec![id]);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn pending(&self) -> Result<Vec<Uuid>> {
        let mut found = Vec::new();
        self.requests(|id, meta| {
            if !matches!(self.is_file(&self.path(&id, "rep")), Ok(true)) {
                found.push((meta.modified().ok(), id));
            }
        })?;
        found.sort();
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    /// `titanic.request`: stores `[service][body...]`, answers `[200][uuid]` (or `[500]`).
    /// Returns the reply and, on success, the new UUID for the dispatcher.
    ///
    /// ```
    /// # use zmq_patterns::{titanic::Store, Msg};
    /// # let dir = std::env::temp_dir().join(format!("titanic-sreq-{}", std::process::id()));
    /// # let store = Store::open(&dir).unwrap();
    /// let (reply, id) = store.serve_request(Msg::from_iter(["echo", "Hello"]));
    /// assert!(reply[0] == "200" && id.is_some());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn serve_request(&self, request: Msg) -> (Msg, Option<Uuid>) {
        match self.save_request(&request) {
            Ok(id) => (Msg::from_iter([OK, id.as_str()]), Some(id)),
            Err(e) => {
                log::warn!("titanic.request refused: {e}");
                (Msg::from_iter([FAILED]), None)
            }
        }
    }

    /// `titanic.reply`: `[uuid]` answered with `[200][reply...]`, `[300]` or `[400]` (also for
    /// anything that is not a UUID).
    ///
    /// ```
    /// # use zmq_patterns::{titanic::Store, Msg};
    /// # let dir = std::env::temp_dir().join(format!("titanic-srep-{}", std::process::id()));
    /// # let store = Store::open(&dir).unwrap();
    /// assert!(store.serve_reply(Msg::from_iter(["../../etc/passwd"]))[0] == "400");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn serve_reply(&self, request: Msg) -> Msg {
        let Some(id) = parse_uuid_request(&request) else {
            return Msg::from_iter([UNKNOWN]);
        };
        match self.status(&id) {
            Ok(ReplyStatus::Ready(mut reply)) => {
                log::trace!("titanic.reply {id}: 200 (ready)");
                reply.push_front(OK);
                reply
            }
            Ok(ReplyStatus::Pending) => {
                log::trace!("titanic.reply {id}: 300 (pending)");
                Msg::from_iter([PENDING])
            }
            Ok(ReplyStatus::Unknown) => {
                log::trace!("titanic.reply {id}: 400 (unknown)");
                Msg::from_iter([UNKNOWN])
            }
            Err(e) => {
                log::warn!("titanic.reply {id}: {e}");
                Msg::from_iter([FAILED])
            }
        }
    }

    /// `titanic.close`: `[uuid]` deletes the request and reply, answered with `[200]`
    /// (`[400]` for anything that is not a UUID).
    ///
    /// ```
    /// # use zmq_patterns::{titanic::{Store, Uuid}, Msg};
    /// # let dir = std::env::temp_dir().join(format!("titanic-sclose-{}", std::process::id()));
    /// # let store = Store::open(&dir).unwrap();
    /// assert!(store.serve_close(Msg::from_iter([Uuid::random().as_str()]))[0] == "200");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn serve_close(&self, request: Msg) -> Msg {
        let Some(id) = parse_uuid_request(&request) else {
            return Msg::from_iter([UNKNOWN]);
        };
        match self.close(&id) {
            Ok(()) => Msg::from_iter([OK]),
            Err(e) => {
                log::warn!("titanic.close {id}: {e}");
                Msg::from_iter([FAILED])
            }
        }
    }

    /// Sends stored request `id` to its service through `client` if `mmi.service` says the
    /// service has workers, and stores the reply. Tells what came of it: [`Dispatched::Done`]
    /// once the request is done (its reply stored, or the request gone or unreadable, which is
    /// logged), otherwise why it is to be tried again later. Errors are the store's (a reply
    /// that cannot be written) and the client's (an interrupt).
    ///
    /// ```no_run
    /// # use zmq_patterns::{mdp, titanic::{Dispatched, Store}, Msg};
    /// # let store = Store::open(".titanic").unwrap();
    /// let ctx = zmq::Context::new();
    /// let mut client = mdp::Client::new(&ctx, "tcp://localhost:5555").unwrap();
    /// for id in store.pending().unwrap() {
    ///     if store.dispatch(&id, &mut client).unwrap() != Dispatched::Done {
    ///         println!("{id}: later");
    ///     }
    /// }
    /// ```
    pub fn dispatch(&self, id: &Uuid, client: &mut crate::mdp::Client) -> Result<Dispatched> {
        let mut request = match self.request(id) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(Dispatched::Done), // closed meanwhile
            Err(e) if is_corrupt(&e) => {
                // Trying again will not help; the file stays for the client's close.
                log::warn!("titanic: request {id} dropped: {e}");
                return Ok(Dispatched::Done);
            }
            Err(e) => return Err(e),
        };
        let Some(service) = request.pop_front() else {
            log::warn!("titanic: request {id} is empty; dropped");
            return Ok(Dispatched::Done);
        };
        let Some(service_name) = service.as_str().map(str::to_owned) else {
            log::warn!("titanic: request {id} names a service that is not text; dropped");
            return Ok(Dispatched::Done);
        };
        match client.send("mmi.service", Msg::from(service)) {
            Ok(reply) if reply.front().is_some_and(|f| f == OK) => {}
            Ok(_) => {
                log::debug!("titanic: request {id}: no worker for {service_name:.64} yet");
                return Ok(Dispatched::NoWorker);
            }
            Err(Error::Timeout) => {
                log::debug!("titanic: request {id}: the broker does not answer mmi.service");
                return Ok(Dispatched::BrokerSilent);
            }
            Err(e) => return Err(e),
        }
        log::debug!("titanic: request {id} dispatched to {service_name:.64}");
        match client.send(&service_name, request) {
            Ok(reply) if reply.content_size() > self.max_reply_bytes => {
                log::warn!(
                    "titanic: request {id} dropped: its reply of {} bytes is over the limit of {}",
                    reply.content_size(),
                    self.max_reply_bytes
                );
                self.close(id)?;
                Ok(Dispatched::Done)
            }
            Ok(reply) => {
                self.save_reply(id, &reply)?;
                // A close that came while the request was out would leave this reply behind
                // for ever (no request, so never pending, yet answered 200): take it back.
                if !self.is_file(&self.path(id, "req"))? {
                    self.close(id)?;
                }
                Ok(Dispatched::Done)
            }
            Err(e @ Error::Timeout) | Err(e @ Error::Protocol(_)) => {
                log::debug!("titanic: request {id}: no reply from {service_name:.64}: {e}");
                Ok(Dispatched::NoReply)
            }
            Err(e) => Err(e),
        }
    }
}

/// What came of one [`Store::dispatch`].
///
/// ```
/// use zmq_patterns::titanic::Dispatched;
/// assert_ne!(Dispatched::Done, Dispatched::NoReply);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dispatched {
    /// Nothing more to do: the reply is stored, or the request is gone (or unreadable).
    Done,
    /// `mmi.service` says the service has no worker now.
    NoWorker,
    /// The service has workers, but no reply (or no valid one) came in time.
    NoReply,
    /// The broker did not answer `mmi.service` in time.
    BrokerSilent,
}

/// The dispatcher's queue of pending requests, by service: it chooses which request
/// [`Store::dispatch`] should try next, so that a service that does not answer cannot hold up
/// the others.
///
/// Services take turns, one request each (round-robin); within a service, oldest first. After
/// [`Dispatched::NoWorker`] a service waits the retry interval; after [`Dispatched::NoReply`]
/// it backs off: the retry interval, then twice as long each time it fails again, up to the
/// maximum back-off, and back to no wait once a request to it is done. A request that was not
/// done goes to the back of its service's queue, so that one bad request cannot block its
/// service either. After [`Dispatched::BrokerSilent`] every service waits the retry interval.
/// So a dispatcher that waits `timeout` for each reply loses at most one `timeout` per
/// back-off period to each unresponsive service.
///
/// ```
/// use std::time::{Duration, Instant};
/// use zmq_patterns::titanic::{Dispatched, Dispatcher, Uuid};
/// let mut queue = Dispatcher::new(Duration::from_secs(1));
/// let (stuck, echo) = (Uuid::random(), Uuid::random());
/// queue.add(stuck.clone(), "stuck");
/// queue.add(echo.clone(), "echo");
/// let now = Instant::now();
/// assert_eq!(queue.next(now), Some(stuck.clone()));
/// queue.report(&stuck, Dispatched::NoReply, now); // "stuck" backs off
/// assert_eq!(queue.next(now), Some(echo.clone()));
/// queue.report(&echo, Dispatched::Done, now);
/// assert_eq!(queue.next(now), None);
/// assert_eq!(queue.next_due(now), Some(Duration::from_secs(1)));
/// assert_eq!(queue.next(now + Duration::from_secs(1)), Some(stuck));
/// ```
#[derive(Debug)]
pub struct Dispatcher {
    /// The services with pending requests.
    services: HashMap<String, ServiceQueue>,
    /// The same services in turn order: the front one is asked first.
    turns: VecDeque<String>,
    /// The service of each pending request.
    service_of: HashMap<Uuid, String>,
    /// No dispatch before this (the broker was silent).
    paused_until: Option<Instant>,
    retry: Duration,
    max_backoff: Duration,
}

#[derive(Debug, Default)]
struct ServiceQueue {
    ids: VecDeque<Uuid>,
    /// Not tried again before this.
    not_before: Option<Instant>,
    /// The current back-off, after a request to it got no reply.
    backoff: Option<Duration>,
}

/// The longest a service backs off by default.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Dispatcher {
    /// An empty queue; `retry` is how long a service without workers (or everything, when the
    /// broker is silent) waits before it is tried again, and the first back-off of a service
    /// that did not answer. The maximum back-off is [`DEFAULT_MAX_BACKOFF`].
    ///
    /// ```
    /// let queue = zmq_patterns::titanic::Dispatcher::new(std::time::Duration::from_secs(1));
    /// assert!(queue.is_empty());
    /// ```
    pub fn new(retry: Duration) -> Dispatcher {
        Dispatcher {
            services: HashMap::new(),
            turns: VecDeque::new(),
            service_of: HashMap::new(),
            paused_until: None,
            retry,
            max_backoff: DEFAULT_MAX_BACKOFF.max(retry),
        }
    }

    /// Sets the longest a service that does not answer backs off (at least the retry
    /// interval).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let mut queue = zmq_patterns::titanic::Dispatcher::new(Duration::from_secs(1));
    /// queue.set_max_backoff(Duration::from_secs(10));
    /// ```
    pub fn set_max_backoff(&mut self, max: Duration) {
        self.max_backoff = max.max(self.retry);
    }

    /// Queues request `id` for `service`; false if it is queued already.
    ///
    /// ```
    /// # use zmq_patterns::titanic::{Dispatcher, Uuid};
    /// let mut queue = Dispatcher::new(std::time::Duration::from_secs(1));
    /// let id = Uuid::random();
    /// assert!(queue.add(id.clone(), "echo"));
    /// assert!(!queue.add(id, "echo"));
    /// assert_eq!(queue.len(), 1);
    /// ```
    pub fn add(&mut self, id: Uuid, service: &str) -> bool {
        if self.service_of.contains_key(&id) {
            return false;
        }
        let queue = match self.services.get_mut(service) {
            Some(queue) => queue,
            None => {
                self.turns.push_back(service.to_string());
                self.services.entry(service.to_string()).or_default()
            }
        };
        queue.ids.push_back(id.clone());
        self.service_of.insert(id, service.to_string());
        true
    }

    /// Queues every pending request of `store`, oldest first (after a restart). A request that
    /// cannot be read is logged and left out. Returns how many were queued.
    ///
    /// ```
    /// # use zmq_patterns::{titanic::{Dispatcher, Store}, Msg};
    /// # let dir = std::env::temp_dir().join(format!("titanic-load-{}", std::process::id()));
    /// # let store = Store::open(&dir).unwrap();
    /// store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
    /// let mut queue = Dispatcher::new(std::time::Duration::from_secs(1));
    /// assert_eq!(queue.load(&store).unwrap(), 1);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn load(&mut self, store: &Store) -> Result<usize> {
        let mut queued = 0;
        for id in store.pending()? {
            let service = match store.request(&id) {
                Ok(Some(request)) => match request.front() {
                    Some(service) => service.to_string_lossy(),
                    None => String::new(), // dispatch drops it
                },
                Ok(None) => continue, // closed meanwhile
                Err(e) => {
                    log::warn!("titanic: request {id} left out: {e}");
                    continue;
                }
            };
            if self.add(id, &service) {
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// How many requests are queued.
    ///
    /// ```
    /// # use zmq_patterns::titanic::{Dispatcher, Uuid};
    /// let mut queue = Dispatcher::new(std::time::Duration::from_secs(1));
    /// queue.add(Uuid::random(), "echo");
    /// assert_eq!(queue.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.service_of.len()
    }

    /// True if no request is queued.
    ///
    /// ```
    /// assert!(zmq_patterns::titanic::Dispatcher::new(std::time::Duration::ZERO).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.service_of.is_empty()
    }

    /// The request to dispatch now: the oldest of the next service in turn that is not waiting;
    /// `None` if every service with requests is waiting (or there are none). Each call moves
    /// the turn on, so the services alternate; [`Dispatcher::report`] the outcome.
    ///
    /// ```
    /// # use zmq_patterns::titanic::{Dispatcher, Dispatched, Uuid};
    /// let mut queue = Dispatcher::new(std::time::Duration::from_secs(1));
    /// let (a1, a2, b1) = (Uuid::random(), Uuid::random(), Uuid::random());
    /// queue.add(a1.clone(), "a");
    /// queue.add(a2.clone(), "a");
    /// queue.add(b1.clone(), "b");
    /// let now = std::time::Instant::now();
    /// for want in [a1, b1, a2] {
    ///     let id = queue.next(now).unwrap();
    ///     assert_eq!(id, want);
    ///     queue.report(&id, Dispatched::Done, now);
    /// }
    /// assert!(queue.is_empty());
    /// ```
    pub fn next(&mut self, now: Instant) -> Option<Uuid> {
        if let Some(until) = self.paused_until {
            if now < until {
                return None;
            }
            self.paused_until = None;
        }
        for _ in 0..self.turns.len() {
            let service = self.turns.pop_front()?;
            let queue = self.services.get(&service);
            self.turns.push_back(service);
            let Some(queue) = queue else { continue };
            if queue.not_before.is_none_or(|t| t <= now) {
                if let Some(id) = queue.ids.front() {
                    return Some(id.clone());
                }
            }
        }
        None
    }

    /// Records what [`Store::dispatch`] made of request `id` (as returned by
    /// [`Dispatcher::next`]): a done request leaves the queue; otherwise its service waits, see
    /// [`Dispatcher`]. An error of the store can be reported as [`Dispatched::NoReply`]: the
    /// request is tried again after a back-off.
    ///
    /// ```
    /// # use zmq_patterns::titanic::{Dispatcher, Dispatched, Uuid};
    /// let mut queue = Dispatcher::new(std::time::Duration::from_secs(1));
    /// let id = Uuid::random();
    /// queue.add(id.clone(), "echo");
    /// let now = std::time::Instant::now();
    /// queue.report(&id, Dispatched::NoWorker, now);
    /// assert_eq!(queue.next(now), None);
    /// ```
    pub fn report(&mut self, id: &Uuid, outcome: Dispatched, now: Instant) {
        let Some(service) = self.service_of.get(id) else {
            return;
        };
        let Some(queue) = self.services.get_mut(service) else {
            return;
        };
        match outcome {
            Dispatched::Done => {
                queue.ids.retain(|queued| queued != id);
                queue.not_before = None;
                queue.backoff = None;
                if queue.ids.is_empty() {
                    let service = service.clone();
                    self.services.remove(&service);
                    self.turns.retain(|s| *s != service);
                }
                self.service_of.remove(id);
            }
            Dispatched::NoWorker | Dispatched::NoReply => {
                if let Some(at) = queue.ids.iter().position(|queued| queued == id) {
                    if let Some(id) = queue.ids.remove(at) {
                        queue.ids.push_back(id);
                    }
                }
                let wait = if outcome == Dispatched::NoReply {
                    let backoff = queue
                        .backoff
                        .map_or(self.retry, |b| b.saturating_mul(2).min(self.max_backoff));
                    queue.backoff = Some(backoff);
                    backoff
                } else {
                    self.retry
                };
                log::debug!("titanic: service {service:.64} tried again in {wait:?}");
                queue.not_before = Some(now + wait);
            }
            Dispatched::BrokerSilent => {
                log::debug!(
                    "titanic: broker silent; dispatching again in {:?}",
                    self.retry
                );
                self.paused_until = Some(now + self.retry);
            }
        }
    }

    /// How long until [`Dispatcher::next`] has a request: zero if it has one now, `None` if
    /// nothing is queued.
    ///
    /// ```
    /// # use zmq_patterns::titanic::{Dispatcher, Uuid};
    /// # use std::time::{Duration, Instant};
    /// let mut queue = Dispatcher::new(Duration::from_secs(1));
    /// assert_eq!(queue.next_due(Instant::now()), None);
    /// queue.add(Uuid::random(), "echo");
    /// assert_eq!(queue.next_due(Instant::now()), Some(Duration::ZERO));
    /// ```
    pub fn next_due(&self, now: Instant) -> Option<Duration> {
        let due = self
            .services
            .values()
            .map(|q| q.not_before.unwrap_or(now))
            .min()?;
        let due = due.max(self.paused_until.unwrap_or(due));
        Some(due.saturating_duration_since(now))
    }
}

/// Creates `path` (which must not exist yet: a link or a file left there is removed first, not
/// followed) and writes `bytes` to it, synced.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let create = || {
        // create_new is O_CREAT | O_EXCL, which already refuses a link; O_NOFOLLOW says so.
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
    };
    let mut file = match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            log::warn!("titanic: {} was there already: replaced", path.display());
            fs::remove_file(path)?; // unlinks a link itself
            create()?
        }
        opened => opened?,
    };
    file.write_all(bytes)?;
    file.sync_all()
}

/// A file of the store whose contents make no sense.
fn corrupt(what: String) -> Error {
    Error::Corrupt(what)
}

/// True for the errors made by [`corrupt`].
fn is_corrupt(e: &Error) -> bool {
    e.is_corrupt()
}

fn parse_uuid_request(request: &Msg) -> Option<Uuid> {
    let frame = request.front()?;
    match Uuid::parse(frame.as_bytes()) {
        Ok(id) => Some(id),
        Err(e) => {
            log::warn!("titanic: {e}");
            None
        }
    }
}

/// A message on disk: for each frame, its length as 4 bytes little-endian, then its bytes.
/// A frame of 4 GiB or more cannot be written (an error, never a truncated length).
fn encode(msg: &Msg) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(msg.content_size() + 4 * msg.len());
    for f in msg {
        out.extend_from_slice(&frame_len(f.len())?);
        out.extend_from_slice(f);
    }
    Ok(out)
}

/// The 4-byte length prefix of a frame of `len` bytes.
fn frame_len(len: usize) -> io::Result<[u8; 4]> {
    u32::try_from(len).map(u32::to_le_bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a frame of {len} bytes is too large to store"),
        )
    })
}

/// The inverse of [`encode`]; `None` for a truncated or corrupt file.
fn decode(mut bytes: &[u8]) -> Option<Msg> {
    let mut msg = Msg::new();
    while !bytes.is_empty() {
        if bytes.len() < 4 {
            return None;
        }
        let (len, rest) = bytes.split_at(4);
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if rest.len() < len {
            return None;
        }
        msg.push_back(Frame::new(&rest[..len]));
        bytes = &rest[len..];
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store(tag: &str) -> (Store, PathBuf) {
        let dir = std::env::temp_dir().join(format!("titanic-test-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        (Store::open(&dir).unwrap(), dir)
    }

    /// What the store holds for clients is bounded (a count shared by the clones the service
    /// threads hold, counted again on open) and expires.
    #[test]
    fn the_store_is_bounded_and_its_requests_expire() {
        let (mut store, dir) = temp_store("bounded");
        store.set_max_requests(3);
        let other = store.clone(); // as titanic.close's thread holds it
        let ids: Vec<Uuid> = (0..3)
            .map(|i| {
                let (reply, id) = store.serve_request(Msg::from_iter(["echo", &i.to_string()]));
                assert!(reply[0] == OK);
                id.unwrap()
            })
            .collect();
        let (reply, id) = store.serve_request(Msg::from_iter(["echo", "full"]));
        assert!(reply[0] == FAILED && id.is_none(), "{reply:?}");
        let e = store
            .save_request(&Msg::from_iter(["echo", "full"]))
            .unwrap_err();
        assert!(
            matches!(&e, Error::Io(io) if io.kind() == io::ErrorKind::StorageFull),
            "{e:?}"
        );
        assert!(other.serve_close(Msg::from_iter([ids[0].as_str()]))[0] == OK);
        other.close(&ids[0]).unwrap(); // twice: counted once
        assert_eq!(store.len(), 2);
        store.save_request(&Msg::from_iter(["echo", "3"])).unwrap();
        assert_eq!(store.len(), 3);

        // Counted again on open, replies and other files aside
        store.save_reply(&ids[1], &Msg::from_iter(["1"])).unwrap();
        fs::write(dir.join("notes.req"), b"x").unwrap();
        let reopened = Store::open(&dir).unwrap();
        assert_eq!(reopened.len(), 3);

        // Nothing is young enough to survive an age of zero; the others' files stay
        assert_eq!(reopened.expire(Duration::from_secs(3600)).unwrap(), 0);
        assert_eq!(reopened.expire(Duration::ZERO).unwrap(), 3);
        assert!(reopened.is_empty() && reopened.pending().unwrap().is_empty());
        assert!(!dir.join(format!("{}.rep", ids[1].as_str())).exists());
        assert!(dir.join("notes.req").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn encode_decode_round_trip_and_reject_corruption() {
        let m = Msg::from_iter([&b""[..], b"abc", &[0u8; 300][..]]);
        assert_eq!(decode(&encode(&m).unwrap()).unwrap(), m);
        let bytes = encode(&m).unwrap();
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode(&[1, 0]).is_none());
        assert!(decode(&[255, 255, 255, 255, 1]).is_none());
    }

    #[test]
    fn a_frame_of_4_gib_is_refused_not_truncated() {
        assert_eq!(frame_len(300).unwrap(), [44, 1, 0, 0]);
        assert_eq!(frame_len(u32::MAX as usize).unwrap(), [255; 4]);
        let e = frame_len(u32::MAX as usize + 1).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_reply_over_the_limit_drops_its_request() {
        use crate::mdp::protocol::{FromWorker, ToWorker};
        use crate::mdp::{Broker, Client};
        let ctx = zmq::Context::new();
        let ep = format!("inproc://titanic-big-reply-{}", std::process::id());
        let mut broker = Broker::new(&ctx, Default::default()).unwrap();
        broker.bind(&ep).unwrap();
        let stop = broker.stop_handle().unwrap();
        let broker = std::thread::spawn(move || broker.run());
        // An echo worker on the wire that answers two requests and leaves.
        let worker = ctx.socket(zmq::DEALER).unwrap();
        worker.set_rcvtimeo(5000).unwrap();
        worker.connect(&ep).unwrap();
        let ready = FromWorker::Ready {
            service: "echo".into(),
        };
        ready.into_msg().send(&worker).unwrap();
        let served = std::thread::spawn(move || {
            let mut answered = 0;
            while answered < 2 {
                let Ok(msg) = Msg::recv(&worker) else { break };
                if let Ok(ToWorker::Request { client, body }) = ToWorker::parse(msg) {
                    FromWorker::Reply { client, body }
                        .into_msg()
                        .send(&worker)
                        .unwrap();
                    answered += 1;
                }
            }
        });
        let mut client = Client::new(&ctx, &ep).unwrap();
        client.set_timeout(Duration::from_secs(5));
        let (mut store, dir) = temp_store("big-reply");
        store.set_max_reply_bytes(8);
        let small = store
            .save_request(&Msg::from_iter(["echo", "12345678"]))
            .unwrap();
        let big = store
            .save_request(&Msg::from_iter(["echo", "123456789"]))
            .unwrap();
        assert_eq!(
            store.dispatch(&small, &mut client).unwrap(),
            Dispatched::Done
        );
        assert!(matches!(
            store.status(&small).unwrap(),
            ReplyStatus::Ready(_)
        ));
        assert_eq!(store.dispatch(&big, &mut client).unwrap(), Dispatched::Done);
        assert_eq!(store.status(&big).unwrap(), ReplyStatus::Unknown);
        assert_eq!(store.pending().unwrap(), Vec::<Uuid>::new());
        served.join().unwrap();
        stop.stop();
        broker.join().unwrap().unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_service_cycle_request_pending_reply_close() {
        let (store, dir) = temp_store("cycle");
        let (reply, id) = store.serve_request(Msg::from_iter(["echo", "Hello world"]));
        let id = id.unwrap();
        assert!(reply[0] == "200" && reply[1] == id.as_str());
        assert!(
            dir.join(format!("{id}.req")).is_file(),
            "on disk before the UUID is returned"
        );
        assert!(store.serve_reply(Msg::from_iter([id.as_str()]))[0] == "300");
        assert_eq!(store.pending().unwrap(), vec![id.clone()]);
        store
            .save_reply(&id, &Msg::from_iter(["Hello world"]))
            .unwrap();
        let r = store.serve_reply(Msg::from_iter([id.as_str().to_lowercase()]));
        assert!(r[0] == "200" && r[1] == "Hello world");
        assert!(store.pending().unwrap().is_empty());
        assert!(store.serve_close(Msg::from_iter([id.as_str()]))[0] == "200");
        assert!(store.serve_reply(Msg::from_iter([id.as_str()]))[0] == "400");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stored_dispatched_replied_and_closed_are_logged() {
        use log::Level::{Debug, Trace};
        let cap = crate::test_log::capture();
        let (store, dir) = temp_store("logged");
        let (_, id) = store.serve_request(Msg::from_iter(["echo", "Hello"]));
        let id = id.unwrap();
        store.serve_reply(Msg::from_iter([id.as_str()]));
        store.save_reply(&id, &Msg::from_iter(["Hello"])).unwrap();
        store.serve_close(Msg::from_iter([id.as_str()]));
        let has = |level, text: &str| cap.has(level, &[&format!("titanic: request {id}{text}")]);
        assert!(
            has(Debug, " for [004] echo stored (9 bytes)"),
            "{:#?}",
            cap.lines()
        );
        assert!(cap.has(Trace, &[&format!("titanic.reply {id}: 300 (pending)")]));
        assert!(cap.has(
            Debug,
            &[&format!("titanic: reply to {id} stored (5 bytes)")]
        ));
        assert!(has(Debug, " closed"));
        let mut queue = Dispatcher::new(Duration::from_millis(10));
        queue.add(id.clone(), "echo");
        queue.report(&id, Dispatched::NoReply, Instant::now());
        assert!(cap.has(Debug, &["titanic: service echo tried again in 10ms"]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hostile_input_touches_nothing_outside_the_store() {
        let (store, dir) = temp_store("hostile");
        let outside = dir.with_extension("outside.req");
        fs::write(&outside, b"keep me").unwrap();
        let name = outside.file_stem().unwrap().to_str().unwrap().to_string();
        for bad in [
            format!("../{name}"),
            "../../x".to_string(),
            "/etc/passwd".to_string(),
            String::new(),
            "0".repeat(31),
            "0".repeat(33),
            "g".repeat(32),
            "x".repeat(10 << 20),
        ] {
            assert!(store.serve_reply(Msg::from_iter([bad.as_str()]))[0] == "400");
            assert!(store.serve_close(Msg::from_iter([bad.as_str()]))[0] == "400");
        }
        assert!(store.serve_close(Msg::new())[0] == "400");
        assert!(store.serve_reply(Msg::new())[0] == "400");
        assert_eq!(fs::read(&outside).unwrap(), b"keep me");
        // oversized or empty requests are refused and leave no file
        let (r, id) = store.serve_request(Msg::from_iter([vec![b'x'; 2 << 20]]));
        assert!(r[0] == "500" && id.is_none());
        let (r, _) = store.serve_request(Msg::from_iter(["echo".as_bytes(), &vec![0u8; 2 << 20]]));
        assert!(r[0] == "500");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_file(&outside).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_panic() {
        let (store, dir) = temp_store("corrupt");
        let id = store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
        store.save_reply(&id, &Msg::from_iter(["x"])).unwrap();
        fs::write(dir.join(format!("{id}.rep")), [9, 9, 9]).unwrap();
        assert!(store.serve_reply(Msg::from_iter([id.as_str()]))[0] == "500");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A file outside the store with `content`, removed with the store's directory by
    /// `cleanup` (it sits beside it).
    fn outside(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.with_extension(name);
        fs::write(&path, content).unwrap();
        path
    }

    fn cleanup(dir: &Path, outside: &[&Path]) {
        for path in outside {
            fs::remove_file(path).unwrap();
        }
        fs::remove_dir_all(dir).unwrap();
    }

    fn is_link(path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    }

    #[test]
    fn a_reply_that_is_a_link_is_not_read() {
        let (store, dir) = temp_store("link-rep");
        let secret = outside(
            &dir,
            "secret",
            &encode(&Msg::from_iter(["secret"])).unwrap(),
        );
        let id = store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
        std::os::unix::fs::symlink(&secret, store.path(&id, "rep")).unwrap();
        // taken as absent: the request is still pending, and the link is not read
        let reply = store.serve_reply(Msg::from_iter([id.as_str()]));
        assert!(reply[0] == PENDING, "{reply:?}");
        assert_eq!(store.status(&id).unwrap(), ReplyStatus::Pending);
        assert_eq!(store.pending().unwrap(), vec![id.clone()]);
        cleanup(&dir, &[&secret]);
    }

    #[test]
    fn a_request_that_is_a_link_is_not_read_nor_queued() {
        let (store, dir) = temp_store("link-req");
        let stolen = outside(
            &dir,
            "stolen",
            &encode(&Msg::from_iter(["echo", "stolen"])).unwrap(),
        );
        let id = Uuid::random();
        std::os::unix::fs::symlink(&stolen, store.path(&id, "req")).unwrap();
        assert_eq!(store.request(&id).unwrap(), None);
        assert_eq!(store.pending().unwrap(), Vec::<Uuid>::new());
        assert_eq!(store.status(&id).unwrap(), ReplyStatus::Unknown);
        // close removes the link, not what it points to
        store.close(&id).unwrap();
        assert!(!is_link(&store.path(&id, "req")));
        assert_eq!(
            fs::read(&stolen).unwrap(),
            encode(&Msg::from_iter(["echo", "stolen"])).unwrap()
        );
        cleanup(&dir, &[&stolen]);
    }

    #[test]
    fn a_temporary_that_is_a_link_is_not_written_through() {
        let (store, dir) = temp_store("link-tmp");
        let victim = outside(&dir, "victim", b"keep me");
        let id = store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
        std::os::unix::fs::symlink(&victim, store.path(&id, "tmp")).unwrap();
        store.save_reply(&id, &Msg::from_iter(["x"])).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        let rep = store.path(&id, "rep");
        assert!(fs::symlink_metadata(&rep).unwrap().file_type().is_file());
        assert!(!store.path(&id, "tmp").exists() && !is_link(&store.path(&id, "tmp")));
        assert_eq!(
            store.status(&id).unwrap(),
            ReplyStatus::Ready(Msg::from_iter(["x"]))
        );
        cleanup(&dir, &[&victim]);
    }

    #[test]
    fn a_rename_replaces_a_planted_link_and_leaves_its_target_alone() {
        let (store, dir) = temp_store("link-rename");
        let victim = outside(&dir, "victim", b"keep me");
        let id = store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
        std::os::unix::fs::symlink(&victim, store.path(&id, "rep")).unwrap();
        store.save_reply(&id, &Msg::from_iter(["x"])).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert!(!is_link(&store.path(&id, "rep")));
        assert_eq!(
            store.status(&id).unwrap(),
            ReplyStatus::Ready(Msg::from_iter(["x"]))
        );
        // and close unlinks links without touching their targets
        fs::remove_file(store.path(&id, "req")).unwrap();
        std::os::unix::fs::symlink(&victim, store.path(&id, "req")).unwrap();
        store.close(&id).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        cleanup(&dir, &[&victim]);
    }

    #[test]
    fn a_fifo_in_the_store_does_not_block_a_read() {
        let (store, dir) = temp_store("fifo");
        let id = store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(store.path(&id, "rep"))
            .status()
            .unwrap();
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let store2 = store.clone();
        std::thread::spawn(move || {
            let _ = tx.send(store2.status(&id).map_err(|e| e.to_string()));
        });
        let status = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("reading a FIFO in the store blocked");
        assert_eq!(status.unwrap(), ReplyStatus::Pending);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_behind() {
        let (store, dir) = temp_store("failed-write");
        let id = store.save_request(&Msg::from_iter(["echo", "x"])).unwrap();
        // a directory where the reply goes: the rename into place fails
        fs::create_dir_all(store.path(&id, "rep").join("inner")).unwrap();
        assert!(store.save_reply(&id, &Msg::from_iter(["x"])).is_err());
        assert!(
            !store.path(&id, "tmp").exists(),
            "a partial temporary left behind"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn opening_the_store_removes_stale_temporaries() {
        let dir = std::env::temp_dir().join(format!("titanic-test-stale-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let victim = outside(&dir, "victim", b"keep me");
        let (a, b) = (Uuid::random(), Uuid::random());
        fs::write(dir.join(format!("{a}.tmp")), [5, 0, 0, 0, b'x']).unwrap(); // a crash mid-write
        std::os::unix::fs::symlink(&victim, dir.join(format!("{b}.tmp"))).unwrap();
        fs::write(dir.join("notes.tmp"), b"not ours").unwrap();
        let store = Store::open(&dir).unwrap();
        let mut left: Vec<String> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["notes.tmp"]);
        assert_eq!(fs::read(&victim).unwrap(), b"keep me");
        cleanup(&dir, &[&victim]);
    }

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::random()).collect()
    }

    #[test]
    fn a_service_that_does_not_answer_backs_off_and_the_others_go_on() {
        let retry = Duration::from_secs(1);
        let mut queue = Dispatcher::new(retry);
        queue.set_max_backoff(Duration::from_secs(4));
        let stuck = ids(25);
        for id in &stuck {
            queue.add(id.clone(), "stuck");
        }
        let echo = Uuid::random();
        queue.add(echo.clone(), "echo");
        let t0 = Instant::now();
        // the first stuck request times out: echo is next, and nothing of "stuck" for 1 s
        assert_eq!(queue.next(t0), Some(stuck[0].clone()));
        queue.report(&stuck[0], Dispatched::NoReply, t0);
        assert_eq!(queue.next(t0), Some(echo.clone()));
        queue.report(&echo, Dispatched::Done, t0);
        assert_eq!(queue.next(t0), None);
        assert_eq!(queue.next_due(t0), Some(retry));
        // the back-off doubles up to the maximum; the failed request went to the back
        let mut at = t0;
        for wait in [1, 2, 4, 4] {
            at += Duration::from_secs(wait);
            assert_eq!(queue.next(at - Duration::from_millis(1)), None);
            let id = queue.next(at).unwrap();
            assert_ne!(id, stuck[0]);
            queue.report(&id, Dispatched::NoReply, at);
        }
        // one answer and it is back to full speed
        at += Duration::from_secs(4);
        let id = queue.next(at).unwrap();
        queue.report(&id, Dispatched::Done, at);
        assert!(queue.next(at).is_some());
        assert_eq!(queue.len(), 24);
    }

    #[test]
    fn services_take_turns_and_a_missing_worker_waits_the_retry() {
        let retry = Duration::from_millis(100);
        let mut queue = Dispatcher::new(retry);
        let (a, b) = (ids(3), ids(2));
        for id in &a {
            assert!(queue.add(id.clone(), "a"));
        }
        for id in &b {
            assert!(queue.add(id.clone(), "b"));
        }
        assert!(!queue.add(a[0].clone(), "a"), "queued twice");
        let now = Instant::now();
        let mut order = Vec::new();
        while let Some(id) = queue.next(now) {
            queue.report(&id, Dispatched::Done, now);
            order.push(id);
        }
        assert_eq!(order, [&a[0], &b[0], &a[1], &b[1], &a[2]].map(Clone::clone));
        assert!(queue.is_empty() && queue.next_due(now).is_none());

        // no worker: the service waits, its requests in turn (each is tried, in order)
        for id in &a {
            queue.add(id.clone(), "a");
        }
        let mut at = now;
        for want in a.iter().chain(&a) {
            assert_eq!(queue.next(at).as_ref(), Some(want));
            queue.report(want, Dispatched::NoWorker, at);
            assert_eq!(queue.next(at), None);
            assert_eq!(queue.next_due(at), Some(retry));
            at += retry;
        }
        // a silent broker stops everything for the retry interval
        queue.add(b[0].clone(), "b");
        let id = queue.next(at).unwrap();
        queue.report(&id, Dispatched::BrokerSilent, at);
        assert_eq!(queue.next(at), None);
        assert_eq!(queue.next_due(at), Some(retry));
        assert!(queue.next(at + retry).is_some());
        // a report for a request that is not queued changes nothing
        queue.report(&Uuid::random(), Dispatched::Done, at);
        assert_eq!(queue.len(), 4);
    }

    #[test]
    fn load_queues_the_pending_requests_by_service() {
        let (store, dir) = temp_store("load");
        let a = store.save_request(&Msg::from_iter(["a", "1"])).unwrap();
        let b = store.save_request(&Msg::from_iter(["b", "1"])).unwrap();
        let done = store.save_request(&Msg::from_iter(["a", "2"])).unwrap();
        store.save_reply(&done, &Msg::from_iter(["2"])).unwrap();
        let broken = store.save_request(&Msg::from_iter(["a", "3"])).unwrap();
        fs::write(store.path(&broken, "req"), [1, 2]).unwrap();
        let mut queue = Dispatcher::new(Duration::from_secs(1));
        assert_eq!(queue.load(&store).unwrap(), 2);
        let now = Instant::now();
        let first = queue.next(now).unwrap();
        let second = queue.next(now).unwrap();
        assert_ne!(first, second);
        assert!([&a, &b].contains(&&first) && [&a, &b].contains(&&second));
        fs::remove_dir_all(&dir).unwrap();
    }
}
