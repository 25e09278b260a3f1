//! How exposed our units are (issue 16), for `parachute doctor`: the figure
//! `systemd-analyze --user security` gives each unit (0 = confined,
//! 10 = exposed), and drop-ins that take back the hub's sandboxing.
//!
//! The figure comes from systemd's own analysis rather than a copy of its
//! weights here: the same number the user gets when they check by hand.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::hardening::{BASE, Ns};
use super::unit::HUB_SERVICE;
use crate::paths::Paths;

/// One thing `doctor` reports about confinement.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// `unit` rates `exposure` in systemd's analysis.
    Figure {
        unit: String,
        exposure: f64,
    },
    NoFigure {
        unit: String,
        why: String,
    },
    /// A drop-in loosens the hub.
    Weakened(Weakening),
}

/// The figure of each of `units` whose file we wrote, and every drop-in
/// line that loosens the hub.
pub fn check(paths: &Paths, units: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for unit in units.iter().filter(|u| paths.unit_file(u).is_file()) {
        out.push(match analyze(unit) {
            Ok(exposure) => Finding::Figure {
                unit: unit.clone(),
                exposure,
            },
            Err(e) => Finding::NoFigure {
                unit: unit.clone(),
                why: e.to_string(),
            },
        });
    }
    if let Ok(text) = fs::read_to_string(paths.unit_file(HUB_SERVICE)) {
        let dirs = drop_in_dirs(&paths.unit_dir, HUB_SERVICE);
        out.extend(weakenings(&dirs, &text).into_iter().map(Finding::Weakened));
    }
    out
}

/// Why no figure could be had.
#[derive(Debug, thiserror::Error)]
pub enum ExposureError {
    #[error("`systemd-analyze` cannot be run ({0}); it ships with systemd")]
    Missing(String),
    #[error("`systemd-analyze --user security {unit}` gave no figure: {detail}")]
    NoFigure { unit: String, detail: String },
}

/// `systemd-analyze --user security <unit>`'s overall exposure.
pub fn analyze(unit: &str) -> Result<f64, ExposureError> {
    let out = Command::new("systemd-analyze")
        .args(["--user", "security", "--no-pager", unit])
        .output()
        .map_err(|e| ExposureError::Missing(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    overall(&stdout, unit).ok_or_else(|| ExposureError::NoFigure {
        unit: unit.to_string(),
        detail: String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("no output")
            .to_string(),
    })
}

/// The figure in "→ Overall exposure level for <unit>: 2.3 OK 🙂".
pub fn overall(stdout: &str, unit: &str) -> Option<f64> {
    let marker = format!("Overall exposure level for {unit}:");
    stdout.lines().find_map(|l| {
        let (_, rest) = l.split_once(&marker)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Where drop-ins for `unit` can live, in the user's and the admin's
/// configuration (`systemd.unit(5)`: `<unit>.d/`, the prefix
/// `parachute-.service.d/` and the type-wide `service.d/`).
pub fn drop_in_dirs(user_unit_dir: &Path, unit: &str) -> Vec<PathBuf> {
    let prefix = unit.split_once('-').map(|(p, _)| format!("{p}-.service.d"));
    let mut dirs = Vec::new();
    for base in [user_unit_dir, Path::new("/etc/systemd/user")] {
        dirs.push(base.join(format!("{unit}.d")));
        if let Some(p) = &prefix {
            dirs.push(base.join(p));
        }
        dirs.push(base.join("service.d"));
    }
    dirs
}

/// A drop-in line that loosens a directive the hub unit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weakening {
    pub file: PathBuf,
    pub line: usize,
    pub directive: String,
    pub value: String,
    /// What the hub unit has (its lines for the directive, joined by `; `).
    pub ours: String,
}

/// Lines of `*.conf` in `dirs` that assign, in `[Service]`, a hardening
/// directive `unit_text` sets to anything but what it sets. Adding to a deny
/// list (`SystemCallFilter=~…`) and restating our own value are fine.
pub fn weakenings(dirs: &[PathBuf], unit_text: &str) -> Vec<Weakening> {
    let ours = hardening_assignments(unit_text);
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        files.sort();
        for file in files {
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            for (line, key, value) in service_assignments(&text) {
                let mine: Vec<&str> = ours
                    .iter()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, v)| v.as_str())
                    .collect();
                if mine.is_empty() || mine.contains(&value.as_str()) || narrows(&key, &value) {
                    continue;
                }
                found.push(Weakening {
                    file: file.clone(),
                    line,
                    directive: key,
                    value,
                    ours: mine.join("; "),
                });
            }
        }
    }
    found
}

/// `~…` on a list directive removes from what is allowed.
fn narrows(key: &str, value: &str) -> bool {
    matches!(
        key,
        "SystemCallFilter" | "RestrictAddressFamilies" | "CapabilityBoundingSet"
    ) && value.starts_with('~')
}

/// `(key, value)` of the hardening lines in a rendered unit.
fn hardening_assignments(unit_text: &str) -> Vec<(String, String)> {
    let keys: Vec<&str> = BASE
        .iter()
        .map(|(k, _)| *k)
        .chain(Ns::ALL.iter().map(|n| n.key()))
        .chain(["ReadWritePaths"])
        .collect();
    service_assignments(unit_text)
        .into_iter()
        .filter(|(_, k, _)| keys.contains(&k.as_str()))
        .map(|(_, k, v)| (k, v))
        .collect()
}

/// `(line number, key, value)` of each assignment in `[Service]`.
fn service_assignments(text: &str) -> Vec<(usize, String, String)> {
    let mut in_service = false;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.starts_with('[') {
            in_service = l == "[Service]";
            continue;
        }
        if !in_service || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some((k, v)) = l.split_once('=') {
            out.push((i + 1, k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::systemd::hardening::Hardening;
    use crate::lifecycle::systemd::hub_unit::{HubUnits, IDLE_EXIT_SECS, render_service};

    fn hub_text() -> String {
        render_service(
            &HubUnits {
                exe: "/usr/bin/parachute".into(),
                listen: "127.0.0.1:1939".parse().expect("addr"),
                parachute_home: "/home/ada/.parachute".into(),
                hub_origin: "http://127.0.0.1:1939".into(),
                idle_exit_secs: IDLE_EXIT_SECS,
            },
            Hardening::all(),
        )
    }

    #[test]
    fn the_overall_figure_is_read_for_the_unit_asked_about() {
        let out = "✗ PrivateNetwork= Service has access to the host's network 0.5\n\n\
                   → Overall exposure level for parachute-hub.service: 2.3 OK 🙂\n";
        assert_eq!(overall(out, "parachute-hub.service"), Some(2.3));
        assert_eq!(overall(out, "parachute-vault.service"), None);
        assert_eq!(overall("", "parachute-hub.service"), None);
    }

    #[test]
    fn drop_ins_that_loosen_the_hub_are_named_and_tightening_ones_are_not() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("parachute-hub.service.d");
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(
            dir.join("10-mine.conf"),
            "[Unit]\nSystemCallFilter=\n[Service]\n# NoNewPrivileges=no\nNice=5\n\
             SystemCallFilter=~@debug\nUMask=0077\nPrivateNetwork=yes\n",
        )
        .expect("write");
        fs::write(
            dir.join("20-loose.conf"),
            "[Service]\nSystemCallFilter=\nMemoryDenyWriteExecute=no\nProtectHome=no\n",
        )
        .expect("write");
        fs::write(dir.join("notes.txt"), "[Service]\nNoNewPrivileges=no\n").expect("write");
        let found = weakenings(&[dir.clone(), tmp.path().join("absent")], &hub_text());
        let got: Vec<(String, usize, &str, &str)> = found
            .iter()
            .map(|w| {
                (
                    w.file
                        .file_name()
                        .expect("name")
                        .to_string_lossy()
                        .into_owned(),
                    w.line,
                    w.directive.as_str(),
                    w.value.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("20-loose.conf".to_string(), 2, "SystemCallFilter", ""),
                (
                    "20-loose.conf".to_string(),
                    3,
                    "MemoryDenyWriteExecute",
                    "no"
                ),
                ("20-loose.conf".to_string(), 4, "ProtectHome", "no"),
            ]
        );
        assert_eq!(found[0].ours, "@system-service; ~@privileged @resources");
    }

    #[test]
    fn drop_in_dirs_cover_the_unit_its_prefix_and_the_type() {
        let dirs = drop_in_dirs(
            Path::new("/h/.config/systemd/user"),
            "parachute-hub.service",
        );
        for want in [
            "/h/.config/systemd/user/parachute-hub.service.d",
            "/h/.config/systemd/user/parachute-.service.d",
            "/h/.config/systemd/user/service.d",
            "/etc/systemd/user/parachute-hub.service.d",
        ] {
            assert!(dirs.contains(&PathBuf::from(want)), "{want}: {dirs:?}");
        }
    }
}
