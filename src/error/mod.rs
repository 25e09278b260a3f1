//! The library's one error type. `cli::report` turns it into a message and an
//! exit code; nothing else prints errors.
//!
//! This folder is a leaf of the crate: `Error` wraps the fault vocabularies
//! of the layers above it (what an init system answered, why the hub has no
//! socket, a bad edge setting), so those are defined here as plain data, in
//! the child modules, and their old homes re-export them. Everything else it
//! imports (`store`, `manifest`, `paths`, `tokens::operator`) imports nothing
//! of it, so no import cycle runs through `error`: the layers that raise a
//! fault depend on this folder, never the other way round.

pub mod edge;
pub mod init;
pub mod journal;
pub mod launchd;
pub mod listen;
pub mod prompt;
pub mod two_factor;

use std::path::{Path, PathBuf};

pub use edge::EdgeError;
pub use init::InitError;
pub use journal::JournalError;
pub use listen::ListenError;
pub use prompt::PromptError;
pub use two_factor::TwoFactorError;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No home directory to put Parachute's files in: paths' own message.
    #[error(transparent)]
    Paths(crate::paths::PathsError),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// `std::env::current_exe` failed: there is no file path to name.
    #[error("<current executable>: {source}")]
    CurrentExe { source: std::io::Error },

    /// Reading or writing the terminal failed (`stream` is stdin, stdout or tty).
    #[error("<{stream}>: {source}")]
    Terminal {
        stream: &'static str,
        source: std::io::Error,
    },

    /// services.json or a module.json is malformed or breaks the schema:
    /// the manifest's own message.
    #[error(transparent)]
    Manifest(crate::manifest::ManifestError),

    #[error("{0}")]
    Usage(String),

    /// A module asks for a name Parachute keeps for itself.
    #[error("cannot install `{}`: {problem}. Rename the module in its `.parachute/module.json`.", path.display())]
    ReservedName { path: PathBuf, problem: String },

    /// An install would take over a row registered from another directory.
    #[error(
        "{name} is already installed from `{}`; refusing to replace it with `{}`. Uninstall it first (parachute uninstall {short}), or re-run with --force to move it.",
        current.display(), new.display()
    )]
    InstalledElsewhere {
        name: String,
        short: String,
        current: PathBuf,
        new: PathBuf,
    },

    #[error("unknown service \"{name}\". known: {}", if known.is_empty() { "(none installed — try `parachute install <path-to-module>`)".to_string() } else { known.join(", ") })]
    UnknownService { name: String, known: Vec<String> },

    #[error(
        "{short}: services.json entry has no installDir, so the start command can't be resolved. Re-run `parachute install <path-to-{short}>` to refresh its registration, or upgrade the module to a version that self-registers with installDir."
    )]
    NoInstallDir { short: String },

    #[error("{0}")]
    Init(#[from] InitError),

    /// The hub store is newer than this parachute, or missing: the
    /// store's own message.
    #[error(transparent)]
    Store(StoreError),

    /// `parachute serve` has no socket: its port is taken, or activation failed.
    #[error("{0}")]
    Listener(ListenError),

    /// An edge setting of `parachute serve` does not parse.
    #[error("{0}")]
    Edge(#[from] EdgeError),

    /// `parachute serve` could not set up its process: `what` failed.
    #[error("the hub cannot start: cannot {what}: {source}")]
    ServeSetup {
        what: &'static str,
        source: std::io::Error,
    },

    /// The hub's server on `addr` ended without being asked to.
    #[error("the hub on {addr} stopped unexpectedly: {detail}")]
    ServerStopped { addr: String, detail: String },

    /// A command named a user the hub does not have; `fix` says how to pick one.
    #[error("there is no user `{name}`; users: {}. {fix}", users.join(", "))]
    UnknownUser {
        name: String,
        users: Vec<String>,
        fix: &'static str,
    },

    /// A command that needs the hub's owner ran before there was one.
    #[error("the hub has no owner yet. Create it with: parachute auth set-password")]
    NoOwner,

    /// A command that acts on the suite found no hub units to act on.
    #[error(
        "the hub is not set up yet, so there is nothing to {verb}. Run `parachute init` first."
    )]
    HubNotSetUp { verb: &'static str },

    /// `enable` or `disable` found no unit file to change; `fix` writes one.
    #[error(
        "{label} has no unit file yet, so there is nothing to enable or disable. Write it with: {fix}"
    )]
    NoUnitFile { label: String, fix: String },

    /// A module's start program is neither in its directory nor on `PATH`.
    #[error(
        "{short}: cannot find `{program}` (the module's start command) in {} or on PATH. Install it, or fix `startCmd` in {}.",
        dir.display(), manifest.display()
    )]
    NoStartProgram {
        short: String,
        program: String,
        dir: PathBuf,
        manifest: PathBuf,
    },

    /// A repair that needs the init system found no user manager to ask.
    #[error("no user manager is reachable")]
    NoUserManager,

    /// The hub serves pages without an init system (`parachute serve` by
    /// hand): there are no services to show or run.
    #[error("this hub runs without an init system")]
    HubWithoutInit,

    /// A start or restart job of `unit` ended without success; `logs` is the
    /// command that shows why.
    #[error("{unit} did not {verb} ({result}); see why: {logs}")]
    JobFailed {
        unit: String,
        verb: &'static str,
        result: String,
        logs: String,
    },

    /// `doctor --fix` would renew the operator token of an owner that does not exist.
    #[error("the hub has no owner to issue an operator token for; create it with: parachute init")]
    NoOwnerForOperator,

    /// launchd keeps no log file for `unit` (it is not one of its jobs).
    #[error("`{unit}` has no launchd log file")]
    NoLaunchdLog { unit: String },

    /// Asking the person at the terminal for a secret failed.
    #[error("{0}")]
    Prompt(#[from] PromptError),

    /// `parachute auth 2fa` changed nothing.
    #[error("{0}")]
    TwoFactor(#[from] TwoFactorError),

    /// Reading the journal failed.
    #[error("{0}")]
    Journal(#[from] JournalError),

    /// The command already told the user what went wrong; exit 1 quietly.
    #[error("")]
    Reported,
}

/// The store's faults as the CLI reports them.
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            // Not the user's to fix: reported as an I/O fault on the file (exit 2).
            StoreError::Sqlite { path, source } => Self::Io {
                path,
                source: std::io::Error::other(source),
            },
            StoreError::Io { path, source } => Self::Io { path, source },
            e @ (StoreError::SchemaTooNew { .. } | StoreError::Missing { .. }) => Self::Store(e),
        }
    }
}

/// The manifests' faults: an I/O fault is the CLI's (exit 2), the rest keep
/// the manifest's message.
impl From<crate::manifest::ManifestError> for Error {
    fn from(e: crate::manifest::ManifestError) -> Self {
        use crate::manifest::ManifestError as M;
        match e {
            M::Io { path, source } => Self::Io { path, source },
            M::Home(e) => e.into(),
            e @ (M::Syntax { .. } | M::Invalid { .. } | M::Module { .. }) => Self::Manifest(e),
        }
    }
}

impl From<crate::paths::PathsError> for Error {
    fn from(e: crate::paths::PathsError) -> Self {
        use crate::paths::PathsError;
        match e {
            e @ PathsError::NoHome => Self::Paths(e),
            PathsError::Io { path, source } => Self::Io { path, source },
        }
    }
}

impl From<ListenError> for Error {
    fn from(e: ListenError) -> Self {
        Self::Listener(e)
    }
}

impl From<crate::tokens::operator::FileError> for Error {
    fn from(e: crate::tokens::operator::FileError) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn module(path: &Path, problem: impl Into<String>) -> Self {
        Self::Manifest(crate::manifest::ManifestError::module(path, problem))
    }
}

#[cfg(test)]
mod tests;
