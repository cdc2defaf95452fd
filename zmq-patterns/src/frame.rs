//! [`Frame`]: one part of a multipart message (CZMQ's `zframe`).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use crate::error::{Error, Result, SendError};
use crate::interrupt;
use crate::raw;

/// One message part. It owns a [`zmq::Message`], so receiving into a frame and sending it on
/// copies nothing: a broker moves frames from socket to socket as libzmq hands them over.
///
/// A frame prints like CZMQ's `zframe_print` and the guide's `s_dump`: its size in brackets,
/// then its text if every byte is printable, else its bytes in uppercase hex.
///
/// ```
/// use zmq_patterns::Frame;
/// let f = Frame::from("HELLO");
/// assert_eq!(f.to_string(), "[005] HELLO");
/// assert_eq!(Frame::from(&[0u8, 0x6b, 0x8b][..]).to_string(), "[003] 006B8B");
/// assert!(f == "HELLO");
/// ```
pub struct Frame {
    pub(crate) msg: zmq::Message,
}

impl Frame {
    /// An empty frame (the delimiter of a ROUTER envelope).
    ///
    /// ```
    /// assert!(zmq_patterns::Frame::empty().is_empty());
    /// ```
    #[inline]
    pub fn empty() -> Frame {
        Frame { msg: raw::empty() }
    }

    /// A frame holding a copy of `data`.
    ///
    /// ```
    /// let f = zmq_patterns::Frame::new(b"\x01");
    /// assert_eq!(f.as_bytes(), b"\x01");
    /// ```
    ///
    /// The frame's buffer is not zero-filled first (as `zmq::Message::with_size` is): libzmq
    /// allocates it (`zmq_msg_init_size`) and the bytes are copied in once. This is the way to
    /// build a frame of bytes you have without paying for a fill.
    #[inline]
    pub fn new(data: impl AsRef<[u8]>) -> Frame {
        Frame {
            msg: raw::copy_of(data.as_ref()),
        }
    }

    /// A frame holding the bytes of `parts` one after the other, copied once into a buffer of
    /// their total size (no intermediate `Vec`, no fill): a header and a body, say.
    ///
    /// ```
    /// let f = zmq_patterns::Frame::from_slices(&[b"MDPC", b"01", b""]);
    /// assert!(f == "MDPC01");
    /// ```
    pub fn from_slices(parts: &[&[u8]]) -> Frame {
        Frame {
            msg: raw::copy_of_slices(parts),
        }
    }

    /// Receives one part from `socket`, blocking. Check [`Frame::more`] for further parts.
    ///
    /// ```
    /// use zmq_patterns::Frame;
    /// let ctx = zmq::Context::new();
    /// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// a.bind("inproc://frame-recv").unwrap();
    /// b.connect("inproc://frame-recv").unwrap();
    /// Frame::from("hi").send(&a, 0).unwrap();
    /// let f = Frame::recv(&b).unwrap();
    /// assert!(f == "hi" && !f.more());
    /// ```
    pub fn recv(socket: &zmq::Socket) -> Result<Frame> {
        Self::recv_flags(socket, 0)
    }

    /// Receives one part without blocking: `Ok(None)` when nothing is waiting.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// assert!(zmq_patterns::Frame::try_recv(&s).unwrap().is_none());
    /// ```
    pub fn try_recv(socket: &zmq::Socket) -> Result<Option<Frame>> {
        match Self::recv_flags(socket, zmq::DONTWAIT) {
            Ok(f) => Ok(Some(f)),
            Err(Error::Zmq(zmq::Error::EAGAIN)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Receives one part with libzmq `flags` (`0` or `zmq::DONTWAIT`).
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// let e = zmq_patterns::Frame::recv_flags(&s, zmq::DONTWAIT).unwrap_err();
    /// assert_eq!(e.zmq(), Some(zmq::Error::EAGAIN));
    /// ```
    #[inline]
    pub fn recv_flags(socket: &zmq::Socket, flags: i32) -> Result<Frame> {
        let mut msg = zmq::Message::new();
        recv_into(socket, &mut msg, flags)?;
        Ok(Frame { msg })
    }

    /// The size of the frame in bytes: one call into libzmq (`zmq_msg_size`), where the slice's
    /// `len` through [`Deref`] makes two.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::Frame::from("abc").len(), 3);
    /// ```
    #[inline]
    #[allow(clippy::len_without_is_empty)] // is_empty is just below
    pub fn len(&self) -> usize {
        raw::len(&self.msg)
    }

    /// True if the frame has no bytes (a delimiter).
    ///
    /// ```
    /// assert!(zmq_patterns::Frame::empty().is_empty());
    /// assert!(!zmq_patterns::Frame::from("x").is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Receives one part into this frame, in place of what it held (released), with libzmq
    /// `flags`: the loop form of [`Frame::recv`], with no new `zmq_msg_t` set up and torn down
    /// per part, as libzmq's perf tools and `zmq::Socket::recv(&mut Message)` do. If the receive
    /// fails the frame is left empty.
    ///
    /// ```
    /// use zmq_patterns::Frame;
    /// let ctx = zmq::Context::new();
    /// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// a.bind("inproc://frame-recv-in-place").unwrap();
    /// b.connect("inproc://frame-recv-in-place").unwrap();
    /// for word in ["one", "two"] {
    ///     Frame::from(word).send(&a, 0).unwrap();
    /// }
    /// let mut frame = Frame::empty();
    /// frame.recv_in_place(&b, 0).unwrap();
    /// assert!(frame == "one");
    /// frame.recv_in_place(&b, 0).unwrap();
    /// assert!(frame == "two");
    /// assert!(frame.recv_in_place(&b, zmq::DONTWAIT).is_err() && frame.is_empty());
    /// ```
    #[inline]
    pub fn recv_in_place(&mut self, socket: &zmq::Socket, flags: i32) -> Result<()> {
        match recv_into(socket, &mut self.msg, flags) {
            Ok(_) => Ok(()),
            Err(e) => {
                if !self.is_empty() {
                    self.msg = zmq::Message::new(); // an interrupted wait leaves the old content
                }
                Err(e)
            }
        }
    }

    /// Sends this frame with libzmq `flags` (`zmq::SNDMORE`, `zmq::DONTWAIT`). On failure the
    /// frame comes back in the error, untouched.
    ///
    /// ```
    /// use zmq_patterns::Frame;
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::DEALER).unwrap();
    /// let back = Frame::from("x").send(&s, zmq::DONTWAIT).unwrap_err().msg;
    /// assert!(back == "x");
    /// ```
    #[inline]
    pub fn send(mut self, socket: &zmq::Socket, flags: i32) -> Result<(), SendError<Frame>> {
        match raw::send(socket, &mut self.msg, flags) {
            Ok(()) => {
                // libzmq has emptied the message and owns its content: "you do not need to
                // call zmq_msg_close() after a successful zmq_msg_send()" (zmq_msg_send(3)), so
                // the empty frame goes without the call its drop would make (libzmq's own perf
                // tools skip it too).
                std::mem::forget(self);
                Ok(())
            }
            Err(e) => Err(SendError {
                error: e.into(),
                msg: self,
            }),
        }
    }

    /// True if libzmq said more parts of the same message follow this one (set on receive).
    ///
    /// ```
    /// assert!(!zmq_patterns::Frame::from("x").more());
    /// ```
    #[inline]
    pub fn more(&self) -> bool {
        raw::more(&self.msg)
    }

    /// The bytes of the frame.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::Frame::from("ab").as_bytes(), b"ab");
    /// ```
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        raw::bytes(&self.msg)
    }

    /// The frame as text, if it is valid UTF-8.
    ///
    /// ```
    /// use zmq_patterns::Frame;
    /// assert_eq!(Frame::from("ok").as_str(), Some("ok"));
    /// assert_eq!(Frame::new([0xff]).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The frame as text, invalid UTF-8 replaced by `U+FFFD` (never fails, never panics).
    ///
    /// ```
    /// assert_eq!(zmq_patterns::Frame::new(b"a\xffb").to_string_lossy(), "a\u{fffd}b");
    /// ```
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }

    /// The frame's bytes as uppercase hex (CZMQ's `zframe_strhex`).
    ///
    /// ```
    /// assert_eq!(zmq_patterns::Frame::new([0x00, 0xab]).strhex(), "00AB");
    /// ```
    pub fn strhex(&self) -> String {
        hex(self.as_bytes())
    }

    /// True if every byte is printable ASCII, so [`Display`](fmt::Display) shows it as text.
    ///
    /// ```
    /// use zmq_patterns::Frame;
    /// assert!(Frame::from("Hello world").is_text());
    /// assert!(!Frame::new([1u8]).is_text());
    /// ```
    pub fn is_text(&self) -> bool {
        self.as_bytes().iter().all(|b| (32..127).contains(b))
    }

    /// The underlying libzmq message, for code that uses `zmq` directly.
    ///
    /// ```
    /// let m: zmq::Message = zmq_patterns::Frame::from("x").into_message();
    /// assert_eq!(&m[..], b"x");
    /// ```
    pub fn into_message(self) -> zmq::Message {
        self.msg
    }

    /// Borrows the underlying libzmq message.
    ///
    /// ```
    /// let f = zmq_patterns::Frame::from("x");
    /// assert_eq!(f.message().len(), 1);
    /// ```
    pub fn message(&self) -> &zmq::Message {
        &self.msg
    }
}

/// Receives one part into `msg`. A blocking receive (no `DONTWAIT`) wakes on Ctrl-C once
/// [`interrupt`] handling is installed, even if the signal came just before the call or while
/// messages keep arriving: it takes what is waiting without blocking, and otherwise waits on the
/// socket and the interrupt pipe together, honouring the socket's `RCVTIMEO`: a blocking receive
/// that runs out of time is [`Error::Timeout`] (libzmq says `EAGAIN`), a non-blocking one with
/// nothing waiting stays `EAGAIN`. Returns the part's size.
#[inline]
pub(crate) fn recv_into(socket: &zmq::Socket, msg: &mut zmq::Message, flags: i32) -> Result<usize> {
    if flags & zmq::DONTWAIT != 0 {
        return Ok(raw::recv(socket, msg, flags)?);
    }
    let Some(signal_fd) = interrupt::fd() else {
        return match raw::recv(socket, msg, flags) {
            Err(zmq::Error::EAGAIN) => Err(Error::Timeout), // RCVTIMEO ran out
            other => Ok(other?),
        };
    };
    recv_interruptible(socket, msg, flags, signal_fd)
}

/// The slow path of [`recv_into`] once interrupt handling is installed, out of line.
#[inline(never)]
fn recv_interruptible(
    socket: &zmq::Socket,
    msg: &mut zmq::Message,
    flags: i32,
    signal_fd: std::os::fd::RawFd,
) -> Result<usize> {
    loop {
        interrupt::check()?;
        match raw::recv(socket, msg, flags | zmq::DONTWAIT) {
            Err(zmq::Error::EAGAIN) => {}
            other => return Ok(other?),
        }
        let timeout = socket.get_rcvtimeo()?;
        let mut items = [
            socket.as_poll_item(zmq::POLLIN),
            zmq::PollItem::from_fd(signal_fd, zmq::POLLIN),
        ];
        if zmq::poll(&mut items, i64::from(timeout))? == 0 {
            return Err(Error::Timeout); // RCVTIMEO ran out
        }
    }
}

/// Receives the next part of a message whose first part is already here. libzmq delivers a
/// message whole, so this never waits; it is never cut short by an interrupt either (a signal
/// between two parts must not leave the rest to be read as the next message). A blocking
/// receive that libzmq itself breaks with `EINTR` is simply tried again.
#[inline]
pub(crate) fn recv_more(socket: &zmq::Socket, msg: &mut zmq::Message) -> Result<usize> {
    loop {
        match raw::recv(socket, msg, 0) {
            Err(zmq::Error::EINTR) => continue,
            other => return Ok(other?),
        }
    }
}

/// Uppercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

impl Default for Frame {
    fn default() -> Self {
        Frame::empty()
    }
}

impl Clone for Frame {
    /// Copies the frame's bytes (a `zmq::Message` is not reference counted on the Rust side).
    fn clone(&self) -> Self {
        Frame::new(self.as_bytes())
    }
}

impl Deref for Frame {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Frame {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({self})")
    }
}

impl fmt::Display for Frame {
    /// `[NNN] text` or `[NNN] HEX`. A precision limits how many bytes are shown, the rest
    /// elided with `...` (`format!("{:.35}", frame)` prints at most 35 bytes, as
    /// `zframe_print` does).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_bytes(self.as_bytes(), f)
    }
}

/// Shows `bytes` as a frame's [`Display`](fmt::Display) does.
pub(crate) fn fmt_bytes(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "[{:03}] ", bytes.len())?;
    let (shown, cut) = match f.precision() {
        Some(p) if p < bytes.len() => (&bytes[..p], true),
        _ => (bytes, false),
    };
    if bytes.iter().all(|b| (32..127).contains(b)) {
        // Printable ASCII is valid UTF-8.
        f.write_str(std::str::from_utf8(shown).unwrap_or_default())?;
    } else {
        f.write_str(&hex(shown))?;
    }
    if cut {
        f.write_str("...")?;
    }
    Ok(())
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for Frame {}

impl Hash for Frame {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialOrd for Frame {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Frame {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialEq<str> for Frame {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl PartialEq<&str> for Frame {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl PartialEq<[u8]> for Frame {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}
impl PartialEq<&[u8]> for Frame {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}
impl<const N: usize> PartialEq<[u8; N]> for Frame {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_bytes() == other
    }
}
impl<const N: usize> PartialEq<&[u8; N]> for Frame {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == *other
    }
}

impl From<zmq::Message> for Frame {
    fn from(msg: zmq::Message) -> Self {
        Frame { msg }
    }
}
impl From<Frame> for zmq::Message {
    fn from(f: Frame) -> Self {
        f.msg
    }
}
impl From<&str> for Frame {
    fn from(s: &str) -> Self {
        Frame::new(s)
    }
}
impl From<String> for Frame {
    fn from(s: String) -> Self {
        Frame::from(s.into_bytes())
    }
}
impl From<&String> for Frame {
    fn from(s: &String) -> Self {
        Frame::new(s)
    }
}
impl From<&[u8]> for Frame {
    fn from(b: &[u8]) -> Self {
        Frame::new(b)
    }
}
impl<const N: usize> From<&[u8; N]> for Frame {
    fn from(b: &[u8; N]) -> Self {
        Frame::new(b)
    }
}
impl<const N: usize> From<[u8; N]> for Frame {
    fn from(b: [u8; N]) -> Self {
        Frame::new(b)
    }
}
impl From<Vec<u8>> for Frame {
    /// Takes the vector without copying it.
    fn from(v: Vec<u8>) -> Self {
        Frame {
            msg: zmq::Message::from(v),
        }
    }
}
impl From<&Frame> for Frame {
    fn from(f: &Frame) -> Self {
        f.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_zframe_print() {
        assert_eq!(Frame::from("HELLO").to_string(), "[005] HELLO");
        assert_eq!(Frame::empty().to_string(), "[000] ");
        assert_eq!(
            Frame::new([0u8, 0x80, 0x00, 0x41, 0xa7]).to_string(),
            "[005] 00800041A7"
        );
        assert_eq!(format!("{:.3}", Frame::from("abcdef")), "[006] abc...");
        assert_eq!(format!("{:.2}", Frame::new([1u8, 2, 3])), "[003] 0102...");
    }

    #[test]
    fn compares_with_text_and_bytes() {
        let f = Frame::from("abc");
        assert!(f == "abc");
        assert!(f == *"abc");
        assert!(f == b"abc");
        let slice: &[u8] = b"abc";
        assert!(f == slice);
        assert!(f != "abd");
        assert_eq!(f, Frame::new(b"abc"));
        assert_eq!(f.clone(), f);
    }

    #[test]
    fn frames_work_as_map_keys() {
        let mut m = std::collections::HashMap::new();
        m.insert(Frame::from("w1"), 1);
        assert_eq!(m.get(&Frame::from("w1")), Some(&1));
    }

    #[test]
    fn round_trip_over_a_socket_with_more_flag() {
        let ctx = zmq::Context::new();
        let a = ctx.socket(zmq::PAIR).unwrap();
        let b = ctx.socket(zmq::PAIR).unwrap();
        a.bind("inproc://frame-test").unwrap();
        b.connect("inproc://frame-test").unwrap();
        Frame::from("one").send(&a, zmq::SNDMORE).unwrap();
        Frame::from(vec![2u8; 100]).send(&a, 0).unwrap();
        let f1 = Frame::recv(&b).unwrap();
        assert!(f1.more() && f1 == "one");
        let f2 = Frame::recv(&b).unwrap();
        assert!(!f2.more());
        assert_eq!(f2.len(), 100);
        assert!(Frame::try_recv(&b).unwrap().is_none());
    }

    #[test]
    fn lossy_text_never_panics() {
        assert_eq!(Frame::new([0xc3u8]).to_string_lossy(), "\u{fffd}");
        assert_eq!(Frame::new([0xc3u8]).as_str(), None);
    }
}
