//! Test hosts in network namespaces: real hosts with real links, for what loopback cannot show
//! (a wire that goes dead, a partition, broadcast discovery). See `shared/test-hosts.md`.
//!
//! ```ignore
//! let Some(net) = Net::new() else { return }; // not root, or no `ip netns`: skipped
//! let (a, b) = (net.host("a"), net.host("b"));
//! let wire = net.link(&a, &b); // a = 10.213.1.1, b = 10.213.1.2
//! let server = a.spawn(bin!("hwserver"), &["--bind", "tcp://*:5555"]);
//! let client = b.spawn(bin!("hwclient"), &["--connect", &format!("tcp://{}:5555", a.addr())]);
//! wire.down(); // ... wire.up();
//! // dropping `net` removes every namespace, link and bridge it made, panic or not
//! ```
//!
//! - Every host is a namespace `zgt<pid>-<n>-<host>`; the links and LANs are bridges in one more
//!   namespace of the same `Net`, the switch (`zgt<pid>-<n>-sw`), so the hosts' own interfaces
//!   (`eth0`, `eth1`... in each host) stay up while a link is down: unplugging happens at the
//!   switch, the hosts see no carrier. Nothing is made in the machine's own namespace.
//! - Addresses are private and never leave the namespaces: link `k` is `10.213.k.0/24` (its
//!   first host `.1`, its second `.2`), LAN `k` is `10.213.(100+k).0/24` (hosts `.1`, `.2`... in
//!   the order they join). A link is a subnet of its own: hosts talk only over links they share.
//! - Inside a host, any port is the test's own: no other test can bind there.
//! - Without root or `ip netns`, [`Net::new`] prints why and returns `None` (the test returns
//!   early), except under CI (`CI` set), where it panics: CI runs as root and must run the test.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::Proc;

/// Runs `ip args...`; the error says what failed and what `ip` said.
fn ip_try(args: &[&str]) -> Result<String, String> {
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

/// Runs `ip args...`; panics if it fails.
fn ip(args: &[&str]) -> String {
    ip_try(args).unwrap_or_else(|e| panic!("{e}"))
}

/// The names `ip netns list` shows.
fn netns_list() -> Vec<String> {
    ip_try(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// True if `ip netns list` shows `name`.
pub fn netns_exists(name: &str) -> bool {
    netns_list().iter().any(|n| n == name)
}

/// Kills every process inside namespace `ns` (never this test process), then removes it.
fn remove_netns(ns: &str) {
    for pid in ip_try(&["netns", "pids", ns]).unwrap_or_default().lines() {
        match pid.trim().parse::<i32>() {
            Ok(pid) if pid as u32 != std::process::id() => unsafe {
                libc::kill(pid, libc::SIGKILL);
            },
            _ => {}
        }
    }
    if let Err(e) = ip_try(&["netns", "del", ns]) {
        eprintln!("netns: cannot remove {ns}: {e}");
    }
}

/// Removes namespaces left by test processes that died without their `Drop` (SIGKILL).
fn remove_stale() {
    for ns in netns_list() {
        let Some(pid) = ns
            .strip_prefix("zgt")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            remove_netns(&ns);
        }
    }
}

/// A set of test hosts and the links between them; dropping it removes them all.
pub struct Net {
    prefix: String,
    switch: String,
    namespaces: Mutex<Vec<String>>,
    segments: AtomicU32,
    lans: AtomicU32,
}

impl Net {
    /// An empty network (just its switch). `None`, after printing why, when this process cannot
    /// make network namespaces (not root, no `ip netns`); under CI that is a failure instead.
    pub fn new() -> Option<Net> {
        static N: AtomicU32 = AtomicU32::new(0);
        let unavailable = |why: String| -> Option<Net> {
            if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
                panic!("netns: CI must run this test, but {why}");
            }
            eprintln!("skipped: network namespaces unavailable: {why}");
            None
        };
        if unsafe { libc::geteuid() } != 0 {
            return unavailable("not root".into());
        }
        if let Err(e) = ip_try(&["netns", "list"]) {
            return unavailable(e);
        }
        remove_stale();
        let prefix = format!(
            "zgt{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let switch = format!("{prefix}-sw");
        if let Err(e) = ip_try(&["netns", "add", &switch]) {
            return unavailable(e);
        }
        Some(Net {
            prefix,
            switch: switch.clone(),
            namespaces: Mutex::new(vec![switch]),
            segments: AtomicU32::new(0),
            lans: AtomicU32::new(0),
        })
    }

    /// A new host `name` (letters and digits): a namespace with its loopback up and no links yet.
    pub fn host(&self, name: &str) -> Host {
        assert!(
            !name.is_empty() && name.len() <= 16 && name.bytes().all(|b| b.is_ascii_alphanumeric()),
            "netns: bad host name {name:?}"
        );
        let ns = format!("{}-{name}", self.prefix);
        ip(&["netns", "add", &ns]);
        self.namespaces.lock().unwrap().push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        Host(Arc::new(HostInner {
            name: name.to_string(),
            ns,
            addrs: Mutex::new(Vec::new()),
            ifaces: AtomicU32::new(0),
        }))
    }

    /// A point-to-point link between `a` and `b`, up, on a subnet of its own.
    pub fn link(&self, a: &Host, b: &Host) -> Link {
        let seg = self.segment();
        let k = seg.index;
        assert!(k < 100, "netns: too many links and LANs");
        let pa = seg.plug(a, Ipv4Addr::new(10, 213, k as u8, 1));
        let pb = seg.plug(b, Ipv4Addr::new(10, 213, k as u8, 2));
        Link { a: pa, b: pb }
    }

    /// A LAN: a bridge that hosts join with [`Lan::join`], for broadcast.
    pub fn lan(&self) -> Lan {
        let seg = self.segment();
        let n = self.lans.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n < 100, "netns: too many LANs");
        Lan {
            seg,
            subnet: 100 + n as u8,
            joined: AtomicU32::new(0),
        }
    }

    /// The namespaces this network made so far (the switch and every host).
    pub fn namespaces(&self) -> Vec<String> {
        self.namespaces.lock().unwrap().clone()
    }

    /// A new bridge in the switch, up.
    fn segment(&self) -> Segment {
        let index = self.segments.fetch_add(1, Ordering::SeqCst) + 1;
        let bridge = format!("br{index}");
        ip(&["-n", &self.switch, "link", "add", &bridge, "type", "bridge"]);
        ip(&["-n", &self.switch, "link", "set", &bridge, "up"]);
        Segment {
            switch: self.switch.clone(),
            index,
            ports: AtomicU32::new(0),
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let namespaces = std::mem::take(&mut *self.namespaces.lock().unwrap());
        for ns in namespaces.iter().rev() {
            remove_netns(ns);
        }
    }
}

/// A bridge in the switch namespace.
struct Segment {
    switch: String,
    index: u32,
    ports: AtomicU32,
}

impl Segment {
    /// Connects `host` to this bridge: a veth pair, `ethN` in the host with address `addr`/24
    /// and its subnet's broadcast address (as DHCP would give), `sKpI` in the switch; both
    /// ends up.
    fn plug(&self, host: &Host, addr: Ipv4Addr) -> Port {
        let i = self.ports.fetch_add(1, Ordering::SeqCst) + 1;
        let port = format!("s{}p{i}", self.index);
        let iface = format!("eth{}", host.0.ifaces.fetch_add(1, Ordering::SeqCst));
        let ns = &host.0.ns;
        ip(&[
            "-n",
            ns,
            "link",
            "add",
            &iface,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &self.switch,
        ]);
        let bridge = format!("br{}", self.index);
        ip(&["-n", &self.switch, "link", "set", &port, "master", &bridge]);
        ip(&["-n", &self.switch, "link", "set", &port, "up"]);
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "broadcast",
            "+",
            "dev",
            &iface,
        ]);
        ip(&["-n", ns, "link", "set", &iface, "up"]);
        host.0.addrs.lock().unwrap().push(addr);
        Port {
            switch: self.switch.clone(),
            port,
            host_ns: ns.clone(),
            iface,
            addr,
        }
    }
}

struct HostInner {
    name: String,
    ns: String,
    addrs: Mutex<Vec<Ipv4Addr>>,
    ifaces: AtomicU32,
}

/// A test host: a network namespace. Cheap to clone; it lives as long as its [`Net`].
#[derive(Clone)]
pub struct Host(Arc<HostInner>);

impl Host {
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The namespace's name, for `ip netns exec` and `ip -n`.
    pub fn netns(&self) -> &str {
        &self.0.ns
    }

    /// The host's first address (of its first link or LAN).
    pub fn addr(&self) -> Ipv4Addr {
        *self
            .0
            .addrs
            .lock()
            .unwrap()
            .first()
            .unwrap_or_else(|| panic!("netns: host {} has no link yet", self.0.name))
    }

    /// Every address of the host, in the order its links and LANs came.
    pub fn addrs(&self) -> Vec<Ipv4Addr> {
        self.0.addrs.lock().unwrap().clone()
    }

    /// Starts `bin args...` inside this host, in a process group of its own (the same
    /// [`Proc`] as [`Proc::start`]: its stdout can be awaited, and dropping it kills the group).
    pub fn spawn(&self, bin: &str, args: &[&str]) -> Proc {
        self.spawn_with(bin, args, &[], false)
    }

    /// [`Host::spawn`] with environment variables and, if `with_stdin`, a stdin to write to.
    pub fn spawn_with(
        &self,
        bin: &str,
        args: &[&str],
        env: &[(&str, &str)],
        with_stdin: bool,
    ) -> Proc {
        // `ip netns exec` enters the namespace and execs `bin` in place: the pid and process
        // group that Proc signals are the binary's own
        let mut all = vec!["netns", "exec", self.netns(), bin];
        all.extend_from_slice(args);
        Proc::spawn_named(bin, "ip", &all, env, with_stdin, None)
    }

    /// Runs `f` on a thread inside this host and returns what it returns. Sockets made there
    /// belong to the host wherever they are used later, and so do threads started there (a
    /// ZeroMQ context's I/O threads, which start with its first socket).
    pub fn enter<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let path = format!("/run/netns/{}", self.0.ns);
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = File::open(&path).unwrap_or_else(|e| panic!("netns: {path}: {e}"));
                if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    panic!("netns: setns {path}: {}", std::io::Error::last_os_error());
                }
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }
}

/// One host's plug into a bridge: `down` unplugs it at the switch (the host's own interface
/// stays up and sees no carrier), `up` plugs it back.
pub struct Port {
    switch: String,
    port: String,
    host_ns: String,
    iface: String,
    addr: Ipv4Addr,
}

impl Port {
    /// The host's address on this link or LAN.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The host's interface name (`eth0`...).
    pub fn iface(&self) -> &str {
        &self.iface
    }

    pub fn down(&self) {
        ip(&["-n", &self.switch, "link", "set", &self.port, "down"]);
    }

    pub fn up(&self) {
        ip(&["-n", &self.switch, "link", "set", &self.port, "up"]);
    }

    /// True if the host's interface has a carrier (the port is up at the switch).
    pub fn has_carrier(&self) -> bool {
        let show = ip(&["-n", &self.host_ns, "link", "show", &self.iface]);
        !show.contains("NO-CARRIER")
    }
}

/// A point-to-point link between two hosts.
pub struct Link {
    a: Port,
    b: Port,
}

impl Link {
    /// The first and the second host's address on this link.
    pub fn addrs(&self) -> (Ipv4Addr, Ipv4Addr) {
        (self.a.addr, self.b.addr)
    }

    /// The first and the second host's plug.
    pub fn ports(&self) -> (&Port, &Port) {
        (&self.a, &self.b)
    }

    /// Cuts the wire: nothing passes either way until [`Link::up`]. Connections are not told.
    pub fn down(&self) {
        self.a.down();
        self.b.down();
    }

    pub fn up(&self) {
        self.a.up();
        self.b.up();
    }
}

/// A LAN: one bridge, any number of hosts, broadcast reaches them all.
pub struct Lan {
    seg: Segment,
    subnet: u8,
    joined: AtomicU32,
}

impl Lan {
    /// Connects `host` (address `10.213.<lan>.<n>`, `n` counting from 1) and routes its
    /// broadcasts (`255.255.255.255`) here. Take it off the LAN with the returned port's `down`.
    pub fn join(&self, host: &Host) -> Port {
        let n = self.joined.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(n < 255, "netns: LAN full");
        let port = self
            .seg
            .plug(host, Ipv4Addr::new(10, 213, self.subnet, n as u8));
        ip(&[
            "-n",
            &host.0.ns,
            "route",
            "replace",
            "255.255.255.255",
            "dev",
            &port.iface,
        ]);
        port
    }
}
