//! The hub's owner and its users' passwords, as `init` and
//! `auth set-password` set them: the password, a fresh operator token for the
//! owner (revoking the one it replaces), and the signed-in sessions the old
//! password made, revoked.

use std::path::Path;

use crate::error::Error;
use crate::identity::password::{self, Password};
use crate::store::{self, Store};
use crate::tokens::{self, operator};

/// Where the operator token goes, and who issues it.
pub struct TokenFile<'a> {
    pub path: &'a Path,
    pub issuer: &'a str,
}

/// What [`set_password`] did.
pub enum PasswordChange {
    Created(String),
    Updated(String),
}

/// Create or update a user's password, make sure a signing key exists, and
/// write a fresh operator token for the owner (revoking the one it replaces).
pub async fn set_password(
    store: &Store,
    username: Option<&str>,
    pw: Password,
    to: &TokenFile<'_>,
    now: i64,
) -> Result<PasswordChange, Error> {
    let db = store.path().to_path_buf();
    let phc = password::hash_off_thread(pw)
        .await
        .map_err(|e| Error::io(&db, std::io::Error::other(e.to_string())))?;
    let previous = operator::read(to.path)?;
    let (change, minted) = store.write(|tx| {
        let sql = |e| store.err(e);
        let users = store::users::list(tx).map_err(sql)?;
        let target = match username {
            Some(u) => users.iter().find(|x| x.username == u),
            None => users.first(),
        };
        let change = match (target, username) {
            (Some(user), _) => {
                store::users::set_password(tx, &user.id, &phc, now).map_err(sql)?;
                // As a change on /account: what was signed in with the old
                // password (and what those tokens minted) stops working.
                store::account::revoke_signed_in_tokens(tx, &user.id, now).map_err(sql)?;
                PasswordChange::Updated(user.username.clone())
            }
            (None, name) if users.is_empty() => {
                let name = name.unwrap_or(DEFAULT_OWNER);
                store::users::create(tx, name, &phc, now).map_err(sql)?;
                PasswordChange::Created(name.to_string())
            }
            (None, name) => {
                return Ok(Err(Error::UnknownUser {
                    name: name.unwrap_or_default().to_string(),
                    users: users.iter().map(|u| u.username.clone()).collect(),
                    fix: "Pick one with --username <name>",
                }));
            }
        };
        let owner = store::users::owner(tx).map_err(sql)?;
        let owner_id = owner.map(|o| o.id).unwrap_or_default();
        if let Some(old) = previous.as_deref().and_then(unverified_jti) {
            store::tokens::revoke(tx, &old, now).map_err(sql)?;
        }
        let minted = operator::issue(tx, to.issuer, &owner_id, now).map_err(|e| store.other(e))?;
        Ok(Ok((change, minted)))
    })??;
    operator::write(to.path, &minted.token)?;
    Ok(change)
}

/// The username `set-password` and `init` give the owner by default.
pub const DEFAULT_OWNER: &str = "owner";

/// The `jti` of a token we issued, read without verifying it: only used to
/// revoke the token a new one replaces.
pub fn unverified_jti(token: &str) -> Option<String> {
    jsonwebtoken::dangerous::insecure_decode::<tokens::Claims>(token)
        .ok()
        .and_then(|d| d.claims.jti)
        .filter(|_| token.split('.').count() == 3)
}
