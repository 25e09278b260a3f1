//! Client authentication at the token, revocation endpoints: public clients
//! (`none`) name themselves with `client_id`; confidential ones prove their
//! secret with HTTP Basic (`client_secret_basic`, URL-decoded per RFC 6749
//! §2.3.1) or in the body (`client_secret_post`). Secrets are compared as
//! SHA-256 in constant time.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rusqlite::Connection;

use super::error::OAuthError;
use crate::hub::error::ApiError;
use crate::secret::{same_secret, sha256_hex};
use crate::store::clients::{self, Client};

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

/// Authenticate the calling client.
pub fn authenticate(
    conn: &Connection,
    headers: &HeaderMap,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
    now: i64,
) -> Result<Result<Client, OAuthError>, ApiError> {
    let basic = basic(headers);
    let (client_id, secret) = match (&basic, body_client_id.filter(|c| !c.is_empty())) {
        (Some((id, _)), Some(body)) if id != body => {
            return Ok(Err(OAuthError::invalid_client(
                "`client_id` differs from the Basic credentials",
            )));
        }
        (Some((id, s)), _) => (id.as_str(), Some(s.as_str())),
        (None, Some(id)) => (id, body_secret.filter(|s| !s.is_empty())),
        (None, None) => {
            return Ok(Err(OAuthError::invalid_client(
                "client authentication is required: send `client_id`",
            )));
        }
    };
    let client = clients::get(conn, client_id).map_err(ApiError::internal)?;
    let Some(client) = client.filter(|c| !crate::oauth::client_expired(c, now)) else {
        return Ok(Err(OAuthError::invalid_client(format!(
            "unknown client `{client_id}`; register again"
        ))));
    };
    if let Some(hash) = &client.client_secret_hash {
        match secret {
            Some(s) if same_secret(&sha256_hex(s), hash) => {}
            _ => {
                return Ok(Err(OAuthError::invalid_client(
                    "client authentication failed",
                )));
            }
        }
    }
    if !client.approved() {
        return Ok(Err(OAuthError::invalid_client(format!(
            "client `{}` is waiting for approval: sign in to the hub and approve it on the consent page, or run `parachute auth approve-client {}`",
            client.client_id, client.client_id
        ))));
    }
    Ok(Ok(client))
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
