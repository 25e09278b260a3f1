//! `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662).

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::client_auth;
use super::error::{Failure, OAuthError};
use crate::hub::error::ApiError;
use crate::hub::state::HubState;
use crate::secret::sha256_hex;
use crate::store;
use crate::tokens::audience::Expected;

#[derive(Debug, Default, Deserialize)]
pub struct TokenParam {
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn form_of(f: Result<Form<TokenParam>, FormRejection>) -> Result<TokenParam, OAuthError> {
    f.map(|Form(p)| p).map_err(|e| {
        OAuthError::invalid_request(format!("the body must be form-encoded: {}", e.body_text()))
    })
}

/// Client authentication for revoke and introspect, as at `/oauth/token`.
fn authenticate(
    state: &HubState,
    headers: &HeaderMap,
    p: &TokenParam,
    now: i64,
) -> Result<Result<crate::store::clients::Client, OAuthError>, ApiError> {
    let conn = state
        .store()
        .conn()
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    client_auth::authenticate(
        &conn,
        headers,
        p.client_id.as_deref(),
        p.client_secret.as_deref(),
        now,
    )
}

/// `POST /oauth/revoke`: a refresh token revokes its whole grant (family);
/// an access token revokes its row (which carries the refresh token issued
/// with it). Unknown and foreign tokens are ignored; the answer is 200 either
/// way (RFC 7009 §2.2).
pub async fn revoke(
    State(state): State<HubState>,
    headers: HeaderMap,
    form: Result<Form<TokenParam>, FormRejection>,
) -> Result<Response, Failure> {
    let p = form_of(form)?;
    let now = crate::tokens::now();
    let client = authenticate(&state, &headers, &p, now)??;
    let Some(token) = p.token.filter(|t| !t.is_empty()) else {
        return Err(OAuthError::invalid_request("`token` is required").into());
    };
    // An access token (a JWT we can verify) names its row by `jti`.
    let jti_of_access = state
        .live(&token)
        .ok()
        .filter(|c| c.client_id == client.client_id)
        .and_then(|c| c.jti);
    let db = state.store();
    db.write(|tx| {
        let sql = |e| db.err(e);
        if let Some(row) = store::refresh::by_refresh_hash(tx, &sha256_hex(&token)).map_err(sql)?
            && row.client_id == client.client_id
        {
            store::refresh::revoke_family(tx, &row.family_id, now).map_err(sql)?;
        } else if let Some(jti) = &jti_of_access {
            store::tokens::revoke(tx, jti, now).map_err(sql)?;
        }
        Ok(())
    })
    .map_err(ApiError::internal)?;
    Ok(crate::hub::wellknown::cors(StatusCode::OK.into_response()))
}

/// Bearer scopes that may introspect any token (modules and the operator).
pub const INTROSPECT_ANY: &[&str] = &["hub:admin", "parachute:host:admin"];

/// Who asks: a bearer with an [`INTROSPECT_ANY`] scope sees every token; a
/// confidential client that proved its secret only its own; anyone else —
/// a public client too, which merely names a `client_id` anyone can read —
/// is told `active: false` (RFC 7662 §4: the endpoint must not be a
/// token-scanning oracle).
enum Asker {
    Admin,
    Client(String),
    Nobody,
}

impl Asker {
    fn may_see(&self, client_id: &str) -> bool {
        match self {
            Self::Admin => true,
            Self::Client(id) => id == client_id,
            Self::Nobody => false,
        }
    }
}

/// `POST /oauth/introspect`: a hub-admin bearer or the token's own
/// confidential client (client authentication as at `/oauth/token`);
/// `{active:false}` for
/// anything not live or not the asker's to see.
pub async fn introspect(
    State(state): State<HubState>,
    headers: HeaderMap,
    form: Result<Form<TokenParam>, FormRejection>,
) -> Result<Response, Failure> {
    // A bad bearer is refused before the body is read (401, not 400).
    let bearer = crate::hub::bearer::bearer_token(&headers)
        .map(|b| state.validate(b, Expected::Hub))
        .transpose()
        .map_err(|r| ApiError::InvalidToken {
            reason: r.to_string(),
            scope: INTROSPECT_ANY[0],
        })?;
    let p = form_of(form)?;
    let now = crate::tokens::now();
    let asker = if let Some(c) = bearer {
        if INTROSPECT_ANY.iter().any(|s| c.has_scope(s)) {
            Asker::Admin
        } else {
            Asker::Nobody
        }
    } else {
        match authenticate(&state, &headers, &p, now)? {
            Ok(c) if c.confidential() => Asker::Client(c.client_id),
            _ => Asker::Nobody,
        }
    };
    let Some(token) = p.token.filter(|t| !t.is_empty()) else {
        return Err(OAuthError::invalid_request("`token` is required").into());
    };
    let inactive = || Json(json!({"active": false})).into_response();
    if let Ok(c) = state.live(&token) {
        if !asker.may_see(&c.client_id) {
            return Ok(inactive());
        }
        return Ok(Json(json!({
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
        }))
        .into_response());
    }
    let row = {
        let conn = state
            .store()
            .conn()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        store::refresh::by_refresh_hash(&conn, &sha256_hex(&token)).map_err(ApiError::internal)?
    };
    Ok(Json(
        match row
            .filter(|r| r.revoked_at.is_none() && r.expires_at > now && asker.may_see(&r.client_id))
        {
            Some(r) => json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": r.scopes,
                "client_id": r.client_id,
                "sub": r.subject,
                "aud": r.audience,
                "iss": state.issuers().primary(),
                "exp": r.expires_at,
                "iat": r.created_at,
            }),
            None => json!({"active": false}),
        },
    )
    .into_response())
}
