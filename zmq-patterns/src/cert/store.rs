//! [`CertStore`]: the public certificates in a directory, reloaded when a file changes
//! (CZMQ's `zcertstore`).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cert::certificate::read_text;
use crate::cert::{Certificate, PublicKey};

/// How deep a store looks into subdirectories.
const DEPTH_MAX: usize = 8;

/// A file whose modification time is this close to when it was read may change again
/// without its time changing (file times move in coarse ticks): its content is checked too.
const RACY: Duration = Duration::from_secs(2);

/// What `stat` says about a file; any change means it is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    modified: SystemTime,
    read_at: SystemTime,
    hash: u64,
    cert: Option<Certificate>,
}

/// The certificates in a directory (and its subdirectories), by public key: the clients an
/// [`Authenticator`](crate::auth::Authenticator) admits over CURVE (CZMQ's `zcertstore`).
///
/// Every file is read as a certificate except those whose name ends in `_secret` or starts with
/// a dot; a file that is not a certificate is skipped (logged at `debug`), never a panic. The
/// store looks at the directory again on every [`CertStore::lookup`] and reloads a file that
/// was added, removed or changed. CZMQ's store compares only the directory's newest time,
/// file count and total size, and so misses a certificate overwritten by one of the same size
/// within a second (czmq#2113); this one compares each file's size, inode and times, and
/// re-reads the content of a file changed within the last two seconds (file times move in
/// coarse ticks).
///
/// ```
/// use zmq_patterns::cert::{CertStore, Certificate, PublicKey};
/// let dir = std::env::temp_dir().join(format!("store-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let mut store = CertStore::open(&dir);
/// assert!(store.lookup(&PublicKey([1; 32])).is_none());
/// Certificate::from_public(PublicKey([1; 32])).save_public(&dir.join("client.pub"))?;
/// assert!(store.lookup(&PublicKey([1; 32])).is_some()); // noticed at once
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[derive(Debug)]
pub struct CertStore {
    dir: PathBuf,
    entries: BTreeMap<PathBuf, Entry>,
    by_key: HashMap<PublicKey, PathBuf>,
}

impl CertStore {
    /// A store over `dir`, loaded now. A directory that does not exist (yet) is an empty
    /// store, as in CZMQ; certificates put there later are found.
    ///
    /// ```
    /// let store = zmq_patterns::cert::CertStore::open("/nonexistent");
    /// assert_eq!(store.len(), 0);
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> CertStore {
        let mut store = CertStore {
            dir: dir.as_ref().to_path_buf(),
            entries: BTreeMap::new(),
            by_key: HashMap::new(),
        };
        store.refresh();
        store
    }

    /// The directory.
    ///
    /// ```
    /// let store = zmq_patterns::cert::CertStore::open("/etc/curve");
    /// assert_eq!(store.dir(), std::path::Path::new("/etc/curve"));
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The certificate with this public key, after looking for changed files.
    ///
    /// ```
    /// # use zmq_patterns::cert::{CertStore, PublicKey};
    /// let mut store = CertStore::open("/nonexistent");
    /// assert!(store.lookup(&PublicKey([0; 32])).is_none());
    /// ```
    pub fn lookup(&mut self, key: &PublicKey) -> Option<&Certificate> {
        self.refresh();
        let path = self.by_key.get(key)?;
        self.entries.get(path)?.cert.as_ref()
    }

    /// How many certificates were loaded (at the last look).
    ///
    /// ```
    /// assert_eq!(zmq_patterns::cert::CertStore::open("/nonexistent").len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no certificate was loaded.
    ///
    /// ```
    /// assert!(zmq_patterns::cert::CertStore::open("/nonexistent").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The certificates loaded (at the last look), in file name order.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::cert::CertStore::open("/nonexistent").certificates().count(), 0);
    /// ```
    pub fn certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.entries.values().filter_map(|e| e.cert.as_ref())
    }

    /// Looks at the directory again and reloads what changed; true when anything did.
    ///
    /// ```
    /// let mut store = zmq_patterns::cert::CertStore::open("/nonexistent");
    /// assert!(!store.refresh());
    /// ```
    pub fn refresh(&mut self) -> bool {
        let mut found = Vec::new();
        collect(&self.dir, 0, &mut found);
        let now = SystemTime::now();
        let mut changed = found.len() != self.entries.len();
        let mut entries = BTreeMap::new();
        for (path, meta) in found {
            let stamp = Stamp {
                len: meta.len(),
                ino: meta.ino(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
            };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let old = self.entries.remove(&path);
            let entry = match old {
                Some(mut old) if old.stamp == stamp => {
                    let racy = old
                        .read_at
                        .duration_since(old.modified)
                        .map_or(true, |d| d < RACY);
                    if racy {
                        let (hash, cert) = load(&path);
                        if hash != old.hash {
                            changed = true;
                            old.hash = hash;
                            old.cert = cert;
                        }
                        old.read_at = now;
                    }
                    old
                }
                _ => {
                    changed = true;
                    let (hash, cert) = load(&path);
                    Entry {
                        stamp,
                        modified,
                        read_at: now,
                        hash,
                        cert,
                    }
                }
            };
            entries.insert(path, entry);
        }
        changed |= !self.entries.is_empty(); // files that went away
        self.entries = entries;
        if changed {
            self.by_key = self
                .entries
                .iter()
                .filter_map(|(path, e)| Some((*e.cert.as_ref()?.public_key(), path.clone())))
                .collect();
            log::debug!(
                "cert store {}: {} certificates",
                self.dir.display(),
                self.by_key.len()
            );
        }
        changed
    }
}

/// The regular files under `dir` that may be certificates, with their metadata.
fn collect(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, fs::Metadata)>) {
    let Ok(read) = fs::read_dir(dir) else {
        return;
    };
    for item in read.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.ends_with("_secret") {
            continue;
        }
        let path = item.path();
        match item.file_type() {
            Ok(t) if t.is_dir() => {
                if depth < DEPTH_MAX {
                    collect(&path, depth + 1, out);
                }
            }
            // A symbolic link counts for what it points to, if that is a file
            _ => {
                if let Ok(meta) = fs::metadata(&path) {
                    if meta.is_file() {
                        out.push((path, meta));
                    }
                }
            }
        }
    }
}

/// Reads a file: a hash of its text, and the certificate if it is one.
fn load(path: &Path) -> (u64, Option<Certificate>) {
    match read_text(path) {
        Ok(text) => {
            let mut hasher = DefaultHasher::new();
            text.hash(&mut hasher);
            let cert = Certificate::parse(&text)
                .map_err(|e| log::debug!("cert store: skipped {}: {e}", path.display()))
                .ok();
            (hasher.finish(), cert)
        }
        Err(e) => {
            log::debug!("cert store: skipped {}: {e}", path.display());
            (0, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{KeyPair, SecretKey};

    struct Dir(PathBuf);
    impl Dir {
        fn new(tag: &str) -> Dir {
            let d = std::env::temp_dir().join(format!("zp-store-{}-{tag}", std::process::id()));
            let _ = fs::remove_dir_all(&d);
            fs::create_dir_all(&d).unwrap();
            Dir(d)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn cert(n: u8) -> Certificate {
        let mut c = Certificate::from_public(PublicKey([n; 32]));
        c.set_meta("name", &format!("client {n}")).unwrap();
        c
    }

    /// czmq#2113: CZMQ's store keeps the old certificate when a file is overwritten in place
    /// by one of the same size within the same second. With CZMQ's check (size and
    /// whole-second times, no content re-read) this test fails.
    #[test]
    fn an_overwritten_certificate_is_noticed_at_once() {
        let dir = Dir::new("overwrite");
        let path = dir.0.join("client.pub");
        fs::write(&path, cert(1).to_public_text()).unwrap();
        let mut store = CertStore::open(&dir.0);
        assert!(store.lookup(&PublicKey([1; 32])).is_some());
        for n in 2..6u8 {
            // Same length, same file (in place, same inode), immediately
            let before = fs::metadata(&path).unwrap().len();
            fs::write(&path, cert(n).to_public_text()).unwrap();
            assert_eq!(fs::metadata(&path).unwrap().len(), before);
            assert!(store.lookup(&PublicKey([n; 32])).is_some(), "cert {n}");
            assert!(store.lookup(&PublicKey([n - 1; 32])).is_none(), "cert {n}");
        }
    }

    #[test]
    fn files_come_and_go_and_junk_is_skipped() {
        let dir = Dir::new("junk");
        let mut store = CertStore::open(&dir.0);
        fs::create_dir_all(dir.0.join("sub")).unwrap();
        cert(1).save_public(&dir.0.join("sub/a.pub")).unwrap();
        fs::write(dir.0.join("junk"), b"\xff\xfe not text").unwrap();
        fs::write(dir.0.join("half"), "curve\n    public-key = \"abc").unwrap();
        let secret = Certificate::from_pair(KeyPair {
            public: PublicKey([9; 32]),
            secret: SecretKey([8; 32]),
        });
        secret.save(&dir.0.join("server")).unwrap(); // server and server_secret
        assert!(store.lookup(&PublicKey([1; 32])).is_some());
        assert_eq!(store.len(), 2); // a.pub and server (its public file)
        fs::remove_file(dir.0.join("sub/a.pub")).unwrap();
        assert!(store.lookup(&PublicKey([1; 32])).is_none());
        assert_eq!(store.len(), 1);
        assert!(!store.refresh());
    }
}
