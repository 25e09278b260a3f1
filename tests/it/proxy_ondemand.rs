//! Issue 11, start on demand and stop when idle: a real hub in front of
//! real modules (`tests/modules/proxied/server.py`) on the harness's
//! `systemd --user`, installed stopped; requests start them, the hub
//! stops them when idle, and `parachute status` says so.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::proxy::{get, hub, install, local};
use crate::support::cli::Parachute;
use crate::support::http;
use crate::support::hub::{stderr, stdout, wait_for};
use crate::support::systemd::{self, SystemdEnv};

fn is_active(mgr: &SystemdEnv, short: &str) -> String {
    let o = mgr.systemctl(["is-active", &format!("parachute-{short}.service")]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `parachute status --json`'s entry for `short`.
fn status_of(p: &Parachute, short: &str) -> Value {
    let o = p.run(&["status", "--json"]);
    let doc: Value =
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    doc["services"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find(|s| s["name"] == format!("parachute-{short}"))
                .cloned()
        })
        .unwrap_or_else(|| panic!("{short} not in {doc}"))
}

/// Discovery's `state` for `short`.
fn discovered(addr: SocketAddr, short: &str) -> Value {
    let d = get(addr, "/.well-known/parachute.json", "").json();
    d["services"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find(|s| s["name"] == format!("parachute-{short}"))
                .cloned()
        })
        .map_or_else(|| panic!("{short} not in {d}"), |s| s["state"].clone())
}

/// Hold a WebSocket to the module open through the hub.
fn open_websocket(addr: SocketAddr, path: &str) -> TcpStream {
    let (ws, head) = http::websocket(addr, path, "");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    ws
}

#[test]
fn a_stopped_module_starts_for_requests_once_and_stops_when_idle() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("pxod");
    install(
        &p,
        tmp.path(),
        "pxod",
        &["/pxod"],
        &json!({"idleStopAfter": "5s", "websocket": true}),
        false,
    );
    let hub = hub(&p, false);
    let addr = local(&hub);
    assert_eq!(is_active(mgr, "pxod"), "inactive");

    // Concurrent API requests (a POST too: nothing was sent before the
    // start, so any method is safe) all wait for the one start.
    let workers: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                if i == 0 {
                    super::proxy::send(
                        addr,
                        &format!(
                            "POST /pxod/echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0",
                            addr.port()
                        ),
                    )
                } else {
                    get(
                        addr,
                        &format!("/pxod/echo?n={i}"),
                        "Accept: application/json",
                    )
                }
            })
        })
        .collect();
    for w in workers {
        let r = w.join().expect("worker");
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json()["module"], "pxod", "{r:?}");
    }
    assert_eq!(is_active(mgr, "pxod"), "active");
    let starts = hub
        .drain_log()
        .iter()
        .filter(|l| l.contains("starting on demand"))
        .count();
    assert_eq!(starts, 1, "one start for six requests");
    assert_eq!(discovered(addr, "pxod"), "running");

    // An open WebSocket is activity: it stays up past idleStopAfter.
    let mut ws = open_websocket(addr, "/pxod/ws");
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(is_active(mgr, "pxod"), "active", "a WebSocket was open");
    ws.write_all(&[0x88, 0x80, 0, 0, 0, 0])
        .expect("close frame");
    drop(ws);

    // Then idle: the hub stops it, and status and discovery say why.
    let closed = Instant::now();
    wait_for(Duration::from_secs(20), "the idle stop", || {
        is_active(mgr, "pxod") == "inactive"
    });
    assert!(
        closed.elapsed() >= Duration::from_secs(4),
        "not before idleStopAfter"
    );
    let s = status_of(&p, "pxod");
    assert_eq!(s["state"], "idle-stopped", "{s}");
    wait_for(Duration::from_secs(5), "discovery to follow", || {
        discovered(addr, "pxod") == "idle-stopped"
    });

    // The next request starts it again.
    let r = get(addr, "/pxod/echo", "");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(is_active(mgr, "pxod"), "active");
    assert_eq!(status_of(&p, "pxod")["state"], "active");
}

#[test]
fn a_browser_gets_a_starting_page_while_an_api_client_waits() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("pxslow");
    install(
        &p,
        tmp.path(),
        "pxslow",
        &["/pxslow"],
        &json!({"startCmd": ["/bin/sh", "-c", "sleep 3; exec /usr/bin/python3 server.py pxslow"]}),
        false,
    );
    let hub = hub(&p, false);
    let addr = local(&hub);
    let r = get(addr, "/pxslow/", "Accept: text/html,application/xhtml+xml");
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.body.contains("starting pxslow…"), "{}", r.body);
    assert!(
        r.body
            .contains("<meta http-equiv=\"refresh\" content=\"1\">"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<script"), "{}", r.body);
    // An API client joins the same start and gets the module's answer.
    let started = Instant::now();
    let r = get(addr, "/pxslow/echo", "Accept: application/json");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["module"], "pxslow");
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "it waited for the start"
    );
    // The reloaded page is the module's now.
    let r = get(addr, "/pxslow/echo", "Accept: text/html");
    assert_eq!(r.status, 200, "{r:?}");
    let starts = hub
        .drain_log()
        .iter()
        .filter(|l| l.contains("starting on demand"))
        .count();
    assert_eq!(starts, 1);
}

#[test]
fn a_module_that_fails_to_start_or_is_disabled_says_so_and_how_to_fix_it() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("pxfail");
    let _b = p.uninstall_on_drop("pxoff");
    install(
        &p,
        tmp.path(),
        "pxfail",
        &["/pxfail"],
        &json!({"startCmd": ["/usr/bin/python3", "-c", "import sys; print('pxfail: cannot open its database', flush=True); sys.exit(3)"]}),
        false,
    );
    install(&p, tmp.path(), "pxoff", &["/pxoff"], &json!({}), false);
    let o = p.run(&["disable", "pxoff"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let hub = hub(&p, false);
    let addr = local(&hub);

    let r = get(addr, "/pxfail/x", "Accept: application/json");
    assert_eq!(r.status, 502, "{r:?}");
    assert!(
        r.header("retry-after").is_some(),
        "a retry starts it again: {r:?}"
    );
    let j = r.json();
    let error = j["error"].as_str().unwrap_or_default();
    assert!(error.contains("`parachute-pxfail` failed to start"), "{j}");
    assert!(error.contains("exit-code (status 3)"), "{j}");
    assert_eq!(j["service"], "parachute-pxfail");
    assert_eq!(j["unit"]["result"], "exit-code", "{j}");
    assert!(j["unit"]["activeState"].is_string(), "{j}");
    assert!(
        j["log"].as_array().is_some_and(|l| l.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.contains("cannot open its database")))),
        "{j}"
    );
    assert_eq!(
        j["fix"],
        json!(["parachute start pxfail", "parachute logs pxfail"])
    );
    let r = get(addr, "/pxfail/", "Accept: text/html");
    assert_eq!(r.status, 502, "{r:?}");
    assert!(
        r.body.contains("<code>parachute start pxfail</code>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<code>parachute logs pxfail</code>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("cannot open its database"), "{}", r.body);
    assert!(r.body.contains("result exit-code"), "{}", r.body);
    assert_ne!(is_active(mgr, "pxfail"), "active");

    let r = get(addr, "/pxoff/x", "Accept: application/json");
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(
        r.header("retry-after"),
        None,
        "only the operator can fix it"
    );
    let j = r.json();
    assert!(
        j["error"]
            .as_str()
            .is_some_and(|e| e.contains("`parachute-pxoff` is disabled")),
        "{j}"
    );
    assert_eq!(
        j["fix"],
        json!([
            "parachute enable pxoff",
            "parachute start pxoff",
            "parachute logs pxoff"
        ])
    );
    assert_eq!(is_active(mgr, "pxoff"), "inactive", "not started");
    assert_eq!(discovered(addr, "pxoff"), "disabled");
}

/// The hub's socket unit runs it with `--idle-exit`: a hub that idled out
/// first would leave a module with `idleStopAfter` running for good. It
/// stays until it has stopped the module, then exits.
#[test]
fn a_hub_that_exits_when_idle_first_stops_its_idle_modules() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let Some(tool) = [
        "/usr/bin/systemd-socket-activate",
        "/bin/systemd-socket-activate",
    ]
    .into_iter()
    .map(std::path::Path::new)
    .find(|p| p.is_file()) else {
        let _ = writeln!(std::io::stderr(), "SKIP: no systemd-socket-activate");
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("pxidle");
    install(
        &p,
        tmp.path(),
        "pxidle",
        &["/pxidle"],
        &json!({"idleStopAfter": "5s"}),
        false,
    );
    let addr: SocketAddr = ([127, 0, 0, 1], crate::support::hub::free_port()).into();
    let exe = env!("CARGO_BIN_EXE_parachute");
    let listen = addr.to_string();
    // systemd-socket-activate hands the hub only the variables named with `-E`.
    let mut args = vec!["-l".to_string(), listen];
    for (k, v) in p.cmd(&[]).get_envs() {
        if let (Some(k), Some(v)) = (k.to_str(), v.and_then(|v| v.to_str())) {
            args.push(format!("-E{k}={v}"));
        }
    }
    args.extend([exe, "serve", "--idle-exit", "1"].map(str::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cmd = p.cmd_as(tool, &args);
    // The first connection starts the hub, as a socket unit's does.
    let first = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "nothing listens on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        get(addr, "/pxidle/echo", "Accept: application/json")
    });
    let mut hub = crate::support::hub::Hub::spawn(cmd);
    let r = first.join().expect("first request");
    assert_eq!(r.status, 200, "started on demand: {r:?}");
    assert_eq!(is_active(mgr, "pxidle"), "active");
    let served = Instant::now();
    let exited = loop {
        if let Some(s) = hub.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            served.elapsed() < Duration::from_secs(30),
            "the hub never idled out"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exited.code(), Some(0));
    assert!(
        served.elapsed() >= Duration::from_secs(4),
        "the hub left after {:?}, before the module's idleStopAfter",
        served.elapsed()
    );
    assert_eq!(
        is_active(mgr, "pxidle"),
        "inactive",
        "stopped before the hub left"
    );
    assert_eq!(status_of(&p, "pxidle")["state"], "idle-stopped");
}
