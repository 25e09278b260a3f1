//! Whether the hub the units run is this binary: after a package upgrade,
//! `brew upgrade` or `cargo install`, the hub's unit may pin another path
//! (the old one possibly gone: status 203 on the next start), or a hub
//! started from the old binary may still be serving another version. The
//! CLI says so once per finding (issue 9 item 9, issue 15), remembered in
//! `$PARACHUTE_HOME` (see [`first_notice`]), and `parachute upgrade` fixes
//! both.

use std::path::Path;
use std::time::Duration;

use crate::fsio;
use crate::lifecycle::InitSystem;
use crate::lifecycle::service::HUB_SERVICE;
use crate::lifecycle::systemd::unit::exec_line;
use crate::paths::Paths;

pub use crate::version::VERSION;
/// How long the running hub's `/health` may take before it counts as unknown.
const HEALTH_TIMEOUT: Duration = Duration::from_millis(1500);
/// Most bytes read from `/health` (it is a few dozen; the port may be another program's).
const HEALTH_CAP: usize = 64 * 1024;
/// The `service` a hub's `/health` names (`hub::SERVICE`; the layer below
/// the hub cannot import it).
const HUB_HEALTH_SERVICE: &str = "parachute-hub";

/// What differs between this binary and the hub's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// The program the hub's unit (or launchd agent) runs, when it is not
    /// this binary.
    pub unit_exe: Option<String>,
    /// The running hub's `/health` version, when it is not [`VERSION`].
    pub running_version: Option<String>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.unit_exe.is_none() && self.running_version.is_none()
    }

    /// One line naming this finding, for "said already" (see [`first_notice`]).
    fn key(&self, exe: &Path) -> String {
        format!(
            "exe={} version={VERSION} unit_exe={} running_version={}\n",
            exe.display(),
            self.unit_exe.as_deref().unwrap_or("-"),
            self.running_version.as_deref().unwrap_or("-"),
        )
    }
}

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

/// Whether `init` wrote the hub's service unit (else there is nothing to compare).
pub fn has_hub_unit(paths: &Paths) -> bool {
    paths.unit_file(HUB_SERVICE).is_file()
}

/// Whether `init` wrote the hub's files for this backend: its service unit,
/// or what the backend counts as the hub (launchd: its agent).
pub fn has_hub_files(paths: &Paths, init: &impl InitSystem) -> bool {
    has_hub_unit(paths) || init.has_hub(paths)
}

/// Compare the hub's files (its unit, or its launchd agent, through
/// `init`) and, when its service is running, its `/health` version with
/// this binary. Without the hub's files there is nothing to compare. The
/// manager is asked only when `reachable`; a hub that is not running is not
/// probed: a connection to the socket would start it (from the files'
/// binary, which `unit_exe` covers).
pub async fn detect(
    paths: &Paths,
    init: &impl InitSystem,
    reachable: bool,
    exe: &Path,
    port: u16,
) -> Drift {
    if !has_hub_files(paths, init) {
        return Drift::default();
    }
    let mut drift = Drift {
        unit_exe: init.hub_program_elsewhere(paths, exe),
        running_version: None,
    };
    if !reachable {
        return drift;
    }
    if init.state(HUB_SERVICE).await.is_ok_and(|s| s.is_active()) {
        drift.running_version = running_version(port).await.filter(|v| v != VERSION);
    }
    drift
}

/// The `version` a Parachute hub on `127.0.0.1:port` reports, if one answers.
pub async fn running_version(port: u16) -> Option<String> {
    let url = format!("http://127.0.0.1:{port}/health");
    let (_, body) = crate::health::get_capped(&url, HEALTH_TIMEOUT, HEALTH_CAP)
        .await
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    if v.get("service")?.as_str()? != HUB_HEALTH_SERVICE {
        return None;
    }
    Some(v.get("version")?.as_str()?.to_string())
}

/// Whether `drift` is news: true the first time a finding is seen (and
/// then remembered in `$PARACHUTE_HOME`, beside the hub's own state, so
/// every command and shell of this hub shares it), false when it was said
/// already. An empty drift forgets, so the next upgrade is news again. A
/// home that cannot be written to means saying it every time, not never.
pub fn first_notice(paths: &Paths, drift: &Drift, exe: &Path) -> bool {
    let marker = paths.upgrade_noticed();
    if drift.is_empty() {
        let _ = std::fs::remove_file(&marker);
        return false;
    }
    let key = drift.key(exe);
    if std::fs::read_to_string(&marker).is_ok_and(|said| said == key) {
        return false;
    }
    if paths.home.is_dir() {
        let _ = fsio::write_atomic(&marker, key.as_bytes(), fsio::PRIVATE);
    }
    true
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
        std::fs::create_dir_all(&paths.home).expect("mkdir");
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

    #[test]
    fn the_health_service_name_is_the_hubs() {
        assert_eq!(HUB_HEALTH_SERVICE, crate::hub::SERVICE);
    }

    #[test]
    fn a_finding_is_news_once_and_again_after_it_changes() {
        let (_t, paths) = paths_with_hub_unit("/old/parachute serve");
        let exe = Path::new("/usr/bin/parachute");
        let moved = Drift {
            unit_exe: Some("/old/parachute".into()),
            running_version: None,
        };
        assert!(first_notice(&paths, &moved, exe));
        assert!(!first_notice(&paths, &moved, exe), "said already");
        let also_old_hub = Drift {
            running_version: Some("0.0.9".into()),
            ..moved.clone()
        };
        assert!(first_notice(&paths, &also_old_hub, exe), "a new finding");
        assert!(!first_notice(&paths, &Drift::default(), exe));
        assert!(first_notice(&paths, &moved, exe), "forgotten once fixed");
    }
}
