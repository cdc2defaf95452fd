//! File transfer, model 3 (guide chapter 7, "Transferring Files"): credit-based flow control.
//!
//! The client (a DEALER) asks for the file chunk by chunk with `["fetch", offset, size]`
//! requests and keeps `--pipeline` of them (10) in flight: its credit. Each chunk that arrives
//! buys the next request. The server (a ROUTER, high-water mark twice the pipeline as a sanity
//! check) answers each request with one chunk of `--file` (`testdata`, make it with
//! `mktestdata`) and never sends what was not asked for. So the pipeline stays full, yet at most
//! 10 chunks of 250,000 bytes are ever queued: the transfer runs in bounded memory (about
//! 2.5 MB a client) however large the file. The client prints `N chunks received, M bytes`.
//!
//! Run it alone: server and client are threads of one process, as in the C original.
//! `--server-only` and `--client-only` split them into two processes, and either interoperates
//! with the guide's `fileio3` (same frames). `--output` writes what was received to a file,
//! `--peak-memory` prints the process's peak memory at the end (compare with `fileio1`).
//!
//! The flow control is the library's `zmq_patterns::credit` (`Fetcher` on the client side,
//! `Server` on the server side). Unlike the C original's server, which `assert`ed on anything
//! but `fetch` and trusted `atoi` and `malloc` with any size, a request with the wrong number
//! of frames, numbers that are not decimal, a negative offset or a size above `--chunk-size` is
//! logged and dropped, and the server goes on serving; nothing from the network names a file.
//! The C client's `%ld` of a `size_t` is fine on Linux; here the numbers are `u64` text.

use clap::Parser;
use zguide_examples::fileio;
use zmq_patterns::credit::{self, Config, Fetcher};

#[derive(Parser)]
#[command(about = "File transfer model 3: chunk requests with credit-based flow control")]
struct Args {
    #[command(flatten)]
    common: fileio::Flags,
    /// Chunk requests in flight at once (the client's credit).
    #[arg(long, default_value_t = credit::PIPELINE)]
    pipeline: usize,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let common = &args.common;
    let max_chunk = common.chunk_size;
    let config = Config {
        chunk_size: common.chunk_size,
        pipeline: args.pipeline.max(1),
        timeout: common.timeout(),
    };
    // We have two parts per message so the server's HWM is PIPELINE * 2
    let hwm = i32::try_from(config.pipeline * 2).unwrap_or(i32::MAX);
    zguide_examples::run(false, || {
        fileio::run(
            common,
            hwm,
            None,
            move |router, file| {
                let mut server = credit::Server::from_reader(file, max_chunk);
                loop {
                    server.serve_one(&router)?;
                }
            },
            |dealer, sink| {
                let mut fetcher = Fetcher::new(config);
                while let Some(chunk) = fetcher.recv(dealer)? {
                    sink.write(&chunk.data)?;
                }
                Ok((fetcher.chunks(), fetcher.bytes()))
            },
        )
    })
}
