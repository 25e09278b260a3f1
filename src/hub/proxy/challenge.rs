//! A vault's Bearer 401 names where to get a token (issue 13, RFC 9728
//! §5.1): when the vault module's own challenge does not say it, the hub
//! adds the vault's protected-resource metadata and a `scope` hint, so an
//! MCP client given only `<hub>/vault/<name>/mcp` can discover the rest. A
//! challenge that already names its metadata passes intact.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// Complete the challenges of a 401 from vault `vault`.
pub fn complete(res: &mut Response, issuer: &str, vault: &str) {
    if res.status() != StatusCode::UNAUTHORIZED {
        return;
    }
    let prm = format!("{issuer}/.well-known/oauth-protected-resource/vault/{vault}/mcp");
    let scope = format!("vault:{vault}:read");
    let values: Vec<HeaderValue> = res
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .cloned()
        .collect();
    let h = res.headers_mut();
    if values.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&complete_one("Bearer", &prm, &scope)) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        return;
    }
    h.remove(header::WWW_AUTHENTICATE);
    for v in values {
        let done = v
            .to_str()
            .ok()
            .map(|s| complete_one(s, &prm, &scope))
            .and_then(|s| HeaderValue::from_str(&s).ok())
            .unwrap_or(v);
        h.append(header::WWW_AUTHENTICATE, done);
    }
}

/// One challenge, with `resource_metadata` and `scope` added when it is a
/// Bearer challenge that lacks them.
fn complete_one(challenge: &str, prm: &str, scope: &str) -> String {
    let is_bearer = challenge == "Bearer" || challenge.starts_with("Bearer ");
    if !is_bearer {
        return challenge.to_string();
    }
    let mut params: Vec<String> = Vec::new();
    if !challenge.contains("resource_metadata=") {
        params.push(format!("resource_metadata=\"{prm}\""));
    }
    let rest = challenge.trim_start_matches("Bearer").trim();
    if !rest.is_empty() {
        params.push(rest.to_string());
    }
    if !challenge.contains("scope=") {
        params.push(format!("scope=\"{scope}\""));
    }
    format!("Bearer {}", params.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_challenge_gets_metadata_and_scope_and_a_complete_one_is_kept() {
        let prm = "http://h/.well-known/oauth-protected-resource/vault/work/mcp";
        assert_eq!(
            complete_one("Bearer", prm, "vault:work:read"),
            format!("Bearer resource_metadata=\"{prm}\", scope=\"vault:work:read\"")
        );
        assert_eq!(
            complete_one("Bearer error=\"invalid_token\"", prm, "vault:work:read"),
            format!(
                "Bearer resource_metadata=\"{prm}\", error=\"invalid_token\", scope=\"vault:work:read\""
            )
        );
        let full = "Bearer resource_metadata=\"http://m/prm\", scope=\"vault:work:write\"";
        assert_eq!(complete_one(full, prm, "vault:work:read"), full);
        assert_eq!(
            complete_one("Basic realm=\"x\"", prm, "s"),
            "Basic realm=\"x\""
        );
    }

    #[test]
    fn a_401_without_any_challenge_gets_one() {
        let mut r = Response::new(axum::body::Body::empty());
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        complete(&mut r, "http://h", "default");
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer resource_metadata=\"http://h/.well-known/oauth-protected-resource/vault/default/mcp\", scope=\"vault:default:read\""
        );
    }
}
