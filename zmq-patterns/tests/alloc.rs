//! "No per-message allocation beyond the frames themselves": counts the Rust heap allocations
//! made by receiving, moving and sending messages, and by a Majordomo broker's whole
//! request-reply path, in the steady state. (libzmq's own frame buffers are allocated in C and
//! are not counted: they are the frames themselves.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use zmq_patterns::mdp::{self, FromWorker, ToWorker};
use zmq_patterns::{Frame, Msg};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every allocation is System's, unchanged; the counting touches only thread-locals
// that do not allocate (const-initialised Cells, try_with so that a thread's teardown is fine).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                let _ = COUNT.try_with(|n| n.set(n.get() + 1));
            }
        });
        // SAFETY: our caller upholds GlobalAlloc::alloc's contract, which is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, that is from System, with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(|n| n.get())
}

fn pair(ctx: &zmq::Context, name: &str) -> (zmq::Socket, zmq::Socket) {
    let a = ctx.socket(zmq::PAIR).unwrap();
    let b = ctx.socket(zmq::PAIR).unwrap();
    a.bind(&format!("inproc://{name}")).unwrap();
    b.connect(&format!("inproc://{name}")).unwrap();
    (a, b)
}

#[test]
fn receiving_and_sending_messages_allocates_nothing() {
    let ctx = zmq::Context::new();
    let (a, b) = pair(&ctx, "alloc-msg");
    let round = |n: usize| {
        for i in 0..n {
            let mut m = Msg::new();
            for _ in 0..5 {
                m.push_back(Frame::empty());
            }
            m.push_front("address");
            m.send(&a).unwrap();
            let mut got = Msg::recv(&b).unwrap();
            let address = got.pop_envelope().unwrap();
            got.push_envelope(address);
            assert_eq!(got.len(), 6, "round {i}");
        }
    };
    round(100); // warm up the per-thread buffer pool
    let n = allocations(|| round(1000));
    assert_eq!(n, 0, "{n} allocations for 1000 messages");
}

#[test]
fn a_majordomo_round_trip_allocates_nothing_in_the_steady_state() {
    let ctx = zmq::Context::new();
    let mut broker = mdp::Broker::new(&ctx, Default::default()).unwrap();
    broker.socket().bind("inproc://alloc-mdp").unwrap();
    let peer = |id: &str| {
        let s = ctx.socket(zmq::DEALER).unwrap();
        s.set_identity(id.as_bytes()).unwrap();
        s.connect("inproc://alloc-mdp").unwrap();
        s
    };
    let worker = peer("worker");
    let client = peer("client");
    let pump = |broker: &mut mdp::Broker| {
        let m = Msg::recv(broker.socket()).unwrap();
        broker.handle(m).unwrap();
    };
    FromWorker::Ready {
        service: "echo".into(),
    }
    .into_msg()
    .send(&worker)
    .unwrap();
    pump(&mut broker);
    let mut round = |n: usize| {
        for _ in 0..n {
            let mut request = mdp::client_request("echo", Msg::from(Frame::from("Hello world")));
            request.push_front(Frame::empty());
            request.send(&client).unwrap();
            pump(&mut broker);
            let ToWorker::Request { client: to, body } =
                ToWorker::parse(Msg::recv(&worker).unwrap()).unwrap()
            else {
                panic!("not a request")
            };
            FromWorker::Reply { client: to, body }
                .into_msg()
                .send(&worker)
                .unwrap();
            pump(&mut broker);
            let (_service, body) = mdp::parse_client_reply(Msg::recv(&client).unwrap()).unwrap();
            assert!(body[0] == "Hello world");
        }
    };
    round(2000); // warm up: pools, and the broker's queues reach their size
    let n = allocations(|| round(1000));
    // The broker's queues may still grow now and then (amortised O(1)); nothing per message.
    assert!(n <= 10, "{n} allocations for 1000 round trips");
}
