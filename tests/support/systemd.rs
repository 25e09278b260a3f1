//! The real `systemd --user` manager (plus journald) that system tests drive.
//!
//! `systemd-harness.sh` beside this file boots one per machine, or reuses the
//! one already up (DESIGN.md, "Seams and tests"); [`manager`] runs it once per
//! test process. Where it cannot boot (not root, PID 1 is systemd, no
//! systemd binary) system tests skip loudly, unless `PARACHUTE_REQUIRE_SYSTEMD=1`
//! (set by `.ci/run`) turns the skip into a failure.
//!
//! The manager, its unit directory and journald are shared by every test and
//! every test process on the machine, so system tests hold [`lock`] for their
//! whole body and give their units unique names.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Set to `1` to make a manager that cannot boot a test failure, not a skip.
pub const REQUIRE_ENV: &str = "PARACHUTE_REQUIRE_SYSTEMD";
/// The harness's state directory (its default is [`DEFAULT_STATE`]).
pub const STATE_ENV: &str = "PARACHUTE_HARNESS_STATE";
/// Where the harness keeps its runtime dir, the manager's `HOME` and logs.
pub const DEFAULT_STATE: &str = "/tmp/parachute-systemd-harness";

/// Variables the product reads that must not leak from the developer's shell
/// into a run against the test manager: each would point the binary at the
/// developer's own units or data (or, for `SUDO_USER`, make it refuse).
pub const ENV_REMOVE: &[&str] = &["XDG_CONFIG_HOME", "PARACHUTE_HOME", "SUDO_USER"];

/// How to reach the running test manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdEnv {
    /// The manager's `XDG_RUNTIME_DIR` (holds `systemd/private` and `bus`).
    pub runtime_dir: PathBuf,
    /// `DBUS_SESSION_BUS_ADDRESS` of the manager's session bus.
    pub bus_address: String,
    /// The manager's own `HOME`; its unit path is `~/.config/systemd/user`.
    pub home: PathBuf,
    /// `running` or `degraded`, as `systemctl --user is-system-running` said.
    pub state: String,
    /// PID of `systemd --user`.
    pub pid: u32,
}

impl SystemdEnv {
    /// The manager's user unit directory (`$HOME/.config/systemd/user`).
    pub fn unit_dir(&self) -> PathBuf {
        self.home.join(".config/systemd/user")
    }

    /// Environment for a process talking to this manager as its user would:
    /// `HOME`, `XDG_RUNTIME_DIR`, `DBUS_SESSION_BUS_ADDRESS`. Also remove
    /// [`ENV_REMOVE`]; [`SystemdEnv::apply`] does both.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("HOME", self.home.clone().into_os_string()),
            ("XDG_RUNTIME_DIR", self.runtime_dir.clone().into_os_string()),
            ("DBUS_SESSION_BUS_ADDRESS", self.bus_address.clone().into()),
        ]
    }

    /// Points `cmd` at this manager: sets [`SystemdEnv::env`], removes
    /// [`ENV_REMOVE`].
    pub fn apply<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        for key in ENV_REMOVE {
            cmd.env_remove(key);
        }
        cmd.envs(self.env())
    }

    /// The real `parachute` binary, run against this manager. With
    /// `PARACHUTE_HOME` removed it keeps its state in `$HOME/.parachute`;
    /// set `PARACHUTE_HOME` to a temp dir to isolate a test.
    pub fn parachute(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parachute"));
        self.apply(&mut cmd);
        cmd
    }

    /// `systemctl --user ARGS` against this manager, for test setup and
    /// assertions only (the product itself never runs systemctl).
    pub fn systemctl<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new("systemctl");
        cmd.arg("--user").args(args).stdin(Stdio::null());
        self.apply(&mut cmd).output().expect("run systemctl --user")
    }

    /// The messages journald holds for user unit `unit`. Uses
    /// `journalctl --user-unit`: user units of uid 0 land in the system
    /// journal, where `journalctl --user -u` finds nothing. The journal
    /// persists across runs (`/var/log/journal`), so name test units uniquely
    /// or look for a line unique to this run.
    // A method, not a free fn: journald is only known to be up once a
    // manager was booted.
    #[allow(clippy::unused_self)]
    pub fn journal(&self, unit: &str) -> String {
        let out = Command::new("journalctl")
            .args(["--user-unit", unit, "--no-pager", "--output=cat"])
            .stdin(Stdio::null())
            .output()
            .expect("run journalctl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The shared test manager, booted on first use; `None` (after a loud `SKIP`
/// line on stderr) when this machine cannot run one. Panics instead of
/// skipping when `PARACHUTE_REQUIRE_SYSTEMD=1`.
pub fn manager() -> Option<&'static SystemdEnv> {
    static MANAGER: OnceLock<Result<SystemdEnv, String>> = OnceLock::new();
    hold_machine();
    match MANAGER.get_or_init(boot) {
        Ok(env) => Some(env),
        Err(reason) => {
            assert!(
                std::env::var_os(REQUIRE_ENV).is_none_or(|v| v != "1"),
                "{REQUIRE_ENV}=1 but no systemd user manager: {reason}"
            );
            let test = std::thread::current().name().unwrap_or("?").to_owned();
            // Straight to the stderr handle: libtest captures `eprintln!`, and
            // a skip nobody sees is a pass nobody earned.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP (system test): no systemd user manager: {reason} [{test}]"
            );
            None
        }
    }
}

/// Serializes system tests: hold the guard for the whole test. This and
/// [`manager`] also take a machine-wide lock on first use (released when the
/// test process exits), so two test runs on one machine do not drive the one
/// manager at once.
pub fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    hold_machine();
    // A test that panicked while holding the lock leaves nothing half-done
    // that the next one relies on: each test sets up its own units.
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn state_dir() -> PathBuf {
    std::env::var_os(STATE_ENV).map_or_else(|| PathBuf::from(DEFAULT_STATE), PathBuf::from)
}

/// Takes the machine-wide lock once per process and keeps it until exit.
fn hold_machine() {
    static MACHINE: OnceLock<Option<File>> = OnceLock::new();
    MACHINE.get_or_init(machine_lock);
}

fn machine_lock() -> Option<File> {
    let dir = state_dir();
    fs::create_dir_all(&dir).ok()?;
    // Not the script's own `lock` file: we hold this one while running it.
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("tests.lock"))
        .ok()?;
    if file.try_lock().is_err() {
        let _ = writeln!(
            std::io::stderr(),
            "waiting for another test process using the systemd harness ({})",
            dir.join("tests.lock").display()
        );
        file.lock().ok()?;
    }
    Some(file)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/systemd-harness.sh")
}

fn boot() -> Result<SystemdEnv, String> {
    let out = Command::new("bash")
        .arg(script())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `bash {}`: {e}", script().display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let reason = stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("systemd-harness: cannot boot a systemd user manager: "))
            .map_or_else(|| stderr.trim().to_owned(), str::to_owned);
        return Err(format!("{reason} ({})", out.status));
    }
    parse_env(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| format!("unexpected output from {}:\n{stderr}", script().display()))
}

/// Reads the script's stdout: a `# systemd-harness: STATE HOW pid=N` line,
/// then `export KEY='VALUE'` lines.
fn parse_env(stdout: &str) -> Option<SystemdEnv> {
    let mut vars = std::collections::HashMap::new();
    let mut state = None;
    let mut pid = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("# systemd-harness: ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            state = words.first().map(|s| (*s).to_owned());
            pid = words
                .iter()
                .find_map(|w| w.strip_prefix("pid="))
                .and_then(|p| p.parse().ok());
        } else if let Some((key, value)) = line
            .strip_prefix("export ")
            .and_then(|kv| kv.split_once('='))
        {
            vars.insert(key.to_owned(), unquote(value)?);
        }
    }
    Some(SystemdEnv {
        runtime_dir: vars.remove("XDG_RUNTIME_DIR")?.into(),
        bus_address: vars.remove("DBUS_SESSION_BUS_ADDRESS")?,
        home: vars.remove("PARACHUTE_TEST_SYSTEMD_HOME")?.into(),
        state: state?,
        pid: pid?,
    })
}

/// Undoes the script's single-quoting (`'it'\''s'` → `it's`).
fn unquote(value: &str) -> Option<String> {
    let inner = value.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace(r"'\''", "'"))
}

#[test]
fn parses_the_scripts_output() {
    let out = "# systemd-harness: degraded booted pid=42\n\
               export XDG_RUNTIME_DIR='/tmp/h/run'\n\
               export DBUS_SESSION_BUS_ADDRESS='unix:path=/tmp/h/run/bus'\n\
               export PARACHUTE_TEST_SYSTEMD_HOME='/tmp/it'\\''s home'\n";
    assert_eq!(
        parse_env(out),
        Some(SystemdEnv {
            runtime_dir: "/tmp/h/run".into(),
            bus_address: "unix:path=/tmp/h/run/bus".into(),
            home: "/tmp/it's home".into(),
            state: "degraded".into(),
            pid: 42,
        })
    );
    assert_eq!(parse_env("export XDG_RUNTIME_DIR='/x'\n"), None);
}
