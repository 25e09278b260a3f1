//! `parachute logs [service|hub]`: a unit's journal, or every service's
//! interleaved by time and prefixed with its name (like `pm2 logs`).

use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::context::{out, out_open};
use crate::error::Error;
use crate::lifecycle::InitSystem as _;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::launchd::{self, Layout};
use crate::lifecycle::logs::{self as journal, Query};
use crate::lifecycle::service::HUB_SERVICE;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The service (short name or manifestName), or `hub`. Omit for every
    /// service's lines together, each prefixed with its name.
    pub service: Option<String>,
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
    let Some(service) = args.service.as_deref() else {
        if matches!(cx.init_lazy(), Backend::Launchd(_)) {
            return Err(Error::Usage(
                "under launchd each service has its own log file: name one, e.g. parachute logs hub".into(),
            ));
        }
        return all(cx, &args).await;
    };
    let (label, unit) = if matches!(service, "hub" | "parachute-hub") {
        ("hub".to_string(), HUB_SERVICE.to_string())
    } else {
        let inventory = cx.inventory()?;
        if let Some(e) = &inventory.unreadable {
            eprintln!("⚠ {e}");
        }
        let unit = inventory
            .find_unit(service)
            .ok_or_else(|| Error::UnknownService {
                name: service.to_string(),
                known: std::iter::once("hub".to_string())
                    .chain(inventory.known())
                    .collect(),
            })?;
        (journal::prefix_of(&unit).to_string(), unit)
    };
    if let Backend::Launchd(l) = cx.init_lazy() {
        return launchd_logs(&l.layout, &unit, &label, &args).await;
    }
    let q = Query {
        unit: &unit,
        lines: args.lines,
        since: args.since.as_deref(),
        invocation: None,
    };
    if args.follow {
        journal::follow(&q).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let lines = journal::tail(&q).await?;
    if lines.is_empty() {
        let running = match cx.init_system().await {
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

/// Every service's lines (the hub's too), interleaved by journald's time
/// order and prefixed with the service's name. Units without a
/// services.json row are included: their lines are still theirs.
async fn all(cx: &Context, args: &LogsArgs) -> Result<ExitCode, Error> {
    let inventory = cx.inventory()?;
    if let Some(e) = &inventory.unreadable {
        eprintln!("⚠ {e}");
        eprintln!("  Showing the logs of the units on disk instead.");
    }
    let units: Vec<String> = std::iter::once(HUB_SERVICE.to_string())
        .filter(|u| cx.has_unit(u))
        .chain(inventory.service_units())
        .collect();
    if units.is_empty() {
        eprintln!("no services are set up yet. Start with: parachute init");
        return Ok(ExitCode::SUCCESS);
    }
    let width = journal::prefix_width(&units);
    let since = args.since.as_deref();
    if args.follow {
        journal::follow_all(&units, args.lines, since, |e| {
            out_open(&journal::prefixed(&e, width))
        })
        .await?;
        return Ok(ExitCode::SUCCESS);
    }
    let entries = journal::tail_all(&units, args.lines, since).await?;
    if entries.is_empty() {
        eprintln!("no logs yet from any service. Watch for output with: parachute logs -f");
        return Ok(ExitCode::SUCCESS);
    }
    let text: String = entries
        .iter()
        .map(|e| journal::prefixed(e, width))
        .collect();
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// A service's log file under launchd (it has no journal).
async fn launchd_logs(
    layout: &Layout,
    unit: &str,
    label: &str,
    args: &LogsArgs,
) -> Result<ExitCode, Error> {
    if args.since.is_some() {
        return Err(Error::Usage(
            "launchd log files carry no timestamps, so `--since` cannot be applied; use -n <lines>"
                .into(),
        ));
    }
    let short = launchd::system::job(unit).map_or_else(|| label.to_string(), |(_, s)| s);
    let path = layout.log(&short);
    if args.follow {
        let shown = launchd::logs::follow(&path, args.lines, |t| out_open(t).unwrap_or(false));
        shown.await.map_err(crate::lifecycle::InitError::from)?;
        return Ok(ExitCode::SUCCESS);
    }
    let lines =
        launchd::logs::tail(&path, args.lines).map_err(crate::lifecycle::InitError::from)?;
    if lines.is_empty() {
        eprintln!("no logs yet for {label} (in {}).", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    out(&(lines.join("\n") + "\n"))?;
    Ok(ExitCode::SUCCESS)
}
