//! The file-transfer models of chapter 7 (`fileio1`, `fileio2`, `fileio3`, `mktestdata`) and
//! `eagain`: files move byte-exact with the guide's counts, `fileio3`'s memory stays bounded
//! whatever the file size, and a hostile peer cannot stop the `fileio3` server.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A transfer of a few hundred MB in a debug build on a loaded 2-core machine.
const TRANSFER: Duration = Duration::from_secs(120);

/// Writes a test file of `size` bytes with `mktestdata` and returns its path.
fn testdata(dir: &TempDir, name: &str, size: u64) -> PathBuf {
    let path = dir.path().join(name);
    let (status, lines) = run_to_end(
        bin!("mktestdata"),
        &[
            "--file",
            path.to_str().unwrap(),
            "--size",
            &size.to_string(),
        ],
        TRANSFER,
    );
    assert!(status.success(), "mktestdata: {status:?} {lines:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    path
}

/// Runs `model` (server and client in one process) on `file` and returns its stdout lines;
/// what it received is in `output`.
fn transfer(model: &str, file: &Path, output: &Path, extra: &[&str]) -> Vec<String> {
    let port = free_port();
    let (bind, connect) = (format!("tcp://*:{port}"), tcp(port));
    let mut args = vec![
        "--bind",
        &bind,
        "--connect",
        &connect,
        "--file",
        file.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--timeout-ms",
        "20000",
    ];
    args.extend_from_slice(extra);
    let mut p = Proc::start(model, &args);
    let lines = p.lines_until_end(TRANSFER);
    p.wait_success(WAIT);
    lines
}

/// Asserts that `output` holds the same bytes as `file`.
fn same_bytes(file: &Path, output: &Path) {
    let (a, b) = (std::fs::read(file).unwrap(), std::fs::read(output).unwrap());
    assert_eq!(
        a.len(),
        b.len(),
        "{} bytes received, {} sent",
        b.len(),
        a.len()
    );
    let first_diff = a.iter().zip(&b).position(|(x, y)| x != y);
    assert_eq!(
        first_diff, None,
        "the received file differs from the sent one"
    );
}

#[test]
fn mktestdata_writes_the_same_varied_bytes_every_time() {
    let dir = TempDir::new("mktestdata");
    let a = std::fs::read(testdata(&dir, "a", 3_000_000)).unwrap();
    let b = std::fs::read(testdata(&dir, "b", 3_000_000)).unwrap();
    assert!(a == b, "two runs wrote different files");
    // Not uniform: chunks differ from each other, so a chunk at the wrong offset shows
    assert_ne!(a[..250_000], a[250_000..500_000]);
    assert!(a.iter().any(|&x| x != a[0]));
}

#[test]
fn every_model_moves_the_file_byte_exact_with_the_guide_counts() {
    let dir = TempDir::new("fileio");
    // 64 full chunks and a short one; 10 full chunks and an empty one
    let odd = testdata(&dir, "odd", 16_001_234);
    let even = testdata(&dir, "even", 2_500_000);
    for (model, odd_chunks, even_chunks) in [
        // fileio1 always ends with an empty chunk, counted
        (bin!("fileio1"), 66, 11),
        (bin!("fileio2"), 65, 11),
        (bin!("fileio3"), 65, 11),
    ] {
        for (file, chunks) in [(&odd, odd_chunks), (&even, even_chunks)] {
            let out = dir.path().join("out");
            let lines = transfer(model, file, &out, &[]);
            let size = std::fs::metadata(file).unwrap().len();
            assert_eq!(
                lines,
                [format!("{chunks} chunks received, {size} bytes")],
                "{model}"
            );
            same_bytes(file, &out);
        }
    }
}

/// The number of `peak memory: N kB`.
fn peak_kb(lines: &[String]) -> u64 {
    lines
        .iter()
        .find_map(|l| {
            l.strip_prefix("peak memory: ")?
                .strip_suffix(" kB")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no peak memory line in {lines:?}"))
}

/// fileio3's peak memory does not grow with the file: 16 MB and 256 MB need about the same
/// (pipeline × chunk size plus the program), far below the file's size.
#[test]
fn fileio3_memory_stays_bounded_whatever_the_file_size() {
    let dir = TempDir::new("fileio3-memory");
    let mut peaks = Vec::new();
    for (name, size) in [("small", 16_000_000u64), ("large", 256_000_000)] {
        let file = testdata(&dir, name, size);
        let out = dir.path().join("out");
        let lines = transfer(bin!("fileio3"), &file, &out, &["--peak-memory"]);
        assert_eq!(
            lines[0],
            format!("{} chunks received, {size} bytes", size / 250_000 + 1)
        );
        same_bytes(&file, &out);
        std::fs::remove_file(&file).unwrap();
        std::fs::remove_file(&out).unwrap();
        peaks.push(peak_kb(&lines));
    }
    let (small, large) = (peaks[0], peaks[1]);
    eprintln!("fileio3 peak memory: {small} kB for 16 MB, {large} kB for 256 MB");
    assert!(large < 64_000, "{large} kB for a 256 MB file: not bounded");
    assert!(
        large < small + 16_000,
        "peak memory grew with the file: {small} kB for 16 MB, {large} kB for 256 MB"
    );
}

#[test]
fn eagain_fails_the_fifth_send_and_exits_0() {
    // Nobody listens on this port
    let (status, lines) = run_to_end(bin!("eagain"), &["--connect", &tcp_ep()], WAIT);
    assert!(status.success(), "eagain: {status:?}");
    let mut expected: Vec<String> = (0..5).map(|n| format!("Sending message {n}")).collect();
    expected.push("Resource temporarily unavailable".into());
    assert_eq!(lines, expected);
}

/// A raw DEALER with `rcvtimeo`, connected to `ep`.
fn dealer(ctx: &zmq::Context, ep: &str) -> zmq::Socket {
    let s = ctx.socket(zmq::DEALER).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(WAIT.as_millis() as i32).unwrap();
    s.connect(ep).unwrap();
    s
}

fn send(s: &zmq::Socket, frames: &[&[u8]]) {
    s.send_multipart(frames.iter().copied(), 0).unwrap();
}

/// Malformed fetch requests are logged and dropped, never answered; the server goes on
/// serving the same peer and a good client. (The C server `assert`ed on the first one.)
#[test]
fn fileio3_server_drops_malformed_requests_and_keeps_serving() {
    let dir = TempDir::new("fileio3-hostile");
    let file = testdata(&dir, "data", 1_000_000);
    let data = std::fs::read(&file).unwrap();
    let port = free_port();
    let bind = format!("tcp://*:{port}");
    let mut server = Proc::start(
        bin!("fileio3"),
        &[
            "--server-only",
            "--bind",
            &bind,
            "--file",
            file.to_str().unwrap(),
        ],
    );
    let ctx = zmq::Context::new();
    let peer = dealer(&ctx, &tcp(port));
    let huge = (1u64 << 40).to_string();
    let bad: [&[&[u8]]; 9] = [
        &[b"fetch", b"0"],                  // wrong frame count
        &[b"fetch", b"0", b"10", b"extra"], // wrong frame count
        &[b"fetch"],                        // wrong frame count
        &[b"fetch", b"abc", b"10"],         // offset not a number
        &[b"fetch", b"-1", b"10"],          // negative offset
        &[b"fetch", b"0", huge.as_bytes()], // size above the maximum
        &[b"fetch", b"0", b"-10"],          // negative size
        &[b"fetch", b"0", b"0"],            // nothing asked for
        &[b"\xff\x00garbage", b"0", b"10"], // not fetch
    ];
    for frames in bad {
        send(&peer, frames);
    }
    send(&peer, &[b"fetch", b"500000", b"1000"]);
    // The first reply is the good request's: nothing was sent for the others
    let reply = peer.recv_multipart(0).expect("no reply to a good request");
    assert_eq!(reply.len(), 1);
    assert!(reply[0] == data[500_000..501_000], "wrong chunk");
    let warnings = || server.context().matches("request dropped").count();
    assert!(
        wait_until(WAIT, || warnings() == bad.len()),
        "{} warnings for {} malformed requests\n{}",
        warnings(),
        bad.len(),
        server.context()
    );
    assert!(server.is_running());

    // A good client in another process gets the whole file
    let out = dir.path().join("out");
    let mut client = Proc::start(
        bin!("fileio3"),
        &[
            "--client-only",
            "--connect",
            &tcp(port),
            "--output",
            out.to_str().unwrap(),
            "--timeout-ms",
            "20000",
        ],
    );
    client.expect("5 chunks received, 1000000 bytes", TRANSFER);
    client.wait_success(WAIT);
    same_bytes(&file, &out);
    server.stop_with(libc::SIGTERM, WAIT);
}
