//! [`Certificate`]: a CURVE key pair with metadata, saved to and loaded from files in CZMQ's
//! `zcert` format.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::auth::metadata_name_is_valid;
use crate::cert::keys::{KeyPair, PublicKey, SecretKey, require_curve};
use crate::cert::zpl;
use crate::error::{Error, Result};

/// The largest certificate file read, in bytes; a longer file is [`Error::Corrupt`].
pub const FILE_MAX: u64 = 64 * 1024;

/// A CURVE public key, perhaps its secret key, and metadata (`name = value` pairs, which an
/// [`Authenticator`](crate::auth::Authenticator) hands to the application with each message of
/// a client it admits by this certificate): CZMQ's `zcert`.
///
/// Saved as two text files in CZMQ's format (ZPL, spec 4): the public file, which may be
/// given to peers, and the same name with `_secret` added, which has both keys and is created
/// with mode 0600. CZMQ reads what this writes and the other way round.
///
/// ```
/// use zmq_patterns::cert::{Certificate, PublicKey};
/// let mut cert = Certificate::from_public(PublicKey([1; 32]));
/// cert.set_meta("name", "Client test certificate")?;
/// let text = cert.to_public_text();
/// assert!(text.contains("    name = \"Client test certificate\""));
/// assert_eq!(Certificate::parse(&text)?, cert);
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    public: PublicKey,
    secret: Option<SecretKey>,
    metadata: BTreeMap<String, String>,
}

/// The secret file's name for a certificate file: `name_secret`.
///
/// ```
/// use std::path::Path;
/// let p = zmq_patterns::cert::secret_path(Path::new(".curve/server.key"));
/// assert_eq!(p, Path::new(".curve/server.key_secret"));
/// ```
pub fn secret_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("_secret");
    PathBuf::from(name)
}

impl Certificate {
    /// A certificate with a new key pair. [`Error::Unsupported`] when the linked libzmq has no
    /// CURVE.
    ///
    /// ```
    /// let cert = zmq_patterns::cert::Certificate::generate();
    /// assert_eq!(cert.is_ok(), zmq_patterns::cert::curve_available());
    /// ```
    pub fn generate() -> Result<Certificate> {
        Ok(Certificate::from_pair(KeyPair::generate()?))
    }

    /// A certificate with this key pair.
    ///
    /// ```
    /// use zmq_patterns::cert::{Certificate, KeyPair, PublicKey, SecretKey};
    /// let cert = Certificate::from_pair(KeyPair { public: PublicKey([1; 32]), secret: SecretKey([2; 32]) });
    /// assert!(cert.secret_key().is_some());
    /// ```
    pub fn from_pair(pair: KeyPair) -> Certificate {
        Certificate {
            public: pair.public,
            secret: Some(pair.secret),
            metadata: BTreeMap::new(),
        }
    }

    /// A certificate with a public key only (a peer's).
    ///
    /// ```
    /// use zmq_patterns::cert::{Certificate, PublicKey};
    /// assert!(Certificate::from_public(PublicKey([1; 32])).secret_key().is_none());
    /// ```
    pub fn from_public(public: PublicKey) -> Certificate {
        Certificate {
            public,
            secret: None,
            metadata: BTreeMap::new(),
        }
    }

    /// The public key.
    ///
    /// ```
    /// use zmq_patterns::cert::{Certificate, PublicKey};
    /// assert_eq!(Certificate::from_public(PublicKey([1; 32])).public_key(), &PublicKey([1; 32]));
    /// ```
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The secret key, if this certificate has it (a public file has not).
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// assert!(Certificate::from_public(PublicKey([1; 32])).secret_key().is_none());
    /// ```
    pub fn secret_key(&self) -> Option<&SecretKey> {
        self.secret.as_ref()
    }

    /// Sets a metadata property. The name must be one ZMTP can carry (1 to 255 of
    /// `A-Z a-z 0-9 - _ . +`), the value one line without both kinds of quote;
    /// [`Error::Protocol`] otherwise.
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// let mut cert = Certificate::from_public(PublicKey([1; 32]));
    /// cert.set_meta("email", "ops@example.com")?;
    /// assert_eq!(cert.meta("email"), Some("ops@example.com"));
    /// assert!(cert.set_meta("bad name", "x").is_err());
    /// assert!(cert.set_meta("x", "two\nlines").is_err());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn set_meta(&mut self, name: &str, value: &str) -> Result<()> {
        if !metadata_name_is_valid(name) {
            return Err(Error::protocol(format!(
                "certificate: a metadata name of 1 to 255 of A-Z a-z 0-9 - _ . +, not {name:?}"
            )));
        }
        if zpl::quote(value).is_none() {
            return Err(Error::protocol(
                "certificate: a metadata value must be one line without both ' and \"",
            ));
        }
        self.metadata.insert(name.to_string(), value.to_string());
        Ok(())
    }

    /// A metadata property.
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// assert_eq!(Certificate::from_public(PublicKey([1; 32])).meta("name"), None);
    /// ```
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metadata.get(name).map(String::as_str)
    }

    /// The metadata, by name.
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// assert_eq!(Certificate::from_public(PublicKey([1; 32])).metadata().count(), 0);
    /// ```
    pub fn metadata(&self) -> impl Iterator<Item = (&str, &str)> {
        self.metadata.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Sets this certificate's keys on a socket (`ZMQ_CURVE_PUBLICKEY` and `_SECRETKEY`), as
    /// CZMQ's `zcert_apply`: for a client socket (it still needs the server's key,
    /// `set_curve_serverkey`, or [`CurveClient`](crate::cert::CurveClient)); a server uses
    /// [`Certificate::apply_server`]. [`Error::Unsupported`] without CURVE; [`Error::Protocol`] for a
    /// certificate with no secret key.
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// let ctx = zmq::Context::new();
    /// let socket = ctx.socket(zmq::PUSH).unwrap();
    /// assert!(Certificate::from_public(PublicKey([1; 32])).apply(&socket).is_err());
    /// ```
    pub fn apply(&self, socket: &zmq::Socket) -> Result<()> {
        require_curve("applying a certificate to a socket")?;
        let secret = self.secret.as_ref().ok_or_else(|| {
            Error::protocol("certificate: no secret key to apply (a public certificate)")
        })?;
        socket.set_curve_publickey(&self.public.0)?;
        socket.set_curve_secretkey(&secret.0)?;
        Ok(())
    }

    /// Makes `socket` a CURVE server with this certificate (`ZMQ_CURVE_PUBLICKEY`,
    /// `_SECRETKEY`, `ZMQ_CURVE_SERVER`), safe by default: `clients` says who may connect
    /// ([`CurveClients`]), and a server that would admit every client that knows its key
    /// without saying so is refused. Call it before the socket binds, and after its
    /// `set_zap_domain`, if any.
    ///
    /// - [`Error::Unsupported`] when the linked libzmq has no CURVE (checked first);
    /// - [`Error::Protocol`] for a certificate without a secret key;
    /// - [`Error::Insecure`] for [`CurveClients::Checked`] when no ZAP handler runs in the
    ///   socket's context, or the authenticator has no CURVE configuration for the socket's
    ///   ZAP domain (nor for `"*"`).
    ///
    /// The context is checked by binding the socket to the ZAP endpoint for a moment: if that
    /// succeeds, no handler holds it (the socket is unbound again and nothing is set).
    ///
    /// ```
    /// use zmq_patterns::auth::{Authenticator, CurveClients};
    /// use zmq_patterns::cert::{curve_available, Certificate};
    /// let ctx = zmq::Context::new();
    /// let server = ctx.socket(zmq::ROUTER)?;
    /// let cert = match Certificate::generate() {
    ///     Ok(cert) => cert,
    ///     Err(e) => {
    ///         // No CURVE in this libzmq: every CURVE call says so
    ///         assert!(e.is_unsupported() && !curve_available());
    ///         return Ok(());
    ///     }
    /// };
    /// let auth = Authenticator::new(&ctx)?;
    /// // An authenticator without CURVE configuration would refuse everyone
    /// assert!(cert.apply_server(&server, CurveClients::Checked(&auth)).unwrap_err().is_insecure());
    /// auth.curve_certificates("*", ".curve")?;
    /// cert.apply_server(&server, CurveClients::Checked(&auth))?;
    /// assert!(server.is_curve_server()?);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    ///
    /// [`CurveClients`]: crate::auth::CurveClients
    /// [`CurveClients::Checked`]: crate::auth::CurveClients::Checked
    #[doc(alias = "set_curve_server")]
    pub fn apply_server(
        &self,
        socket: &zmq::Socket,
        clients: crate::auth::CurveClients<'_>,
    ) -> Result<()> {
        require_curve("a CURVE server socket")?;
        if self.secret.is_none() {
            return Err(Error::protocol(
                "certificate: a CURVE server needs its secret key (this is a public certificate)",
            ));
        }
        crate::auth::check_clients(socket, clients)?;
        self.apply(socket)?;
        socket.set_curve_server(true)?;
        Ok(())
    }

    fn text(&self, with_secret: bool) -> String {
        let mut out = format!(
            "#   ****  Generated on {} by zmq-patterns  ****\n",
            crate::clock::timestamp()
        );
        if with_secret {
            out.push_str(
                "#   ZeroMQ CURVE **Secret** Certificate\n\
                 #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n",
            );
        } else {
            out.push_str(
                "#   ZeroMQ CURVE Public Certificate\n\
                 #   Exchange securely, or use a secure mechanism to verify the contents\n\
                 #   of this file after exchange. Store public certificates in your home\n\
                 #   directory, in the .curve subdirectory.\n",
            );
        }
        out.push_str("\nmetadata\n");
        for (name, value) in &self.metadata {
            // set_meta() admits only values that quote
            let value = zpl::quote(value).unwrap_or_default();
            out.push_str(&format!("    {name} = {value}\n"));
        }
        out.push_str(&format!("curve\n    public-key = \"{}\"\n", self.public));
        if let (true, Some(secret)) = (with_secret, &self.secret) {
            out.push_str(&format!("    secret-key = \"{}\"\n", secret.to_z85()));
        }
        out
    }

    /// The public file's text.
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// let text = Certificate::from_public(PublicKey([0; 32])).to_public_text();
    /// assert!(text.contains("curve\n    public-key = \"0000000000000000000000000000000000000000\""));
    /// ```
    pub fn to_public_text(&self) -> String {
        self.text(false)
    }

    /// The secret file's text (both keys; [`Error::Protocol`] for a certificate without a
    /// secret key).
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// assert!(Certificate::from_public(PublicKey([0; 32])).to_secret_text().is_err());
    /// ```
    pub fn to_secret_text(&self) -> Result<String> {
        if self.secret.is_none() {
            return Err(Error::protocol("certificate: no secret key to save"));
        }
        Ok(self.text(true))
    }

    /// Parses a certificate file's text: a `curve` section with a Z85 `public-key` and,
    /// optionally, a `secret-key`; a `metadata` section of properties, optionally. Any text
    /// gives `Ok` or [`Error::Corrupt`], never a panic.
    ///
    /// ```
    /// use zmq_patterns::cert::Certificate;
    /// let text = "curve\n    public-key = \"0000000000000000000000000000000000000000\"\n";
    /// assert!(Certificate::parse(text).is_ok());
    /// assert!(Certificate::parse("curve\n    public-key = \"short\"\n").is_err());
    /// assert!(Certificate::parse("metadata\n").is_err()); // no key
    /// ```
    pub fn parse(text: &str) -> Result<Certificate> {
        let root = zpl::parse(text)?;
        let corrupt = |what: String| Error::Corrupt(format!("certificate: {what}"));
        let public = root
            .get(&["curve", "public-key"])
            .ok_or_else(|| corrupt("no curve/public-key".into()))?;
        let public =
            PublicKey::from_z85(public).map_err(|e| corrupt(format!("public-key: {e}")))?;
        let secret = match root.get(&["curve", "secret-key"]) {
            None => None,
            Some(text) => {
                Some(SecretKey::from_z85(text).map_err(|e| corrupt(format!("secret-key: {e}")))?)
            }
        };
        let mut cert = Certificate {
            public,
            secret,
            metadata: BTreeMap::new(),
        };
        if let Some(section) = root.child("metadata") {
            for item in &section.children {
                let value = item.value.as_deref().unwrap_or("");
                cert.set_meta(&item.name, value)
                    .map_err(|e| corrupt(format!("metadata: {e}")))?;
            }
        }
        Ok(cert)
    }

    /// Saves the public file at `path` and the secret file at `path` + `_secret` (mode 0600),
    /// as CZMQ's `zcert_save`. Each file is written whole under a temporary name (starting
    /// with a dot, which a [`CertStore`](crate::cert::CertStore) skips) and renamed, so that
    /// a reader never sees half a file.
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, KeyPair, PublicKey, SecretKey};
    /// let dir = std::env::temp_dir().join(format!("cert-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let cert = Certificate::from_pair(KeyPair { public: PublicKey([1; 32]), secret: SecretKey([2; 32]) });
    /// cert.save(&dir.join("server"))?;
    /// assert_eq!(Certificate::load(&dir.join("server"))?, cert); // the secret file first
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_public(path)?;
        self.save_secret(&secret_path(path))
    }

    /// Saves the public file only (mode 0644).
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// let path = std::env::temp_dir().join(format!("cert-pub-doc-{}", std::process::id()));
    /// Certificate::from_public(PublicKey([3; 32])).save_public(&path)?;
    /// assert!(Certificate::load(&path)?.secret_key().is_none());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn save_public(&self, path: &Path) -> Result<()> {
        write_whole(path, &self.to_public_text(), 0o644)
    }

    /// Saves the secret file only, at `path` itself, mode 0600.
    ///
    /// ```
    /// # use zmq_patterns::cert::{Certificate, PublicKey};
    /// let path = std::env::temp_dir().join("never-written");
    /// assert!(Certificate::from_public(PublicKey([3; 32])).save_secret(&path).is_err());
    /// ```
    pub fn save_secret(&self, path: &Path) -> Result<()> {
        write_whole(path, &self.to_secret_text()?, 0o600)
    }

    /// Loads a certificate: the secret file (`path` + `_secret`) if there is one, else the
    /// public file at `path`, as CZMQ's `zcert_load`. A missing file is [`Error::Io`]; a file
    /// that is not a certificate, or longer than [`FILE_MAX`], is [`Error::Corrupt`].
    ///
    /// ```
    /// use std::path::Path;
    /// assert!(zmq_patterns::cert::Certificate::load(Path::new("/nonexistent")).is_err());
    /// ```
    pub fn load(path: &Path) -> Result<Certificate> {
        match read_text(&secret_path(path)) {
            Ok(text) => Certificate::parse(&text),
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Certificate::parse(&read_text(path)?)
            }
            Err(e) => Err(e),
        }
    }
}

/// Reads a password file: UTF-8, at most 16 MiB.
pub(crate) fn read_password_file(path: &Path) -> Result<String> {
    read_limited(path, 16 << 20)
}

/// Reads a file of at most [`FILE_MAX`] bytes of UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    read_limited(path, FILE_MAX)
}

fn read_limited(path: &Path, max: u64) -> Result<String> {
    let file = fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Error::Corrupt(format!(
            "{}: longer than {max} bytes",
            path.display()
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::Corrupt(format!("{}: not UTF-8 text", path.display())))
}

fn write_whole(path: &Path, text: &str, mode: u32) -> Result<()> {
    let name = path.file_name().ok_or_else(|| {
        Error::Io(std::io::Error::other(
            "a certificate path with no file name",
        ))
    })?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let _ = fs::remove_file(&temp);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn pair() -> Certificate {
        Certificate::from_pair(KeyPair {
            public: PublicKey([5; 32]),
            secret: SecretKey([6; 32]),
        })
    }

    #[test]
    fn files_round_trip_and_the_secret_is_private() {
        let dir = std::env::temp_dir().join(format!("zp-cert-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut cert = pair();
        cert.set_meta("name", "it's \"me\"").ok(); // both quotes: refused
        cert.set_meta("name", "Server").unwrap();
        let path = dir.join("server.key");
        cert.save(&path).unwrap();
        let mode = fs::metadata(secret_path(&path))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Certificate::load(&path).unwrap(), cert);
        let public = Certificate::parse(&read_text(&path).unwrap()).unwrap();
        assert_eq!(public.public_key(), cert.public_key());
        assert!(public.secret_key().is_none());
        assert!(!read_text(&path).unwrap().contains("secret-key"));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A file written by CZMQ 4.2's zcert_save_secret (keys replaced by the guide's).
    #[test]
    fn reads_czmq_files() {
        let text = "#   ****  Generated on 2016-02-03 11:22:33 by CZMQ  ****\n\
            #   ZeroMQ CURVE **Secret** Certificate\n\
            #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\
            \n\
            metadata\n    name = \"Client test certificate\"\n\
            curve\n    public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\"\n    \
            secret-key = \"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs\"\n";
        let cert = Certificate::parse(text).unwrap();
        assert_eq!(cert.meta("name"), Some("Client test certificate"));
        assert_eq!(
            cert.public_key().to_z85(),
            "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
        );
        assert!(cert.secret_key().is_some());
    }
}
