//! Every module's unit: current (equal to a fresh render), its program
//! there, not failed; and `parachute-*.service` units no row owns.

use super::{Env, FIX, Finding, Repair, exec, fix_or};
use crate::lifecycle::service::HUB_SERVICE;
use crate::lifecycle::systemd::unit;
use crate::lifecycle::systemd::units;
use crate::lifecycle::{InitSystem, UnitState, spec, start};
use crate::manifest::{Row, Services};

pub async fn check(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    let (Some(init), Ok(services)) = (
        env.init(),
        Services::load_strict(&env.paths.services_json()),
    ) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for row in &services.rows {
        found.push(drift(env, init, row).await);
        found.extend(exec_target(env, row));
        if let Ok(state) = init.state(&row.unit()).await
            && is_broken(&state)
        {
            found.push(failed(row, &state));
        }
    }
    found
}

/// `unit:<short>`: the file on disk equals a fresh render of its row.
async fn drift(env: &Env<'_, impl InitSystem>, init: &impl InitSystem, row: &Row) -> Finding {
    let name = format!("unit:{}", row.short());
    let path = env.paths.unit_file(&row.unit());
    let reinstall = format!("parachute install <path-to-{}>", row.short());
    let spec = match spec::for_row(row, None, &env.spec) {
        Ok(Some(s)) => s,
        Ok(None) if path.is_file() => {
            return Finding::pass(
                name,
                format!("{} exists (no installDir to compare with)", path.display()),
            );
        }
        Ok(None) => return Finding::warn(name, "no unit and no installDir", reinstall),
        Err(e) => return Finding::fail(name, e.to_string(), reinstall),
    };
    let want = unit::render_service(&spec, units::hardening(env.paths, init).await);
    let repair = Repair::ModuleUnit {
        service: row.name.clone(),
    };
    let fix = fix_or(&format!("parachute restart {}", row.short()));
    match std::fs::read_to_string(&path) {
        Ok(have) if have == want => Finding::pass(name, format!("{} is current", row.unit())),
        Ok(_) => Finding::fail(
            name,
            format!(
                "{} differs from what parachute would write now",
                path.display()
            ),
            fix,
        )
        .repair(repair),
        Err(_) => Finding::fail(name, format!("{} is not written yet", path.display()), fix)
            .repair(repair),
    }
}

/// `exec:<short>`, only when the unit's program is gone.
fn exec_target(env: &Env<'_, impl InitSystem>, row: &Row) -> Option<Finding> {
    let text = std::fs::read_to_string(env.paths.unit_file(&row.unit())).ok()?;
    let program = exec::program(&text)?;
    if exec::runnable(&program) {
        return None;
    }
    let dir = row.install_dir.as_ref().map_or_else(
        || format!("<path-to-{}>", row.short()),
        |d| d.display().to_string(),
    );
    Some(Finding::fail(
        format!("exec:{}", row.short()),
        format!(
            "{} runs `{program}`, which is not there; it fails with status 203 at its next start",
            row.unit()
        ),
        format!("put it back, or re-register the module: parachute install {dir}"),
    ))
}

/// Failed, or crash-looping (`auto-restart`: systemd restarts it after each
/// exit, so it is not `failed` until the start limit is hit).
pub fn is_broken(s: &UnitState) -> bool {
    s.is_failed() || s.sub_state == "auto-restart" || start::missing_binary(s).is_some()
}

/// `failed`, or `keeps failing` for a unit systemd still restarts.
pub fn broken_word(s: &UnitState) -> &'static str {
    if s.is_failed() {
        "failed"
    } else {
        "keeps failing"
    }
}

/// `state:<short>`: the unit is failed or crash-looping.
fn failed(row: &Row, state: &UnitState) -> Finding {
    let short = row.short();
    let name = format!("state:{short}");
    let what = format!(
        "{} {}{}",
        row.unit(),
        broken_word(state),
        start::describe_exit(state)
    );
    if start::missing_binary(state).is_some() {
        return Finding::fail(
            name,
            what,
            format!("re-register the module: parachute install <path-to-{short}>"),
        );
    }
    Finding::fail(
        name,
        what,
        format!("see why: parachute logs {short}; then: {FIX} (or: parachute restart {short})"),
    )
    .repair(Repair::RestartUnit { unit: row.unit() })
}

/// `orphan:<unit>`: a `parachute-*.service` in our unit directory that no
/// services.json row owns (its row was removed, or a module wrote it).
/// Skipped when services.json cannot be read: every unit would look orphaned.
pub async fn orphans(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    let Ok(services) = Services::load_strict(&env.paths.services_json()) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for unit in orphan_units(env, &services) {
        let state = match env.init() {
            Some(init) => init
                .state(&unit)
                .await
                .map(|s| s.active_state)
                .unwrap_or_default(),
            None => String::new(),
        };
        let state = if state.is_empty() {
            String::new()
        } else {
            format!(" and is {state}")
        };
        found.push(
            Finding::fail(
                format!("orphan:{unit}"),
                format!("{unit} has no services.json row{state}"),
                format!("{FIX} --yes (stops, disables and deletes it)"),
            )
            .repair(Repair::RemoveOrphan { unit }),
        );
    }
    found
}

/// Unit file names in the unit directory that look like ours and have no row.
fn orphan_units(env: &Env<'_, impl InitSystem>, services: &Services) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(&env.paths.unit_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("parachute-") && n.ends_with(".service") && n != HUB_SERVICE)
        .filter(|n| !services.rows.iter().any(|r| r.unit() == *n))
        .collect();
    names.sort();
    names
}
