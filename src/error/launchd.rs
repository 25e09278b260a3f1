//! What can go wrong driving launchd, each with what to do about it.
//! Plain data below `lifecycle` (which re-exports it as
//! `lifecycle::launchd::Error`); the hint for an unknown `launchctl` exit
//! status is worked out there, in `lifecycle::launchd::error::hint`.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LaunchdError {
    /// The override file exists but cannot be used; nothing was written.
    #[error(
        "`{}` cannot be used as launchd overrides: {problem}. Nothing was changed. Fix the file (a plist <dict> of keys to replace or add) or remove it, then re-run.",
        path.display()
    )]
    Override { path: PathBuf, problem: String },

    /// A file of ours could not be read or written.
    #[error("{}: {problem}", path.display())]
    Io { path: PathBuf, problem: String },

    /// `launchctl` could not be run at all.
    #[error(
        "cannot run `launchctl` ({reason}). It ships with macOS at /bin/launchctl; check that /bin is on PATH."
    )]
    NoLaunchctl { reason: String },

    /// `bootstrap` kept failing with 5 after the job was booted out and gone.
    #[error(
        "launchd would not load `{label}` (Bootstrap failed: 5: Input/output error), even after unloading it first. Check the plist: plutil -lint {}; then: launchctl print {domain}/{label}",
        plist.display()
    )]
    WontLoad {
        label: String,
        domain: String,
        plist: PathBuf,
    },

    /// The job stayed loaded after `bootout` for the whole wait.
    #[error(
        "launchd is still unloading `{label}` after {waited_secs}s. Wait a moment and retry, or look at: launchctl print {domain}/{label}"
    )]
    StillLoaded {
        label: String,
        domain: String,
        waited_secs: u64,
    },

    /// Any other failure, mapped from launchctl's exit status.
    #[error("`launchctl {verb}` failed for `{label}` (exit {code}: {detail}). {hint}")]
    Launchctl {
        verb: String,
        label: String,
        code: i32,
        detail: String,
        hint: String,
    },
}
