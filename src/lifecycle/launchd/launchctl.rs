//! The launchctl verbs, each an exact argv sequence with its retry paths
//! (facts from brew services and the known launchd traps):
//! - start = `enable <target>` then `bootstrap <domain> <plist>`; a job that
//!   is loaded but idle is `kickstart`ed, a running one is left alone;
//! - `Bootstrap failed: 5` (still loaded, or draining after a bootout) is
//!   answered by bootout-and-wait, then one more bootstrap; `119: Service is
//!   disabled` by `enable`, then one more bootstrap;
//! - stop = `bootout <target>`, then `print` until launchd says 113 (gone),
//!   so nothing re-bootstraps a job that is still draining;
//! - restart of an unchanged plist = `kickstart -k <target>`;
//! - disable = `disable <target>` + bootout.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::disabled;
use super::error::{Error, hint};
use super::print::{self, JobInfo, NOT_FOUND};
use super::runner::{Output, Runner};

const IO_ERROR: i32 = 5;
const DISABLED: i32 = 119;

/// The launchd domain agents live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// `gui/<uid>`: the logged-in console user's session.
    Gui(u32),
    /// `user/<uid>`: no GUI session (SSH, or someone else owns the console).
    User(u32),
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gui(uid) => write!(f, "gui/{uid}"),
            Self::User(uid) => write!(f, "user/{uid}"),
        }
    }
}

impl Domain {
    /// `gui/<uid>` unless this is an SSH session or `console_owner` is
    /// someone else (brew services decides the same way).
    pub fn choose(uid: u32, ssh: bool, console_owner: Option<u32>) -> Self {
        if ssh || console_owner.is_some_and(|o| o != uid) {
            Self::User(uid)
        } else {
            Self::Gui(uid)
        }
    }
}

/// How long `stop` waits for a booted-out job to disappear.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub every: Duration,
    pub polls: u32,
}

impl Default for Wait {
    fn default() -> Self {
        // launchd's own exit timeout for our agents is 5 s; allow four times that.
        Self {
            every: Duration::from_millis(200),
            polls: 100,
        }
    }
}

/// launchctl for one domain, through a [`Runner`].
#[derive(Debug)]
pub struct Launchctl<R> {
    pub runner: R,
    pub domain: Domain,
    pub wait: Wait,
}

impl<R: Runner> Launchctl<R> {
    pub fn new(runner: R, domain: Domain) -> Self {
        Self {
            runner,
            domain,
            wait: Wait::default(),
        }
    }

    fn target(&self, label: &str) -> String {
        format!("{}/{label}", self.domain)
    }

    async fn run(&self, args: &[&str]) -> Result<Output, Error> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
        self.runner.run(&args).await
    }

    fn failed(&self, verb: &str, label: &str, out: &Output) -> Error {
        Error::Launchctl {
            verb: verb.to_string(),
            label: label.to_string(),
            code: out.code,
            detail: out.detail(),
            hint: hint(out.code, &self.domain.to_string(), label),
        }
    }

    /// The job's state; `None` when launchd does not have it loaded.
    pub async fn print(&self, label: &str) -> Result<Option<JobInfo>, Error> {
        let out = self.run(&["print", &self.target(label)]).await?;
        match out.code {
            0 => Ok(Some(print::parse(&out.stdout))),
            _ if is_not_found(&out) => Ok(None),
            _ => Err(self.failed("print", label, &out)),
        }
    }

    /// `print-disabled <domain>`: whether `label` is disabled (`None` when
    /// launchd does not list it, which means enabled).
    pub async fn is_disabled(&self, label: &str) -> Result<Option<bool>, Error> {
        let domain = self.domain.to_string();
        let out = self.run(&["print-disabled", &domain]).await?;
        if out.code != 0 {
            return Err(self.failed("print-disabled", label, &out));
        }
        Ok(disabled::parse(&out.stdout).get(label).copied())
    }

    /// `enable <target>`: clears a persisted "disabled" (which `bootout`
    /// and Login Items can leave behind) so `bootstrap` and login load it.
    pub async fn enable(&self, label: &str) -> Result<(), Error> {
        let out = self.run(&["enable", &self.target(label)]).await?;
        match out.code {
            0 => Ok(()),
            _ => Err(self.failed("enable", label, &out)),
        }
    }

    /// Start the job: loaded and running → nothing; loaded and idle →
    /// `kickstart`; not loaded → `enable` + `bootstrap` (with the retries).
    pub async fn start(&self, label: &str, plist: &Path) -> Result<(), Error> {
        match self.print(label).await? {
            Some(info) if info.is_running() => Ok(()),
            Some(_) => self.kickstart(label, false).await,
            None => {
                self.enable(label).await?;
                self.bootstrap(label, plist).await
            }
        }
    }

    /// `bootstrap <domain> <plist>`, answering 5 with bootout-and-wait and
    /// 119 with `enable`, once each.
    pub async fn bootstrap(&self, label: &str, plist: &Path) -> Result<(), Error> {
        let domain = self.domain.to_string();
        let plist_arg = plist.to_string_lossy();
        let mut retried_io = false;
        let mut retried_disabled = false;
        loop {
            let out = self.run(&["bootstrap", &domain, &plist_arg]).await?;
            match out.code {
                0 => return Ok(()),
                IO_ERROR if !retried_io => {
                    retried_io = true;
                    self.bootout(label).await?;
                }
                IO_ERROR => {
                    return Err(Error::WontLoad {
                        label: label.into(),
                        domain,
                        plist: plist.to_path_buf(),
                    });
                }
                DISABLED if !retried_disabled => {
                    retried_disabled = true;
                    self.enable(label).await?;
                }
                _ => return Err(self.failed("bootstrap", label, &out)),
            }
        }
    }

    /// `bootout <target>`, then wait until launchd no longer has it. A job
    /// that was not loaded is already stopped.
    pub async fn bootout(&self, label: &str) -> Result<(), Error> {
        let out = self.run(&["bootout", &self.target(label)]).await?;
        if out.code != 0 && !is_not_found(&out) {
            return Err(self.failed("bootout", label, &out));
        }
        self.wait_gone(label).await
    }

    async fn wait_gone(&self, label: &str) -> Result<(), Error> {
        for _ in 0..self.wait.polls {
            if self.print(label).await?.is_none() {
                return Ok(());
            }
            self.runner.pause(self.wait.every).await;
        }
        Err(Error::StillLoaded {
            label: label.into(),
            domain: self.domain.to_string(),
            waited_secs: (self.wait.every * self.wait.polls).as_secs(),
        })
    }

    /// `kickstart [-k] <target>`: start a loaded job (`-k`: kill it first).
    pub async fn kickstart(&self, label: &str, kill: bool) -> Result<(), Error> {
        let target = self.target(label);
        let args: &[&str] = if kill {
            &["kickstart", "-k", &target]
        } else {
            &["kickstart", &target]
        };
        let out = self.run(args).await?;
        match out.code {
            0 => Ok(()),
            _ => Err(self.failed("kickstart", label, &out)),
        }
    }

    /// Restart: a loaded job whose plist did not change is `kickstart -k`ed
    /// in place; otherwise it is booted out (and waited for) and started
    /// from the new plist.
    pub async fn restart(&self, label: &str, plist: &Path, changed: bool) -> Result<(), Error> {
        let loaded = self.print(label).await?.is_some();
        if loaded && !changed {
            return self.kickstart(label, true).await;
        }
        if loaded {
            self.bootout(label).await?;
        }
        self.enable(label).await?;
        self.bootstrap(label, plist).await
    }

    /// `disable <target>` (it will not load at login) + bootout.
    pub async fn disable(&self, label: &str) -> Result<(), Error> {
        let out = self.run(&["disable", &self.target(label)]).await?;
        if out.code != 0 {
            return Err(self.failed("disable", label, &out));
        }
        self.bootout(label).await
    }
}

/// "Could not find service" (exit 113, or older releases' 3 with that text).
fn is_not_found(out: &Output) -> bool {
    out.code == NOT_FOUND
        || out.stderr.contains("Could not find service")
        || out.stdout.contains("Could not find service")
}

#[cfg(test)]
mod tests;
