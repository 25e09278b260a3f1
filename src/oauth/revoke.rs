//! Revocation (RFC 7009) and introspection (RFC 7662). The hub verifies
//! the JWTs (it holds the keys) and reads the credentials; these decide
//! what is revoked and who may see what.

use serde_json::{Value, json};

use super::client_auth::{self, Credentials};
use super::error::{Failure, OAuthError, settle};
use crate::secret::sha256_hex;
use crate::store::{self, Store, StoreError, refresh::OAuthToken};
use crate::tokens::Claims;

/// Bearer scopes that may introspect any token (modules and the operator).
pub const INTROSPECT_ANY: &[&str] = &["hub:admin", "parachute:host:admin"];

/// The `token` parameter, required by both endpoints.
pub fn required(token: Option<&str>) -> Result<&str, OAuthError> {
    token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("`token` is required"))
}

/// Revoke `token` for the authenticated client: a refresh token revokes
/// its whole grant (family); an access token (`access`: its claims, when it
/// is a live JWT) revokes its row, which carries the refresh token issued
/// with it. Unknown and foreign tokens are ignored (RFC 7009 §2.2).
pub fn revoke(
    store: &Store,
    creds: &Credentials,
    token: Option<&str>,
    access: Option<&Claims>,
    now: i64,
) -> Result<(), Failure> {
    settle(store.write(|tx| {
        let sql = |e| store.err(e);
        let client = or_refuse!(client_auth::authenticate(store, tx, creds, now)?);
        let token = or_refuse!(required(token));
        let access_jti = access
            .filter(|c| c.client_id == client.client_id)
            .and_then(|c| c.jti.as_deref());
        if let Some(row) = store::refresh::by_refresh_hash(tx, &sha256_hex(token)).map_err(sql)?
            && row.client_id == client.client_id
        {
            store::refresh::revoke_family(tx, &row.family_id, now).map_err(sql)?;
        } else if let Some(jti) = access_jti {
            store::tokens::revoke(tx, jti, now).map_err(sql)?;
        }
        Ok(Ok(()))
    }))
}

/// Who asks: a bearer with an [`INTROSPECT_ANY`] scope sees every token; a
/// confidential client that proved its secret only its own; anyone else —
/// a public client too, which merely names a `client_id` anyone can read —
/// is told `active: false` (RFC 7662 §4: the endpoint must not be a
/// token-scanning oracle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asker {
    Admin,
    Client(String),
    Nobody,
}

impl Asker {
    /// The asker a valid hub `bearer` makes, or else the client `creds`
    /// authenticate.
    pub fn of(
        store: &Store,
        bearer: Option<&Claims>,
        creds: &Credentials,
        now: i64,
    ) -> Result<Self, StoreError> {
        if let Some(c) = bearer {
            return Ok(if INTROSPECT_ANY.iter().any(|s| c.has_scope(s)) {
                Self::Admin
            } else {
                Self::Nobody
            });
        }
        let conn = store.conn()?;
        Ok(match client_auth::authenticate(store, &conn, creds, now)? {
            Ok(c) if c.confidential() => Self::Client(c.client_id),
            _ => Self::Nobody,
        })
    }

    fn may_see(&self, client_id: &str) -> bool {
        match self {
            Self::Admin => true,
            Self::Client(id) => id == client_id,
            Self::Nobody => false,
        }
    }
}

/// What introspection says of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Introspection {
    Inactive,
    Access(Claims),
    Refresh(OAuthToken),
}

impl Introspection {
    /// The RFC 7662 §2.2 body; `iss` names the hub for refresh tokens.
    pub fn json(&self, iss: &str) -> Value {
        match self {
            Self::Inactive => json!({"active": false}),
            Self::Access(c) => json!({
                "active": true,
                "token_type": "access_token",
                "scope": c.scope,
                "client_id": c.client_id,
                "sub": c.sub,
                "aud": c.aud,
                "iss": c.iss,
                "exp": c.exp,
                "iat": c.iat,
                "jti": c.jti,
            }),
            Self::Refresh(r) => json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": r.scopes,
                "client_id": r.client_id,
                "sub": r.subject,
                "aud": r.audience,
                "iss": iss,
                "exp": r.expires_at,
                "iat": r.created_at,
            }),
        }
    }
}

/// Introspect `token` for `asker`: an access token if it is a live JWT
/// (`access`), else a live refresh token; inactive for anything not the
/// asker's to see.
pub fn introspect(
    store: &Store,
    asker: &Asker,
    token: &str,
    access: Option<Claims>,
    now: i64,
) -> Result<Introspection, StoreError> {
    if let Some(c) = access {
        return Ok(if asker.may_see(&c.client_id) {
            Introspection::Access(c)
        } else {
            Introspection::Inactive
        });
    }
    let conn = store.conn()?;
    let row =
        store::refresh::by_refresh_hash(&conn, &sha256_hex(token)).map_err(|e| store.err(e))?;
    Ok(row
        .filter(|r| r.revoked_at.is_none() && r.expires_at > now && asker.may_see(&r.client_id))
        .map_or(Introspection::Inactive, Introspection::Refresh))
}

#[cfg(test)]
mod tests;
