//! Credit-based flow control for a chunked transfer, as the guide's `fileio3` does it (chapter
//! 7, "Transferring Files").
//!
//! The receiver asks for each chunk with a `fetch` request and keeps at most `pipeline`
//! requests in flight (its *credit*); each chunk that arrives gives one credit back, which the
//! receiver spends at once on the next request. The sender answers each request with one chunk
//! read from its source and never sends anything that was not asked for. So the pipeline stays
//! full, yet no more than `pipeline` chunks are ever queued between the two, whatever the size
//! of the transfer: a file of any size moves in bounded memory.
//!
//! The wire format is `fileio3`'s, so that these helpers talk to the guide's C programs:
//!
//! | direction | frames (after a ROUTER's identity frame) |
//! |---|---|
//! | receiver → sender | `fetch`, offset as decimal text, size as decimal text |
//! | sender → receiver | the chunk: `size` bytes, fewer at the end of the data (an empty chunk past it) |
//!
//! A chunk shorter than asked for is the last one. The receiver is a DEALER ([`Fetcher`]), the
//! sender a ROUTER ([`Server`]), both plain [`zmq::Socket`]s that the caller creates and
//! configures. The sender parses requests strictly ([`Fetch::parse`]): a request whose frame
//! count is wrong, whose numbers are not canonical decimals, or that asks for more than the
//! server's maximum chunk size is logged and dropped, never answered and never a panic. Set the
//! server ROUTER's `SNDHWM` to twice the clients' pipeline, as the guide does: a client that asks
//! for more than its credit then loses chunks instead of filling the server's memory.
//!
//! ```
//! use std::io::Cursor;
//! use zmq_patterns::credit::{Config, Fetcher, Server};
//!
//! let mut ctx = zmq::Context::new();
//! let router = ctx.socket(zmq::ROUTER).unwrap();
//! router.set_linger(0).unwrap();
//! router.bind("inproc://credit-doc").unwrap();
//! let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
//! let mut server = Server::from_reader(Cursor::new(data.clone()), 300);
//! let serving = std::thread::spawn(move || while server.serve_one(&router).is_ok() {});
//!
//! let dealer = ctx.socket(zmq::DEALER).unwrap();
//! dealer.set_linger(0).unwrap();
//! dealer.connect("inproc://credit-doc").unwrap();
//! let mut fetcher = Fetcher::new(Config { chunk_size: 300, pipeline: 2, ..Config::default() });
//! let mut received = Vec::new();
//! while let Some(chunk) = fetcher.recv(&dealer).unwrap() {
//!     received.extend_from_slice(&chunk.data);
//! }
//! assert_eq!(received, data);
//! assert_eq!((fetcher.chunks(), fetcher.bytes()), (4, 1000)); // 300 + 300 + 300 + 100
//! drop(dealer);
//! ctx.destroy().unwrap(); // the server's receive fails: its thread ends
//! serving.join().unwrap();
//! ```

use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::{Frame, Msg, Poller};

/// The guide's chunk size (`CHUNK_SIZE`, 250,000 bytes).
///
/// ```
/// assert_eq!(zmq_patterns::credit::CHUNK_SIZE, 250_000);
/// ```
pub const CHUNK_SIZE: usize = 250_000;

/// The guide's credit: chunk requests in flight at once (`PIPELINE`, 10).
///
/// ```
/// assert_eq!(zmq_patterns::credit::PIPELINE, 10);
/// ```
pub const PIPELINE: usize = 10;

/// The command frame of a chunk request.
///
/// ```
/// assert_eq!(zmq_patterns::credit::FETCH, "fetch");
/// ```
pub const FETCH: &str = "fetch";

/// One chunk request: `size` bytes from `offset`. On the wire: `["fetch", offset, size]`, the
/// numbers as decimal text (C's `%ld`).
///
/// ```
/// use zmq_patterns::credit::Fetch;
/// let fetch = Fetch { offset: 500_000, size: 250_000 };
/// let msg = fetch.to_msg();
/// let frames: Vec<&[u8]> = msg.iter().map(|f| f.as_bytes()).collect();
/// assert_eq!(frames, [&b"fetch"[..], b"500000", b"250000"]);
/// assert_eq!(Fetch::parse(&msg, 250_000).unwrap(), fetch);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetch {
    /// Where the chunk starts in the data.
    pub offset: u64,
    /// How many bytes are asked for (at most; fewer at the end of the data).
    pub size: usize,
}

/// Parses a canonical decimal number: ASCII digits only, no sign, no spaces, no leading zero
/// (except `0` itself), no more than `max`.
fn decimal(frame: &Frame, what: &str, max: u64) -> Result<u64> {
    let bytes = frame.as_bytes();
    let canonical = !bytes.is_empty()
        && bytes.len() <= 20
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || bytes.len() == 1);
    let value = canonical
        .then(|| std::str::from_utf8(bytes).ok()?.parse::<u64>().ok())
        .flatten();
    match value {
        Some(n) if n <= max => Ok(n),
        Some(n) => Err(Error::protocol(format!("fetch: {what} {n} is above {max}"))),
        None => Err(Error::protocol(format!(
            "fetch: {what} is not a decimal number: {frame:.32}"
        ))),
    }
}

impl Fetch {
    /// Parses a request as a sender reads it (without a ROUTER's identity frame): exactly three
    /// frames, `fetch`, the offset and the size, each number canonical decimal text (digits
    /// only, no sign, no leading zero), the offset at most `i64::MAX` (a file offset), the size
    /// from 1 to `max_chunk`. Anything else is an [`Error::Protocol`] saying what is wrong.
    ///
    /// ```
    /// use zmq_patterns::{credit::Fetch, Msg};
    /// let ok = Msg::from_iter(["fetch", "0", "250000"]);
    /// assert_eq!(Fetch::parse(&ok, 250_000).unwrap(), Fetch { offset: 0, size: 250_000 });
    /// for bad in [
    ///     Msg::from_iter(["fetch", "0"]),                     // two frames
    ///     Msg::from_iter(["fetch", "-1", "10"]),              // a sign
    ///     Msg::from_iter(["fetch", "0", "250001"]),           // above the maximum
    ///     Msg::from_iter(["fetch", " 1", "10"]),              // not digits only
    ///     Msg::from_iter(["FETCH", "0", "10"]),               // another command
    /// ] {
    ///     assert!(Fetch::parse(&bad, 250_000).unwrap_err().is_protocol());
    /// }
    /// ```
    pub fn parse(msg: &Msg, max_chunk: usize) -> Result<Fetch> {
        let (Some(command), Some(offset), Some(size), None) =
            (msg.get(0), msg.get(1), msg.get(2), msg.get(3))
        else {
            return Err(Error::protocol(format!(
                "fetch: {} frames, not 3",
                msg.len()
            )));
        };
        if command.as_bytes() != FETCH.as_bytes() {
            return Err(Error::protocol(format!(
                "not a fetch request: {command:.32}"
            )));
        }
        let offset = decimal(offset, "offset", i64::MAX as u64)?;
        let size = decimal(size, "size", max_chunk as u64)?;
        if size == 0 {
            return Err(Error::protocol("fetch: size 0"));
        }
        Ok(Fetch {
            offset,
            size: size as usize,
        })
    }

    /// The request as frames: `["fetch", offset, size]`.
    ///
    /// ```
    /// use zmq_patterns::credit::Fetch;
    /// let msg = Fetch { offset: 0, size: 10 }.to_msg();
    /// assert_eq!(msg.len(), 3);
    /// assert_eq!(msg[1].as_bytes(), b"0");
    /// ```
    pub fn to_msg(&self) -> Msg {
        Msg::from_iter([
            FETCH.to_string(),
            self.offset.to_string(),
            self.size.to_string(),
        ])
    }
}

/// The receiver's settings.
///
/// ```
/// use std::time::Duration;
/// use zmq_patterns::credit::Config;
/// let config = Config { timeout: Some(Duration::from_secs(5)), ..Config::default() };
/// assert_eq!((config.chunk_size, config.pipeline), (250_000, 10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Bytes asked for per request ([`CHUNK_SIZE`] by default). 0 counts as 1.
    pub chunk_size: usize,
    /// Requests in flight at once, the credit ([`PIPELINE`] by default). 0 counts as 1 (the
    /// guide's `fileio2`: one request, one chunk, then the next request).
    pub pipeline: usize,
    /// How long [`Fetcher::recv`] waits for a chunk before it returns [`Error::Timeout`];
    /// `None` (the default) waits for ever, as the guide does.
    pub timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            chunk_size: CHUNK_SIZE,
            pipeline: PIPELINE,
            timeout: None,
        }
    }
}

/// One chunk received by a [`Fetcher`].
///
/// ```
/// use zmq_patterns::{credit::Chunk, Frame};
/// let chunk = Chunk { offset: 0, data: Frame::new(b"abc"), last: true };
/// assert_eq!(chunk.data.len(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Where the chunk starts in the data.
    pub offset: u64,
    /// The bytes, as received (no copy).
    pub data: Frame,
    /// True for the last chunk: shorter than asked for, maybe empty.
    pub last: bool,
}

/// The receiving side: asks a [`Server`] (or the guide's `fileio3` server) for chunks through a
/// DEALER, keeping at most [`Config::pipeline`] requests in flight, and hands the chunks over
/// in order. Memory stays bounded by `pipeline × chunk_size` however long the transfer.
///
/// The chunks come back in the order they were asked for (one DEALER–ROUTER connection keeps
/// order, and the server answers each request before reading the next), so each chunk's
/// offset is the number of bytes received before it.
///
/// ```no_run
/// use zmq_patterns::credit::{Config, Fetcher};
/// # fn main() -> zmq_patterns::Result<()> {
/// let ctx = zmq::Context::new();
/// let dealer = ctx.socket(zmq::DEALER)?;
/// dealer.connect("tcp://127.0.0.1:6000")?;
/// let mut fetcher = Fetcher::new(Config::default());
/// while let Some(chunk) = fetcher.recv(&dealer)? {
///     // write chunk.data at chunk.offset
/// }
/// println!("{} chunks received, {} bytes", fetcher.chunks(), fetcher.bytes());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Fetcher {
    chunk_size: usize,
    pipeline: usize,
    timeout: Option<Duration>,
    /// Requests that may still be sent now.
    credit: usize,
    /// The offset of the next request.
    next_offset: u64,
    chunks: u64,
    bytes: u64,
    done: bool,
}

impl Fetcher {
    /// A receiver with these settings that has sent nothing yet.
    ///
    /// ```
    /// let fetcher = zmq_patterns::credit::Fetcher::new(Default::default());
    /// assert_eq!((fetcher.chunks(), fetcher.bytes(), fetcher.in_flight()), (0, 0, 0));
    /// ```
    pub fn new(config: Config) -> Fetcher {
        let pipeline = config.pipeline.max(1);
        Fetcher {
            chunk_size: config.chunk_size.max(1),
            pipeline,
            timeout: config.timeout,
            credit: pipeline,
            next_offset: 0,
            chunks: 0,
            bytes: 0,
            done: false,
        }
    }

    /// Spends the credit on requests (so that `pipeline` are in flight), then waits for the
    /// next chunk and returns it; `Ok(None)` once the last chunk was returned. Requests past
    /// the end of the data are answered with empty chunks that nobody reads: drop the DEALER
    /// (with a linger of 0) when done, or use a new one for the next transfer.
    ///
    /// Errors: [`Error::Timeout`] if no chunk comes within [`Config::timeout`];
    /// [`Error::Protocol`] for a reply of more than one frame or a chunk longer than asked for
    /// (the transfer cannot go on: the chunks no longer match the requests);
    /// [`Error::Interrupted`] on Ctrl-C once [`interrupt`](crate::interrupt) is installed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zmq_patterns::credit::{Config, Fetcher};
    /// let ctx = zmq::Context::new();
    /// let dealer = ctx.socket(zmq::DEALER).unwrap();
    /// dealer.set_linger(0).unwrap();
    /// dealer.connect("inproc://nobody-serves").unwrap(); // nobody binds, nobody answers
    /// let timeout = Some(Duration::from_millis(10));
    /// let mut fetcher = Fetcher::new(Config { timeout, ..Config::default() });
    /// assert!(fetcher.recv(&dealer).unwrap_err().is_timeout());
    /// ```
    pub fn recv(&mut self, dealer: &zmq::Socket) -> Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        while self.credit > 0 {
            let fetch = Fetch {
                offset: self.next_offset,
                size: self.chunk_size,
            };
            log::trace!("credit: fetch {} {}", fetch.offset, fetch.size);
            fetch.to_msg().send(dealer)?;
            self.next_offset += self.chunk_size as u64;
            self.credit -= 1;
        }
        if let Some(timeout) = self.timeout {
            let deadline = Instant::now() + timeout;
            let mut poller = Poller::new();
            poller.add(dealer);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if poller.poll(Some(left))? > 0 {
                    break;
                }
                if left.is_zero() {
                    return Err(Error::Timeout);
                }
            }
        }
        let mut msg = Msg::recv(dealer)?;
        let (Some(data), None) = (msg.pop_front(), msg.front()) else {
            return Err(Error::protocol(format!(
                "chunk reply of {} frames, not 1",
                msg.len() + 1
            )));
        };
        if data.len() > self.chunk_size {
            return Err(Error::protocol(format!(
                "chunk of {} bytes, {} asked for",
                data.len(),
                self.chunk_size
            )));
        }
        let chunk = Chunk {
            offset: self.bytes,
            last: data.len() < self.chunk_size,
            data,
        };
        self.credit += 1;
        self.chunks += 1;
        self.bytes += chunk.data.len() as u64;
        if chunk.last {
            self.done = true;
            log::debug!(
                "credit: transfer done, {} chunks, {} bytes",
                self.chunks,
                self.bytes
            );
        }
        Ok(Some(chunk))
    }

    /// Chunks received so far, the last (short or empty) one included, as the guide counts.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::credit::Fetcher::new(Default::default()).chunks(), 0);
    /// ```
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Bytes received so far.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::credit::Fetcher::new(Default::default()).bytes(), 0);
    /// ```
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Requests sent and not answered yet (at most [`Config::pipeline`]).
    ///
    /// ```
    /// assert_eq!(zmq_patterns::credit::Fetcher::new(Default::default()).in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.pipeline - self.credit
    }

    /// True once the last chunk was returned.
    ///
    /// ```
    /// assert!(!zmq_patterns::credit::Fetcher::new(Default::default()).is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.done
    }
}

/// Where a [`Server`] reads chunks: fills the buffer from the offset, returns how many bytes
/// it put there (fewer than asked for only at the end of the data).
type Source = Box<dyn FnMut(u64, &mut [u8]) -> std::io::Result<usize> + Send>;

/// The sending side: answers each `fetch` request on a ROUTER with one chunk read from its
/// source, a [`Read`] + [`Seek`] (a file) or a closure. It reads only what it was given:
/// nothing from the network names a file. Requests that do not parse ([`Fetch::parse`]) are
/// logged (`warn`) and dropped; no more than `max_chunk` bytes are read per request.
///
/// ```
/// use std::io::Cursor;
/// use zmq_patterns::{credit::Server, Msg};
/// let ctx = zmq::Context::new();
/// let router = ctx.socket(zmq::ROUTER).unwrap();
/// router.bind("inproc://credit-server-doc").unwrap();
/// let dealer = ctx.socket(zmq::DEALER).unwrap();
/// dealer.connect("inproc://credit-server-doc").unwrap();
/// let mut server = Server::from_reader(Cursor::new(b"hello world".to_vec()), 100);
///
/// Msg::from_iter(["fetch", "6", "100"]).send(&dealer).unwrap();
/// assert!(server.serve_one(&router).unwrap());
/// assert_eq!(Msg::recv(&dealer).unwrap()[0].as_bytes(), b"world");
///
/// Msg::from_iter(["fetch", "6", "101"]).send(&dealer).unwrap(); // above the maximum
/// assert!(!server.serve_one(&router).unwrap());
/// assert_eq!((server.served(), server.dropped()), (1, 1));
/// ```
pub struct Server {
    source: Source,
    max_chunk: usize,
    served: u64,
    dropped: u64,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("max_chunk", &self.max_chunk)
            .field("served", &self.served)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server of the bytes of `reader` (a `File`, a `Cursor`), answering requests of up to
    /// `max_chunk` bytes (0 counts as 1).
    ///
    /// ```
    /// let server = zmq_patterns::credit::Server::from_reader(std::io::empty(), 250_000);
    /// assert_eq!(server.served(), 0);
    /// ```
    pub fn from_reader<R: Read + Seek + Send + 'static>(mut reader: R, max_chunk: usize) -> Server {
        Server::from_fn(
            move |offset, buf| {
                reader.seek(SeekFrom::Start(offset))?;
                let mut filled = 0;
                while filled < buf.len() {
                    match reader.read(&mut buf[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(filled)
            },
            max_chunk,
        )
    }

    /// A server whose chunks come from `read(offset, buf)`, which fills `buf` from `offset` and
    /// returns how many bytes it wrote (fewer than `buf.len()` only at the end of the data).
    ///
    /// ```
    /// // An endless stream of zeros that ends at 1 MB, without a file
    /// let server = zmq_patterns::credit::Server::from_fn(|offset, buf| {
    ///     let n = (1_000_000u64.saturating_sub(offset) as usize).min(buf.len());
    ///     buf[..n].fill(0);
    ///     Ok(n)
    /// }, 250_000);
    /// assert_eq!(server.dropped(), 0);
    /// ```
    pub fn from_fn(
        read: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize> + Send + 'static,
        max_chunk: usize,
    ) -> Server {
        Server {
            source: Box::new(read),
            max_chunk: max_chunk.max(1),
            served: 0,
            dropped: 0,
        }
    }

    /// Handles one message as received from `router` (`[identity][fetch][offset][size]`): sends
    /// the chunk back and returns `Ok(true)`, or logs why the request is malformed and returns
    /// `Ok(false)`. Errors are the router's and the source's (a read that failed).
    ///
    /// ```
    /// use zmq_patterns::{credit::Server, Msg};
    /// let ctx = zmq::Context::new();
    /// let router = ctx.socket(zmq::ROUTER).unwrap();
    /// let mut server = Server::from_reader(std::io::empty(), 10);
    /// let bad = Msg::from_iter(["peer", "fetch", "zero", "10"]);
    /// assert!(!server.handle(&router, bad).unwrap());
    /// ```
    pub fn handle(&mut self, router: &zmq::Socket, mut msg: Msg) -> Result<bool> {
        let Some(identity) = msg.pop_front() else {
            return Ok(false);
        };
        let fetch = match Fetch::parse(&msg, self.max_chunk) {
            Ok(fetch) => fetch,
            Err(e) => {
                self.dropped += 1;
                log::warn!("credit: request dropped: {e}");
                return Ok(false);
            }
        };
        let mut data = vec![0u8; fetch.size];
        let n = (self.source)(fetch.offset, &mut data)?;
        data.truncate(n.min(fetch.size));
        log::trace!(
            "credit: chunk {} {} -> {} bytes",
            fetch.offset,
            fetch.size,
            data.len()
        );
        let mut reply = Msg::from(Frame::from(zmq::Message::from(data)));
        reply.push_front(identity);
        // A ROUTER drops a message it believes would pass the client's high-water mark, and
        // its belief of what the client has read is updated only when libzmq processes its
        // commands, which a busy loop of receives and sends does only now and then: at full
        // speed it dropped chunks a client within its credit had asked for. Reading the
        // socket's events processes them now.
        router.get_events()?;
        reply.send(router)?;
        self.served += 1;
        Ok(true)
    }

    /// Receives one message from `router` and [handles](Server::handle) it.
    ///
    /// ```no_run
    /// # let ctx = zmq::Context::new();
    /// # let router = ctx.socket(zmq::ROUTER).unwrap();
    /// let mut server = zmq_patterns::credit::Server::from_reader(std::io::empty(), 10);
    /// loop {
    ///     match server.serve_one(&router) {
    ///         Ok(_) => {}
    ///         Err(e) if e.is_shutdown() => break,
    ///         Err(e) => panic!("{e}"),
    ///     }
    /// }
    /// ```
    pub fn serve_one(&mut self, router: &zmq::Socket) -> Result<bool> {
        let msg = Msg::recv(router)?;
        self.handle(router, msg)
    }

    /// Chunks sent so far.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::credit::Server::from_reader(std::io::empty(), 1).served(), 0);
    /// ```
    pub fn served(&self) -> u64 {
        self.served
    }

    /// Malformed requests dropped so far.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::credit::Server::from_reader(std::io::empty(), 1).dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn parse(frames: &[&str], max: usize) -> Result<Fetch> {
        Fetch::parse(&Msg::from_iter(frames.iter().copied()), max)
    }

    #[test]
    fn requests_parse_strictly() {
        assert_eq!(
            parse(&["fetch", "0", "1"], 10).unwrap(),
            Fetch { offset: 0, size: 1 }
        );
        let max = i64::MAX.to_string();
        assert_eq!(
            parse(&["fetch", &max, "10"], 10).unwrap().offset,
            i64::MAX as u64
        );
        for bad in [
            &["fetch", "0"][..],
            &["fetch", "0", "1", ""],
            &[],
            &["fetch", "", "1"],
            &["fetch", "0", ""],
            &["fetch", "+1", "1"],
            &["fetch", "-1", "1"],
            &["fetch", "01", "1"],
            &["fetch", "1", "010"],
            &["fetch", "1 ", "1"],
            &["fetch", "0x10", "1"],
            &["fetch", "1", "11"],
            &["fetch", "1", "0"],
            &["fetch", "9223372036854775808", "1"],
            &["fetch", "99999999999999999999999", "1"],
            &["fetch", "1", "18446744073709551616"],
            &["fetch\0", "1", "1"],
            &["Fetch", "1", "1"],
        ] {
            let e = parse(bad, 10).unwrap_err();
            assert!(e.is_protocol(), "{bad:?}: {e}");
        }
    }

    #[test]
    fn requests_round_trip() {
        for fetch in [
            Fetch { offset: 0, size: 1 },
            Fetch {
                offset: 1 << 40,
                size: CHUNK_SIZE,
            },
        ] {
            assert_eq!(Fetch::parse(&fetch.to_msg(), CHUNK_SIZE).unwrap(), fetch);
        }
    }

    fn pair(name: &str) -> (zmq::Context, zmq::Socket, zmq::Socket) {
        let ctx = zmq::Context::new();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        router.set_linger(0).unwrap();
        router.bind(&format!("inproc://{name}")).unwrap();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_linger(0).unwrap();
        dealer.connect(&format!("inproc://{name}")).unwrap();
        (ctx, router, dealer)
    }

    /// Runs a whole transfer of `data` against a server thread, and checks each chunk's offset
    /// and that no more than `pipeline` requests are ever in flight.
    fn transfer(data: &[u8], chunk_size: usize, pipeline: usize) -> (Vec<u8>, u64) {
        let (_ctx, router, dealer) = pair(&format!("transfer-{chunk_size}-{pipeline}"));
        let mut server = Server::from_reader(Cursor::new(data.to_vec()), chunk_size);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let stop = &stop;
            s.spawn(move || {
                let mut poller = Poller::new();
                poller.add(&router);
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    if poller.poll(Some(Duration::from_millis(5))).unwrap() > 0 {
                        assert!(server.serve_one(&router).unwrap());
                    }
                }
            });
            let mut fetcher = Fetcher::new(Config {
                chunk_size,
                pipeline,
                timeout: Some(Duration::from_secs(5)),
            });
            let mut out = Vec::new();
            while let Some(chunk) = fetcher.recv(&dealer).unwrap() {
                assert!(fetcher.in_flight() < pipeline.max(1));
                assert_eq!(chunk.offset, out.len() as u64);
                out.extend_from_slice(&chunk.data);
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            assert!(fetcher.is_done());
            assert_eq!(fetcher.bytes(), out.len() as u64);
            (out, fetcher.chunks())
        })
    }

    #[test]
    fn transfers_are_byte_exact_with_the_guide_count() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        // 10,000 bytes in chunks of 3,000: 3 full chunks and a short one
        assert_eq!(transfer(&data, 3000, 3), (data.clone(), 4));
        // A multiple of the chunk size ends with an empty chunk, counted as the guide does
        assert_eq!(transfer(&data, 2500, 10), (data.clone(), 5));
        assert_eq!(transfer(&data, 1000, 1), (data.clone(), 11));
        assert_eq!(transfer(&[], 10, 2), (Vec::new(), 1));
    }

    /// The server's ROUTER with a send high-water mark no higher than the credit, over tcp: the
    /// router's view of what the client has read goes stale between two passes of libzmq's
    /// command processing (at most one a millisecond in a busy loop), and without reading the
    /// events before each send it dropped chunks the client had asked for, and the transfer
    /// stalled. Tiny chunks make the loop fast enough to show it (4 runs of 4 failed without
    /// the fix).
    #[test]
    fn no_chunk_is_lost_when_the_credit_fills_the_routers_high_water_mark() {
        let pipeline = 4;
        let chunks = 150_000u64;
        let ctx = zmq::Context::new();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        router.set_linger(0).unwrap();
        router.set_sndhwm(pipeline as i32).unwrap();
        router.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = router.get_last_endpoint().unwrap().unwrap();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_linger(0).unwrap();
        dealer.connect(&endpoint).unwrap();
        let data = vec![7u8; chunks as usize];
        let mut server = Server::from_reader(Cursor::new(data), 1);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let received = std::thread::scope(|s| {
            let stop = &stop;
            // A loop of blocking receives, as fileio3's server: a poll before each receive
            // would process the commands and hide the bug
            router.set_rcvtimeo(50).unwrap();
            s.spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    match server.serve_one(&router) {
                        Ok(_) => {}
                        Err(e) if e.is_timeout() => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            });
            let mut fetcher = Fetcher::new(Config {
                chunk_size: 1,
                pipeline,
                timeout: Some(Duration::from_secs(2)),
            });
            let mut got = 0u64;
            let outcome = loop {
                match fetcher.recv(&dealer) {
                    Ok(Some(_)) => got += 1,
                    Ok(None) => break Ok(got),
                    Err(e) => break Err((got, e)),
                }
            };
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            outcome
        });
        match received {
            Ok(n) => assert_eq!(n, chunks),
            Err((n, e)) => panic!("stalled after {n} of {chunks} chunks: {e}"),
        }
    }

    #[test]
    fn a_malformed_request_is_dropped_and_the_next_served() {
        let cap = crate::test_log::capture();
        let (_ctx, router, dealer) = pair("malformed");
        let mut server = Server::from_reader(Cursor::new(b"0123456789".to_vec()), 4);
        for bad in [
            Msg::from_iter(["fetch"]),
            Msg::from_iter(["fetch", "x", "1"]),
            Msg::from_iter(["fetch", "0", "5"]),
            Msg::from_iter(["fetch", "-3", "1"]),
            Msg::from_iter([""]), // a bare empty frame
        ] {
            bad.send(&dealer).unwrap();
            assert!(!server.serve_one(&router).unwrap());
        }
        Fetch { offset: 8, size: 4 }.to_msg().send(&dealer).unwrap();
        assert!(server.serve_one(&router).unwrap());
        // The only reply is the good request's: nothing was sent for the bad ones
        assert_eq!(Msg::recv(&dealer).unwrap()[0].as_bytes(), b"89");
        assert_eq!((server.served(), server.dropped()), (1, 5));
        let warn = log::Level::Warn;
        assert!(cap.has(
            warn,
            &["request dropped", "offset is not a decimal number: [001] x"]
        ));
        assert!(cap.has(warn, &["request dropped", "size 5 is above 4"]));
        assert!(cap.has(warn, &["request dropped", "1 frames, not 3"]));
    }

    #[test]
    fn a_chunk_longer_than_asked_for_or_multipart_is_a_protocol_error() {
        let config = Config {
            chunk_size: 4,
            pipeline: 1,
            timeout: Some(Duration::from_secs(5)),
        };
        for (n, reply) in [vec!["12345"], vec!["12", "34"]].into_iter().enumerate() {
            let (_ctx, router, dealer) = pair(&format!("liar-{n}"));
            let server = std::thread::spawn(move || {
                let mut request = Msg::recv(&router).unwrap();
                let mut out = Msg::from_iter(reply);
                out.push_front(request.pop_front().unwrap());
                out.send(&router).unwrap();
                router
            });
            let e = Fetcher::new(config).recv(&dealer).unwrap_err();
            let _router = server.join().unwrap();
            assert!(e.is_protocol(), "{e}");
        }
    }

    #[test]
    fn a_failed_read_is_the_servers_error() {
        let (_ctx, router, dealer) = pair("failing");
        let mut server = Server::from_fn(|_, _| Err(std::io::Error::other("disk on fire")), 10);
        Fetch { offset: 0, size: 1 }.to_msg().send(&dealer).unwrap();
        let e = server.serve_one(&router).unwrap_err();
        assert!(matches!(e, Error::Io(_)), "{e}");
    }
}
