//! Issue #10: a browser that fails to sign in gets a page, not JSON or
//! text — a form the hub cannot read (too large, not a form), a refused
//! CSRF check — each with the status code it always had.

use super::oauth::{Server, encode, hidden};
use crate::support::http::{Request, Response};

/// The cookies and hidden fields of a fresh `/login` form.
fn login_form(s: &Server) -> (String, Vec<(String, String)>) {
    let page = s.get("/login");
    assert_eq!(page.status, 200, "{page:?}");
    (page.cookie_header(), hidden(&page.body))
}

fn post(s: &Server, path: &str, cookie: &str, content_type: &str, body: &str) -> Response {
    Request::post(path)
        .header("Cookie", cookie)
        .origin(&s.iss())
        .body(content_type, body)
        .send(s.hub.addr)
}

fn assert_page(r: &Response, status: u16, heading: &str) {
    assert_eq!(r.status, status, "{r:?}");
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{status}: {ct}: {}", r.body);
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    assert!(
        r.body.contains(&format!("<h1>{heading}</h1>")),
        "{heading}: {}",
        r.body
    );
}

#[test]
fn a_browser_whose_sign_in_fails_gets_a_page_with_the_old_status() {
    let s = Server::start();
    let (cookie, mut fields) = login_form(&s);
    fields.push(("username".into(), "owner".into()));
    fields.push(("password".into(), "x".repeat(100 * 1024)));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let form = "application/x-www-form-urlencoded";

    let r = post(&s, "/login", &cookie, form, &encode(&pairs));
    assert_page(&r, 413, "Form not accepted");

    let r = post(&s, "/login", &cookie, "text/plain", "username=owner");
    assert_page(&r, 415, "Form not accepted");
    let r = post(&s, "/login/2fa", &cookie, "text/plain", "code=123456");
    assert_page(&r, 415, "Form not accepted");
    let r = post(&s, "/account/password", &cookie, "text/plain", "x=y");
    assert_page(&r, 415, "Form not accepted");

    let r = post(
        &s,
        "/login",
        &cookie,
        form,
        "username=owner&password=x&__csrf=forged",
    );
    assert_page(&r, 403, "Sign-in refused");
    let r = post(&s, "/logout", &cookie, form, "__csrf=forged");
    assert_page(&r, 403, "Sign-out refused");
}
