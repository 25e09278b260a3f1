//! What reading or writing the two JSON contracts can fail with. The CLI's
//! `crate::error::Error` carries it as it is (`Error::Manifest`), except an
//! I/O fault, which becomes the CLI's own (exit 2).

use std::path::{Path, PathBuf};

use crate::paths::PathsError;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// services.json is not valid JSON (or not the expected shape at all).
    #[error(
        "`{}` is malformed: {message} (line {line}, column {column})\nNothing was changed. Fix or remove the file, then re-run.",
        path.display()
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A row (or the document) breaks the schema; found by a strict read.
    #[error(
        "`{}` is invalid: {problem}\nNothing was changed. Fix the entry (or remove it), then re-run.",
        path.display()
    )]
    Invalid { path: PathBuf, problem: String },

    /// A module's `.parachute/module.json` is missing, too big or invalid.
    #[error("cannot read module manifest `{}`: {problem}", path.display())]
    Module { path: PathBuf, problem: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// `$PARACHUTE_HOME` could not be created before a write.
    #[error(transparent)]
    Home(#[from] PathsError),
}

impl ManifestError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn module(path: &Path, problem: impl Into<String>) -> Self {
        Self::Module {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}
