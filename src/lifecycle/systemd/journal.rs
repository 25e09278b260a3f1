//! Logs come from journald, by user unit. `journalctl --user-unit` matches
//! `_SYSTEMD_USER_UNIT=`, which works on journals that are not split per
//! user (`journalctl --user -u` shows nothing there).

use std::process::Stdio;

use tokio::process::Command;

use crate::error::Error;

/// Which lines to read.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub unit: &'a str,
    pub lines: usize,
    /// Passed to `journalctl --since` (it accepts `2026-01-01 10:00`, `-1h`, `yesterday`…).
    pub since: Option<&'a str>,
}

fn command(q: &Query<'_>) -> Command {
    let mut c = Command::new("journalctl");
    c.arg("--user-unit")
        .arg(q.unit)
        .arg("--no-pager")
        .arg("--quiet")
        .arg("--output=short-iso")
        .arg("--lines")
        .arg(q.lines.to_string());
    if let Some(s) = q.since {
        c.arg("--since").arg(s);
    }
    c.stdin(Stdio::null());
    c
}

fn spawn_error(e: &std::io::Error) -> Error {
    Error::Usage(format!(
        "cannot run `journalctl` ({e}); install systemd's journal tools (package `systemd`)"
    ))
}

/// The last lines of the unit's journal.
pub async fn tail(q: &Query<'_>) -> Result<Vec<String>, Error> {
    let out = command(q)
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|e| spawn_error(&e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Usage(format!(
            "journalctl failed for {}: {}",
            q.unit,
            err.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// Print the last lines, then follow until interrupted (Ctrl-C ends
/// journalctl and us together; that is a normal exit).
pub async fn follow(q: &Query<'_>) -> Result<(), Error> {
    let mut child = command(q)
        .arg("--follow")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| spawn_error(&e))?;
    tokio::select! {
        _ = child.wait() => {}
        _ = tokio::signal::ctrl_c() => { let _ = child.kill().await; }
    }
    Ok(())
}
