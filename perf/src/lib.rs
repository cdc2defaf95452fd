//! The loops of libzmq's perf tools, written three ways so that one run compares them:
//! through `zmq-patterns` ([`Mode::Msg`]: `Msg`/`Frame`), through plain `zmq` with a reused
//! `zmq::Message` ([`Mode::Raw`], what libzmq's C tools do), and through `zmq`'s
//! `send_multipart`/`recv_multipart` ([`Mode::Multipart`], `Vec<Vec<u8>>`).
//!
//! Each message is `frames` parts: with 2, an empty delimiter then the payload (the ROUTER
//! envelope that brokers move).

use std::time::{Duration, Instant};

use zmq_patterns::{Frame, Msg};

/// How the loops send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// `zmq_patterns::Msg`: the whole message as one value.
    Msg,
    /// `zmq_patterns::Frame`: part by part, as a single-part protocol would use the crate.
    Frame,
    /// Plain `zmq`: `Socket::send(Message)` / `Socket::recv(&mut Message)`, as libzmq's tools.
    Raw,
    /// Plain `zmq`: `send_multipart(Vec<Vec<u8>>)` / `recv_multipart()`.
    Multipart,
}

/// Sends `count` messages of `size` bytes (in `frames` parts).
pub fn send_messages(
    socket: &zmq::Socket,
    mode: Mode,
    frames: usize,
    size: usize,
    count: u64,
) -> anyhow::Result<()> {
    for _ in 0..count {
        send_one(socket, mode, frames, size)?;
    }
    Ok(())
}

/// Sends one message of `size` bytes in `frames` parts (the first `frames - 1` empty).
pub fn send_one(
    socket: &zmq::Socket,
    mode: Mode,
    frames: usize,
    size: usize,
) -> anyhow::Result<()> {
    match mode {
        Mode::Msg => {
            let mut msg = Msg::new();
            for _ in 1..frames {
                msg.add(Frame::empty());
            }
            msg.add(Frame::from(zmq::Message::with_size(size)));
            msg.send(socket)?;
        }
        Mode::Frame => {
            for _ in 1..frames {
                Frame::empty().send(socket, zmq::SNDMORE)?;
            }
            Frame::from(zmq::Message::with_size(size)).send(socket, 0)?;
        }
        Mode::Raw => {
            for _ in 1..frames {
                socket.send(zmq::Message::new(), zmq::SNDMORE)?;
            }
            socket.send(zmq::Message::with_size(size), 0)?;
        }
        Mode::Multipart => {
            let mut parts = vec![Vec::new(); frames - 1];
            parts.push(vec![0u8; size]);
            socket.send_multipart(parts, 0)?;
        }
    }
    Ok(())
}

/// Receives one whole message and returns the size of its last part.
pub fn recv_one(
    socket: &zmq::Socket,
    mode: Mode,
    scratch: &mut zmq::Message,
) -> anyhow::Result<usize> {
    Ok(match mode {
        Mode::Msg => Msg::recv(socket)?.last().map_or(0, |f| f.len()),
        Mode::Frame => loop {
            let frame = Frame::recv(socket)?;
            if !frame.more() {
                break frame.len();
            }
        },
        Mode::Raw => loop {
            socket.recv(scratch, 0)?;
            if !scratch.get_more() {
                break scratch.len();
            }
        },
        Mode::Multipart => socket.recv_multipart(0)?.last().map_or(0, Vec::len),
    })
}

/// Receives `count` messages, checking their size; returns the time from the first to the last
/// (as libzmq's `local_thr` measures).
pub fn receive_messages(
    socket: &zmq::Socket,
    mode: Mode,
    size: usize,
    count: u64,
) -> anyhow::Result<Duration> {
    let mut scratch = zmq::Message::new();
    let got = recv_one(socket, mode, &mut scratch)?;
    anyhow::ensure!(got == size, "message of wrong size: {got}");
    let start = Instant::now();
    for _ in 1..count {
        let got = recv_one(socket, mode, &mut scratch)?;
        anyhow::ensure!(got == size, "message of wrong size: {got}");
    }
    Ok(start.elapsed())
}

/// Echoes `count` messages back (the `local_lat` side).
pub fn echo_messages(socket: &zmq::Socket, mode: Mode, count: u64) -> anyhow::Result<()> {
    // A REP socket must read every part before it answers: keep the parts, reusing the buffer.
    let mut parts: Vec<zmq::Message> = Vec::with_capacity(4);
    for _ in 0..count {
        match mode {
            Mode::Msg => Msg::recv(socket)?.send(socket)?,
            Mode::Frame => {
                let mut frames: Vec<Frame> = Vec::with_capacity(2);
                loop {
                    let frame = Frame::recv(socket)?;
                    let more = frame.more();
                    frames.push(frame);
                    if !more {
                        break;
                    }
                }
                let last = frames.len() - 1;
                for (i, frame) in frames.into_iter().enumerate() {
                    frame.send(socket, if i < last { zmq::SNDMORE } else { 0 })?;
                }
            }
            Mode::Raw => {
                loop {
                    let mut part = zmq::Message::new();
                    socket.recv(&mut part, 0)?;
                    let more = part.get_more();
                    parts.push(part);
                    if !more {
                        break;
                    }
                }
                let last = parts.len() - 1;
                for (i, part) in parts.drain(..).enumerate() {
                    socket.send(part, if i < last { zmq::SNDMORE } else { 0 })?;
                }
            }
            Mode::Multipart => {
                let parts = socket.recv_multipart(0)?;
                socket.send_multipart(parts, 0)?;
            }
        }
    }
    Ok(())
}

/// Does `count` round trips (the `remote_lat` side); returns the total time.
pub fn round_trips(
    socket: &zmq::Socket,
    mode: Mode,
    frames: usize,
    size: usize,
    count: u64,
) -> anyhow::Result<Duration> {
    let mut scratch = zmq::Message::new();
    let start = Instant::now();
    for _ in 0..count {
        send_one(socket, mode, frames, size)?;
        let got = recv_one(socket, mode, &mut scratch)?;
        anyhow::ensure!(got == size, "reply of wrong size: {got}");
    }
    Ok(start.elapsed())
}

/// Prints the throughput figures as libzmq's `local_thr` does.
pub fn print_throughput(size: usize, count: u64, elapsed: Duration) {
    let us = elapsed.as_micros().max(1) as f64;
    let throughput = (count as f64 / us * 1_000_000.0) as u64;
    let megabits = throughput as f64 * size as f64 * 8.0 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// Prints the latency figures as libzmq's `remote_lat` does (one-way: half a round trip).
pub fn print_latency(size: usize, count: u64, elapsed: Duration) {
    let latency = elapsed.as_secs_f64() * 1_000_000.0 / (count as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {count}");
    println!("average latency: {latency:.3} [us]");
}

/// The socket options libzmq's perf tools leave at their defaults, plus what keeps a run from
/// dropping messages: no high-water mark limits the flood.
pub fn tune(socket: &zmq::Socket) -> anyhow::Result<()> {
    socket.set_sndhwm(0)?;
    socket.set_rcvhwm(0)?;
    socket.set_linger(1000)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(
        ctx: &zmq::Context,
        kind: (zmq::SocketType, zmq::SocketType),
        ep: &str,
    ) -> (zmq::Socket, zmq::Socket) {
        let a = ctx.socket(kind.0).unwrap();
        let b = ctx.socket(kind.1).unwrap();
        for s in [&a, &b] {
            s.set_rcvtimeo(5000).unwrap(); // a broken loop fails instead of hanging
        }
        a.bind(ep).unwrap();
        b.connect(ep).unwrap();
        (a, b)
    }

    #[test]
    fn every_mode_moves_every_message_with_one_and_two_frames() {
        let ctx = zmq::Context::new();
        for (i, mode) in [Mode::Msg, Mode::Raw, Mode::Multipart]
            .into_iter()
            .enumerate()
        {
            for frames in [1, 2] {
                let ep = format!("inproc://perf-thr-{i}-{frames}");
                let (pull, push) = pair(&ctx, (zmq::PULL, zmq::PUSH), &ep);
                send_messages(&push, mode, frames, 64, 100).unwrap();
                receive_messages(&pull, mode, 64, 100).unwrap();
                let ep = format!("inproc://perf-lat-{i}-{frames}");
                let (rep, req) = pair(&ctx, (zmq::REP, zmq::REQ), &ep);
                let t = std::thread::spawn(move || echo_messages(&rep, mode, 10).unwrap());
                // REQ/REP add their own envelope; the payload frames travel as sent
                round_trips(&req, mode, frames, 16, 10).unwrap();
                t.join().unwrap();
            }
        }
    }
}
