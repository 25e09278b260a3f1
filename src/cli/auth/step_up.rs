//! `parachute auth step-up status|set|clear`: a hub user's step-up PIN (the
//! second factor the hub asks for before its dangerous actions), on the
//! store directly as the other `auth` commands, under the same rules as
//! the API and the pages (`identity::step_up`: 4–12 digits, and changing a
//! PIN needs the current one, counted in the same 5-per-5-minutes bucket).
//!
//! `clear` is for the forgotten PIN, so it cannot ask for that PIN: it asks
//! for the user's password instead. That keeps removing a second factor a
//! deliberate act of the person who owns it, not of any script that runs
//! as them (which could still edit `hub.db`: the CLI's authority is the
//! file system's, as for `auth 2fa disable`).

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::two_factor::{people, user};
use super::{Context, JsonArgs, internal, prompt};
use crate::cli::context::out;
use crate::error::{Error, PromptError};
use crate::identity::password;
use crate::identity::step_up::{self as rules, StepUpError};
use crate::store::{Store, users::User};

#[derive(Debug, Args)]
pub struct StepUpArgs {
    #[command(subcommand)]
    pub command: StepUpCommand,
}

#[derive(Debug, Subcommand)]
pub enum StepUpCommand {
    /// Show whether each user (or one) has a step-up PIN.
    Status(StatusArgs),
    /// Set a user's step-up PIN (4–12 digits), or change it. On a terminal
    /// it asks for the new PIN twice (and first for the current one when
    /// changing it); otherwise it reads stdin: the new PIN on the first
    /// line or, when changing it, the current PIN and then the new one.
    Set(UserArgs),
    /// Forget a user's step-up PIN (the way back from a forgotten one) and
    /// end the step-up tokens it bought. Needs that user's password.
    Clear(ClearArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this user.
    #[arg(long)]
    pub username: Option<String>,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    /// Whose; defaults to the owner.
    #[arg(long)]
    pub username: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClearArgs {
    /// Whose; defaults to the owner.
    #[arg(long)]
    pub username: Option<String>,
    /// Read the user's password from the first line of stdin instead of
    /// asking on the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

pub fn run(cx: &Context, args: StepUpArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    match args.command {
        StepUpCommand::Status(a) => status(&store, &a),
        StepUpCommand::Set(a) => set(cx, &store, &a),
        StepUpCommand::Clear(a) => clear(&store, &a),
    }
}

fn configured(store: &Store, u: &User) -> Result<bool, Error> {
    let conn = store.conn()?;
    rules::configured(&conn, &u.id).map_err(|e| store.err(e).into())
}

fn status(store: &Store, args: &StatusArgs) -> Result<ExitCode, Error> {
    let people = people(store, args.username.as_deref())?;
    let mut rows = Vec::with_capacity(people.len());
    for u in &people {
        rows.push((u.username.as_str(), configured(store, u)?));
    }
    if args.json.json {
        let doc: Vec<_> = rows
            .iter()
            .map(|(u, c)| serde_json::json!({"username": u, "configured": c}))
            .collect();
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        return out(&format!("{text}\n")).map(|()| ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no users yet. Create the owner with: parachute auth set-password");
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!("{:<24} {}\n", "USERNAME", "STEP-UP PIN");
    for (u, c) in rows {
        let _ = writeln!(s, "{u:<24} {}", if c { "set" } else { "not set" });
    }
    out(&s).map(|()| ExitCode::SUCCESS)
}

fn io(e: std::io::Error) -> Error {
    Error::io(Path::new("<stdin>"), e)
}

/// The current PIN (when `changing`) and the new one, from the terminal
/// (the new one twice) or from stdin's lines.
fn read_pins(changing: bool) -> Result<(Option<String>, String), Error> {
    if std::io::stdin().is_terminal() {
        let ask = |p: &str| rpassword::prompt_password(p).map_err(io);
        let current = if changing {
            Some(ask("Current PIN: ")?)
        } else {
            None
        };
        let first = ask("New PIN (4–12 digits): ")?;
        if ask("Repeat it: ")? != first {
            return Err(PromptError::Differ { what: "PINs" }.into());
        }
        return Ok((current, first));
    }
    let mut lines = std::io::stdin().lock().lines();
    let mut next = || -> Result<String, Error> {
        Ok(lines.next().transpose().map_err(io)?.unwrap_or_default())
    };
    let current = if changing { Some(next()?) } else { None };
    Ok((current, next()?))
}

fn set(cx: &Context, store: &Store, args: &UserArgs) -> Result<ExitCode, Error> {
    let u = user(store, args.username.as_deref())?;
    let changing = configured(store, &u)?;
    let (current, new) = read_pins(changing)?;
    let now = cx.clock.now();
    match rules::set_pin(
        store,
        &u.id,
        new.trim(),
        current.as_deref().map(str::trim),
        now,
    ) {
        Ok(()) => {}
        Err(e) => return Err(refused(&u, e, store.path())),
    }
    let verb = if changing { "changed" } else { "set" };
    eprintln!(
        "✓ step-up PIN {verb} for `{}`; the hub asks for it before rotating the signing key, approving a client or minting an elevated token",
        u.username
    );
    Ok(ExitCode::SUCCESS)
}

/// Why `set` changed nothing, and what to do.
fn refused(u: &User, e: StepUpError, db: &Path) -> Error {
    let name = &u.username;
    Error::Usage(match e {
        StepUpError::Format => {
            format!("{e}; nothing was changed. Run the command again with a PIN of digits only")
        }
        StepUpError::CurrentPinRequired => format!(
            "that is not the current step-up PIN of `{name}`: {e}; nothing was changed. Forgot it? Clear it with: parachute auth step-up clear --username {name}"
        ),
        StepUpError::RateLimited(secs) => format!(
            "{e}: try again in {secs} seconds, or clear it with: parachute auth step-up clear --username {name}"
        ),
        other => return internal(db, other),
    })
}

fn clear(store: &Store, args: &ClearArgs) -> Result<ExitCode, Error> {
    let u = user(store, args.username.as_deref())?;
    if !configured(store, &u)? {
        eprintln!("✓ `{}` has no step-up PIN; nothing to clear", u.username);
        return Ok(ExitCode::SUCCESS);
    }
    let pw = prompt::existing_password(
        args.password_stdin,
        &format!("Password of `{}`: ", u.username),
        "auth step-up clear",
    )?;
    if !password::verify(&pw, &u.password_hash) {
        return Err(Error::Usage(format!(
            "that is not the password of `{}`; the step-up PIN was kept. Run the command again",
            u.username
        )));
    }
    rules::clear(store, &u.id)?;
    eprintln!(
        "✓ step-up PIN cleared for `{}`; set a new one with: parachute auth step-up set",
        u.username
    );
    Ok(ExitCode::SUCCESS)
}
