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
    if rc == -1 {
        Err(last_error())
    } else {
        Ok(())
    }
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
