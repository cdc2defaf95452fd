//! Chapter 1: hwserver/hwclient and version.

mod common;
use common::*;

#[test]
fn version_prints_the_libzmq_version() {
    let (status, lines) = run_to_end(bin!("version"), &[], WAIT);
    assert!(status.success());
    assert_eq!(lines, vec!["Current 0MQ version is 4.3.4".to_string()]);
}

#[test]
fn hwclient_gets_ten_worlds_from_hwserver_and_the_server_stops_on_sigint() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("hwserver"), &["--bind", &ep, "--work-ms", "10"]);
    let (status, lines) = run_to_end(bin!("hwclient"), &["--connect", &ep], WAIT);
    assert!(status.success(), "{lines:?}\n{}", server.context());
    assert_eq!(lines[0], "Connecting to hello world server...");
    for n in 0..10 {
        assert_eq!(lines[1 + 2 * n], format!("Sending Hello {n}..."));
        assert_eq!(lines[2 + 2 * n], format!("Received World {n}"));
    }
    assert_eq!(lines.len(), 21);
    for _ in 0..10 {
        server.expect("Received Hello", WAIT);
    }
    // blocked in recv now: SIGINT must wake it and end it with status 0
    server.stop_with(libc::SIGINT, WAIT);
}

#[test]
fn hwserver_exits_cleanly_on_sigterm_while_working() {
    let ep = tcp_ep();
    let mut server = Proc::start(bin!("hwserver"), &["--bind", &ep, "--work-ms", "60000"]);
    let mut client = Proc::start(bin!("hwclient"), &["--connect", &ep]);
    server.expect("Received Hello", WAIT);
    server.stop_with(libc::SIGTERM, WAIT);
    client.kill();
}
