//! [`Udp`]: a UDP socket for broadcast beacons, the guide's `udplib`, on the interface it picks
//! ([`Interface`]).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::unix::io::{AsRawFd, RawFd};

use crate::error::{Error, Result};

/// An IPv4 network interface that can broadcast: its name, address and broadcast address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The interface's name (`eth0`).
    pub name: String,
    /// Its IPv4 address.
    pub address: Ipv4Addr,
    /// Its broadcast address (`10.0.0.255` for `10.0.0.7/24`).
    pub broadcast: Ipv4Addr,
}

impl Interface {
    /// The IPv4 interfaces of this host with their broadcast addresses, loopback last.
    ///
    /// ```
    /// let all = zmq_patterns::beacon::Interface::list().unwrap();
    /// assert!(all.iter().all(|i| !i.name.is_empty()));
    /// ```
    pub fn list() -> Result<Vec<Interface>> {
        let mut all: Vec<Interface> = if_addrs::get_if_addrs()
            .map_err(|e| io_error("cannot list the network interfaces", e))?
            .into_iter()
            .filter_map(|i| match i.addr {
                // The loopback has no broadcast address of its own, but the kernel routes its
                // subnet's (127.255.255.255) back to it. Another interface without one
                // (point-to-point, or set up without) cannot broadcast.
                if_addrs::IfAddr::V4(v4) => Some(Interface {
                    broadcast: match v4.broadcast {
                        Some(b) => b,
                        None if v4.ip.is_loopback() => {
                            Ipv4Addr::from(u32::from(v4.ip) | !u32::from(v4.netmask))
                        }
                        None => return None,
                    },
                    address: v4.ip,
                    name: i.name,
                }),
                _ => None,
            })
            .collect();
        all.sort_by_key(|i| i.address.is_loopback());
        Ok(all)
    }

    /// The interface to broadcast on: the one named `spec` (`eth0`) or holding the address
    /// `spec` (`10.0.0.7`); without a `spec`, the first broadcast-capable interface that is
    /// not loopback, or `None` if there is none (then beacons go to 255.255.255.255).
    ///
    /// ```
    /// use zmq_patterns::beacon::Interface;
    /// let e = Interface::choose(Some("no-such-interface0")).unwrap_err();
    /// assert!(e.to_string().starts_with("no broadcast-capable IPv4 interface no-such-interface0"));
    /// ```
    pub fn choose(spec: Option<&str>) -> Result<Option<Interface>> {
        let all = Interface::list()?;
        match spec {
            Some(spec) => {
                let found = all
                    .iter()
                    .find(|i| i.name == spec || i.address.to_string() == spec)
                    .cloned();
                match found {
                    Some(i) => Ok(Some(i)),
                    None => {
                        let names: Vec<String> = all
                            .iter()
                            .map(|i| format!("{} ({})", i.name, i.address))
                            .collect();
                        Err(Error::Io(io::Error::new(
                            io::ErrorKind::NotFound,
                            format!(
                                "no broadcast-capable IPv4 interface {spec}; there are: {}",
                                if names.is_empty() {
                                    "none".to_string()
                                } else {
                                    names.join(", ")
                                }
                            ),
                        )))
                    }
                }
            }
            None => Ok(all.into_iter().find(|i| !i.address.is_loopback())),
        }
    }
}

fn io_error(what: &str, e: io::Error) -> Error {
    Error::Io(io::Error::new(e.kind(), format!("{what}: {e}")))
}

/// A UDP socket bound to a port on every address, allowed to broadcast, that sends to the
/// broadcast address of the interface it picked ([`Interface::choose`]) and receives the
/// beacons of every host on that network, its own included. Several programs on one host can
/// share the port (`SO_REUSEADDR` and `SO_REUSEPORT`), and each hears every beacon.
///
/// Poll it beside ZeroMQ sockets with [`Poller::add_fd`](crate::Poller::add_fd) and
/// [`Udp::as_raw_fd`]. It is the guide's `udplib` (`udp_new`, `udp_send`, `udp_recv`).
///
/// ```
/// use zmq_patterns::beacon::Udp;
/// let udp = Udp::bind_to(0, Some("127.0.0.1"))?; // port 0: any free port
/// udp.send(b"!")?; // to 127.255.255.255, the loopback's broadcast address
/// let mut buf = [0u8; 16];
/// let (n, from) = udp.recv(&mut buf)?;
/// assert_eq!(&buf[..n], b"!");
/// assert_eq!(from.port(), udp.port());
/// # Ok::<(), zmq_patterns::Error>(())
/// ```
#[derive(Debug)]
pub struct Udp {
    socket: UdpSocket,
    port: u16,
    interface: Option<Interface>,
    target: SocketAddrV4,
}

impl Udp {
    /// Binds `port` on the first broadcast-capable interface ([`Interface::choose`] without
    /// a `spec`).
    ///
    /// ```no_run
    /// let udp = zmq_patterns::beacon::Udp::bind(9999)?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "udp_new")]
    pub fn bind(port: u16) -> Result<Udp> {
        Udp::bind_to(port, None)
    }

    /// Binds `port` to broadcast on the interface named or addressed by `interface` (`eth0`,
    /// `10.0.0.7`), or on the first broadcast-capable one when `None`. Port 0 takes any free
    /// port (then beacons reach only this socket's port).
    ///
    /// ```
    /// let udp = zmq_patterns::beacon::Udp::bind_to(0, Some("lo"))?;
    /// assert_eq!(udp.interface().unwrap().name, "lo");
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn bind_to(port: u16, interface: Option<&str>) -> Result<Udp> {
        let interface = Interface::choose(interface)?;
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )
        .map_err(|e| io_error("cannot make a UDP socket", e))?;
        let options = || -> io::Result<()> {
            socket.set_broadcast(true)?;
            socket.set_reuse_address(true)?;
            socket.set_reuse_port(true)?;
            socket.set_nonblocking(true)?;
            Ok(())
        };
        options().map_err(|e| io_error("cannot set up a UDP socket", e))?;
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
        socket
            .bind(&any.into())
            .map_err(|e| io_error(&format!("cannot bind UDP port {port}"), e))?;
        let socket: UdpSocket = socket.into();
        let port = socket
            .local_addr()
            .map_err(|e| io_error("cannot read a UDP socket's address", e))?
            .port();
        let broadcast = interface
            .as_ref()
            .map_or(Ipv4Addr::BROADCAST, |i| i.broadcast);
        match &interface {
            Some(i) => log::debug!(
                "udp: port {port} on {} ({}), broadcasting to {broadcast}",
                i.name,
                i.address
            ),
            None => log::debug!("udp: port {port}, no broadcast interface: sending to {broadcast}"),
        }
        Ok(Udp {
            socket,
            port,
            interface,
            target: SocketAddrV4::new(broadcast, port),
        })
    }

    /// The port this socket is bound to.
    ///
    /// ```
    /// let udp = zmq_patterns::beacon::Udp::bind_to(0, Some("127.0.0.1"))?;
    /// assert_ne!(udp.port(), 0);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The interface it broadcasts on; `None` when the host had none but loopback and none
    /// was asked for (then it sends to 255.255.255.255).
    ///
    /// ```
    /// let udp = zmq_patterns::beacon::Udp::bind_to(0, Some("127.0.0.1"))?;
    /// assert_eq!(udp.interface().unwrap().address, std::net::Ipv4Addr::LOCALHOST);
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn interface(&self) -> Option<&Interface> {
        self.interface.as_ref()
    }

    /// Where [`Udp::send`] sends: the interface's broadcast address and this socket's port.
    ///
    /// ```
    /// let udp = zmq_patterns::beacon::Udp::bind_to(0, Some("127.0.0.1"))?;
    /// assert_eq!(udp.target().ip().to_string(), "127.255.255.255");
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    pub fn target(&self) -> SocketAddrV4 {
        self.target
    }

    /// Broadcasts `payload` as one datagram.
    ///
    /// ```
    /// let udp = zmq_patterns::beacon::Udp::bind_to(0, Some("127.0.0.1"))?;
    /// udp.send(b"hello")?;
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "udp_send")]
    pub fn send(&self, payload: &[u8]) -> Result<()> {
        log::trace!("udp: sending {} bytes to {}", payload.len(), self.target);
        self.socket
            .send_to(payload, self.target)
            .map_err(|e| io_error(&format!("cannot send a beacon to {}", self.target), e))?;
        Ok(())
    }

    /// Receives one datagram into `buf`: its length and sender. A datagram longer than `buf`
    /// is cut to it (the rest is lost, as UDP does); the length returned is the datagram's
    /// whole length, so that a caller can tell. Does not block: `Error::Timeout` when nothing
    /// is waiting (poll the fd first).
    ///
    /// ```
    /// let udp = zmq_patterns::beacon::Udp::bind_to(0, Some("127.0.0.1"))?;
    /// let mut buf = [0u8; 4];
    /// assert!(udp.recv(&mut buf).unwrap_err().is_timeout()); // nothing yet
    /// udp.send(b"too long")?;
    /// # let mut polled = zmq_patterns::Poller::new();
    /// # polled.add_fd(std::os::unix::io::AsRawFd::as_raw_fd(&udp));
    /// # polled.poll(Some(std::time::Duration::from_secs(5)))?;
    /// let (n, _) = udp.recv(&mut buf)?;
    /// assert_eq!((n, &buf), (8, b"too "));
    /// # Ok::<(), zmq_patterns::Error>(())
    /// ```
    #[doc(alias = "udp_recv")]
    pub fn recv(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr)> {
        let socket = socket2::SockRef::from(&self.socket);
        // SAFETY: MaybeUninit<u8> has the layout of u8, and recv_from only writes initialised
        // bytes into the buffer; `buf` is already initialised, so viewing it as MaybeUninit is
        // sound.
        let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
        match socket.recv_from_with_flags(uninit, libc::MSG_TRUNC) {
            Ok((n, from)) => {
                let from = from
                    .as_socket()
                    .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
                log::trace!("udp: {n} bytes from {from}");
                Ok((n, from))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(Error::Timeout),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(Error::Interrupted),
            Err(e) => Err(io_error("cannot receive a beacon", e)),
        }
    }
}

impl AsRawFd for Udp {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn wait_readable(udp: &Udp) {
        let mut poller = crate::Poller::new();
        poller.add_fd(udp.as_raw_fd());
        assert_eq!(poller.poll(Some(Duration::from_secs(5))).unwrap(), 1);
    }

    #[test]
    fn two_sockets_on_one_port_both_hear_a_broadcast() {
        let a = Udp::bind_to(0, Some("127.0.0.1")).unwrap();
        let b = Udp::bind_to(a.port(), Some("lo")).unwrap();
        a.send(b"!").unwrap();
        let mut buf = [0u8; 8];
        for udp in [&a, &b] {
            wait_readable(udp);
            let (n, from) = udp.recv(&mut buf).unwrap();
            assert_eq!((n, buf[0]), (1, b'!'));
            assert_eq!(from.port(), a.port());
        }
    }

    #[test]
    fn an_unknown_interface_names_the_ones_there_are() {
        let e = Udp::bind_to(0, Some("nope9")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("nope9") && text.contains("lo (127.0.0.1)"),
            "{text}"
        );
    }

    #[test]
    fn the_loopback_is_chosen_only_by_name() {
        if let Some(i) = Interface::choose(None).unwrap() {
            assert!(!i.address.is_loopback());
        }
        let lo = Interface::choose(Some("lo")).unwrap().unwrap();
        assert_eq!(lo.broadcast, Ipv4Addr::new(127, 255, 255, 255));
    }
}
