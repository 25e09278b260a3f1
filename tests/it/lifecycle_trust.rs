//! System tests for issue #9: a lifecycle a user can trust (reserved names,
//! installs from another directory, re-install, start before init, logs of
//! a quiet service) on a real `systemd --user`.

use std::fs;
use std::time::Duration;

use serde_json::Value;

use super::lifecycle::{free_port, status_of, stderr, wait_status, write_module};
use crate::support::cli::Parachute;
use crate::support::systemd;

fn set_manifest(dir: &std::path::Path, key: &str, value: Value) {
    let path = dir.join(".parachute/module.json");
    let mut doc: Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
    doc[key] = value;
    fs::write(&path, doc.to_string()).expect("write");
}

#[test]
fn names_of_the_hub_and_the_target_are_refused_at_install() {
    let tmp = tempfile::tempdir().expect("tmp");
    // Refused before any unit is touched, so no user manager is needed.
    let p = Parachute::offline(tmp.path());
    for (name, manifest_name, field) in [
        (
            "evil",
            "parachute-hub",
            "`manifestName` \"parachute-hub\" is reserved",
        ),
        ("hub", "parachute-evil", "`name` \"hub\" is reserved"),
        (
            "evil",
            "parachute",
            "`manifestName` \"parachute\" is reserved",
        ),
        (
            "evil",
            "parachute-target",
            "would run as parachute-target.service, which is reserved",
        ),
        ("evil", "parachute-a.b", "cannot be part of a unit name"),
    ] {
        let dir = write_module(
            tmp.path(),
            &format!("m-{name}-{}", manifest_name.len()),
            1,
            false,
        );
        set_manifest(&dir, "name", name.into());
        set_manifest(&dir, "manifestName", manifest_name.into());
        let o = p.run(&["install", dir.to_str().expect("utf8")]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(field), "{manifest_name}: {err}");
        assert!(err.contains("Rename the module"), "{err}");
        assert!(
            !tmp.path().join("home/services.json").exists(),
            "nothing registered for {manifest_name}"
        );
    }
}

#[test]
fn an_install_from_another_directory_needs_force_and_names_the_holder() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "sysowner";
    let first = write_module(tmp.path(), name, free_port(), false);
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", "--no-start", first.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));

    let other = tmp.path().join("elsewhere");
    fs::create_dir_all(&other).expect("mkdir");
    let second = write_module(&other, name, free_port(), false);
    let o = p.run(&["install", "--no-start", second.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let holder = fs::canonicalize(&first).expect("canon");
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "parachute-{name} is already installed from `{}`",
            holder.display()
        )),
        "{err}"
    );
    assert!(err.contains("re-run with --force"), "{err}");
    let row = |p: &Parachute| -> Value {
        let doc: Value = serde_json::from_str(
            &fs::read_to_string(p.home().join("services.json")).expect("read"),
        )
        .expect("json");
        doc["services"][0].clone()
    };
    assert_eq!(row(&p)["installDir"], holder.to_string_lossy().as_ref());

    let o = p.run(&[
        "install",
        "--no-start",
        "--force",
        second.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        row(&p)["installDir"],
        fs::canonicalize(&second)
            .expect("canon")
            .to_string_lossy()
            .as_ref()
    );
}

#[test]
fn reinstall_restarts_a_changed_module_and_leaves_an_unchanged_one_alone() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let name = "sysreinst";
    let dir = write_module(tmp.path(), name, free_port(), false);
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = wait_status(&p, name, Duration::from_secs(10), |s| s["pid"].is_u64());
    let pid = s["pid"].as_u64().expect("pid");

    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("✓ {name} unchanged; left running (pid {pid}).")),
        "{}",
        stderr(&o)
    );
    assert_eq!(status_of(&p, name)["pid"].as_u64(), Some(pid));

    set_manifest(&dir, "version", "0.5.0".into());
    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{name} changed; restarting it.")),
        "{err}"
    );
    let s = status_of(&p, name);
    let new_pid = s["pid"].as_u64().expect("new pid");
    assert_ne!(new_pid, pid, "a new process runs the new version");
    assert!(
        err.contains(&format!("✓ {name} restarted (pid {new_pid}).")),
        "{err}"
    );
    assert_eq!(s["version"], "0.5.0");

    // A changed start command is a change too.
    set_manifest(
        &dir,
        "startCmd",
        serde_json::json!(["/usr/bin/python3", "-u", "server.py"]),
    );
    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("restarting it."), "{}", stderr(&o));
    assert_ne!(status_of(&p, name)["pid"].as_u64(), Some(new_pid));
}

#[test]
fn start_before_init_says_to_run_init_and_logs_of_a_quiet_service_do_not_say_start() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    // The init tests remove the hub's units when they finish.
    assert!(!mgr.unit_dir().join("parachute-hub.socket").exists());
    let o = p.run(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("started"), "{err}");
    assert!(
        err.contains(
            "the hub is not set up yet, so there is nothing to start. Run `parachute init` first."
        ),
        "{err}"
    );

    // A module that never prints: running, so `logs` must not say to start it.
    let name = "sysquiet";
    let dir = write_module(tmp.path(), name, free_port(), false);
    fs::write(dir.join("server.py"), "import time\ntime.sleep(3600)\n").expect("write");
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", dir.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = p.run(&["logs", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("to begin"), "{err}");
    assert!(
        err.contains(&format!(
            "{name} is running but has logged nothing yet. Watch for output with: parachute logs {name} -f"
        )),
        "{err}"
    );
}
