//! `init`'s steps on the hub's data: `$PARACHUTE_HOME` and the store, the
//! hub's port setting, the owner, the signing key and the operator token.
//! None needs the init system.

use crate::error::Error;
use crate::identity::owner::{self, DEFAULT_OWNER, PasswordChange, TokenFile};
use crate::lifecycle::InitSystem;
use crate::paths::Paths;
use crate::ports;
use crate::store::{self, Store};
use crate::tokens::{Issuers, jwt, keys, operator};

use super::{Hooks, Host, Inputs, Note, Step};

/// `$PARACHUTE_HOME` and the migrated store.
pub fn ensure_store(paths: &Paths, changed: &mut Vec<Step>) -> Result<Store, Error> {
    let home_existed = paths.home.is_dir();
    paths.ensure_home()?;
    if !home_existed {
        changed.push(Step::CreatedHome(paths.home.clone()));
    }
    let db = paths.hub_db();
    let db_existed = db.exists();
    let store = Store::open(&db)?;
    if !db_existed {
        changed.push(Step::CreatedStore(db));
    }
    Ok(store)
}

/// The hub's port: `--port`, else the stored setting, else the installed
/// units' (a store made anew keeps the port the hub had), else the
/// default; stored in the hub's settings when it is new or changed.
pub fn ensure_port(
    host: &Host<'_, impl InitSystem>,
    inputs: &Inputs<'_>,
    store: &Store,
    changed: &mut Vec<Step>,
) -> Result<u16, Error> {
    let stored = store::settings::hub_port(store.path());
    let installed = host.init.installed_hub_port(host.paths());
    let port = inputs
        .port
        .or(stored)
        .or(installed)
        .unwrap_or(inputs.default_port);
    if stored != Some(port) {
        let now = host.clock.now();
        store.write(|tx| {
            store::settings::set(tx, store::settings::HUB_PORT, &port.to_string(), now)
                .map_err(|e| store.err(e))
        })?;
        match stored {
            Some(from) => changed.push(Step::MovedPort { from, to: port }),
            None if port != ports::HUB => changed.push(Step::SetPort(port)),
            None => {}
        }
    }
    Ok(port)
}

/// The issuer set tokens are minted and checked with, on the host's port.
fn issuers(host: &Host<'_, impl InitSystem>) -> Issuers {
    Issuers::new(host.spec.hub_origin, &[host.hub_port])
}

/// The owner, asked for a password only when there is none yet (creating
/// one also writes the operator token).
pub async fn ensure_owner(
    host: &Host<'_, impl InitSystem>,
    inputs: &Inputs<'_>,
    store: &Store,
    hooks: &mut impl Hooks,
    changed: &mut Vec<Step>,
) -> Result<(), Error> {
    let existing = {
        let conn = store.conn()?;
        store::users::owner(&conn).map_err(|e| store.err(e))?
    };
    if let Some(o) = existing {
        if o.username != inputs.username && inputs.username != DEFAULT_OWNER {
            let owner = o.username.clone();
            hooks.note(Note::OwnerIsAlready { owner });
        }
        if inputs.password_stdin {
            // Not read at all: a script must not believe it set the password.
            hooks.note(Note::PasswordUnused { owner: o.username });
        }
        return Ok(());
    }
    let pw = hooks.owner_password(inputs.username)?;
    let iss = issuers(host);
    let to = TokenFile {
        path: &host.paths().operator_token(),
        issuer: iss.primary(),
    };
    let now = host.clock.now();
    if let PasswordChange::Created(u) =
        owner::set_password(store, Some(inputs.username), pw, &to, now).await?
    {
        changed.push(Step::CreatedOwner(u));
        changed.push(Step::WroteOperatorToken);
    }
    Ok(())
}

/// An active signing key.
pub fn ensure_key(store: &Store, now: i64, changed: &mut Vec<Step>) -> Result<(), Error> {
    let made = store.write(|tx| {
        let had = store::keys::active(tx).map_err(|e| store.err(e))?.is_some();
        keys::ensure_active(tx, now).map_err(|e| store.other(e))?;
        Ok(!had)
    })?;
    if made {
        changed.push(Step::MadeKey);
    }
    Ok(())
}

/// Write a fresh operator token unless the file holds one that validates
/// with the operator scopes and is not due for renewal.
pub fn ensure_operator_token(
    host: &Host<'_, impl InitSystem>,
    store: &Store,
    changed: &mut Vec<Step>,
) -> Result<(), Error> {
    let path = host.paths().operator_token();
    let iss = issuers(host);
    let now = host.clock.now();
    if let Some(token) = operator::read(&path)?
        && token_holds(store, &iss, &token, now)?
    {
        return Ok(());
    }
    let minted = store.write(|tx| {
        let Some(owner) = store::users::owner(tx).map_err(|e| store.err(e))? else {
            return Ok(None);
        };
        operator::issue(tx, iss.primary(), &owner.id, now)
            .map(Some)
            .map_err(|e| store.other(e))
    })?;
    if let Some(m) = minted {
        operator::write(&path, &m.token)?;
        changed.push(Step::FreshOperatorToken);
    }
    Ok(())
}

/// Whether `token` validates with the operator scopes and is not due for renewal.
fn token_holds(store: &Store, iss: &Issuers, token: &str, now: i64) -> Result<bool, Error> {
    let conn = store.conn()?;
    let verifiers = keys::verifiers(&conn, now)
        .map_err(|e| Error::io(store.path(), std::io::Error::other(e.to_string())))?;
    let expect = jwt::Expect {
        issuers: iss.accepted(),
        audience: None,
        now,
    };
    let valid = jwt::validate(token, &verifiers, expect, |jti| {
        store::tokens::is_revoked(&conn, jti).map_err(|e| e.to_string())
    });
    Ok(valid
        .is_ok_and(|c| c.has_scope(operator::MINT_SCOPE) && !operator::needs_renewal(c.exp, now)))
}
