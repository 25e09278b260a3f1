//! `POST /oauth/register`: dynamic client registration (RFC 7591). Anyone
//! may register — MCP clients do it on first contact — but a new client is
//! `pending` until the owner approves it (on the consent page, or with
//! `parachute auth approve-client <id>`), pending registrations are
//! forgotten after an hour, and registration is rate-limited per IP. A
//! bearer with `hub:admin` registers an approved client.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::{Failure, OAuthError};
use crate::hub::error::ApiError;
use crate::hub::ratelimit::{self, ClientIp};
use crate::hub::state::HubState;
use crate::oauth::redirect;
use crate::secret::{random_token, sha256_hex};
use crate::store::{self, clients};
use crate::tokens::audience::Expected;
use crate::tokens::scopes;

const AUTH_METHODS: &[&str] = &["none", "client_secret_post", "client_secret_basic"];
const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token"];
const MAX_NAME: usize = 200;
const MAX_URIS: usize = 10;
/// Longest redirect URI (bytes): browsers and proxies handle 2,000 safely.
const MAX_URI_LEN: usize = 2_000;
/// Longest value of any other metadata string, and most items of any array.
const MAX_STRING: usize = 2_000;
const MAX_ITEMS: usize = 16;

/// Every member of the registration is bounded before it is read, so no
/// field can make the hub store (or echo) something unbounded; the error
/// names the field. (Objects such as `jwks` are ignored, never stored, and
/// bounded by the body limit.)
fn check_sizes(meta: &serde_json::Map<String, Value>) -> Result<(), OAuthError> {
    for (field, v) in meta {
        let field = field.chars().take(64).collect::<String>();
        match v {
            Value::String(s) if s.len() > MAX_STRING => {
                return Err(bad(format!("`{field}` is longer than {MAX_STRING} bytes")));
            }
            Value::Array(a) if field == "redirect_uris" => {
                if a.len() > MAX_URIS {
                    return Err(OAuthError::new(
                        "invalid_redirect_uri",
                        format!("`redirect_uris`: at most {MAX_URIS} redirect URIs"),
                    ));
                }
                if a.iter()
                    .any(|u| u.as_str().is_some_and(|u| u.len() > MAX_URI_LEN))
                {
                    return Err(OAuthError::new(
                        "invalid_redirect_uri",
                        format!("`redirect_uris`: each URI must be at most {MAX_URI_LEN} bytes"),
                    ));
                }
            }
            Value::Array(a)
                if a.len() > MAX_ITEMS
                    || a.iter()
                        .any(|x| x.as_str().is_some_and(|s| s.len() > MAX_STRING)) =>
            {
                return Err(bad(format!(
                    "`{field}` must hold at most {MAX_ITEMS} items, strings of at most {MAX_STRING} bytes"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

fn bad(d: impl Into<String>) -> OAuthError {
    OAuthError::new("invalid_client_metadata", d)
}

fn strings(v: Option<&Value>, field: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("`{field}` must be an array of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad(format!("`{field}` must be an array of strings"))),
    }
}

fn optional_str<'a>(v: &'a Value, field: &str) -> Result<Option<&'a str>, OAuthError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("`{field}` must be a string"))),
    }
}

/// Does the request carry a valid bearer with `hub:admin`? A bearer that
/// is present but invalid is an error (401), not an anonymous request.
fn admin_bearer(state: &HubState, headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(false);
    };
    let Some(token) = v
        .split_once(' ')
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
    else {
        return Ok(false);
    };
    let claims = state
        .validate(token, Expected::Hub)
        .map_err(|r| ApiError::InvalidToken {
            reason: r.to_string(),
            scope: "hub:admin",
        })?;
    Ok(claims.has_scope("hub:admin"))
}

/// `POST /oauth/register`.
pub async fn register(
    State(state): State<HubState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let now = crate::tokens::now();
    if let Err(limited) = ratelimit::check(&state, ratelimit::REGISTER, &ip, now)? {
        return Ok(limited.into_response());
    }
    let approved = admin_bearer(&state, &headers)?;
    let Parsed {
        uris,
        method,
        grant_types,
        response_types,
        name,
        scope,
        required_scope,
    } = parse(&body)?;
    let name = name.as_deref();
    let method = method.as_str();
    let client_id = uuid::Uuid::new_v4().to_string();
    let secret = (method != "none").then(random_token);
    let mut echo = json!({
        "client_id": client_id,
        "client_id_issued_at": now,
        "redirect_uris": uris,
        "token_endpoint_auth_method": method,
        "grant_types": grant_types,
        "response_types": response_types,
    });
    if let Some(n) = name {
        echo["client_name"] = n.into();
    }
    if !scope.is_empty() {
        echo["scope"] = scope.clone().into();
    }
    if !required_scope.is_empty() {
        echo["required_scope"] = required_scope.into();
    }
    let client = clients::Client {
        client_id: client_id.clone(),
        client_secret_hash: secret.as_deref().map(sha256_hex),
        redirect_uris: uris,
        scopes: scope,
        client_name: name.map(str::to_string),
        registered_at: now,
        status: if approved {
            clients::APPROVED
        } else {
            clients::PENDING
        }
        .to_string(),
        token_endpoint_auth_method: method.to_string(),
        metadata: echo.clone(),
        document_expires_at: None,
    };
    let db = state.store();
    db.write(|tx| {
        let sql = |e| db.err(e);
        store::clients::reap_pending_before(tx, crate::oauth::pending_client_cutoff(now))
            .map_err(sql)?;
        store::clients::insert(tx, &client).map_err(sql)
    })
    .map_err(ApiError::internal)?;
    tracing::info!(client_id, name = name.unwrap_or("-"), %ip, approved, "client registered");

    if let Some(s) = secret {
        echo["client_secret"] = s.into();
        echo["client_secret_expires_at"] = 0.into();
    }
    echo["status"] = client.status.into();
    let mut r = (StatusCode::CREATED, Json(echo)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(crate::hub::wellknown::cors(r))
}

/// Validated registration metadata.
struct Parsed {
    uris: Vec<String>,
    method: String,
    grant_types: Vec<String>,
    response_types: Vec<String>,
    name: Option<String>,
    scope: String,
    /// Scopes the client says it cannot work without (`required_scope`, a
    /// Parachute extension): the consent page marks them.
    required_scope: String,
}

/// Validate the RFC 7591 request body.
fn parse(body: &[u8]) -> Result<Parsed, OAuthError> {
    let meta: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body must be a JSON object: {e}")))?;
    let Some(members) = meta.as_object() else {
        return Err(bad("the body must be a JSON object"));
    };
    check_sizes(members)?;
    let uris = strings(meta.get("redirect_uris"), "redirect_uris")?
        .filter(|u| !u.is_empty())
        .ok_or_else(|| OAuthError::new("invalid_redirect_uri", "`redirect_uris` is required"))?;
    if uris.len() > MAX_URIS {
        return Err(OAuthError::new(
            "invalid_redirect_uri",
            format!("at most {MAX_URIS} redirect URIs"),
        ));
    }
    for u in &uris {
        redirect::validate(u).map_err(|e| OAuthError::new("invalid_redirect_uri", e))?;
    }
    let method =
        optional_str(&meta, "token_endpoint_auth_method")?.unwrap_or("client_secret_basic");
    if !AUTH_METHODS.contains(&method) {
        return Err(bad(format!(
            "token_endpoint_auth_method `{method}` is not supported; use one of {}",
            AUTH_METHODS.join(", ")
        )));
    }
    let grant_types = strings(meta.get("grant_types"), "grant_types")?
        .unwrap_or_else(|| GRANT_TYPES.iter().map(|s| (*s).to_string()).collect());
    if let Some(g) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(bad(format!("grant type `{g}` is not supported")));
    }
    let response_types = strings(meta.get("response_types"), "response_types")?
        .unwrap_or_else(|| vec!["code".into()]);
    if response_types.iter().any(|r| r != "code") {
        return Err(bad("only the `code` response type is supported"));
    }
    // Control and bidi characters are dropped, not refused: the name is
    // shown to people (consent page, /account), never matched.
    let name = optional_str(&meta, "client_name")?
        .map(crate::oauth::text::sanitise)
        .filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME) {
        return Err(bad(format!(
            "`client_name` must be at most {MAX_NAME} printable characters"
        )));
    }
    let scope = scopes::parse(optional_str(&meta, "scope")?.unwrap_or_default()).join(" ");
    let required_scope =
        scopes::parse(optional_str(&meta, "required_scope")?.unwrap_or_default()).join(" ");

    Ok(Parsed {
        uris,
        method: method.to_string(),
        grant_types,
        response_types,
        name,
        scope,
        required_scope,
    })
}
