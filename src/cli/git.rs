//! `parachute git …`: the bare repositories behind the hub's `/git/<name>`
//! endpoint. Read from `$PARACHUTE_HOME/hub/git` directly, so it works with
//! the hub stopped.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::hub::git::repo::{self, RepoInfo};

#[derive(Debug, Args)]
pub struct GitArgs {
    #[command(subcommand)]
    pub command: GitCommand,
}

#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// List the repositories with their size, last push and clone URL. A
    /// repository is created by the first push or fetch with a token holding
    /// `surface:<name>:write` or `surface:<name>:read`.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cx: &Context, args: GitArgs) -> Result<ExitCode, Error> {
    match args.command {
        GitCommand::List(a) => list(cx, &a),
    }
}

fn list(cx: &Context, args: &ListArgs) -> Result<ExitCode, Error> {
    let root = cx.paths.git_root();
    let repos = repo::list(&root).map_err(|e| Error::io(&root, e))?;
    let url = |r: &RepoInfo| format!("{}/git/{}.git", cx.hub_origin.trim_end_matches('/'), r.name);
    if args.json {
        let doc: Vec<serde_json::Value> = repos
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "url": url(r),
                    "path": r.path,
                    "sizeBytes": r.size_bytes,
                    "lastPush": r.last_push.map(date),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        return out(&format!("{text}\n")).map(|()| ExitCode::SUCCESS);
    }
    if repos.is_empty() {
        eprintln!(
            "no git repositories yet. The first `git push {}/git/<name>` with a token holding `surface:<name>:write` creates one:\n  \
             parachute auth mint-token --scope surface:<name>:write",
            cx.hub_origin.trim_end_matches('/')
        );
        return Ok(ExitCode::SUCCESS);
    }
    let width = repos.iter().map(|r| r.name.len()).max().unwrap_or(0).max(4);
    let mut s = format!(
        "{:<width$}  {:>10}  {:<20}  {}\n",
        "NAME", "SIZE", "LAST PUSH", "URL"
    );
    for r in &repos {
        let last = r.last_push.map_or_else(|| "never".to_string(), date);
        let _ = writeln!(
            s,
            "{:<width$}  {:>10}  {:<20}  {}",
            r.name,
            human_size(r.size_bytes),
            last,
            url(r)
        );
    }
    out(&s).map(|()| ExitCode::SUCCESS)
}

fn date(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

/// `1536` → `1.5 KiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    let mut scaled = bytes;
    while scaled >= 1024 * 1024 && unit + 2 < UNITS.len() {
        scaled /= 1024;
        unit += 1;
    }
    if scaled < 1024 {
        return format!("{scaled} {}", UNITS[unit]);
    }
    // One decimal, computed in integers: tenths of the next unit.
    let tenths = (scaled * 10 + 512) / 1024;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit + 1])
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn human_size_table() {
        let cases: &[(u64, &str)] = &[
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (5 * 1024 * 1024, "5.0 MiB"),
            (100 * 1024 * 1024 + 300 * 1024, "100.3 MiB"),
            (3 << 30, "3.0 GiB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_size(*n), *want, "{n}");
        }
    }
}
