//! Every path Parachute reads or writes, resolved once from the environment.
//!
//! Lookup order:
//! - home: `$PARACHUTE_HOME`, else `$HOME/.parachute`;
//! - user units: `$XDG_CONFIG_HOME/systemd/user`, else `$HOME/.config/systemd/user`
//!   (the directory `systemd --user` reads; drop-ins beside it are the user's).

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::env_vars;

/// What resolving or creating Parachute's directories can fail with. The
/// CLI's `crate::error::Error` carries `NoHome` as it is and turns `Io` into
/// its own (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("cannot find your home directory: set `HOME` or `PARACHUTE_HOME`")]
    NoHome,

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl PathsError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Resolved locations. Built once in `cli::run` and passed down, so tests can
/// point everything at a temporary directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `$PARACHUTE_HOME` (0700).
    pub home: PathBuf,
    /// `systemd --user` unit directory we write our own unit files to.
    pub unit_dir: PathBuf,
}

impl Paths {
    /// Resolve from the process environment.
    pub fn from_env() -> Result<Self, PathsError> {
        Self::from_lookup(|k| std::env::var_os(k))
    }

    /// Resolve from any variable lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<OsString>) -> Result<Self, PathsError> {
        let non_empty = |k: &str| get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let user_home = non_empty(env_vars::HOME);
        let home = match non_empty(env_vars::PARACHUTE_HOME) {
            Some(h) => h,
            None => user_home
                .as_ref()
                .ok_or(PathsError::NoHome)?
                .join(".parachute"),
        };
        let config = match non_empty(env_vars::XDG_CONFIG_HOME) {
            Some(c) => c,
            None => user_home
                .as_ref()
                .ok_or(PathsError::NoHome)?
                .join(".config"),
        };
        Ok(Self {
            home,
            unit_dir: config.join("systemd").join("user"),
        })
    }

    pub fn services_json(&self) -> PathBuf {
        self.home.join("services.json")
    }

    /// Lock file serializing writers of `services.json` (modules use the same
    /// file when they self-register through us).
    pub fn services_lock(&self) -> PathBuf {
        self.home.join(".services.json.lock")
    }

    /// `$PARACHUTE_HOME/<short>/.env`, read by the unit as an `EnvironmentFile`.
    pub fn service_env_file(&self, short: &str) -> PathBuf {
        self.home.join(short).join(".env")
    }

    /// Cached result of the namespace-hardening probe (see `lifecycle::systemd::units::hardening`).
    pub fn hardening_cache(&self) -> PathBuf {
        self.home.join(".systemd-hardening.json")
    }

    /// Marker: the lingering warning was shown once; do not repeat it.
    pub fn linger_warned(&self) -> PathBuf {
        self.home.join(".linger-warned")
    }

    /// Markers the hub leaves for modules it stopped for being idle, one
    /// file per row name (`lifecycle::idle_marker`).
    pub fn idle_stopped_dir(&self) -> PathBuf {
        self.home.join(".idle-stopped")
    }

    /// What the last "the hub runs another binary" notice said, so it is
    /// said once (`lifecycle::drift::first_notice`).
    pub fn upgrade_noticed(&self) -> PathBuf {
        self.home.join(".upgrade-noticed")
    }

    /// The hub's store (`hub.db`, 0600, its WAL files beside it).
    pub fn hub_db(&self) -> PathBuf {
        self.home.join("hub.db")
    }

    /// The operator token (0600): a hub JWT with the operator scopes that
    /// CLI commands and on-box callers present to the hub.
    pub fn operator_token(&self) -> PathBuf {
        self.home.join("operator.token")
    }

    /// Where the hub keeps its git repositories: `$PARACHUTE_HOME/hub/git`.
    pub fn git_root(&self) -> PathBuf {
        self.home.join("hub").join("git")
    }

    /// The bare repository behind `/git/<name>`: `<git_root>/<name>.git`.
    pub fn git_repo(&self, name: &str) -> PathBuf {
        self.git_root().join(format!("{name}.git"))
    }

    pub fn unit_file(&self, unit: &str) -> PathBuf {
        self.unit_dir.join(unit)
    }

    /// Create `$PARACHUTE_HOME` with mode 0700 if missing. An existing
    /// directory keeps the mode its owner chose.
    pub fn ensure_home(&self) -> Result<(), PathsError> {
        create_private_dir(&self.home)
    }

    pub fn ensure_unit_dir(&self) -> Result<(), PathsError> {
        fs::create_dir_all(&self.unit_dir).map_err(|e| PathsError::io(&self.unit_dir, e))
    }
}

/// `mkdir -p` with 0700 on the directories it creates.
pub fn create_private_dir(dir: &Path) -> Result<(), PathsError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| PathsError::io(dir, e))?;
    // DirBuilder's mode is filtered by the umask; secrets live here, so be exact.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| PathsError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)]) -> Result<Paths, PathsError> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), OsString::from(v)))
            .collect();
        Paths::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_come_from_home() {
        let p = resolve(&[("HOME", "/home/ada")]).expect("resolves");
        assert_eq!(p.home, PathBuf::from("/home/ada/.parachute"));
        assert_eq!(p.unit_dir, PathBuf::from("/home/ada/.config/systemd/user"));
        assert_eq!(
            p.services_json(),
            PathBuf::from("/home/ada/.parachute/services.json")
        );
    }

    #[test]
    fn overrides_win_and_empty_values_are_ignored() {
        let p = resolve(&[
            ("HOME", "/home/ada"),
            ("PARACHUTE_HOME", "/srv/p"),
            ("XDG_CONFIG_HOME", ""),
        ])
        .expect("resolves");
        assert_eq!(p.home, PathBuf::from("/srv/p"));
        assert_eq!(p.unit_dir, PathBuf::from("/home/ada/.config/systemd/user"));
        let p = resolve(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/cfg")]).expect("resolves");
        assert_eq!(p.unit_dir, PathBuf::from("/cfg/systemd/user"));
    }

    #[test]
    fn no_home_at_all_is_an_error() {
        assert!(matches!(resolve(&[]), Err(PathsError::NoHome)));
    }

    #[test]
    fn home_is_created_private() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().join("a/b");
        create_private_dir(&home).expect("created");
        let mode = fs::metadata(&home).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
