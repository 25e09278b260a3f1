//! Minting under capability attenuation (seed 001): a bearer mints a token
//! within its own authority. The entry gate is `has_minting_authority`;
//! every requested scope must pass the shape guard and `can_grant`; only
//! the operator token — decided from its registry row, not from a claim
//! the caller chose — may choose the `subject`. `aud` follows from the
//! scopes (`audience::infer`); an `audience` that disagrees is refused.
//!
//! Delegation: a token minted by any bearer but the operator token is a
//! child (`delegated`): it lives no longer than its parent has left,
//! carries the parent's user and client, and records the parent's `jti`, so
//! revoking the parent, the app's grant, the client or the user's password
//! revokes it too (migration 5's trigger). The operator token's mints are
//! `cli_mint`, like the CLI's, and outlive the operator token's rotation.

use serde::Deserialize;

use super::attenuation::{MINT_HOST_AUTH_SCOPE as AUTH_SCOPE, can_grant, has_minting_authority};
use super::error::{ErrorCode, OAuthError};
use crate::store::{Store, StoreError, tokens as registry};
use crate::tokens::{Claims, audience, mint, operator, scopes};

/// Default and longest lifetime of a minted token.
pub const DEFAULT_TTL_SECS: i64 = 90 * 86_400;
pub const MAX_TTL_SECS: i64 = 365 * 86_400;
pub const MIN_TTL_SECS: i64 = 60;
/// How a child minted by a non-operator bearer is tagged in the registry.
pub const DELEGATED: &str = "delegated";
/// How the operator token's mints are tagged (as the CLI's are).
pub const CLI_MINT: &str = "cli_mint";

/// The mint request's body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MintRequest {
    pub scope: String,
    pub audience: Option<String>,
    pub expires_in: Option<i64>,
    pub subject: Option<String>,
}

/// A mint that passed every rule, ready to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub scopes: Vec<String>,
    pub audience: String,
    pub subject: String,
    pub ttl_secs: i64,
    user_id: Option<String>,
    client_id: String,
    parent_jti: String,
    operator: bool,
}

/// Is this registry row the operator token (the only bearer that may pick a
/// subject, and whose mints are not capped by its own lifetime)?
pub fn is_operator(row: Option<&registry::TokenRow>) -> bool {
    row.is_some_and(|r| r.created_via == operator::CREATED_VIA && r.revoked_at.is_none())
}

/// Check `req` from `caller` against the rules; `req` is `Err` with the
/// reason when the body could not be read (told after the authority gate);
/// `vaults` are the vaults installed on this hub.
pub fn plan(
    store: &Store,
    caller: &Claims,
    req: Result<&MintRequest, String>,
    vaults: &[String],
    now: i64,
) -> Result<Result<Plan, OAuthError>, StoreError> {
    let held: Vec<&str> = caller.scopes().collect();
    if !has_minting_authority(&held) {
        return Ok(Err(OAuthError::insufficient_scope(
            AUTH_SCOPE,
            "this token cannot mint tokens: it needs `parachute:host:auth`, `parachute:host:admin` or `vault:<name>:admin`",
        )));
    }
    let req = or_refuse!(req.map_err(OAuthError::invalid_request));
    let requested = or_refuse!(check_scopes(&held, &req.scope, vaults));
    let parent_jti = caller.jti.clone().unwrap_or_default();
    let parent = {
        let conn = store.conn()?;
        registry::get(&conn, &parent_jti).map_err(|e| store.err(e))?
    };
    Ok(shape(caller, req, requested, parent.as_ref(), now).map(|p| Plan { parent_jti, ..p }))
}

/// The requested scopes, if `held` may grant every one of them.
fn check_scopes(held: &[&str], scope: &str, vaults: &[String]) -> Result<Vec<String>, OAuthError> {
    let requested = scopes::parse(scope);
    if requested.is_empty() {
        return Err(OAuthError::invalid_request(
            "`scope` must name at least one scope",
        ));
    }
    check_shapes(&requested, vaults)?;
    let denied: Vec<&str> = requested
        .iter()
        .filter(|s| !can_grant(held, s))
        .map(String::as_str)
        .collect();
    if !denied.is_empty() {
        return Err(OAuthError::insufficient_scope(
            AUTH_SCOPE,
            format!("this token may not grant: {}", denied.join(", ")),
        ));
    }
    Ok(requested)
}

/// Subject, lifetime, audience, user and client of the child.
fn shape(
    caller: &Claims,
    req: &MintRequest,
    scopes: Vec<String>,
    parent: Option<&registry::TokenRow>,
    now: i64,
) -> Result<Plan, OAuthError> {
    let operator = is_operator(parent);
    if req.subject.is_some() && !operator {
        return Err(OAuthError::insufficient_scope(
            operator::MINT_SCOPE,
            "only the operator token may set `subject`",
        ));
    }
    let ttl_secs = lifetime(req.expires_in, operator, caller.exp, now)?;
    let audience = audience::resolve(&scopes, req.audience.as_deref()).map_err(|e| {
        OAuthError::invalid_request(format!("`audience` {e}; leave `audience` out"))
    })?;
    let client_id = if operator {
        operator::CLIENT_ID.to_string()
    } else {
        parent.map_or_else(|| caller.client_id.clone(), |p| p.client_id.clone())
    };
    Ok(Plan {
        scopes,
        audience,
        subject: req.subject.clone().unwrap_or_else(|| caller.sub.clone()),
        ttl_secs,
        user_id: parent.and_then(|p| p.user_id.clone()),
        client_id,
        parent_jti: String::new(),
        operator,
    })
}

/// Issue the planned token as `issuer`; `None` when the parent was revoked
/// since its bearer was checked.
pub fn issue(
    store: &Store,
    issuer: &str,
    plan: &Plan,
    now: i64,
) -> Result<Option<mint::Minted>, StoreError> {
    store.write(|tx| {
        if registry::is_revoked(tx, &plan.parent_jti).map_err(|e| store.err(e))? {
            return Ok(None);
        }
        mint::mint(
            tx,
            issuer,
            &mint::Mint {
                sub: &plan.subject,
                user_id: plan.user_id.as_deref(),
                scopes: &plan.scopes,
                audience: &plan.audience,
                client_id: &plan.client_id,
                ttl_secs: plan.ttl_secs,
                created_via: Some(if plan.operator { CLI_MINT } else { DELEGATED }),
                parent_jti: Some(plan.parent_jti.as_str()).filter(|j| !j.is_empty()),
                label: None,
            },
            now,
        )
        .map(Some)
        .map_err(|e| store.other(e))
    })
}

/// The asked lifetime, checked, and capped at the parent's remaining one
/// unless the parent is the operator token: a child never outlives it.
fn lifetime(
    asked: Option<i64>,
    operator: bool,
    parent_exp: i64,
    now: i64,
) -> Result<i64, OAuthError> {
    let ttl = asked.unwrap_or(DEFAULT_TTL_SECS);
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&ttl) {
        return Err(OAuthError::invalid_request(format!(
            "`expires_in` must be {MIN_TTL_SECS}–{MAX_TTL_SECS} seconds"
        )));
    }
    if operator {
        return Ok(ttl);
    }
    let capped = ttl.min(parent_exp - now);
    if capped <= 0 {
        return Err(OAuthError::invalid_request("this token is about to expire"));
    }
    Ok(capped)
}

/// The shape guard and the named-vault checks of seed 001.
fn check_shapes(requested: &[String], vaults: &[String]) -> Result<(), OAuthError> {
    for s in requested {
        if !scopes::is_well_formed_or_non_vault(s) {
            return Err(OAuthError::invalid_scope(format!(
                "`{s}` is not a valid vault scope: use `vault:<name>:<read|write|admin>`"
            )));
        }
        if s == "vault:admin" {
            return Err(OAuthError::invalid_scope(
                "`vault:admin` must name its vault: `vault:<name>:admin`",
            ));
        }
        if let Some(name) = scopes::vault_scope_name(s)
            && scopes::is_vault_admin_scope(s)
            && !vaults.iter().any(|v| v == name)
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("there is no vault `{name}` on this hub"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
