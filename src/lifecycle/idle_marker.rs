//! "The hub stopped this module for being idle": a marker file per row
//! name under `$PARACHUTE_HOME/.idle-stopped/`, written by the hub after
//! an idle stop and removed by every start, so `parachute status` can tell
//! an idle-stopped module (it starts on the next request) from one someone
//! stopped. A file, not a store row: `status` runs without the hub's store.

use crate::paths::Paths;

/// Note that the hub stopped `name` (a row name) for being idle.
pub fn set(paths: &Paths, name: &str) {
    let dir = paths.idle_stopped_dir();
    let res = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join(name), b""));
    if let Err(e) = res {
        tracing::warn!(service = name, error = %e, "cannot record the idle stop");
    }
}

/// Forget it: the module was started (or stopped by someone else).
pub fn clear(paths: &Paths, name: &str) {
    let _ = std::fs::remove_file(paths.idle_stopped_dir().join(name));
}

/// Whether the hub's idle stop is the last thing that happened to `name`.
pub fn is_set(paths: &Paths, name: &str) -> bool {
    // Row names are validated (no `/`), but a hand-edited one must not
    // point outside the directory.
    !name.contains('/') && paths.idle_stopped_dir().join(name).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_set_and_cleared_per_module() {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: tmp.path().to_path_buf(),
            unit_dir: tmp.path().join("units"),
        };
        assert!(!is_set(&paths, "parachute-x"));
        set(&paths, "parachute-x");
        assert!(is_set(&paths, "parachute-x"));
        assert!(!is_set(&paths, "parachute-y"));
        clear(&paths, "parachute-x");
        assert!(!is_set(&paths, "parachute-x"));
        assert!(!is_set(&paths, "../parachute-x"));
    }
}
