//! File transfer, model 1 (guide chapter 7, "Transferring Files"): the whole file at once, with
//! no flow control. **This model is the problem, on purpose**: the lesson is what goes wrong.
//!
//! The client (a DEALER) sends `fetch`; the server (a ROUTER) reads all of `--file`
//! (`testdata`, make it with `mktestdata`) in chunks of 250,000 bytes and sends each one at
//! once, then an empty chunk to mark the end. The default high-water mark (1,000) would make
//! the ROUTER drop chunks of a large file, so the server sets it to 0, "infinite": then nothing
//! stops the server from queueing the whole file in memory before the network takes it, and
//! memory grows with the file (a 1 GB file can take 1 GB; `--peak-memory` shows it, compare
//! with `fileio3`). The client prints `N chunks received, M bytes` (the empty chunk counts).
//!
//! Run it alone: server and client are threads of one process, as in the C original.
//! `--server-only` and `--client-only` split them into two processes, and either interoperates
//! with the guide's `fileio1` (same frames). `--output` writes what was received to a file.
//!
//! Unlike the C original's server, which `assert`ed on a request that is not `fetch` (any
//! peer could stop it), a malformed request is logged and dropped; nothing from the network
//! names a file. The C server also never rewound the file, so a second client got only the
//! empty end chunk; here each `fetch` streams the file from its start.

use std::io::{Read, Seek, SeekFrom};

use anyhow::bail;
use clap::Parser;
use zguide_examples::fileio;
use zmq_patterns::{Frame, Msg};

#[derive(Parser)]
#[command(about = "File transfer model 1: the server sends the whole file with no flow control")]
struct Args {
    #[command(flatten)]
    common: fileio::Flags,
}

/// Sends all of `file` to `identity` in chunks of `chunk_size`, then an empty chunk.
fn stream(
    router: &zmq::Socket,
    file: &mut std::fs::File,
    identity: &Frame,
    chunk_size: usize,
) -> zmq_patterns::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    loop {
        let mut data = Vec::with_capacity(chunk_size);
        file.by_ref()
            .take(chunk_size as u64)
            .read_to_end(&mut data)?;
        let size = data.len();
        Msg::from_iter([identity.clone(), Frame::from(data)]).send(router)?;
        if size == 0 {
            return Ok(()); // Always end with a zero-size frame
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let common = &args.common;
    let chunk_size = common.chunk_size.max(1);
    let timeout = common.timeout();
    zguide_examples::run(false, || {
        fileio::run(
            common,
            // Default HWM is 1000, which will drop messages here because we send more than
            // 1,000 chunks of test data, so set an infinite HWM as a simple, stupid solution:
            0,
            None,
            move |router, mut file| loop {
                // First frame in each message is the sender identity, then the "fetch" command
                let msg = Msg::recv(&router)?;
                match (msg.get(0), msg.get(1), msg.len()) {
                    (Some(identity), Some(command), 2) if command.as_bytes() == b"fetch" => {
                        stream(&router, &mut file, identity, chunk_size)?;
                    }
                    _ => log::warn!("request dropped: not [fetch]: {}", msg.len() - 1),
                }
            },
            |dealer, sink| {
                dealer.send("fetch", 0)?;
                let (mut chunks, mut total) = (0, 0);
                let mut poller = zmq_patterns::Poller::new();
                poller.add(dealer);
                loop {
                    if timeout.is_some() && poller.poll(timeout)? == 0 {
                        bail!("no chunk within {:?}", timeout.unwrap_or_default());
                    }
                    let msg = Msg::recv(dealer)?;
                    let (Some(chunk), 1) = (msg.front(), msg.len()) else {
                        bail!("a reply of {} frames, not 1", msg.len());
                    };
                    chunks += 1;
                    total += chunk.len() as u64;
                    sink.write(chunk)?;
                    if chunk.is_empty() {
                        break; // Whole file received
                    }
                }
                Ok((chunks, total))
            },
        )
    })
}
