//! `parachute doctor`: presents the findings of [`crate::doctor`] and, with
//! `--fix`, applies their repairs and checks again.

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::context::out;
use crate::doctor::fix::{self, Outcome};
use crate::doctor::{self, Env, Finding, Severity};
use crate::error::Error;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::hub;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Repair what is safe to repair (rewrite units, reload, restart failed
    /// units, start the hub's socket, renew the operator token), asking
    /// before each destructive step (deleting an orphan unit, a new store).
    #[arg(long)]
    pub fix: bool,
    /// With `--fix`: answer yes to every question.
    #[arg(long, requires = "fix")]
    pub yes: bool,
}

pub async fn run(cx: &Context, args: DoctorArgs) -> Result<ExitCode, Error> {
    let backend = cx.init_system().await;
    let version = match &backend {
        Ok(b) => b.manager_version().await,
        Err(_) => String::new(),
    };
    let env: Env<'_, Backend> = Env {
        paths: &cx.paths,
        spec: cx.spec_context(),
        hub_port: cx.hub_port,
        hub_origin: &cx.hub_origin,
        exe: hub::current_exe()?,
        init: backend.as_ref().map_err(ToString::to_string),
        manager_version: version,
        user: std::env::var("USER").unwrap_or_else(|_| "$USER".into()),
        now: crate::tokens::now(),
    };
    let mut findings = doctor::run(&env).await;
    if args.fix {
        let outcomes = fix::apply(&env, &findings, |q| confirm(q, args.yes)).await;
        report_repairs(&outcomes);
        findings = doctor::run(&env).await;
    }
    let fail = count(&findings, Severity::Fail);
    if args.json {
        out(&format!("{:#}\n", json(&findings)))?;
    } else {
        out(&text_report(&findings))?;
    }
    Ok(if fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn count(findings: &[Finding], s: Severity) -> usize {
    findings.iter().filter(|f| f.severity == s).count()
}

/// `--yes` says yes; a terminal is asked; anything else is a no.
fn confirm(question: &str, yes: bool) -> bool {
    if yes {
        return true;
    }
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

fn report_repairs(outcomes: &[(doctor::Repair, Outcome)]) {
    for (repair, outcome) in outcomes {
        match outcome {
            Outcome::Done(lines) if lines.is_empty() => {
                eprintln!("✓ fix: {repair}: nothing to change");
            }
            Outcome::Done(lines) => {
                for l in lines {
                    eprintln!("✓ fix: {l}");
                }
            }
            Outcome::Skipped(why) => eprintln!("⚠ fix skipped: {repair}: {why}"),
            Outcome::Failed(why) => eprintln!("✗ fix failed: {repair}: {why}"),
        }
    }
}

fn json(findings: &[Finding]) -> serde_json::Value {
    let checks: Vec<_> = findings
        .iter()
        .map(|f| {
            let mut c = serde_json::json!({
                "name": f.check,
                "status": f.severity,
                "detail": f.what,
            });
            if let Some(fix) = &f.fix {
                c["fix"] = fix.clone().into();
            }
            c["fixable"] = f.repair.is_some().into();
            c
        })
        .collect();
    let fail = count(findings, Severity::Fail);
    serde_json::json!({
        "ok": fail == 0,
        "summary": {
            "pass": count(findings, Severity::Pass),
            "warn": count(findings, Severity::Warn),
            "fail": fail,
        },
        "checks": checks,
    })
}

fn text_report(findings: &[Finding]) -> String {
    let mut text = String::new();
    for f in findings {
        let mark = match f.severity {
            Severity::Pass => "✓",
            Severity::Warn => "⚠",
            Severity::Fail => "✗",
        };
        let _ = writeln!(text, "  {mark} {}: {}", f.check, f.what);
        if let Some(fix) = &f.fix {
            let _ = writeln!(text, "      fix: {fix}");
        }
    }
    let (pass, warn, fail) = (
        count(findings, Severity::Pass),
        count(findings, Severity::Warn),
        count(findings, Severity::Fail),
    );
    if warn == 0 && fail == 0 {
        let _ = writeln!(text, "All clear — {pass} checks passed.");
    } else {
        let _ = writeln!(
            text,
            "Summary: {pass} ok, {warn} warnings, {fail} failures."
        );
    }
    text
}
