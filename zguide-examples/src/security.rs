//! What the security examples (`grasslands`, `strawhouse`, `woodhouse`, CZMQ's
//! `examples/security`) share: watching a server socket for clients that failed
//! authentication, the one place libzmq says so.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use zmq_patterns::{Msg, Poller};

/// libzmq's `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH` (4.3): the ZAP handler refused a peer; the
/// event's value is the ZAP status code. (`zmq::SocketEvent` cannot be used: its `from_raw`
/// panics on events it does not know.)
pub const EVENT_HANDSHAKE_FAILED_AUTH: u16 = 0x4000;

/// A monitor of a server socket's authentication failures.
pub struct AuthFailures {
    monitor: zmq::Socket,
}

impl AuthFailures {
    /// Starts monitoring `server` (before it binds or accepts anyone).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let server = ctx.socket(zmq::PUSH).unwrap();
    /// let failures = zguide_examples::security::AuthFailures::watch(&ctx, &server, "doc").unwrap();
    /// assert_eq!(failures.wait(std::time::Duration::from_millis(10)).unwrap(), None);
    /// ```
    pub fn watch(
        ctx: &zmq::Context,
        server: &zmq::Socket,
        name: &str,
    ) -> anyhow::Result<AuthFailures> {
        let endpoint = format!("inproc://auth-failures-{name}-{}", std::process::id());
        server
            .monitor(&endpoint, i32::from(EVENT_HANDSHAKE_FAILED_AUTH))
            .context("cannot monitor the server socket")?;
        let monitor = ctx.socket(zmq::PAIR)?;
        monitor.set_linger(0)?;
        monitor.connect(&endpoint)?;
        Ok(AuthFailures { monitor })
    }

    /// Waits up to `timeout` for a refused client: its ZAP status code, or `None` if none was
    /// refused in time.
    pub fn wait(&self, timeout: Duration) -> anyhow::Result<Option<u32>> {
        let deadline = Instant::now() + timeout;
        let mut poller = Poller::new();
        poller.add(&self.monitor);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // A zero timeout still looks once
            if poller.poll(Some(left))? == 0 {
                return Ok(None);
            }
            let event = Msg::recv(&self.monitor)?;
            // [event u16, value u32] in native byte order, then the endpoint
            if let Some(&[a, b, c, d, e, f]) = event.front().map(|f| f.as_bytes()) {
                if u16::from_ne_bytes([a, b]) == EVENT_HANDSHAKE_FAILED_AUTH {
                    return Ok(Some(u32::from_ne_bytes([c, d, e, f])));
                }
            }
        }
    }
}

/// The endpoint `connect` reached from the local address `source` (libzmq's
/// `tcp://source:0;host:port` form), for a client that must come from a given address.
///
/// ```
/// let e = zguide_examples::security::from_source("tcp://127.0.0.1:9000", "127.0.0.2").unwrap();
/// assert_eq!(e, "tcp://127.0.0.2:0;127.0.0.1:9000");
/// ```
pub fn from_source(connect: &str, source: &str) -> anyhow::Result<String> {
    let rest = connect
        .strip_prefix("tcp://")
        .with_context(|| format!("{connect}: a client from another address needs tcp://"))?;
    Ok(format!("tcp://{source}:0;{rest}"))
}

/// Sends `text` on `server` (a PUSH, which waits for a client that passed authentication)
/// within `timeout`; an error if the server refused the client first or none came in time.
pub fn send_or_refused(
    server: &zmq::Socket,
    failures: &AuthFailures,
    text: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match server.send(text, zmq::DONTWAIT) {
            Ok(()) => return Ok(()),
            Err(zmq::Error::EAGAIN) => {}
            Err(e) => return Err(zmq_patterns::Error::from(e).into()),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            anyhow::bail!("no client within {} ms", timeout.as_millis());
        }
        if let Some(code) = failures.wait(left.min(Duration::from_millis(20)))? {
            anyhow::bail!("refused by the server (ZAP status {code})");
        }
    }
}

/// Receives one text message on `client` within `timeout`; an error if the server refused
/// the client first (`refused by the server (ZAP status 400)`) or nothing came in time.
pub fn recv_or_refused(
    client: &zmq::Socket,
    failures: &AuthFailures,
    timeout: Duration,
) -> anyhow::Result<String> {
    use zmq_patterns::SocketExt;
    let deadline = Instant::now() + timeout;
    let mut poller = Poller::new();
    poller.add(client);
    poller.add(&failures.monitor);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || poller.poll(Some(left))? == 0 {
            anyhow::bail!("nothing arrived within {} ms", timeout.as_millis());
        }
        if poller.is_readable(0) {
            return Ok(client.recv_text()?);
        }
        if let Some(code) = failures.wait(Duration::ZERO)? {
            anyhow::bail!("refused by the server (ZAP status {code})");
        }
    }
}

/// `Ok` when the linked libzmq has CURVE; else the error a CURVE example ends with (status 1):
/// `CURVE is not available in this libzmq ...`, saying how to get it.
///
/// ```
/// let curve = zguide_examples::security::require_curve("ironhouse");
/// assert_eq!(curve.is_ok(), zmq_patterns::cert::curve_available());
/// ```
pub fn require_curve(program: &str) -> anyhow::Result<()> {
    if zmq_patterns::cert::curve_available() {
        return Ok(());
    }
    anyhow::bail!(
        "CURVE is not available in this libzmq, and {program} needs it: the zmq crate builds \
         libzmq without libsodium; link a system libzmq built with it (Debian's libzmq3-dev) \
         through `[target.<triple>.zmq] rustc-link-lib = [\"zmq\"]` in .cargo/config.toml"
    )
}

/// The CURVE flags of a Majordomo worker or client (`mdworker`, `mdclient`, `mdclient2`): its
/// own certificate and the broker's public certificate, both files in CZMQ's format. Neither
/// flag: plain TCP, as the guide's programs.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CurveClientFlags {
    /// The broker's public certificate (CZMQ's zcert format): talk to the broker over CURVE.
    #[arg(long, value_name = "PATH", requires = "curve_cert")]
    pub curve_server: Option<std::path::PathBuf>,
    /// This program's own certificate, with its secret key (the file, or the file beside it
    /// with `_secret` added), for `--curve-server`.
    #[arg(long, value_name = "PATH", requires = "curve_server")]
    pub curve_cert: Option<std::path::PathBuf>,
}

impl CurveClientFlags {
    /// The keys to connect with, or `None` without the flags. Without CURVE in this libzmq,
    /// the library's `unsupported: ...` error, before any file is read.
    ///
    /// ```
    /// let none = zguide_examples::security::CurveClientFlags::default();
    /// assert!(none.load("mdclient").unwrap().is_none());
    /// ```
    pub fn load(&self, program: &str) -> anyhow::Result<Option<zmq_patterns::cert::CurveClient>> {
        use zmq_patterns::cert::{Certificate, CurveClient};
        let (Some(server), Some(cert)) = (&self.curve_server, &self.curve_cert) else {
            return Ok(None);
        };
        zmq_patterns::cert::require_curve(&format!("{program} --curve-server"))?;
        let own = Certificate::load(cert)
            .with_context(|| format!("cannot load the certificate {}", cert.display()))?;
        let broker = Certificate::load(server)
            .with_context(|| format!("cannot load the certificate {}", server.display()))?;
        log::debug!(
            "CURVE: key {}, server key {}",
            own.public_key(),
            broker.public_key()
        );
        Ok(Some(CurveClient::new(own, *broker.public_key())))
    }
}

/// Which half of a security example runs (`--role`): both in one process (the guide's
/// program), or only the server or only the client, to meet a peer in another process or
/// language (scripts/interop.sh runs them against pyzmq).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Server and client in one process, as the C original.
    #[default]
    Both,
    /// The server only: it sends `Hello` to the first client that passes authentication.
    Server,
    /// The client only: it waits for `Hello` from the server.
    Client,
}

impl Role {
    /// True when the server half runs.
    ///
    /// ```
    /// use zguide_examples::security::Role;
    /// assert!(Role::Both.server() && Role::Server.server() && !Role::Client.server());
    /// ```
    pub fn server(self) -> bool {
        self != Role::Client
    }

    /// True when the client half runs.
    ///
    /// ```
    /// use zguide_examples::security::Role;
    /// assert!(Role::Both.client() && Role::Client.client() && !Role::Server.client());
    /// ```
    pub fn client(self) -> bool {
        self != Role::Server
    }
}

/// Receives one text message on `client` within `timeout`, for a client whose server runs
/// elsewhere (no monitor to tell a refusal from silence).
pub fn recv_within(client: &zmq::Socket, timeout: Duration) -> anyhow::Result<String> {
    use zmq_patterns::SocketExt;
    let mut poller = Poller::new();
    poller.add(client);
    if poller.poll(Some(timeout))? == 0 {
        anyhow::bail!(
            "nothing arrived within {} ms (refused by the server, or no server)",
            timeout.as_millis()
        );
    }
    Ok(client.recv_text()?)
}
