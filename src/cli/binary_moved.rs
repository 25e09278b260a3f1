//! The hub's unit pins this binary's path at `parachute init`. After
//! `cargo install` → a package, or a `brew upgrade`, the path can change
//! and the old one may be gone (status 203 on the next start). Commands
//! that talk to units check the pin and say so, once per command, the way
//! `systemctl` repeats "run daemon-reload" until it is done (issue 9 item
//! 9, issue 15).

use std::path::Path;

use crate::lifecycle::systemd::unit::{HUB_SERVICE, exec_line};
use crate::paths::Paths;

/// What the hub unit's `ExecStart=` runs, when it is not `exe`.
pub fn pinned_elsewhere(paths: &Paths, exe: &Path) -> Option<String> {
    let text = std::fs::read_to_string(paths.unit_file(HUB_SERVICE)).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("ExecStart="))?;
    let ours = exec_line(&[exe.to_string_lossy().into_owned()]);
    if line == ours || line.starts_with(&format!("{ours} ")) {
        return None;
    }
    // For the message only: the first word, unquoted.
    let first = line.split_whitespace().next().unwrap_or(line);
    Some(first.trim_matches('"').to_string())
}

/// Print the notice if the hub unit runs another binary than this one.
pub fn warn(paths: &Paths) {
    // The same lookup `init` pins into the unit.
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    if let Some(pinned) = pinned_elsewhere(paths, &exe) {
        let gone = if Path::new(&pinned).is_file() {
            ""
        } else {
            " (no longer there)"
        };
        eprintln!(
            "⚠ the hub's unit runs `{pinned}`{gone}, but this is `{}`.\n  \
             Point the units at this binary:  parachute init",
            exe.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths_with_hub_unit(exec: &str) -> (tempfile::TempDir, Paths) {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: tmp.path().join("home"),
            unit_dir: tmp.path().join("units"),
        };
        std::fs::create_dir_all(&paths.unit_dir).expect("mkdir");
        std::fs::write(
            paths.unit_file(HUB_SERVICE),
            format!("[Service]\nType=notify\nExecStart={exec}\n"),
        )
        .expect("write");
        (tmp, paths)
    }

    #[test]
    fn the_same_binary_is_not_reported() {
        let (_t, paths) = paths_with_hub_unit("/usr/bin/parachute serve --idle-exit 600");
        assert_eq!(
            pinned_elsewhere(&paths, Path::new("/usr/bin/parachute")),
            None
        );
    }

    #[test]
    fn another_path_is_reported_with_the_pinned_one() {
        let (_t, paths) =
            paths_with_hub_unit("/home/ada/.cargo/bin/parachute serve --idle-exit 600");
        assert_eq!(
            pinned_elsewhere(&paths, Path::new("/usr/bin/parachute")).as_deref(),
            Some("/home/ada/.cargo/bin/parachute")
        );
        // A prefix of the path is another path.
        let (_t, paths) = paths_with_hub_unit("/usr/bin/parachute2 serve");
        assert!(pinned_elsewhere(&paths, Path::new("/usr/bin/parachute")).is_some());
    }

    #[test]
    fn no_hub_unit_means_nothing_to_say() {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: tmp.path().join("home"),
            unit_dir: tmp.path().join("units"),
        };
        assert_eq!(
            pinned_elsewhere(&paths, Path::new("/usr/bin/parachute")),
            None
        );
    }
}
