//! Agent files on disk: the rendered plist in `~/Library/LaunchAgents`
//! (written atomically, only when its bytes change), and beside the
//! overrides in `$PARACHUTE_HOME/launchd/` the copy of what was last
//! bootstrapped (so `restart` knows whether `kickstart -k` is enough) and
//! the crash-loop record.

use std::io::ErrorKind;
use std::path::Path;

use super::error::Error;
use super::guard::Record;
use super::layout::Layout;
use super::overrides;
use super::render::{self, Agent};
use crate::fsio;

fn io(path: &Path, e: &std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        problem: e.to_string(),
    }
}

/// The plist text for `agent` with the user's overrides merged.
pub fn expected(layout: &Layout, agent: &Agent) -> Result<String, Error> {
    let o = overrides::load(&layout.override_file(&agent.short))?;
    Ok(render::render(agent, o.as_ref()))
}

/// Write `agent`'s plist if its bytes differ; returns whether it changed.
pub fn write_if_changed(layout: &Layout, agent: &Agent) -> Result<bool, Error> {
    let text = expected(layout, agent)?;
    let path = layout.plist(&agent.label);
    match std::fs::read(&path) {
        Ok(current) if current == text.as_bytes() => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io(&path, &e)),
    }
    std::fs::create_dir_all(&layout.agents_dir).map_err(|e| io(&layout.agents_dir, &e))?;
    std::fs::create_dir_all(&layout.logs_dir).map_err(|e| io(&layout.logs_dir, &e))?;
    fsio::write_atomic(&path, text.as_bytes(), 0o644).map_err(|e| Error::Io {
        path: path.clone(),
        problem: e.to_string(),
    })?;
    Ok(true)
}

/// Remove the plist and what we kept about it; returns whether there was one.
pub fn remove(layout: &Layout, label: &str, short: &str) -> Result<bool, Error> {
    for p in [layout.loaded_copy(short), layout.crash_record(short)] {
        let _ = std::fs::remove_file(p);
    }
    let path = layout.plist(label);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(&path, &e)),
    }
}

/// Remember the plist launchd was just given.
pub fn mark_loaded(layout: &Layout, label: &str, short: &str) -> Result<(), Error> {
    let bytes = std::fs::read(layout.plist(label)).unwrap_or_default();
    write_state(layout, &layout.loaded_copy(short), &bytes)
}

/// Whether the plist on disk differs from what launchd was last given.
pub fn changed_since_load(layout: &Layout, label: &str, short: &str) -> bool {
    let now = std::fs::read(layout.plist(label)).ok();
    let loaded = std::fs::read(layout.loaded_copy(short)).ok();
    now != loaded
}

/// The crash-loop record (empty when there is none or it is unreadable:
/// it only ever delays a trip).
pub fn record(layout: &Layout, short: &str) -> Record {
    std::fs::read(layout.crash_record(short))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub fn save_record(layout: &Layout, short: &str, r: &Record) -> Result<(), Error> {
    let json = serde_json::to_vec(r).unwrap_or_default();
    write_state(layout, &layout.crash_record(short), &json)
}

fn write_state(layout: &Layout, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::paths::create_private_dir(&layout.state_dir).map_err(|e| Error::Io {
        path: layout.state_dir.clone(),
        problem: e.to_string(),
    })?;
    fsio::write_atomic(path, bytes, 0o600).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })
}
