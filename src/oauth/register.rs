//! Dynamic client registration (RFC 7591): what a registration may say
//! (every member bounded before it is read, so no field can make the hub
//! store or echo something unbounded), and the row it makes. A new client
//! is `pending` until the owner approves it unless the registrar is a
//! `hub:admin` bearer; pending registrations are forgotten after an hour.

use serde_json::{Value, json};

use super::error::{ErrorCode, OAuthError};
use super::redirect;
use crate::secret::{random_token, sha256_hex};
use crate::store::{self, Store, StoreError, clients};
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
                        ErrorCode::InvalidRedirectUri,
                        format!("`redirect_uris`: at most {MAX_URIS} redirect URIs"),
                    ));
                }
                if a.iter()
                    .any(|u| u.as_str().is_some_and(|u| u.len() > MAX_URI_LEN))
                {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidRedirectUri,
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
    OAuthError::new(ErrorCode::InvalidClientMetadata, d)
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

/// Validated registration metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
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
pub fn parse(body: &[u8]) -> Result<Registration, OAuthError> {
    let meta: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body must be a JSON object: {e}")))?;
    let Some(members) = meta.as_object() else {
        return Err(bad("the body must be a JSON object"));
    };
    check_sizes(members)?;
    let (grant_types, response_types) = types(&meta)?;
    Ok(Registration {
        uris: redirect_uris(&meta)?,
        method: auth_method(&meta)?,
        grant_types,
        response_types,
        name: client_name(&meta)?,
        scope: scopes::parse(optional_str(&meta, "scope")?.unwrap_or_default()).join(" "),
        required_scope: scopes::parse(optional_str(&meta, "required_scope")?.unwrap_or_default())
            .join(" "),
    })
}

fn redirect_uris(meta: &Value) -> Result<Vec<String>, OAuthError> {
    let uris = strings(meta.get("redirect_uris"), "redirect_uris")?
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidRedirectUri, "`redirect_uris` is required")
        })?;
    if uris.len() > MAX_URIS {
        return Err(OAuthError::new(
            ErrorCode::InvalidRedirectUri,
            format!("at most {MAX_URIS} redirect URIs"),
        ));
    }
    for u in &uris {
        redirect::validate(u).map_err(|e| OAuthError::new(ErrorCode::InvalidRedirectUri, e))?;
    }
    Ok(uris)
}

fn auth_method(meta: &Value) -> Result<String, OAuthError> {
    let method = optional_str(meta, "token_endpoint_auth_method")?.unwrap_or("client_secret_basic");
    if !AUTH_METHODS.contains(&method) {
        return Err(bad(format!(
            "token_endpoint_auth_method `{method}` is not supported; use one of {}",
            AUTH_METHODS.join(", ")
        )));
    }
    Ok(method.to_string())
}

/// `grant_types` and `response_types`, defaulted and checked.
fn types(meta: &Value) -> Result<(Vec<String>, Vec<String>), OAuthError> {
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
    Ok((grant_types, response_types))
}

/// Control and bidi characters are dropped, not refused: the name is
/// shown to people (consent page, /account), never matched.
fn client_name(meta: &Value) -> Result<Option<String>, OAuthError> {
    let name = optional_str(meta, "client_name")?
        .map(super::text::sanitise)
        .filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME) {
        return Err(bad(format!(
            "`client_name` must be at most {MAX_NAME} printable characters"
        )));
    }
    Ok(name)
}

/// Store the client `reg` describes, `approved` or pending, and answer
/// with its registration (RFC 7591 §3.2.1: the metadata, the new
/// `client_id`, a `client_secret` for a confidential client, and its
/// `status`).
pub fn register(
    store: &Store,
    reg: Registration,
    approved: bool,
    now: i64,
) -> Result<Value, StoreError> {
    let client_id = uuid::Uuid::new_v4().to_string();
    let secret = (reg.method != "none").then(random_token);
    let echo = echo(&reg, &client_id, now);
    let client = clients::Client {
        client_id: client_id.clone(),
        client_secret_hash: secret.as_deref().map(sha256_hex),
        redirect_uris: reg.uris,
        scopes: reg.scope,
        client_name: reg.name,
        registered_at: now,
        status: if approved {
            clients::APPROVED
        } else {
            clients::PENDING
        }
        .to_string(),
        token_endpoint_auth_method: reg.method,
        metadata: echo.clone(),
        document_expires_at: None,
    };
    store.write(|tx| {
        let sql = |e| store.err(e);
        store::clients::reap_pending_before(tx, crate::oauth::pending_client_cutoff(now))
            .map_err(sql)?;
        store::clients::insert(tx, &client).map_err(sql)
    })?;
    let mut answer = echo;
    if let Some(s) = secret {
        answer["client_secret"] = s.into();
        answer["client_secret_expires_at"] = 0.into();
    }
    answer["status"] = client.status.into();
    Ok(answer)
}

/// The registered metadata as stored and sent back.
fn echo(reg: &Registration, client_id: &str, now: i64) -> Value {
    let mut echo = json!({
        "client_id": client_id,
        "client_id_issued_at": now,
        "redirect_uris": reg.uris,
        "token_endpoint_auth_method": reg.method,
        "grant_types": reg.grant_types,
        "response_types": reg.response_types,
    });
    if let Some(n) = &reg.name {
        echo["client_name"] = n.as_str().into();
    }
    if !reg.scope.is_empty() {
        echo["scope"] = reg.scope.as_str().into();
    }
    if !reg.required_scope.is_empty() {
        echo["required_scope"] = reg.required_scope.as_str().into();
    }
    echo
}

#[cfg(test)]
mod tests;
