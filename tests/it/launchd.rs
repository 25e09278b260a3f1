//! Issue 12 through the real binary on Linux: `PARACHUTE_INIT_SYSTEM=launchd`
//! with the scripted fake `launchctl` (tests/support/fake-launchctl) first on
//! `PATH`. The fake really runs the agent's program from the plist we wrote,
//! so health, logs and memory are real; launchctl's argv is what we assert.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::lifecycle::{free_port, stderr, stdout, write_module};
use crate::support::cli::Parachute;

struct Mac {
    root: tempfile::TempDir,
    p: Parachute,
    bin: PathBuf,
}

impl Mac {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("tmp");
        let bin = root.path().join("bin");
        fs::create_dir_all(&bin).expect("mkdir");
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake-launchctl");
        std::os::unix::fs::symlink(fake, bin.join("launchctl")).expect("link");
        let p = Parachute::offline(root.path());
        Self { root, p, bin }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.p.cmd(args);
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path)
            .env("PARACHUTE_INIT_SYSTEM", "launchd")
            .env("FAKE_LAUNCHCTL_DIR", self.root.path().join("fake"))
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_TTY");
        c
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.cmd(args).output().expect("run parachute")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {}{}", stdout(&o), stderr(&o));
        format!("{}{}", stdout(&o), stderr(&o))
    }

    /// launchctl's argv so far, one call a line.
    fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.root.path().join("fake/calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn status(&self, name: &str) -> Value {
        let o = self.run(&["status", "--json"]);
        let doc: Value = serde_json::from_slice(&o.stdout).expect("status --json");
        doc["services"]
            .as_array()
            .expect("services")
            .iter()
            .find(|s| s["name"] == format!("parachute-{name}"))
            .cloned()
            .expect("listed")
    }

    fn plist(&self, name: &str) -> PathBuf {
        self.root.path().join(format!(
            "Library/LaunchAgents/computer.parachute.{name}.plist"
        ))
    }
}

impl Drop for Mac {
    /// Nothing the fake started outlives the test.
    fn drop(&mut self) {
        let _ = self.run(&["uninstall", "hello", "--yes"]);
    }
}

#[test]
fn every_verb_drives_launchctl_end_to_end() {
    let m = Mac::new();
    let port = free_port();
    let module = write_module(m.root.path(), "hello", port, false);
    let uid = rustix::process::getuid().as_raw();
    let target = format!("gui/{uid}/computer.parachute.hello");
    let plist = m.plist("hello");

    let said = m.ok(&["install", module.to_str().expect("utf-8")]);
    assert!(said.contains("hello started"), "{said}");
    assert!(plist.is_file(), "the agent is in ~/Library/LaunchAgents");
    let calls = m.calls();
    let enable = calls
        .iter()
        .rposition(|c| *c == format!("enable {target}"))
        .expect("enable");
    let bootstrap = calls
        .iter()
        .position(|c| *c == format!("bootstrap gui/{uid} {}", plist.display()))
        .expect("bootstrap");
    assert!(enable < bootstrap, "enable before bootstrap: {calls:?}");

    let s = m.status("hello");
    assert_eq!(s["state"], "active", "{s:#}");
    assert_eq!(s["health"]["ok"], true, "{s:#}");
    assert!(s["pid"].as_u64().is_some_and(|p| p > 0), "{s:#}");
    assert!(s["memoryBytes"].as_u64().is_some_and(|b| b > 0), "{s:#}");
    let first_pid = s["pid"].clone();

    let unit = m.ok(&["unit", "hello"]);
    assert!(
        unit.contains("<string>computer.parachute.hello</string>"),
        "{unit}"
    );
    assert!(unit.contains(&format!("<string>{port}</string>")), "{unit}");

    // An unchanged plist restarts in place.
    m.ok(&["restart", "hello"]);
    assert!(m.calls().contains(&format!("kickstart -k {target}")));
    let s = m.status("hello");
    assert_eq!(s["state"], "active");
    assert_ne!(s["pid"], first_pid, "a new process");

    // stop boots out and waits until print says 113 (the fake keeps the job
    // visible to two more prints, as launchd does while it drains), so the
    // start right after it bootstraps cleanly instead of failing with 5.
    m.ok(&["stop", "hello"]);
    assert_eq!(m.status("hello")["state"], "inactive");
    let before = m.calls().len();
    m.ok(&["start", "hello"]);
    let after: Vec<String> = m.calls()[before..].to_vec();
    assert!(
        after.iter().any(|c| c.starts_with("bootstrap ")),
        "{after:?}"
    );
    assert_eq!(m.status("hello")["state"], "active");

    let logs = m.ok(&["logs", "hello", "-n", "5"]);
    assert!(
        logs.contains(&format!("hello listening on {port}")),
        "{logs}"
    );
    let o = m.run(&["logs", "hello", "--since", "-1h"]);
    assert!(
        !o.status.success() && stderr(&o).contains("--since"),
        "{}",
        stderr(&o)
    );

    m.ok(&["uninstall", "hello", "--yes"]);
    assert!(!plist.exists(), "the agent file is gone");
    let calls = m.calls();
    assert!(calls.contains(&format!("bootout {target}")), "{calls:?}");
    assert_eq!(
        calls.last().map(String::as_str),
        Some(format!("print {target}").as_str()),
        "the last look finds it gone"
    );
}

#[test]
fn overrides_survive_a_reinstall_and_a_bad_one_is_refused() {
    let m = Mac::new();
    let module = write_module(m.root.path(), "hello", free_port(), false);
    let dir = module.to_str().expect("utf-8");
    m.ok(&["install", "--no-start", dir]);
    let overrides = m.p.home().join("launchd/hello.override.plist");
    fs::create_dir_all(overrides.parent().expect("dir")).expect("mkdir");
    fs::write(
        &overrides,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Nice</key><integer>5</integer>
<key>EnvironmentVariables</key><dict><key>HELLO_DEBUG</key><string>1</string></dict>
</dict></plist>"#,
    )
    .expect("write overrides");
    m.ok(&["install", "--no-start", dir]);
    let text = fs::read_to_string(m.plist("hello")).expect("plist");
    assert!(
        text.contains("<key>Nice</key>") && text.contains("HELLO_DEBUG"),
        "{text}"
    );
    assert!(
        text.contains("<key>PATH</key>"),
        "generated keys stay: {text}"
    );

    fs::write(
        &overrides,
        "<plist><dict><key>Label</key><string>x</string></dict></plist>",
    )
    .expect("bad overrides");
    let o = m.run(&["install", "--no-start", dir]);
    assert!(!o.status.success());
    let msg = stderr(&o);
    assert!(
        msg.contains("hello.override.plist") && msg.contains("`Label`"),
        "{msg}"
    );
    // Nothing clobbered: the last good plist is still there.
    assert_eq!(fs::read_to_string(m.plist("hello")).expect("plist"), text);
}
