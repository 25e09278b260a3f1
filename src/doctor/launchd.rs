//! `doctor` under launchd: the hub's agent and each module's, in place of
//! the systemd unit checks. For each agent: its plist is there and equal
//! to what parachute writes now (overrides merged), it is loaded, the
//! crash-loop guard has not booted it out; and the log directory launchd
//! writes their output to is writable.

use std::path::Path;

use super::{Env, FIX, Finding, Repair, exec, fix_or};
use crate::lifecycle::launchd::agents;
use crate::lifecycle::launchd::layout::{HUB_LABEL, LABEL_PREFIX, Layout, label};
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::{InitSystem, UnitState, hub, spec};
use crate::manifest::{Row, Services};

/// `launchd`: what stands in for the user manager (there is no lingering).
pub fn manager(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    match &env.init {
        Ok(_) => vec![Finding::pass(
            "launchd",
            "agents load from ~/Library/LaunchAgents while you are logged in (launchd has no lingering)",
        )],
        Err(reason) => vec![Finding::fail(
            "launchd",
            reason.clone(),
            "run parachute as the logged-in user (not through sudo)",
        )],
    }
}

pub async fn check(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    let Some(init) = env.init() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    found.extend(log_dir(init));
    found.extend(hub_agent(env, init).await);
    if let Ok(services) = Services::load_strict(&env.paths.services_json()) {
        for row in &services.rows {
            found.extend(module_agent(env, init, row).await);
        }
    }
    found
}

/// `log-dir`: launchd opens `StandardOutPath` itself and does not create
/// its directory; an agent whose log cannot be opened does not start.
fn log_dir(init: &impl InitSystem) -> Option<Finding> {
    let dir = init.log_dir()?;
    let shown = dir.display();
    Some(match tempfile::NamedTempFile::new_in(&dir) {
        Ok(_) => Finding::pass("log-dir", format!("{shown} is writable")),
        Err(e) => Finding::fail(
            "log-dir",
            format!(
                "{shown} is not writable ({e}): launchd cannot open the agents' logs, so they do not start"
            ),
            format!("mkdir -p '{shown}' && chmod u+rwx '{shown}'"),
        ),
    })
}

/// `hub-agent`, `hub-exec`, `hub-loaded`, `hub-health`.
async fn hub_agent(env: &Env<'_, impl InitSystem>, init: &impl InitSystem) -> Vec<Finding> {
    if !init.has_hub(env.paths) {
        return vec![Finding::fail(
            "hub-agent",
            format!("the hub is not installed: there is no {HUB_LABEL} agent"),
            "parachute init",
        )];
    }
    let spec = hub::spec(env.paths, env.exe.clone(), env.hub_port, env.hub_origin);
    let mut found = vec![match init.render_hub(env.paths, &spec).await {
        Ok(files) => current("hub-agent", &files, "parachute init", Repair::HubUnits),
        // An unusable override file: the error names it.
        Err(e) => Finding::fail(
            "hub-agent",
            e.to_string(),
            "fix or remove that override file, then: parachute init",
        ),
    }];
    let (Ok(state), Ok(service)) = (init.state(HUB_SOCKET).await, init.state(HUB_SERVICE).await)
    else {
        found.push(Finding::fail(
            "hub-loaded",
            "launchctl did not report the hub's agent",
            format!("launchctl print gui/$(id -u)/{HUB_LABEL}"),
        ));
        return found;
    };
    found
        .extend(missing_program("hub-exec", HUB_LABEL, &state).map(|f| f.repair(Repair::HubUnits)));
    let listen = hub::listen_addr(env.hub_port);
    let restart = Repair::RestartUnit {
        unit: HUB_SERVICE.into(),
    };
    if state.is_failed() || service.sub_state == "auto-restart" {
        let why = trip(env, "hub");
        found.push(crash_looped("hub-loaded", HUB_LABEL, &service, why).repair(restart));
    } else if state.is_active() {
        found.push(Finding::pass(
            "hub-loaded",
            format!("{HUB_LABEL} is loaded: launchd listens on {listen}"),
        ));
        found.push(super::hub::health(listen).await);
    } else {
        found.push(
            not_loaded("hub-loaded", HUB_LABEL, "hub", &state, true).repair(Repair::StartHubSocket),
        );
    }
    found
}

/// `agent:<short>`, `exec:<short>`, `loaded:<short>` for one module.
async fn module_agent(
    env: &Env<'_, impl InitSystem>,
    init: &impl InitSystem,
    row: &Row,
) -> Vec<Finding> {
    let short = row.short();
    let unit = row.unit();
    let name = format!("agent:{short}");
    let reinstall = format!("parachute install <path-to-{short}>");
    let Some(path) = init.unit_path(env.paths, &unit) else {
        return Vec::new();
    };
    let mut found = vec![match spec::for_row(row, None, &env.spec) {
        Ok(Some(s)) => {
            let text = init.render_service(env.paths, &s).await.text;
            let repair = Repair::ModuleUnit {
                service: row.name.clone(),
            };
            let alt = format!("parachute restart {short}");
            current(&name, &[(path, text)], &alt, repair)
        }
        Ok(None) if path.is_file() => Finding::pass(
            name,
            format!("{} exists (no installDir to compare with)", path.display()),
        ),
        Ok(None) => return vec![Finding::warn(name, "no agent and no installDir", reinstall)],
        Err(e) => return vec![Finding::fail(name, e.to_string(), reinstall)],
    }];
    let Ok(state) = init.state(&unit).await else {
        return found;
    };
    let label = label(short);
    found.extend(missing_program(&format!("exec:{short}"), &label, &state));
    let loaded = format!("loaded:{short}");
    found.push(if state.is_failed() || state.sub_state == "auto-restart" {
        crash_looped(&loaded, &label, &state, trip(env, short)).repair(Repair::RestartUnit { unit })
    } else if state.load_state == "not-found" || state.sub_state == "dead" && state.main_pid == 0 {
        not_loaded(&loaded, &label, short, &state, false)
    } else {
        Finding::pass(loaded, format!("{label} is {}", state.sub_state))
    });
    found
}

/// Pass when every file on disk equals what parachute writes now; else a
/// fault that `repair` rewrites.
fn current(
    check: &str,
    files: &[(std::path::PathBuf, String)],
    alt: &str,
    repair: Repair,
) -> Finding {
    let differ: Vec<String> = files
        .iter()
        .filter(|(path, text)| std::fs::read_to_string(path).ok().as_ref() != Some(text))
        .map(|(path, _)| path.display().to_string())
        .collect();
    let shown = |ps: &[(std::path::PathBuf, String)]| {
        ps.iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if differ.is_empty() {
        return Finding::pass(check, format!("{} is current", shown(files)));
    }
    let missing = differ.iter().all(|p| !Path::new(p).exists());
    let what = if missing {
        format!("{} is not written yet", differ.join(", "))
    } else {
        format!(
            "{} differs from what parachute would write now (edited by hand? keep local changes in $PARACHUTE_HOME/launchd/<name>.override.plist)",
            differ.join(", ")
        )
    };
    Finding::fail(check, what, fix_or(alt)).repair(repair)
}

/// The agent's `ProgramArguments[0]` is gone (launchd then fails every spawn).
fn missing_program(check: &str, label: &str, state: &UnitState) -> Option<Finding> {
    let p = &state.exec_path;
    if p.is_empty() || exec::runnable(p) {
        return None;
    }
    Some(Finding::fail(
        check,
        format!("{label} runs `{p}`, which is not there (the binary moved?)"),
        fix_or("parachute init"),
    ))
}

/// What the crash-loop guard recorded when it booted `short` out.
fn trip(env: &Env<'_, impl InitSystem>, short: &str) -> Option<String> {
    let layout = Layout::new(env.spec.user_home, &env.paths.home);
    agents::record(&layout, short)
        .tripped
        .map(|t| t.reason(short))
}

/// Booted out by the crash-loop guard (`why` is its record), or exiting
/// and being respawned.
fn crash_looped(check: &str, label: &str, state: &UnitState, why: Option<String>) -> Finding {
    let short = label.strip_prefix(LABEL_PREFIX).unwrap_or(label);
    let what = match why {
        Some(why) if state.is_failed() => format!("{label}: {why}"),
        _ => format!(
            "{label} keeps crashing (last exit code {}); {}",
            state.exec_main_status,
            if state.is_failed() {
                "parachute booted it out"
            } else {
                "launchd keeps respawning it"
            }
        ),
    };
    Finding::fail(
        check,
        what,
        format!("see why: parachute logs {short}; then: {FIX} (or: parachute restart {short})"),
    )
}

/// Not loaded: a fault for the hub (nothing answers its port), a note for
/// a module (it may have been stopped on purpose).
fn not_loaded(check: &str, label: &str, short: &str, state: &UnitState, hub: bool) -> Finding {
    let disabled = state.unit_file_state == "disabled";
    let what = format!(
        "{label} is not {}{}",
        if hub {
            "loaded: nothing listens for the hub"
        } else {
            "running"
        },
        if disabled { " (it is disabled)" } else { "" }
    );
    let start = if disabled {
        format!("parachute enable {short} && parachute start {short}")
    } else {
        format!("parachute start {short}")
    };
    if hub {
        Finding::fail(check, what, fix_or(&start))
    } else {
        Finding::warn(check, what, start)
    }
}
