//! The page kit every server-rendered page is built from (the admin pages
//! too): templates under `templates/` (askama, compiled in, escaping on by
//! default) extending `base.html`, the macros of `templates/kit/macros.html`
//! (the CSRF field, a notice, a one-button form, a password field), and
//! here the Rust half — [`page`] (a template as a response with the
//! security headers), [`form_page`] (a page whose forms carry the CSRF
//! token, setting its cookie when the browser lacks one) and [`Notice`];
//! with `pages::extract` (form, session and CSRF checks whose failures are
//! HTML) and `pages::error` (the error page).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::hub::csrf;
use crate::hub::session::with_cookie;
use crate::hub::state::HubState;

/// The policy of every page: nothing loads but the inline stylesheet, forms
/// post only here, no framing.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Make `r` a page response: not cached, not frameable, strict CSP.
pub fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// A rendered template at `status`, with the page headers.
pub fn page(status: StatusCode, template: impl IntoResponse) -> Response {
    let mut r = template.into_response();
    // A template that failed to render is askama_web's 500: keep it.
    if r.status().is_success() {
        *r.status_mut() = status;
    }
    secure(r)
}

/// A page with forms: `build` gets the request's CSRF token for its
/// fields; the cookie is set when the browser has none yet.
pub fn form_page<T: IntoResponse>(
    state: &HubState,
    headers: &HeaderMap,
    status: StatusCode,
    build: impl FnOnce(String) -> T,
) -> Response {
    let token = csrf::token(state, headers);
    let r = page(status, build(token.value));
    match token.set_cookie {
        Some(c) => with_cookie(r, c),
        None => r,
    }
}

/// The escaper of every template (`askama.toml`): `& < > " '` as the named
/// entities the pages have always sent, in text and attribute values alike.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, s: &str) -> std::fmt::Result {
        let mut last = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&s[last..i])?;
            dest.write_str(entity)?;
            last = i + 1;
        }
        dest.write_str(&s[last..])
    }
}

/// A message on top of a page (`kit::notice` in the templates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub error: bool,
    pub text: String,
}

impl Notice {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            error: false,
            text: text.into(),
        }
    }
    pub fn err(text: impl Into<String>) -> Self {
        Self {
            error: true,
            text: text.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::Template;

    #[derive(Template)]
    #[template(
        source = r#"{% import "kit/macros.html" as kit %}{% call kit::csrf(t) %}{% endcall %}|{% call kit::notice(n) %}{% endcall %}"#,
        ext = "html"
    )]
    struct Kit<'a> {
        t: &'a str,
        n: Option<Notice>,
    }

    #[test]
    fn the_kit_escapes_what_it_is_given_and_names_the_csrf_field() {
        let out = Kit {
            t: "a\"b",
            n: Some(Notice::err("<script>")),
        }
        .render()
        .expect("render");
        assert_eq!(
            out,
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"a&quot;b\">|<p class=\"error\" role=\"alert\">&lt;script&gt;</p>",
                csrf::FIELD
            )
        );
        let ok = Kit {
            t: "",
            n: Some(Notice::ok("Saved.")),
        }
        .render()
        .expect("render");
        assert!(
            ok.ends_with("<p class=\"ok\" role=\"status\">Saved.</p>"),
            "{ok}"
        );
    }
}
