//! Each unit's `systemd-analyze` exposure figure, and drop-ins that loosen
//! the hub's sandbox (issue 16). A loosening drop-in is a warning, not a
//! fault: the user may mean it, and a fault would keep doctor red forever.

use super::{Env, Finding};
use crate::lifecycle::InitSystem;
use crate::lifecycle::service::HUB_SERVICE;
use crate::lifecycle::systemd::exposure::{self, Finding as Exposure};
use crate::manifest::{Row, Services};

pub fn check(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    if env.init().is_none() {
        return Vec::new();
    }
    let rows = Services::load_strict(&env.paths.services_json())
        .map(|s| s.rows)
        .unwrap_or_default();
    let units: Vec<String> = std::iter::once(HUB_SERVICE.to_string())
        .chain(rows.iter().map(Row::unit))
        .collect();
    exposure::check(env.paths, &units)
        .into_iter()
        .map(finding)
        .collect()
}

fn finding(e: Exposure) -> Finding {
    match e {
        Exposure::Figure { unit, exposure } => Finding::pass(
            format!("exposure:{}", short(&unit)),
            format!(
                "{unit} rates {exposure:.1} in `systemd-analyze --user security` (0 confined, 10 exposed)"
            ),
        ),
        Exposure::NoFigure { unit, why } => Finding::warn(
            format!("exposure:{}", short(&unit)),
            why,
            format!("systemd-analyze --user security {unit}"),
        ),
        Exposure::Weakened(w) => Finding::warn(
            "hub-drop-in",
            format!(
                "{}:{} sets `{}={}`, loosening the hub's `{}={}`",
                w.file.display(),
                w.line,
                w.directive,
                w.value,
                w.directive,
                w.ours
            ),
            format!(
                "remove that line from {}, then: systemctl --user daemon-reload && parachute restart hub",
                w.file.display()
            ),
        ),
    }
}

/// `parachute-vault.service` → `vault`.
fn short(unit: &str) -> &str {
    unit.strip_prefix("parachute-")
        .and_then(|u| u.strip_suffix(".service"))
        .unwrap_or(unit)
}
