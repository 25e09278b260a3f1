//! System tests for issue #2: the lifecycle on a real `systemd --user` and
//! journald (booted by `tests/support/systemd-harness.sh`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::cli::Parachute;
use crate::support::systemd;

/// A module on disk: a Python HTTP server with a health path, or (with
/// `crash`) one that prints a line and exits at once.
pub(crate) fn write_module(dir: &Path, name: &str, port: u16, crash: bool) -> PathBuf {
    let root = dir.join(name);
    fs::create_dir_all(root.join(".parachute")).expect("mkdir");
    let manifest = serde_json::json!({
        "name": name,
        "manifestName": format!("parachute-{name}"),
        "version": "0.4.2",
        "port": port,
        "paths": [format!("/{name}")],
        "health": format!("/{name}/health"),
        "startCmd": ["/usr/bin/python3", "server.py"],
    });
    fs::write(root.join(".parachute/module.json"), manifest.to_string()).expect("write");
    let script = if crash {
        "import sys\nprint('about to fail: missing config', flush=True)\nsys.exit(3)\n".to_string()
    } else {
        format!(
            "import http.server, os\n\
             class H(http.server.BaseHTTPRequestHandler):\n\
             \x20   def do_GET(self):\n\
             \x20       self.send_response(200 if self.path == '/{name}/health' else 404)\n\
             \x20       self.end_headers()\n\
             \x20   def log_message(self, *a):\n\
             \x20       pass\n\
             port = int(os.environ['PORT'])\n\
             print(f'{name} listening on {{port}} home={{os.environ[\"PARACHUTE_HOME\"]}}', flush=True)\n\
             http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()\n"
        )
    };
    fs::write(root.join("server.py"), script).expect("write");
    root
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn status_of(p: &Parachute, name: &str) -> Value {
    let o = p.run(&["status", "--json"]);
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("status --json is JSON ({e}): {}", stdout(&o)));
    doc["services"]
        .as_array()
        .expect("services array")
        .iter()
        .find(|s| s["name"] == format!("parachute-{name}"))
        .cloned()
        .unwrap_or_else(|| panic!("{name} in status: {doc}"))
}

/// Poll until `pred` holds for the service's status, or panic after `limit`.
pub(crate) fn wait_status(
    p: &Parachute,
    name: &str,
    limit: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let s = status_of(p, name);
        if pred(&s) {
            return s;
        }
        assert!(
            start.elapsed() < limit,
            "timed out waiting; last status: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Poll `parachute logs` until `line` shows up (journald forwards asynchronously).
fn wait_for_log(p: &Parachute, name: &str, line: &str) {
    let start = Instant::now();
    loop {
        let logs = p.run(&["logs", name, "-n", "50"]);
        assert!(logs.status.success(), "{}", stderr(&logs));
        if stdout(&logs).contains(line) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no log line {line:?}: {}",
            stdout(&logs)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn install_runs_a_module_that_systemd_restarts_logs_and_stops() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "sysecho";
    let port = free_port();
    let dir = write_module(tmp.path(), name, port, false);
    let _cleanup = p.uninstall_on_drop(name);

    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "install failed: {}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("✓ parachute-{name} registered on port {port}")),
        "{}",
        stderr(&o)
    );

    // Active with a PID, healthy, and the row carries installDir.
    let s = wait_status(&p, name, Duration::from_secs(10), |s| {
        s["health"]["ok"] == true
    });
    assert_eq!(s["state"], "active", "{s:#}");
    let pid = s["pid"].as_u64().expect("a main PID");
    assert!(pid > 1);
    assert_eq!(s["port"], port);
    assert_eq!(s["version"], "0.4.2");
    let services: Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("home/services.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(
        services["services"][0]["installDir"],
        fs::canonicalize(&dir)
            .expect("canon")
            .to_string_lossy()
            .as_ref()
    );

    // The unit is what `parachute unit` prints, and systemd-analyze accepts it.
    let unit_file = mgr.unit_dir().join(format!("parachute-{name}.service"));
    let printed = p.run(&["unit", name]);
    assert_eq!(
        stdout(&printed),
        fs::read_to_string(&unit_file).expect("unit written")
    );
    let mut verify = std::process::Command::new("systemd-analyze");
    mgr.apply(&mut verify);
    let verify = verify
        .args(["--user", "verify"])
        .arg(&unit_file)
        .output()
        .expect("systemd-analyze");
    assert!(
        verify.status.success(),
        "systemd-analyze --user verify: {}{}",
        stdout(&verify),
        stderr(&verify)
    );

    // The journal has the line the module printed.
    wait_for_log(&p, name, &format!("{name} listening on {port}"));

    // kill -9 of the main process: systemd brings it back, NRestarts grows.
    let restarts = s["restarts"].as_u64().expect("restarts");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let s = wait_status(&p, name, Duration::from_secs(20), |s| {
        s["state"] == "active"
            && s["restarts"].as_u64() > Some(restarts)
            && s["pid"].as_u64() != Some(pid)
    });
    assert!(s["pid"].as_u64().is_some());

    // Stop → inactive, no PID, not probed.
    let o = p.run(&["stop", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("✓ {name} stopped.")),
        "{}",
        stderr(&o)
    );
    let s = status_of(&p, name);
    assert_eq!(s["state"], "inactive", "{s:#}");
    assert!(s["pid"].is_null() && s["health"].is_null(), "{s:#}");

    // Start again, then uninstall: unit and row gone.
    let o = p.run(&["start", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = p.run(&["uninstall", name, "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!unit_file.exists());
    let o = p.run(&["logs", name]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!("unknown service \"{name}\"")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_module_that_exits_at_once_fails_start_with_its_last_log_lines() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "syscrash";
    let dir = write_module(tmp.path(), name, free_port(), true);
    let _cleanup = p.uninstall_on_drop(name);

    let o = p.run(&["install", "--no-start", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = p.run(&["start", name]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("✗ {name} failed to start")), "{err}");
    assert!(err.contains("status 3"), "names the exit status: {err}");
    assert!(
        err.contains("about to fail: missing config"),
        "shows the log: {err}"
    );

    // status remembers why, and a later good start clears it.
    let s = status_of(&p, name);
    let notes = s["notes"].to_string();
    assert!(notes.contains("failed to start"), "{s:#}");
    fs::write(
        dir.join("server.py"),
        "import time\nprint('fixed', flush=True)\ntime.sleep(3600)\n",
    )
    .expect("write");
    let o = p.run(&["start", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = status_of(&p, name);
    assert!(!s["notes"].to_string().contains("failed to start"), "{s:#}");
}

#[test]
fn reinstall_is_idempotent_and_keeps_an_operator_edited_port() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "sysport";
    let dir = write_module(tmp.path(), name, free_port(), false);
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", "--no-start", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The operator moves the service to another port by editing services.json.
    let path = tmp.path().join("home/services.json");
    let mut doc: Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
    let moved = free_port();
    doc["services"][0]["port"] = moved.into();
    doc["services"][0]["ownedByModule"] = "keep me".into();
    fs::write(&path, doc.to_string()).expect("write");

    let o = p.run(&["install", "--no-start", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("registered on port {moved}")),
        "{}",
        stderr(&o)
    );
    let after: Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(after["services"][0]["port"], moved);
    assert_eq!(after["services"][0]["ownedByModule"], "keep me");
    let unit =
        fs::read_to_string(mgr.unit_dir().join(format!("parachute-{name}.service"))).expect("unit");
    assert!(
        unit.contains(&format!("Environment=\"PORT={moved}\"")),
        "{unit}"
    );
    // Never started: the journal has nothing for it, and logs says so.
    let o = p.run(&["logs", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("no logs yet for {name}")),
        "{}",
        stderr(&o)
    );

    let before = fs::read(&path).expect("read");
    let o = p.run(&["install", "--no-start", dir.to_str().expect("utf8")]);
    assert!(o.status.success());
    assert_eq!(
        fs::read(&path).expect("read"),
        before,
        "a third install changes nothing"
    );
}

#[test]
fn status_fails_on_an_unhealthy_service_and_doctor_spots_a_stale_unit() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "syshealth";
    let dir = write_module(tmp.path(), name, free_port(), false);
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = p.run(&["status"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    // Point the row's health check at a path the module answers with 404.
    let path = tmp.path().join("home/services.json");
    let mut doc: Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
    doc["services"][0]["health"] = "/nowhere".into();
    fs::write(&path, doc.to_string()).expect("write");
    let o = p.run(&["status"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "unhealthy and running fails status: {}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("HTTP 404"), "{}", stdout(&o));

    // doctor: the unit is current; after a hand edit it is not, with the fix.
    let doctor = |p: &Parachute| -> Value {
        let o = p.run(&["doctor", "--json"]);
        serde_json::from_slice(&o.stdout).expect("doctor --json is JSON")
    };
    let check = |d: &Value, n: &str| -> Value {
        d["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("no check {n}: {d:#}"))
    };
    let d = doctor(&p);
    assert_eq!(check(&d, "user-manager")["status"], "pass", "{d:#}");
    assert_eq!(
        check(&d, &format!("unit:{name}"))["status"],
        "pass",
        "{d:#}"
    );
    let unit = mgr.unit_dir().join(format!("parachute-{name}.service"));
    let mut text = fs::read_to_string(&unit).expect("unit");
    text.push_str("# hand edit\n");
    fs::write(&unit, text).expect("write");
    let c = check(&doctor(&p), &format!("unit:{name}"));
    assert_eq!(c["status"], "fail", "{c:#}");
    assert_eq!(
        c["fix"],
        format!("parachute doctor --fix (or: parachute restart {name})")
    );
    // More restarts than the unit's StartLimitBurst (5): the operator's own
    // restarts never lock the unit out.
    for _ in 0..7 {
        let o = p.run(&["restart", name]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(
        check(&doctor(&p), &format!("unit:{name}"))["status"],
        "pass"
    );
}
