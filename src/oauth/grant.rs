//! The token endpoint's rules: the `authorization_code` and
//! `refresh_token` grants. Each exchange is one write transaction
//! (`BEGIN IMMEDIATE`), client authentication included, so two requests
//! racing with the same code or refresh token are serialized and exactly
//! one wins (a refresh token's own client racing itself gets the winner's
//! answer again within the reuse grace, [`super::refresh`]). Access tokens
//! are 15-minute JWTs whose `jti` is the registry row; refresh tokens are
//! opaque, 30 days, stored as SHA-256.

use rusqlite::Connection;
use serde::Deserialize;

use super::client_auth::{self, Credentials};
use super::error::{ErrorCode, Failure, OAuthError, Step, settle};
use super::refresh::{self, Decision, Issued, Presented, Recent};
use super::{ACCESS_TTL_SECS, REFRESH_TTL_SECS, pkce, resource};
use crate::secret::{random_token, sha256_hex};
use crate::store::{self, Store, StoreError, codes::Code, refresh::OAuthToken};
use crate::tokens::{Issuers, mint, scopes};

/// The token request's form (RFC 6749 §4.1.3, §6).
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
}

impl TokenRequest {
    fn resource(&self) -> Option<&str> {
        self.resource.as_deref().filter(|r| !r.is_empty())
    }
}

/// What the grants work with: the store, the hub's issuers, and the
/// remembered answers of recent rotations.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub store: &'a Store,
    pub issuers: &'a Issuers,
    pub recent: &'a Recent<Issued>,
}

/// `POST /oauth/token`: authenticate the client and run its grant.
pub fn exchange(
    cx: &Context<'_>,
    creds: &Credentials,
    req: &TokenRequest,
    now: i64,
) -> Result<Issued, Failure> {
    settle(cx.store.write(|tx| {
        let client = or_refuse!(client_auth::authenticate(cx.store, tx, creds, now)?);
        match req.grant_type.as_deref() {
            Some("authorization_code") => exchange_code(cx, tx, &client.client_id, req, now),
            Some("refresh_token") => rotate(cx, tx, &client.client_id, req, now),
            Some(other) => Ok(Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant type `{other}` is not supported"),
            ))),
            None => Ok(Err(OAuthError::invalid_request("`grant_type` is required"))),
        }
    }))
}

/// The family a presented refresh token belongs to (the key of its rate
/// limit); `None` for other grants and unknown tokens, refused later.
pub fn refresh_family(store: &Store, req: &TokenRequest) -> Result<Option<String>, StoreError> {
    let Some(presented) = req
        .refresh_token
        .as_deref()
        .filter(|t| !t.is_empty() && req.grant_type.as_deref() == Some("refresh_token"))
    else {
        return Ok(None);
    };
    let conn = store.conn()?;
    let row =
        store::refresh::by_refresh_hash(&conn, &sha256_hex(presented)).map_err(|e| store.err(e))?;
    Ok(row.map(|r| r.family_id))
}

fn exchange_code(
    cx: &Context<'_>,
    tx: &Connection,
    client_id: &str,
    req: &TokenRequest,
    now: i64,
) -> Step<Issued> {
    let Some(code) = req.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(Err(OAuthError::invalid_request("`code` is required")));
    };
    let hash = sha256_hex(code);
    let row = or_refuse!(redeem(cx.store, tx, &hash, client_id, now)?);
    or_refuse!(check_code(&row, req, now));
    let base = or_refuse!(first_row(cx.issuers, row, req, now));
    store::codes::mark_used(tx, &hash, &base.family_id, now).map_err(|e| cx.store.err(e))?;
    issue(cx, tx, base, now).map(|(i, _)| Ok(i))
}

/// The unused code `hash` names for `client_id`. A code presented twice
/// was intercepted or replayed: whatever the first exchange issued is
/// revoked (RFC 6749 §4.1.2).
fn redeem(store: &Store, tx: &Connection, hash: &str, client_id: &str, now: i64) -> Step<Code> {
    let sql = |e| store.err(e);
    let Some(row) = store::codes::get(tx, hash)
        .map_err(sql)?
        .filter(|r| r.client_id == client_id)
    else {
        return Ok(Err(OAuthError::invalid_grant("unknown authorization code")));
    };
    if row.used_at.is_none() {
        return Ok(Ok(row));
    }
    if let Some(family) = &row.family_id {
        let n = store::refresh::revoke_family(tx, family, now).map_err(sql)?;
        tracing::warn!(
            client_id,
            revoked = n,
            "authorization code reused; its tokens are revoked"
        );
    }
    Ok(Err(OAuthError::invalid_grant(
        "the authorization code was already used; the tokens it issued are revoked",
    )))
}

/// An unused code's own checks: its time, its redirect URI, its PKCE challenge.
fn check_code(row: &Code, req: &TokenRequest, now: i64) -> Result<(), OAuthError> {
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    if req.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "`redirect_uri` does not match the authorization request",
        ));
    }
    if !pkce::verify(
        req.code_verifier.as_deref().unwrap_or_default(),
        &row.code_challenge,
    ) {
        return Err(OAuthError::invalid_grant(
            "`code_verifier` does not match the code challenge",
        ));
    }
    Ok(())
}

/// A token request may name the resource its grant is bound to, or none;
/// naming another is `invalid_target` (RFC 8707), said as `why`.
fn same_resource(bound: Option<&str>, asked: Option<&str>, why: &str) -> Result<(), OAuthError> {
    match (bound, asked) {
        (Some(bound), Some(asked)) if bound != asked => Err(OAuthError::invalid_target(why)),
        _ => Ok(()),
    }
}

/// The first row of a new family: the code's scopes under its resource (a
/// resource-bound token carries that resource's scopes only, RFC 8707).
fn first_row(
    issuers: &Issuers,
    row: Code,
    req: &TokenRequest,
    now: i64,
) -> Result<OAuthToken, OAuthError> {
    let asked = req.resource();
    same_resource(
        row.resource.as_deref(),
        asked,
        "`resource` differs from the one authorized",
    )?;
    let res = row.resource.as_deref().or(asked);
    let target = res.and_then(|r| resource::resolve(r, issuers.accepted()));
    let granted = resource::scopes_for(&scopes::parse(&row.scopes), target.as_ref());
    let audience = resource::audience_for(res, &granted, issuers.accepted())
        .map_err(OAuthError::invalid_target)?;
    Ok(OAuthToken {
        jti: String::new(),
        subject: row.user_id.clone(),
        user_id: Some(row.user_id),
        client_id: row.client_id,
        scopes: granted.join(" "),
        audience,
        resource: res.map(str::to_string),
        family_id: uuid::Uuid::new_v4().to_string(),
        created_at: now,
        expires_at: now + REFRESH_TTL_SECS,
        revoked_at: None,
        rotated_to: None,
    })
}

fn rotate(
    cx: &Context<'_>,
    tx: &Connection,
    client_id: &str,
    req: &TokenRequest,
    now: i64,
) -> Step<Issued> {
    let Some(presented) = req.refresh_token.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(Err(OAuthError::invalid_request(
            "`refresh_token` is required",
        )));
    };
    let presented_hash = sha256_hex(presented);
    let Some(row) =
        store::refresh::by_refresh_hash(tx, &presented_hash).map_err(|e| cx.store.err(e))?
    else {
        return Ok(Err(OAuthError::invalid_grant("unknown refresh token")));
    };
    match judge(cx.store, tx, &row, client_id, now)? {
        Decision::Rotate => {}
        // The reuse grace: the same answer as the rotation (see
        // `oauth::refresh`); forgotten (a restart) means refused, not revoked.
        Decision::Replay(next) => {
            return Ok(cx.recent.recall(&presented_hash, next, now).ok_or_else(|| {
                OAuthError::invalid_grant(
                    "the refresh token was just rotated; use the refresh token that rotation returned",
                )
            }));
        }
        Decision::RevokeFamily => return revoke_reused(cx.store, tx, &row, now),
        Decision::Refuse(why) => return Ok(Err(OAuthError::invalid_grant(why))),
    }
    let next = or_refuse!(narrowed(cx.issuers, &row, req, now));
    let (issued, new_jti) = issue(cx, tx, next, now)?;
    if !store::refresh::mark_rotated(tx, &row.jti, &new_jti, now).map_err(|e| cx.store.err(e))? {
        return Err(cx.store.other("rotation conflict"));
    }
    cx.recent
        .remember(&presented_hash, &new_jti, issued.clone(), now);
    Ok(Ok(issued))
}

/// [`refresh::decide`] on the presented row and its successor's state.
fn judge<'a>(
    store: &Store,
    tx: &Connection,
    row: &'a OAuthToken,
    client_id: &str,
    now: i64,
) -> Result<Decision<'a>, StoreError> {
    let successor = match row.rotated_to.as_deref() {
        Some(next) => store::refresh::by_jti(tx, next).map_err(|e| store.err(e))?,
        None => None,
    };
    // Live and unused: a successor that was itself rotated is revoked.
    let successor_live = successor
        .as_ref()
        .is_some_and(|s| s.revoked_at.is_none() && s.expires_at > now);
    let presented = Presented {
        client_id: &row.client_id,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        rotated_to: row.rotated_to.as_deref(),
    };
    Ok(refresh::decide(&presented, client_id, successor_live, now))
}

/// A rotated token presented again leaked: its whole family is revoked.
fn revoke_reused(store: &Store, tx: &Connection, row: &OAuthToken, now: i64) -> Step<Issued> {
    let n = store::refresh::revoke_family(tx, &row.family_id, now).map_err(|e| store.err(e))?;
    tracing::warn!(
        client_id = row.client_id,
        family = row.family_id,
        revoked = n,
        "refresh token reused; family revoked"
    );
    Ok(Err(OAuthError::invalid_grant(
        "the refresh token was already used; every token of this grant is revoked",
    )))
}

/// The successor of `base`: the scopes (narrowed if asked, in the request's
/// own spelling: `vault:read` under a vault resource means
/// `vault:<name>:read`), the resource (never widened) and the audience that
/// follows from them.
fn narrowed(
    issuers: &Issuers,
    base: &OAuthToken,
    req: &TokenRequest,
    now: i64,
) -> Result<OAuthToken, OAuthError> {
    let asked = req.resource();
    same_resource(
        base.resource.as_deref(),
        asked,
        "`resource` is outside this grant",
    )?;
    let res = base.resource.clone().or_else(|| asked.map(str::to_string));
    let target = res
        .as_deref()
        .and_then(|r| resource::resolve(r, issuers.accepted()));
    let held = resource::scopes_for(&scopes::parse(&base.scopes), target.as_ref());
    let wanted = match req
        .scope
        .as_deref()
        .map(scopes::parse)
        .filter(|s| !s.is_empty())
    {
        Some(w) => {
            let w = resource::bind(&w, target.as_ref());
            if w.is_empty() || !w.iter().all(|s| held.contains(s)) {
                return Err(OAuthError::invalid_scope(
                    "a refresh may only narrow the granted scopes",
                ));
            }
            w
        }
        None => held,
    };
    let audience = resource::audience_for(res.as_deref(), &wanted, issuers.accepted())
        .map_err(OAuthError::invalid_target)?;
    Ok(OAuthToken {
        jti: String::new(),
        scopes: wanted.join(" "),
        audience,
        resource: res,
        created_at: now,
        expires_at: now + REFRESH_TTL_SECS,
        revoked_at: None,
        rotated_to: None,
        ..base.clone()
    })
}

/// Sign an access token and record its row with a new refresh token; the
/// new row's `jti` comes back with the pair.
fn issue(
    cx: &Context<'_>,
    tx: &Connection,
    mut row: OAuthToken,
    now: i64,
) -> Result<(Issued, String), StoreError> {
    let granted = scopes::parse(&row.scopes);
    let minted = mint::mint(
        tx,
        cx.issuers.primary(),
        &mint::Mint {
            sub: &row.subject,
            user_id: row.user_id.as_deref(),
            scopes: &granted,
            audience: &row.audience,
            client_id: &row.client_id,
            ttl_secs: ACCESS_TTL_SECS,
            created_via: None,
            parent_jti: None,
            label: None,
        },
        now,
    )
    .map_err(|e| cx.store.other(e))?;
    row.jti = minted.claims.jti.clone().unwrap_or_default();
    let refresh = random_token();
    store::refresh::insert(tx, &row, &sha256_hex(&refresh)).map_err(|e| cx.store.err(e))?;
    let jti = row.jti.clone();
    Ok((
        Issued {
            access: minted.token,
            refresh,
            scope: row.scopes,
        },
        jti,
    ))
}

#[cfg(test)]
mod tests;
