//! `PARACHUTE_TEST_HARDENED=1` (issue 16): every test hub ([`super::hub::Hub`])
//! runs inside a transient service of the harness's `systemd --user` with the
//! sandboxing the generated hub unit carries on this host, so the hub, git and
//! OAuth suites prove that nothing the hub does is filtered (a syscall the
//! filter forgot fails there with EPERM). Without the variable, or without a
//! manager, hubs run as plain children as before.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use parachute::lifecycle::systemd::dbus::SystemdUser;
use parachute::lifecycle::systemd::hardening::{self, Hardening, Kind, OptOuts};
use parachute::lifecycle::systemd::unit::lives_in_tmp;
use parachute::lifecycle::systemd::{Systemd, units};
use parachute::paths::Paths;

use super::systemd::{self, SystemdEnv};

pub const KNOB: &str = "PARACHUTE_TEST_HARDENED";

/// The manager to run hubs under, when the knob is set.
pub fn manager() -> Option<&'static SystemdEnv> {
    if std::env::var_os(KNOB).is_none_or(|v| v.is_empty() || v == "0") {
        return None;
    }
    let mgr = systemd::manager();
    assert!(
        mgr.is_some(),
        "{KNOB} is set but no systemd user manager could be booted"
    );
    mgr
}

/// What the library's probe says this manager honours (probed once, with the
/// real `units::hardening`, into a scratch cache).
fn probed(mgr: &SystemdEnv) -> Hardening {
    static PROBED: OnceLock<Hardening> = OnceLock::new();
    *PROBED.get_or_init(|| {
        let scratch = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: scratch.path().join("home"),
            unit_dir: scratch.path().join("units"),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let conn = zbus::connection::Builder::address(mgr.bus_address.as_str())
                .expect("bus address")
                .build()
                .await
                .expect("session bus");
            let init = SystemdUser::from_connection(conn, false)
                .await
                .expect("manager");
            units::hardening(&paths, &Systemd::connected(init)).await
        })
    })
}

/// `cmd` as `systemd-run --user --pipe --wait … -- <program> <args>`, with
/// the hub unit's hardening lines as properties; and the unit's name.
pub fn wrap(mgr: &SystemdEnv, cmd: &Command) -> (Command, String) {
    static N: AtomicU32 = AtomicU32::new(0);
    let unit = format!(
        "parachute-test-hub-{}-{}.service",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let home: PathBuf = cmd
        .get_envs()
        .find(|(k, _)| *k == OsStr::new("PARACHUTE_HOME"))
        .and_then(|(_, v)| v)
        .map(PathBuf::from)
        .expect("a test hub has PARACHUTE_HOME");
    let lines = hardening::lines(
        probed(mgr),
        &hardening::Context {
            kind: Kind::Hub,
            private_tmp: !lives_in_tmp(&[&home]),
            read_write: Some(&home),
            opt_out: &OptOuts::new(),
        },
    );
    let mut run = Command::new("systemd-run");
    mgr.apply(&mut run);
    run.args(["--user", "--pipe", "--wait", "--quiet", "--collect"])
        .arg(format!("--unit={unit}"))
        // What the hub unit has besides the sandbox, and what `serve` expects.
        .args(["-p", "KillMode=control-group", "-p", "LimitNOFILE=65536"]);
    for line in lines.lines().filter(|l| !l.starts_with('#')) {
        run.arg("-p").arg(line);
    }
    match cmd.get_current_dir() {
        Some(dir) => run.arg(format!("--working-directory={}", dir.display())),
        None => run.arg("--same-dir"),
    };
    let mut env: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    }
    for (k, v) in env {
        run.arg(format!("--setenv={k}={v}"));
    }
    run.arg("--").arg(cmd.get_program()).args(cmd.get_args());
    (run, unit)
}

/// The unit's main PID (0 until it runs).
pub fn main_pid(mgr: &SystemdEnv, unit: &str) -> u32 {
    let o = mgr.systemctl(["show", unit, "-p", "MainPID", "--value"]);
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// `systemctl --user kill -s SIGNAL` the hub's main process.
pub fn signal(mgr: &SystemdEnv, unit: &str, signal: &str) {
    mgr.systemctl(["kill", "--kill-whom=main", "-s", signal, unit]);
}

pub fn stop(mgr: &SystemdEnv, unit: &str) {
    mgr.systemctl(["stop", unit]);
    mgr.systemctl(["reset-failed", unit]);
}
