//! The client's credentials off the request, for client authentication at
//! the token, revocation and introspection endpoints
//! (`crate::oauth::client_auth` judges them): HTTP Basic
//! (`client_secret_basic`, URL-decoded per RFC 6749 §2.3.1) and the body's
//! `client_id` / `client_secret`.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::oauth::client_auth::Credentials;

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `(client_id, secret)` from an `Authorization: Basic` header.
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = STANDARD.decode(rest.trim()).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    Some((url_decode(id), url_decode(secret)))
}

/// The client's credentials as the request presents them: Basic, and the
/// body's `client_id` / `client_secret`.
pub fn credentials(
    headers: &HeaderMap,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
) -> Credentials {
    Credentials {
        basic: basic(headers),
        client_id: body_client_id.map(str::to_string),
        secret: body_secret.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_are_url_decoded() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret+x"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&v).expect("hv"),
        );
        assert_eq!(basic(&h), Some(("my id".into(), "s:cret x".into())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic(&h), None);
    }
}
