//! The loops of libzmq's perf tools, written three ways so that one run compares them:
//! through `zmq-patterns` ([`Mode::Msg`]: `Msg`/`Frame`), through plain `zmq` with a reused
//! `zmq::Message` ([`Mode::Raw`], what libzmq's C tools do), and through `zmq`'s
//! `send_multipart`/`recv_multipart` ([`Mode::Multipart`], `Vec<Vec<u8>>`).
//!
//! Each message is `frames` parts: with 2, an empty delimiter then the payload (the ROUTER
//! envelope that brokers move).
//!
//! As in libzmq's tools, the payload is allocated and not filled (`zmq_msg_init_size`), in every
//! mode but `multipart` (a `Vec` must be initialised), and receivers look only at its size: the
//! modes, and the C tools, do the same work per message. Each loop matches its mode once, outside
//! the loop.

use std::time::{Duration, Instant};

use zmq_patterns::{Frame, Msg};

/// How the loops send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// `zmq_patterns::Msg`: the whole message as one value, a new one per message.
    Msg,
    /// `zmq_patterns::Msg`, received in place into one reused `Msg` (`Msg::recv_in_place`), as
    /// the raw loop reuses one `zmq::Message`; sent as `msg` does.
    MsgInPlace,
    /// `zmq_patterns::Frame`: part by part, as a single-part protocol would use the crate;
    /// received in place into one reused `Frame` (`Frame::recv_in_place`), as the raw loop
    /// reuses one `zmq::Message`.
    Frame,
    /// Plain `zmq`: `Socket::send(Message)` / `Socket::recv(&mut Message)`, as libzmq's tools.
    Raw,
    /// Plain `zmq`: `send_multipart(Vec<Vec<u8>>)` / `recv_multipart()`.
    Multipart,
}

/// A message of `size` bytes whose content nobody writes, as libzmq's tools send
/// (`zmq_msg_init_size`, no fill): every Rust mode but `multipart` sends these, so that each
/// does the same work per message as the C tools.
fn payload(size: usize) -> zmq::Message {
    // SAFETY: the content is never read from Rust: receivers here look only at a message's size
    // (`part_size`, `Frame::len`), and libzmq copies the bytes as opaque memory.
    #[allow(deprecated)] // the zmq crate's name for zmq_msg_init_size without a fill
    unsafe {
        zmq::Message::with_capacity_unallocated(size)
    }
}

// `zmq::Message` is its `zmq_msg_t` and nothing else (zmq 0.10: `struct Message { msg:
// zmq_msg_t }`); zmq-patterns relies on the same and asserts it too.
const _: () = assert!(
    std::mem::size_of::<zmq::Message>() == std::mem::size_of::<zmq_sys::zmq_msg_t>()
        && std::mem::align_of::<zmq::Message>() == std::mem::align_of::<zmq_sys::zmq_msg_t>()
);

/// The size of a message, read as libzmq's tools read it (`zmq_msg_size`), never its content.
#[inline]
fn part_size(message: &zmq::Message) -> usize {
    // SAFETY: a `zmq::Message` is its initialised `zmq_msg_t` (asserted above);
    // zmq_msg_size only reads it.
    unsafe { zmq_sys::zmq_msg_size((message as *const zmq::Message).cast()) }
}

/// Sends `count` messages of `size` bytes (in `frames` parts). The mode is matched once, outside
/// the loop, as each C tool is one loop.
pub fn send_messages(
    socket: &zmq::Socket,
    mode: Mode,
    frames: usize,
    size: usize,
    count: u64,
) -> anyhow::Result<()> {
    match mode {
        Mode::Msg | Mode::MsgInPlace => {
            for _ in 0..count {
                let mut msg = Msg::new();
                for _ in 1..frames {
                    msg.push_back(Frame::empty());
                }
                msg.push_back(Frame::from(payload(size)));
                msg.send(socket)?;
            }
        }
        Mode::Frame => {
            for _ in 0..count {
                for _ in 1..frames {
                    Frame::empty().send(socket, zmq::SNDMORE)?;
                }
                Frame::from(payload(size)).send(socket, 0)?;
            }
        }
        Mode::Raw => {
            for _ in 0..count {
                for _ in 1..frames {
                    socket.send(zmq::Message::new(), zmq::SNDMORE)?;
                }
                socket.send(payload(size), 0)?;
            }
        }
        Mode::Multipart => {
            for _ in 0..count {
                let mut parts = vec![Vec::new(); frames - 1];
                parts.push(vec![0u8; size]);
                socket.send_multipart(parts, 0)?;
            }
        }
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
    send_messages(socket, mode, frames, size, 1)
}

/// What a receiving loop keeps from one message to the next: the raw loop's `zmq::Message`
/// and the frame loop's `Frame`, each received into in place.
pub struct Scratch {
    message: zmq::Message,
    frame: Frame,
    msg: Msg,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            message: zmq::Message::new(),
            frame: Frame::empty(),
            msg: Msg::new(),
        }
    }
}

/// Receives one whole message and returns the size of its last part.
pub fn recv_one(socket: &zmq::Socket, mode: Mode, scratch: &mut Scratch) -> anyhow::Result<usize> {
    let mut got = 0;
    recv_each(socket, mode, scratch, 1, |size| {
        got = size;
        Ok(())
    })?;
    Ok(got)
}

/// Receives `count` whole messages in `mode`, calling `each` with the size of each one's last
/// part; the mode is matched once, outside the loop.
#[inline]
fn recv_each(
    socket: &zmq::Socket,
    mode: Mode,
    scratch: &mut Scratch,
    count: u64,
    mut each: impl FnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match mode {
        Mode::Msg => {
            for _ in 0..count {
                each(Msg::recv(socket)?.back().map_or(0, |f| f.len()))?;
            }
        }
        Mode::MsgInPlace => {
            for _ in 0..count {
                scratch.msg.recv_in_place(socket, 0)?;
                each(scratch.msg.back().map_or(0, |f| f.len()))?;
            }
        }
        Mode::Frame => {
            let frame = &mut scratch.frame;
            for _ in 0..count {
                loop {
                    frame.recv_in_place(socket, 0)?;
                    if !frame.more() {
                        break;
                    }
                }
                each(frame.len())?;
            }
        }
        Mode::Raw => {
            let message = &mut scratch.message;
            for _ in 0..count {
                loop {
                    socket.recv(message, 0)?;
                    if !message.get_more() {
                        break;
                    }
                }
                each(part_size(message))?;
            }
        }
        Mode::Multipart => {
            for _ in 0..count {
                each(socket.recv_multipart(0)?.last().map_or(0, Vec::len))?;
            }
        }
    }
    Ok(())
}

/// Receives `count` messages, checking their size; returns the time from the first to the last
/// (as libzmq's `local_thr` measures).
pub fn receive_messages(
    socket: &zmq::Socket,
    mode: Mode,
    size: usize,
    count: u64,
) -> anyhow::Result<Duration> {
    let mut scratch = Scratch::default();
    let got = recv_one(socket, mode, &mut scratch)?;
    anyhow::ensure!(got == size, "message of wrong size: {got}");
    let start = Instant::now();
    recv_each(socket, mode, &mut scratch, count.saturating_sub(1), |got| {
        anyhow::ensure!(got == size, "message of wrong size: {got}");
        Ok(())
    })?;
    Ok(start.elapsed())
}

/// Echoes `count` messages back (the `local_lat` side).
pub fn echo_messages(socket: &zmq::Socket, mode: Mode, count: u64) -> anyhow::Result<()> {
    // A REP socket must read every part before it answers: keep the parts, reusing the buffer.
    let mut parts: Vec<zmq::Message> = Vec::with_capacity(4);
    for _ in 0..count {
        match mode {
            Mode::Msg | Mode::MsgInPlace => Msg::recv(socket)?.send(socket)?,
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
    let mut scratch = Scratch::default();
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

/// The `--mode` and `--rounds` arguments every tool takes.
///
/// With one mode a tool runs as libzmq's does. With several (`--mode raw,frame,msg`) they take
/// turns within the one run, in blocks: each of `--rounds` rounds moves `count / rounds`
/// messages in each mode, in the listed order in even rounds and in reverse in odd ones (A B,
/// B A, ...), so that both sides of a comparison share the same threads, the same connection
/// and the same moment, and slow drifts cancel. The first mode is the baseline the others are
/// compared with.
#[derive(Debug, Clone, clap::Args)]
pub struct Modes {
    /// How messages are sent and received: msg, frame, raw or multipart; several,
    /// comma-separated, take turns in blocks (the first is the baseline).
    #[arg(
        long = "mode",
        value_enum,
        value_delimiter = ',',
        default_value = "raw"
    )]
    pub modes: Vec<Mode>,
    /// With several modes: rounds of one block per mode.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
}

/// One block of a run: `count` messages (or round trips) in one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Index of the mode in [`Modes::modes`].
    pub mode: usize,
    /// Messages in the block.
    pub count: u64,
}

impl Modes {
    /// The blocks of a run of `count` messages per mode, in order.
    pub fn blocks(&self, count: u64) -> Vec<Block> {
        let k = self.modes.len();
        if k <= 1 {
            return vec![Block { mode: 0, count }];
        }
        let rounds = self.rounds.min(count.max(1));
        let mut blocks = Vec::new();
        for round in 0..rounds {
            // the first rounds take the remainder, so that each mode moves `count` in all
            let n = count / rounds + u64::from(round < count % rounds);
            for i in 0..k {
                let mode = if round % 2 == 0 { i } else { k - 1 - i };
                blocks.push(Block { mode, count: n });
            }
        }
        blocks
    }
}

/// Sends the blocks' messages, each block in its mode.
pub fn send_blocks(
    socket: &zmq::Socket,
    modes: &Modes,
    blocks: &[Block],
    frames: usize,
    size: usize,
) -> anyhow::Result<()> {
    for block in blocks {
        send_messages(socket, modes.modes[block.mode], frames, size, block.count)?;
    }
    Ok(())
}

/// Receives the blocks' messages, each block in its mode, checking their size; returns how long
/// each block took, from the last message of the block before (for the first block, from its
/// first message, as libzmq's `local_thr` measures) to its own last message.
pub fn receive_blocks(
    socket: &zmq::Socket,
    modes: &Modes,
    blocks: &[Block],
    size: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut scratch = Scratch::default();
    let mut times = Vec::with_capacity(blocks.len());
    let mut mark = None;
    for block in blocks {
        let mode = modes.modes[block.mode];
        let mut count = block.count;
        if mark.is_none() && count > 0 {
            // the clock starts at the first message, as libzmq's local_thr's does
            let got = recv_one(socket, mode, &mut scratch)?;
            anyhow::ensure!(got == size, "message of wrong size: {got}");
            mark = Some(Instant::now());
            count -= 1;
        }
        recv_each(socket, mode, &mut scratch, count, |got| {
            anyhow::ensure!(got == size, "message of wrong size: {got}");
            Ok(())
        })?;
        let now = Instant::now();
        times.push(now - mark.unwrap_or(now));
        mark = Some(now);
    }
    Ok(times)
}

/// Echoes the blocks' messages back, each block in its mode (the `local_lat` side).
pub fn echo_blocks(socket: &zmq::Socket, modes: &Modes, blocks: &[Block]) -> anyhow::Result<()> {
    for block in blocks {
        echo_messages(socket, modes.modes[block.mode], block.count)?;
    }
    Ok(())
}

/// Does the blocks' round trips, each block in its mode (the `remote_lat` side); returns how
/// long each block took.
pub fn round_trip_blocks(
    socket: &zmq::Socket,
    modes: &Modes,
    blocks: &[Block],
    frames: usize,
    size: usize,
) -> anyhow::Result<Vec<Duration>> {
    blocks
        .iter()
        .map(|b| round_trips(socket, modes.modes[b.mode], frames, size, b.count))
        .collect()
}

/// What a run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Messages per second (higher is better).
    Throughput,
    /// One-way latency, half a round trip (lower is better).
    Latency,
}

/// Prints a run's figures: libzmq's lines for the first mode; with several modes, a line per
/// mode, and for each mode after the first its ratio to the first, the median of the
/// per-round ratios (`ratio frame/raw: 0.991`).
pub fn print_blocks(
    measure: Measure,
    size: usize,
    modes: &Modes,
    blocks: &[Block],
    times: &[Duration],
) {
    let name = |i: usize| mode_name(modes.modes[i]);
    // per mode: total messages and time, and the figure of each of its blocks in order
    let k = modes.modes.len();
    let mut total = vec![(0u64, Duration::ZERO); k];
    let mut figures: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (b, t) in blocks.iter().zip(times) {
        total[b.mode].0 += b.count;
        total[b.mode].1 += *t;
        figures[b.mode].push(figure(measure, b.count, *t));
    }
    for (i, &(count, time)) in total.iter().enumerate() {
        if i == 0 {
            match measure {
                Measure::Throughput => print_throughput(size, count, time),
                Measure::Latency => print_latency(size, count, time),
            }
        }
        if k > 1 {
            let value = figure(measure, count, time);
            match measure {
                Measure::Throughput => println!("mode {}: {value:.0} [msg/s]", name(i)),
                Measure::Latency => println!("mode {}: {value:.3} [us]", name(i)),
            }
        }
    }
    for i in 1..k {
        let mut ratios: Vec<f64> = figures[i]
            .iter()
            .zip(&figures[0])
            .map(|(a, b)| a / b)
            .collect();
        println!(
            "ratio {}/{}: {:.4} (median of {} rounds)",
            name(i),
            name(0),
            median(&mut ratios),
            ratios.len()
        );
    }
}

fn figure(measure: Measure, count: u64, time: Duration) -> f64 {
    let us = time.as_secs_f64() * 1_000_000.0;
    match measure {
        Measure::Throughput => count as f64 / us.max(1.0) * 1_000_000.0,
        Measure::Latency => us / (count.max(1) as f64 * 2.0),
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The name a mode has on the command line.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Msg => "msg",
        Mode::MsgInPlace => "msg-in-place",
        Mode::Frame => "frame",
        Mode::Raw => "raw",
        Mode::Multipart => "multipart",
    }
}

/// The socket options of libzmq's perf tools: their defaults (a high-water mark of 1000, which a
/// PUSH or REQ socket meets by waiting, never by dropping), and a linger so that a sender's last
/// messages are not lost when it closes. (With no high-water mark the sender ran far ahead and
/// the queue between grew out of the caches: the same instructions per message as the C tools,
/// but 0.55-0.75x their messages per second.)
pub fn tune(socket: &zmq::Socket) -> anyhow::Result<()> {
    socket.set_linger(1000)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes(list: &[Mode], rounds: u64) -> Modes {
        Modes {
            modes: list.to_vec(),
            rounds,
        }
    }

    #[test]
    fn blocks_alternate_their_order_and_add_up_to_the_count_per_mode() {
        let m = modes(&[Mode::Raw, Mode::Frame], 3);
        let blocks = m.blocks(10);
        let order: Vec<usize> = blocks.iter().map(|b| b.mode).collect();
        assert_eq!(order, [0, 1, 1, 0, 0, 1]);
        for mode in 0..2 {
            let n: u64 = blocks
                .iter()
                .filter(|b| b.mode == mode)
                .map(|b| b.count)
                .sum();
            assert_eq!(n, 10);
        }
        assert_eq!(
            modes(&[Mode::Msg], 5).blocks(7),
            [Block { mode: 0, count: 7 }]
        );
    }

    #[test]
    fn interleaved_modes_move_every_message() {
        let ctx = zmq::Context::new();
        let m = modes(
            &[
                Mode::Raw,
                Mode::Frame,
                Mode::Msg,
                Mode::MsgInPlace,
                Mode::Multipart,
            ],
            2,
        );
        let blocks = m.blocks(50);
        let (pull, push) = pair(&ctx, (zmq::PULL, zmq::PUSH), "inproc://perf-blocks");
        send_blocks(&push, &m, &blocks, 2, 64).unwrap();
        let times = receive_blocks(&pull, &m, &blocks, 64).unwrap();
        assert_eq!(times.len(), blocks.len());
        let (rep, req) = pair(&ctx, (zmq::REP, zmq::REQ), "inproc://perf-blocks-lat");
        let (m2, blocks2) = (m.clone(), blocks.clone());
        let t = std::thread::spawn(move || echo_blocks(&rep, &m2, &blocks2).unwrap());
        let times = round_trip_blocks(&req, &m, &blocks, 1, 16).unwrap();
        t.join().unwrap();
        assert_eq!(times.len(), blocks.len());
    }

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
