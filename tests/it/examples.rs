//! Issue 9 item 8: every example the help text and the man pages show is
//! run, and must get past argument parsing. Examples are found, not listed:
//! each backticked `parachute …` in any command's help or in `man/*.1`, and
//! each backticked value in an option's list of examples (`--since` shows
//! `-1h`, which clap refused until it allowed hyphen values). Placeholders (`<jti>`) are
//! filled from a table; an unknown one fails the test so it gets a value.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;

use crate::support::cli::Parachute;

/// Placeholder → a harmless value.
const FILL: &[(&str, &str)] = &[
    ("<jti>", "no-such-jti"),
    ("<path-to-module>", "/nonexistent-module"),
    ("<N>", "2939"),
    ("<scope>", "scribe:transcribe"),
    ("<s>", "scribe:transcribe"),
    ("<client id>", "no-such-client"),
    ("<name>", "no-such-name"),
    ("<svc>", "vault"),
];

/// Values for required positionals when an option's example is run.
fn positional(name: &str) -> &'static str {
    match name {
        "path" => "/nonexistent-module",
        "service" => "hub",
        _ => "x",
    }
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The values an option's help lists as examples: the backticked spans of a
/// parenthesised list that opens with one, as in
/// "(`2026-01-31 09:00`, `-1h`, `today`; see journalctl(1))".
fn example_values(help: &str) -> Vec<String> {
    let Some(start) = help.find("(`") else {
        return Vec::new();
    };
    let group = &help[start + 1..];
    let end = group
        .find(';')
        .or_else(|| group.find(')'))
        .unwrap_or(group.len());
    backticked(&format!(" {}", &group[..end]))
}

fn collect(cmd: &clap::Command, path: &[String], runs: &mut Vec<(String, Vec<String>)>) {
    let mut c = cmd.clone();
    let help = c.render_long_help().to_string();
    for ex in backticked(&help) {
        if let Some(rest) = ex.strip_prefix("parachute ") {
            runs.push((ex.clone(), words(rest)));
        }
    }
    for arg in cmd.get_arguments() {
        let (Some(long), Some(h)) = (arg.get_long(), arg.get_long_help().or(arg.get_help())) else {
            continue;
        };
        if !arg.get_action().takes_values() {
            continue;
        }
        for value in example_values(&h.to_string()) {
            let mut argv = path.to_vec();
            for p in cmd.get_positionals().filter(|p| p.is_required_set()) {
                argv.push(positional(p.get_id().as_str()).into());
            }
            argv.push(format!("--{long}"));
            argv.push(value.clone());
            runs.push((format!("--{long} {value}"), argv));
        }
    }
    for sub in cmd.get_subcommands() {
        let mut p = path.to_vec();
        p.push(sub.get_name().to_string());
        collect(sub, &p, runs);
    }
}

fn words(example: &str) -> Vec<String> {
    let cut = example.split(" | ").next().unwrap_or(example);
    cut.split_whitespace()
        .map(|w| {
            FILL.iter()
                .find(|(k, _)| *k == w)
                .map_or_else(|| w.to_string(), |(_, v)| (*v).to_string())
        })
        .collect()
}

#[test]
fn every_documented_example_gets_past_argument_parsing() {
    let mut runs = Vec::new();
    collect(&parachute::cli::Cli::command(), &[], &mut runs);
    let man = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    for entry in std::fs::read_dir(&man).expect("man/") {
        // Pages only: `man/sections/` holds the hand-written parts they include.
        let path = entry.expect("entry").path();
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let text = text.replace("\\-", "-").replace("\\*(Aq", "'");
        for ex in backticked(&text) {
            if let Some(rest) = ex.strip_prefix("parachute ") {
                runs.push((ex.clone(), words(rest)));
            }
        }
    }
    assert!(
        runs.iter().any(|(ex, _)| ex == "--since -1h"),
        "the --since examples are found: {runs:?}"
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let mut bad = Vec::new();
    for (example, argv) in &runs {
        assert!(
            !argv.iter().any(|w| w.starts_with('<')),
            "add a value for the placeholder in `{example}` to FILL"
        );
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut cmd: Command = p.cmd(&args);
        // `serve` and `-f` keep running: a free port, and a time limit.
        cmd.env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break Some(s);
            }
            if start.elapsed() > Duration::from_secs(3) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        let parse_error = status.is_some_and(|s| s.code() == Some(2)) && err.starts_with("error:")
            || err.contains("unknown flag")
            || err.contains("Failed to parse");
        if parse_error {
            bad.push(format!("`{example}` ({argv:?}): {err}"));
        }
    }
    assert!(
        bad.is_empty(),
        "documented examples that fail:\n{}",
        bad.join("\n")
    );
}
