//! [`Authenticator`]: a ZAP handler actor (CZMQ's `zauth`, pyzmq's `ThreadAuthenticator`).

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::auth::policy::{Curve, Policy};
use crate::auth::{Passwords, ZAP_ENDPOINT, ZapReply, ZapRequest};
use crate::cert::{CertStore, require_curve};
use crate::error::{EndpointAction, EndpointReason, Error, Result};
use crate::{Actor, ActorPipe, Msg};

/// Authenticates every client that connects to a server socket of its context: an actor that
/// answers libzmq's ZAP requests (spec 27/ZAP) on `inproc://zeromq.zap.01`.
///
/// - Addresses: [`allow`](Authenticator::allow) admits only the listed addresses;
///   otherwise [`deny`](Authenticator::deny) refuses the listed ones. For NULL that is all;
///   PLAIN and CURVE clients must pass their own check as well, from any address.
/// - PLAIN: user names and passwords from a file ([`plain_file`](Authenticator::plain_file),
///   CZMQ's format) or a map ([`plain_passwords`](Authenticator::plain_passwords)). The
///   application reads the user name from each message: `zmq::Message::gets("User-Id")`.
/// - CURVE: the public certificates in a directory
///   ([`curve_certificates`](Authenticator::curve_certificates)), or any client that knows the
///   server's key ([`curve_any`](Authenticator::curve_any)). The User-Id is the client's key
///   in Z85, and its certificate's metadata comes with each message. Both return
///   [`Error::Unsupported`] when the linked libzmq has no CURVE.
/// - Domains: PLAIN and CURVE are configured per domain (the server socket's
///   `set_zap_domain`); a domain without its own configuration for a mechanism uses that of
///   [`ANY_DOMAIN`](crate::auth::ANY_DOMAIN) (`"*"`).
///
/// Configuration calls take effect before they return: a client that connects afterwards is
/// judged by the new rules. A request that does not follow the protocol is answered `400`
/// and the handler goes on serving (CZMQ's `zauth` asserts and dies there). Decisions are
/// logged at `debug`, never a password.
///
/// libzmq consults the handler for a NULL socket only if its ZAP domain is set
/// (`set_zap_domain`); PLAIN and CURVE servers always. Only one handler can be bound per
/// context: a second `Authenticator` on it is [`Error::Endpoint`], address in use.
///
/// ```
/// use zmq_patterns::auth::Authenticator;
/// use zmq_patterns::SocketExt;
/// let ctx = zmq::Context::new();
/// let auth = Authenticator::new(&ctx)?;
/// auth.plain_passwords("*", [("admin", "secret")])?;
///
/// let server = ctx.socket(zmq::PULL)?;
/// server.set_plain_server(true)?;
/// server.bind("tcp://127.0.0.1:*")?;
/// let client = ctx.socket(zmq::PUSH)?;
/// client.set_plain_username(Some("admin"))?;
/// client.set_plain_password(Some("secret"))?;
/// client.connect(&server.get_last_endpoint()?.unwrap())?;
///
/// client.send_text("Hello")?;
/// let mut msg = zmq::Message::new();
/// server.recv(&mut msg, 0)?;
/// assert_eq!(msg.gets("User-Id"), Some("admin"));
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[doc(alias = "zauth")]
#[doc(alias = "ThreadAuthenticator")]
pub struct Authenticator {
    actor: Actor,
    policy: Arc<Mutex<Policy>>,
}

fn lock(policy: &Mutex<Policy>) -> MutexGuard<'_, Policy> {
    // The handler never panics while it holds the lock; if something did, the policy is
    // still a consistent value.
    policy.lock().unwrap_or_else(|e| e.into_inner())
}

fn addresses<A: AsRef<str>>(list: impl IntoIterator<Item = A>) -> Result<Vec<IpAddr>> {
    list.into_iter()
        .map(|a| {
            crate::auth::policy::parse_address(a.as_ref()).ok_or_else(|| {
                Error::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("zap: {:?} is not an IP address", a.as_ref()),
                ))
            })
        })
        .collect()
}

impl Authenticator {
    /// Binds the ZAP handler in `ctx` and starts it. [`Error::Endpoint`] (address in use) if
    /// the context has a handler already.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let auth = zmq_patterns::auth::Authenticator::new(&ctx)?;
    /// assert!(zmq_patterns::auth::Authenticator::new(&ctx).unwrap_err().is_address_in_use());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn new(ctx: &zmq::Context) -> Result<Authenticator> {
        let policy = Arc::new(Mutex::new(Policy::default()));
        let shared = policy.clone();
        let handler = ctx.socket(zmq::REP)?;
        handler.set_linger(0)?;
        handler.bind(ZAP_ENDPOINT).map_err(|e| Error::Endpoint {
            action: EndpointAction::Bind,
            endpoint: ZAP_ENDPOINT.into(),
            reason: EndpointReason::Zmq(e),
        })?;
        let actor = Actor::new(ctx, move |pipe| {
            pipe.ready()?;
            let result = serve(&pipe, &handler, &shared);
            // Closing a socket frees its endpoint later, in libzmq's reaper thread; unbinding
            // frees it now, so that a new handler can bind as soon as stop() returns.
            let _ = handler.unbind(ZAP_ENDPOINT);
            result
        })?;
        log::debug!("zap: handler bound at {ZAP_ENDPOINT}");
        Ok(Authenticator { actor, policy })
    }

    /// Admits clients from these addresses only (adds to the allow list), for every
    /// mechanism; PLAIN and CURVE clients must still pass their own check. An allow list
    /// makes the deny list unused. A text that is not an IP address is an error.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let auth = zmq_patterns::auth::Authenticator::new(&ctx)?;
    /// auth.allow(["127.0.0.1", "::1"])?;
    /// assert!(auth.allow(["localhost"]).is_err());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "ALLOW")]
    pub fn allow<A: AsRef<str>>(&self, list: impl IntoIterator<Item = A>) -> Result<()> {
        let list = addresses(list)?;
        log::debug!("zap: allow {list:?}");
        lock(&self.policy).allow.extend(list);
        Ok(())
    }

    /// Refuses clients from these addresses (adds to the deny list), unless there is an
    /// allow list.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let auth = zmq_patterns::auth::Authenticator::new(&ctx)?;
    /// auth.deny(["192.0.2.7"])?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "DENY")]
    pub fn deny<A: AsRef<str>>(&self, list: impl IntoIterator<Item = A>) -> Result<()> {
        let list = addresses(list)?;
        log::debug!("zap: deny {list:?}");
        lock(&self.policy).deny.extend(list);
        Ok(())
    }

    /// Checks PLAIN clients of `domain` (`"*"` for the default) against a password file in
    /// CZMQ's format (`name=password` lines, see [`Passwords`]), read again at every check.
    /// A file that cannot be read now is an error.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let auth = zmq_patterns::auth::Authenticator::new(&ctx)?;
    /// assert!(auth.plain_file("*", "/nonexistent/passwords").is_err());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "PLAIN")]
    pub fn plain_file(&self, domain: &str, path: impl AsRef<Path>) -> Result<()> {
        let passwords = Passwords::load(path.as_ref())?;
        log::debug!(
            "zap: domain {domain:?}: PLAIN passwords from {}",
            path.as_ref().display()
        );
        lock(&self.policy)
            .domains
            .entry(domain.into())
            .or_default()
            .plain = Some(passwords);
        Ok(())
    }

    /// Checks PLAIN clients of `domain` against these user names and passwords.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let auth = zmq_patterns::auth::Authenticator::new(&ctx)?;
    /// auth.plain_passwords("global", [("admin", "secret")])?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn plain_passwords<U: Into<String>, P: Into<String>>(
        &self,
        domain: &str,
        users: impl IntoIterator<Item = (U, P)>,
    ) -> Result<()> {
        let passwords = Passwords::from_map(users);
        log::debug!("zap: domain {domain:?}: PLAIN {passwords:?}");
        lock(&self.policy)
            .domains
            .entry(domain.into())
            .or_default()
            .plain = Some(passwords);
        Ok(())
    }

    /// Admits the CURVE clients of `domain` whose public certificate is in `dir` (a
    /// [`CertStore`], which notices changed files). [`Error::Unsupported`] without CURVE.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let auth = zmq_patterns::auth::Authenticator::new(&ctx)?;
    /// let done = auth.curve_certificates("*", ".curve");
    /// assert_eq!(done.is_ok(), zmq_patterns::cert::curve_available());
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "CURVE")]
    pub fn curve_certificates(&self, domain: &str, dir: impl AsRef<Path>) -> Result<()> {
        require_curve("authenticating CURVE clients by certificate")?;
        let store = CertStore::open(dir);
        log::debug!(
            "zap: domain {domain:?}: CURVE clients in {} ({} now)",
            store.dir().display(),
            store.len()
        );
        lock(&self.policy)
            .domains
            .entry(domain.into())
            .or_default()
            .curve = Some(Curve::Store(store));
        Ok(())
    }

    /// Admits every CURVE client of `domain` that knows the server's public key (CZMQ's
    /// `CURVE_ALLOW_ANY`). [`Error::Unsupported`] without CURVE.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let auth = zmq_patterns::auth::Authenticator::new(&ctx)?;
    /// if !zmq_patterns::cert::curve_available() {
    ///     assert!(auth.curve_any("*").unwrap_err().is_unsupported());
    /// }
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "CURVE_ALLOW_ANY")]
    pub fn curve_any(&self, domain: &str) -> Result<()> {
        require_curve("admitting any CURVE client")?;
        log::debug!("zap: domain {domain:?}: any CURVE client");
        lock(&self.policy)
            .domains
            .entry(domain.into())
            .or_default()
            .curve = Some(Curve::Any);
        Ok(())
    }

    /// True when CURVE clients of `domain` have a configuration here: the domain's own or
    /// [`ANY_DOMAIN`](crate::auth::ANY_DOMAIN)'s.
    pub(crate) fn has_curve(&self, domain: &str) -> bool {
        let policy = lock(&self.policy);
        [domain, crate::auth::ANY_DOMAIN]
            .iter()
            .any(|d| policy.domains.get(*d).is_some_and(|d| d.curve.is_some()))
    }

    /// Admits any CURVE client of `domain` without asking whether this libzmq has CURVE:
    /// for tests of what needs no CURVE.
    #[cfg(test)]
    pub(crate) fn set_curve_for_test(&self, domain: &str) {
        lock(&self.policy)
            .domains
            .entry(domain.into())
            .or_default()
            .curve = Some(Curve::Any);
    }

    /// Stops the handler and unbinds it, returning its thread's result. Dropping does the
    /// same, quietly.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// zmq_patterns::auth::Authenticator::new(&ctx)?.stop()?;
    /// zmq_patterns::auth::Authenticator::new(&ctx)?; // the endpoint is free again
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn stop(self) -> Result<()> {
        self.actor.stop()
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("policy", &*lock(&self.policy))
            .finish_non_exhaustive()
    }
}

/// The actor's loop: a request in, a reply out, until `$TERM` or the context ends.
///
/// Ctrl-C does not stop it: the handler answers until its owner stops it (a program may still
/// be shutting down its sockets, and libzmq lets CURVE clients in while no handler is bound,
/// unless `ZMQ_ZAP_ENFORCE_DOMAIN` is set). So it polls without the crate's interrupt pipe,
/// which stays readable once a signal came, and receives only what the poll said is waiting,
/// without the interruptible wait.
fn serve(pipe: &ActorPipe, handler: &zmq::Socket, policy: &Mutex<Policy>) -> Result<()> {
    loop {
        let mut items = [
            pipe.as_poll_item(zmq::POLLIN),
            handler.as_poll_item(zmq::POLLIN),
        ];
        match zmq::poll(&mut items, -1) {
            Ok(_) => {}
            Err(zmq::Error::EINTR) => continue,
            Err(zmq::Error::ETERM) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let (command, request) = (items[0].is_readable(), items[1].is_readable());
        if command {
            match Msg::try_recv(pipe) {
                Ok(Some(msg)) if pipe.is_term(&msg) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.is_terminated() => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        if request {
            let request = match Msg::try_recv(handler) {
                Ok(Some(msg)) => msg,
                Ok(None) => continue,
                Err(e) if e.is_terminated() => return Ok(()),
                Err(e) => return Err(e),
            };
            let reply = answer(&request, policy);
            log::trace!("zap: {} {}", reply.status.code(), reply.status_text);
            match reply.to_msg().send(handler) {
                Ok(()) => {}
                Err(e) if e.error.is_terminated() => return Ok(()),
                Err(e) => return Err(e.error),
            }
        }
    }
}

/// The reply to any frames: a decision, or `400` for what is not a request.
pub(crate) fn answer(request: &Msg, policy: &Mutex<Policy>) -> ZapReply {
    match ZapRequest::parse(request) {
        Ok(request) => lock(policy).decide(&request),
        Err(e) => {
            log::debug!("zap: denied a malformed request: {e}");
            ZapReply::malformed(request, &e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SocketExt;
    use crate::auth::{Mechanism, Status};
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(5);

    /// A raw ZAP client: a DEALER on the handler's endpoint, as libzmq's own.
    fn zap_client(ctx: &zmq::Context) -> zmq::Socket {
        let s = ctx.socket(zmq::DEALER).unwrap();
        s.set_linger(0).unwrap();
        s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
        s.connect(ZAP_ENDPOINT).unwrap();
        s
    }

    /// Sends frames as one request, returns the reply's frames (after the delimiter).
    fn ask(zap: &zmq::Socket, frames: &[&[u8]]) -> Msg {
        let mut msg = Msg::from_iter(frames.iter().copied());
        msg.push_front(&b""[..]);
        msg.send(zap).unwrap();
        let mut reply = Msg::recv(zap).expect("a reply within 5 s");
        assert_eq!(reply.pop_front().unwrap(), "");
        reply
    }

    fn status(reply: &Msg) -> Status {
        ZapReply::parse(reply).expect("a valid reply").status
    }

    #[test]
    fn malformed_requests_get_400_and_the_handler_keeps_serving() {
        let ctx = zmq::Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        let zap = zap_client(&ctx);
        let null: &[&[u8]] = &[b"1.0", b"7", b"", b"127.0.0.1", b"", b"NULL"];
        assert_eq!(status(&ask(&zap, null)), Status::Success);
        let bad: &[&[&[u8]]] = &[
            &[b"2.0", b"8", b"", b"127.0.0.1", b"", b"NULL"], // version
            &[b"1.0", b"8", b"", b"127.0.0.1", b"", b"NULL", b"x"], // NULL + credential
            &[b"1.0", b"8", b"", b"127.0.0.1", b"", b"PLAIN", b"u"], // PLAIN with one
            &[b"1.0", b"8", b"", b"127.0.0.1", b"", b"CURVE", b"key"], // a short key
            &[b"1.0", b"8", b"", b"127.0.0.1", b"", b"KERBEROS"], // mechanism
            &[b"1.0", b"8", b"", b"127.0.0.1"],               // too few frames
            &[b"1.0", b"8", b"\xff", b"127.0.0.1", b"", b"NULL"], // domain not UTF-8
        ];
        for frames in bad {
            let reply = ask(&zap, frames);
            let parsed = ZapReply::parse(&reply).expect("a valid reply");
            assert_eq!(parsed.status, Status::AuthFailure, "{frames:?}");
            assert_eq!(parsed.request_id, b"8", "the id echoed for {frames:?}");
        }
        // A request of one frame: no id to echo, still a reply
        assert_eq!(
            ZapReply::parse(&ask(&zap, &[b"junk"])).unwrap().request_id,
            b""
        );
        assert_eq!(status(&ask(&zap, null)), Status::Success);
        auth.stop().unwrap();
    }

    /// "A terminal handler ... MUST accept an address envelope consisting of N routing ID
    /// frames followed by an empty address delimiter frame ... and MUST send the same envelope
    /// back with the reply."
    #[test]
    fn an_envelope_of_several_hops_comes_back_with_the_reply() {
        let ctx = zmq::Context::new();
        let _auth = Authenticator::new(&ctx).unwrap();
        let zap = zap_client(&ctx);
        let frames: [&[u8]; 9] = [
            b"hop1", b"hop2", b"", b"1.0", b"3", b"", b"::1", b"", b"NULL",
        ];
        Msg::from_iter(frames).send(&zap).unwrap();
        let reply = Msg::recv(&zap).expect("a reply within 5 s");
        assert!(
            reply[0] == "hop1" && reply[1] == "hop2" && reply[2].is_empty(),
            "{reply:?}"
        );
        let mut reply = reply;
        for _ in 0..3 {
            reply.pop_front();
        }
        let reply = ZapReply::parse(&reply).unwrap();
        assert_eq!(
            (reply.status, &reply.request_id[..]),
            (Status::Success, &b"3"[..])
        );
    }

    #[test]
    fn address_lists_and_plain_over_raw_requests() {
        let ctx = zmq::Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        let zap = zap_client(&ctx);
        auth.deny(["10.0.0.9"]).unwrap();
        let from = |a: &str| {
            ZapRequest {
                request_id: b"1".to_vec(),
                domain: "global".into(),
                address: a.into(),
                identity: vec![],
                mechanism: Mechanism::Null,
            }
            .to_msg()
        };
        let ask_msg = |m: Msg| {
            let frames: Vec<Vec<u8>> = m.iter().map(|f| f.to_vec()).collect();
            let frames: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
            status(&ask(&zap, &frames))
        };
        assert_eq!(ask_msg(from("10.0.0.9")), Status::AuthFailure);
        assert_eq!(ask_msg(from("10.0.0.8")), Status::Success);
        auth.allow(["10.0.0.8"]).unwrap(); // takes effect before allow() returns
        assert_eq!(ask_msg(from("10.0.0.7")), Status::AuthFailure);
        assert_eq!(ask_msg(from("10.0.0.8")), Status::Success);
        let plain = |user: &str, password: &str| {
            let mut r = ZapRequest::parse(&from("10.0.0.8")).unwrap();
            r.mechanism = Mechanism::Plain {
                username: user.into(),
                password: password.into(),
            };
            r.to_msg()
        };
        assert_eq!(ask_msg(plain("admin", "secret")), Status::AuthFailure);
        auth.plain_passwords("*", [("admin", "secret")]).unwrap();
        assert_eq!(ask_msg(plain("admin", "secret")), Status::Success);
        assert_eq!(ask_msg(plain("admin", "wrong")), Status::AuthFailure);
    }

    /// Through libzmq itself, over TCP: PLAIN accepted and refused, User-Id on messages.
    #[test]
    fn plain_clients_through_libzmq() {
        let ctx = zmq::Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        auth.plain_passwords("*", [("admin", "secret")]).unwrap();
        let server = ctx.socket(zmq::PULL).unwrap();
        server.set_plain_server(true).unwrap();
        server.set_rcvtimeo(500).unwrap();
        server.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = server.get_last_endpoint().unwrap().unwrap();
        let client = |user: &str, password: &str| {
            let c = ctx.socket(zmq::PUSH).unwrap();
            c.set_linger(0).unwrap();
            c.set_plain_username(Some(user)).unwrap();
            c.set_plain_password(Some(password)).unwrap();
            c.connect(&endpoint).unwrap();
            c.send_text(user).unwrap();
            c
        };
        let _bad = client("admin", "guess");
        let _good = client("admin", "secret");
        let mut msg = zmq::Message::new();
        server.recv(&mut msg, 0).unwrap();
        assert_eq!(msg.gets("User-Id"), Some("admin"));
        // The one with the wrong password never gets through
        assert_eq!(server.recv(&mut msg, 0).unwrap_err(), zmq::Error::EAGAIN);
    }

    /// A PULL server on a free port, with a short receive timeout.
    fn pull_server(ctx: &zmq::Context, setup: impl Fn(&zmq::Socket)) -> (zmq::Socket, String) {
        let server = ctx.socket(zmq::PULL).unwrap();
        setup(&server);
        server.set_rcvtimeo(500).unwrap();
        server.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = server.get_last_endpoint().unwrap().unwrap();
        (server, endpoint)
    }

    /// A PUSH client that sends `text` once connected.
    fn push_client(
        ctx: &zmq::Context,
        endpoint: &str,
        text: &str,
        setup: impl Fn(&zmq::Socket),
    ) -> zmq::Socket {
        let c = ctx.socket(zmq::PUSH).unwrap();
        c.set_linger(0).unwrap();
        setup(&c);
        c.connect(endpoint).unwrap();
        c.send_text(text).unwrap();
        c
    }

    /// NULL clients reach the handler when the server socket has a ZAP domain, and only then
    /// (libzmq 4.3).
    #[test]
    fn null_with_a_domain_is_judged_by_address() {
        let ctx = zmq::Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        let (server, endpoint) = pull_server(&ctx, |s| s.set_zap_domain("global").unwrap());
        let _first = push_client(&ctx, &endpoint, "first", |_| {});
        assert_eq!(server.recv_text().unwrap(), "first");
        auth.deny(["127.0.0.1"]).unwrap();
        let _second = push_client(&ctx, &endpoint, "second", |_| {});
        assert!(server.recv_text().unwrap_err().is_timeout());
        // Without a domain libzmq does not ask
        let (open, endpoint) = pull_server(&ctx, |_| {});
        let _third = push_client(&ctx, &endpoint, "third", |_| {});
        assert_eq!(open.recv_text().unwrap(), "third");
    }

    /// Each server socket's ZAP domain picks its passwords; others use the default.
    #[test]
    fn plain_domains_through_libzmq() {
        let ctx = zmq::Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        auth.plain_passwords("*", [("user", "1")]).unwrap();
        auth.plain_passwords("admin", [("root", "2")]).unwrap();
        let server = |domain: &str| {
            pull_server(&ctx, |s| {
                s.set_plain_server(true).unwrap();
                s.set_zap_domain(domain).unwrap();
            })
        };
        let login = |user: &'static str, password: &'static str| {
            move |c: &zmq::Socket| {
                c.set_plain_username(Some(user)).unwrap();
                c.set_plain_password(Some(password)).unwrap();
            }
        };
        let (admin, admin_ep) = server("admin");
        let (global, global_ep) = server("global");
        let _a = push_client(&ctx, &admin_ep, "user@admin", login("user", "1"));
        let _b = push_client(&ctx, &admin_ep, "root@admin", login("root", "2"));
        let _c = push_client(&ctx, &global_ep, "root@global", login("root", "2"));
        let _d = push_client(&ctx, &global_ep, "user@global", login("user", "1"));
        assert_eq!(admin.recv_text().unwrap(), "root@admin");
        assert!(admin.recv_text().unwrap_err().is_timeout());
        assert_eq!(global.recv_text().unwrap(), "user@global");
        assert!(global.recv_text().unwrap_err().is_timeout());
    }

    fn skip_without_curve() -> bool {
        if crate::cert::curve_available() {
            return false;
        }
        // The CURVE job of .ci/run links a libzmq with CURVE: a skip there is a failure
        assert!(
            std::env::var_os("ZMQ_PATTERNS_REQUIRE_CURVE").is_none(),
            "ZMQ_PATTERNS_REQUIRE_CURVE is set, and this libzmq has no CURVE"
        );
        // Straight to stderr, past the test harness's capture, so that a skip is seen
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped: no CURVE in this libzmq");
        true
    }

    /// A CURVE server with a new certificate; its key for clients.
    fn curve_server(
        ctx: &zmq::Context,
        auth: &Authenticator,
    ) -> (zmq::Socket, String, crate::cert::PublicKey) {
        let cert = crate::cert::Certificate::generate().unwrap();
        let (server, endpoint) = pull_server(ctx, |s| {
            cert.apply_server(s, crate::auth::CurveClients::Checked(auth))
                .unwrap();
        });
        (server, endpoint, *cert.public_key())
    }

    fn curve_client(
        ctx: &zmq::Context,
        endpoint: &str,
        server_key: &crate::cert::PublicKey,
        cert: &crate::cert::Certificate,
        text: &str,
    ) -> zmq::Socket {
        push_client(ctx, endpoint, text, |c| {
            cert.apply(c).unwrap();
            c.set_curve_serverkey(&server_key.0).unwrap();
        })
    }

    #[test]
    fn curve_any_client() {
        if skip_without_curve() {
            return;
        }
        let ctx = zmq::Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        auth.curve_any("*").unwrap();
        let (server, endpoint, key) = curve_server(&ctx, &auth);
        let client = crate::cert::Certificate::generate().unwrap();
        let _c = curve_client(&ctx, &endpoint, &key, &client, "Hello");
        let mut msg = zmq::Message::new();
        server.recv(&mut msg, 0).unwrap();
        assert_eq!(
            msg.gets("User-Id"),
            Some(client.public_key().to_z85().as_str())
        );
    }

    #[test]
    fn curve_known_and_unknown_clients() {
        if skip_without_curve() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("zp-auth-curve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ctx = zmq::Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        auth.curve_certificates("*", &dir).unwrap();
        let mut known = crate::cert::Certificate::generate().unwrap();
        known.set_meta("name", "Client test certificate").unwrap();
        known.save_public(&dir.join("client.pub")).unwrap();
        let stranger = crate::cert::Certificate::generate().unwrap();
        let (server, endpoint, key) = curve_server(&ctx, &auth);
        let _s = curve_client(&ctx, &endpoint, &key, &stranger, "stranger");
        let _k = curve_client(&ctx, &endpoint, &key, &known, "known");
        let mut msg = zmq::Message::new();
        server.recv(&mut msg, 0).unwrap();
        assert_eq!(msg.as_str(), Some("known"));
        assert_eq!(msg.gets("name"), Some("Client test certificate"));
        assert_eq!(server.recv(&mut msg, 0).unwrap_err(), zmq::Error::EAGAIN);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Safe by default: without a handler a CURVE server needs `CurveClients::Any`, and then
    /// admits a client that knows its key; a handler in another context does not count.
    #[test]
    fn curve_server_without_a_handler_only_when_asked() {
        if skip_without_curve() {
            return;
        }
        use crate::auth::CurveClients;
        use crate::cert::Certificate;
        let ctx = zmq::Context::new();
        let server_cert = Certificate::generate().unwrap();
        let elsewhere = zmq::Context::new();
        let auth = Authenticator::new(&elsewhere).unwrap();
        auth.curve_any("*").unwrap();
        let refused = ctx.socket(zmq::PULL).unwrap();
        let e = server_cert
            .apply_server(&refused, CurveClients::Checked(&auth))
            .unwrap_err();
        assert!(e.is_insecure(), "{e}");
        assert!(
            !refused.is_curve_server().unwrap(),
            "nothing set on refusal"
        );
        let public = Certificate::from_public(*server_cert.public_key());
        assert!(
            public
                .apply_server(&refused, CurveClients::Any)
                .unwrap_err()
                .is_protocol()
        );
        let (server, endpoint) = pull_server(&ctx, |s| {
            server_cert.apply_server(s, CurveClients::Any).unwrap();
        });
        let client = Certificate::generate().unwrap();
        let _c = curve_client(&ctx, &endpoint, server_cert.public_key(), &client, "any");
        assert_eq!(server.recv_text().unwrap(), "any");
    }

    #[test]
    fn curve_calls_without_curve_are_unsupported() {
        if crate::cert::curve_available() {
            eprintln!("skipped: this libzmq has CURVE");
            return;
        }
        let ctx = zmq::Context::new();
        let auth = Authenticator::new(&ctx).unwrap();
        assert!(auth.curve_any("*").unwrap_err().is_unsupported());
        // A server socket too, whoever checks its clients, before anything else is looked at
        let cert = crate::cert::Certificate::from_pair(crate::cert::KeyPair {
            public: crate::cert::PublicKey([1; 32]),
            secret: crate::cert::SecretKey([2; 32]),
        });
        let socket = ctx.socket(zmq::ROUTER).unwrap();
        for clients in [
            crate::auth::CurveClients::Any,
            crate::auth::CurveClients::Checked(&auth),
        ] {
            assert!(
                cert.apply_server(&socket, clients)
                    .unwrap_err()
                    .is_unsupported()
            );
        }
        let e = auth.curve_certificates("*", ".curve").unwrap_err();
        assert!(
            e.is_unsupported() && e.to_string().contains("libsodium"),
            "{e}"
        );
    }
}
