//! `/account` on a real hub process: TOTP enrollment and disabling through
//! the web, password change (ends other sessions, revokes signed-in tokens),
//! and revoking one's own tokens and grants — every form CSRF-checked.

use super::two_factor::{Web, between, now, password_step, status};
use crate::support::hub::{Home, Hub, PASSWORD, claims};
use parachute::identity::totp;
use parachute::store::{self, Store};

const NEW_PASSWORD: &str = "a much better passphrase";

fn signed_in(hub: &Hub) -> Web {
    let mut web = Web::new(hub.addr);
    let r = password_step(&mut web, "/account");
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.location(), "/account");
    web
}

fn store(home: &Home) -> Store {
    Store::open(&home.home().join("hub.db")).expect("store")
}

/// A registry row as the OAuth token endpoint writes it, for `client`.
fn oauth_token(home: &Home, jti: &str, client: &str) {
    let s = store(home);
    let conn = s.conn().expect("conn");
    let owner = store::users::owner(&conn).expect("q").expect("owner");
    store::tokens::insert(
        &conn,
        &store::tokens::TokenRow {
            jti: jti.into(),
            subject: owner.id.clone(),
            user_id: Some(owner.id),
            client_id: client.into(),
            scopes: "vault:default:read".into(),
            audience: "vault.default".into(),
            created_via: "oauth".into(),
            created_at: now(),
            expires_at: now() + 3600,
            revoked_at: None,
            parent_jti: None,
            label: None,
        },
    )
    .expect("insert token");
}

fn revoked(home: &Home, jti: &str) -> bool {
    let s = store(home);
    let conn = s.conn().expect("conn");
    store::tokens::is_revoked(&conn, jti).expect("q")
}

#[test]
fn account_needs_a_session_and_every_form_needs_csrf() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut anon = Web::new(hub.addr);
    let r = anon.get("/account");
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/login?next=/account");

    let mut web = signed_in(&hub);
    let page = web.get("/account");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    for action in ["/account/password", "/account/2fa/enroll", "/logout"] {
        assert!(
            page.body.contains(&format!("action=\"{action}\"")),
            "{action}"
        );
    }
    // Every form on the page carries the token.
    assert_eq!(
        page.body.matches("<form").count(),
        page.body.matches("name=\"__csrf\"").count()
    );
    let csrf = page.csrf();
    for action in [
        "/account/password",
        "/account/2fa/enroll",
        "/account/2fa/confirm",
        "/account/2fa/disable",
        "/account/tokens/revoke",
        "/account/grants/revoke",
    ] {
        let r = web.post(action, &[("password", PASSWORD)]);
        assert_eq!(r.status, 403, "{action} without a token: {r:?}");
        web.origin = Some("https://evil.example".into());
        let r = web.post(action, &[("__csrf", &csrf), ("password", PASSWORD)]);
        assert_eq!(r.status, 403, "{action} cross-site: {r:?}");
        web.origin = None;
        let r = web.post(action, &[("__csrf", &csrf), ("password", PASSWORD)]);
        assert_eq!(r.status, 403, "{action} with no Origin or Referer: {r:?}");
        web.origin = Some(format!("http://{}", hub.addr));
    }
    assert_eq!(status(&home, "owner")["status"], "off", "nothing changed");
}

#[test]
fn enroll_on_the_web_shows_a_qr_code_then_backup_codes_once_and_disable_needs_the_password() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut web = signed_in(&hub);
    assert!(
        web.get("/account")
            .body
            .contains("id=\"two-factor-status\">Off.")
    );

    let r = web.submit(
        "/account",
        "/account/2fa/enroll",
        &[("enroll_password", "wrong password!")],
    );
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(status(&home, "owner")["status"], "off");

    let r = web.submit(
        "/account",
        "/account/2fa/enroll",
        &[("enroll_password", PASSWORD)],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("<svg") && r.body.contains("</svg>"),
        "inline QR"
    );
    assert!(!r.body.contains("<?xml"));
    let secret_text = between(&r.body, "id=\"totp-secret\">", "<")
        .expect("secret")
        .replace(' ', "");
    let uri = between(
        &r.body,
        "id=\"otpauth-uri\" style=\"word-break:break-all\">",
        "<",
    )
    .expect("uri");
    assert_eq!(
        uri.replace("&amp;", "&"),
        format!("otpauth://totp/Parachute:owner?secret={secret_text}&issuer=Parachute")
    );
    let secret = totp::Secret::from_base32(&secret_text).expect("b32");
    assert_eq!(
        status(&home, "owner")["status"],
        "pending",
        "not on before a code"
    );

    let good = totp::code_at(&secret, now());
    let wrong = if good == "000000" { "000001" } else { "000000" };
    let csrf = r.csrf();
    let r = web.post(
        "/account/2fa/confirm",
        &[("__csrf", &csrf), ("code", wrong)],
    );
    assert_eq!(r.status, 401);
    assert!(
        r.body.contains("id=\"totp-secret\""),
        "the setup page again"
    );
    assert_eq!(status(&home, "owner")["status"], "pending");

    let r = web.post(
        "/account/2fa/confirm",
        &[("__csrf", &csrf), ("code", &good)],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let list = between(&r.body, "<ul id=\"backup-codes\">", "</ul>").expect("codes");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{list}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let st = status(&home, "owner");
    assert_eq!(
        (st["status"].as_str(), st["backup_codes_left"].as_u64()),
        (Some("on"), Some(10))
    );

    // Shown once: the account page only counts them.
    let page = web.get("/account?done=2fa-on");
    assert!(
        page.body.contains("10 of 10 backup codes left"),
        "{}",
        page.body
    );
    assert!(!codes.iter().any(|c| page.body.contains(c.as_str())));
    // Confirming again has nothing to finish.
    let r = web.submit("/account", "/account/2fa/confirm", &[("code", &good)]);
    assert_eq!(r.status, 409);

    // A backup code from the web works at the 2FA step.
    let mut other = Web::new(hub.addr);
    assert_eq!(password_step(&mut other, "/account").status, 303);
    let r = other.submit("/login/2fa", "/login/2fa", &[("code", &codes[9])]);
    assert_eq!(r.status, 303, "{r:?}");

    let r = web.submit(
        "/account",
        "/account/2fa/disable",
        &[("disable_password", PASSWORD)],
    );
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.location(), "/account?done=2fa-off");
    assert_eq!(status(&home, "owner")["status"], "off");
    // Signing in is password-only again.
    let mut third = Web::new(hub.addr);
    let r = password_step(&mut third, "/account");
    assert_eq!(r.location(), "/account");
}

#[test]
fn disabling_with_a_wrong_password_leaves_2fa_on() {
    let home = Home::with_owner();
    super::two_factor::enroll_cli(&home, "owner");
    let hub = Hub::start(&home);
    let mut web = Web::new(hub.addr);
    let r = password_step(&mut web, "/account");
    assert_eq!(r.location(), "/login/2fa");
    let s = store(&home);
    let secret = {
        let conn = s.conn().expect("conn");
        let owner = store::users::owner(&conn).expect("q").expect("owner");
        store::two_factor::totp(&conn, &owner.id)
            .expect("q")
            .expect("row")
            .secret
    };
    let secret = totp::Secret::from_base32(&secret).expect("b32");
    let code = totp::code_for_step(&secret, totp::step_at(now()) + 1);
    let r = web.submit("/login/2fa", "/login/2fa", &[("code", &code)]);
    assert_eq!(r.status, 303);
    let r = web.submit(
        "/account",
        "/account/2fa/disable",
        &[("disable_password", "not it at all")],
    );
    assert_eq!(r.status, 401);
    assert!(r.body.contains("still on"), "{}", r.body);
    assert_eq!(status(&home, "owner")["status"], "on");
    // Enrolling over a live secret is refused.
    let r = web.submit(
        "/account",
        "/account/2fa/enroll",
        &[("enroll_password", PASSWORD)],
    );
    assert_eq!(r.status, 409, "{r:?}");
}

#[test]
fn a_password_change_ends_other_sessions_and_revokes_signed_in_tokens_and_is_rate_limited() {
    let home = Home::with_owner();
    let cli_token = home.mint(&["--scope", "scribe:transcribe"]);
    let cli_jti = claims(&cli_token)["jti"].as_str().expect("jti").to_string();
    oauth_token(&home, "oauth-jti-1", "some-app");
    let hub = Hub::start(&home);
    let mut this_browser = signed_in(&hub);
    let mut other_browser = signed_in(&hub);
    assert_eq!(other_browser.get("/account").status, 200);

    // 1: wrong current password; 2: the new ones differ.
    let r = this_browser.submit(
        "/account",
        "/account/password",
        &[
            ("current_password", "not my password"),
            ("new_password", NEW_PASSWORD),
            ("new_password_again", NEW_PASSWORD),
        ],
    );
    assert_eq!(r.status, 401, "{r:?}");
    let r = this_browser.submit(
        "/account",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("new_password_again", "something else entirely"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(!revoked(&home, "oauth-jti-1"));

    // 3: good.
    let old_session = this_browser.jar.get("parachute_hub_session").cloned();
    let r = this_browser.submit(
        "/account",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("new_password_again", NEW_PASSWORD),
        ],
    );
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.location(), "/account?done=password");
    assert_ne!(
        this_browser.jar.get("parachute_hub_session"),
        old_session.as_ref(),
        "a new session here"
    );
    let page = this_browser.get("/account?done=password");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Password changed"));

    // The other browser is signed out; the OAuth token is revoked; the CLI
    // mint and the operator token are not.
    let r = other_browser.get("/account");
    assert_eq!(r.status, 303);
    assert!(revoked(&home, "oauth-jti-1"));
    assert!(!revoked(&home, &cli_jti));
    assert!(home.validate(&home.operator_token()).is_ok());

    // 4: over seed 001's change-password limit (3 / 5 min per user).
    let r = this_browser.submit(
        "/account",
        "/account/password",
        &[
            ("current_password", NEW_PASSWORD),
            ("new_password", PASSWORD),
            ("new_password_again", PASSWORD),
        ],
    );
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.header("retry-after").is_some());

    // The new password signs in; the old one does not.
    let mut c = Web::new(hub.addr);
    let r = c.submit(
        "/login",
        "/login",
        &[
            ("username", "owner"),
            ("password", NEW_PASSWORD),
            ("next", "/account"),
        ],
    );
    assert_eq!(r.status, 303, "{r:?}");
    let mut d = Web::new(hub.addr);
    let r = d.submit(
        "/login",
        "/login",
        &[
            ("username", "owner"),
            ("password", PASSWORD),
            ("next", "/account"),
        ],
    );
    assert_eq!(r.status, 401);
}

#[test]
fn a_user_revokes_their_own_tokens_and_grants_only() {
    let home = Home::with_owner();
    oauth_token(&home, "mine-1", "app-one");
    oauth_token(&home, "mine-2", "app-two");
    {
        let s = store(&home);
        let conn = s.conn().expect("conn");
        let owner = store::users::owner(&conn).expect("q").expect("owner");
        conn.execute(
            "INSERT INTO clients (client_id, redirect_uris, client_name, registered_at, status)
             VALUES ('app-two', '[\"http://127.0.0.1:9/cb\"]', 'Second App', ?1, 'approved')",
            [now()],
        )
        .expect("client");
        parachute::oauth::consent::record(
            &conn,
            &owner.id,
            "app-two",
            &["vault:default:read".into()],
            now(),
        )
        .expect("grant");
        let bob = store::users::create(&conn, "bob", "$argon2id$x", now()).expect("bob");
        store::tokens::insert(
            &conn,
            &store::tokens::TokenRow {
                jti: "bobs".into(),
                subject: bob.id.clone(),
                user_id: Some(bob.id),
                client_id: "app-one".into(),
                scopes: "vault:default:read".into(),
                audience: "vault.default".into(),
                created_via: "oauth".into(),
                created_at: now(),
                expires_at: now() + 3600,
                revoked_at: None,
                parent_jti: None,
                label: None,
            },
        )
        .expect("bob's token");
    }
    let hub = Hub::start(&home);
    let mut web = signed_in(&hub);
    let page = web.get("/account");
    assert!(page.body.contains("value=\"mine-1\"") && page.body.contains("value=\"mine-2\""));
    assert!(
        !page.body.contains("value=\"bobs\""),
        "only my tokens are listed"
    );
    assert!(page.body.contains("Second App"));

    let r = web.submit("/account", "/account/tokens/revoke", &[("jti", "mine-1")]);
    assert_eq!(r.status, 303, "{r:?}");
    assert!(revoked(&home, "mine-1"));
    let r = web.submit("/account", "/account/tokens/revoke", &[("jti", "bobs")]);
    assert_eq!(r.status, 404, "not mine");
    assert!(!revoked(&home, "bobs"));

    let r = web.submit(
        "/account",
        "/account/grants/revoke",
        &[("client_id", "app-two")],
    );
    assert_eq!(r.status, 303, "{r:?}");
    assert!(
        revoked(&home, "mine-2"),
        "the app's tokens go with the grant"
    );
    let page = web.get("/account?done=grant");
    assert!(!page.body.contains("Second App"));
    assert!(page.body.contains("App access revoked"));
    let r = web.submit(
        "/account",
        "/account/grants/revoke",
        &[("client_id", "app-two")],
    );
    assert_eq!(r.status, 404);
}

/// Issue 9 item 13: the operator token is rotated from the page, never
/// revoked, so the CLI keeps working.
#[test]
fn the_operator_token_is_rotated_from_the_page_not_revoked() {
    let home = Home::with_owner();
    let old = home.operator_token();
    let old_jti = claims(&old)["jti"].as_str().expect("jti").to_string();
    let hub = Hub::start(&home);
    let mut web = signed_in(&hub);

    let page = web.get("/account");
    assert!(
        page.body
            .contains("action=\"/account/tokens/rotate-operator\""),
        "{}",
        page.body
    );
    assert!(page.body.contains(">Rotate</button>"), "{}", page.body);
    assert!(
        !page.body.contains(&format!("value=\"{old_jti}\"")),
        "no revoke form for the operator token: {}",
        page.body
    );

    // A hand-made revoke of it is refused and changes nothing.
    let r = web.submit("/account", "/account/tokens/revoke", &[("jti", &old_jti)]);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body.contains(
            "The operator token is rotated, not revoked (the CLI needs one): use Rotate, or run `parachute auth rotate-operator`."
        ),
        "{}",
        r.body
    );
    assert!(!revoked(&home, &old_jti));

    // The rotation form needs CSRF like every other.
    let r = web.post("/account/tokens/rotate-operator", &[]);
    assert_eq!(r.status, 403);
    assert_eq!(home.operator_token(), old);

    // It mints admin scopes, so it goes through step-up (issue 14).
    super::admin::set_pin(&mut web);
    let r =
        super::admin::through_step_up(&mut web, "/account", "/account/tokens/rotate-operator", &[]);
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.location(), "/account?done=operator");
    let page = web.get("/account?done=operator");
    assert!(
        page.body.contains(
            "Operator token rotated: a new one is in operator.token and the old one is revoked."
        ),
        "{}",
        page.body
    );
    let new = home.operator_token();
    assert_ne!(new, old);
    assert!(revoked(&home, &old_jti), "the old one is dead");
    assert!(home.validate(&new).is_ok(), "the new one validates");
    // The CLI still mints with the file it now holds.
    let minted = home.mint(&["--scope", "scribe:transcribe"]);
    assert!(home.validate(&minted).is_ok());
}
