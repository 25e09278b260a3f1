//! System tests for issue 9 items 6, 10, 11 and 15 on a real
//! `systemd --user` and journald: stopping from the units alone, enable and
//! disable, a start's own log lines, a port held by another program,
//! `status <service>` and `logs` of every service.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::lifecycle::{free_port, status_of, stderr, stdout, wait_status, write_module};
use crate::support::cli::Parachute;
use crate::support::systemd;

/// Puts services.json back when dropped (declare it after the uninstall
/// guard, so it drops first and the uninstall finds its row).
struct Restore {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = fs::write(&self.path, &self.bytes);
    }
}

fn keep(path: &Path) -> Restore {
    Restore {
        path: path.to_path_buf(),
        bytes: fs::read(path).expect("services.json"),
    }
}

fn is_active(mgr: &systemd::SystemdEnv, unit: &str) -> bool {
    mgr.systemctl(["is-active", unit]).status.success()
}

/// Poll `parachute logs ARGS` until its stdout holds every one of `want`.
fn wait_for_logs(p: &Parachute, args: &[&str], want: &[&str]) -> String {
    let start = Instant::now();
    loop {
        let o = p.run(args);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = stdout(&o);
        if want.iter().all(|w| text.contains(w)) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "logs {args:?} never showed {want:?}: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn stop_works_from_the_unit_files_when_services_json_is_malformed_or_missing() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "sysregless";
    let unit = format!("parachute-{name}.service");
    let dir = write_module(tmp.path(), name, free_port(), false);
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let registry = p.home().join("services.json");
    let restore = keep(&registry);

    // Malformed: reported, left as it is, and the unit still stops.
    fs::write(&registry, "{\"services\": [oops").expect("write");
    let o = p.run(&["stop", name]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("services.json` is malformed"), "{err}");
    assert!(
        err.contains(
            "Stopping from the unit files instead (parachute-*.service, parachute.target)."
        ),
        "{err}"
    );
    assert!(err.contains(&format!("✓ {name} stopped.")), "{err}");
    assert!(!is_active(mgr, &unit));
    assert_eq!(
        fs::read_to_string(&registry).expect("read"),
        "{\"services\": [oops",
        "never overwritten"
    );
    // status shows the unit from systemd's side, and says why.
    let o = p.run(&["status"]);
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(err.contains("is malformed"), "{err}");
    assert!(out.contains(&format!("parachute-{name}")), "{out}");
    assert!(out.contains("it could not be read"), "{out}");

    // Missing: `stop` of everything still finds and stops the unit.
    drop(restore);
    let _restore = keep(&registry);
    let o = p.run(&["start", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    fs::remove_file(&registry).expect("rm");
    let o = p.run(&["status", "--json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    let s = doc["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["unit"] == unit.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("the unit is listed without a row: {doc:#}"));
    assert_eq!(s["state"], "active", "{s:#}");
    assert!(
        s["notes"].to_string().contains("no services.json row"),
        "{s:#}"
    );
    let o = p.run(&["stop"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains(&format!("✓ {name} stopped.")), "{err}");
    assert!(!is_active(mgr, &unit));
    assert!(!registry.exists(), "stop writes no registry");
}

#[test]
fn enable_disable_and_stop_say_what_happens_at_login() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "syslogin";
    let wants = mgr
        .unit_dir()
        .join(format!("parachute.target.wants/parachute-{name}.service"));
    let dir = write_module(tmp.path(), name, free_port(), false);
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(status_of(&p, name)["enabled"], "enabled");
    let table = stdout(&p.run(&["status"]));
    assert!(
        table.lines().next().is_some_and(|h| h.contains("ENABLED")),
        "{table}"
    );

    // stop ≠ disable: it says the service comes back.
    let o = p.run(&["stop", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "{name} is enabled, so it comes back at next login unless disabled: parachute disable {name}"
        )),
        "{}",
        stderr(&o)
    );

    let o = p.run(&["start", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = p.run(&["disable", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "✓ {name} disabled and stopped: it won't start at login. Turn it back on with: parachute enable {name}"
        )),
        "{}",
        stderr(&o)
    );
    assert!(!wants.exists(), "the [Install] symlink is gone");
    let s = status_of(&p, name);
    assert_eq!(s["enabled"], "disabled", "{s:#}");
    assert_eq!(s["state"], "inactive", "{s:#}");

    let o = p.run(&["enable", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("✓ {name} enabled: it starts at login.")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "Enabling does not start it now; for that: parachute start {name}"
        )),
        "{err}"
    );
    assert!(wants.exists(), "the [Install] symlink is back");
    let s = status_of(&p, name);
    assert_eq!(s["enabled"], "enabled", "{s:#}");
    assert_eq!(s["state"], "inactive", "{s:#}");

    let o = p.run(&["disable", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown service \"nosuch\""),
        "{}",
        stderr(&o)
    );
}

/// A module that counts its runs in `runs.txt`, prints `run N of NAME` and
/// exits 3 at once.
fn write_counting_crash(dir: &Path, name: &str) -> PathBuf {
    let root = write_module(dir, name, free_port(), true);
    fs::write(
        root.join("server.py"),
        format!(
            "import pathlib, sys\n\
             f = pathlib.Path('{}')\n\
             n = int(f.read_text()) + 1 if f.exists() else 1\n\
             f.write_text(str(n))\n\
             print(f'run {{n}} of {name}', flush=True)\n\
             sys.exit(3)\n",
            root.join("runs.txt").display()
        ),
    )
    .expect("write");
    root
}

#[test]
fn a_failed_start_shows_this_runs_lines_only_and_logs_keeps_every_run() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    // Unique per test run: the journal persists across runs.
    let name = format!("sysrun{}", std::process::id());
    let dir = write_counting_crash(tmp.path(), &name);
    let _cleanup = p.uninstall_on_drop(&name);
    let o = p.run(&["install", "--no-start", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Both starts in one wall-clock second: a match by time cannot tell
    // the two runs apart, the invocation ID can. (Sub-second time, which
    // the crate's clock does not offer.)
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    std::thread::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(now.subsec_nanos()),
    ));
    let first = p.run(&["start", &name]);
    let second = p.run(&["start", &name]);
    for (o, n) in [(&first, 1), (&second, 2)] {
        let err = stderr(o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("✗ {name} failed to start")), "{err}");
        assert!(
            err.contains(&format!("run {n} of {name}")),
            "run {n}: {err}"
        );
    }
    assert!(
        !stderr(&second).contains(&format!("run 1 of {name}")),
        "the second start shows only its own run: {}",
        stderr(&second)
    );
    // Every run's lines reach `parachute logs`.
    wait_for_logs(
        &p,
        &["logs", &name],
        &[&format!("run 1 of {name}"), &format!("run 2 of {name}")],
    );
}

/// Something that is not the module answers on `port`, health path and all.
fn squat(port: u16) -> Child {
    let child = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import http.server, sys\n\
             class H(http.server.BaseHTTPRequestHandler):\n\
             \x20   def do_GET(self):\n\
             \x20       self.send_response(200)\n\
             \x20       self.end_headers()\n\
             \x20   def log_message(self, *a):\n\
             \x20       pass\n\
             http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn the squatter");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "squatter never bound"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn start_of_a_module_whose_port_another_program_holds_fails_and_names_it() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "syssquat";
    let port = free_port();
    let dir = write_module(tmp.path(), name, port, false);
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", "--no-start", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("registered on port {port}")),
        "{}",
        stderr(&o)
    );

    let squatter = Kill(squat(port));
    let pid = squatter.0.id();
    let o = p.run(&["start", name]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("started (pid"), "{err}");
    assert!(err.contains(&format!("✗ {name} failed to start")), "{err}");
    assert!(
        err.contains(&format!(
            "port {port} is taken by another program: pid {pid} (`python3`)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "stop it (`kill {pid}`), or give {name} another `port` in services.json, then: parachute start {name}"
        )),
        "{err}"
    );
    // Once the port is free the same start succeeds.
    drop(squatter);
    let o = p.run(&["start", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("✓ {name} started (pid")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn status_of_one_service_shows_its_details_and_logs_interleaves_every_service() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let (a, b) = ("sysdetail", "sysother");
    let (port_a, port_b) = (free_port(), free_port());
    let dir_a = write_module(tmp.path(), a, port_a, false);
    let dir_b = write_module(tmp.path(), b, port_b, false);
    let _cleanup_a = p.uninstall_on_drop(a);
    let _cleanup_b = p.uninstall_on_drop(b);
    for dir in [&dir_a, &dir_b] {
        let o = p.run(&["install", dir.to_str().expect("utf8")]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    wait_status(&p, a, Duration::from_secs(10), |s| {
        s["health"]["ok"] == true
    });
    let line_a = format!("{a} listening on {port_a}");
    let line_b = format!("{b} listening on {port_b}");

    // `logs` with no service: both, each line prefixed with its name.
    let text = wait_for_logs(&p, &["logs", "-n", "400"], &[&line_a, &line_b]);
    let find = |line: &str| {
        text.lines()
            .position(|l| l.contains(line))
            .unwrap_or_else(|| panic!("{line} in {text}"))
    };
    let (at_a, at_b) = (find(&line_a), find(&line_b));
    let lines: Vec<&str> = text.lines().collect();
    let prefix = |l: &str| l.split_once(" | ").map(|(p, _)| p.to_string());
    let (pa, pb) = (prefix(lines[at_a]), prefix(lines[at_b]));
    assert_eq!(pa.as_deref().map(str::trim_end), Some(a), "{}", lines[at_a]);
    assert_eq!(pb.as_deref().map(str::trim_end), Some(b), "{}", lines[at_b]);
    assert_eq!(
        pa.map(|p| p.len()),
        pb.map(|p| p.len()),
        "prefixes are padded to one width:\n{text}"
    );
    assert!(at_a < at_b, "in time order: {a} started first:\n{text}");

    // `status <service>`: details and its own last lines only.
    let o = p.run(&["status", a]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    for want in [
        format!("● {a} (parachute-{a}.service)"),
        "State: active (running) for".to_string(),
        "Enabled: enabled (starts at login)".to_string(),
        format!("Port: {port_a} → http://127.0.0.1:{port_a}/{a}"),
        "Health: ok".to_string(),
        "Version: 0.4.2".to_string(),
        format!("Last log lines (more: parachute logs {a}):"),
        line_a.clone(),
    ] {
        assert!(out.contains(&want), "{want:?} in:\n{out}");
    }
    assert!(!out.contains(&line_b), "{out}");
    let o = p.run(&["status", a, "--json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(doc["service"]["name"], format!("parachute-{a}"), "{doc:#}");
    assert!(doc["logs"].to_string().contains(&line_a), "{doc:#}");
    let o = p.run(&["status", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown service \"nosuch\""),
        "{}",
        stderr(&o)
    );
}
