//! `POST /oauth/token`: the `authorization_code` and `refresh_token` grants.
//! Each exchange is one write transaction (`BEGIN IMMEDIATE`), so two
//! requests racing with the same code or refresh token are serialized and
//! exactly one wins (a refresh token's own client racing itself gets the
//! winner's answer again within the reuse grace, `oauth::refresh`). Access
//! tokens are 15-minute JWTs whose `jti` is the registry row; refresh tokens
//! are opaque, 30 days, stored as SHA-256.

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::json;

use super::client_auth;
use super::error::{Failure, OAuthError};
use crate::hub::error::ApiError;
use crate::hub::ratelimit;
use crate::hub::state::HubState;
use crate::oauth::refresh::{self, Decision, Presented};
use crate::oauth::{ACCESS_TTL_SECS, REFRESH_TTL_SECS, pkce, resource};
use crate::secret::{random_token, sha256_hex};
use crate::store::{self, StoreError, refresh::OAuthToken};
use crate::tokens::{mint, scopes};

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
}

/// A freshly issued pair (remembered for the reuse grace, so `Debug` leaves
/// the tokens out).
#[derive(Clone)]
pub struct Issued {
    access: String,
    refresh: String,
    scope: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<HubState>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, Failure> {
    let Form(f) = form.map_err(|e| {
        OAuthError::invalid_request(format!("the body must be form-encoded: {}", e.body_text()))
    })?;
    let now = crate::tokens::now();
    if let Some(family) = refresh_family(&state, &f)?
        && let Err(limited) = ratelimit::check(&state, ratelimit::REFRESH, &family, now)?
    {
        return Ok(limited.into_response());
    }
    let db = state.store();
    let outcome = db
        .write(|tx| {
            let client = match client_auth::authenticate(
                tx,
                &headers,
                f.client_id.as_deref(),
                f.client_secret.as_deref(),
                now,
            ) {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return Ok(Err(e)),
                Err(e) => return Err(db.other(format!("{e:?}"))),
            };
            match f.grant_type.as_deref() {
                Some("authorization_code") => code_grant(&state, tx, &client.client_id, &f, now),
                Some("refresh_token") => refresh_grant(&state, tx, &client.client_id, &f, now),
                Some(other) => Ok(Err(OAuthError::new(
                    "unsupported_grant_type",
                    format!("grant type `{other}` is not supported"),
                ))),
                None => Ok(Err(OAuthError::invalid_request("`grant_type` is required"))),
            }
        })
        .map_err(ApiError::internal)?;
    let issued = outcome?;
    let mut r = Json(json!({
        "access_token": issued.access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL_SECS,
        "refresh_token": issued.refresh,
        "scope": issued.scope,
    }))
    .into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(crate::hub::wellknown::cors(r))
}

/// The family a presented refresh token belongs to (for its rate limit);
/// `None` for other grants and unknown tokens, which are refused later.
fn refresh_family(state: &HubState, f: &TokenForm) -> Result<Option<String>, ApiError> {
    let Some(presented) = f
        .refresh_token
        .as_deref()
        .filter(|t| !t.is_empty() && f.grant_type.as_deref() == Some("refresh_token"))
    else {
        return Ok(None);
    };
    let conn = state
        .store()
        .conn()
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let row = store::refresh::by_refresh_hash(&conn, &sha256_hex(presented))
        .map_err(ApiError::internal)?;
    Ok(row.map(|r| r.family_id))
}

type Step = Result<Result<Issued, OAuthError>, StoreError>;

fn code_grant(state: &HubState, tx: &Connection, client_id: &str, f: &TokenForm, now: i64) -> Step {
    let db = state.store();
    let sql = |e| db.err(e);
    let Some(code) = f.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(Err(OAuthError::invalid_request("`code` is required")));
    };
    let hash = sha256_hex(code);
    let Some(row) = store::codes::get(tx, &hash).map_err(sql)? else {
        return Ok(Err(OAuthError::invalid_grant("unknown authorization code")));
    };
    if row.client_id != client_id {
        return Ok(Err(OAuthError::invalid_grant("unknown authorization code")));
    }
    if row.used_at.is_some() {
        // A code presented twice was intercepted or replayed: whatever the
        // first exchange issued is revoked (RFC 6749 §4.1.2).
        if let Some(family) = &row.family_id {
            let n = store::refresh::revoke_family(tx, family, now).map_err(sql)?;
            tracing::warn!(
                client_id,
                revoked = n,
                "authorization code reused; its tokens are revoked"
            );
        }
        return Ok(Err(OAuthError::invalid_grant(
            "the authorization code was already used; the tokens it issued are revoked",
        )));
    }
    if row.expires_at <= now {
        return Ok(Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        )));
    }
    if f.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
        return Ok(Err(OAuthError::invalid_grant(
            "`redirect_uri` does not match the authorization request",
        )));
    }
    if !pkce::verify(
        f.code_verifier.as_deref().unwrap_or_default(),
        &row.code_challenge,
    ) {
        return Ok(Err(OAuthError::invalid_grant(
            "`code_verifier` does not match the code challenge",
        )));
    }
    let asked = f.resource.as_deref().filter(|r| !r.is_empty());
    if let (Some(bound), Some(asked)) = (row.resource.as_deref(), asked)
        && bound != asked
    {
        return Ok(Err(OAuthError::new(
            "invalid_target",
            "`resource` differs from the one authorized",
        )));
    }
    let res = row.resource.as_deref().or(asked);
    // A resource-bound token carries that resource's scopes only (RFC 8707).
    let target = res.and_then(|r| resource::resolve(r, state.issuers().accepted()));
    let granted = resource::scopes_for(&scopes::parse(&row.scopes), target.as_ref());
    let audience = match resource::audience_for(res, &granted, state.issuers().accepted()) {
        Ok(a) => a,
        Err(d) => return Ok(Err(OAuthError::new("invalid_target", d))),
    };
    let family = uuid::Uuid::new_v4().to_string();
    store::codes::mark_used(tx, &hash, &family, now).map_err(sql)?;
    let base = OAuthToken {
        jti: String::new(),
        subject: row.user_id.clone(),
        user_id: Some(row.user_id),
        client_id: client_id.to_string(),
        scopes: granted.join(" "),
        audience,
        resource: res.map(str::to_string),
        family_id: family,
        created_at: now,
        expires_at: now + REFRESH_TTL_SECS,
        revoked_at: None,
        rotated_to: None,
    };
    issue(state, tx, base, now).map(|(i, _)| Ok(i))
}

fn refresh_grant(
    state: &HubState,
    tx: &Connection,
    client_id: &str,
    f: &TokenForm,
    now: i64,
) -> Step {
    let db = state.store();
    let sql = |e| db.err(e);
    let Some(presented) = f.refresh_token.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(Err(OAuthError::invalid_request(
            "`refresh_token` is required",
        )));
    };
    let presented_hash = sha256_hex(presented);
    let Some(row) = store::refresh::by_refresh_hash(tx, &presented_hash).map_err(sql)? else {
        return Ok(Err(OAuthError::invalid_grant("unknown refresh token")));
    };
    let successor = match row.rotated_to.as_deref() {
        Some(next) => store::refresh::by_jti(tx, next).map_err(sql)?,
        None => None,
    };
    // Live and unused: a successor that was itself rotated is revoked.
    let successor_live = successor
        .as_ref()
        .is_some_and(|s| s.revoked_at.is_none() && s.expires_at > now);
    let decision = refresh::decide(
        &Presented {
            client_id: &row.client_id,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            rotated_to: row.rotated_to.as_deref(),
        },
        client_id,
        successor_live,
        now,
    );
    let base = match decision {
        Decision::Rotate => row,
        // The reuse grace: the same answer as the rotation (see
        // `oauth::refresh`); forgotten (a restart) means refused, not revoked.
        Decision::Replay(next) => {
            return Ok(state
                .refreshes()
                .recall(&presented_hash, next, now)
                .ok_or_else(|| {
                    OAuthError::invalid_grant(
                        "the refresh token was just rotated; use the refresh token that rotation returned",
                    )
                }));
        }
        Decision::RevokeFamily => {
            let n = store::refresh::revoke_family(tx, &row.family_id, now).map_err(sql)?;
            tracing::warn!(
                client_id,
                family = row.family_id,
                revoked = n,
                "refresh token reused; family revoked"
            );
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this grant is revoked",
            )));
        }
        Decision::Refuse(why) => return Ok(Err(OAuthError::invalid_grant(why))),
    };
    let (wanted, res, audience) = match narrowed(state, &base, f) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let previous = base.jti.clone();
    let next = OAuthToken {
        jti: String::new(),
        scopes: wanted.join(" "),
        audience,
        resource: res,
        created_at: now,
        expires_at: now + REFRESH_TTL_SECS,
        revoked_at: None,
        rotated_to: None,
        ..base
    };
    let issued = issue(state, tx, next, now)?;
    let new_jti = issued.1;
    if !store::refresh::mark_rotated(tx, &previous, &new_jti, now).map_err(sql)? {
        return Err(db.other("rotation conflict"));
    }
    state
        .refreshes()
        .remember(&presented_hash, &new_jti, issued.0.clone(), now);
    Ok(Ok(issued.0))
}

/// Sign an access token and record its row with a new refresh token.
fn issue(
    state: &HubState,
    tx: &Connection,
    mut row: OAuthToken,
    now: i64,
) -> Result<(Issued, String), StoreError> {
    let db = state.store();
    let granted = scopes::parse(&row.scopes);
    let minted = mint::mint(
        tx,
        state.issuers().primary(),
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
    .map_err(|e| db.other(e))?;
    row.jti = minted.claims.jti.clone().unwrap_or_default();
    let refresh = random_token();
    store::refresh::insert(tx, &row, &sha256_hex(&refresh)).map_err(|e| db.err(e))?;
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

/// What a refresh may carry: the scopes (narrowed if asked), the resource
/// (never widened) and the audience that follows from them.
fn narrowed(
    state: &HubState,
    base: &OAuthToken,
    f: &TokenForm,
) -> Result<(Vec<String>, Option<String>, String), OAuthError> {
    let asked = f.resource.as_deref().filter(|r| !r.is_empty());
    if let (Some(bound), Some(asked)) = (base.resource.as_deref(), asked)
        && bound != asked
    {
        return Err(OAuthError::new(
            "invalid_target",
            "`resource` is outside this grant",
        ));
    }
    let res = base.resource.clone().or_else(|| asked.map(str::to_string));
    // A narrower `scope` may be asked for, in the request's own spelling
    // (`vault:read` under a vault resource means `vault:<name>:read`).
    let target = res
        .as_deref()
        .and_then(|r| resource::resolve(r, state.issuers().accepted()));
    let held = resource::scopes_for(&scopes::parse(&base.scopes), target.as_ref());
    let wanted = match f
        .scope
        .as_deref()
        .map(scopes::parse)
        .filter(|s| !s.is_empty())
    {
        Some(w) => {
            let w = resource::bind(&w, target.as_ref());
            if w.is_empty() || !w.iter().all(|s| held.contains(s)) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    "a refresh may only narrow the granted scopes",
                ));
            }
            w
        }
        None => held,
    };
    let audience = match resource::audience_for(res.as_deref(), &wanted, state.issuers().accepted())
    {
        Ok(a) => a,
        Err(d) => return Err(OAuthError::new("invalid_target", d)),
    };
    Ok((wanted, res, audience))
}
