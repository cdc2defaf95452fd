//! Ctrl-C handling with a real signal, in a process of its own (the flag is process-wide and
//! sticky, so everything runs in one test, in order).

use std::time::{Duration, Instant};

use zmq_patterns::auth::{Authenticator, Mechanism, ZAP_ENDPOINT, ZapReply, ZapRequest};
use zmq_patterns::{Msg, Poller, SocketExt, clock, interrupt};

#[test]
fn a_signal_wakes_receives_polls_and_sleeps_even_under_a_flood() {
    interrupt::install().unwrap();
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("inproc://flood").unwrap();

    // A flood of 3-part messages: the receiver never has to wait, so libzmq never blocks and
    // never sees EINTR; the signal lands anywhere, also between the parts of a message.
    let flood_ctx = ctx.clone();
    std::thread::spawn(move || {
        let push = flood_ctx.socket(zmq::PUSH).unwrap();
        push.connect("inproc://flood").unwrap();
        while push.send_multipart(["a", "b", "c"], 0).is_ok() {}
    });
    for _ in 0..1000 {
        Msg::recv(&pull).unwrap();
    }
    // A ZAP handler, which must answer until it is stopped, not until the signal
    let auth = Authenticator::new(&ctx).unwrap();
    let pid = std::process::id() as i32;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        unsafe { libc::kill(pid, libc::SIGINT) };
    });
    let start = Instant::now();
    let err = loop {
        match Msg::recv(&pull) {
            Ok(_) => assert!(start.elapsed() < Duration::from_secs(5), "Ctrl-C ignored"),
            Err(e) => break e,
        }
    };
    assert!(err.is_interrupted(), "{err}");
    assert!(interrupt::is_interrupted());

    // Once interrupted, blocking calls return at once instead of blocking for ever.
    let idle = ctx.socket(zmq::PULL).unwrap();
    let t = Instant::now();
    assert!(Msg::recv(&idle).unwrap_err().is_interrupted());
    assert!(idle.recv_text().unwrap_err().is_interrupted());
    let mut poller = Poller::new();
    poller.add(&idle);
    assert!(poller.poll(None).unwrap_err().is_interrupted());
    assert!(
        clock::sleep(Duration::from_millis(10_000))
            .unwrap_err()
            .is_interrupted()
    );
    assert!(t.elapsed() < Duration::from_secs(2));

    // Non-blocking calls still work: a program can drain and clean up. Every message comes
    // whole: the signal did not leave the tail of one to be read as the next.
    for _ in 0..100 {
        let msg = Msg::try_recv(&pull).unwrap().expect("the flood goes on");
        assert_eq!(msg.len(), 3, "a message split by the signal: {msg:?}");
        assert!(msg[0] == "a", "{msg:?}");
    }

    // The authenticator still answers, and stops at once when asked (it used to spin on the
    // readable interrupt pipe, answer nothing, and be left detached after its stop timeout).
    let zap = ctx.socket(zmq::REQ).unwrap();
    zap.connect(ZAP_ENDPOINT).unwrap();
    let request = ZapRequest {
        request_id: b"7".to_vec(),
        domain: "global".into(),
        address: "127.0.0.1".into(),
        identity: vec![],
        mechanism: Mechanism::Null,
    };
    request.to_msg().send(&zap).unwrap();
    let t = Instant::now();
    let reply = loop {
        if let Some(reply) = Msg::try_recv(&zap).unwrap() {
            break ZapReply::parse(&reply).unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "no ZAP reply after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(reply.request_id, b"7");
    let t = Instant::now();
    auth.stop().unwrap();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
}
