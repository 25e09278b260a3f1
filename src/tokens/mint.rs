//! Issuing a token: sign with the active key and, for anything that lives
//! long enough to need revoking, record it in the registry — in one write
//! transaction, so a token is never out without its row.

use rusqlite::Connection;

use super::jwt::{self, Claims};
use super::keys::{self, KeyError, Signer};
use crate::store::{keys as key_rows, tokens as registry};

/// What to issue.
#[derive(Debug, Clone)]
pub struct Mint<'a> {
    pub sub: &'a str,
    /// The user on whose authority it is issued (registry `user_id`).
    pub user_id: Option<&'a str>,
    pub scopes: &'a [String],
    pub audience: &'a str,
    pub client_id: &'a str,
    pub ttl_secs: i64,
    /// `Some(how)` records the token in the registry as made `how`.
    pub created_via: Option<&'a str>,
    /// The token that minted this one (registry `parent_jti`).
    pub parent_jti: Option<&'a str>,
    /// The operator's note (registry `label`).
    pub label: Option<&'a str>,
}

/// An issued token. `Debug` leaves the token out.
pub struct Minted {
    pub token: String,
    pub claims: Claims,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minted")
            .field("token", &"<redacted>")
            .field("claims", &self.claims)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// The vaults a token is pinned to (`vault_scope`): every vault its named
/// `vault:<name>:<verb>` scopes name, in order, once each (the reference's
/// `/account/vault-token/<n>` issues `vault_scope: [n]`).
pub fn pinned_vaults(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in scopes
        .iter()
        .filter_map(|s| super::scopes::vault_scope_name(s))
    {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// Issue a token as `issuer`. Run inside a write transaction.
pub fn mint(
    conn: &Connection,
    issuer: &str,
    req: &Mint<'_>,
    now: i64,
) -> Result<Minted, MintError> {
    let key = keys::ensure_active(conn, now)?;
    let signer = Signer::from_row(&key)?;
    let claims = Claims {
        iss: issuer.to_string(),
        sub: req.sub.to_string(),
        aud: req.audience.to_string(),
        iat: now,
        nbf: None,
        exp: now + req.ttl_secs,
        jti: Some(jwt::new_jti()),
        scope: req.scopes.join(" "),
        client_id: req.client_id.to_string(),
        vault_scope: pinned_vaults(req.scopes),
    };
    let token = jwt::sign(&claims, &signer)?;
    key_rows::note_signed(conn, &signer.kid, claims.exp)?;
    if let Some(how) = req.created_via {
        registry::insert(
            conn,
            &registry::TokenRow {
                jti: claims.jti.clone().unwrap_or_default(),
                subject: claims.sub.clone(),
                user_id: req.user_id.map(str::to_string),
                client_id: claims.client_id.clone(),
                scopes: claims.scope.clone(),
                audience: claims.aud.clone(),
                created_via: how.to_string(),
                created_at: now,
                expires_at: claims.exp,
                revoked_at: None,
                parent_jti: req.parent_jti.map(str::to_string),
                label: req.label.map(str::to_string),
            },
        )?;
    }
    Ok(Minted { token, claims })
}
