//! What the operations report as they go, for the caller to present.

use std::path::PathBuf;

use crate::lifecycle::JobResult;
use crate::lifecycle::start::Verb;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// module.json has a field this version does not know (ignored).
    UnknownField {
        manifest: PathBuf,
        field: String,
    },
    /// The module's port was taken; it got another.
    PortRefused {
        name: String,
        asked: u16,
        why: String,
        port: u16,
    },
    /// The canonical and reserved ports were taken.
    PortOverflow {
        name: String,
        port: u16,
    },
    /// The row is in services.json, the unit written and enabled.
    Registered {
        name: String,
        port: u16,
    },
    /// Lingering is off: services stop at logout (said once, ever).
    LingerOff,
    /// A re-install changed nothing; the service keeps running.
    Unchanged {
        short: String,
        pid: u32,
    },
    /// `--no-start`: the changed service still runs the old version.
    ChangedNotApplied {
        short: String,
    },
    /// `--no-start`: how to start it.
    StartWith {
        short: String,
    },
    /// A re-install changed a running service: it is restarted.
    Restarting {
        short: String,
    },
    /// A disabled service left stopped by a re-install or the suite's start
    /// (`disable` lasts until `enable`).
    DisabledNotStarted {
        short: String,
    },
    /// A row whose unit could not be written is left out of a suite start.
    Skipped {
        short: String,
        error: String,
    },
    /// Nothing is installed to start or restart.
    NothingToStart {
        verb: Verb,
    },
    /// A unit came up.
    Started {
        name: String,
        verb: Verb,
        pid: u32,
        /// Its port did not accept a connection within the settle time.
        port_pending: Option<u16>,
    },
    /// A unit did not come up: why, and its log lines from this start.
    StartFailed {
        name: String,
        why: String,
        log: Vec<String>,
    },
    /// `lastStartError` could not be written to services.json.
    RecordFailed {
        error: String,
    },
    /// services.json is unreadable: stop works from the unit files.
    StopFromUnitFiles {
        error: String,
    },
    /// Nothing is installed to stop.
    NothingToStop,
    NotInstalled {
        label: String,
    },
    StopFailed {
        label: String,
        job: JobResult,
    },
    Stopped {
        label: String,
    },
    WasntRunning {
        label: String,
    },
    /// Enabled services that were stopped come back at next login.
    ComeBack {
        whole_suite: bool,
        names: Vec<String>,
    },
    Uninstalled {
        name: String,
    },
    /// Uninstall keeps the service's data.
    DataKept {
        path: PathBuf,
    },
}
