//! What the three file-transfer models (`fileio1`, `fileio2`, `fileio3`, guide chapter 7,
//! "Transferring Files") share: their command line, the process layout (a server thread and a
//! client in one process, as the C originals, or either alone), the output file and the
//! peak-memory report.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;

/// The flags every `fileio` binary takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Flags {
    /// Endpoint the server's ROUTER binds to.
    #[arg(long, default_value = "tcp://*:6000")]
    pub bind: String,
    /// Endpoint the client's DEALER connects to.
    #[arg(long, default_value = "tcp://127.0.0.1:6000")]
    pub connect: String,
    /// The file the server serves, the only one it reads (make one with `mktestdata`).
    #[arg(long, default_value = "testdata")]
    pub file: PathBuf,
    /// Bytes per chunk: what the client asks for, and the most the server sends at once.
    #[arg(long, default_value_t = zmq_patterns::credit::CHUNK_SIZE)]
    pub chunk_size: usize,
    /// Run only the server, until Ctrl-C, for clients in other processes (the guide's too).
    #[arg(long, conflicts_with = "client_only")]
    pub server_only: bool,
    /// Run only the client, against a server in another process; ends when the file is in.
    #[arg(long)]
    pub client_only: bool,
    /// Write what the client receives to this file (the C original throws it away).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// At the end, print the process's peak memory (`VmHWM` of /proc/self/status) as
    /// `peak memory: N kB`.
    #[arg(long)]
    pub peak_memory: bool,
    /// Give up with an error if no chunk comes for this long, in milliseconds; 0 (the default)
    /// waits for ever, as the C original does.
    #[arg(long, default_value_t = 0)]
    pub timeout_ms: u64,
}

impl Flags {
    /// [`Flags::timeout_ms`] as the library takes it.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        (self.timeout_ms > 0).then(|| std::time::Duration::from_millis(self.timeout_ms))
    }
}

/// Where the client puts what it receives: nowhere (the C original), or the `--output` file.
pub struct Sink(Option<BufWriter<File>>);

impl Sink {
    /// Appends a chunk (they arrive in order).
    pub fn write(&mut self, data: &[u8]) -> anyhow::Result<()> {
        if let Some(out) = &mut self.0 {
            out.write_all(data)
                .context("cannot write the output file")?;
        }
        Ok(())
    }
}

/// Runs a file-transfer model as `args` say: the server (ROUTER with this high-water mark,
/// bound to `--bind`, serving `--file`) in a thread and the client (DEALER with this
/// high-water mark, connected to `--connect`) in the calling thread, or either alone. The
/// client prints the guide's `N chunks received, M bytes`.
///
/// `serve` takes the bound ROUTER and the open file and serves until the context is terminated
/// (the client is done) or Ctrl-C; `fetch` takes the connected DEALER and the sink and returns
/// (chunks, bytes) received.
pub fn run(
    args: &Flags,
    server_hwm: i32,
    client_hwm: Option<i32>,
    serve: impl FnOnce(zmq::Socket, File) -> zmq_patterns::Result<()> + Send + 'static,
    fetch: impl FnOnce(&zmq::Socket, &mut Sink) -> anyhow::Result<(u64, u64)>,
) -> anyhow::Result<()> {
    let mut ctx = zmq::Context::new();
    let mut server = None;
    if !args.client_only {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        let router = ctx.socket(zmq::ROUTER)?;
        router.set_linger(0)?;
        router.set_sndhwm(server_hwm)?;
        router.set_rcvhwm(server_hwm)?;
        crate::bind(&router, &args.bind, "--bind")?;
        log::debug!("serving {} at {}", args.file.display(), args.bind);
        if args.server_only {
            serve(router, file)?;
            return Ok(());
        }
        server = Some(crate::spawn_vital("server", move || {
            Ok(serve(router, file)?)
        }));
    }

    {
        use zmq_patterns::SocketExt;
        let dealer = ctx.socket(zmq::DEALER)?;
        dealer.set_linger(0)?;
        if let Some(hwm) = client_hwm {
            dealer.set_sndhwm(hwm)?;
            dealer.set_rcvhwm(hwm)?;
        }
        dealer.connect_to(&args.connect)?;
        let mut sink = Sink(match &args.output {
            Some(path) => {
                Some(BufWriter::new(File::create(path).with_context(|| {
                    format!("cannot create {}", path.display())
                })?))
            }
            None => None,
        });
        let (chunks, bytes) = fetch(&dealer, &mut sink)?;
        if let Some(mut out) = sink.0.take() {
            out.flush().context("cannot write the output file")?;
        }
        println!("{chunks} chunks received, {bytes} bytes");
    }

    // Stop the server thread as the C's zctx_destroy does: its receive fails with ETERM
    ctx.destroy()?;
    if let Some(server) = server {
        let _ = server.join();
    }
    if args.peak_memory {
        match peak_memory_kb() {
            Some(kb) => println!("peak memory: {kb} kB"),
            None => log::warn!("no VmHWM in /proc/self/status"),
        }
    }
    Ok(())
}

/// The process's peak resident memory so far, in kB (`VmHWM` of /proc/self/status).
pub fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
