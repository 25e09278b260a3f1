//! The hub token a git client presents. Git ≥ 2.46 with a Bearer-capable
//! credential helper sends `Authorization: Bearer <jwt>`; everything older
//! sends Basic, so the usual token-in-Basic forms are accepted too:
//!
//! - `x-access-token:<jwt>`: the token is the password (GitHub's form);
//! - `<jwt>:x-oauth-basic`: the token is the username (legacy);
//! - `<jwt>:`: the token is the username, the password empty;
//! - any other `<user>:<jwt>`: the token is the password.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The presented token, or `None` when there is no usable credential.
pub fn extract_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| rest.to_string());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
    let (user, pass) = decoded.split_once(':').unwrap_or((&decoded, ""));
    let token = if user == "x-access-token" || (!pass.is_empty() && pass != "x-oauth-basic") {
        pass
    } else {
        user
    };
    (!token.is_empty()).then(|| token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic(userpass: &str) -> String {
        format!("Basic {}", STANDARD.encode(userpass))
    }

    #[test]
    fn extract_token_table() {
        let cases: &[(&str, Option<String>, Option<&str>)] = &[
            (
                "bearer",
                Some("Bearer abc.def.ghi".into()),
                Some("abc.def.ghi"),
            ),
            (
                "bearer, any case, extra spaces",
                Some("bEaReR   abc.def.ghi  ".into()),
                Some("abc.def.ghi"),
            ),
            ("empty bearer", Some("Bearer ".into()), None),
            (
                "basic x-access-token:<jwt>",
                Some(basic("x-access-token:my.jwt.tok")),
                Some("my.jwt.tok"),
            ),
            (
                "basic <jwt>:x-oauth-basic",
                Some(basic("my.jwt.tok:x-oauth-basic")),
                Some("my.jwt.tok"),
            ),
            (
                "basic <jwt>: (empty password)",
                Some(basic("my.jwt.tok:")),
                Some("my.jwt.tok"),
            ),
            (
                "basic <user>:<jwt>",
                Some(basic("x-token:my.jwt.tok")),
                Some("my.jwt.tok"),
            ),
            (
                "basic without a colon",
                Some(basic("my.jwt.tok")),
                Some("my.jwt.tok"),
            ),
            (
                "basic x-access-token with no password",
                Some(basic("x-access-token:")),
                None,
            ),
            ("basic empty", Some(basic(":")), None),
            ("basic, not base64", Some("Basic !!!".into()), None),
            ("other scheme", Some("Digest abc".into()), None),
            ("scheme only", Some("Bearer".into()), None),
            ("no header", None, None),
        ];
        for (what, header_value, want) in cases {
            let mut h = HeaderMap::new();
            if let Some(v) = header_value {
                h.insert(
                    header::AUTHORIZATION,
                    HeaderValue::from_str(v).expect("ascii"),
                );
            }
            assert_eq!(extract_token(&h).as_deref(), *want, "{what}");
        }
    }
}
