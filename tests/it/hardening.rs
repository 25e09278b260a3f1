//! Issue 16: units that give a service only what it needs. On the real
//! `systemd --user` of the harness, `systemd-analyze --user security` rates
//! the generated hub unit at most 3.5 and a module unit at most 5.0, the hub
//! still does its work inside the sandbox (socket activation, `sd_notify`,
//! `git http-backend`), and `doctor` reports the figures and flags a drop-in
//! that loosens the hub. The hub, git and OAuth suites run inside the same
//! sandbox with `PARACHUTE_TEST_HARDENED=1` (see `tests/support/hardened.rs`).
//! Without a manager: a module's opt-out and its reason show in
//! `parachute unit`, and an unknown module.json field is only a warning.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::init::Installed;
use super::lifecycle::{free_port, write_module};
use crate::support::cli::Parachute;
use crate::support::hub::{stderr, stdout};
use crate::support::systemd::{self, SystemdEnv};

const HUB: &str = "parachute-hub.service";

/// The overall figure `systemd-analyze --user security UNIT` prints.
fn exposure(mgr: &SystemdEnv, unit: &str) -> f64 {
    let mut c = Command::new("systemd-analyze");
    mgr.apply(&mut c);
    let o = c
        .args(["--user", "security", "--no-pager", unit])
        .output()
        .expect("run systemd-analyze");
    let out = stdout(&o);
    parachute::lifecycle::systemd::exposure::overall(&out, unit)
        .unwrap_or_else(|| panic!("no figure for {unit}:\n{out}\n{}", stderr(&o)))
}

fn doctor(p: &Parachute) -> Vec<Value> {
    let o = p.run(&["doctor", "--json"]);
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor --json ({e}): {}", stdout(&o)));
    doc["checks"].as_array().expect("checks").clone()
}

fn find<'c>(checks: &'c [Value], name: &str) -> Option<&'c Value> {
    checks.iter().find(|c| c["name"] == name)
}

/// `git ARGS` in `dir`, isolated from the developer's configuration.
fn git(dir: &Path, home: &Path, args: &[&str]) -> Output {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@parachute.computer")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@parachute.computer")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .expect("run git");
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    o
}

/// A push and a clone through the hub unit: `git http-backend` runs as the
/// sandboxed hub's child.
fn push_and_clone(i: &Installed<'_>) {
    let o =
        i.p.run(&["auth", "mint-token", "--scope", "surface:site:write"]);
    assert!(o.status.success(), "mint-token: {}", stderr(&o));
    let token = stdout(&o).trim().to_string();
    let header = format!("http.extraHeader=Authorization: Bearer {token}");
    let url = format!("http://{}/git/site", i.addr());
    let tmp = tempfile::tempdir().expect("tmp");
    let (work, home) = (tmp.path().join("work"), tmp.path().join("githome"));
    fs::create_dir_all(&work).expect("mkdir");
    fs::create_dir_all(&home).expect("mkdir");
    git(&work, &home, &["init", "-q", "-b", "main"]);
    fs::write(work.join("index.html"), "<h1>confined</h1>\n").expect("write");
    git(&work, &home, &["add", "-A"]);
    git(&work, &home, &["commit", "-q", "-m", "first"]);
    git(&work, &home, &["-c", &header, "push", "-q", &url, "main"]);
    git(
        tmp.path(),
        &home,
        &["-c", &header, "clone", "-q", &url, "back"],
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("back/index.html")).expect("cloned file"),
        "<h1>confined</h1>\n"
    );
}

#[test]
fn hub_and_module_units_are_confined_and_keep_working() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    // init: socket activation, then `Type=notify` reaching active under the sandbox.
    let i = Installed::full(mgr);
    assert_eq!(i.active(HUB), "active");
    let hub_text = fs::read_to_string(mgr.unit_dir().join(HUB)).expect("hub unit");
    for line in [
        "SystemCallFilter=@system-service\n",
        "SystemCallFilter=~@privileged @resources\n",
        "SystemCallErrorNumber=EPERM\n",
        "MemoryDenyWriteExecute=yes\n",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n",
        "UMask=0077\n",
    ] {
        assert!(hub_text.contains(line), "{line:?} in:\n{hub_text}");
    }
    let hub = exposure(mgr, HUB);
    assert!(hub <= 3.5, "hub exposure {hub} > 3.5:\n{hub_text}");

    push_and_clone(&i);
    // The watchdog is still fed and nothing was refused a syscall.
    assert_eq!(i.active(HUB), "active");
    let journal = mgr.journal(HUB);
    assert!(!journal.contains("Operation not permitted"), "{journal}");

    // A module (python3) runs and answers its health path under its tier.
    let tmp = tempfile::tempdir().expect("tmp");
    let module = write_module(tmp.path(), "confined", free_port(), false);
    let _m = i.p.uninstall_on_drop("confined");
    let o = i.p.run(&["install", module.to_str().expect("utf8")]);
    assert!(o.status.success(), "install: {}", stderr(&o));
    let unit = "parachute-confined.service";
    let module_text = fs::read_to_string(mgr.unit_dir().join(unit)).expect("module unit");
    assert!(module_text.contains("SystemCallFilter=@system-service\n"));
    assert!(
        !module_text.contains("MemoryDenyWriteExecute"),
        "{module_text}"
    );
    assert_eq!(i.active(unit), "active");
    let m = exposure(mgr, unit);
    eprintln!("exposure: {HUB} {hub}, {unit} {m}");
    assert!(m <= 5.0, "module exposure {m} > 5.0:\n{module_text}");

    // doctor reports both figures, as systemd-analyze gives them.
    let checks = doctor(&i.p);
    for (name, unit, figure) in [("exposure:hub", HUB, hub), ("exposure:confined", unit, m)] {
        let c = find(&checks, name).unwrap_or_else(|| panic!("{name}: {checks:?}"));
        assert_eq!(c["status"], "pass", "{c}");
        let detail = c["detail"].as_str().expect("detail");
        assert!(
            detail.contains(&format!("{unit} rates {figure:.1}")),
            "{detail}"
        );
    }
    assert!(find(&checks, "hub-drop-in").is_none(), "{checks:?}");

    // A drop-in that takes back part of the hub's sandbox is flagged.
    let dir = mgr.unit_dir().join(format!("{HUB}.d"));
    fs::create_dir_all(&dir).expect("mkdir");
    let conf = dir.join("90-loose.conf");
    fs::write(&conf, "[Service]\nMemoryDenyWriteExecute=no\n").expect("write");
    mgr.systemctl(["daemon-reload"]);
    let checks = doctor(&i.p);
    let c = find(&checks, "hub-drop-in").unwrap_or_else(|| panic!("{checks:?}"));
    assert_eq!(c["status"], "warn", "{c}");
    assert_eq!(
        c["detail"],
        format!(
            "{}:2 sets `MemoryDenyWriteExecute=no`, loosening the hub's `MemoryDenyWriteExecute=yes`",
            conf.display()
        )
    );
    assert!(
        c["fix"]
            .as_str()
            .is_some_and(|f| f.contains("systemctl --user daemon-reload && parachute restart hub")),
        "{c}"
    );
}

/// A module that opts out of a directive: the unit leaves it out and says
/// why; `parachute unit` shows it. Unknown fields are warned about, and an
/// opt-out of a directive module units do not carry is refused by name.
#[test]
fn an_opt_out_is_shown_with_its_reason_and_unknown_fields_only_warn() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let module = tmp.path().join("m");
    fs::create_dir_all(module.join(".parachute")).expect("mkdir");
    let manifest = |opt_out: Value| {
        serde_json::json!({
            "name": "m", "manifestName": "parachute-m", "port": 1951,
            "paths": ["/m"], "health": "/m/health", "startCmd": ["/bin/sleep", "60"],
            "futureField": {"x": 1},
            "hardeningOptOut": opt_out,
        })
        .to_string()
    };
    let path = module.join(".parachute/module.json");
    fs::write(
        &path,
        manifest(serde_json::json!({"MemoryDenyWriteExecute": "jit"})),
    )
    .expect("write");
    let o = p.run(&["install", module.to_str().expect("utf8")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`hardeningOptOut` names `MemoryDenyWriteExecute`, which is not a directive module units carry; use one of: NoNewPrivileges,"),
        "{err}"
    );

    fs::write(
        &path,
        manifest(serde_json::json!({"SystemCallFilter": "runs a debugger that needs ptrace"})),
    )
    .expect("write");
    // No user manager here: install registers the row, then says so.
    let o = p.run(&["install", module.to_str().expect("utf8")]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "⚠ {}: unknown field `futureField` ignored (misspelled? the fields are in `man 5 parachute-module`)",
            path.display()
        )),
        "{err}"
    );
    assert!(!err.contains("`futureField` must"), "{err}");

    let o = p.run(&["unit", "m"]);
    assert!(o.status.success(), "unit: {}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(
            "# SystemCallFilter= left out at the module's request: runs a debugger that needs ptrace\n"
        ),
        "{text}"
    );
    assert!(!text.contains("\nSystemCallFilter="), "{text}");
    assert!(text.contains("\nCapabilityBoundingSet=\n"), "{text}");
}
