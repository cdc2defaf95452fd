//! [`Passwords`]: the PLAIN user names and passwords an [`Authenticator`] checks, from a file in
//! CZMQ's format or from memory.
//!
//! [`Authenticator`]: crate::auth::Authenticator

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Result;

/// PLAIN user names and their passwords.
///
/// A password file has CZMQ's format (`zhashx_load`): one `name=password` a line, split at the
/// first `=`, nothing trimmed but the line end (`\n` or `\r\n`); lines that start with `#` or
/// `=`, or have no `=`, are skipped. A file is read again at every check, so that an edit takes
/// effect for the next client (CZMQ's `zhashx_refresh`); if it cannot be read then, every
/// password is refused (and a warning logged) until it can.
///
/// ```
/// use zmq_patterns::auth::Passwords;
/// let mut passwords = Passwords::parse("# users\nadmin=secret\nbob=a=b\n");
/// assert!(passwords.check("admin", "secret"));
/// assert!(passwords.check("bob", "a=b"));
/// assert!(!passwords.check("admin", "Secret"));
/// assert!(!passwords.check("# users", ""));
/// ```
#[derive(Clone)]
pub struct Passwords {
    file: Option<PathBuf>,
    users: HashMap<String, String>,
}

impl fmt::Debug for Passwords {
    /// Shows the user names, never a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<_> = self.users.keys().collect();
        users.sort();
        f.debug_struct("Passwords")
            .field("file", &self.file)
            .field("users", &users)
            .finish()
    }
}

impl Passwords {
    /// Passwords from a map of user name to password.
    ///
    /// ```
    /// let mut p = zmq_patterns::auth::Passwords::from_map([("admin", "secret")]);
    /// assert!(p.check("admin", "secret"));
    /// ```
    pub fn from_map<U: Into<String>, P: Into<String>>(
        users: impl IntoIterator<Item = (U, P)>,
    ) -> Passwords {
        Passwords {
            file: None,
            users: users
                .into_iter()
                .map(|(u, p)| (u.into(), p.into()))
                .collect(),
        }
    }

    /// Passwords from the text of a password file.
    ///
    /// ```
    /// let p = zmq_patterns::auth::Passwords::parse("admin=secret\r\nnot a user\n=x\n");
    /// assert_eq!(p.users().collect::<Vec<_>>(), ["admin"]);
    /// ```
    pub fn parse(text: &str) -> Passwords {
        let users = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, password)| (name.to_string(), password.to_string()))
            .collect();
        Passwords { file: None, users }
    }

    /// Passwords from a file, read now (an error if it cannot be) and again at each check.
    ///
    /// ```
    /// use zmq_patterns::auth::Passwords;
    /// assert!(Passwords::load("/nonexistent/passwords").is_err());
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Passwords> {
        let path = path.as_ref();
        let mut passwords = Passwords::parse(&read(path)?);
        passwords.file = Some(path.to_path_buf());
        Ok(passwords)
    }

    /// The user names, in no order.
    ///
    /// ```
    /// let p = zmq_patterns::auth::Passwords::from_map([("a", "1")]);
    /// assert_eq!(p.users().count(), 1);
    /// ```
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.users.keys().map(String::as_str)
    }

    /// True when `username` has exactly this `password` (compared in constant time). Reads
    /// the file again first, if the passwords came from one.
    ///
    /// ```
    /// let mut p = zmq_patterns::auth::Passwords::from_map([("admin", "secret")]);
    /// assert!(!p.check("nobody", "secret"));
    /// ```
    pub fn check(&mut self, username: &str, password: &str) -> bool {
        if let Some(path) = &self.file {
            match read(path) {
                Ok(text) => self.users = Passwords::parse(&text).users,
                Err(e) => {
                    log::warn!("zap: cannot read password file {}: {e}", path.display());
                    self.users.clear();
                }
            }
        }
        self.users
            .get(username)
            .is_some_and(|known| same(known.as_bytes(), password.as_bytes()))
    }
}

fn read(path: &Path) -> Result<String> {
    crate::cert::read_password_file(path)
}

/// Byte strings compared in time that depends on their lengths only.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn czmq_format_is_read_as_czmq_reads_it() {
        let mut p = Passwords::parse("admin=secret\n#x=y\n=nobody\nspaced = out\nempty=\n");
        assert!(p.check("admin", "secret"));
        assert!(!p.check("#x", "y"));
        assert!(p.check("spaced ", " out")); // CZMQ trims nothing
        assert!(p.check("empty", ""));
        assert_eq!(p.users().count(), 3);
    }

    #[test]
    fn a_file_is_read_again_and_a_lost_file_refuses_all() {
        let path = std::env::temp_dir().join(format!("zp-passwords-{}", std::process::id()));
        std::fs::write(&path, "admin=secret\n").unwrap();
        let mut p = Passwords::load(&path).unwrap();
        assert!(p.check("admin", "secret"));
        std::fs::write(&path, "admin=changed\n").unwrap();
        assert!(!p.check("admin", "secret"));
        assert!(p.check("admin", "changed"));
        std::fs::remove_file(&path).unwrap();
        assert!(!p.check("admin", "changed"));
    }
}
