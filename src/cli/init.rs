//! `parachute init`: the first run (see [`ops::init`], which does the
//! work). This file holds the flags, the prompt for the owner's password,
//! the HTTP check of `/health`, and how the report reads on the terminal.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::Context;
use super::auth::{self, prompt};
use crate::env_vars;
use crate::error::Error;
use crate::health::{self, Health};
use crate::identity::password::Password;
use crate::lifecycle::ops::init::{self as op, End, Hooks, Inputs, Note, Step};
use crate::lifecycle::{JobResult, Kind};
use crate::ports;

/// How long the first `/health` through the socket may take (it starts the hub).
const FIRST_HEALTH_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The owner's username (when the hub has no owner yet).
    #[arg(long, default_value = auth::DEFAULT_OWNER)]
    pub username: String,
    /// Read the owner's password from the first line of stdin instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// Write and enable the hub units, but do not start the socket.
    #[arg(long)]
    pub no_start: bool,
    /// The hub's port (default 1939, or the one an earlier `init --port`
    /// chose). Kept in the hub's settings; the socket unit, the token
    /// issuer and every module's `PARACHUTE_HUB_ORIGIN` follow it, so a
    /// second user on the machine can run a hub of their own.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1024..))]
    pub port: Option<u16>,
}

/// The hub's port when nothing chose one: `PORT` (as `serve` reads it), else 1939.
fn default_port() -> u16 {
    std::env::var(env_vars::PORT)
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p != 0)
        .unwrap_or(ports::HUB)
}

pub async fn run(cx: &Context, args: InitArgs) -> Result<ExitCode, Error> {
    // Without a user manager (a container, a bare `su` shell) init still
    // makes the hub's data; the lazy backend reads unit files from disk.
    let (init, manager) = match cx.init_lazy().connect().await {
        Ok(init) => (init, Ok(())),
        Err(e) => (cx.init_lazy(), Err(e.into())),
    };
    let origin = std::env::var(env_vars::PARACHUTE_HUB_ORIGIN)
        .ok()
        .filter(|o| !o.is_empty());
    let inputs = Inputs {
        username: &args.username,
        password_stdin: args.password_stdin,
        no_start: args.no_start,
        port: args.port,
        default_port: default_port(),
        origin: origin.as_deref(),
    };
    let mut terminal = Terminal {
        password_stdin: args.password_stdin,
    };
    let report = op::run(&cx.host(&init), manager, &inputs, &mut terminal).await?;
    // When the socket fails to start, the port is the news.
    if !matches!(report.end, End::ListenerFailed { .. }) {
        summary(&report.changed);
    }
    finish(cx, report.end)
}

/// The end of the report, and the exit status.
fn finish(cx: &Context, end: End) -> Result<ExitCode, Error> {
    match end {
        End::NoManager { reason } => eprintln!(
            "⚠ no systemd user manager is reachable ({reason}), so the hub's units were not installed.\n  \
             The hub's data is ready. Run the hub in the foreground:  parachute serve"
        ),
        End::ManagerFailed(e) => return Err(e),
        End::NotStarted { kind } => {
            eprintln!("  Start the hub with: {}", kind.start_hub_command());
        }
        End::ListenerFailed {
            kind,
            listen,
            result,
        } => return Err(listener_failed(kind, listen, result)),
        End::Unhealthy {
            kind,
            listen,
            error,
        } => {
            return Err(Error::Usage(format!(
                "the hub did not answer http://{listen}/health: {error}\n  See why: parachute logs hub   (or {})",
                kind.hub_log_command()
            )));
        }
        End::Healthy {
            kind,
            listen,
            latency_ms,
        } => healthy(cx, kind, listen, latency_ms),
    }
    Ok(ExitCode::SUCCESS)
}

/// The hub's socket (or agent) did not start: most likely its port is taken.
fn listener_failed(kind: Kind, listen: SocketAddr, result: JobResult) -> Error {
    Error::Usage(format!(
        "{} did not start ({result}); is {listen} taken by another program (another user's hub)?\n  \
         Pick another port: parachute init --port <N>\n  \
         See why: {}",
        kind.hub_listener(),
        kind.hub_log_command()
    ))
}

/// The hub answers: where to go next.
fn healthy(cx: &Context, kind: Kind, listen: SocketAddr, latency_ms: u64) {
    eprintln!(
        "✓ the hub answers on http://{listen}/health through {} ({latency_ms} ms)",
        kind.hub_listener(),
    );
    let origin = if std::env::var_os(env_vars::PARACHUTE_HUB_ORIGIN).is_some() {
        cx.with_hub_port(listen.port()).hub_origin
    } else {
        format!("http://{listen}")
    };
    eprintln!(
        "\nAdmin: {origin}/admin\n\
         Next:\n  \
         parachute install <path-to-module>      run a module behind the hub\n  \
         parachute auth mint-token --scope <s>   a token for a script or an agent\n  \
         parachute status                        what runs, and how it is doing"
    );
}

fn summary(changed: &[Step]) {
    if changed.is_empty() {
        eprintln!("✓ already initialized; nothing changed");
    }
    for step in changed {
        eprintln!("✓ {}", line(step));
    }
}

/// One changed step as the summary says it.
fn line(step: &Step) -> String {
    match step {
        Step::Prepared(s) | Step::Units(s) => s.clone(),
        Step::CreatedHome(p) => format!("created {}", p.display()),
        Step::CreatedStore(p) => format!("created the hub store {}", p.display()),
        Step::MovedPort { from, to } => format!("moved the hub from port {from} to {to}"),
        Step::SetPort(p) => format!("set the hub's port to {p}"),
        Step::CreatedOwner(u) => format!("created the owner `{u}`"),
        Step::WroteOperatorToken => "wrote the operator token".into(),
        Step::MadeKey => "made a signing key".into(),
        Step::FreshOperatorToken => "wrote a fresh operator token".into(),
        Step::StartedListener { listener, listen } => format!("started {listener} on {listen}"),
    }
}

/// The terminal `init` prompts on, and the real `/health` over HTTP.
struct Terminal {
    password_stdin: bool,
}

impl Hooks for Terminal {
    fn note(&mut self, note: Note) {
        match note {
            Note::OwnerIsAlready { owner } => {
                eprintln!("  the owner is already `{owner}`; --username applies only to a new hub");
            }
            Note::PasswordUnused { owner: u } => eprintln!(
                "⚠ the hub already has an owner `{u}`; the password on stdin was not used.\n  \
                 Change it with: parachute auth set-password --username {u} --password-stdin"
            ),
        }
    }

    fn owner_password(&mut self, username: &str) -> Result<Password, Error> {
        auth::check_username(username)?;
        if !self.password_stdin && !std::io::stdin().is_terminal() {
            return Err(Error::Usage(
                "the hub needs an owner password, and stdin is not a terminal to ask on. Pipe it in: printf '%s\\n' \"$PW\" | parachute init --password-stdin".into(),
            ));
        }
        eprintln!("Choose a password for the hub's owner `{username}`.");
        prompt::password(self.password_stdin, "init")
    }

    async fn health(&self, listen: SocketAddr) -> Health {
        health::probe(
            &health::client(),
            listen.port(),
            "/health",
            FIRST_HEALTH_TIMEOUT,
        )
        .await
    }
}
