//! UDP ping, model one (guide chapter 8, "Cooperative Discovery Using UDP Broadcasts"): UDP
//! done inline, beside ZeroMQ's poll.
//!
//! Binds a UDP socket to port 9999 on every address, broadcasts a one-byte beacon (`!`) to
//! 255.255.255.255 once a second (`Pinging peers...`) and prints the sender of every beacon it
//! hears, its own included: `Found peer 10.0.0.7:9999`. The UDP socket is polled with ZeroMQ's
//! poller, which takes plain file descriptors too.
//!
//! Run beside it: `udpping1` on other hosts of the same network (one per host: this model binds
//! the port alone). Ctrl-C stops it (status 0).
//!
//! Differs from the C original: an error names what failed (`cannot bind UDP port 9999: ...`)
//! instead of `perror`; a beacon longer than one byte is read whole and still counts as a peer.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use zmq_patterns::Poller;

#[derive(Parser)]
#[command(about = "UDP ping, model one: broadcast beacons with the UDP socket inline")]
struct Args {
    /// UDP port to bind and broadcast to.
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// Time between beacons, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        // Create UDP socket, bound to our port on every address so that we hear broadcasts
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, args.port))
            .with_context(|| format!("cannot bind UDP port {}", args.port))?;
        // Ask operating system to let us do broadcasts from socket
        socket
            .set_broadcast(true)
            .context("cannot allow broadcasts on the UDP socket")?;
        socket.set_nonblocking(true)?;
        let everyone = SocketAddrV4::new(Ipv4Addr::BROADCAST, args.port);
        let interval = Duration::from_millis(args.interval_ms);
        let mut buffer = [0u8; 256];

        // Send first ping right away
        let mut ping_at = Instant::now();
        loop {
            let mut poller = Poller::new();
            poller.add_fd(socket.as_raw_fd());
            match poller.poll(Some(ping_at.saturating_duration_since(Instant::now()))) {
                Err(e) if e.is_interrupted() => return Ok(()),
                other => other?,
            };
            // Someone answered our ping
            if poller.is_readable(0) {
                match socket.recv_from(&mut buffer) {
                    Ok((_, from)) => println!("Found peer {from}"),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e).context("cannot receive a beacon"),
                }
            }
            if Instant::now() >= ping_at {
                // Broadcast our beacon
                println!("Pinging peers...");
                socket
                    .send_to(b"!", everyone)
                    .with_context(|| format!("cannot send a beacon to {everyone}"))?;
                ping_at = Instant::now() + interval;
            }
        }
    })
}
