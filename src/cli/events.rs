//! How the lifecycle operations' [`Event`]s read on the terminal (stderr:
//! they are progress and diagnostics, not data). The integration tests
//! assert these lines exactly.

use std::process::ExitCode;

use crate::lifecycle::ops::{Event, Verdict};
use crate::lifecycle::service::TARGET;
use crate::lifecycle::start::Verb;

pub fn say(e: Event) {
    match e {
        Event::UnknownField { manifest, field } => eprintln!(
            "⚠ {}: unknown field `{field}` ignored (misspelled? the fields are in `man 5 parachute-module`)",
            manifest.display()
        ),
        Event::PortRefused {
            name,
            asked,
            why,
            port,
        } => eprintln!("⚠ {name} asked for port {asked}, but {why}; it got port {port}."),
        Event::PortOverflow { name, port } => eprintln!(
            "⚠ {name}: the canonical and reserved ports are taken; using port {port} instead."
        ),
        Event::Registered { name, port } => eprintln!("✓ {name} registered on port {port}"),
        Event::LingerOff => {
            let user = std::env::var("USER").unwrap_or_else(|_| "$USER".into());
            eprintln!(
                "⚠ lingering is off for {user}: your Parachute services stop when you log out and do not start at boot.\n  \
                 Enable it with:  loginctl enable-linger {user}"
            );
        }
        Event::Unchanged { short, pid } => {
            eprintln!("✓ {short} unchanged; left running (pid {pid}).");
        }
        Event::ChangedNotApplied { short } => eprintln!(
            "  it changed and is still running the old version; apply it with: parachute restart {short}"
        ),
        Event::StartWith { short } => eprintln!("  start it with: parachute start {short}"),
        Event::Restarting { short } => eprintln!("  {short} changed; restarting it."),
        Event::DisabledNotStarted { short } => {
            eprintln!("{short} is disabled; not started (parachute enable {short})");
        }
        Event::Skipped { short, error } => eprintln!("⚠ skipping {short}: {error}"),
        Event::NothingToStart { verb } => eprintln!(
            "Nothing to {}: no services are installed. Try: parachute install <path-to-module>",
            verb_word(verb)
        ),
        Event::Started {
            name,
            verb,
            pid,
            port_pending,
        } => {
            let pid = if pid == 0 {
                String::new()
            } else {
                format!(" (pid {pid})")
            };
            let done = if verb == Verb::Start {
                "started"
            } else {
                "restarted"
            };
            eprintln!("✓ {name} {done}{pid}.");
            if let Some(port) = port_pending {
                eprintln!(
                    "  ⚠ port {port} isn't accepting connections yet; check: parachute logs {name}"
                );
            }
        }
        Event::StartFailed { name, why, log } => {
            eprintln!("✗ {name} failed to start: {why}");
            if log.is_empty() {
                eprintln!("  (no log lines; see: parachute logs {name})");
            } else {
                eprintln!("  its log from this start:");
                for l in log {
                    eprintln!("  │ {l}");
                }
            }
        }
        Event::RecordFailed { error } => {
            eprintln!("⚠ could not record the start result in services.json: {error}");
        }
        Event::StopFromUnitFiles { error } => {
            eprintln!("⚠ {error}");
            eprintln!("  Stopping from the unit files instead (parachute-*.service, {TARGET}).");
        }
        Event::NothingToStop => eprintln!("Nothing to stop: no services are installed."),
        Event::NotInstalled { label } => eprintln!("{label} isn't installed (no unit)."),
        Event::StopFailed { label, job } => eprintln!("✗ {label} did not stop: job {job}"),
        Event::Stopped { label } => eprintln!("✓ {label} stopped."),
        Event::WasntRunning { label } => eprintln!("{label} wasn't running."),
        Event::ComeBack { whole_suite, names } => match (whole_suite, names.as_slice()) {
            (false, [one]) => eprintln!(
                "  {one} is enabled, so it comes back at next login unless disabled: parachute disable {one}"
            ),
            _ => eprintln!(
                "  Enabled services come back at next login unless disabled ({}): parachute disable <service>",
                names.join(", ")
            ),
        },
        Event::Uninstalled { name } => eprintln!("✓ {name} uninstalled."),
        Event::DataKept { path } => eprintln!("  its data stays in {}", path.display()),
    }
}

pub fn verb_word(verb: Verb) -> &'static str {
    match verb {
        Verb::Start => "start",
        Verb::Restart => "restart",
    }
}

pub fn exit_code(v: Verdict) -> ExitCode {
    match v {
        Verdict::Success => ExitCode::SUCCESS,
        Verdict::Failure => ExitCode::from(1),
    }
}
