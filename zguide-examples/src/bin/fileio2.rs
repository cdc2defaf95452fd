//! File transfer, model 2 (guide chapter 7, "Transferring Files"): one chunk per request.
//!
//! The client (a DEALER, high-water mark 1) asks for each chunk with `["fetch", offset, size]`
//! and waits for it before it asks for the next; the server (a ROUTER, high-water mark 1)
//! answers each request with one chunk of `--file` (`testdata`, make it with `mktestdata`).
//! Nothing piles up in the server's queue any more, but each chunk costs a network round trip:
//! slow. The client prints `N chunks received, M bytes`; a chunk shorter than asked for is the
//! last.
//!
//! Run it alone: server and client are threads of one process, as in the C original.
//! `--server-only` and `--client-only` split them into two processes, and either interoperates
//! with the guide's `fileio2` or `fileio3` (same frames). `--output` writes what was received to
//! a file, `--peak-memory` prints the process's peak memory at the end.
//!
//! This is model 3 with a credit of one, so it uses the same library code,
//! `zmq_patterns::credit` with `pipeline: 1`. Unlike the C original's server, which `assert`ed
//! on anything but `fetch` and trusted `atoi` and `malloc` with any size, a malformed request
//! (wrong frame count, numbers that are not decimal, a size above `--chunk-size`) is logged and
//! dropped, and the server goes on serving; nothing from the network names a file.

use clap::Parser;
use zguide_examples::fileio;
use zmq_patterns::credit::{self, Config, Fetcher};

#[derive(Parser)]
#[command(about = "File transfer model 2: the client asks for each chunk and waits for it")]
struct Args {
    #[command(flatten)]
    common: fileio::Flags,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let common = &args.common;
    let max_chunk = common.chunk_size;
    let config = Config {
        chunk_size: common.chunk_size,
        pipeline: 1,
        timeout: common.timeout(),
    };
    zguide_examples::run(false, || {
        fileio::run(
            common,
            1,
            Some(1),
            move |router, file| {
                let mut server = credit::Server::from_reader(file, max_chunk);
                loop {
                    server.serve_one(&router)?;
                }
            },
            |dealer, sink| {
                // Ask for the next chunk only once the last one is in
                let mut fetcher = Fetcher::new(config);
                while let Some(chunk) = fetcher.recv(dealer)? {
                    sink.write(&chunk.data)?;
                }
                Ok((fetcher.chunks(), fetcher.bytes()))
            },
        )
    })
}
