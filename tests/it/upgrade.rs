//! Issue 15, "Upgrades behind the held socket": on a real `systemd --user`,
//! a client keeps asking the hub while `parachute upgrade` from another
//! binary (a copy at another path, as after `cargo install` or a package
//! that moved it) moves the hub onto it. No request is refused or fails:
//! systemd holds the socket, the old hub drains, the new one accepts.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::init::Installed;
use crate::support::hub::{stderr, stdout, try_http};
use crate::support::systemd;

const SERVICE: &str = "parachute-hub.service";
/// The client asks at least this long in all (the bound).
const LOOP_AT_LEAST: Duration = Duration::from_secs(5);
/// … and keeps asking this long after the upgrade returned.
const AFTER_UPGRADE: Duration = Duration::from_millis(1500);
/// A hard stop, should the upgrade hang.
const LOOP_AT_MOST: Duration = Duration::from_secs(60);

/// What the client loop saw.
struct Loop {
    ok: usize,
    failures: Vec<String>,
    longest: Duration,
}

/// GET /health on fresh connections until `stop`, bounded.
fn client_loop(addr: SocketAddr, stop: &AtomicBool) -> Loop {
    let started = Instant::now();
    let mut seen = Loop {
        ok: 0,
        failures: Vec::new(),
        longest: Duration::ZERO,
    };
    while started.elapsed() < LOOP_AT_MOST
        && (started.elapsed() < LOOP_AT_LEAST || !stop.load(Ordering::Relaxed))
    {
        let t = Instant::now();
        match try_http(addr, "GET", "/health", None, None) {
            Ok(r) if r.status == 200 => seen.ok += 1,
            Ok(r) => seen.failures.push(format!("HTTP {}: {}", r.status, r.body)),
            Err(e) => seen.failures.push(e.to_string()),
        }
        seen.longest = seen.longest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
    seen
}

/// A request the old hub has accepted and is still reading when the
/// upgrade stops it: the body trickles in over `over`. Returns what came
/// back, which must be a whole answer (the hub drained it), not a reset.
fn slow_request(addr: SocketAddr, over: Duration) -> std::io::Result<String> {
    let body = "grant_type=password&client_id=nobody&pad=".to_string() + &"x".repeat(40);
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "POST /oauth/token HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    let pause = over / u32::try_from(body.len()).expect("short body");
    for b in body.as_bytes() {
        s.write_all(std::slice::from_ref(b))?;
        std::thread::sleep(pause);
    }
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    Ok(answer)
}

fn copy_of_parachute(dir: &Path) -> PathBuf {
    let copy = dir.join("parachute");
    std::fs::copy(env!("CARGO_BIN_EXE_parachute"), &copy).expect("copy the binary");
    copy
}

fn main_pid(i: &Installed<'_>) -> u32 {
    i.show(SERVICE, "MainPID").parse().expect("MainPID")
}

/// What happened while `parachute upgrade` ran under load.
struct UnderLoad {
    upgrade: Output,
    took: Duration,
    seen: Loop,
    /// The slow request's answer (or why it was cut off).
    in_flight: std::io::Result<String>,
}

/// Run `upgrade` while the client loop asks and one slow request is in
/// flight on the old hub.
fn upgrade_under_load(addr: SocketAddr, upgrade: impl FnOnce() -> Output) -> UnderLoad {
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || client_loop(addr, &stop))
    };
    std::thread::sleep(Duration::from_secs(1));
    let in_flight = std::thread::spawn(move || slow_request(addr, Duration::from_secs(3)));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let out = upgrade();
    let took = started.elapsed();
    std::thread::sleep(AFTER_UPGRADE);
    stop.store(true, Ordering::Relaxed);
    UnderLoad {
        upgrade: out,
        took,
        seen: client.join().expect("client loop"),
        in_flight: in_flight.join().expect("slow request"),
    }
}

/// The first command from another binary notices, once.
fn assert_noticed_once(run: &dyn Fn(&[&str]) -> Output) {
    let notice = "⚠ the hub's unit runs `";
    let first = stderr(&run(&["status"]));
    assert_eq!(first.matches(notice).count(), 1, "{first}");
    assert!(first.contains("parachute upgrade"), "{first}");
    let again = stderr(&run(&["status"]));
    assert!(!again.contains(notice), "said twice: {again}");
}

#[test]
fn upgrade_moves_the_hub_to_the_new_binary_without_a_failed_request() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    // Declared before the hub so it outlives it: the new hub runs from here.
    let bin = tempfile::Builder::new()
        .prefix("parachute-upgrade-bin-")
        .tempdir()
        .expect("tmp");
    let i = Installed::full(mgr);
    let old_pid = main_pid(&i);
    assert_ne!(old_pid, 0, "init left the hub running");
    let new = copy_of_parachute(bin.path());
    let run_new = |args: &[&str]| {
        let mut cmd = i.p.cmd_as(&new, args);
        cmd.env_remove("PARACHUTE_BIND_HOST")
            .env_remove("PARACHUTE_HUB_ORIGIN");
        cmd.output().expect("run the new parachute")
    };
    assert_noticed_once(&run_new);

    let r = upgrade_under_load(i.addr(), || run_new(&["upgrade"]));
    let err = stderr(&r.upgrade);
    eprintln!("parachute upgrade ({:?}) said:\n{err}", r.took);
    eprintln!(
        "client loop: {} ok, {} failed, longest wait {:?}",
        r.seen.ok,
        r.seen.failures.len(),
        r.seen.longest
    );
    assert!(r.upgrade.status.success(), "upgrade failed:\n{err}");
    assert!(
        r.seen.failures.is_empty(),
        "requests failed across the upgrade: {:?}\n{err}",
        r.seen.failures
    );
    assert!(
        r.seen.ok >= 50,
        "the client barely ran: {} requests",
        r.seen.ok
    );
    // The old hub finished the request it had accepted before it exited.
    let answer = r
        .in_flight
        .unwrap_or_else(|e| panic!("in-flight request cut off: {e}\n{err}"));
    assert!(
        answer.starts_with("HTTP/1.1 4") && answer.contains("\"error\""),
        "not a whole OAuth answer: {answer}"
    );
    assert!(
        r.took >= Duration::from_secs(2),
        "the restart did not wait for the in-flight request ({:?})",
        r.took
    );

    // Only the hub's service was rewritten (`init` and `upgrade` render the
    // same socket) and restarted; the units and the hub run the new binary.
    let wrote = format!("✓ wrote {}", mgr.unit_dir().join(SERVICE).display());
    assert!(
        err.contains(&wrote) && err.matches("✓ wrote").count() == 1,
        "{err}"
    );
    assert!(err.contains("✓ parachute-hub.service restarted"), "{err}");
    assert!(!err.contains("parachute-hub.socket changed"), "{err}");
    let unit = std::fs::read_to_string(mgr.unit_dir().join(SERVICE)).expect("unit");
    assert!(
        unit.contains(&format!("ExecStart={} serve", new.display())),
        "{unit}"
    );
    let pid = main_pid(&i);
    assert_ne!(pid, old_pid, "the hub was not restarted");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/exe")).expect("hub exe"),
        new,
        "the hub does not run the new binary"
    );
    assert_eq!(i.active("parachute-hub.socket"), "active");
    let version = stdout(&run_new(&["--version"]));
    let health = try_http(i.addr(), "GET", "/health", None, None).expect("health");
    let reported = health.json()["version"].as_str().unwrap_or("?").to_string();
    assert_eq!(
        format!("parachute {reported}"),
        version.trim(),
        "{}",
        health.body
    );

    // Nothing left to notice, nothing left to rewrite.
    let after = run_new(&["status"]);
    assert!(!stderr(&after).contains("⚠ the hub"), "{}", stderr(&after));
    let twice = run_new(&["upgrade"]);
    assert!(twice.status.success(), "{}", stderr(&twice));
    assert!(
        stderr(&twice).contains("nothing rewritten"),
        "{}",
        stderr(&twice)
    );
}
