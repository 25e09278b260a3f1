//! `parachute auth …`: users, passwords, signing keys, the operator token and
//! the token registry. These act on the hub store directly (WAL lets them
//! run beside a serving hub); `mint-token` presents the operator token.

mod clients;
mod mint;
pub mod prompt;
mod step_up;
mod two_factor;

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Context;
use super::context::out;
pub use crate::clock::date;
use crate::error::Error;
use crate::identity::owner::{self, unverified_jti};
pub use crate::identity::owner::{DEFAULT_OWNER, PasswordChange};
use crate::identity::{lockout, password};
use crate::store::{self, Store};
use crate::tokens::{self, Issuers, keys, operator};

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub command: AuthCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Set a user's password (creating the owner on first use), then write a
    /// fresh operator token to `$PARACHUTE_HOME/operator.token`.
    SetPassword(SetPasswordArgs),
    /// List the hub's users (the first is the owner).
    ListUsers(JsonArgs),
    /// Rotate the hub's JWT signing key. The new key is published in JWKS
    /// before it signs anything; the old one stays valid until the last token
    /// it signed expires.
    RotateKey,
    /// Mint a fresh operator token into `$PARACHUTE_HOME/operator.token` and
    /// revoke the one it replaces.
    RotateOperator,
    /// List the tokens in the registry, newest first.
    ListTokens(JsonArgs),
    /// Revoke a token by its `jti` (revoking twice is fine).
    RevokeToken(RevokeArgs),
    /// Clear a user's sign-in lockout: every recorded password and
    /// second-factor attempt at their account, so they can sign in now.
    Unlock(UnlockArgs),
    /// Mint a scope-narrow JWT against the operator's identity; stdout is
    /// only the token.
    #[command(
        disable_help_flag = true,
        override_usage = mint::USAGE,
        long_about = mint::LONG_ABOUT
    )]
    MintToken(mint::MintTokenArgs),
    /// List every registered OAuth client, approved or pending.
    ListClients(JsonArgs),
    /// List OAuth clients waiting for approval (they registered themselves).
    PendingClients(JsonArgs),
    /// Approve a registered OAuth client, so it may ask users for consent.
    ApproveClient(clients::ClientIdArgs),
    /// Trust apps whose client ID metadata document (an https `client_id`)
    /// is on one of these hosts: they are approved when first seen, without
    /// waiting for the owner. Prints the trusted hosts.
    TrustClientHosts(clients::TrustHostsArgs),
    /// Remove an OAuth client, its grants and every token issued to it.
    RevokeClient(clients::ClientIdArgs),
    /// List the consents users gave OAuth clients.
    ListGrants(JsonArgs),
    /// Withdraw consent from a client and revoke its tokens; it must ask again.
    RevokeGrant(clients::ClientIdArgs),
    /// Two-factor sign-in (TOTP) for hub users: status, enroll, disable.
    #[command(name = "2fa")]
    TwoFactor(two_factor::TwoFactorArgs),
    /// The step-up PIN the hub asks for before its dangerous actions
    /// (rotating the signing key, approving a client, minting an elevated
    /// token): status, set, clear.
    StepUp(step_up::StepUpArgs),
}

#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    /// Whose password; defaults to the owner (created as `owner` on first use).
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from the first line of stdin instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The username (see `parachute auth list-users`).
    pub username: String,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's `jti` (see `parachute auth list-tokens`).
    // A jti is base64url and may begin with `-`: it is a value, never a flag.
    #[arg(allow_hyphen_values = true)]
    pub jti: String,
}

pub async fn run(cx: &Context, args: AuthArgs) -> Result<ExitCode, Error> {
    match args.command {
        AuthCommand::SetPassword(a) => set_password(cx, a).await,
        AuthCommand::ListUsers(a) => list_users(cx, &a),
        AuthCommand::RotateKey => rotate_key(cx),
        AuthCommand::RotateOperator => rotate_operator(cx),
        AuthCommand::ListTokens(a) => list_tokens(cx, &a),
        AuthCommand::RevokeToken(a) => revoke_token(cx, &a),
        AuthCommand::Unlock(a) => unlock(cx, &a),
        AuthCommand::MintToken(a) => mint::run(cx, &a),
        AuthCommand::ListClients(a) => clients::list_clients(cx, &a),
        AuthCommand::PendingClients(a) => clients::pending(cx, &a),
        AuthCommand::ApproveClient(a) => clients::approve(cx, &a),
        AuthCommand::TrustClientHosts(a) => clients::trust_hosts(cx, &a),
        AuthCommand::RevokeClient(a) => clients::revoke_client(cx, &a),
        AuthCommand::ListGrants(a) => clients::list_grants(cx, &a),
        AuthCommand::RevokeGrant(a) => clients::revoke_grant(cx, &a),
        AuthCommand::TwoFactor(a) => two_factor::run(cx, a),
        AuthCommand::StepUp(a) => step_up::run(cx, a),
    }
}

/// The issuer set CLI-side: the configured origin and the hub's port.
pub fn issuers(cx: &Context) -> Issuers {
    Issuers::new(&cx.hub_origin, &[cx.hub_port])
}

/// An internal failure on the store file: exit 2, with the cause.
pub fn internal(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io(path, std::io::Error::other(e.to_string()))
}

/// Usernames: 2–32 of `a-z 0-9 _ -`.
pub fn check_username(name: &str) -> Result<(), Error> {
    let ok = (2..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "`{name}` is not a valid username: use 2–32 characters of a-z, 0-9, `_` and `-`"
        )))
    }
}

/// Create or update a user's password (see [`owner::set_password`]).
pub async fn set_owner_password(
    cx: &Context,
    store: &Store,
    username: Option<&str>,
    pw: password::Password,
) -> Result<PasswordChange, Error> {
    if let Some(u) = username {
        check_username(u)?;
    }
    let iss = issuers(cx);
    let to = owner::TokenFile {
        path: &cx.paths.operator_token(),
        issuer: iss.primary(),
    };
    owner::set_password(store, username, pw, &to, cx.clock.now()).await
}

async fn set_password(cx: &Context, args: SetPasswordArgs) -> Result<ExitCode, Error> {
    cx.paths.ensure_home()?;
    let pw = prompt::password(args.password_stdin, "set-password")?;
    let store = Store::open(&cx.paths.hub_db())?;
    let change = set_owner_password(cx, &store, args.username.as_deref(), pw).await?;
    match &change {
        PasswordChange::Created(u) => eprintln!("✓ created the owner `{u}` with that password"),
        PasswordChange::Updated(u) => eprintln!("✓ password changed for `{u}`"),
    }
    let (PasswordChange::Created(u) | PasswordChange::Updated(u)) = &change;
    let cleared = clear_lockout(&store, u)?;
    if cleared > 0 {
        eprintln!("✓ sign-in lockout cleared for `{u}` ({cleared} recorded attempts forgotten)");
    }
    eprintln!(
        "✓ operator token written to {} (valid 90 days)",
        cx.paths.operator_token().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Forget every sign-in attempt recorded against `username`; how many.
fn clear_lockout(store: &Store, username: &str) -> Result<usize, Error> {
    Ok(store.write(|tx| {
        let sql = |e| store.err(e);
        let user = store::users::by_username(tx, &lockout::normalise(username)).map_err(sql)?;
        lockout::unlock(tx, username, user.as_ref().map(|u| u.id.as_str())).map_err(sql)
    })?)
}

fn unlock(cx: &Context, args: &UnlockArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let name = lockout::normalise(&args.username);
    let known = {
        let conn = store.conn()?;
        store::users::by_username(&conn, &name)
            .map_err(|e| store.err(e))?
            .is_some()
    };
    if !known {
        return Err(Error::Usage(format!(
            "there is no user `{name}`; see `parachute auth list-users`"
        )));
    }
    let n = clear_lockout(&store, &name)?;
    if n == 0 {
        eprintln!("✓ `{name}` was not locked out; nothing to clear");
    } else {
        eprintln!(
            "✓ sign-in lockout cleared for `{name}` ({n} recorded attempts forgotten); they can sign in now"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list_users(cx: &Context, args: &JsonArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let conn = store.conn()?;
    let users = store::users::list(&conn).map_err(|e| store.err(e))?;
    if args.json {
        let doc = serde_json::to_string_pretty(&users).unwrap_or_default();
        return out(&format!("{doc}\n")).map(|()| ExitCode::SUCCESS);
    }
    if users.is_empty() {
        eprintln!("no users yet. Create the owner with: parachute auth set-password");
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!("{:<24} {:<36} {}\n", "USERNAME", "ID", "CREATED");
    for (i, u) in users.iter().enumerate() {
        let name = if i == 0 {
            format!("{} (owner)", u.username)
        } else {
            u.username.clone()
        };
        let _ = writeln!(s, "{:<24} {:<36} {}", name, u.id, date(u.created_at));
    }
    out(&s).map(|()| ExitCode::SUCCESS)
}

fn rotate_key(cx: &Context) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    // Generate outside the write lock; it is the slow part.
    let fresh = keys::generate(now).map_err(|e| internal(store.path(), e))?;
    let before = {
        let conn = store.conn()?;
        store::keys::active(&conn).map_err(|e| store.err(e))?
    };
    store.write(|tx| keys::rotate(tx, &fresh).map_err(|e| store.other(e)))?;
    eprintln!(
        "✓ new signing key {} is published and signs from now on",
        fresh.public.kid
    );
    if let Some(old) = before {
        let conn = store.conn()?;
        let still = store::keys::published(&conn, now)
            .map_err(|e| store.err(e))?
            .into_iter()
            .find(|k| k.kid == old.public.kid);
        match still.and_then(|k| k.last_exp) {
            Some(until) => eprintln!(
                "  the previous key {} stays published and valid until {} (its last token expires)",
                old.public.kid,
                date(until)
            ),
            None => eprintln!(
                "  the previous key {} signed nothing still valid and is withdrawn",
                old.public.kid
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn rotate_operator(cx: &Context) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let iss = issuers(cx);
    let path = cx.paths.operator_token();
    let previous = operator::read(&path)?;
    let minted = store.write(|tx| {
        let sql = |e| store.err(e);
        let Some(owner) = store::users::owner(tx).map_err(sql)? else {
            return Ok(None);
        };
        if let Some(old) = previous.as_deref().and_then(unverified_jti) {
            store::tokens::revoke(tx, &old, now).map_err(sql)?;
        }
        operator::issue(tx, iss.primary(), &owner.id, now)
            .map(Some)
            .map_err(|e| store.other(e))
    })?;
    let Some(minted) = minted else {
        return Err(Error::Usage(
            "the hub has no owner yet, so there is no one to issue an operator token for. Create the owner with: parachute auth set-password".into(),
        ));
    };
    operator::write(&path, &minted.token)?;
    eprintln!(
        "✓ operator token written to {} (valid until {}); the previous one is revoked",
        path.display(),
        date(minted.claims.exp)
    );
    Ok(ExitCode::SUCCESS)
}

fn list_tokens(cx: &Context, args: &JsonArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let conn = store.conn()?;
    let now = cx.clock.now();
    let rows = store::tokens::list(&conn, false, now, None).map_err(|e| store.err(e))?;
    let status = |t: &store::tokens::TokenRow| {
        if t.revoked_at.is_some() {
            "revoked"
        } else if t.expires_at <= now {
            "expired"
        } else {
            "active"
        }
    };
    // People read usernames and origins, not UUIDs and internal tags.
    let mut names = std::collections::HashMap::new();
    for u in store::users::list(&conn).map_err(|e| store.err(e))? {
        names.insert(u.id, u.username);
    }
    let origins = rows
        .iter()
        .map(|t| tokens::origin::describe(&conn, t))
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| store.err(e))?;
    let user = |t: &store::tokens::TokenRow| {
        names
            .get(&t.subject)
            .cloned()
            .unwrap_or_else(|| t.subject.clone())
    };
    if args.json {
        let doc: Vec<serde_json::Value> = rows
            .iter()
            .zip(&origins)
            .map(|(t, origin)| {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                v["status"] = status(t).into();
                v["origin"] = origin.as_str().into();
                v["username"] = names.get(&t.subject).cloned().into();
                v
            })
            .collect();
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        return out(&format!("{text}\n")).map(|()| ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no tokens in the registry");
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!(
        "{:<22} {:<8} {:<20} {:<16} {:<32} {:<20} {}\n",
        "JTI", "STATUS", "EXPIRES", "SUBJECT", "ORIGIN", "LABEL", "SCOPES"
    );
    for (t, origin) in rows.iter().zip(&origins) {
        let _ = writeln!(
            s,
            "{:<22} {:<8} {:<20} {:<16} {:<32} {:<20} {}",
            t.jti,
            status(t),
            date(t.expires_at),
            user(t),
            origin,
            t.label.as_deref().unwrap_or("-"),
            t.scopes
        );
    }
    out(&s).map(|()| ExitCode::SUCCESS)
}

fn revoke_token(cx: &Context, args: &RevokeArgs) -> Result<ExitCode, Error> {
    use store::tokens::Revoked;
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let outcome =
        store.write(|tx| store::tokens::revoke(tx, &args.jti, now).map_err(|e| store.err(e)))?;
    match outcome {
        Revoked::Now(_) => eprintln!("✓ revoked {}", args.jti),
        Revoked::Already(at) => eprintln!("✓ {} was already revoked ({})", args.jti, date(at)),
        Revoked::Unknown => {
            return Err(Error::Usage(format!(
                "no token has jti `{}`. See the registry with: parachute auth list-tokens",
                args.jti
            )));
        }
    }
    Ok(ExitCode::SUCCESS)
}
