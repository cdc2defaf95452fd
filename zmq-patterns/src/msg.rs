//! [`Msg`]: the frames of one multipart message (CZMQ's `zmsg`).

use std::fmt;

use std::cell::RefCell;

use crate::error::{Error, Result, SendError};
use crate::frame::{self, Frame};
use crate::raw;

/// A multipart message: a double-ended list of [`Frame`]s, received and sent as one.
///
/// The names follow [`VecDeque`](std::collections::VecDeque): `push_front`/`pop_front` and
/// `push_back`/`pop_back`, `front` and `back`; [`Msg::push_envelope`] and [`Msg::pop_envelope`]
/// put on and take off a ROUTER address envelope. Each carries the CZMQ name (`zmsg_push`,
/// `zmsg_wrap`, ...) as a search alias for readers of the guide. A message prints as the guide's
/// `s_dump` does (`println!("{msg}")`).
///
/// ```
/// use zmq_patterns::{Frame, Msg};
/// let mut msg = Msg::new();
/// msg.push_back("Hello");               // [Hello]
/// msg.push_envelope(Frame::from("A"));  // [A][][Hello]
/// assert_eq!(msg.len(), 3);
/// let address = msg.pop_envelope().expect("an address");
/// assert!(address == "A");
/// assert_eq!(msg.pop_front_str().as_deref(), Some("Hello"));
/// assert!(msg.is_empty());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Msg {
    /// The frames in **reverse** order (the front frame last): `push`/`pop` at the front are a
    /// push/pop at the vector's end. The vector's buffer comes from, and goes back to, a small
    /// per-thread pool, so that receiving and sending messages allocates nothing in the steady
    /// state beyond libzmq's own buffers, and a `Msg` is three words to move.
    frames: Vec<Frame>,
}

/// Buffers of dropped messages, kept per thread for the next message.
///
/// Most programs have at most one message in hand at a time per thread (received, handled,
/// sent, dropped), so the first place looked at is a single spare buffer in a `Cell` of plain
/// data: a thread-local without a destructor costs one load to reach, where one with a
/// destructor must check its registration each time. Behind it, a small `RefCell` stack takes
/// the overflow, and its destructor frees the spare buffer when the thread ends. The spare slot
/// is used only while that destructor is registered and has not run, so no buffer is ever left
/// behind.
mod pool {
    use super::*;
    use std::cell::Cell;
    use std::ptr;

    /// Most buffers kept per thread (besides the spare), and the largest one kept (in frames).
    const KEEP: usize = 64;
    const LARGEST: usize = 64;

    /// The stack state, as seen by the spare slot.
    const UNREGISTERED: u8 = 0;
    const ALIVE: u8 = 1;
    const GONE: u8 = 2;

    struct Stack(Vec<Vec<Frame>>);

    impl Drop for Stack {
        fn drop(&mut self) {
            STATE.with(|s| s.set(GONE));
            drop(take_spare());
        }
    }

    thread_local! {
        static STACK: RefCell<Stack> = const { RefCell::new(Stack(Vec::new())) };
        static STATE: Cell<u8> = const { Cell::new(UNREGISTERED) };
        /// The spare buffer: pointer and capacity of an empty `Vec<Frame>`, or null.
        static SPARE: Cell<(*mut Frame, usize)> = const { Cell::new((ptr::null_mut(), 0)) };
    }

    #[inline]
    fn take_spare() -> Option<Vec<Frame>> {
        let (p, cap) = SPARE.with(|s| s.replace((ptr::null_mut(), 0)));
        if p.is_null() {
            return None;
        }
        // SAFETY: (p, cap) came from a `Vec<Frame>` emptied and forgotten by `give`, and the
        // slot was emptied above, so this is the only owner of that allocation.
        Some(unsafe { Vec::from_raw_parts(p, 0, cap) })
    }

    /// The capacity of the spare buffer (0: none), for the tests.
    #[cfg(test)]
    pub(super) fn spare_capacity() -> usize {
        SPARE.with(|s| s.get().1)
    }

    /// Says the stack is gone, as its destructor does, for the tests.
    #[cfg(test)]
    pub(super) fn pretend_gone() {
        STATE.with(|s| s.set(GONE));
        drop(take_spare());
    }

    /// An empty vector, with the capacity of a recycled one if there is one.
    #[inline]
    pub(super) fn take() -> Vec<Frame> {
        if let Some(v) = take_spare() {
            return v;
        }
        STACK
            .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.0.pop()))
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Drops the frames and keeps the buffer for later.
    #[inline]
    pub(super) fn give(mut v: Vec<Frame>) {
        if v.capacity() == 0 || v.capacity() > LARGEST {
            return;
        }
        v.clear();
        if STATE.with(Cell::get) == ALIVE && SPARE.with(|s| s.get().0.is_null()) {
            let mut v = std::mem::ManuallyDrop::new(v);
            SPARE.with(|s| s.set((v.as_mut_ptr(), v.capacity())));
            return;
        }
        let _ = STACK.try_with(|p| {
            // The first use registers the stack's destructor: from now on the spare slot is safe
            STATE.with(|s| {
                if s.get() == UNREGISTERED {
                    s.set(ALIVE)
                }
            });
            if let Ok(mut p) = p.try_borrow_mut() {
                if p.0.len() < KEEP {
                    p.0.push(v);
                }
            }
        });
    }
}

impl Drop for Msg {
    #[inline]
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.frames));
    }
}

impl Msg {
    /// An empty message.
    ///
    /// ```
    /// assert!(zmq_patterns::Msg::new().is_empty());
    /// ```
    pub fn new() -> Msg {
        Msg { frames: Vec::new() }
    }

    /// Receives every part of the next message from `socket`, blocking.
    ///
    /// ```
    /// use zmq_patterns::Msg;
    /// let ctx = zmq::Context::new();
    /// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// a.bind("inproc://msg-recv").unwrap();
    /// b.connect("inproc://msg-recv").unwrap();
    /// Msg::from_iter(["a", "b"]).send(&a).unwrap();
    /// assert_eq!(Msg::recv(&b).unwrap().len(), 2);
    /// ```
    #[inline]
    pub fn recv(socket: &zmq::Socket) -> Result<Msg> {
        Self::recv_flags(socket, 0)
    }

    /// Receives the next message if one is waiting: `Ok(None)` if not.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// assert!(zmq_patterns::Msg::try_recv(&s).unwrap().is_none());
    /// ```
    #[inline]
    pub fn try_recv(socket: &zmq::Socket) -> Result<Option<Msg>> {
        match Self::recv_flags(socket, zmq::DONTWAIT) {
            Ok(m) => Ok(Some(m)),
            Err(Error::Zmq(zmq::Error::EAGAIN)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Receives the next message into this one, in place of what it held, the first part with
    /// libzmq `flags`: the loop form of [`Msg::recv`], reusing this message's frames and buffer
    /// instead of setting up new ones. If the receive fails the message is left empty.
    ///
    /// ```
    /// use zmq_patterns::Msg;
    /// let ctx = zmq::Context::new();
    /// let (a, b) = (ctx.socket(zmq::PAIR).unwrap(), ctx.socket(zmq::PAIR).unwrap());
    /// a.bind("inproc://msg-recv-in-place").unwrap();
    /// b.connect("inproc://msg-recv-in-place").unwrap();
    /// Msg::from_iter(["a", "b", "c"]).send(&a).unwrap();
    /// Msg::from_iter(["d"]).send(&a).unwrap();
    /// let mut msg = Msg::new();
    /// msg.recv_in_place(&b, 0).unwrap();
    /// assert_eq!(msg.len(), 3);
    /// msg.recv_in_place(&b, 0).unwrap();
    /// assert_eq!(msg.len(), 1);
    /// assert_eq!(msg.pop_front_str().as_deref(), Some("d"));
    /// assert!(msg.recv_in_place(&b, zmq::DONTWAIT).is_err() && msg.is_empty());
    /// ```
    pub fn recv_in_place(&mut self, socket: &zmq::Socket, flags: i32) -> Result<()> {
        self.reserve_one();
        // The frames are kept in reverse order: the old last frame takes the new first part
        self.frames.reverse();
        let mut n = 0;
        let result = loop {
            if n == self.frames.len() {
                self.frames.push(Frame::empty());
            }
            let received = if n == 0 {
                self.frames[n].recv_in_place(socket, flags)
            } else {
                frame::recv_more(socket, &mut self.frames[n].msg).map(drop)
            };
            if let Err(e) = received {
                break Err(e);
            }
            n += 1;
            if !self.frames[n - 1].more() {
                break Ok(());
            }
        };
        if result.is_err() {
            n = 0;
        }
        self.frames.truncate(n);
        self.frames.reverse();
        result
    }

    /// Receives every part of the next message, the first with libzmq `flags`.
    ///
    /// ```
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::PULL).unwrap();
    /// let e = zmq_patterns::Msg::recv_flags(&s, zmq::DONTWAIT).unwrap_err();
    /// assert_eq!(e.zmq(), Some(zmq::Error::EAGAIN));
    /// ```
    #[inline]
    pub fn recv_flags(socket: &zmq::Socket, flags: i32) -> Result<Msg> {
        // Each part is received in place, in the vector (no 64-byte `zmq_msg_t` moved around);
        // if the receive fails, the buffer goes back to the pool with the message.
        let mut msg = Msg {
            frames: pool::take(),
        };
        msg.frames.push(Frame::empty());
        let mut last = 0;
        frame::recv_into(socket, &mut msg.frames[last].msg, flags)?;
        while msg.frames[last].more() {
            // Once the first part is here the rest of the message is too: libzmq delivers
            // messages whole.
            msg.frames.push(Frame::empty());
            last += 1;
            frame::recv_more(socket, &mut msg.frames[last].msg)?;
        }
        msg.frames.reverse();
        Ok(msg)
    }

    /// Sends every frame as one message, blocking as libzmq does. On failure the message comes
    /// back in the error (see [`SendError`]). An empty message sends nothing and succeeds.
    ///
    /// ```
    /// use zmq_patterns::Msg;
    /// let ctx = zmq::Context::new();
    /// let push = ctx.socket(zmq::PUSH).unwrap();
    /// let pull = ctx.socket(zmq::PULL).unwrap();
    /// pull.bind("inproc://msg-send").unwrap();
    /// push.connect("inproc://msg-send").unwrap();
    /// Msg::from_iter(["k", "v"]).send(&push).unwrap();
    /// assert_eq!(pull.recv_multipart(0).unwrap(), vec![b"k".to_vec(), b"v".to_vec()]);
    /// ```
    #[inline]
    pub fn send(self, socket: &zmq::Socket) -> Result<(), SendError<Msg>> {
        self.send_flags(socket, 0)
    }

    /// Sends without blocking: if the peer cannot take it now, the message comes back with
    /// `EAGAIN` and can be sent again later.
    ///
    /// ```
    /// use zmq_patterns::Msg;
    /// let ctx = zmq::Context::new();
    /// let dealer = ctx.socket(zmq::DEALER).unwrap();
    /// let err = Msg::from_iter(["x"]).try_send(&dealer).unwrap_err();
    /// assert_eq!(err.msg.len(), 1);
    /// ```
    pub fn try_send(self, socket: &zmq::Socket) -> Result<(), SendError<Msg>> {
        self.send_flags(socket, zmq::DONTWAIT)
    }

    /// Sends with libzmq `flags` added to every part (`zmq::DONTWAIT`; `zmq::SNDMORE` to send
    /// this message as the head of a longer one).
    ///
    /// ```
    /// use zmq_patterns::Msg;
    /// let ctx = zmq::Context::new();
    /// let s = ctx.socket(zmq::DEALER).unwrap();
    /// assert!(Msg::from_iter(["x"]).send_flags(&s, zmq::DONTWAIT).is_err());
    /// ```
    #[inline]
    pub fn send_flags(mut self, socket: &zmq::Socket, flags: i32) -> Result<(), SendError<Msg>> {
        // Each part is sent from where it lies and then dropped there (libzmq has emptied it);
        // a part that cannot be sent stays, and comes back with the rest.
        while let Some(last) = self.frames.len().checked_sub(1) {
            let more = if last == 0 { 0 } else { zmq::SNDMORE };
            if let Err(e) = raw::send(socket, &mut self.frames[last].msg, flags | more) {
                return Err(SendError {
                    error: e.into(),
                    msg: self,
                });
            }
            // libzmq has emptied the part (see `Frame::send`): it goes without a close.
            if let Some(sent) = self.frames.pop() {
                std::mem::forget(sent);
            }
        }
        Ok(())
    }

    /// Sends the message out of a ROUTER socket that has `ROUTER_MANDATORY` set, without
    /// blocking: `Ok(None)` once sent, `Ok(Some(msg))` with the message handed back if its first
    /// frame names a peer that is not connected (`EHOSTUNREACH`) or cannot take it now
    /// (`EAGAIN`), so that a broker can try another worker or drop it knowingly; `Err` for
    /// anything else. (A plain ROUTER drops such messages silently.)
    ///
    /// ```
    /// use zmq_patterns::Msg;
    /// let ctx = zmq::Context::new();
    /// let router = ctx.socket(zmq::ROUTER).unwrap();
    /// router.set_router_mandatory(true).unwrap();
    /// let mut msg = Msg::from_iter(["job"]);
    /// msg.push_envelope("worker-that-left");
    /// let back = msg.route(&router).unwrap().expect("nobody to route to");
    /// assert_eq!(back.len(), 3);
    /// ```
    pub fn route(self, router: &zmq::Socket) -> Result<Option<Msg>> {
        match self.try_send(router) {
            Ok(()) => Ok(None),
            Err(SendError { error, msg }) => match error.zmq() {
                Some(zmq::Error::EHOSTUNREACH | zmq::Error::EAGAIN) => Ok(Some(msg)),
                _ => Err(error),
            },
        }
    }

    /// Number of frames.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::Msg::from_iter(["a", "b"]).len(), 2);
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True if the message has no frames.
    ///
    /// ```
    /// assert!(zmq_patterns::Msg::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Total size of all frames in bytes.
    ///
    /// ```
    /// assert_eq!(zmq_patterns::Msg::from_iter(["ab", "c"]).content_size(), 3);
    /// ```
    pub fn content_size(&self) -> usize {
        self.frames.iter().map(|f| f.len()).sum()
    }

    /// Puts a frame at the front.
    ///
    /// ```
    /// let mut m = zmq_patterns::Msg::from_iter(["b"]);
    /// m.push_front("a");
    /// assert!(m[0] == "a");
    /// ```
    #[doc(alias = "zmsg_push", alias = "zmsg_pushstr", alias = "zmsg_pushmem")]
    #[inline]
    pub fn push_front(&mut self, frame: impl Into<Frame>) {
        self.reserve_one();
        self.frames.push(frame.into());
    }

    /// Adds a frame at the back.
    ///
    /// ```
    /// let mut m = zmq_patterns::Msg::from_iter(["a"]);
    /// m.push_back("b");
    /// assert!(m[1] == "b");
    /// ```
    #[doc(
        alias = "zmsg_add",
        alias = "zmsg_append",
        alias = "zmsg_addstr",
        alias = "zmsg_addmem"
    )]
    pub fn push_back(&mut self, frame: impl Into<Frame>) {
        self.reserve_one();
        if self.frames.is_empty() {
            self.frames.push(frame.into()); // no move of the others to make room
        } else {
            self.frames.insert(0, frame.into());
        }
    }

    /// Takes a recycled buffer for a message built by hand.
    #[inline]
    fn reserve_one(&mut self) {
        if self.frames.capacity() == 0 {
            self.frames = pool::take();
        }
    }

    /// Takes the first frame.
    ///
    /// ```
    /// let mut m = zmq_patterns::Msg::from_iter(["a", "b"]);
    /// assert!(m.pop_front().unwrap() == "a");
    /// ```
    #[doc(alias = "zmsg_pop")]
    #[inline]
    pub fn pop_front(&mut self) -> Option<Frame> {
        self.frames.pop()
    }

    /// Takes the last frame.
    ///
    /// ```
    /// let mut m = zmq_patterns::Msg::from_iter(["a", "b"]);
    /// assert!(m.pop_back().unwrap() == "b");
    /// ```
    pub fn pop_back(&mut self) -> Option<Frame> {
        if self.frames.is_empty() {
            None
        } else {
            Some(self.frames.remove(0))
        }
    }

    /// Takes the first frame as text (invalid UTF-8 replaced, never a panic).
    ///
    /// ```
    /// let mut m = zmq_patterns::Msg::from_iter(["a"]);
    /// assert_eq!(m.pop_front_str().as_deref(), Some("a"));
    /// assert_eq!(m.pop_front_str(), None);
    /// ```
    #[doc(alias = "zmsg_popstr")]
    pub fn pop_front_str(&mut self) -> Option<String> {
        self.pop_front().map(|f| f.to_string_lossy())
    }

    /// The first frame.
    ///
    /// ```
    /// assert!(zmq_patterns::Msg::from_iter(["a", "b"]).front().unwrap() == "a");
    /// ```
    #[doc(alias = "zmsg_first")]
    #[inline]
    pub fn front(&self) -> Option<&Frame> {
        self.frames.last()
    }

    /// The last frame.
    ///
    /// ```
    /// assert!(zmq_patterns::Msg::from_iter(["a", "b"]).back().unwrap() == "b");
    /// ```
    #[doc(alias = "zmsg_last")]
    #[inline]
    pub fn back(&self) -> Option<&Frame> {
        self.frames.first()
    }

    /// The frame at `index`, if there is one.
    ///
    /// ```
    /// let m = zmq_patterns::Msg::from_iter(["a"]);
    /// assert!(m.get(0).is_some() && m.get(1).is_none());
    /// ```
    pub fn get(&self, index: usize) -> Option<&Frame> {
        let i = self.frames.len().checked_sub(index + 1)?;
        self.frames.get(i)
    }

    /// Iterates over the frames, front to back.
    ///
    /// ```
    /// let m = zmq_patterns::Msg::from_iter(["a", "bc"]);
    /// assert_eq!(m.iter().map(|f| f.len()).sum::<usize>(), 3);
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        self.frames.iter().rev()
    }

    /// Puts a ROUTER envelope on the message: an empty delimiter, then `address`, at the front.
    ///
    /// ```
    /// let mut m = zmq_patterns::Msg::from_iter(["body"]);
    /// m.push_envelope("client-1");
    /// assert_eq!(m.to_string(), "----------------------------------------\n[008] client-1\n[000] \n[004] body\n");
    /// ```
    #[doc(alias = "zmsg_wrap", alias = "wrap")]
    pub fn push_envelope(&mut self, address: impl Into<Frame>) {
        self.reserve_one();
        self.frames.push(Frame::empty());
        self.frames.push(address.into());
    }

    /// Takes the ROUTER envelope off: pops the address and, if the next frame is empty, the
    /// delimiter too. `None` if the message was empty.
    ///
    /// ```
    /// let mut m = zmq_patterns::Msg::from_iter(["A", "", "body"]);
    /// let address = m.pop_envelope().expect("an address");
    /// assert!(address == "A");
    /// assert_eq!(m.len(), 1);
    /// ```
    #[doc(alias = "zmsg_unwrap", alias = "unwrap")]
    pub fn pop_envelope(&mut self) -> Option<Frame> {
        let address = self.frames.pop()?;
        if self.frames.last().is_some_and(|f| f.is_empty()) {
            self.frames.pop();
        }
        Some(address)
    }
}

/// An iterator over the frames of a [`Msg`], front to back.
pub type Iter<'a> = std::iter::Rev<std::slice::Iter<'a, Frame>>;

/// Longest frame content a dump shows in full.
const DUMP_LIMIT: usize = 1024;

impl fmt::Display for Msg {
    /// The `s_dump` block: `----------------------------------------` and then `[NNN] data`
    /// per frame, each line ending in a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "----------------------------------------")?;
        for frame in self.iter() {
            writeln!(f, "{frame:.DUMP_LIMIT$}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl std::ops::Index<usize> for Msg {
    type Output = Frame;
    /// Panics if `index` is out of range, as slices do; use [`Msg::get`] on untrusted input.
    fn index(&self, index: usize) -> &Frame {
        match self.get(index) {
            Some(f) => f,
            None => panic!("frame {index} of a {}-frame message", self.len()),
        }
    }
}

impl<T: Into<Frame>> FromIterator<T> for Msg {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut frames: Vec<Frame> = iter.into_iter().map(Into::into).collect();
        frames.reverse();
        Msg { frames }
    }
}

impl<T: Into<Frame>> Extend<T> for Msg {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        let mut more: Vec<Frame> = iter.into_iter().map(Into::into).collect();
        more.reverse();
        self.frames.splice(0..0, more);
    }
}

impl From<Frame> for Msg {
    fn from(f: Frame) -> Self {
        let mut frames = pool::take();
        frames.push(f);
        Msg { frames }
    }
}

impl From<Vec<Frame>> for Msg {
    fn from(v: Vec<Frame>) -> Self {
        v.into_iter().collect()
    }
}

impl From<Msg> for Vec<Frame> {
    fn from(m: Msg) -> Self {
        m.into_iter().collect()
    }
}

impl IntoIterator for Msg {
    type Item = Frame;
    type IntoIter = std::iter::Rev<std::vec::IntoIter<Frame>>;
    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(&mut self.frames).into_iter().rev()
    }
}

impl<'a> IntoIterator for &'a Msg {
    type Item = &'a Frame;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recv_in_place_grows_and_shrinks_and_keeps_the_order() {
        let ctx = zmq::Context::new();
        let (a, b) = pair(&ctx, "msg-recv-in-place-order");
        for parts in [&["x"][..], &["a", "b", "c", "d"], &["e", "f"], &["g"]] {
            Msg::from_iter(parts.iter().copied()).send(&a).unwrap();
        }
        let mut msg = Msg::from_iter(["old"]);
        for parts in [&["x"][..], &["a", "b", "c", "d"], &["e", "f"], &["g"]] {
            msg.recv_in_place(&b, 0).unwrap();
            let got: Vec<String> = msg.iter().map(|f| f.to_string_lossy()).collect();
            assert_eq!(got, parts);
        }
    }

    #[test]
    fn a_thread_that_ends_with_a_spare_buffer_frees_it() {
        // Checked by `valgrind --leak-check=full` (see docs/benchmarks.md): nothing is lost
        std::thread::spawn(|| {
            drop(Msg::from_iter(["a", "b"]));
            drop(Msg::from_iter(["c"]));
            assert!(pool::spare_capacity() > 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_spare_buffer_is_used_only_once_the_stack_can_free_it() {
        // A fresh thread: nothing registered yet
        std::thread::spawn(|| {
            assert_eq!(pool::spare_capacity(), 0);
            drop(Msg::from_iter(["a", "b", "c"])); // registers the stack, lands there
            assert_eq!(pool::spare_capacity(), 0);
            drop(Msg::from_iter(["d"])); // the stack is alive: the spare slot takes it
            assert!(pool::spare_capacity() > 0);
            let cap = pool::spare_capacity();
            let mut m = Msg::new();
            m.push_back("x"); // takes the spare first
            assert_eq!(pool::spare_capacity(), 0);
            drop(m);
            assert_eq!(pool::spare_capacity(), cap);
            // Once the stack is gone (thread ending), buffers are freed, never parked
            pool::pretend_gone();
            assert_eq!(pool::spare_capacity(), 0);
            drop(Msg::from_iter(["e"]));
            assert_eq!(pool::spare_capacity(), 0);
        })
        .join()
        .unwrap();
    }

    fn pair(ctx: &zmq::Context, name: &str) -> (zmq::Socket, zmq::Socket) {
        let a = ctx.socket(zmq::PAIR).unwrap();
        let b = ctx.socket(zmq::PAIR).unwrap();
        a.bind(&format!("inproc://{name}")).unwrap();
        b.connect(&format!("inproc://{name}")).unwrap();
        (a, b)
    }

    #[test]
    fn push_pop_at_both_ends() {
        let mut m = Msg::new();
        m.push_back("b");
        m.push_front("a");
        m.push_back("c");
        m.push_front("0");
        assert_eq!(m.len(), 4);
        assert!(m.front().unwrap() == "0" && m.back().unwrap() == "c");
        assert!(m.pop_back().unwrap() == "c");
        assert_eq!(m.pop_front_str().as_deref(), Some("0"));
        assert_eq!(m.content_size(), 2);
        let v: Vec<Frame> = m.into();
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn order_holds_inline_and_spilled_through_every_operation() {
        for n in [0usize, 1, 3, 4, 5, 9] {
            let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
            let mut m: Msg = names.iter().map(String::as_str).collect();
            assert_eq!(m.len(), n);
            let seen: Vec<String> = m.iter().map(|f| f.to_string_lossy()).collect();
            assert_eq!(seen, names);
            for (i, name) in names.iter().enumerate() {
                assert!(m.get(i).unwrap() == name.as_str() && m[i] == name.as_str());
            }
            assert!(m.get(n).is_none());
            m.extend(["x", "y"]);
            m.push_front("front");
            assert!(m.front().unwrap() == "front" && m.back().unwrap() == "y");
            assert!(m.pop_back().unwrap() == "y");
            let v: Vec<Frame> = m.clone().into();
            assert_eq!(v.len(), n + 2);
            assert!(v[0] == "front" && v[n + 1] == "x");
            assert_eq!(Msg::from(v), m);
            let owned: Vec<String> = m.into_iter().map(|f| f.to_string_lossy()).collect();
            assert_eq!(owned.first().map(String::as_str), Some("front"));
        }
    }

    #[test]
    fn unwrap_without_delimiter_takes_only_the_address() {
        let mut m = Msg::from_iter(["A", "body"]);
        assert!(m.pop_envelope().unwrap() == "A");
        assert_eq!(m.len(), 1);
        assert!(Msg::new().pop_envelope().is_none());
    }

    #[test]
    fn wrap_unwrap_round_trip_across_router_and_req() {
        let ctx = zmq::Context::new();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        let req = ctx.socket(zmq::REQ).unwrap();
        router.bind("inproc://msg-router-req").unwrap();
        req.set_identity(b"CLIENT").unwrap();
        req.connect("inproc://msg-router-req").unwrap();
        Msg::from_iter(["Hello"]).send(&req).unwrap();

        let mut request = Msg::recv(&router).unwrap();
        assert_eq!(request.len(), 3, "identity, delimiter, body: {request:?}");
        let address = request.pop_envelope().unwrap();
        assert!(address == "CLIENT");
        assert!(request.pop_front().unwrap() == "Hello");

        let mut reply = Msg::from_iter(["World"]);
        reply.push_envelope(address);
        reply.send(&router).unwrap();
        let got = Msg::recv(&req).unwrap();
        assert_eq!(got.len(), 1);
        assert!(got[0] == "World");
    }

    #[test]
    fn failed_send_returns_the_whole_msg() {
        let ctx = zmq::Context::new();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        let msg = Msg::from_iter(["a", "", "c"]);
        let err = msg.try_send(&dealer).unwrap_err();
        assert_eq!(err.error.zmq(), Some(zmq::Error::EAGAIN));
        assert_eq!(err.msg, Msg::from_iter(["a", "", "c"]));

        // and it can be sent once a peer is there, without a copy
        let peer = ctx.socket(zmq::DEALER).unwrap();
        peer.bind("inproc://msg-retry").unwrap();
        dealer.connect("inproc://msg-retry").unwrap();
        err.msg.send(&dealer).unwrap();
        assert_eq!(Msg::recv(&peer).unwrap().len(), 3);
    }

    #[test]
    fn router_mandatory_unroutable_returns_the_msg() {
        let ctx = zmq::Context::new();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        router.set_router_mandatory(true).unwrap();
        let mut m = Msg::from_iter(["body"]);
        m.push_envelope("nobody");
        let err = m.send(&router).unwrap_err();
        assert_eq!(err.error.zmq(), Some(zmq::Error::EHOSTUNREACH));
        assert_eq!(err.msg.len(), 3);
    }

    #[test]
    fn try_recv_and_empty_frames() {
        let ctx = zmq::Context::new();
        let (a, b) = pair(&ctx, "msg-empty");
        assert!(Msg::try_recv(&b).unwrap().is_none());
        Msg::from_iter(["", "", ""]).send(&a).unwrap();
        let m = Msg::recv(&b).unwrap();
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|f| f.is_empty()));
        // an empty Msg sends nothing
        Msg::new().send(&a).unwrap();
        assert!(Msg::try_recv(&b).unwrap().is_none());
    }

    #[test]
    fn dump_matches_s_dump() {
        let mut m = Msg::from_iter(["ROUTER uses a generated 5 byte identity"]);
        m.push_front(Frame::empty());
        m.push_front(Frame::new([0u8, 0x80, 0, 0x41, 0xa7]));
        assert_eq!(
            m.to_string(),
            "----------------------------------------\n\
             [005] 00800041A7\n\
             [000] \n\
             [039] ROUTER uses a generated 5 byte identity\n"
        );
        let big = Msg::from_iter([vec![b'x'; 5000]]);
        assert!(big.to_string().ends_with("...\n"));
        assert!(big.to_string().len() < 1100);
    }
}
