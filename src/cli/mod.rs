//! The command line: clap definitions (one file per command group) and the
//! one place that turns errors into messages and exit codes.

pub mod auth;
mod binary_moved;
pub mod completions;
mod context;
pub mod doctor;
pub mod enable;
mod events;
pub mod git;
pub mod init;
pub mod install;
pub mod lifecycle;
pub mod logs;
pub mod serve;
pub mod status;
pub mod unit;
pub mod upgrade;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::Error;
pub use context::Context;

/// Parachute: run your local services as native units, behind one hub.
#[derive(Debug, Parser)]
#[command(name = "parachute", version = crate::version::VERSION, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register a module from its directory and run it as a user unit.
    #[command(after_help = "The module.json format: `man 5 parachute-module`.")]
    Install(install::InstallArgs),
    /// Stop a service, remove its unit and its services.json row (its data stays).
    Uninstall(install::UninstallArgs),
    /// Start a service, or the whole suite when none is named.
    Start(lifecycle::LifecycleArgs),
    /// Stop a service, or the whole suite when none is named.
    Stop(lifecycle::LifecycleArgs),
    /// Restart a service, or the whole suite when none is named.
    Restart(lifecycle::LifecycleArgs),
    /// Start a service at login (the whole suite when none is named); does not start it now.
    Enable(enable::EnableArgs),
    /// Stop a service and keep it from starting at login (the whole suite when none is named).
    Disable(enable::EnableArgs),
    /// Show a service's logs from the journal.
    Logs(logs::LogsArgs),
    /// Show every service's state, resources and health.
    Status(status::StatusArgs),
    /// Print the systemd unit parachute would write for a service.
    Unit(unit::UnitArgs),
    /// Check the hub, every unit, the store, the operator token, ports and
    /// lingering; each finding names its fix (`--fix` applies the safe ones).
    Doctor(doctor::DoctorArgs),
    /// Users, passwords, signing keys, the operator token and the token registry.
    Auth(auth::AuthArgs),
    /// Run the hub daemon in the foreground (systemd runs it socket-activated).
    Serve(serve::ServeArgs),
    /// First run: the hub store, the owner, keys, the operator token, and the
    /// hub's socket-activated units.
    Init(init::InitArgs),
    /// The hub's git repositories (`/git/<name>`): list them with size and last push.
    Git(git::GitArgs),
    /// Move the units and the hub onto this binary after it was replaced.
    ///
    /// Run it after a package upgrade, `brew upgrade` or `cargo install`.
    /// Rewrites every unit whose text changed (the hub's socket and
    /// service, each module's service: `ExecStart=` paths, new settings),
    /// reloads the user manager, and restarts the hub's service behind its
    /// socket: connections wait in the socket's backlog while the old hub
    /// finishes its in-flight requests (at most 10 s), then the new one
    /// answers them. The socket itself is never restarted. Modules that run
    /// are restarted only when their unit changed.
    Upgrade(upgrade::UpgradeArgs),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    Completions(completions::CompletionsArgs),
}

/// Parse the process arguments and run. `main` only maps the result.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The hub takes its socket from systemd before any thread exists and
    // runs its own runtime.
    if let Command::Serve(a) = &cli.command {
        return serve::main(a);
    }
    // Needs no runtime, paths or home: it must work while packaging.
    if let Command::Completions(a) = &cli.command {
        return completions::run(a).unwrap_or_else(|e| report(&e));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("parachute: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Run one command.
pub async fn run(cli: Cli) -> Result<ExitCode, Error> {
    let cx = Context::from_env()?;
    if matches!(
        cli.command,
        Command::Install(_)
            | Command::Uninstall(_)
            | Command::Start(_)
            | Command::Stop(_)
            | Command::Restart(_)
            | Command::Enable(_)
            | Command::Disable(_)
            | Command::Logs(_)
            | Command::Status(_)
            | Command::Unit(_)
            | Command::Doctor(_)
            | Command::Auth(_)
            | Command::Git(_)
    ) {
        binary_moved::warn(&cx).await;
    }
    match cli.command {
        Command::Install(a) => install::install(&cx, a).await,
        Command::Uninstall(a) => install::uninstall(&cx, a).await,
        Command::Start(a) => lifecycle::run(&cx, lifecycle::Op::Start, a).await,
        Command::Stop(a) => lifecycle::run(&cx, lifecycle::Op::Stop, a).await,
        Command::Restart(a) => lifecycle::run(&cx, lifecycle::Op::Restart, a).await,
        Command::Enable(a) => enable::enable(&cx, a).await,
        Command::Disable(a) => enable::disable(&cx, a).await,
        Command::Logs(a) => logs::run(&cx, a).await,
        Command::Status(a) => status::run(&cx, a).await,
        Command::Unit(a) => unit::run(&cx, a).await,
        Command::Doctor(a) => doctor::run(&cx, a).await,
        Command::Auth(a) => auth::run(&cx, a).await,
        Command::Serve(a) => serve::run(&cx, &a).await,
        Command::Init(a) => init::run(&cx, a).await,
        Command::Upgrade(a) => upgrade::run(&cx, a).await,
        Command::Git(a) => git::run(&cx, a),
        Command::Completions(a) => completions::run(&a),
    }
}

/// Print an error once, with what to do about it, and choose the exit code:
/// 1 for what the user can fix, 2 for what they cannot.
pub fn report(e: &Error) -> ExitCode {
    use crate::hub::listener::ListenError;
    use crate::lifecycle::InitError;
    let mut err = std::io::stderr().lock();
    let code = match e {
        Error::Reported => return ExitCode::from(1),
        Error::Init(InitError::Unreachable { reason }) => {
            let _ = writeln!(
                err,
                "✗ no systemd user manager is reachable ({reason}).\n  \
                 Run the hub in the foreground instead:  parachute serve\n  \
                 Or reach your user bus: log in as this user directly (not through su), \
                 or export XDG_RUNTIME_DIR=/run/user/$(id -u)"
            );
            1
        }
        Error::Init(InitError::Sudo) => {
            let user = std::env::var(crate::env_vars::SUDO_USER).unwrap_or_default();
            let _ = writeln!(
                err,
                "✗ refusing to run under sudo: Parachute's services run in your own user manager, not root's.\n  \
                 Run the same command as {user} without sudo."
            );
            1
        }
        Error::Io { .. }
        | Error::CurrentExe { .. }
        | Error::Terminal { .. }
        | Error::ServeSetup { .. }
        | Error::Listener(ListenError::Listen { .. } | ListenError::Setup { .. })
        | Error::ServerStopped { .. }
        | Error::Init(InitError::Bus(_))
        | Error::Journal(crate::error::JournalError::NoPipe) => {
            let _ = writeln!(err, "✗ {e}");
            2
        }
        _ => {
            let _ = writeln!(err, "✗ {e}");
            1
        }
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use std::process::ExitCode;

    use super::report;
    use crate::error::{Error, JournalError};

    /// 1 for what the user can fix, 2 for what they cannot.
    #[test]
    fn a_fault_the_user_cannot_fix_exits_2_and_a_fixable_one_1() {
        assert_eq!(
            report(&Error::Journal(JournalError::NoPipe)),
            ExitCode::from(2)
        );
        let missing = JournalError::Spawn {
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(report(&Error::Journal(missing)), ExitCode::from(1));
    }
}
