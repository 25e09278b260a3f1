//! The command-runner seam: every launchctl call goes through [`Runner`], so
//! unit tests replay scripted answers and assert the exact argv, and the
//! integration tests put a fake `launchctl` first on `PATH`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use super::error::Error;

/// Caps what is kept of one launchctl answer (`print` of a job is a few KiB).
const MAX_OUTPUT: usize = 256 * 1024;

/// What one `launchctl` run answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(stdout: &str) -> Self {
        Self {
            code: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    pub fn fail(code: i32, stderr: &str) -> Self {
        Self {
            code,
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    /// stderr (else stdout), trimmed, for messages.
    pub fn detail(&self) -> String {
        let s = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        s.trim().to_string()
    }
}

/// Runs `launchctl <args>` and waits between polls.
#[allow(async_fn_in_trait)]
pub trait Runner {
    async fn run(&self, args: &[String]) -> Result<Output, Error>;
    /// Pause between polls (a test runner returns at once).
    async fn pause(&self, d: Duration);
}

/// The real one: `launchctl` found on `PATH`.
#[derive(Debug, Clone, Default)]
pub struct Launchctl;

impl Runner for Launchctl {
    async fn run(&self, args: &[String]) -> Result<Output, Error> {
        let out = tokio::process::Command::new("launchctl")
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| Error::NoLaunchctl {
                reason: e.to_string(),
            })?;
        let text = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(MAX_OUTPUT)]).into_owned();
        Ok(Output {
            // A signal death has no code; report it as launchctl's generic failure.
            code: out.status.code().unwrap_or(1),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        })
    }

    async fn pause(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// A recording runner for unit tests: answers from a script, in order, and
/// keeps every argv. An unscripted call answers exit 0 with no output.
#[derive(Debug, Default)]
pub struct Recording {
    script: Mutex<VecDeque<Output>>,
    calls: Mutex<Vec<String>>,
}

impl Recording {
    pub fn new(script: impl IntoIterator<Item = Output>) -> Self {
        Self {
            script: Mutex::new(script.into_iter().collect()),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Every call so far, argv joined by spaces.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Runner for Recording {
    async fn run(&self, args: &[String]) -> Result<Output, Error> {
        if let Ok(mut c) = self.calls.lock() {
            c.push(args.join(" "));
        }
        Ok(self
            .script
            .lock()
            .ok()
            .and_then(|mut s| s.pop_front())
            .unwrap_or_default())
    }

    async fn pause(&self, _: Duration) {}
}
