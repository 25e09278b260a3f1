//! Discovery: RFC 8414 authorization-server metadata and RFC 9728
//! protected-resource metadata (per vault at both spellings, and for the
//! hub's own API). Public, cross-origin readable, never redirected.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::installed;
use crate::hub::state::HubState;
use crate::hub::wellknown::cors;
use crate::tokens::scopes;

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(State(state): State<HubState>) -> Response {
    let iss = state.issuers().primary();
    let installed = installed(&state);
    let auth_methods = ["none", "client_secret_post", "client_secret_basic"];
    cors(
        Json(json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/oauth/authorize"),
            "token_endpoint": format!("{iss}/oauth/token"),
            "registration_endpoint": format!("{iss}/oauth/register"),
            "revocation_endpoint": format!("{iss}/oauth/revoke"),
            "introspection_endpoint": format!("{iss}/oauth/introspect"),
            "jwks_uri": format!("{iss}/.well-known/jwks.json"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": ["bearer", "client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": scopes::supported(&installed.modules),
            "authorization_response_iss_parameter_supported": true,
            // A `client_id` may be an https URL naming the client's metadata
            // document (`hub::oauth::cimd`); `none` above lets such public
            // clients use the token endpoint.
            "client_id_metadata_document_supported": true,
            "service_documentation": format!("{iss}/.well-known/parachute.json"),
        }))
        .into_response(),
    )
}

/// `GET /.well-known/oauth-protected-resource`: the hub's own API.
pub async fn hub_resource(State(state): State<HubState>) -> Response {
    let iss = state.issuers().primary();
    let installed = installed(&state);
    cors(
        Json(json!({
            "resource": iss,
            "authorization_servers": [iss],
            "scopes_supported": scopes::supported(&installed.modules),
            "bearer_methods_supported": ["header"],
            "resource_name": "Parachute hub",
        }))
        .into_response(),
    )
}

/// `GET /vault/<name>/.well-known/oauth-protected-resource`: the vault
/// module's own document when it serves one (passed through, issue 11),
/// else the hub's ([`vault_resource`]).
pub async fn vault_resource_under_prefix(
    State(state): State<HubState>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    match crate::hub::proxy::own_metadata::from_module(&state, req).await {
        Some(res) => cors(res),
        None => vault_resource(State(state), Path(name)).await,
    }
}

/// `GET /.well-known/oauth-protected-resource/vault/<name>/mcp` (and the
/// prefixed form when the module has none of its own): `resource` is the
/// vault's exact MCP URL.
pub async fn vault_resource(State(state): State<HubState>, Path(name): Path<String>) -> Response {
    if !scopes::is_vault_name(&name) || !installed(&state).vaults.contains(&name) {
        return cors(
            (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "Vault not found", "vault": name})),
            )
                .into_response(),
        );
    }
    let iss = state.issuers().primary();
    cors(
        Json(json!({
            "resource": format!("{iss}/vault/{name}/mcp"),
            "authorization_servers": [iss],
            "scopes_supported": [format!("vault:{name}:read"), format!("vault:{name}:write")],
            "bearer_methods_supported": ["header"],
            "resource_name": format!("Parachute vault `{name}`"),
        }))
        .into_response(),
    )
}
