//! `parachute init`: the first run. Creates `$PARACHUTE_HOME` and the hub
//! store, the owner, a signing key and the operator token; writes and enables
//! the hub's socket and service units, starts the socket, and checks that
//! `/health` answers through it (which activates the hub). Every step looks
//! before it acts, so a second run changes nothing and says so.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::Context;
use super::auth::{self, PasswordChange, prompt};
use crate::env_vars;
use crate::error::Error;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::{InitError, InitSystem, Kind, hub, hub_store};
use crate::ports;
use crate::store::{self, Store};
use crate::tokens::{jwt, keys, operator};

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

/// The hub's port: `--port`, else the stored setting, else `PORT` (as
/// `serve` reads it), else 1939.
fn hub_port(args: &InitArgs, stored: Option<u16>) -> u16 {
    args.port.or(stored).unwrap_or_else(|| {
        std::env::var(env_vars::PORT)
            .ok()
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0)
            .unwrap_or(ports::HUB)
    })
}

pub async fn run(cx: &Context, args: InitArgs) -> Result<ExitCode, Error> {
    let mut changed: Vec<String> = Vec::new();
    changed.extend(prepare_new_store(cx).await?);
    let store = ensure_store(cx, &mut changed)?;
    let port = ensure_port(cx, &args, &store, &mut changed)?;
    // Everything below (tokens, units, the health check) uses that port.
    let cx = &cx.with_hub_port(port);
    ensure_owner(cx, &args, &store, &mut changed).await?;
    let now = cx.clock.now();
    let made_key = store.write(|tx| {
        let had = store::keys::active(tx).map_err(|e| store.err(e))?.is_some();
        keys::ensure_active(tx, now).map_err(|e| store.other(e))?;
        Ok(!had)
    })?;
    if made_key {
        changed.push("made a signing key".into());
    }
    if ensure_operator_token(cx, &store, now)? {
        changed.push("wrote a fresh operator token".into());
    }

    // Without a user manager (a container, a bare `su` shell) there is
    // nothing to hand the units to, but the store is complete: the hub runs
    // in the foreground. That is a finished init, so it exits 0.
    let init = match cx.init_system().await {
        Ok(init) => init,
        Err(Error::Init(InitError::Unreachable { reason })) => {
            summary(&changed);
            eprintln!(
                "⚠ no systemd user manager is reachable ({reason}), so the hub's units were not installed.\n  \
                 The hub's data is ready. Run the hub in the foreground:  parachute serve"
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            summary(&changed);
            return Err(e);
        }
    };
    let listen = hub::listen_addr(port);
    ensure_units(cx, &init, listen, &mut changed).await?;
    let (kind, listener) = (init.kind(), init.kind().hub_listener());
    if args.no_start {
        summary(&changed);
        eprintln!("  Start the hub with: {}", kind.start_hub_command());
        return Ok(ExitCode::SUCCESS);
    }
    if !init.state(HUB_SOCKET).await?.is_active() {
        let result = init.start(HUB_SOCKET).await?;
        if !result.is_ok() {
            return Err(Error::Usage(format!(
                "{listener} did not start ({result}); is {listen} taken by another program (another user's hub)?\n  \
                 Pick another port: parachute init --port <N>\n  \
                 See why: {}",
                kind.hub_log_command()
            )));
        }
        changed.push(format!("started {listener} on {listen}"));
    }
    summary(&changed);
    verify(cx, listen, kind).await
}

/// When `hub.db` is gone (deleted under a running hub), make room for a new
/// one the hub will see: see [`hub_store::prepare_new`].
async fn prepare_new_store(cx: &Context) -> Result<Vec<String>, Error> {
    let db = cx.paths.hub_db();
    if db.exists() || !cx.paths.home.is_dir() {
        return Ok(Vec::new());
    }
    // No manager (or no hub unit) means no hub of ours to stop.
    let init = if cx.has_unit(HUB_SERVICE) {
        cx.init_system().await.ok()
    } else {
        None
    };
    hub_store::prepare_new(&db, init.as_ref()).await
}

/// `$PARACHUTE_HOME` and the migrated store.
fn ensure_store(cx: &Context, changed: &mut Vec<String>) -> Result<Store, Error> {
    let home_existed = cx.paths.home.is_dir();
    cx.paths.ensure_home()?;
    if !home_existed {
        changed.push(format!("created {}", cx.paths.home.display()));
    }
    let db = cx.paths.hub_db();
    let db_existed = db.exists();
    let store = Store::open(&db)?;
    if !db_existed {
        changed.push(format!("created the hub store {}", db.display()));
    }
    Ok(store)
}

/// The hub's port, stored in the hub's settings when it is new or changed.
fn ensure_port(
    cx: &Context,
    args: &InitArgs,
    store: &Store,
    changed: &mut Vec<String>,
) -> Result<u16, Error> {
    let stored = store::settings::hub_port(store.path());
    // A store made anew (the old one deleted) keeps the installed port.
    let installed = Backend::installed_hub_port_on_disk(&cx.paths);
    let port = hub_port(args, stored.or(installed));
    if stored != Some(port) {
        store.write(|tx| {
            store::settings::set(
                tx,
                store::settings::HUB_PORT,
                &port.to_string(),
                cx.clock.now(),
            )
            .map_err(|e| store.err(e))
        })?;
        match stored {
            Some(old) => changed.push(format!("moved the hub from port {old} to {port}")),
            None if port != ports::HUB => changed.push(format!("set the hub's port to {port}")),
            None => {}
        }
    }
    Ok(port)
}

/// The owner, asked for a password only when there is none yet (which also
/// makes the signing key and the operator token).
async fn ensure_owner(
    cx: &Context,
    args: &InitArgs,
    store: &Store,
    changed: &mut Vec<String>,
) -> Result<(), Error> {
    let owner = {
        let conn = store.conn()?;
        store::users::owner(&conn).map_err(|e| store.err(e))?
    };
    if let Some(o) = owner {
        if o.username != args.username && args.username != auth::DEFAULT_OWNER {
            eprintln!(
                "  the owner is already `{}`; --username applies only to a new hub",
                o.username
            );
        }
        if args.password_stdin {
            // Not read at all: a script must not believe it set the password.
            eprintln!(
                "⚠ the hub already has an owner `{u}`; the password on stdin was not used.\n  \
                 Change it with: parachute auth set-password --username {u} --password-stdin",
                u = o.username
            );
        }
        return Ok(());
    }
    auth::check_username(&args.username)?;
    if !args.password_stdin && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "the hub needs an owner password, and stdin is not a terminal to ask on. Pipe it in: printf '%s\\n' \"$PW\" | parachute init --password-stdin".into(),
        ));
    }
    eprintln!("Choose a password for the hub's owner `{}`.", args.username);
    let pw = prompt::password(args.password_stdin, "init")?;
    if let PasswordChange::Created(u) =
        auth::set_owner_password(cx, store, Some(&args.username), pw).await?
    {
        changed.push(format!("created the owner `{u}`"));
        changed.push("wrote the operator token".into());
    }
    Ok(())
}

/// The hub's units for this binary and port (see [`hub::ensure_units`]).
async fn ensure_units(
    cx: &Context,
    init: &impl InitSystem,
    listen: SocketAddr,
    changed: &mut Vec<String>,
) -> Result<(), Error> {
    let spec = hub::spec(
        &cx.paths,
        hub::current_exe()?,
        listen.port(),
        &cx.hub_origin,
    );
    changed.extend(hub::ensure_units(&cx.paths, init, &spec).await?);
    Ok(())
}

/// `/health` through the socket (the first request activates the hub), then
/// where to go next.
async fn verify(cx: &Context, listen: SocketAddr, kind: Kind) -> Result<ExitCode, Error> {
    let health = crate::health::probe(
        &crate::health::client(),
        listen.port(),
        "/health",
        FIRST_HEALTH_TIMEOUT,
    )
    .await;
    if !health.ok {
        return Err(Error::Usage(format!(
            "the hub did not answer http://{listen}/health: {}\n  See why: parachute logs hub   (or {})",
            health.error.unwrap_or_default(),
            kind.hub_log_command()
        )));
    }
    eprintln!(
        "✓ the hub answers on http://{listen}/health through {} ({} ms)",
        kind.hub_listener(),
        health.latency_ms
    );
    let origin = if std::env::var_os(env_vars::PARACHUTE_HUB_ORIGIN).is_some() {
        cx.hub_origin.clone()
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
    Ok(ExitCode::SUCCESS)
}

fn summary(changed: &[String]) {
    if changed.is_empty() {
        eprintln!("✓ already initialized; nothing changed");
    } else {
        for c in changed {
            eprintln!("✓ {c}");
        }
    }
}

/// Write a fresh operator token unless the file holds one that validates
/// with the operator scopes and is not due for renewal. Returns whether it wrote.
fn ensure_operator_token(cx: &Context, store: &Store, now: i64) -> Result<bool, Error> {
    let path = cx.paths.operator_token();
    let iss = auth::issuers(cx);
    if let Some(token) = operator::read(&path)? {
        let conn = store.conn()?;
        let verifiers = keys::verifiers(&conn, now).map_err(|e| auth::internal(store.path(), e))?;
        let valid = jwt::validate(
            &token,
            &verifiers,
            jwt::Expect {
                issuers: iss.accepted(),
                audience: None,
                now,
            },
            |jti| store::tokens::is_revoked(&conn, jti).map_err(|e| e.to_string()),
        );
        if let Ok(c) = valid
            && c.has_scope(operator::MINT_SCOPE)
            && !operator::needs_renewal(c.exp, now)
        {
            return Ok(false);
        }
    }
    let minted = store.write(|tx| {
        let Some(owner) = store::users::owner(tx).map_err(|e| store.err(e))? else {
            return Ok(None);
        };
        operator::issue(tx, iss.primary(), &owner.id, now)
            .map(Some)
            .map_err(|e| store.other(e))
    })?;
    match minted {
        Some(m) => {
            operator::write(&path, &m.token)?;
            Ok(true)
        }
        None => Ok(false),
    }
}
