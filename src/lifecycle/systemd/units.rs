//! Unit files on disk: written only when their text changed, never touching
//! the user's drop-ins (`<unit>.d/`), and the cached hardening probe.

use std::fs;
use std::io::ErrorKind;

use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::systemd::hardening::{Hardening, Ns};
use crate::lifecycle::systemd::unit;
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
/// once and cached, so every render agrees. Each namespace directive is
/// tried on its own (hosts differ: a container may allow `ProtectHome=` but
/// not `ProtectKernelTunables=`), then the survivors together; if the
/// combination fails, none is used.
pub async fn hardening(paths: &Paths, init: &impl InitSystem) -> Hardening {
    if let Some(h) = cached_hardening(paths) {
        return h;
    }
    let mut works = Vec::new();
    for n in Ns::ALL {
        if init.probe_namespaces(&[n]).await.unwrap_or(false) {
            works.push(n);
        }
    }
    if !works.is_empty() && !init.probe_namespaces(&works).await.unwrap_or(false) {
        works.clear();
    }
    let h = Hardening::of(&works);
    let cache = Cache {
        probe: PROBE_VERSION,
        supported: works.iter().map(|n| n.key().to_string()).collect(),
    };
    // A cache that fails to write only costs a probe next time.
    if let (Ok(()), Ok(json)) = (paths.ensure_home(), serde_json::to_vec(&cache)) {
        let _ = atomic::write(&paths.hardening_cache(), &json, 0o600);
    }
    h
}

/// Bumped whenever the probed set changes meaning, so an older cache (which
/// answered for fewer directives) is probed again instead of trusted.
const PROBE_VERSION: u32 = 2;

#[derive(serde::Serialize, serde::Deserialize)]
struct Cache {
    probe: u32,
    supported: Vec<String>,
}

/// The cached probe result, if any (readers that cannot probe use it).
pub fn cached_hardening(paths: &Paths) -> Option<Hardening> {
    let bytes = fs::read(paths.hardening_cache()).ok()?;
    let cache: Cache = serde_json::from_slice(&bytes).ok()?;
    if cache.probe != PROBE_VERSION {
        return None;
    }
    let ns: Option<Vec<Ns>> = cache.supported.iter().map(|k| Ns::parse(k)).collect();
    ns.map(|ns| Hardening::of(&ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::fake::FakeInit;

    /// A manager where only `works` can be set up, and `conflict` decides
    /// whether they fail together.
    fn probe_only(works: &[Ns], conflict: bool) -> FakeInit {
        FakeInit {
            namespaces: works.to_vec(),
            namespaces_conflict: conflict,
            ..FakeInit::default()
        }
    }

    fn probes(init: &FakeInit) -> usize {
        init.calls()
            .iter()
            .filter(|c| c.starts_with("probe "))
            .count()
    }

    fn paths(tmp: &tempfile::TempDir) -> Paths {
        Paths {
            home: tmp.path().join("home"),
            unit_dir: tmp.path().join("units"),
        }
    }

    /// Issue 16: a host that allows `ProtectSystem=` but not
    /// `ProtectKernelTunables=` (this CI container) gets exactly what works,
    /// and a cache from the old all-or-nothing probe is probed again.
    #[tokio::test]
    async fn each_namespace_directive_is_probed_and_an_old_cache_is_not_trusted() {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = paths(&tmp);
        fs::create_dir_all(&paths.home).expect("mkdir");
        fs::write(paths.hardening_cache(), r#"{"namespaces":true}"#).expect("old cache");
        let init = probe_only(&[Ns::ProtectSystem, Ns::PrivateTmp, Ns::ProtectHome], false);
        let h = hardening(&paths, &init).await;
        assert_eq!(h.supported(), init.namespaces);
        assert_eq!(probes(&init), Ns::ALL.len() + 1);
        // Cached now: the next render asks nobody.
        assert_eq!(cached_hardening(&paths), Some(h));
        assert_eq!(hardening(&paths, &init).await, h);
        assert_eq!(probes(&init), Ns::ALL.len() + 1);
    }

    #[tokio::test]
    async fn directives_that_fail_together_are_all_left_out() {
        let tmp = tempfile::tempdir().expect("tmp");
        let init = probe_only(&[Ns::ProtectSystem, Ns::PrivateDevices], true);
        assert_eq!(hardening(&paths(&tmp), &init).await, Hardening::NONE);
    }

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
