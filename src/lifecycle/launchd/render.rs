//! Pure renderer for the suite's `LaunchAgents`. Same inputs, same bytes: keys
//! are sorted at every level (the `plist` crate keeps insertion order), so
//! `doctor` and `install` can compare the file on disk with a fresh render.
//! Written by hand on `plist::Dictionary` rather than with the `launchd`
//! crate, which lacks keys we need and orders environment keys at random.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use plist::{Dictionary, Value};

use super::layout::{HUB_LABEL, HUB_SHORT, Layout, label};
use crate::env_vars;
use crate::lifecycle::service::ServiceSpec;
use crate::lifecycle::systemd::hub_unit::HubUnits;

/// Seconds launchd waits before respawning a module that exited (its own
/// default, spelled out: an implicit throttle is the top complaint).
pub const MODULE_THROTTLE_SECS: i64 = 10;
/// The hub respawns sooner: clients wait on its socket meanwhile.
pub const HUB_THROTTLE_SECS: i64 = 2;

/// launchd's `ProcessType`: how much CPU and I/O the job is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessType {
    /// Modules: normal limits.
    Standard,
    /// The hub: a person waits on every request it answers.
    Interactive,
}

impl ProcessType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "Standard",
            Self::Interactive => "Interactive",
        }
    }
}

/// Everything one agent's plist depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub label: String,
    pub short: String,
    /// Absolute argv.
    pub program_arguments: Vec<String>,
    pub working_dir: Option<PathBuf>,
    /// `(key, value)`; sorted when rendered.
    pub env: Vec<(String, String)>,
    pub throttle_secs: i64,
    pub process_type: ProcessType,
    /// stdout and stderr both (launchd appends; the hub rotates).
    pub log: PathBuf,
    /// The hub's listening socket (`Sockets.Listeners`), held by launchd.
    pub socket: Option<SocketAddr>,
    /// Named in the header comment.
    pub override_file: PathBuf,
}

/// The agent for a module.
pub fn module(spec: &ServiceSpec, layout: &Layout) -> Agent {
    let path = tool_path(&spec.user_home, Path::new(&spec.exec_start[0]));
    Agent {
        label: label(&spec.short),
        short: spec.short.clone(),
        program_arguments: spec.exec_start.clone(),
        working_dir: Some(spec.working_dir.clone()),
        env: vec![
            (env_vars::PORT.into(), spec.port.to_string()),
            (
                env_vars::PARACHUTE_HOME.into(),
                spec.parachute_home.to_string_lossy().into_owned(),
            ),
            (
                env_vars::PARACHUTE_HUB_ORIGIN.into(),
                spec.hub_origin.clone(),
            ),
            ("PATH".into(), path),
        ],
        throttle_secs: MODULE_THROTTLE_SECS,
        process_type: ProcessType::Standard,
        log: layout.log(&spec.short),
        socket: None,
        override_file: layout.override_file(&spec.short),
    }
}

/// The hub's agent: launchd holds `127.0.0.1:<port>` and starts the hub on
/// the first connection, as `parachute-hub.socket` does under systemd.
pub fn hub(units: &HubUnits, user_home: &Path, layout: &Layout) -> Agent {
    let exe = units.exe.to_string_lossy().into_owned();
    Agent {
        label: HUB_LABEL.into(),
        short: HUB_SHORT.into(),
        program_arguments: vec![
            exe,
            "serve".into(),
            "--idle-exit".into(),
            units.idle_exit_secs.to_string(),
        ],
        working_dir: Some(units.parachute_home.clone()),
        env: vec![
            (
                env_vars::PARACHUTE_HOME.into(),
                units.parachute_home.to_string_lossy().into_owned(),
            ),
            (
                env_vars::PARACHUTE_HUB_ORIGIN.into(),
                units.hub_origin.clone(),
            ),
            ("PATH".into(), tool_path(user_home, &units.exe)),
        ],
        throttle_secs: HUB_THROTTLE_SECS,
        process_type: ProcessType::Interactive,
        log: layout.log(HUB_SHORT),
        socket: Some(units.listen),
        override_file: layout.override_file(HUB_SHORT),
    }
}

/// The generated dictionary, before overrides.
pub fn dictionary(agent: &Agent) -> Dictionary {
    let mut d = Dictionary::new();
    let s = |v: &str| Value::String(v.to_string());
    d.insert("Label".into(), s(&agent.label));
    d.insert(
        "ProgramArguments".into(),
        Value::Array(agent.program_arguments.iter().map(|a| s(a)).collect()),
    );
    if let Some(wd) = &agent.working_dir {
        d.insert("WorkingDirectory".into(), s(&wd.to_string_lossy()));
    }
    let mut env = Dictionary::new();
    for (k, v) in &agent.env {
        env.insert(k.clone(), s(v));
    }
    d.insert("EnvironmentVariables".into(), Value::Dictionary(env));
    // An exit 0 (idle exit, `stop`) stays down; a crash is respawned.
    let mut keep_alive = Dictionary::new();
    keep_alive.insert("SuccessfulExit".into(), Value::Boolean(false));
    d.insert("KeepAlive".into(), Value::Dictionary(keep_alive));
    d.insert("RunAtLoad".into(), Value::Boolean(true));
    d.insert(
        "ThrottleInterval".into(),
        Value::Integer(agent.throttle_secs.into()),
    );
    d.insert("ProcessType".into(), s(agent.process_type.as_str()));
    let log = agent.log.to_string_lossy();
    d.insert("StandardOutPath".into(), s(&log));
    d.insert("StandardErrorPath".into(), s(&log));
    if let Some(addr) = agent.socket {
        let mut listener = Dictionary::new();
        listener.insert("SockNodeName".into(), s(&addr.ip().to_string()));
        listener.insert("SockServiceName".into(), s(&addr.port().to_string()));
        listener.insert("SockType".into(), s("stream"));
        let mut sockets = Dictionary::new();
        sockets.insert(SOCKET_NAME.into(), Value::Dictionary(listener));
        d.insert("Sockets".into(), Value::Dictionary(sockets));
    }
    d
}

/// The `Sockets` key `parachute serve` asks `launch_activate_socket` for.
pub const SOCKET_NAME: &str = "Listeners";

/// Overrides merged into `base`: a key in `overrides` replaces the generated
/// one, or adds to it; a dictionary merged into a dictionary is merged key by
/// key (so one extra environment variable does not drop `PATH`).
pub fn merge(base: &mut Dictionary, overrides: &Dictionary) {
    for (k, v) in overrides {
        match (base.get_mut(k), v) {
            (Some(Value::Dictionary(b)), Value::Dictionary(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The plist text: generated keys, `overrides` merged, keys sorted, with a
/// header comment naming the override file.
pub fn render(agent: &Agent, overrides: Option<&Dictionary>) -> String {
    let mut d = dictionary(agent);
    if let Some(o) = overrides {
        merge(&mut d, o);
    }
    let value = sorted(Value::Dictionary(d));
    let mut bytes = Vec::new();
    // Writing a plist of strings, integers and booleans into memory cannot fail.
    if let Err(e) = value.to_writer_xml(&mut bytes) {
        unreachable!("plist to memory: {e}");
    }
    let xml = String::from_utf8_lossy(&bytes);
    // The hub's agent is `init`'s to write; a module's is `install`'s.
    let writer = if agent.label == HUB_LABEL {
        "parachute init"
    } else {
        "parachute install"
    };
    let comment = header(&agent.override_file, writer);
    match xml.split_once("<plist version=\"1.0\">") {
        Some((prologue, rest)) => format!("{prologue}{comment}<plist version=\"1.0\">{rest}\n"),
        None => format!("{xml}\n"),
    }
}

/// The comment every generated plist carries (XML forbids `--` inside it).
fn header(override_file: &Path, writer: &str) -> String {
    let file = override_file.to_string_lossy().replace("--", "-\u{2010}");
    format!(
        "<!-- Generated by parachute — do not edit: `{writer}` rewrites this file.\n     \
         Put overrides in {file}\n     \
         (a plist dictionary whose keys replace or add to these; they survive every command). -->\n"
    )
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Dictionary(d) => {
            let mut out: Vec<(String, Value)> =
                d.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Dictionary(out.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// `PATH` for the agent: its own binary's directory, the per-user tool
/// directories, Homebrew's prefixes (Apple Silicon, then Intel), then the
/// system's. launchd starts agents with a bare `/usr/bin:/bin:/usr/sbin:/sbin`.
pub fn tool_path(user_home: &Path, argv0: &Path) -> String {
    let mut dirs: Vec<String> = Vec::new();
    if let Some(d) = argv0.parent().filter(|d| !d.as_os_str().is_empty()) {
        dirs.push(d.to_string_lossy().into_owned());
    }
    for rel in [".local/bin", ".bun/bin", ".cargo/bin"] {
        dirs.push(user_home.join(rel).to_string_lossy().into_owned());
    }
    for d in [
        "/opt/homebrew/bin",
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
        "/usr/sbin",
        "/sbin",
    ] {
        dirs.push(d.into());
    }
    let mut seen: Vec<String> = Vec::new();
    dirs.retain(|d| {
        let fresh = !seen.contains(d);
        seen.push(d.clone());
        fresh
    });
    dirs.join(":")
}

#[cfg(test)]
mod tests;
