//! `parachute logs <service|hub>`: the unit's journal.

use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::lifecycle::InitSystem as _;
use crate::lifecycle::systemd::journal::{self, Query};
use crate::lifecycle::systemd::unit::HUB_SERVICE;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The service (short name or manifestName), or `hub`.
    pub service: String,
    /// Keep printing new lines until interrupted.
    #[arg(short, long)]
    pub follow: bool,
    /// How many of the most recent lines to show.
    #[arg(short = 'n', long = "lines", default_value_t = 200)]
    pub lines: usize,
    /// Only lines since this time (`2026-01-31 09:00`, `-1h`, `today`; see journalctl(1)).
    // `-1h` starts with a dash: without this clap takes it for a flag.
    #[arg(long, allow_hyphen_values = true)]
    pub since: Option<String>,
}

pub async fn run(cx: &Context, args: LogsArgs) -> Result<ExitCode, Error> {
    let (label, unit) = if matches!(args.service.as_str(), "hub" | "parachute-hub") {
        ("hub".to_string(), HUB_SERVICE.to_string())
    } else {
        let services = cx.services_lenient()?;
        let row = services
            .find(&args.service)
            .ok_or_else(|| Error::UnknownService {
                name: args.service.clone(),
                known: std::iter::once("hub".to_string())
                    .chain(services.known())
                    .collect(),
            })?;
        (row.short().to_string(), row.unit())
    };
    let q = Query {
        unit: &unit,
        lines: args.lines,
        since: args.since.as_deref(),
    };
    if args.follow {
        journal::follow(&q).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let lines = journal::tail(&q).await?;
    if lines.is_empty() {
        let running = match cx.systemd().await {
            Ok(init) => init.state(&unit).await.is_ok_and(|s| s.is_active()),
            Err(_) => false,
        };
        if running {
            eprintln!(
                "{label} is running but has logged nothing yet. Watch for output with: parachute logs {label} -f"
            );
        } else {
            eprintln!("no logs yet for {label}. `parachute start {label}` to begin.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}
