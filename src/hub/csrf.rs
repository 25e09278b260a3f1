//! CSRF protection for every cookie-authenticated form (seed 002): a
//! double-submit token — the `parachute_hub_csrf` cookie (32 random bytes,
//! `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` on https, 30 days) must equal the
//! `__csrf` form field, compared in constant time — plus an Origin check:
//! the request's `Origin` (or, when a no-referrer page sent `Origin: null`
//! or none, its `Referer`) must be one of the hub's own origins.
//!
//! Use: render forms with [`token`] (it sets the cookie when missing), and
//! start every POST handler with [`check`].

use axum::http::HeaderMap;
use axum::http::{HeaderValue, header};

use super::session::{cookie, secure, set_cookie};
use crate::hub::state::HubState;

pub const COOKIE_NAME: &str = "parachute_hub_csrf";
/// The form field carrying the token.
pub const FIELD: &str = "__csrf";
const TTL_SECS: i64 = 30 * 86_400;

/// The token for a form, and the `Set-Cookie` to send when the browser does
/// not have one yet.
#[derive(Debug, Clone)]
pub struct Token {
    pub value: String,
    pub set_cookie: Option<HeaderValue>,
}

fn well_formed(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The request's CSRF token, minting one (with its cookie) if needed.
pub fn token(state: &HubState, headers: &HeaderMap) -> Token {
    if let Some(v) = cookie(headers, COOKIE_NAME).filter(|v| well_formed(v)) {
        return Token {
            value: v.to_string(),
            set_cookie: None,
        };
    }
    let value = crate::secret::random_token();
    let c = set_cookie(COOKIE_NAME, &value, TTL_SECS, "/", secure(state));
    Token {
        value,
        set_cookie: Some(c),
    }
}

/// Why a form POST was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No cookie, no field, or they differ.
    Token,
    /// No usable `Origin`/`Referer`.
    OriginRequired,
    /// From another origin.
    OriginMismatch,
}

impl Refused {
    pub fn message(self) -> &'static str {
        match self {
            Self::Token => {
                "The form has expired or was not sent by this hub. Go back, reload the page and try again."
            }
            Self::OriginRequired | Self::OriginMismatch => {
                "This form was submitted from another site, so it was refused."
            }
        }
    }
}

/// The `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = url.len() - rest.len() + rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..end])
}

/// The request's origin (`Origin`, else the origin of `Referer`).
pub fn request_origin(headers: &HeaderMap) -> Option<&str> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| !o.is_empty() && *o != "null");
    origin.or_else(|| {
        headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(origin_of)
    })
}

/// Is the request from one of `bound` (the hub's own origins)?
pub fn check_origin<S: AsRef<str>>(headers: &HeaderMap, bound: &[S]) -> Result<(), Refused> {
    let origin = request_origin(headers).ok_or(Refused::OriginRequired)?;
    if bound.iter().any(|b| {
        b.as_ref()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(origin)
    }) {
        Ok(())
    } else {
        Err(Refused::OriginMismatch)
    }
}

/// Double-submit and Origin checks for a cookie-authenticated form POST.
pub fn check(state: &HubState, headers: &HeaderMap, submitted: &str) -> Result<(), Refused> {
    check_origin(headers, state.issuers().accepted())?;
    match cookie(headers, COOKIE_NAME) {
        Some(c) if well_formed(c) && crate::secret::same_secret(c, submitted) => Ok(()),
        _ => Err(Refused::Token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_table() {
        type Case<'a> = (
            &'a str,
            &'a [(&'static str, &'static str)],
            Result<(), Refused>,
        );
        let bound = ["http://127.0.0.1:1939", "http://localhost:1939"];
        let cases: &[Case<'_>] = &[
            (
                "same origin",
                &[("origin", "http://127.0.0.1:1939")],
                Ok(()),
            ),
            ("alias", &[("origin", "http://localhost:1939")], Ok(())),
            (
                "cross origin",
                &[("origin", "https://evil.example")],
                Err(Refused::OriginMismatch),
            ),
            (
                "null falls back to referer",
                &[
                    ("origin", "null"),
                    ("referer", "http://127.0.0.1:1939/oauth/authorize?x=1"),
                ],
                Ok(()),
            ),
            (
                "referer only",
                &[("referer", "http://localhost:1939/login")],
                Ok(()),
            ),
            (
                "evil referer",
                &[("referer", "http://127.0.0.1:1939.evil.example/")],
                Err(Refused::OriginMismatch),
            ),
            ("nothing", &[], Err(Refused::OriginRequired)),
        ];
        for (name, h, want) in cases {
            assert_eq!(check_origin(&headers(h), &bound), *want, "{name}");
        }
    }
}
