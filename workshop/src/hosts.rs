//! Test hosts for a scenario's `[network]`: each host a network namespace, all of them on one
//! LAN (a bridge in one more namespace, the switch), so broadcast works and a host can be taken
//! off the LAN by downing its port on the bridge (its own interface stays up: no carrier).
//!
//! - Namespaces are `ws<pid>-<n>-<host>` and `ws<pid>-<n>-sw`: parallel runs never collide, and the
//!   namespaces of a runner that died without cleaning up (SIGKILL) are removed by the next.
//! - Host `n` (counting from 1, in the order the scenario names them) is `10.213.200.n/24` on
//!   its `eth0`, with the subnet's broadcast address and a route for `255.255.255.255`.
//!   These private addresses never leave the namespaces.
//! - Dropping the [`Lan`] kills what still runs inside and removes every namespace it made.

use anyhow::{Result, bail};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The LAN's subnet, `10.213.200.0/24`.
const SUBNET: [u8; 3] = [10, 213, 200];

/// The address of the `index`-th host (from 0) of a scenario; at most 253 hosts.
pub fn address(index: usize) -> Option<Ipv4Addr> {
    let n = u8::try_from(index + 1).ok().filter(|n| *n < 254)?;
    Some(Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], n))
}

/// Whether `name` can name a host: 1 to 8 ASCII letters and digits.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 8 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether this process can make network namespaces; why not, if it cannot.
pub fn available() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and touches no memory of ours.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not root".into());
    }
    ip(&["netns", "list"]).map(|_| ())
}

/// True when the environment says this runs in CI (`CI` set, not empty, not `false`), where a
/// scenario must not be skipped, as in zguide-examples' netns tests.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Runs `ip args...`; the error says what failed and what `ip` said.
fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The pid in a namespace name of ours (`ws123-a` is 123's).
fn owner(ns: &str) -> Option<u32> {
    ns.strip_prefix("ws")?.split_once('-')?.0.parse().ok()
}

/// Kills every process inside namespace `ns` (never the runner), then removes it.
fn remove_netns(ns: &str) -> Result<(), String> {
    for pid in ip(&["netns", "pids", ns]).unwrap_or_default().lines() {
        match pid.trim().parse::<libc::pid_t>() {
            Ok(pid) if pid as u32 != std::process::id() => {
                // SAFETY: kill(2) takes plain integers and touches no memory of ours.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            _ => {}
        }
    }
    ip(&["netns", "del", ns]).map(|_| ())
}

/// The namespaces `ip netns list` shows.
pub fn netns_list() -> Vec<String> {
    ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Removes the namespaces of runners that are gone (killed before their clean-up).
fn remove_stale() {
    for ns in netns_list() {
        if let Some(pid) = owner(&ns) {
            if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = remove_netns(&ns);
            }
        }
    }
}

/// The hosts of one run on one LAN; dropping it removes everything it made.
pub struct Lan {
    switch: String,
    /// (host name, namespace, its port on the bridge)
    hosts: Vec<(String, String, String)>,
    /// Every namespace made, the switch first.
    made: Vec<String>,
}

impl Lan {
    /// Makes the switch and the hosts `names` (in this order: the first is `10.213.200.1`).
    pub fn new(names: &[String]) -> Result<Lan> {
        static MADE: AtomicU32 = AtomicU32::new(0);
        if let Some(bad) = names.iter().find(|n| !valid_name(n)) {
            bail!("bad host name {bad:?}: 1 to 8 letters and digits");
        }
        remove_stale();
        let n = MADE.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("ws{}-{n}", std::process::id());
        let mut lan = Lan {
            switch: format!("{prefix}-sw"),
            hosts: Vec::new(),
            made: Vec::new(),
        };
        // From here on, an error drops `lan`, which removes what was made so far
        let sw = lan.switch.clone();
        lan.netns_add(&sw)?;
        run(&["-n", &sw, "link", "add", "br0", "type", "bridge"])?;
        run(&["-n", &sw, "link", "set", "br0", "up"])?;
        for (i, name) in names.iter().enumerate() {
            let Some(addr) = address(i) else {
                bail!("too many hosts");
            };
            let ns = format!("{prefix}-{name}");
            let port = format!("p{}", i + 1);
            lan.netns_add(&ns)?;
            run(&["-n", &ns, "link", "set", "lo", "up"])?;
            run(&[
                "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns",
                &sw,
            ])?;
            run(&["-n", &sw, "link", "set", &port, "master", "br0"])?;
            run(&["-n", &sw, "link", "set", &port, "up"])?;
            let cidr = format!("{addr}/24");
            run(&[
                "-n",
                &ns,
                "addr",
                "add",
                &cidr,
                "broadcast",
                "+",
                "dev",
                "eth0",
            ])?;
            run(&["-n", &ns, "link", "set", "eth0", "up"])?;
            // Without a route for it, sending to 255.255.255.255 fails with ENETUNREACH
            run(&[
                "-n",
                &ns,
                "route",
                "replace",
                "255.255.255.255",
                "dev",
                "eth0",
            ])?;
            lan.hosts.push((name.clone(), ns, port));
        }
        Ok(lan)
    }

    fn netns_add(&mut self, ns: &str) -> Result<()> {
        run(&["netns", "add", ns])?;
        self.made.push(ns.to_string());
        Ok(())
    }

    /// The namespace of host `name`, for `ip netns exec`.
    pub fn netns(&self, name: &str) -> Option<&str> {
        self.hosts
            .iter()
            .find(|h| h.0 == name)
            .map(|h| h.1.as_str())
    }

    /// Every namespace this LAN made.
    pub fn namespaces(&self) -> &[String] {
        &self.made
    }

    /// Takes host `name` off the LAN (its port on the bridge down), or puts it back.
    pub fn plug(&self, name: &str, on: bool) -> Result<()> {
        let Some((_, _, port)) = self.hosts.iter().find(|h| h.0 == name) else {
            bail!("no host {name}");
        };
        let state = if on { "up" } else { "down" };
        run(&["-n", &self.switch, "link", "set", port, state])
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.made.iter().rev() {
            if let Err(e) = remove_netns(ns) {
                eprintln!("workshop: cannot remove network namespace {ns}: {e}");
            }
        }
    }
}

fn run(args: &[&str]) -> Result<()> {
    ip(args).map(|_| ()).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_names() {
        assert_eq!(address(0), Some(Ipv4Addr::new(10, 213, 200, 1)));
        assert_eq!(address(252), Some(Ipv4Addr::new(10, 213, 200, 253)));
        assert_eq!(address(253), None);
        assert!(valid_name("a") && valid_name("host12"));
        for bad in ["", "a-b", "toolongname", "a b", "é"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert_eq!(owner("ws123-a"), Some(123));
        assert_eq!(owner("ws123-sw"), Some(123));
        for other in ["zgt123-0-a", "ws-a", "wsx-a", "ws123"] {
            assert_eq!(owner(other), None, "{other}");
        }
    }

    /// Makes a LAN, unplugs and plugs a host, and finds nothing left after the drop. Needs root
    /// and `ip`: skipped elsewhere, except in CI.
    #[test]
    fn a_lan_is_made_and_removed() {
        if let Err(why) = available() {
            assert!(!in_ci(), "CI must run this test, but {why}");
            eprintln!("skipped: network namespaces unavailable: {why}");
            return;
        }
        let carrier = |lan: &Lan| {
            let ns = lan.netns("b").unwrap();
            !ip(&["-n", ns, "link", "show", "eth0"])
                .unwrap()
                .contains("NO-CARRIER")
        };
        let names: Vec<String> = vec!["a".into(), "b".into()];
        let lan = Lan::new(&names).unwrap();
        let made = lan.namespaces().to_vec();
        assert_eq!(made.len(), 3);
        assert!(made.iter().all(|ns| netns_list().contains(ns)));
        let show = ip(&["-n", lan.netns("b").unwrap(), "addr", "show", "eth0"]).unwrap();
        assert!(
            show.contains("10.213.200.2/24 brd 10.213.200.255"),
            "{show}"
        );
        assert!(carrier(&lan));
        lan.plug("b", false).unwrap();
        assert!(!carrier(&lan));
        lan.plug("b", true).unwrap();
        assert!(carrier(&lan));
        assert!(lan.plug("z", false).is_err());
        drop(lan);
        let left = netns_list();
        assert!(made.iter().all(|ns| !left.contains(ns)), "{left:?}");
    }

    /// A panic while the LAN lives removes it too (the runner's guard on unwinding).
    #[test]
    fn a_panic_removes_the_lan() {
        if available().is_err() {
            return;
        }
        let made = std::sync::Mutex::new(Vec::new());
        let result = std::panic::catch_unwind(|| {
            let lan = Lan::new(&["p".to_string()]).unwrap();
            *made.lock().unwrap() = lan.namespaces().to_vec();
            panic!("a failed check");
        });
        assert!(result.is_err());
        let made = made.into_inner().unwrap();
        assert_eq!(made.len(), 2);
        let left = netns_list();
        assert!(made.iter().all(|ns| !left.contains(ns)), "{left:?}");
    }

    /// A host that cannot be made (its namespace exists already) fails the setup, and what was
    /// made before it is removed.
    #[test]
    fn a_failed_setup_removes_what_it_made() {
        if available().is_err() {
            return;
        }
        let names: Vec<String> = vec!["twice".into(), "twice".into()];
        let err = Lan::new(&names).err().expect("a host made twice fails");
        assert!(format!("{err}").contains("netns add"), "{err}");
        let pid = format!("ws{}-", std::process::id());
        let left: Vec<String> = netns_list()
            .into_iter()
            .filter(|n| n.starts_with(&pid) && n.ends_with("-twice"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(Lan::new(&["bad name".to_string()]).is_err());
    }
}
