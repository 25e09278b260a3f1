//! The step-up PIN over HTTP and the CLI (issue 14, seed 004) against a
//! real `parachute serve`: `GET /api/step-up`, `POST /api/step-up`, `POST
//! /api/step-up/pin` for a bearer and for a session (CSRF header and
//! Origin), the shared 5-per-5-minutes bucket with `Retry-After`, tokens
//! bound to the credential that earned them, the guard on the API's
//! elevated mint, and `parachute auth step-up set|status|clear`.

// Each test is one user story, told step by step (as in oauth.rs).
#![allow(clippy::too_many_lines)]

use serde_json::{Value, json};

use super::oauth::{Browser, Server};
use crate::support::http::Request;
use crate::support::hub::{PASSWORD, Response, run_with_stdin, stderr, stdout};

/// A request as `bearer`, with `step_up` in `X-Step-Up-Token`.
pub fn as_bearer(
    s: &Server,
    method: &str,
    path: &str,
    bearer: &str,
    step_up: Option<&str>,
    body: Option<&Value>,
) -> Response {
    Request::new(method, path)
        .bearer(bearer)
        .step_up(step_up)
        .json_opt(body)
        .send(s.hub.addr)
}

/// A request from the browser `b`: its cookies, the hub's `Origin` and
/// the CSRF cookie's value in `X-CSRF-Token`, but for what `omit` names.
fn as_session(
    b: &Browser,
    method: &str,
    path: &str,
    body: Option<&Value>,
    omit: &[&str],
) -> Response {
    session(b, method, path, &b.s.iss())
        .without(omit)
        .json_opt(body)
        .send(b.s.hub.addr)
}

/// `b`'s session request (cookies, CSRF header) sent from `origin`.
fn session(b: &Browser, method: &str, path: &str, origin: &str) -> Request {
    let csrf = b.cookie("parachute_hub_csrf").unwrap_or_default();
    let jar = b.jar.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    Request::new(method, path).session(jar, &csrf, origin)
}

fn signed_in(s: &Server) -> Browser<'_> {
    let mut b = Browser::new(s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    b
}

/// A POST of the admin pages' form `action` from `b`, with its CSRF field.
fn page_post(b: &mut Browser, action: &str, fields: &[(&str, &str)]) -> Response {
    let csrf = b.cookie("parachute_hub_csrf").expect("csrf cookie");
    let mut all = vec![("__csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let origin = b.s.iss();
    b.post(action, &all, Some(&origin))
}

fn error(r: &Response) -> String {
    r.error()
}

/// The status and `reason` of a refusal.
fn reason(r: &Response) -> (u16, Value) {
    (r.status, r.json()["reason"].clone())
}

/// `POST /api/step-up` as `bearer` with `pin`.
fn try_pin(s: &Server, bearer: &str, pin: &str) -> Response {
    as_bearer(
        s,
        "POST",
        "/api/step-up",
        bearer,
        None,
        Some(&json!({"pin": pin})),
    )
}

/// `POST /api/step-up` with `pin` from the browser `b`'s session.
fn session_pin(b: &Browser, pin: &str) -> Response {
    as_session(b, "POST", "/api/step-up", Some(&json!({"pin": pin})), &[])
}

/// `POST /api/auth/mint-token` of `body` as `bearer`, with `step_up`.
fn mint_as(s: &Server, bearer: &str, step_up: Option<&str>, body: &Value) -> Response {
    as_bearer(
        s,
        "POST",
        "/api/auth/mint-token",
        bearer,
        step_up,
        Some(body),
    )
}

/// Step up `bearer` with `pin`; the step-up token.
fn step_up(s: &Server, bearer: &str, pin: &str) -> String {
    let r = try_pin(s, bearer, pin);
    assert_eq!(r.status, 200, "{r:?}");
    r.json()["token"].as_str().expect("token").to_string()
}

/// A step-up token of `bearer` (an elevated token of the owner), setting
/// the owner's PIN first when there is none: for tests of guarded actions.
pub fn stepped_up(s: &Server, bearer: &str) -> String {
    let r = as_bearer(s, "GET", "/api/step-up", bearer, None, None);
    assert_eq!(r.status, 200, "{r:?}");
    if r.json()["configured"] == json!(false) {
        let r = set_pin(s, bearer, &json!({"newPin": "4242"}));
        assert_eq!(r.status, 200, "{r:?}");
    }
    step_up(s, bearer, "4242")
}

/// A hub whose owner has the PIN 4242, and its operator token.
fn pinned() -> (Server, String) {
    let s = Server::start();
    let op = s.home.operator_token();
    assert_eq!(set_pin(&s, &op, &json!({"newPin": "4242"})).status, 200);
    (s, op)
}

fn set_pin(s: &Server, bearer: &str, body: &Value) -> Response {
    as_bearer(s, "POST", "/api/step-up/pin", bearer, None, Some(body))
}

#[test]
fn a_bearer_sets_its_pin_and_trades_it_for_a_step_up_token() {
    let s = Server::start();
    let op = s.home.operator_token();
    let configured = |s: &Server| {
        let r = as_bearer(s, "GET", "/api/step-up", &op, None, None);
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["configured"].clone()
    };
    assert_eq!(configured(&s), json!(false));
    // Nothing to exchange before a PIN is set: 409, not a wrong-PIN 401.
    let r = try_pin(&s, &op, "4242");
    assert_eq!(
        (r.status, error(&r)),
        (409, "step_up_not_configured".into()),
        "{r:?}"
    );
    // Only 4–12 digits.
    for bad in [
        json!("123"),
        json!("1234567890123"),
        json!("12a4"),
        json!(4242),
    ] {
        let r = set_pin(&s, &op, &json!({"newPin": bad}));
        assert_eq!(r.status, 400, "{bad}: {r:?}");
        assert_eq!(
            r.json()["error_description"],
            "body.newPin must be 4–12 digits"
        );
    }
    let r = set_pin(&s, &op, &json!({"newPin": "4242"}));
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"ok": true, "configured": true})),
        "{r:?}"
    );
    assert!(!r.body.contains("4242"), "the PIN is never echoed");
    assert_eq!(configured(&s), json!(true));

    // A body without a PIN is 400; a wrong PIN 401 (without a Bearer
    // challenge: the bearer itself was fine).
    let r = as_bearer(&s, "POST", "/api/step-up", &op, None, Some(&json!({})));
    assert_eq!(r.status, 400, "{r:?}");
    let r = try_pin(&s, &op, "0000");
    assert_eq!((r.status, error(&r)), (401, "invalid_pin".into()), "{r:?}");
    assert_eq!(r.json()["error_description"], "incorrect PIN");
    assert_eq!(r.header("www-authenticate"), None, "{r:?}");

    let r = try_pin(&s, &op, "4242");
    assert_eq!(r.status, 200, "{r:?}");
    let v = r.json();
    assert_eq!(v["token"], v["stepUpToken"], "{v}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let exp = v["expires_at"].as_str().expect("expires_at");
    let exp: jiff::Timestamp = exp.parse().expect("RFC 3339");
    let left = exp.as_second() - parachute::clock::now();
    assert!(
        (240..=300).contains(&left),
        "a 5-minute token, {left}s left"
    );
}

#[test]
fn the_sixth_pin_attempt_is_429_with_retry_after_across_both_doors_and_the_page() {
    let (s, op) = pinned();
    for i in 0..4 {
        let r = try_pin(&s, &op, "0000");
        assert_eq!(r.status, 401, "attempt {i}: {r:?}");
    }
    // The fifth is a rotation with a wrong current PIN: the same bucket.
    let r = set_pin(&s, &op, &json!({"newPin": "9999", "currentPin": "0000"}));
    assert_eq!(r.status, 401, "{r:?}");
    // The sixth is refused before the PIN is looked at, even the right one.
    let r = try_pin(&s, &op, "4242");
    assert_eq!((r.status, error(&r)), (429, "rate_limited".into()), "{r:?}");
    let retry: i64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1..=300).contains(&retry), "{retry}");
    assert_eq!(r.json()["retry_after_seconds"], retry);
    let r = set_pin(&s, &op, &json!({"newPin": "9999", "currentPin": "4242"}));
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some(), "{r:?}");

    // The same user's page shares the bucket and says when to retry.
    let mut b = signed_in(&s);
    let r = page_post(
        &mut b,
        "/admin/security/pin",
        &[("current_pin", "4242"), ("new_pin", "9999")],
    );
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some(), "the page's 429: {r:?}");
    // And so is a session's step-up over the API.
    let r = session_pin(&b, "4242");
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some(), "{r:?}");
}

#[test]
fn rotation_needs_the_current_pin_and_ends_the_old_pins_tokens() {
    let (s, op) = pinned();
    let old = step_up(&s, &op, "4242");
    let r = set_pin(&s, &op, &json!({"newPin": "9999"}));
    assert_eq!((r.status, error(&r)), (401, "invalid_pin".into()), "{r:?}");
    assert_eq!(
        r.json()["error_description"],
        "the current PIN is required to change it"
    );
    let r = set_pin(&s, &op, &json!({"newPin": "9999", "currentPin": "1111"}));
    assert_eq!(r.status, 401, "{r:?}");
    let r = set_pin(&s, &op, &json!({"newPin": "9999", "currentPin": "4242"}));
    assert_eq!(r.status, 200, "{r:?}");
    // The old PIN no longer works, nor what it bought.
    let r = try_pin(&s, &op, "4242");
    assert_eq!(r.status, 401, "{r:?}");
    let mint = json!({"scope": "vault:test:admin"});
    let r = mint_as(&s, &op, Some(&old), &mint);
    assert_eq!(reason(&r), (403, json!("token")), "{r:?}");
    let fresh = step_up(&s, &op, "9999");
    let r = mint_as(&s, &op, Some(&fresh), &mint);
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn an_elevated_mint_over_the_api_needs_step_up_setup_then_token() {
    let s = Server::start();
    let op = s.home.operator_token();
    let mint = |scope: &str, step: Option<&str>| {
        let body = json!({"scope": scope, "expires_in": 3600});
        mint_as(&s, &op, step, &body)
    };
    // An everyday scope needs no step-up.
    assert_eq!(mint("scribe:transcribe", None).status, 200);
    // An elevated one: first "set a PIN", distinct from a 401.
    let r = mint("vault:test:admin", None);
    assert_eq!(r.status, 403, "{r:?}");
    let v = r.json();
    assert_eq!(
        (v["error"].as_str(), v["reason"].as_str()),
        (Some("step_up_required"), Some("setup"))
    );
    assert_eq!(
        v["error_description"],
        "set a step-up PIN before performing this action"
    );
    assert_eq!(set_pin(&s, &op, &json!({"newPin": "4242"})).status, 200);
    // Then "enter your PIN", with none, or a forged one.
    for step in [None, Some("forged")] {
        let r = mint("vault:test:admin", step);
        assert_eq!(reason(&r), (403, json!("token")), "{r:?}");
    }
    let t = step_up(&s, &op, "4242");
    let r = mint("vault:test:admin", Some(&t));
    assert_eq!(r.status, 200, "{r:?}");
    let minted = r.json()["token"].as_str().expect("token").to_string();
    assert_eq!(
        crate::support::hub::claims(&minted)["scope"],
        "vault:test:admin"
    );
    // Reusable within its five minutes.
    let r = mint("vault:test:admin", Some(&t));
    assert_eq!(r.status, 200, "{r:?}");
    // A request the rules refuse anyway is told so first (no PIN asked).
    let r = mint("vault:nope:admin", None);
    assert_eq!(
        (r.status, error(&r)),
        (400, "invalid_scope".into()),
        "{r:?}"
    );
}

#[test]
fn a_step_up_token_is_good_only_for_the_credential_that_earned_it() {
    let (s, op) = pinned();
    let mint = json!({"scope": "vault:test:admin"});
    // Another bearer of the same user (with authority to mint) cannot use
    // the operator token's step-up, and vice versa.
    let other = s
        .home
        .mint(&["--scope", "parachute:host:auth", "--aud", "hub"]);
    let ops = step_up(&s, &op, "4242");
    let r = mint_as(&s, &other, Some(&ops), &mint);
    assert_eq!(reason(&r), (403, json!("token")), "{r:?}");
    let others = step_up(&s, &other, "4242");
    let r = mint_as(&s, &other, Some(&others), &mint);
    assert_eq!(r.status, 200, "{r:?}");

    // A session's step-up (over the API) works on its own pages, not for a
    // bearer; a bearer's does nothing for the session.
    let mut b = signed_in(&s);
    let r = session_pin(&b, "4242");
    assert_eq!(r.status, 200, "{r:?}");
    let sessions = r.json()["token"].as_str().expect("token").to_string();
    let r = mint_as(&s, &op, Some(&sessions), &mint);
    assert_eq!(reason(&r), (403, json!("token")), "{r:?}");
    let r = page_post(
        &mut b,
        "/admin/security/rotate-key",
        &[("step_up_token", &ops)],
    );
    assert_eq!(r.status, 403, "a bearer's step-up on the page: {r:?}");
    let r = page_post(
        &mut b,
        "/admin/security/rotate-key",
        &[("step_up_token", &sessions)],
    );
    assert_eq!(r.status, 303, "{r:?}");
    // Another browser of the same owner has not stepped up.
    let mut b2 = signed_in(&s);
    let r = page_post(
        &mut b2,
        "/admin/security/rotate-key",
        &[("step_up_token", &sessions)],
    );
    assert_eq!(r.status, 403, "another session: {r:?}");
}

#[test]
fn a_session_needs_the_csrf_header_and_the_hubs_origin_and_a_bearer_an_elevated_scope() {
    let s = Server::start();
    let b = signed_in(&s);
    let pin = json!({"newPin": "4242"});
    // Reading needs no CSRF token.
    let r = as_session(&b, "GET", "/api/step-up", None, &["X-CSRF-Token", "Origin"]);
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"configured": false})),
        "{r:?}"
    );
    let r = as_session(
        &b,
        "POST",
        "/api/step-up/pin",
        Some(&pin),
        &["X-CSRF-Token"],
    );
    assert_eq!((r.status, error(&r)), (403, "csrf_failed".into()), "{r:?}");
    let r = as_session(&b, "POST", "/api/step-up/pin", Some(&pin), &["Origin"]);
    assert_eq!((r.status, error(&r)), (403, "csrf_failed".into()), "{r:?}");
    assert!(b.cookie("parachute_hub_csrf").is_some(), "csrf cookie");
    let r = session(&b, "POST", "/api/step-up/pin", "https://evil.example")
        .json(&pin)
        .send(s.hub.addr);
    assert_eq!(r.status, 403, "cross-site: {r:?}");
    let r = as_session(&b, "POST", "/api/step-up/pin", Some(&pin), &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let r = as_session(&b, "GET", "/api/step-up", None, &[]);
    assert_eq!(r.json(), json!({"configured": true}));

    // No credential: 401 with a Bearer challenge; a bearer without an
    // elevated scope may not spend the owner's PIN attempts.
    let r = s.send("GET", "/api/step-up", &[], None);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")),
        "{r:?}"
    );
    let reader = s.home.mint(&["--scope", "vault:test:read"]);
    let r = try_pin(&s, &reader, "4242");
    assert_eq!(
        (r.status, error(&r)),
        (403, "insufficient_scope".into()),
        "{r:?}"
    );
    let r = as_bearer(&s, "GET", "/api/step-up", "not-a-token", None, None);
    assert_eq!(r.status, 401, "{r:?}");
    // A token whose subject is no user of the hub has no PIN to set.
    let robot = s.home.mint(&[
        "--scope",
        "parachute:host:auth",
        "--aud",
        "hub",
        "--sub",
        "robot",
    ]);
    let r = as_bearer(&s, "GET", "/api/step-up", &robot, None, None);
    assert_eq!(r.json(), json!({"configured": false}), "{r:?}");
    let r = set_pin(&s, &robot, &pin);
    assert_eq!((r.status, error(&r)), (403, "not_a_user".into()), "{r:?}");
}

#[test]
fn the_cli_sets_shows_and_clears_the_pin() {
    let s = Server::start();
    let op = s.home.operator_token();
    let status = || {
        let o = s.home.run(&["auth", "step-up", "status", "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<Value>(&o.stdout).expect("json")
    };
    assert_eq!(status()[0]["configured"], json!(false), "{}", status());
    let o = s.home.run(&["auth", "step-up", "status"]);
    assert!(
        stdout(&o).contains("owner") && stdout(&o).contains("not set"),
        "{}",
        stdout(&o)
    );

    // Not a PIN: refused with the rule.
    let o = run_with_stdin(s.home.cmd(&["auth", "step-up", "set"]), "12ab\n");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("4–12 digits"), "{}", stderr(&o));
    let o = run_with_stdin(s.home.cmd(&["auth", "step-up", "set"]), "4242\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("step-up PIN set for `owner`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(status()[0]["configured"], json!(true));
    // The hub sees it at once: the PIN works over the API.
    step_up(&s, &op, "4242");

    // Changing it needs the current PIN (the first line), then the new one.
    let o = run_with_stdin(s.home.cmd(&["auth", "step-up", "set"]), "5555\n9999\n");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("current PIN"), "{}", stderr(&o));
    let o = run_with_stdin(s.home.cmd(&["auth", "step-up", "set"]), "4242\n9999\n");
    assert!(o.status.success(), "{}", stderr(&o));
    step_up(&s, &op, "9999");

    // Clearing it needs the owner's password.
    let o = run_with_stdin(
        s.home
            .cmd(&["auth", "step-up", "clear", "--password-stdin"]),
        "not the password\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("password"), "{}", stderr(&o));
    assert_eq!(status()[0]["configured"], json!(true));
    let o = run_with_stdin(
        s.home
            .cmd(&["auth", "step-up", "clear", "--password-stdin"]),
        &format!("{PASSWORD}\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("cleared"), "{}", stderr(&o));
    assert_eq!(status()[0]["configured"], json!(false));
    let r = try_pin(&s, &op, "9999");
    assert_eq!(r.status, 409, "{r:?}");
}

/// `parachute ARGS` on a terminal (a pty from util-linux `script`), typing
/// `input`.
fn on_a_terminal(s: &Server, args: &str, input: &str) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_parachute");
    let cmd = s.home.wrap(
        std::path::Path::new("script"),
        &["-qec", &format!("{bin} {args}"), "/dev/null"],
    );
    run_with_stdin(cmd, input)
}

#[test]
fn on_a_terminal_set_asks_for_the_new_pin_twice_and_the_current_one_first() {
    let s = Server::start();
    let op = s.home.operator_token();
    let o = on_a_terminal(&s, "auth step-up set", "4242\n4343\n");
    let text = stdout(&o);
    assert!(text.contains("Repeat it:"), "{text}");
    assert!(text.contains("the two PINs differ"), "{text}");
    assert_eq!(o.status.code(), Some(1), "{text}");
    let r = as_bearer(&s, "GET", "/api/step-up", &op, None, None);
    assert_eq!(r.json()["configured"], json!(false), "nothing was set");
    let o = on_a_terminal(&s, "auth step-up set", "4242\n4242\n");
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(!stdout(&o).contains("Current PIN"), "{}", stdout(&o));
    let o = on_a_terminal(&s, "auth step-up set", "4242\n9999\n9999\n");
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("Current PIN:"), "{}", stdout(&o));
    assert!(stdout(&o).contains("step-up PIN changed"), "{}", stdout(&o));
    step_up(&s, &op, "9999");
}
