//! Logs come from journald, by user unit. `journalctl --user-unit` matches
//! `_SYSTEMD_USER_UNIT=`, which works on journals that are not split per
//! user (`journalctl --user -u` shows nothing there).
//!
//! One run of a unit is matched by its invocation ID
//! (`_SYSTEMD_INVOCATION_ID=`), not by time: a crash a moment before a new
//! start logs within the same second, and only the ID tells the two runs
//! apart (issue 9 item 11). Several units are read as JSON so each line can
//! carry its unit and journald's own time order interleaves them.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::error::{Error, JournalError};

/// Which lines to read.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub unit: &'a str,
    pub lines: usize,
    /// Passed to `journalctl --since` (it accepts `2026-01-01 10:00`, `-1h`, `yesterday`…).
    pub since: Option<&'a str>,
    /// Only this run of the unit: its `InvocationID` (32 hex digits).
    pub invocation: Option<&'a str>,
}

/// One journal entry of one of several units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub unit: String,
    /// Microseconds since the epoch (`__REALTIME_TIMESTAMP`).
    pub realtime_us: i64,
    /// `2026-01-31T09:00:00+0000 python3[42]: the message`.
    pub line: String,
}

fn base() -> Command {
    let mut c = Command::new("journalctl");
    c.arg("--no-pager").arg("--quiet").stdin(Stdio::null());
    c
}

fn command(q: &Query<'_>) -> Command {
    let mut c = base();
    match q.invocation.filter(|id| is_id128(id)) {
        // The ID is unique to the run; the unit adds nothing to the match.
        Some(id) => c.arg(format!("_SYSTEMD_INVOCATION_ID={id}")),
        None => c.arg("--user-unit").arg(q.unit),
    };
    c.arg("--output=short-iso")
        .arg("--lines")
        .arg(q.lines.to_string());
    if let Some(s) = q.since {
        c.arg("--since").arg(s);
    }
    c
}

/// 32 hex digits, as systemd formats an ID128.
fn is_id128(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn command_all(units: &[String], lines: usize, since: Option<&str>) -> Command {
    let mut c = base();
    for u in units {
        c.arg("--user-unit").arg(u);
    }
    c.arg("--output=json").arg("--lines").arg(lines.to_string());
    if let Some(s) = since {
        c.arg("--since").arg(s);
    }
    c
}

fn spawn_error(source: std::io::Error) -> Error {
    JournalError::Spawn { source }.into()
}

async fn output(mut c: Command, what: &str) -> Result<String, Error> {
    let out = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(spawn_error)?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(JournalError::Failed {
            what: what.to_string(),
            stderr: err.trim().to_string(),
        }
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The last lines of the unit's journal.
pub async fn tail(q: &Query<'_>) -> Result<Vec<String>, Error> {
    let text = output(command(q), q.unit).await?;
    Ok(text.lines().map(str::to_string).collect())
}

/// Print the last lines, then follow until interrupted (Ctrl-C ends
/// journalctl and us together; that is a normal exit).
pub async fn follow(q: &Query<'_>) -> Result<(), Error> {
    let mut child = command(q)
        .arg("--follow")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(spawn_error)?;
    tokio::select! {
        _ = child.wait() => {}
        _ = tokio::signal::ctrl_c() => { let _ = child.kill().await; }
    }
    Ok(())
}

/// The last `lines` entries of all `units` together, oldest first.
pub async fn tail_all(
    units: &[String],
    lines: usize,
    since: Option<&str>,
) -> Result<Vec<Entry>, Error> {
    let text = output(command_all(units, lines, since), "the services").await?;
    Ok(text.lines().filter_map(parse_entry).collect())
}

/// Like [`tail_all`], then every new entry as it comes, until interrupted
/// or until `each` returns `false` (its reader went away).
pub async fn follow_all(
    units: &[String],
    lines: usize,
    since: Option<&str>,
    mut each: impl FnMut(Entry) -> Result<bool, Error>,
) -> Result<(), Error> {
    let mut child = command_all(units, lines, since)
        .arg("--follow")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_error)?;
    let Some(stdout) = child.stdout.take() else {
        return Ok(());
    };
    let mut reader = BufReader::new(stdout).lines();
    loop {
        tokio::select! {
            line = reader.next_line() => match line {
                Ok(Some(l)) => {
                    if let Some(e) = parse_entry(&l)
                        && !each(e)?
                    {
                        break;
                    }
                }
                _ => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    let _ = child.kill().await;
    Ok(())
}

/// A field that journald sends as a string, or as a byte array when it is
/// not valid UTF-8.
fn field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(bytes) => {
            let raw: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&raw).into_owned())
        }
        _ => None,
    }
}

/// One `--output=json` line as an [`Entry`]; `None` for what is not one.
fn parse_entry(json: &str) -> Option<Entry> {
    entry_of(&serde_json::from_str(json).ok()?)
}

fn entry_of(v: &Value) -> Option<Entry> {
    // The unit's own output carries `_SYSTEMD_USER_UNIT`; the manager's
    // messages about it carry `USER_UNIT`.
    let unit = field(v, "_SYSTEMD_USER_UNIT").or_else(|| field(v, "USER_UNIT"))?;
    let realtime_us: i64 = field(v, "__REALTIME_TIMESTAMP")?.parse().ok()?;
    let message = field(v, "MESSAGE").unwrap_or_default();
    let ident = field(v, "SYSLOG_IDENTIFIER").unwrap_or_else(|| unit.clone());
    let pid = field(v, "_PID")
        .map(|p| format!("[{p}]"))
        .unwrap_or_default();
    let at = jiff::Timestamp::from_microsecond(realtime_us)
        .ok()?
        .to_zoned(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%dT%H:%M:%S%z")
        .to_string();
    Some(Entry {
        unit,
        realtime_us,
        line: format!("{at} {ident}{pid}: {message}"),
    })
}

/// Longest journal cursor taken back from a client (journald's are ~150
/// characters); a longer or odd one is not a cursor and is ignored.
const MAX_CURSOR: usize = 512;

/// Is `c` shaped like a journal cursor (`s=…;i=…;b=…;m=…;t=…;x=…`)?
pub fn is_cursor(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= MAX_CURSOR
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b';')
}

/// A unit's journal followed live, entry by entry, each with its cursor.
/// Dropping it kills its `journalctl`.
#[derive(Debug)]
pub struct Follower {
    _child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

fn follow_command(unit: &str, after: Option<&str>, lines: usize) -> Command {
    let mut c = base();
    c.arg("--user-unit")
        .arg(unit)
        .arg("--output=json")
        .arg("--follow");
    match after.filter(|a| is_cursor(a)) {
        // Everything after the cursor, however much that is.
        Some(a) => c.arg(format!("--after-cursor={a}")).arg("--lines=all"),
        None => c.arg("--lines").arg(lines.to_string()),
    };
    c
}

impl Follower {
    /// Follow `unit`: from just after cursor `after` when it is one,
    /// else from its last `lines` entries.
    pub fn start(unit: &str, after: Option<&str>, lines: usize) -> Result<Self, Error> {
        let mut child = follow_command(unit, after, lines)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        let stdout = child.stdout.take().ok_or(JournalError::NoPipe)?;
        Ok(Self {
            _child: child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// The next entry and its cursor; `None` once `journalctl` has ended.
    pub async fn next(&mut self) -> Option<(String, Entry)> {
        loop {
            let line = self.lines.next_line().await.ok()??;
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if let (Some(cursor), Some(e)) = (field(&v, "__CURSOR"), entry_of(&v)) {
                return Some((cursor, e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_id_replaces_the_unit_match() {
        let q = Query {
            unit: "parachute-x.service",
            lines: 20,
            since: None,
            invocation: Some("9190b4db175c4cc8be0e3165ecec0727"),
        };
        let c = command(&q);
        let args: Vec<_> = c.as_std().get_args().collect();
        assert!(args.contains(&"_SYSTEMD_INVOCATION_ID=9190b4db175c4cc8be0e3165ecec0727".as_ref()));
        assert!(!args.contains(&"--user-unit".as_ref()));
        // Anything else is not an ID and is never passed as a match.
        let c = command(&Query {
            invocation: Some("x --all"),
            ..q
        });
        let args: Vec<_> = c.as_std().get_args().collect();
        assert!(args.contains(&"--user-unit".as_ref()), "{args:?}");
    }

    #[test]
    fn json_entries_carry_their_unit_and_undo_byte_arrays() {
        let e = parse_entry(
            r#"{"_SYSTEMD_USER_UNIT":"parachute-a.service","__REALTIME_TIMESTAMP":"1700000000000000","MESSAGE":[104,105,255],"SYSLOG_IDENTIFIER":"python3","_PID":"42"}"#,
        )
        .expect("an entry");
        assert_eq!(e.unit, "parachute-a.service");
        assert_eq!(e.realtime_us, 1_700_000_000_000_000);
        assert!(e.line.ends_with(" python3[42]: hi\u{fffd}"), "{}", e.line);
        assert_eq!(parse_entry(r#"{"MESSAGE":"no unit"}"#), None);
        assert_eq!(parse_entry("not json"), None);
    }

    #[test]
    fn a_follow_resumes_after_a_cursor_and_ignores_what_is_not_one() {
        let args = |c: Command| -> Vec<String> {
            c.as_std()
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let cur = "s=0a1b;i=2c;b=3d;m=4e;t=5f;x=6a";
        let a = args(follow_command("parachute-x.service", Some(cur), 10));
        assert!(a.contains(&format!("--after-cursor={cur}")), "{a:?}");
        assert!(a.contains(&"--lines=all".to_string()), "{a:?}");
        let a = args(follow_command("parachute-x.service", Some("x --all"), 10));
        assert!(!a.iter().any(|x| x.starts_with("--after-cursor")), "{a:?}");
        assert!(a.contains(&"10".to_string()), "{a:?}");
        assert!(!is_cursor(&"s".repeat(MAX_CURSOR + 1)));
        assert!(!is_cursor(""));
    }
}
