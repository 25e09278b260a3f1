//! The hub's connection bounds (issue 8, "No timeouts"): a peer that sends
//! half a request line or nothing at all is dropped after the 10 s header
//! timeout, and `/health` keeps answering while 1,100 idle and half-open
//! connections are held by a process that has the default 1024
//! descriptors a user manager gives.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::hub::{Home, Hub, http};

/// The hub's header read timeout.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Block until the hub closes `s`; how long that took (`None`: not within
/// `limit`).
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            // EOF, or a reset: the hub let go.
            Ok(0) => return Some(start.elapsed()),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Some(start.elapsed()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None;
            }
            Err(e) => panic!("read: {e}"),
            // A 408 or similar before the close is fine.
            Ok(_) => {}
        }
    }
}

#[test]
fn half_a_request_line_and_silence_are_dropped_after_the_header_timeout() {
    let h = Home::with_owner();
    let hub = Hub::start(&h);
    let mut half = TcpStream::connect(hub.addr).expect("connect");
    half.write_all(b"GET /hea").expect("half a line");
    let mut silent = TcpStream::connect(hub.addr).expect("connect");
    // A keep-alive connection that served one request and then says nothing.
    let mut kept = TcpStream::connect(hub.addr).expect("connect");
    kept.write_all(format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", hub.addr).as_bytes())
        .expect("request");

    let limit = HEADER_TIMEOUT + Duration::from_secs(5);
    let took = closed_within(&mut half, limit).expect("half-open connection closed");
    assert!(took >= Duration::from_secs(9), "closed too early: {took:?}");
    assert!(
        closed_within(&mut silent, Duration::from_secs(3)).is_some(),
        "a silent connection is closed by the same clock"
    );
    assert!(
        closed_within(&mut kept, Duration::from_secs(3)).is_some(),
        "an idle keep-alive connection is closed by the same clock"
    );
    assert_eq!(hub.get("/health", None).status, 200);
}

/// `/health` on a fresh connection, with its time.
fn timed_health(addr: SocketAddr) -> (u16, Duration) {
    let start = Instant::now();
    let r = http(addr, "GET", "/health", None, None);
    (r.status, start.elapsed())
}

#[test]
fn health_answers_while_1100_idle_and_half_open_connections_are_held() {
    const HELD: usize = 1100;
    // This test process holds the client ends: it needs the descriptors too.
    let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let hard = lim.maximum.unwrap_or(1 << 20);
    if hard < 4096 {
        eprintln!("SKIP: the hard descriptor limit ({hard}) is below 4096");
        return;
    }
    rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: Some(hard.min(8192)),
            maximum: lim.maximum,
        },
    )
    .expect("raise this process's descriptor limit");

    let h = Home::with_owner();
    // The hub starts with the 1024 soft descriptors a user manager gives by
    // default (and the hard limit this machine allows).
    let mut cmd = h.wrap(
        Path::new("prlimit"),
        &[
            &format!("--nofile=1024:{hard}"),
            "--",
            env!("CARGO_BIN_EXE_parachute"),
            "serve",
        ],
    );
    cmd.env("PORT", "0");
    let hub = Hub::spawn(cmd);

    let mut held = Vec::with_capacity(HELD);
    for i in 0..HELD {
        let mut s = TcpStream::connect_timeout(&hub.addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        if i % 2 == 1 {
            s.write_all(b"GET /health HT").expect("half a line");
        }
        held.push(s);
    }
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    // Through several seconds of holding them (well inside the 10 s
    // header timeout, so none of them has been dropped yet).
    while started.elapsed() < Duration::from_secs(4) {
        let (status, took) = timed_health(hub.addr);
        assert_eq!(status, 200, "/health with {HELD} connections held");
        worst = worst.max(took);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        worst < Duration::from_secs(2),
        "/health took {worst:?} with {HELD} connections held"
    );
    drop(held);
}
