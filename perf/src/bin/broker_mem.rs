//! What a hostile or careless peer makes a Majordomo broker hold: starts a broker binary (such as
//! `mdbroker`) on a free tcp port, reads its resident memory (`VmRSS` in `/proc/PID/status`),
//! runs one scenario against it and reads the memory again, with the peak seen in between.
//!
//! - `unknown-services`: one client sends `--requests` (10,000) requests, each to a service
//!   name nobody serves, then asks `mmi.service` (its answer means all were read). Then a
//!   worker registers `echo`: is it accepted (no DISCONNECT), does `mmi.service` say 200, is a
//!   request served?
//! - `big-requests`: `--requests` (40) requests of `--size` bytes (16 MB) to services nobody
//!   serves, then an `mmi.service` lookup on the same socket.
//! - `heartbeats`: a worker registers, then sends valid HEARTBEATs as fast as the broker takes
//!   them for `--duration-ms` (12 s); a second READY then gets a DISCONNECT, which means all
//!   were read.
//!
//! `--after-ms N` waits N ms more at the end and reads the memory once again (to see requests
//! expire). Extra arguments after `--` go to the broker.
//!
//! `broker_mem --broker-bin target/release/mdbroker --scenario heartbeats`

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use zmq_patterns::mdp::{self, FromWorker, ToWorker};
use zmq_patterns::{Frame, Msg, Poller};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    UnknownServices,
    BigRequests,
    Heartbeats,
}

#[derive(Parser)]
#[command(about = "Resident memory of a Majordomo broker binary under hostile traffic")]
struct Args {
    /// The broker binary; it must take `--bind ENDPOINT` and print a line once it is bound.
    #[arg(long)]
    broker_bin: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Requests to send (default: 10000 for unknown-services, 40 for big-requests).
    #[arg(long)]
    requests: Option<usize>,
    /// Request size in bytes for big-requests.
    #[arg(long, default_value_t = 16_000_000)]
    size: usize,
    /// How long the heartbeat flood lasts.
    #[arg(long, default_value_t = 12_000)]
    duration_ms: u64,
    /// Wait this long at the end and read the memory again.
    #[arg(long, default_value_t = 0)]
    after_ms: u64,
    /// Arguments for the broker.
    #[arg(last = true)]
    broker_args: Vec<String>,
}

/// The broker process, killed on drop.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn recv_within(socket: &zmq::Socket, timeout: Duration) -> anyhow::Result<Option<Msg>> {
    let mut poller = Poller::new();
    poller.add(socket);
    if poller.poll(Some(timeout))? == 0 {
        return Ok(None);
    }
    Ok(Some(Msg::recv(socket)?))
}

fn dealer(ctx: &zmq::Context, ep: &str) -> anyhow::Result<zmq::Socket> {
    let s = ctx.socket(zmq::DEALER)?;
    s.set_linger(0)?;
    s.set_reconnect_ivl(10)?;
    s.connect(ep)?;
    Ok(s)
}

fn request(socket: &zmq::Socket, service: &str, body: &[u8]) -> anyhow::Result<()> {
    let mut m = mdp::client_request(service, Msg::from(Frame::from(body)));
    m.push_front(Frame::empty());
    m.send(socket)?;
    Ok(())
}

/// Sends an `mmi.service` lookup and waits for its answer.
fn lookup(socket: &zmq::Socket, service: &str, timeout: Duration) -> anyhow::Result<String> {
    request(socket, "mmi.service", service.as_bytes())?;
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(reply) = recv_within(socket, left)? else {
            bail!("no answer to mmi.service within {timeout:?}");
        };
        if let Ok((s, body)) = mdp::parse_client_reply(reply) {
            if s == "mmi.service" {
                return Ok(body.back().map(|f| f.to_string_lossy()).unwrap_or_default());
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(&args.broker_bin)
        .arg("--bind")
        .arg(&ep)
        .args(&args.broker_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", args.broker_bin))?;
    let mut broker = Broker(child);
    let pid = broker.0.id();
    let mut out = BufReader::new(broker.0.stdout.take().context("no stdout")?);
    let mut line = String::new();
    out.read_line(&mut line)?;
    // Keep reading its stdout so that it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while out.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });

    let ctx = zmq::Context::new();
    let client = dealer(&ctx, &ep)?;
    // The broker is up once it answers.
    lookup(&client, "echo", Duration::from_secs(10))?;
    let before = rss_kb(pid)?;

    let peak = Arc::new(AtomicU64::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(kb) = rss_kb(pid) {
                    peak.fetch_max(kb, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let start = Instant::now();
    let mut notes = Vec::new();
    match args.scenario {
        Scenario::UnknownServices => {
            let n = args.requests.unwrap_or(10_000);
            for i in 0..n {
                request(&client, &format!("unknown-{i}"), b"x")?;
            }
            let answer = lookup(&client, "unknown-0", Duration::from_secs(60))?;
            notes.push(format!("mmi.service unknown-0: {answer}"));
            // A real worker comes: is it taken?
            let worker = dealer(&ctx, &ep)?;
            FromWorker::Ready {
                service: "echo".into(),
            }
            .into_msg()
            .send(&worker)?;
            // The READY and the lookup come on two connections: give the READY time to land.
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut answer = lookup(&client, "echo", Duration::from_secs(10))?;
            while answer != "200" && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
                answer = lookup(&client, "echo", Duration::from_secs(10))?;
            }
            notes.push(format!("worker registers echo; mmi.service echo: {answer}"));
            request(&client, "echo", b"real request")?;
            let mut served = false;
            let deadline = Instant::now() + Duration::from_secs(2);
            while let Some(m) =
                recv_within(&worker, deadline.saturating_duration_since(Instant::now()))?
            {
                match ToWorker::parse(m) {
                    Ok(ToWorker::Request { .. }) => {
                        served = true;
                        break;
                    }
                    Ok(ToWorker::Disconnect) => {
                        notes.push("the worker got DISCONNECT".into());
                        break;
                    }
                    _ => {}
                }
            }
            notes.push(format!("a request for echo reached the worker: {served}"));
        }
        Scenario::BigRequests => {
            let n = args.requests.unwrap_or(40);
            let body = vec![0x5a_u8; args.size];
            for i in 0..n {
                request(&client, &format!("big-{i}"), &body)?;
            }
            // The lookup comes after all of them on this socket (a broker that refuses a
            // message drops the connection: the socket reconnects and sends the next).
            let answer = lookup(&client, "big-0", Duration::from_secs(120))?;
            notes.push(format!("mmi.service big-0: {answer}"));
        }
        Scenario::Heartbeats => {
            let worker = dealer(&ctx, &ep)?;
            let ready = || {
                FromWorker::Ready {
                    service: "echo".into(),
                }
                .into_msg()
            };
            ready().send(&worker)?;
            // The READY and the lookup come on two connections: ask until it is there.
            let deadline = Instant::now() + Duration::from_secs(10);
            while lookup(&client, "echo", Duration::from_secs(10))? != "200" {
                anyhow::ensure!(Instant::now() < deadline, "the worker did not register");
                std::thread::sleep(Duration::from_millis(10));
            }
            let until = Instant::now() + Duration::from_millis(args.duration_ms);
            let mut sent = 0u64;
            while Instant::now() < until {
                for _ in 0..1000 {
                    FromWorker::Heartbeat.into_msg().send(&worker)?;
                }
                sent += 1000;
            }
            // A second READY is a protocol error: its DISCONNECT says all were read.
            ready().send(&worker)?;
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let Some(m) = recv_within(&worker, left)? else {
                    bail!("no DISCONNECT after the flood");
                };
                if matches!(ToWorker::parse(m), Ok(ToWorker::Disconnect)) {
                    break;
                }
            }
            notes.push(format!("{sent} heartbeats sent and read"));
        }
    }
    let elapsed = start.elapsed();
    let after = rss_kb(pid)?;
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    peak.fetch_max(after, Ordering::SeqCst);
    println!("broker: {} {}", args.broker_bin, args.broker_args.join(" "));
    println!("scenario took {:.1} s", elapsed.as_secs_f64());
    for n in notes {
        println!("{n}");
    }
    println!("VmRSS before: {}", mb(before));
    println!("VmRSS peak:   {}", mb(peak.load(Ordering::SeqCst)));
    println!("VmRSS after:  {}", mb(after));
    if args.after_ms > 0 {
        std::thread::sleep(Duration::from_millis(args.after_ms));
        println!("VmRSS {} ms later: {}", args.after_ms, mb(rss_kb(pid)?));
        let answer = lookup(&client, "unknown-0", Duration::from_secs(10))?;
        println!("mmi.service unknown-0 then: {answer}");
    }
    drop(broker);
    Ok(())
}
