//! Unit files on disk: written only when their text changed, never touching
//! the user's drop-ins (`<unit>.d/`), and the cached hardening probe.

use std::fs;
use std::io::ErrorKind;

use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::systemd::unit::{self, Hardening};
use crate::manifest::atomic;
use crate::paths::Paths;

/// Write `text` as `unit` if it differs from what is there. Returns whether
/// the file changed (so the caller knows to reload the manager).
pub fn write_if_changed(paths: &Paths, unit: &str, text: &str) -> Result<bool, Error> {
    let path = paths.unit_file(unit);
    match fs::read_to_string(&path) {
        Ok(current) if current == text => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&path, e)),
    }
    paths.ensure_unit_dir()?;
    atomic::write(&path, text.as_bytes(), 0o644)?;
    Ok(true)
}

/// Remove our unit file; returns whether there was one.
pub fn remove(paths: &Paths, unit: &str) -> Result<bool, Error> {
    let path = paths.unit_file(unit);
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&path, e)),
    }
}

pub fn exists(paths: &Paths, unit: &str) -> bool {
    paths.unit_file(unit).is_file()
}

/// `parachute.target`, written if needed; returns whether it changed.
pub fn ensure_target(paths: &Paths) -> Result<bool, Error> {
    write_if_changed(paths, unit::TARGET, unit::TARGET_TEXT)
}

/// What hardening this manager honours: read from the cache, else probed
/// once (a transient unit) and cached, so every render agrees.
pub async fn hardening(paths: &Paths, init: &impl InitSystem) -> Hardening {
    if let Some(h) = cached_hardening(paths) {
        return h;
    }
    let h = Hardening {
        namespaces: init.probe_namespaces().await.unwrap_or(false),
    };
    // A cache that fails to write only costs a probe next time.
    if let (Ok(()), Ok(json)) = (paths.ensure_home(), serde_json::to_vec(&h)) {
        let _ = atomic::write(&paths.hardening_cache(), &json, 0o600);
    }
    h
}

/// The cached probe result, if any (readers that cannot probe use it).
pub fn cached_hardening(paths: &Paths) -> Option<Hardening> {
    let bytes = fs::read(paths.hardening_cache()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_when_the_text_changes_and_leaves_drop_ins_alone() {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: tmp.path().join("home"),
            unit_dir: tmp.path().join("units"),
        };
        let dropin = paths.unit_dir.join("parachute-x.service.d");
        fs::create_dir_all(&dropin).expect("mkdir");
        fs::write(dropin.join("override.conf"), "[Service]\nNice=5\n").expect("write");
        assert!(write_if_changed(&paths, "parachute-x.service", "a\n").expect("w"));
        assert!(!write_if_changed(&paths, "parachute-x.service", "a\n").expect("w"));
        assert!(write_if_changed(&paths, "parachute-x.service", "b\n").expect("w"));
        assert!(remove(&paths, "parachute-x.service").expect("rm"));
        assert!(!remove(&paths, "parachute-x.service").expect("rm"));
        assert_eq!(
            fs::read_to_string(dropin.join("override.conf")).expect("read"),
            "[Service]\nNice=5\n"
        );
    }
}
