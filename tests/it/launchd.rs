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
use crate::support::hub::{PASSWORD, run_with_stdin};

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

/// Stops the hub agent the fake started, even when an assertion failed.
struct StopHub<'a>(&'a Mac);

impl Drop for StopHub<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["stop", "hub"]);
    }
}

impl Mac {
    /// `parachute doctor --json`: exit code and the report.
    fn doctor(&self, args: &[&str]) -> (Option<i32>, Value, String) {
        let mut all = vec!["doctor", "--json"];
        all.extend_from_slice(args);
        let o = self.run(&all);
        let doc: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("doctor --json ({e}): {}{}", stdout(&o), stderr(&o)));
        (o.status.code(), doc, stderr(&o))
    }
}

fn check<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {doc:#}"))
}

fn failed(doc: &Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| format!("{}: {}", c["name"], c["detail"]))
        .collect()
}

/// Python's `plistlib` reads the agent (a second, independent parser).
fn plistlib(path: &Path) -> Value {
    let o = Command::new("python3")
        .args([
            "-c",
            "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
        ])
        .arg(path)
        .output()
        .expect("python3");
    assert!(o.status.success(), "plistlib: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("json")
}

/// Messages name the hub as launchctl knows it, once, never as a systemd
/// unit; `upgraded` is what `upgrade` printed.
fn hub_messages_name_the_agent(m: &Mac, upgraded: &str) {
    assert!(
        upgraded.contains("✓ computer.parachute.hub restarted"),
        "{upgraded}"
    );
    let restarted = m.ok(&["restart", "hub"]);
    let stopped = m.ok(&["stop", "hub"]);
    assert_eq!(
        stopped.matches("computer.parachute.hub").count(),
        1,
        "one agent, one line: {stopped}"
    );
    m.ok(&["start", "hub"]);
    let all = format!("{upgraded}{restarted}{stopped}");
    assert!(!all.contains("parachute-hub."), "{all}");
}

/// Issue 12, the hub under launchd: `init` writes and bootstraps
/// `computer.parachute.hub` (its socket on 127.0.0.1:<port>) and checks
/// `/health`; `unit hub` prints that plist; `upgrade` restarts it with
/// `kickstart -k`; `doctor` is green, red once the plist is edited, and
/// green again after `--fix`.
#[test]
fn the_hub_agent_from_init_through_upgrade_and_doctor() {
    let m = Mac::new();
    let _stop = StopHub(&m);
    let port = free_port();
    let uid = rustix::process::getuid().as_raw();
    let target = format!("gui/{uid}/computer.parachute.hub");
    let plist = m.plist("hub");

    let mut init = m.cmd(&["init", "--password-stdin", "--port", &port.to_string()]);
    init.env_remove("PORT");
    let o = run_with_stdin(init, &format!("{PASSWORD}\n"));
    assert!(o.status.success(), "init: {}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "the hub answers on http://127.0.0.1:{port}/health through computer.parachute.hub"
        )),
        "{}",
        stderr(&o)
    );
    let calls = m.calls();
    let enable = calls.iter().position(|c| *c == format!("enable {target}"));
    let bootstrap = calls
        .iter()
        .position(|c| *c == format!("bootstrap gui/{uid} {}", plist.display()));
    assert!(
        enable.is_some() && enable < bootstrap,
        "enable, then bootstrap: {calls:?}"
    );

    let agent = plistlib(&plist);
    assert_eq!(agent["Label"], "computer.parachute.hub");
    assert_eq!(agent["ProcessType"], "Interactive");
    let listener = &agent["Sockets"]["Listeners"];
    assert_eq!(listener["SockNodeName"], "127.0.0.1", "{agent:#}");
    assert_eq!(listener["SockServiceName"], port.to_string(), "{agent:#}");
    assert_eq!(listener["SockType"], "stream", "{agent:#}");
    assert_eq!(agent["ProgramArguments"][1], "serve");

    let o = m.run(&["unit", "hub"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        fs::read_to_string(&plist).expect("plist"),
        "`unit hub` prints the agent as written"
    );

    let hub = m.status("hub");
    assert_eq!(hub["state"], "active", "{hub:#}");
    assert_eq!(hub["enabled"], "enabled", "{hub:#}");
    let said = m.ok(&["init", "--port", &port.to_string()]);
    assert!(said.contains("already initialized"), "{said}");

    let said = m.ok(&["upgrade"]);
    assert!(
        m.calls().contains(&format!("kickstart -k {target}")),
        "{said}\n{:?}",
        m.calls()
    );
    assert!(said.contains("the hub's version"), "{said}");
    hub_messages_name_the_agent(&m, &said);

    let (code, doc, _) = m.doctor(&[]);
    assert_eq!(code, Some(0), "green: {:?}", failed(&doc));
    for name in [
        "launchd",
        "log-dir",
        "hub-agent",
        "hub-loaded",
        "hub-health",
    ] {
        assert_eq!(check(&doc, name)["status"], "pass", "{name}: {doc:#}");
        assert_eq!(
            check(&doc, name)["fixable"],
            false,
            "a pass has nothing to fix"
        );
    }

    // An edit by hand (not in the override file) is drift, repaired by --fix.
    let text = fs::read_to_string(&plist).expect("plist");
    fs::write(&plist, text.replace("Interactive", "Background")).expect("edit");
    let (code, doc, _) = m.doctor(&[]);
    assert_eq!(code, Some(1), "{doc:#}");
    let c = check(&doc, "hub-agent");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(
        c["detail"].as_str().is_some_and(|d| d.contains("differs")),
        "{c:#}"
    );
    assert_eq!(c["fix"], "parachute doctor --fix (or: parachute init)");
    let (code, doc, said) = m.doctor(&["--fix"]);
    assert_eq!(code, Some(0), "{said}\n{:?}", failed(&doc));
    assert_eq!(fs::read_to_string(&plist).expect("plist"), text);
    assert_eq!(check(&doc, "hub-health")["status"], "pass", "{doc:#}");

    // The hub's enablement is its agent's, read back from print-disabled.
    m.ok(&["disable", "hub"]);
    let hub = m.status("hub");
    assert_eq!(
        (hub["state"].as_str(), hub["enabled"].as_str()),
        (Some("inactive"), Some("disabled")),
        "{hub:#}"
    );
    let (code, doc, _) = m.doctor(&[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        check(&doc, "hub-loaded")["fix"],
        "parachute doctor --fix (or: parachute enable hub && parachute start hub)"
    );
    m.ok(&["enable", "hub"]);
    assert_eq!(m.status("hub")["enabled"], "enabled");
}

/// Issue 12: `disable` is `launchctl disable` + bootout, `enable` clears
/// it, and `status` reads which from `launchctl print-disabled`.
#[test]
fn enable_and_disable_show_in_status() {
    let m = Mac::new();
    let module = write_module(m.root.path(), "hello", free_port(), false);
    m.ok(&["install", module.to_str().expect("utf-8")]);
    let uid = rustix::process::getuid().as_raw();
    let target = format!("gui/{uid}/computer.parachute.hello");
    assert_eq!(m.status("hello")["enabled"], "enabled");

    let said = m.ok(&["disable", "hello"]);
    assert!(said.contains("hello disabled"), "{said}");
    let calls = m.calls();
    let disable = calls.iter().position(|c| *c == format!("disable {target}"));
    let bootout = calls
        .iter()
        .rposition(|c| *c == format!("bootout {target}"));
    assert!(disable.is_some() && disable < bootout, "{calls:?}");
    let s = m.status("hello");
    assert_eq!(
        (s["state"].as_str(), s["enabled"].as_str()),
        (Some("inactive"), Some("disabled")),
        "{s:#}"
    );
    assert!(m.calls().contains(&format!("print-disabled gui/{uid}")));
    let (_, doc, _) = m.doctor(&[]);
    assert_eq!(check(&doc, "agent:hello")["status"], "pass", "{doc:#}");
    assert_eq!(check(&doc, "agent:hello")["fixable"], false, "{doc:#}");
    let c = check(&doc, "loaded:hello");
    assert_eq!(c["status"], "warn", "{c:#}");
    assert!(
        c["detail"]
            .as_str()
            .is_some_and(|d| d.contains("(it is disabled)")),
        "{c:#}"
    );
    assert_eq!(c["fix"], "parachute enable hello && parachute start hello");

    m.ok(&["enable", "hello"]);
    assert_eq!(m.status("hello")["enabled"], "enabled");
    m.ok(&["start", "hello"]);
    let s = m.status("hello");
    assert!(
        s["uptimeSeconds"].as_u64().is_some(),
        "uptime from ps: {s:#}"
    );
    let (_, doc, _) = m.doctor(&[]);
    assert_eq!(check(&doc, "loaded:hello")["status"], "pass", "{doc:#}");
}

/// Binds two loopback listeners, puts them on fds 3 and 4 with
/// `LISTEN_FDS=2` (as an init system passes them), and execs argv[1:].
const PASS_TWO_SOCKETS: &str = r"
import os, socket, sys
socks = []
for port in sys.argv[1:3]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', int(port)))
    s.listen(64)
    socks.append(s)
for fd, s in zip((3, 4), socks):
    os.dup2(s.fileno(), fd)
    os.set_inheritable(fd, True)
os.environ['LISTEN_FDS'] = '2'
os.environ.pop('LISTEN_PID', None)
os.execv(sys.argv[3], sys.argv[3:])
";

/// Issue 12: launchd hands the hub one fd per address its socket resolves
/// to, and `serve` answers on every one it is given (tried here with two
/// fds passed the systemd way, the same path after the fds are taken), and
/// `--idle-exit` counts connections on all of them.
#[test]
fn serve_answers_on_every_socket_it_is_passed_and_still_idles_out() {
    use crate::support::hub::{Home, try_http, wait_for};
    use std::time::{Duration, Instant};
    let home = Home::with_owner();
    let (a, b) = (free_port(), free_port());
    let exe = env!("CARGO_BIN_EXE_parachute");
    let mut cmd = home.wrap(
        Path::new("python3"),
        &[
            "-c",
            PASS_TWO_SOCKETS,
            &a.to_string(),
            &b.to_string(),
            exe,
            "serve",
            "--idle-exit",
            "2",
        ],
    );
    let mut child = cmd
        .env("PORT", a.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn serve");
    for port in [a, b] {
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        wait_for(Duration::from_secs(20), "/health on every socket", || {
            try_http(addr, "GET", "/health", None, None).is_ok_and(|r| r.status == 200)
        });
    }
    // Both idle now: the hub exits 0 once --idle-exit passes.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "the idle hub exits 0: {status:?}"
    );
}
