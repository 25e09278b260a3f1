//! `parachute auth 2fa status|enroll|disable`: TOTP for a hub user, on the
//! store directly (as the other `auth` commands). Whoever can run these can
//! read `hub.db`, so this is also the recovery path for a lost phone.
//!
//! Enrolling never switches 2FA on until a code from the new authenticator
//! has been checked, so a mistyped secret cannot lock anyone out; a live
//! secret is never replaced silently (disable first); the secret and backup
//! codes go only to a terminal, or to stdout with `--json` when asked for.

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{Context, date};
use crate::cli::context::out;
use crate::clock::Clock;
use crate::error::{Error, TwoFactorError};
use crate::identity::{backup_codes, totp};
use crate::store::{self, Store, two_factor, users::User};

#[derive(Debug, Args)]
pub struct TwoFactorArgs {
    #[command(subcommand)]
    pub command: TwoFactorCommand,
}

#[derive(Debug, Subcommand)]
pub enum TwoFactorCommand {
    /// Show whether two-factor sign-in is on, for every user or one.
    Status(StatusArgs),
    /// Turn on two-factor sign-in (TOTP) for a user: shows a secret and QR
    /// code for an authenticator app, asks for a code from it, then prints
    /// ten single-use backup codes. Needs a terminal, or `--json` (then
    /// finish with `--confirm <code>`).
    Enroll(EnrollArgs),
    /// Turn off two-factor sign-in for a user and delete their backup codes.
    Disable(DisableArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this user.
    #[arg(long)]
    pub username: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Whose; defaults to the owner.
    #[arg(long)]
    pub username: Option<String>,
    /// Print the secret and `otpauth://` URI as JSON (and with `--confirm`,
    /// the backup codes) instead of prompting.
    #[arg(long)]
    pub json: bool,
    /// Finish a pending enrollment with the code the authenticator shows now.
    #[arg(long, value_name = "CODE")]
    pub confirm: Option<String>,
}

#[derive(Debug, Args)]
pub struct DisableArgs {
    /// Whose; defaults to the owner.
    #[arg(long)]
    pub username: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Tries at a code before `enroll` gives up (the enrollment stays pending).
const PROMPT_TRIES: usize = 3;

pub fn run(cx: &Context, args: TwoFactorArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    // Enrollment waits on a person typing codes, so it reads the clock at
    // each try rather than once.
    let clock = Clock::system();
    match args.command {
        TwoFactorCommand::Status(a) => status(&store, &a),
        TwoFactorCommand::Enroll(a) => enroll(&store, &a, &clock),
        TwoFactorCommand::Disable(a) => disable(&store, &a),
    }
}

/// `username`, or the owner.
pub(super) fn user(store: &Store, username: Option<&str>) -> Result<User, Error> {
    let conn = store.conn()?;
    let sql = |e| Error::from(store.err(e));
    let all = store::users::list(&conn).map_err(sql)?;
    match username {
        None => all.into_iter().next().ok_or(Error::NoOwner),
        Some(name) => all
            .iter()
            .find(|u| u.username == name)
            .cloned()
            .ok_or_else(|| Error::UnknownUser {
                name: name.to_string(),
                users: all.iter().map(|u| u.username.clone()).collect(),
                fix: "See them with: parachute auth list-users",
            }),
    }
}

/// The user `status` names, or every user when it names none.
pub(super) fn people(store: &Store, username: Option<&str>) -> Result<Vec<User>, Error> {
    if username.is_some() {
        return Ok(vec![user(store, username)?]);
    }
    let conn = store.conn()?;
    Ok(store::users::list(&conn).map_err(|e| store.err(e))?)
}

fn state(store: &Store, u: &User) -> Result<serde_json::Value, Error> {
    let conn = store.conn()?;
    let sql = |e| Error::from(store.err(e));
    let row = two_factor::totp(&conn, &u.id).map_err(sql)?;
    let left = two_factor::backup_codes_left(&conn, &u.id).map_err(sql)?;
    let (status, since) = match &row {
        None => ("off", None),
        Some(r) if r.enabled() => ("on", r.enabled_at),
        Some(r) => ("pending", Some(r.created_at)),
    };
    Ok(serde_json::json!({
        "username": u.username,
        "status": status,
        "since": since.map(date),
        "backup_codes_left": if status == "on" { Some(left) } else { None },
    }))
}

fn status(store: &Store, args: &StatusArgs) -> Result<ExitCode, Error> {
    let people = people(store, args.username.as_deref())?;
    let rows = people
        .iter()
        .map(|u| state(store, u))
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        let doc = if args.username.is_some() {
            rows.into_iter().next().unwrap_or_default()
        } else {
            serde_json::Value::Array(rows)
        };
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        return out(&format!("{text}\n")).map(|()| ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no users yet. Create the owner with: parachute auth set-password");
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!(
        "{:<24} {:<8} {:<26} {}\n",
        "USERNAME", "2FA", "SINCE", "BACKUP CODES LEFT"
    );
    for r in &rows {
        let text = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        let left = r["backup_codes_left"]
            .as_u64()
            .map_or_else(|| "-".into(), |n| n.to_string());
        let _ = writeln!(
            s,
            "{:<24} {:<8} {:<26} {}",
            text("username"),
            text("status"),
            text("since"),
            left
        );
    }
    out(&s).map(|()| ExitCode::SUCCESS)
}

fn already_on(u: &User) -> Error {
    TwoFactorError::AlreadyOn {
        username: u.username.clone(),
    }
    .into()
}

fn enroll(store: &Store, args: &EnrollArgs, clock: &Clock) -> Result<ExitCode, Error> {
    let u = user(store, args.username.as_deref())?;
    let existing = {
        let conn = store.conn()?;
        two_factor::totp(&conn, &u.id).map_err(|e| store.err(e))?
    };
    if existing.as_ref().is_some_and(two_factor::TotpRow::enabled) {
        return Err(already_on(&u));
    }
    if let Some(code) = &args.confirm {
        let Some(row) = existing else {
            return Err(TwoFactorError::NothingPending {
                username: u.username.clone(),
            }
            .into());
        };
        let secret = totp::Secret::from_base32(&row.secret)
            .ok_or_else(|| super::internal(store.path(), "stored TOTP secret is not base32"))?;
        let codes = confirm(store, &u, &secret, code, clock.now())?;
        return print_enabled(&u, &codes, args.json);
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if !args.json && !interactive {
        return Err(TwoFactorError::EnrollNeedsTerminal.into());
    }
    let secret = totp::Secret::generate();
    let now = clock.now();
    let started = store.write(|tx| {
        two_factor::start_enrollment(tx, &u.id, &secret.to_base32(), now).map_err(|e| store.err(e))
    })?;
    if !started {
        return Err(already_on(&u));
    }
    let uri = totp::otpauth_uri(&secret, &u.username);
    if args.json {
        let doc = serde_json::json!({
            "username": u.username,
            "status": "pending",
            "secret": secret.to_base32(),
            "otpauth_uri": uri,
            "confirm_with": format!("parachute auth 2fa enroll --username {} --confirm <code>", u.username),
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        return out(&format!("{text}\n")).map(|()| ExitCode::SUCCESS);
    }
    let mut screen = String::new();
    if let Some(qr) = totp::qr_terminal(&uri) {
        screen.push_str(&qr);
        screen.push('\n');
    }
    let _ = write!(
        screen,
        "\nScan this with your authenticator app, or enter the key by hand:\n\n    {}\n\n  account: {}   issuer: {}   ({} digits, every {} s)\n  {uri}\n\n",
        group(&secret.to_base32()),
        u.username,
        totp::ISSUER,
        totp::DIGITS,
        totp::STEP,
    );
    out(&screen)?;
    let stdin = std::io::stdin();
    for attempt in 1..=PROMPT_TRIES {
        eprint!("Code from the app: ");
        let mut line = String::new();
        let read = stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Terminal {
                stream: "stdin",
                source: e,
            })?;
        if read == 0 {
            break;
        }
        match confirm(store, &u, &secret, line.trim(), clock.now()) {
            Ok(codes) => return print_enabled(&u, &codes, false),
            Err(Error::TwoFactor(e)) if e.another_code_may_do() && attempt < PROMPT_TRIES => {
                eprintln!("✗ {e}");
            }
            Err(e) => return Err(e),
        }
    }
    eprintln!(
        "two-factor sign-in is NOT on yet for `{0}`. Finish with: parachute auth 2fa enroll --username {0} --confirm <code>",
        u.username
    );
    Err(Error::Reported)
}

/// Check `code` against the pending secret at `now` and switch 2FA on; the
/// fresh backup codes in display form.
fn confirm(
    store: &Store,
    u: &User,
    secret: &totp::Secret,
    code: &str,
    now: i64,
) -> Result<Vec<String>, Error> {
    let step = match totp::verify(secret, code, now, None) {
        totp::Check::Accepted { step } => step,
        totp::Check::Malformed => {
            return Err(TwoFactorError::NotACode {
                code: code.trim().to_string(),
                digits: totp::DIGITS,
            }
            .into());
        }
        totp::Check::Wrong | totp::Check::Replayed => {
            return Err(TwoFactorError::CodeMismatch.into());
        }
    };
    let codes = backup_codes::generate();
    let hashes: Vec<String> = codes.iter().filter_map(|c| backup_codes::hash(c)).collect();
    let enabled = store.write(|tx| {
        // The pending secret must still be the one the code was checked
        // against (a second `enroll` may have replaced it meanwhile).
        let row = two_factor::totp(tx, &u.id).map_err(|e| store.err(e))?;
        if row.is_none_or(|r| r.secret != secret.to_base32()) {
            return Ok(false);
        }
        two_factor::enable(tx, &u.id, step, &hashes, now).map_err(|e| store.err(e))
    })?;
    if !enabled {
        return Err(TwoFactorError::EnrollmentChanged {
            username: u.username.clone(),
        }
        .into());
    }
    Ok(codes)
}

fn print_enabled(u: &User, codes: &[String], json: bool) -> Result<ExitCode, Error> {
    if json {
        let doc = serde_json::json!({
            "username": u.username,
            "status": "on",
            "backup_codes": codes,
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        return out(&format!("{text}\n")).map(|()| ExitCode::SUCCESS);
    }
    eprintln!("✓ two-factor sign-in is on for `{}`", u.username);
    eprintln!(
        "  Backup codes — each works once in place of a code. Keep them somewhere safe; they are not shown again:"
    );
    let list = codes.iter().fold(String::new(), |mut list, c| {
        let _ = writeln!(list, "    {c}");
        list
    });
    out(&list)?;
    Ok(ExitCode::SUCCESS)
}

fn disable(store: &Store, args: &DisableArgs) -> Result<ExitCode, Error> {
    let u = user(store, args.username.as_deref())?;
    let on = {
        let conn = store.conn()?;
        two_factor::totp(&conn, &u.id).map_err(|e| store.err(e))?
    };
    if on.is_none() {
        eprintln!("✓ two-factor sign-in was already off for `{}`", u.username);
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(TwoFactorError::DisableNeedsYes {
                username: u.username.clone(),
            }
            .into());
        }
        eprint!(
            "Turn off two-factor sign-in for `{}`? Signing in will need only the password. [y/N] ",
            u.username
        );
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Terminal {
                stream: "stdin",
                source: e,
            })?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing was changed");
            return Err(Error::Reported);
        }
    }
    store.write(|tx| two_factor::disable(tx, &u.id).map_err(|e| store.err(e)))?;
    eprintln!(
        "✓ two-factor sign-in is off for `{}`; its backup codes are deleted",
        u.username
    );
    Ok(ExitCode::SUCCESS)
}

/// `ABCDEFGH…` as `ABCD EFGH …`, easier to copy by hand.
fn group(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
