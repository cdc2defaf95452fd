//! The two places where this crate reaches below `zmq` 0.10's safe API, kept in one file.
//!
//! `zmq` 0.10 consumes a `Message` on send and drops it when the send fails, and it does not
//! expose the raw socket or message pointers through `&Socket` / `&mut Message`. To hand a
//! message back after a failed send (and to copy a message by reference count for a proxy's
//! capture socket), we call `zmq_sys` directly on the very same libzmq objects.

use std::os::raw::c_void;

// `zmq::Message` is `struct Message { msg: zmq_sys::zmq_msg_t }` (one field, see zmq 0.10
// src/message.rs). A struct with one field and the same size as that field has it at offset 0,
// so a pointer to the `Message` is a pointer to its `zmq_msg_t`. These assertions fail the
// build if that ever stops being true.
const _: () = assert!(
    std::mem::size_of::<zmq::Message>() == std::mem::size_of::<zmq_sys::zmq_msg_t>()
        && std::mem::align_of::<zmq::Message>() == std::mem::align_of::<zmq_sys::zmq_msg_t>()
);

/// The `zmq_msg_t` inside a `zmq::Message`.
#[inline]
pub(crate) fn msg_ptr(msg: &mut zmq::Message) -> *mut zmq_sys::zmq_msg_t {
    (msg as *mut zmq::Message).cast()
}

// `zmq::PollItem` is `#[repr(C)]` and is passed to `zmq_poll` as an array of
// `zmq_pollitem_t`, whose first field is the socket pointer: the same size and alignment, and
// the socket at offset 0. These assertions fail the build if that ever stops being true.
const _: () = assert!(
    std::mem::size_of::<zmq::PollItem>() == std::mem::size_of::<zmq_sys::zmq_pollitem_t>()
        && std::mem::align_of::<zmq::PollItem>() == std::mem::align_of::<zmq_sys::zmq_pollitem_t>()
        && std::mem::offset_of!(zmq_sys::zmq_pollitem_t, socket) == 0
);

/// The libzmq socket behind a `zmq::Socket`. `zmq::PollItem` is `#[repr(C)]` with the socket
/// pointer as its first field (it is passed to `zmq_poll` as a `zmq_pollitem_t`).
#[inline]
pub(crate) fn socket_ptr(socket: &zmq::Socket) -> *mut c_void {
    let item = socket.as_poll_item(zmq::PollEvents::empty());
    // SAFETY: PollItem is repr(C) and starts with `socket: *mut c_void`.
    unsafe { *(&item as *const zmq::PollItem as *const *mut c_void) }
}

/// The `zmq_msg_t` inside a `zmq::Message`, for libzmq calls that only read it.
#[inline]
pub(crate) fn msg_cptr(msg: &zmq::Message) -> *const zmq_sys::zmq_msg_t {
    (msg as *const zmq::Message).cast()
}

/// Receives one part into `msg` (its old content released by libzmq) and returns its size, as
/// `zmq_msg_recv` does: one call, where `Socket::recv` then `Message::len` make three.
#[inline]
pub(crate) fn recv(
    socket: &zmq::Socket,
    msg: &mut zmq::Message,
    flags: i32,
) -> Result<usize, zmq::Error> {
    // SAFETY: both pointers are live libzmq objects for the duration of the call.
    let rc = unsafe { zmq_sys::zmq_msg_recv(msg_ptr(msg), socket_ptr(socket), flags) };
    if rc == -1 {
        Err(last_error())
    } else {
        Ok(rc as usize)
    }
}

/// True if more parts follow `msg` (`zmq_msg_more`).
#[inline]
pub(crate) fn more(msg: &zmq::Message) -> bool {
    // SAFETY: `msg` is a live, initialised message; zmq_msg_more only reads it.
    unsafe { zmq_sys::zmq_msg_more(msg_cptr(msg)) != 0 }
}

/// The size of a message's content: one call into libzmq (`zmq_msg_size`).
#[inline]
pub(crate) fn len(msg: &zmq::Message) -> usize {
    // SAFETY: `msg` is a live, initialised message; zmq_msg_size only reads it.
    unsafe { zmq_sys::zmq_msg_size(msg_cptr(msg)) }
}

/// The content of a message, as `zmq::Message`'s `Deref` gives it, without the call into the
/// `zmq` crate (its `Deref` is not inlined across crates).
#[inline]
pub(crate) fn bytes(msg: &zmq::Message) -> &[u8] {
    let len = len(msg);
    if len == 0 {
        return &[];
    }
    // SAFETY: zmq_msg_data only reads the message (libzmq's `data()` takes no lock and changes
    // nothing; the `zmq` crate's `Deref` makes the same cast). The `len` bytes there are the
    // message's content, initialised (received, or written by the constructors of this crate
    // and of `zmq`), and live as long as the borrow of `msg`, which nothing can change meanwhile.
    unsafe {
        let data = zmq_sys::zmq_msg_data(msg_cptr(msg).cast_mut());
        std::slice::from_raw_parts(data as *const u8, len)
    }
}

/// An empty message (`zmq_msg_init`), made in place: `zmq::Message::new` is a call across
/// crates.
#[inline]
pub(crate) fn empty() -> zmq::Message {
    let mut msg = std::mem::MaybeUninit::<zmq::Message>::zeroed();
    // SAFETY: as in `copy_of`; zmq_msg_init cannot fail.
    unsafe {
        zmq_sys::zmq_msg_init(msg.as_mut_ptr().cast());
        msg.assume_init()
    }
}

/// A message holding a copy of `data`: `zmq_msg_init_size` then one copy, with no fill of the
/// buffer first (`zmq::Message::with_size` zero-fills) and no call through `Deref`.
#[inline]
pub(crate) fn copy_of(data: &[u8]) -> zmq::Message {
    // zeroed, as `zmq::Message` does: libzmq writes only the fields it uses, and a
    // `zmq_msg_t` is bytes, which Rust wants initialised
    let mut msg = std::mem::MaybeUninit::<zmq::Message>::zeroed();
    let p: *mut zmq_sys::zmq_msg_t = msg.as_mut_ptr().cast();
    // SAFETY: `zmq::Message` is its `zmq_msg_t` and nothing else (asserted above), and every
    // byte of it is initialised (zeroed); zmq_msg_init_size makes it a live message (rc 0) or
    // fails with ENOMEM, leaving nothing to release.
    unsafe {
        if zmq_sys::zmq_msg_init_size(p, data.len()) == -1 {
            // as `zmq::Message::from(&[u8])` does: out of memory is not an error to return
            panic!("zmq_msg_init_size: {}", last_error());
        }
        if !data.is_empty() {
            // zmq_msg_init_size gave `data.len()` writable bytes at zmq_msg_data, not
            // overlapping `data`.
            let dst = zmq_sys::zmq_msg_data(p) as *mut u8;
            std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
        }
        msg.assume_init()
    }
}

/// A message holding the bytes of `parts` one after the other, as [`copy_of`] does for one.
pub(crate) fn copy_of_slices(parts: &[&[u8]]) -> zmq::Message {
    // checked: the same slice many times over could add up past usize::MAX
    let total = parts
        .iter()
        .try_fold(0usize, |sum, p| sum.checked_add(p.len()))
        .expect("Frame::from_slices: total size overflows usize");
    // zeroed, as `zmq::Message` does: libzmq writes only the fields it uses, and a
    // `zmq_msg_t` is bytes, which Rust wants initialised
    let mut msg = std::mem::MaybeUninit::<zmq::Message>::zeroed();
    let p: *mut zmq_sys::zmq_msg_t = msg.as_mut_ptr().cast();
    // SAFETY: as in `copy_of`: the `Message` is its (zeroed) `zmq_msg_t`, made live in place by
    // zmq_msg_init_size, whose `total` bytes at zmq_msg_data are then written exactly once, part
    // after part (the parts add up to `total` and none overlaps the new buffer).
    unsafe {
        if zmq_sys::zmq_msg_init_size(p, total) == -1 {
            panic!("zmq_msg_init_size: {}", last_error());
        }
        if total > 0 {
            let mut dst = zmq_sys::zmq_msg_data(p) as *mut u8;
            for part in parts {
                std::ptr::copy_nonoverlapping(part.as_ptr(), dst, part.len());
                dst = dst.add(part.len());
            }
        }
        msg.assume_init()
    }
}

fn last_error() -> zmq::Error {
    // SAFETY: zmq_errno only reads the calling thread's errno.
    zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() })
}

/// Send `msg` on `socket`. On success libzmq leaves `msg` empty; on failure `msg` is untouched
/// and still owned by the caller.
#[inline]
pub(crate) fn send(
    socket: &zmq::Socket,
    msg: &mut zmq::Message,
    flags: i32,
) -> Result<(), zmq::Error> {
    // SAFETY: both pointers are live libzmq objects for the duration of the call.
    let rc = unsafe { zmq_sys::zmq_msg_send(msg_ptr(msg), socket_ptr(socket), flags) };
    if rc == -1 { Err(last_error()) } else { Ok(()) }
}

/// A copy of `msg` that shares its data (libzmq reference counting for large messages, a
/// byte copy for small ones): what a capture socket needs.
/// The size of a message's content: one call into libzmq, where `Message::len` (through
/// `Deref`) makes two (`zmq_msg_data` and `zmq_msg_size`).
#[inline]
pub(crate) fn size(msg: &mut zmq::Message) -> usize {
    // SAFETY: `msg` is a live, initialised message.
    unsafe { zmq_sys::zmq_msg_size(msg_ptr(msg)) }
}

pub(crate) fn copy(msg: &mut zmq::Message) -> zmq::Message {
    let mut out = zmq::Message::new();
    // SAFETY: both are initialised messages; zmq_msg_copy only fails on an invalid message.
    let rc = unsafe { zmq_sys::zmq_msg_copy(msg_ptr(&mut out), msg_ptr(msg)) };
    if rc == -1 {
        // Cannot happen with valid messages; fall back to a byte copy rather than panic.
        return zmq::Message::from(&msg[..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_send_keeps_the_message() {
        let ctx = zmq::Context::new();
        let s = ctx.socket(zmq::DEALER).unwrap();
        let mut m = zmq::Message::from("kept");
        assert_eq!(send(&s, &mut m, zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
        assert_eq!(&m[..], b"kept");
    }

    #[test]
    fn size_is_the_length() {
        for n in [0, 1, 33, 1000] {
            let mut m = zmq::Message::with_size(n);
            assert_eq!(size(&mut m), n);
        }
    }

    #[test]
    fn the_direct_calls_agree_with_the_zmq_crate() {
        for n in [0, 1, 33, 34, 1000] {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let m = copy_of(&data);
            assert_eq!(&m[..], &data[..]);
            assert_eq!(bytes(&m), &data[..]);
            assert_eq!(len(&m), n);
            assert!(!more(&m));
        }
        let ctx = zmq::Context::new();
        let a = ctx.socket(zmq::PAIR).unwrap();
        let b = ctx.socket(zmq::PAIR).unwrap();
        a.bind("inproc://raw-direct").unwrap();
        b.connect("inproc://raw-direct").unwrap();
        a.send("head", zmq::SNDMORE).unwrap();
        a.send("tail!", 0).unwrap();
        let mut m = zmq::Message::new();
        assert_eq!(recv(&b, &mut m, 0), Ok(4));
        assert!(more(&m) && bytes(&m) == b"head");
        assert_eq!(recv(&b, &mut m, 0), Ok(5));
        assert!(!more(&m) && bytes(&m) == b"tail!");
        assert_eq!(recv(&b, &mut m, zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
    }

    #[test]
    fn copy_shares_content() {
        let mut big = zmq::Message::from(vec![7u8; 1000]);
        let c = copy(&mut big);
        assert_eq!(&c[..], &big[..]);
    }

    #[test]
    fn send_and_receive_through_raw_pointers() {
        let ctx = zmq::Context::new();
        let a = ctx.socket(zmq::PAIR).unwrap();
        let b = ctx.socket(zmq::PAIR).unwrap();
        a.bind("inproc://raw-test").unwrap();
        b.connect("inproc://raw-test").unwrap();
        let mut m = zmq::Message::from("hi");
        send(&a, &mut m, 0).unwrap();
        assert_eq!(b.recv_bytes(0).unwrap(), b"hi");
    }
}
