//! Issue 9 item 2: `parachute doctor` sees every fault the issue lists
//! (each of these used to end in "0 failures"), names the fix, and
//! `doctor --fix` repairs what is safe; item 4: `init` after `rm hub.db`
//! under a running hub; item 9: a moved binary (status 203). System tests
//! on the real `systemd --user` of `tests/support/systemd-harness.sh`.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use super::init::Installed;
use super::lifecycle::{free_port, write_module};
use crate::support::cli::Parachute;
use crate::support::hub::{PASSWORD, run_with_stdin, stderr, stdout, try_http, wait_for};
use crate::support::systemd::{self, SystemdEnv};

const SERVICE: &str = "parachute-hub.service";
const SOCKET: &str = "parachute-hub.socket";

/// `doctor --json` (plus any args): its exit code and document.
fn doctor(p: &Parachute, args: &[&str]) -> (Option<i32>, Value, Output) {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let o = p.run(&all);
    let doc = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor --json is JSON ({e}): {}{}", stdout(&o), stderr(&o)));
    (o.status.code(), doc, o)
}

/// The check named `name`, or a panic showing the whole report.
fn check(doc: &Value, name: &str) -> Value {
    doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no check {name}: {doc:#}"))
}

fn failures(doc: &Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| format!("{}: {}", c["name"], c["detail"]))
        .collect()
}

fn health(i: &Installed<'_>) -> Option<u16> {
    i.health().ok()
}

#[test]
fn a_healthy_hub_passes_and_a_rewritten_hub_unit_fails_until_fix_rewrites_it() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    let (code, d, _) = doctor(&i.p, &[]);
    assert_eq!(code, Some(0), "{d:#}");
    for name in [
        "hub-units",
        "hub-exec",
        "hub-socket",
        "hub-service",
        "hub-health",
        "hub-store",
        "hub-owner",
        "operator-token",
    ] {
        assert_eq!(check(&d, name)["status"], "pass", "{name}: {d:#}");
    }
    assert!(
        check(&d, "operator-token")["detail"]
            .as_str()
            // 90 days when doctor runs in the second the token was minted.
            .is_some_and(|s| s.contains("is valid for 89 more days")
                || s.contains("is valid for 90 more days")),
        "{d:#}"
    );

    // What a module taking over the hub (issue 9 item 1) would leave.
    let unit = mgr.unit_dir().join(SERVICE);
    let text = fs::read_to_string(&unit).expect("unit");
    let takeover = text
        .lines()
        .map(|l| {
            if l.starts_with("ExecStart=") {
                "ExecStart=/bin/sleep 600"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(&unit, takeover).expect("write");
    let (code, d, _) = doctor(&i.p, &[]);
    assert_eq!(code, Some(1), "{d:#}");
    let c = check(&d, "hub-units");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert_eq!(
        c["detail"],
        "parachute-hub.service differs from what `parachute init` would write (edited by hand, or written by something else; keep local changes in `systemctl --user edit <unit>`)"
    );
    assert_eq!(c["fix"], "parachute doctor --fix (or: parachute init)");
    assert_eq!(c["fixable"], true);

    let (code, d, o) = doctor(&i.p, &["--fix"]);
    assert_eq!(code, Some(0), "{d:#}\n{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("✓ fix: wrote {}", unit.display())),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(&unit).expect("unit"), text);
    assert_eq!(health(&i), Some(200));
}

/// Issue 9 item 9: the binary `init` pinned is gone. The hub fails with
/// status 203; `status` and `doctor` say so and name the fix; the fix works.
#[test]
fn a_moved_binary_is_status_203_and_doctor_fix_points_the_units_at_this_one() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let bin = tempfile::tempdir().expect("tmp");
    let old = bin.path().join("parachute");
    fs::copy(env!("CARGO_BIN_EXE_parachute"), &old).expect("copy the binary");
    let i = Installed::new(mgr);
    let o = i.init_as(&old, &[]);
    assert!(o.status.success(), "init: {}", stderr(&o));
    mgr.systemctl(["stop", SERVICE]);
    fs::remove_file(&old).expect("rm the old binary");

    // A request activates the hub, which cannot be executed; systemd
    // retries until the start limit fails it (and the socket).
    let _ = try_http(i.addr(), "GET", "/health", None, None);
    wait_for(Duration::from_secs(40), "the hub to fail", || {
        i.active(SERVICE) == "failed"
    });
    assert_eq!(i.show(SERVICE, "ExecMainStatus"), "203");

    let want = format!(
        "binary not found at {}; run `parachute init` (or `parachute doctor --fix`)",
        old.display()
    );
    let o = i.p.run(&["status"]);
    assert!(stdout(&o).contains(&want), "{}{}", stdout(&o), stderr(&o));

    let (code, d, _) = doctor(&i.p, &[]);
    assert_eq!(code, Some(1), "{d:#}");
    let exec = check(&d, "hub-exec");
    assert_eq!(exec["status"], "fail", "{exec:#}");
    assert!(
        exec["detail"].as_str().is_some_and(|s| s.contains(&format!(
            "runs `{}`, which is not there (the binary moved?); the hub fails with status 203",
            old.display()
        ))),
        "{exec:#}"
    );
    assert_eq!(exec["fix"], "parachute doctor --fix (or: parachute init)");
    let svc = check(&d, "hub-service");
    assert_eq!(
        svc["detail"],
        format!("{SERVICE} failed: {want}"),
        "{svc:#}"
    );
    assert_eq!(svc["fix"], "parachute doctor --fix (or: parachute init)");

    let (code, d, o) = doctor(&i.p, &["--fix"]);
    assert_eq!(code, Some(0), "{d:#}\n{}", stderr(&o));
    let text = fs::read_to_string(mgr.unit_dir().join(SERVICE)).expect("unit");
    assert!(
        text.contains(&format!(
            "ExecStart={} serve",
            env!("CARGO_BIN_EXE_parachute")
        )),
        "{text}"
    );
    assert_eq!(health(&i), Some(200));
    assert_eq!(i.active(SERVICE), "active");
}

/// Issue 9 item 4: `rm hub.db` under a running hub, then `init`: the hub is
/// stopped, the stale `-wal`/`-shm` go, and the hub answers from the new
/// store (it accepts the new operator token).
#[test]
fn init_after_the_store_is_deleted_under_the_running_hub_gives_the_hub_the_new_store() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    let home = i.p.home();
    assert_eq!(health(&i), Some(200));
    assert!(
        home.join("hub.db-wal").exists(),
        "the running hub keeps a WAL"
    );
    fs::remove_file(home.join("hub.db")).expect("rm hub.db");
    wait_for(Duration::from_secs(5), "/health to say 503", || {
        health(&i) == Some(503)
    });

    let (code, d, _) = doctor(&i.p, &[]);
    assert_eq!(code, Some(1), "{d:#}");
    let store = check(&d, "hub-store");
    assert_eq!(
        store["detail"],
        format!(
            "the hub store {} was deleted (its -wal/-shm are still there); the hub answers 503 until there is a new one",
            home.join("hub.db").display()
        )
    );
    assert!(
        store["fix"]
            .as_str()
            .is_some_and(|f| f.contains("restore") && f.contains("then: parachute init")),
        "{store:#}"
    );
    let hub_health = check(&d, "hub-health");
    assert!(
        hub_health["detail"]
            .as_str()
            .is_some_and(|s| s.ends_with("answers 503: the hub's store was deleted under it")),
        "{hub_health:#}"
    );

    let o = i.init(&[]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("✓ stopped the hub: it was still serving the deleted"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "✓ removed the stale {}",
            home.join("hub.db-wal").display()
        )),
        "{err}"
    );
    assert!(err.contains("✓ created the owner `owner`"), "{err}");
    assert_eq!(health(&i), Some(200));
    let token = fs::read_to_string(home.join("operator.token")).expect("token");
    let r = try_http(
        i.addr(),
        "GET",
        "/api/auth/tokens",
        Some(token.trim()),
        None,
    )
    .expect("the hub answers");
    assert_eq!(r.status, 200, "the hub knows the new store: {}", r.body);
    let (code, d, _) = doctor(&i.p, &[]);
    assert_eq!(code, Some(0), "{:?}", failures(&d));
}

/// `doctor --fix` asks before making a new store; `--yes` answers; then
/// the owner is what is left to make, with `init`.
#[test]
fn doctor_fix_makes_a_new_store_only_when_confirmed() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    let home = i.p.home();
    fs::remove_file(home.join("hub.db")).expect("rm hub.db");

    let (code, _, o) = doctor(&i.p, &["--fix"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr(&o)
            .contains("⚠ fix skipped: make a new hub store: not confirmed (re-run with --yes)"),
        "{}",
        stderr(&o)
    );
    assert!(!home.join("hub.db").exists());

    let (code, d, o) = doctor(&i.p, &["--fix", "--yes"]);
    assert_eq!(code, Some(1), "{d:#}");
    assert!(
        stderr(&o).contains("✓ fix: created an empty hub store"),
        "{}",
        stderr(&o)
    );
    assert_eq!(check(&d, "hub-health")["status"], "pass", "{d:#}");
    let owner = check(&d, "hub-owner");
    assert_eq!(owner["detail"], "the hub has no owner yet");
    assert_eq!(owner["fix"], "parachute init");
    let o = i.init(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, d, _) = doctor(&i.p, &[]);
    assert_eq!(code, Some(0), "{:?}", failures(&d));
}

/// Another program on the hub's port while the socket is down: named, with
/// `init --port`; once it is gone, `--fix` starts the socket.
#[test]
fn a_foreign_listener_on_the_hub_port_is_named_with_init_port() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    mgr.systemctl(["stop", SERVICE, SOCKET]);
    let squatter = std::net::TcpListener::bind(i.addr()).expect("take the port");
    let (code, d, _) = doctor(&i.p, &[]);
    assert_eq!(code, Some(1), "{d:#}");
    let c = check(&d, "hub-port");
    assert_eq!(
        c["detail"],
        format!(
            "{} is held by another program while {SOCKET} is inactive: the hub cannot listen",
            i.addr()
        )
    );
    assert_eq!(
        c["fix"],
        format!(
            "stop that program (find it: ss -ltnp 'sport = :{}'), or move the hub: parachute init --port <N>",
            i.addr().port()
        )
    );
    drop(squatter);
    let (_, d, _) = doctor(&i.p, &[]);
    let c = check(&d, "hub-socket");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert_eq!(
        c["fix"],
        "parachute doctor --fix (or: systemctl --user start parachute-hub.socket)"
    );
    let (code, d, o) = doctor(&i.p, &["--fix"]);
    assert_eq!(code, Some(0), "{d:#}\n{}", stderr(&o));
    assert!(stderr(&o).contains("✓ fix: started parachute-hub.socket"));
    assert_eq!(health(&i), Some(200));
}

/// Module faults: a failed unit, a unit whose program is gone, and a
/// `parachute-*.service` no row owns (removed only with `--yes`).
#[test]
fn failed_units_missing_programs_and_orphans_are_faults_with_their_fix() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let crash = "doccrash";
    let _c = p.uninstall_on_drop(crash);
    let _d = install_a_failed_module(mgr, &p, tmp.path(), crash);
    let gone = "docgone";
    let _g = p.uninstall_on_drop(gone);
    let (dir, script) = install_then_remove_its_program(&p, tmp.path(), gone);
    let orphan = format!("parachute-docorphan-{}.service", std::process::id());
    let _o = Orphan {
        mgr,
        unit: orphan.clone(),
    };
    fs::write(
        mgr.unit_dir().join(&orphan),
        "[Service]\nExecStart=/bin/sleep 600\n",
    )
    .expect("write");
    mgr.systemctl(["daemon-reload"]);
    mgr.systemctl(["start", &orphan]);

    let (code, d, _) = doctor(&p, &[]);
    assert_eq!(code, Some(1), "{d:#}");
    let c = check(&d, &format!("state:{crash}"));
    assert!(
        c["detail"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("parachute-{crash}.service "))
                && s.contains("exit-code (status 3)")),
        "{c:#}"
    );
    assert_eq!(
        c["fix"],
        format!(
            "see why: parachute logs {crash}; then: parachute doctor --fix (or: parachute restart {crash})"
        )
    );
    let c = check(&d, &format!("exec:{gone}"));
    assert_eq!(
        c["detail"],
        format!(
            "parachute-{gone}.service runs `{}`, which is not there; it fails with status 203 at its next start",
            script.display()
        )
    );
    assert_eq!(
        c["fix"],
        format!(
            "put it back, or re-register the module: parachute install {}",
            dir.display()
        )
    );
    let c = check(&d, &format!("orphan:{orphan}"));
    assert_eq!(
        c["detail"],
        format!("{orphan} has no services.json row and is active")
    );
    assert_eq!(
        c["fix"],
        "parachute doctor --fix --yes (stops, disables and deletes it)"
    );

    // Without --yes (stdin is no terminal) the orphan stays.
    let (_, _, o) = doctor(&p, &["--fix"]);
    assert!(
        stderr(&o).contains(&format!(
            "⚠ fix skipped: remove {orphan}: not confirmed (re-run with --yes)"
        )),
        "{}",
        stderr(&o)
    );
    assert!(mgr.unit_dir().join(&orphan).exists());
    let (_, d, o) = doctor(&p, &["--fix", "--yes"]);
    assert!(
        stderr(&o).contains(&format!("✓ fix: stopped, disabled and deleted {orphan}")),
        "{}",
        stderr(&o)
    );
    assert!(!mgr.unit_dir().join(&orphan).exists());
    assert!(!failures(&d).iter().any(|f| f.contains("orphan:")), "{d:#}");
}

/// A crashing module whose unit is `failed` (a drop-in turns restarts off,
/// so the crash fails it at once); the drop-in goes with the guard.
fn install_a_failed_module(mgr: &SystemdEnv, p: &Parachute, root: &Path, name: &str) -> DropIn {
    let dir = write_module(root, name, free_port(), true);
    let o = p.run(&["install", dir.to_str().expect("utf8"), "--no-start"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let unit = format!("parachute-{name}.service");
    let dropin = DropIn(mgr.unit_dir().join(format!("{unit}.d")));
    fs::create_dir_all(&dropin.0).expect("mkdir");
    fs::write(dropin.0.join("norestart.conf"), "[Service]\nRestart=no\n").expect("write");
    mgr.systemctl(["daemon-reload"]);
    mgr.systemctl(["start", &unit]);
    wait_for(Duration::from_secs(10), "the module to fail", || {
        let o = mgr.systemctl(["is-failed", &unit]);
        String::from_utf8_lossy(&o.stdout).trim() == "failed"
    });
    dropin
}

/// A module started by `bin/run` in its directory, installed, and then
/// its program deleted. Returns the module's directory and the program.
fn install_then_remove_its_program(
    p: &Parachute,
    root: &Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = write_module(root, name, free_port(), false);
    fs::create_dir_all(dir.join("bin")).expect("mkdir");
    let script = dir.join("bin/run");
    fs::write(&script, "#!/bin/sh\nexec sleep 600\n").expect("write");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    set_start_cmd(&dir, &["bin/run"]);
    let o = p.run(&["install", dir.to_str().expect("utf8"), "--no-start"]);
    assert!(o.status.success(), "{}", stderr(&o));
    fs::remove_file(&script).expect("rm");
    (dir, script)
}

fn set_start_cmd(dir: &Path, argv: &[&str]) {
    let path = dir.join(".parachute/module.json");
    let mut m: Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
    m["startCmd"] = argv.iter().map(|a| Value::from(*a)).collect();
    fs::write(&path, m.to_string()).expect("write");
}

/// Removes the orphan unit even when an assertion fails (the manager is shared).
struct Orphan<'a> {
    mgr: &'a SystemdEnv,
    unit: String,
}

impl Drop for Orphan<'_> {
    fn drop(&mut self) {
        self.mgr.systemctl(["stop", self.unit.as_str()]);
        let _ = fs::remove_file(self.mgr.unit_dir().join(&self.unit));
        self.mgr.systemctl(["daemon-reload"]);
    }
}

/// Removes a drop-in directory (uninstall leaves the user's drop-ins alone).
struct DropIn(std::path::PathBuf);

impl Drop for DropIn {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The operator token is checked without a user manager too; a broken one
/// is a fault that `--fix` renews.
#[test]
fn a_broken_operator_token_is_a_fault_that_fix_renews() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let mut cmd = p.cmd(&["init", "--password-stdin"]);
    cmd.env_remove("PORT");
    let o = run_with_stdin(cmd, &format!("{PASSWORD}\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, d, _) = doctor(&p, &[]);
    let c = check(&d, "operator-token");
    assert_eq!(c["status"], "pass", "{c:#}");

    let path = p.home().join("operator.token");
    fs::write(&path, "not.a.token\n").expect("write");
    let (code, d, _) = doctor(&p, &[]);
    assert_eq!(code, Some(1));
    let c = check(&d, "operator-token");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(
        c["detail"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("{} is not valid: ", path.display()))),
        "{c:#}"
    );
    assert_eq!(
        c["fix"],
        "parachute doctor --fix (or: parachute auth rotate-operator)"
    );
    let (_, d, o) = doctor(&p, &["--fix"]);
    assert!(
        stderr(&o).contains(&format!(
            "✓ fix: wrote a fresh operator token to {}",
            path.display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(check(&d, "operator-token")["status"], "pass", "{d:#}");
}
