//! The decisions of an [`Authenticator`](crate::auth::Authenticator): address lists, then the
//! mechanism's check in the request's domain. No sockets here, so every case is testable.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::auth::{Mechanism, Metadata, Passwords, ZapReply, ZapRequest};
use crate::cert::{CertStore, PublicKey};

/// The domain whose configuration applies to every domain that has none of its own.
pub const ANY_DOMAIN: &str = "*";

/// How CURVE clients are checked in a domain.
#[derive(Debug)]
pub(crate) enum Curve {
    /// Any client that knows the server's key.
    Any,
    /// Clients whose public certificate is in the store.
    Store(CertStore),
}

#[derive(Debug, Default)]
pub(crate) struct Domain {
    pub plain: Option<Passwords>,
    pub curve: Option<Curve>,
}

/// Address lists and per-domain mechanism configuration.
#[derive(Debug, Default)]
pub(crate) struct Policy {
    pub allow: HashSet<IpAddr>,
    pub deny: HashSet<IpAddr>,
    pub domains: HashMap<String, Domain>,
}

/// An address as libzmq gives it (`127.0.0.1`, `::1`, `::ffff:10.0.0.1`), IPv4-mapped IPv6
/// addresses as IPv4.
pub(crate) fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok().map(|a| a.to_canonical())
}

impl Policy {
    fn domain_for<T>(
        &mut self,
        domain: &str,
        pick: impl Fn(&mut Domain) -> Option<&mut T>,
    ) -> Option<&mut T> {
        let own = self
            .domains
            .get_mut(domain)
            .is_some_and(|d| pick(d).is_some());
        let key = if own { domain } else { ANY_DOMAIN };
        self.domains.get_mut(key).and_then(pick)
    }

    /// The reply to one request.
    pub(crate) fn decide(&mut self, request: &ZapRequest) -> ZapReply {
        let id = request.request_id.clone();
        let mech = request.mechanism.name();
        let address = parse_address(&request.address);
        let said = |verdict: &str, why: &str| {
            log::debug!(
                "zap: {verdict} {} {mech} domain={:?}: {why}",
                request.address,
                request.domain
            );
        };
        // Address lists first, as CZMQ's zauth: an allow list admits only its addresses; else
        // a deny list refuses its addresses. Passing them is enough for NULL only.
        let mut passed = false;
        if !self.allow.is_empty() {
            if !address.is_some_and(|a| self.allow.contains(&a)) {
                said("denied", "not in the allow list");
                return ZapReply::denied(id, "Address not allowed");
            }
            passed = true;
        } else if !self.deny.is_empty() {
            if address.is_some_and(|a| self.deny.contains(&a)) {
                said("denied", "in the deny list");
                return ZapReply::denied(id, "Address denied");
            }
            passed = true;
        }
        match &request.mechanism {
            Mechanism::Null => {
                said("allowed", if passed { "address passed" } else { "NULL" });
                ZapReply::success(id, "", Metadata::new())
            }
            Mechanism::Plain { username, password } => {
                let Some(passwords) = self.domain_for(&request.domain, |d| d.plain.as_mut()) else {
                    said("denied", "no PLAIN passwords for this domain");
                    return ZapReply::denied(id, "No PLAIN passwords");
                };
                if passwords.check(username, password) {
                    said("allowed", &format!("user {username:?}"));
                    ZapReply::success(id, username, Metadata::new())
                } else {
                    said(
                        "denied",
                        &format!("user {username:?}: wrong user name or password"),
                    );
                    ZapReply::denied(id, "Wrong user name or password")
                }
            }
            Mechanism::Curve { public_key } => {
                let key = PublicKey(*public_key);
                let text = key.to_z85();
                match self.domain_for(&request.domain, |d| d.curve.as_mut()) {
                    None => {
                        said("denied", "no CURVE configuration for this domain");
                        ZapReply::denied(id, "No CURVE configuration")
                    }
                    Some(Curve::Any) => {
                        said("allowed", &format!("any CURVE client, key {text}"));
                        ZapReply::success(id, &text, Metadata::new())
                    }
                    Some(Curve::Store(store)) => match store.lookup(&key) {
                        Some(cert) => {
                            let mut meta = Metadata::new();
                            for (name, value) in cert.metadata() {
                                // Certificate names are valid metadata names
                                let _ = meta.insert(name, value);
                            }
                            said(
                                "allowed",
                                &format!("CURVE key {text} in {}", store.dir().display()),
                            );
                            ZapReply::success(id, &text, meta)
                        }
                        None => {
                            said(
                                "denied",
                                &format!("CURVE key {text} not in {}", store.dir().display()),
                            );
                            ZapReply::denied(id, "Unknown CURVE key")
                        }
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Status;
    use crate::cert::Certificate;

    fn request(address: &str, domain: &str, mechanism: Mechanism) -> ZapRequest {
        ZapRequest {
            request_id: b"1".to_vec(),
            domain: domain.into(),
            address: address.into(),
            identity: vec![],
            mechanism,
        }
    }

    fn plain(user: &str, password: &str) -> Mechanism {
        Mechanism::Plain {
            username: user.into(),
            password: password.into(),
        }
    }

    fn status(policy: &mut Policy, r: ZapRequest) -> Status {
        let reply = policy.decide(&r);
        assert_eq!(reply.request_id, r.request_id);
        reply.status
    }

    #[test]
    fn address_lists_as_czmq() {
        let mut p = Policy::default();
        assert_eq!(
            status(&mut p, request("10.0.0.1", "", Mechanism::Null)),
            Status::Success
        );
        p.deny.insert("10.0.0.1".parse().unwrap());
        assert_eq!(
            status(&mut p, request("10.0.0.1", "", Mechanism::Null)),
            Status::AuthFailure
        );
        assert_eq!(
            status(&mut p, request("::ffff:10.0.0.1", "", Mechanism::Null)),
            Status::AuthFailure
        );
        assert_eq!(
            status(&mut p, request("10.0.0.2", "", Mechanism::Null)),
            Status::Success
        );
        // An allow list overrides the deny list and admits only its own
        p.allow.insert("10.0.0.2".parse().unwrap());
        assert_eq!(
            status(&mut p, request("10.0.0.3", "", Mechanism::Null)),
            Status::AuthFailure
        );
        assert_eq!(
            status(&mut p, request("10.0.0.2", "", Mechanism::Null)),
            Status::Success
        );
        assert_eq!(
            status(&mut p, request("not an address", "", Mechanism::Null)),
            Status::AuthFailure
        );
    }

    #[test]
    fn plain_needs_passwords_even_from_an_allowed_address() {
        let mut p = Policy::default();
        p.allow.insert("127.0.0.1".parse().unwrap());
        assert_eq!(
            status(&mut p, request("127.0.0.1", "", plain("admin", "secret"))),
            Status::AuthFailure
        );
        p.domains.entry(ANY_DOMAIN.into()).or_default().plain =
            Some(Passwords::from_map([("admin", "secret")]));
        let reply = p.decide(&request("127.0.0.1", "", plain("admin", "secret")));
        assert_eq!(
            (reply.status, reply.user_id.as_str()),
            (Status::Success, "admin")
        );
        assert_eq!(
            status(&mut p, request("127.0.0.1", "", plain("admin", "guess"))),
            Status::AuthFailure
        );
    }

    #[test]
    fn a_domain_with_its_own_passwords_uses_only_those() {
        let mut p = Policy::default();
        p.domains.entry(ANY_DOMAIN.into()).or_default().plain =
            Some(Passwords::from_map([("user", "1")]));
        p.domains.entry("admin".into()).or_default().plain =
            Some(Passwords::from_map([("root", "2")]));
        assert_eq!(
            status(&mut p, request("::1", "global", plain("user", "1"))),
            Status::Success
        );
        assert_eq!(
            status(&mut p, request("::1", "admin", plain("user", "1"))),
            Status::AuthFailure
        );
        assert_eq!(
            status(&mut p, request("::1", "admin", plain("root", "2"))),
            Status::Success
        );
        assert_eq!(
            status(&mut p, request("::1", "global", plain("root", "2"))),
            Status::AuthFailure
        );
    }

    /// The CURVE decisions need no CURVE in libzmq: the request is only frames.
    #[test]
    fn curve_any_store_and_unknown() {
        let mut p = Policy::default();
        let key = [3u8; 32];
        let curve = Mechanism::Curve { public_key: key };
        assert_eq!(
            status(&mut p, request("::1", "", curve.clone())),
            Status::AuthFailure
        );
        p.domains.entry("open".into()).or_default().curve = Some(Curve::Any);
        let reply = p.decide(&request("::1", "open", curve.clone()));
        assert_eq!(reply.status, Status::Success);
        assert_eq!(reply.user_id, PublicKey(key).to_z85());
        assert_eq!(
            status(&mut p, request("::1", "", curve.clone())),
            Status::AuthFailure
        );

        let dir = std::env::temp_dir().join(format!("zp-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        p.domains.entry(ANY_DOMAIN.into()).or_default().curve =
            Some(Curve::Store(CertStore::open(&dir)));
        assert_eq!(
            status(&mut p, request("::1", "", curve.clone())),
            Status::AuthFailure
        );
        let mut cert = Certificate::from_public(PublicKey(key));
        cert.set_meta("name", "Client test certificate").unwrap();
        cert.save_public(&dir.join("client.pub")).unwrap();
        let reply = p.decide(&request("::1", "", curve.clone()));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(reply.status, Status::Success);
        assert_eq!(
            reply.metadata.get("name"),
            Some(&b"Client test certificate"[..])
        );
        let other = Mechanism::Curve {
            public_key: [4; 32],
        };
        assert_eq!(
            status(&mut p, request("::1", "", other)),
            Status::AuthFailure
        );
    }
}
