//! Issue #8 (rate limits no client can dodge; DNS rebinding) and issue #9
//! item 5 (a way out of a sign-in lockout), against a real `parachute serve`.

// Each test is one user story, told step by step.
#![allow(clippy::many_single_char_names, clippy::too_many_lines)]

use serde_json::json;

use super::oauth::{REDIRECT, Server, approved_tokens, hidden, set_cookies};
use crate::support::hub::{Home, Hub, PASSWORD, Response, run_with_stdin, stderr};

/// One sign-in through `/login`, claiming to come from `xff`.
fn login_from(s: &Server, xff: &str, username: &str, password: &str) -> Response {
    let page = s.send("GET", "/login", &[("X-Forwarded-For", xff)], None);
    assert_eq!(page.status, 200, "{page:?}");
    let cookie = set_cookies(&page)
        .into_iter()
        .map(|(k, v, _)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let fields = hidden(&page.body);
    let mut all: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend([("username", username), ("password", password)]);
    let origin = s.iss();
    s.form(
        "/login",
        &all,
        &[
            ("Cookie", &cookie),
            ("Origin", &origin),
            ("X-Forwarded-For", xff),
        ],
    )
}

/// A hub that believes `X-Forwarded-For` from loopback, as behind a tunnel
/// connector: every rotated hop is a distinct client address.
fn behind_a_proxy() -> Server {
    let home = Home::with_owner();
    let port = crate::support::hub::free_port();
    let mut cmd = home.cmd(&["serve"]);
    cmd.env("PORT", port.to_string())
        .env("PARACHUTE_HUB_ORIGIN", format!("http://127.0.0.1:{port}"))
        .env("PARACHUTE_TRUSTED_PROXIES", "127.0.0.1");
    let hub = Hub::spawn(cmd);
    Server { home, hub, port }
}

#[test]
fn rotating_forwarded_for_does_not_dodge_login_or_registration_limits() {
    let s = Server::start();
    for i in 0..5 {
        let r = login_from(&s, &format!("203.0.113.{i}"), "owner", "wrong guess");
        assert_eq!(r.status, 401, "guess {i}: {r:?}");
    }
    let r = login_from(&s, "203.0.113.99", "owner", "wrong guess");
    assert_eq!(r.status, 429, "a made-up hop is not a new client: {r:?}");

    let mut refused = None;
    for i in 0..40 {
        let xff = format!("198.51.100.{i}");
        let r = s.send(
            "POST",
            "/oauth/register",
            &[("X-Forwarded-For", &xff)],
            Some((
                "application/json",
                &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"})
                    .to_string(),
            )),
        );
        if r.status == 429 {
            refused = Some(i);
            break;
        }
        assert_eq!(r.status, 201, "{r:?}");
    }
    assert_eq!(
        refused,
        Some(30),
        "the 31st registration from one peer is refused"
    );
}

#[test]
fn a_rotating_source_locks_the_account_until_unlock_or_set_password() {
    let s = behind_a_proxy();
    for i in 0..10 {
        let r = login_from(&s, &format!("192.0.2.{i}"), "owner", "wrong guess");
        assert_eq!(r.status, 401, "guess {i} from its own address: {r:?}");
    }
    let r = login_from(&s, "192.0.2.200", "OWNER ", PASSWORD);
    assert_eq!(
        r.status, 429,
        "the right password waits out the lockout: {r:?}"
    );
    assert!(r.body.contains("Too many sign-in attempts"), "{}", r.body);
    // Buckets are keyed on hashes: no typed name is stored.
    let db = parachute::store::Store::open(&s.home.home().join("hub.db")).expect("store");
    let keys: Vec<String> = {
        let c = db.conn().expect("conn");
        let mut st = c.prepare("SELECT key FROM rate_limit_hits").expect("q");
        st.query_map([], |r| r.get(0))
            .expect("q")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| !k.contains("owner")), "{keys:?}");

    let o = s.home.run(&["auth", "unlock", "owner"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("sign-in lockout cleared for `owner`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(login_from(&s, "192.0.2.201", "owner", PASSWORD).status, 303);
    let o = s.home.run(&["auth", "unlock", "owner"]);
    assert!(stderr(&o).contains("was not locked out"), "{}", stderr(&o));
    let o = s.home.run(&["auth", "unlock", "nobody"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("there is no user `nobody`"),
        "{}",
        stderr(&o)
    );

    for i in 0..11 {
        login_from(&s, &format!("192.0.2.{}", 100 + i), "owner", "wrong guess");
    }
    assert_eq!(login_from(&s, "192.0.2.250", "owner", PASSWORD).status, 429);
    let fresh = "an entirely new passphrase";
    let o = run_with_stdin(
        s.home.cmd(&["auth", "set-password", "--password-stdin"]),
        &format!("{fresh}\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("sign-in lockout cleared for `owner`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(login_from(&s, "192.0.2.251", "owner", fresh).status, 303);
}

#[test]
fn mint_token_and_refresh_grants_are_rate_limited() {
    let s = Server::start();
    let op = s.home.operator_token();
    let mut minted = 0;
    let limited = loop {
        let r = s.json(
            "/api/auth/mint-token",
            &json!({"scope": "scribe:transcribe"}),
            Some(&op),
        );
        if r.status != 200 {
            break r;
        }
        minted += 1;
        assert!(minted <= 10, "more than 10 mints in 10 minutes");
    };
    assert_eq!((minted, limited.status), (10, 429), "{limited:?}");
    assert!(limited.header("retry-after").is_some());

    let (id, t) = approved_tokens(&s, &json!({}), "vault:read");
    let mut rt = t["refresh_token"].as_str().expect("rt").to_string();
    let mut refreshed = 0;
    let limited = loop {
        let r = s.form(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("client_id", &id),
            ],
            &[],
        );
        if r.status != 200 {
            break r;
        }
        rt = r.json()["refresh_token"].as_str().expect("rt").to_string();
        refreshed += 1;
        assert!(
            refreshed <= 20,
            "more than 20 refreshes of one family in 10 minutes"
        );
    };
    assert_eq!((refreshed, limited.status), (20, 429), "{limited:?}");
    assert_eq!(limited.json()["error"], "rate_limited");
}

#[test]
fn a_foreign_host_is_misdirected() {
    let s = Server::start();
    for path in ["/health", "/login"] {
        let r = s.send("GET", path, &[("Host", "evil.example")], None);
        assert_eq!(r.status, 421, "{path}: {r:?}");
        assert!(r.body.contains("PARACHUTE_ALLOWED_HOSTS"), "{}", r.body);
        let r = s.send("GET", path, &[("Host", "evil.example:1939")], None);
        assert_eq!(r.status, 421, "{path}: {r:?}");
    }
    for host in [
        format!("127.0.0.1:{}", s.port),
        format!("localhost:{}", s.port),
    ] {
        let r = s.send("GET", "/health", &[("Host", &host)], None);
        assert_eq!(r.status, 200, "{host}: {r:?}");
    }

    let home = Home::with_owner();
    let mut cmd = home.cmd(&["serve"]);
    cmd.env("PORT", "0")
        .env("PARACHUTE_ALLOWED_HOSTS", "hub.lan");
    let hub = Hub::spawn(cmd);
    let r = super::oauth::request(
        hub.addr,
        "GET",
        "/health",
        &[("Host", "hub.lan:1939")],
        None,
    );
    assert_eq!(r.status, 200, "an operator-allowed host: {r:?}");
    let r = super::oauth::request(hub.addr, "GET", "/health", &[("Host", "evil.lan")], None);
    assert_eq!(r.status, 421);
}
