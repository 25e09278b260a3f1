//! The notice that the hub runs another binary than this one (another
//! path in its unit, or another version serving): said once per finding,
//! on the first command after the binary was replaced. The finding and
//! the "once" live in `lifecycle::drift`; this file only words it.

use std::fmt::Write as _;
use std::path::Path;

use super::Context;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::drift::{self, Drift};
use crate::lifecycle::{InitSystem, Kind};

/// Look, and say it if it is news.
pub async fn warn(cx: &Context) {
    // The same lookup `init` and `upgrade` pin into the unit.
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let files = Backend::for_paths(&cx.paths);
    if !drift::has_hub_files(&cx.paths, &files) {
        return;
    }
    // No user manager: the hub's files alone are compared.
    let (init, reachable) = match files.connect().await {
        Ok(init) => (init, true),
        Err(_) => (Backend::for_paths(&cx.paths), false),
    };
    let found = drift::detect(&cx.paths, &init, reachable, &exe, cx.hub_port).await;
    if drift::first_notice(&cx.paths, &found, &exe) {
        eprint!("{}", wording(&found, &exe, init.kind()));
    }
}

/// What holds the hub's pinned binary, in the backend's own word.
fn holder(kind: Kind) -> &'static str {
    match kind {
        Kind::Systemd => "unit",
        Kind::Launchd => "agent",
    }
}

fn wording(d: &Drift, exe: &Path, kind: Kind) -> String {
    let mut s = String::new();
    if let Some(pinned) = &d.unit_exe {
        let gone = if Path::new(pinned).is_file() {
            ""
        } else {
            " (no longer there)"
        };
        let _ = writeln!(
            s,
            "⚠ the hub's {} runs `{pinned}`{gone}, but this is `{}`.",
            holder(kind),
            exe.display()
        );
    }
    if let Some(running) = &d.running_version {
        let _ = writeln!(
            s,
            "⚠ the running hub is version {running}, but this binary is {}.",
            drift::VERSION
        );
    }
    s.push_str(
        "  Point the units at this binary and restart the hub without dropping a connection:  parachute upgrade\n  \
         (said once)\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_both_findings_and_the_fix() {
        let d = Drift {
            unit_exe: Some("/nowhere/parachute".into()),
            running_version: Some("0.0.1".into()),
        };
        let text = wording(&d, Path::new("/usr/bin/parachute"), Kind::Systemd);
        assert!(text.contains(
            "the hub's unit runs `/nowhere/parachute` (no longer there), but this is `/usr/bin/parachute`"
        ));
        assert!(text.contains(&format!(
            "the running hub is version 0.0.1, but this binary is {}",
            drift::VERSION
        )));
        assert!(text.contains("parachute upgrade"));
    }

    #[test]
    fn under_launchd_it_is_the_agent() {
        let d = Drift {
            unit_exe: Some("/nowhere/parachute".into()),
            running_version: None,
        };
        let text = wording(&d, Path::new("/opt/homebrew/bin/parachute"), Kind::Launchd);
        assert!(
            text.starts_with("⚠ the hub's agent runs `/nowhere/parachute`"),
            "{text}"
        );
    }
}
