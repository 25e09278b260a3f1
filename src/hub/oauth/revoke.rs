//! `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662):
//! the handlers verify the tokens (the hub holds the keys) and read the
//! client's credentials; `crate::oauth::revoke` decides.

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::client_auth;
use super::error::Failure;
use crate::hub::error::ApiError;
use crate::hub::state::HubState;
use crate::oauth::client_auth::Credentials;
use crate::oauth::error::OAuthError;
use crate::oauth::revoke::{self, Asker, INTROSPECT_ANY};
use crate::tokens::audience::Expected;

#[derive(Debug, Default, Deserialize)]
pub struct TokenParam {
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

impl TokenParam {
    fn credentials(&self, headers: &HeaderMap) -> Credentials {
        client_auth::credentials(
            headers,
            self.client_id.as_deref(),
            self.client_secret.as_deref(),
        )
    }
}

fn form_of(f: Result<Form<TokenParam>, FormRejection>) -> Result<TokenParam, OAuthError> {
    f.map(|Form(p)| p).map_err(|e| {
        OAuthError::invalid_request(format!("the body must be form-encoded: {}", e.body_text()))
    })
}

/// `POST /oauth/revoke`: 200 whether or not the token was known (RFC 7009 §2.2).
pub async fn revoke(
    State(state): State<HubState>,
    headers: HeaderMap,
    form: Result<Form<TokenParam>, FormRejection>,
) -> Result<Response, Failure> {
    let p = form_of(form)?;
    let now = state.clock().now();
    // An access token (a JWT we can verify) names its row by `jti`.
    let access = p.token.as_deref().and_then(|t| state.live(t).ok());
    revoke::revoke(
        state.store(),
        &p.credentials(&headers),
        p.token.as_deref(),
        access.as_ref(),
        now,
    )?;
    Ok(crate::hub::wellknown::cors(StatusCode::OK.into_response()))
}

/// `POST /oauth/introspect`: a hub-admin bearer or the token's own
/// confidential client (client authentication as at `/oauth/token`);
/// `{active:false}` for anything not live or not the asker's to see.
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
    let now = state.clock().now();
    let asker = Asker::of(
        state.store(),
        bearer.as_ref(),
        &p.credentials(&headers),
        now,
    )?;
    let token = revoke::required(p.token.as_deref())?;
    let access = state.live(token).ok();
    let answer = revoke::introspect(state.store(), &asker, token, access, now)?;
    Ok(Json(answer.json(state.issuers().primary())).into_response())
}
