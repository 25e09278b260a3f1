//! Where the launchd backend keeps its files. launchd reads agents from
//! `~/Library/LaunchAgents` and loads every plist there, so the user's
//! overrides live under `$PARACHUTE_HOME/launchd/` instead (the analogue of
//! systemd drop-ins). On Linux the same layout sits under `$HOME`, which is
//! how the tests drive this backend.

use std::path::{Path, PathBuf};

/// Reverse-DNS prefix of every label.
pub const LABEL_PREFIX: &str = "computer.parachute.";
/// The hub's label.
pub const HUB_LABEL: &str = "computer.parachute.hub";
/// The hub's short name (its log file and override file are named for it).
pub const HUB_SHORT: &str = "hub";

/// `computer.parachute.<short>`.
pub fn label(short: &str) -> String {
    format!("{LABEL_PREFIX}{short}")
}

/// The short name in a label of ours, `None` for anyone else's.
pub fn short_of(label: &str) -> Option<&str> {
    label.strip_prefix(LABEL_PREFIX).filter(|s| !s.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The user's home (`$HOME`): the agents' `PATH` names its tool dirs.
    pub user_home: PathBuf,
    /// `$HOME/Library/LaunchAgents`.
    pub agents_dir: PathBuf,
    /// `$HOME/Library/Logs/Parachute`.
    pub logs_dir: PathBuf,
    /// `$PARACHUTE_HOME/launchd`: override files and the crash-loop records.
    pub state_dir: PathBuf,
}

impl Layout {
    pub fn new(user_home: &Path, parachute_home: &Path) -> Self {
        let library = user_home.join("Library");
        Self {
            user_home: user_home.to_path_buf(),
            agents_dir: library.join("LaunchAgents"),
            logs_dir: library.join("Logs").join("Parachute"),
            state_dir: parachute_home.join("launchd"),
        }
    }

    /// `~/Library/LaunchAgents/<label>.plist`.
    pub fn plist(&self, label: &str) -> PathBuf {
        self.agents_dir.join(format!("{label}.plist"))
    }

    /// `~/Library/Logs/Parachute/<short>.log` (stdout and stderr both).
    pub fn log(&self, short: &str) -> PathBuf {
        self.logs_dir.join(format!("{short}.log"))
    }

    /// `$PARACHUTE_HOME/launchd/<short>.override.plist`.
    pub fn override_file(&self, short: &str) -> PathBuf {
        self.state_dir.join(format!("{short}.override.plist"))
    }

    /// `$PARACHUTE_HOME/launchd/<short>.loaded.plist`: what was last bootstrapped.
    pub fn loaded_copy(&self, short: &str) -> PathBuf {
        self.state_dir.join(format!("{short}.loaded.plist"))
    }

    /// `$PARACHUTE_HOME/launchd/<short>.crash-loop.json`.
    pub fn crash_record(&self, short: &str) -> PathBuf {
        self.state_dir.join(format!("{short}.crash-loop.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_paths_follow_the_issue() {
        let l = Layout::new(Path::new("/Users/ada"), Path::new("/Users/ada/.parachute"));
        assert_eq!(label("vault"), "computer.parachute.vault");
        assert_eq!(short_of("computer.parachute.vault"), Some("vault"));
        assert_eq!(short_of("homebrew.mxcl.vault"), None);
        assert_eq!(
            l.plist(HUB_LABEL),
            PathBuf::from("/Users/ada/Library/LaunchAgents/computer.parachute.hub.plist")
        );
        assert_eq!(
            l.log("vault"),
            PathBuf::from("/Users/ada/Library/Logs/Parachute/vault.log")
        );
        assert_eq!(
            l.override_file("vault"),
            PathBuf::from("/Users/ada/.parachute/launchd/vault.override.plist")
        );
    }
}
