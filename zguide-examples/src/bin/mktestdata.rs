//! Makes the test file of the file-transfer models (`fileio1`, `fileio2`, `fileio3`; guide
//! chapter 7, "Transferring Files"): `testdata`, 1 GiB by default.
//!
//! Run it once before the `fileio` programs, in the directory they run in. Prints nothing.
//!
//! The C original wrote 1,024 copies of an uninitialised 1 MiB stack buffer. Here the bytes are
//! pseudo-random from a fixed seed (the same file on every run, and no two chunks alike, so a
//! chunk delivered twice or at the wrong offset shows), written 1 MiB at a time. `--size` sets
//! the size in bytes, `--file` the path.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Writes the test file of the fileio examples (1 GiB of pseudo-random bytes)")]
struct Args {
    /// The file to write.
    #[arg(long, default_value = "testdata")]
    file: PathBuf,
    /// Its size in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    size: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let file = std::fs::File::create(&args.file)
            .with_context(|| format!("cannot create {}", args.file.display()))?;
        let mut out = BufWriter::new(file);
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15; // xorshift64, fixed seed
        let mut block = vec![0u8; 1 << 20];
        let mut left = args.size;
        while left > 0 {
            for word in block.chunks_exact_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                word.copy_from_slice(&state.to_le_bytes());
            }
            let n = left.min(block.len() as u64) as usize;
            out.write_all(&block[..n])
                .with_context(|| format!("cannot write {}", args.file.display()))?;
            left -= n as u64;
        }
        out.flush()
            .with_context(|| format!("cannot write {}", args.file.display()))?;
        Ok(())
    })
}
