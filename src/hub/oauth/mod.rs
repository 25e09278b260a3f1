//! The OAuth 2.1 authorization server's HTTP surface. Handlers only adapt:
//! each extracts the request, calls one operation of `crate::oauth` with
//! `now` from the hub's clock, and maps the typed result to a response
//! (errors in one place, [`error`]).
//!
//! - discovery: RFC 8414 metadata, RFC 9728 protected-resource metadata
//!   ([`metadata`]), and `resource_metadata` on every Bearer 401 ([`challenge`]);
//! - `POST /oauth/register` (RFC 7591, [`register`]);
//! - `GET/POST /oauth/authorize` with the consent page ([`authorize`]);
//! - `POST /oauth/token` ([`token`]), `/oauth/revoke` (RFC 7009) and
//!   `/oauth/introspect` (RFC 7662) ([`revoke`]);
//! - `POST /api/auth/mint-token` under capability attenuation ([`mint`]).

pub mod authorize;
pub mod cimd;
pub mod client_auth;
pub mod consent_page;
pub mod error;
pub mod metadata;
pub mod mint;
pub mod register;
pub mod revoke;
pub mod token;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use super::wellknown::{preflight, preflight_for};
use crate::hub::state::HubState;

/// The one hub route under a module's prefix (a vault's own RFC 9728
/// document, or the hub's for it): [`crate::hub::front`] must leave it to
/// the router.
pub const VAULT_METADATA_UNDER_PREFIX: &str = "/vault/{name}/.well-known/oauth-protected-resource";

/// Whether `path` is [`VAULT_METADATA_UNDER_PREFIX`] for some vault name.
pub fn is_vault_metadata_under_prefix(path: &str) -> bool {
    path.strip_prefix("/vault/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(name, tail)| {
            !name.is_empty() && tail == ".well-known/oauth-protected-resource"
        })
}

/// The routes of the authorization server.
pub fn routes() -> Router<HubState> {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::authorization_server).options(preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(metadata::hub_resource).options(preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource/vault/{name}/mcp",
            get(metadata::vault_resource).options(preflight),
        )
        .route(
            VAULT_METADATA_UNDER_PREFIX,
            get(metadata::vault_resource_under_prefix).options(preflight),
        )
        .route(
            "/oauth/register",
            post(register::register).options(post_preflight),
        )
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::decide),
        )
        .route("/oauth/token", post(token::token).options(post_preflight))
        .route(
            "/oauth/revoke",
            post(revoke::revoke).options(post_preflight),
        )
        .route("/oauth/introspect", post(revoke::introspect))
        .route("/api/auth/mint-token", post(mint::mint_token))
}

/// `OPTIONS` for the endpoints browser-based clients `POST` to (DCR, token,
/// revoke): any origin, no credentials — these endpoints never read cookies.
pub async fn post_preflight() -> Response {
    preflight_for(
        "POST, OPTIONS",
        "Authorization, Content-Type, MCP-Protocol-Version",
    )
}

/// Middleware: every Bearer 401 names the hub's protected-resource metadata
/// (RFC 9728 §5.1), so a client that hits a hub route without a token can
/// discover where to get one; the `scope` hint is the producer's (the
/// `Bearer` extractor's kind, git's repository scope). Git's 401 is
/// included: its Basic challenge is kept as is, in its place.
pub async fn challenge(State(state): State<HubState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.status() != StatusCode::UNAUTHORIZED {
        return res;
    }
    let values: Vec<HeaderValue> = res
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .cloned()
        .collect();
    if !values.iter().any(needs_metadata) {
        return res;
    }
    let prm = format!(
        "{}/.well-known/oauth-protected-resource",
        state.issuers().primary()
    );
    let h = res.headers_mut();
    h.remove(header::WWW_AUTHENTICATE);
    for v in values {
        let value = match v.to_str() {
            Ok(s) if needs_metadata(&v) => {
                let rest = s.trim_start_matches("Bearer").trim();
                let joined = if rest.is_empty() {
                    format!("Bearer resource_metadata=\"{prm}\"")
                } else {
                    format!("Bearer resource_metadata=\"{prm}\", {rest}")
                };
                HeaderValue::from_str(&joined).unwrap_or(v)
            }
            _ => v,
        };
        h.append(header::WWW_AUTHENTICATE, value);
    }
    res
}

/// A `Bearer` challenge that does not name its metadata yet.
fn needs_metadata(v: &HeaderValue) -> bool {
    v.to_str().is_ok_and(|s| {
        (s == "Bearer" || s.starts_with("Bearer ")) && !s.contains("resource_metadata=")
    })
}

pub use crate::hub::registry::Installed;

/// What services.json says is installed, from the hub's cached registry.
pub fn installed(state: &HubState) -> Installed {
    state.registry().view().installed()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_vault_metadata_path_is_told_apart_from_a_vaults_own_paths() {
        for p in [
            "/vault/default/.well-known/oauth-protected-resource",
            "/vault/w-2/.well-known/oauth-protected-resource",
        ] {
            assert!(super::is_vault_metadata_under_prefix(p), "{p}");
        }
        for p in [
            "/vault//.well-known/oauth-protected-resource",
            "/vault/default/.well-known/oauth-protected-resource/x",
            "/vault/default/mcp",
            "/vault/default",
            "/.well-known/oauth-protected-resource/vault/default/mcp",
        ] {
            assert!(!super::is_vault_metadata_under_prefix(p), "{p}");
        }
    }
}
