//! Issue 14: the hub in a browser — `/` and the admin pages, over a real
//! hub process (and its real store). Without a session every page sends
//! the browser to sign in; every page refuses framing under a strict CSP;
//! every form needs the CSRF double-submit and the hub's Origin. The
//! service pages run against the harness's real `systemd --user` with a
//! module installed by `parachute install`.

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::two_factor::{Page, Web, now, password_step};
use crate::support::cli::Parachute;
use crate::support::http::Request;
use crate::support::hub::{
    Home, Hub, SET_PASSWORD, free_port, http, serve_with, set_password, wait_for,
};
use crate::support::{module, systemd};
use parachute::store::{self, Store};

const PAGES: &[&str] = &[
    "/admin",
    "/admin/tokens",
    "/admin/clients",
    "/admin/grants",
    "/admin/security",
];

/// Every POST of the admin pages.
const ACTIONS: &[&str] = &[
    "/admin/services/vault/restart",
    "/admin/tokens/revoke",
    "/admin/tokens/mint",
    "/admin/clients/approve",
    "/admin/clients/deny",
    "/admin/clients/revoke",
    "/admin/grants/revoke",
    "/admin/security/sign-out-everywhere",
    "/admin/security/rotate-key",
    "/admin/security/pin",
    "/admin/step-up",
];

const PIN: &str = "424242";

/// Set the owner's step-up PIN on the security page.
pub(super) fn set_pin(web: &mut Web) {
    let r = web.submit(
        "/admin/security",
        "/admin/security/pin",
        &[("new_pin", PIN)],
    );
    assert_eq!(
        (r.status, r.location()),
        (303, "/admin/security?done=pin"),
        "{r:?}"
    );
}

/// `action` with `fields`, through its step-up: refused with the PIN form
/// (403), a wrong PIN refused (401), the right one gives the re-submit
/// form, which goes through; its answer.
pub(super) fn through_step_up(
    web: &mut Web,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Page {
    let r = web.submit(page, action, fields);
    assert_eq!(r.status, 403, "{action} without step-up: {r:?}");
    assert!(r.body.contains("id=\"step-up-pin\""), "{}", r.body);
    let csrf = r.csrf();
    let mut confirm = vec![("__csrf", csrf.as_str()), ("action", action)];
    confirm.extend_from_slice(fields);
    let wrong = [confirm.clone(), vec![("pin", "000000")]].concat();
    let r = web.post("/admin/step-up", &wrong);
    assert_eq!(r.status, 401, "wrong PIN: {r:?}");
    assert!(r.body.contains("incorrect PIN"), "{}", r.body);
    let right = [confirm, vec![("pin", PIN)]].concat();
    let r = web.post("/admin/step-up", &right);
    assert_eq!(r.status, 200, "right PIN: {r:?}");
    let token = super::two_factor::between(&r.body, "name=\"step_up_token\" value=\"", "\"")
        .expect("the re-submit form carries the step-up token");
    let mut again = vec![("__csrf", csrf.as_str()), ("step_up_token", token.as_str())];
    again.extend_from_slice(fields);
    web.post(action, &again)
}

fn signed_in(addr: std::net::SocketAddr) -> Web {
    let mut web = Web::new(addr);
    let r = password_step(&mut web, "/");
    assert_eq!((r.status, r.location()), (303, "/"), "{r:?}");
    web
}

fn store(home: &Path) -> Store {
    Store::open(&home.join("hub.db")).expect("store")
}

/// The page headers every admin page carries.
fn assert_secure(path: &str, r: &Page) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{path}: CSP {csp:?}"
    );
    if csp.contains("script-src") {
        // Only a service page runs a script, the live log view: its own
        // file, nothing inline (issue 14).
        assert!(
            path.starts_with("/admin/services/"),
            "{path}: no scripts: {csp:?}"
        );
        assert!(csp.contains("script-src 'self';"), "{path}: {csp:?}");
        assert!(!csp.contains("unsafe-eval"), "{path}: {csp:?}");
        assert_eq!(
            csp.matches("unsafe-inline").count(),
            1,
            "styles only: {csp:?}"
        );
    }
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
}

#[test]
fn the_landing_page_and_every_admin_page_need_the_owners_session() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut anon = Web::new(hub.addr);
    let r = anon.get("/");
    assert_eq!((r.status, r.location()), (303, "/login"), "{r:?}");
    for path in PAGES.iter().chain(&["/admin/services/vault"]) {
        let r = anon.get(path);
        assert_eq!(r.status, 303, "{path}: {r:?}");
        assert_eq!(r.location(), format!("/login?next={path}"), "{path}");
    }
    // Signing in lands on `/`, which is the admin home.
    let mut web = signed_in(hub.addr);
    let r = web.get("/");
    assert_eq!((r.status, r.location()), (303, "/admin"), "{r:?}");
    for path in PAGES {
        let r = web.get(path);
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_secure(path, &r);
        assert!(r.body.contains("<nav>"), "{path}");
    }
    let r = web.get("/admin");
    assert!(
        r.body.contains(&format!(
            "<td id=\"hub-version\">{}</td>",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<td id=\"hub-store\" class=\"ok\">ok</td>"),
        "{}",
        r.body
    );
    // No init system reachable here: the page says so instead of failing.
    assert!(r.body.contains("id=\"services-error\""), "{}", r.body);
    let r = web.get("/admin/services/nope");
    assert_eq!(r.status, 404, "{r:?}");
    assert_secure("/admin/services/nope", &r);
}

#[test]
fn every_admin_form_needs_csrf_and_the_hubs_origin() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut web = signed_in(hub.addr);
    let csrf = web.get("/admin/security").csrf();
    let keys_before = http(hub.addr, "GET", "/.well-known/jwks.json", None, None).json()["keys"]
        .as_array()
        .map_or(0, Vec::len);
    for action in ACTIONS {
        let r = web.post(action, &[("jti", "x"), ("client_id", "x")]);
        assert_eq!(r.status, 403, "{action} without CSRF: {r:?}");
        assert!(r.body.contains("Request refused"), "{action}: {}", r.body);
    }
    web.origin = Some("http://evil.example".into());
    for action in ACTIONS {
        let r = web.post(action, &[("__csrf", &csrf), ("client_id", "x")]);
        assert_eq!(r.status, 403, "{action} cross-origin: {r:?}");
    }
    web.origin = None;
    let r = web.post("/admin/security/rotate-key", &[("__csrf", &csrf)]);
    assert_eq!(r.status, 403, "no Origin: {r:?}");
    // Nothing happened: still one signing key.
    let keys_after = http(hub.addr, "GET", "/.well-known/jwks.json", None, None).json()["keys"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(keys_after, keys_before);
    // A POST without a session (but with a good CSRF pair) goes to sign in.
    let mut anon = Web::new(hub.addr);
    let csrf = anon.get("/login").csrf();
    let r = anon.post("/admin/security/rotate-key", &[("__csrf", &csrf)]);
    assert_eq!(
        (r.status, r.location()),
        (303, "/login?next=/admin/security")
    );
}

#[test]
fn tokens_are_minted_listed_with_their_origin_and_revoked_from_the_page() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut web = signed_in(hub.addr);
    let r = web.submit(
        "/admin/tokens",
        "/admin/tokens/mint",
        &[
            ("scope", "vault:read"),
            ("scope", "vault:write"),
            ("ttl", "1h"),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_secure("/admin/tokens/mint", &r);
    let token = super::two_factor::between(&r.body, "<pre id=\"minted-token\">", "</pre>")
        .expect("the minted token is on the page");
    let claims = home.validate(&token).expect("a valid hub token");
    assert_eq!(claims.sub, home.owner_id());
    assert_eq!(claims.exp - claims.iat, 3600);
    let jti = claims.jti.clone().expect("jti");
    let list = web.get("/admin/tokens");
    assert!(
        list.body.contains(&format!("id=\"token-{jti}\"")),
        "{}",
        list.body
    );
    assert!(
        list.body.contains("admin page"),
        "origin shown: {}",
        list.body
    );
    assert!(list.body.contains("operator token"), "{}", list.body);

    // Bad input: the page again with the reason, nothing minted.
    for (fields, why) in [
        (&[("ttl", "1h")][..], "Pick at least one scope."),
        (
            &[("scope", "vault:read"), ("ttl", "2y")][..],
            "invalid --ttl",
        ),
        (
            &[("scope", "nope:nothing")][..],
            "is not a scope the hub knows",
        ),
    ] {
        let r = web.submit("/admin/tokens", "/admin/tokens/mint", fields);
        assert_eq!(r.status, 400, "{fields:?}: {r:?}");
        assert!(r.body.contains(why), "{why}: {}", r.body);
        assert!(!r.body.contains("minted-token"));
    }

    // An elevated scope needs step-up; after it the token is minted.
    set_pin(&mut web);
    let r = through_step_up(
        &mut web,
        "/admin/tokens",
        "/admin/tokens/mint",
        &[("scope", "vault:admin"), ("ttl", "1h")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let admin =
        super::two_factor::between(&r.body, "<pre id=\"minted-token\">", "</pre>").expect("minted");
    assert_eq!(home.validate(&admin).expect("valid").scope, "vault:admin");

    let r = web.submit("/admin/tokens", "/admin/tokens/revoke", &[("jti", &jti)]);
    assert_eq!(
        (r.status, r.location()),
        (303, "/admin/tokens?done=revoked")
    );
    let s = store(&home.home());
    assert!(store::tokens::is_revoked(&s.conn().expect("conn"), &jti).expect("q"));
    assert!(
        web.get("/admin/tokens?done=revoked")
            .body
            .contains("Revoked.")
    );
    // The operator token is not revocable here (the CLI needs it).
    let op = home
        .validate(&home.operator_token())
        .expect("op")
        .jti
        .expect("jti");
    let r = web.submit("/admin/tokens", "/admin/tokens/revoke", &[("jti", &op)]);
    assert_eq!(r.status, 404, "{r:?}");
    assert!(!store::tokens::is_revoked(&s.conn().expect("conn"), &op).expect("q"));
}

fn register(hub: &Hub, name: &str) -> String {
    let reg = Request::post("/oauth/register")
        .json(&json!({
            "redirect_uris": [format!("http://127.0.0.1:{}/cb", free_port())],
            "client_name": name,
            "token_endpoint_auth_method": "none",
        }))
        .send(hub.addr);
    assert_eq!(reg.status, 201, "{reg:?}");
    reg.json()["client_id"].as_str().expect("id").to_string()
}

#[test]
fn clients_are_approved_denied_and_removed_and_grants_revoked_from_the_pages() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut web = signed_in(hub.addr);
    let keep = register(&hub, "Keep Me");
    let deny = register(&hub, "Deny Me");
    let page = web.get("/admin/clients");
    assert!(
        page.body.contains("Keep Me") && page.body.contains("Deny Me"),
        "{}",
        page.body
    );

    // Approving is dangerous: without a PIN, the page says to set one.
    let r = web.submit(
        "/admin/clients",
        "/admin/clients/approve",
        &[("client_id", &keep)],
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("id=\"step-up-setup\""), "{}", r.body);
    set_pin(&mut web);
    let r = through_step_up(
        &mut web,
        "/admin/clients",
        "/admin/clients/approve",
        &[("client_id", &keep)],
    );
    assert_eq!(
        (r.status, r.location()),
        (303, "/admin/clients?done=approved")
    );
    let r = web.submit(
        "/admin/clients",
        "/admin/clients/deny",
        &[("client_id", &deny)],
    );
    assert_eq!(
        (r.status, r.location()),
        (303, "/admin/clients?done=removed")
    );
    let s = store(&home.home());
    let conn = s.conn().expect("conn");
    let kept = store::clients::get(&conn, &keep).expect("q").expect("kept");
    assert!(kept.approved());
    assert!(store::clients::get(&conn, &deny).expect("q").is_none());
    let r = through_step_up(
        &mut web,
        "/admin/clients",
        "/admin/clients/approve",
        &[("client_id", &deny)],
    );
    assert_eq!(r.status, 404, "{r:?}");

    // A grant to the approved client, listed and revoked.
    let owner = store::users::owner(&conn).expect("q").expect("owner");
    store::grants::put(&conn, &owner.id, &keep, &["vault:read".to_string()], now()).expect("grant");
    let page = web.get("/admin/grants");
    assert!(
        page.body.contains("Keep Me") && page.body.contains("vault:read"),
        "{}",
        page.body
    );
    let r = web.submit(
        "/admin/grants",
        "/admin/grants/revoke",
        &[("client_id", &keep)],
    );
    assert_eq!(
        (r.status, r.location()),
        (303, "/admin/grants?done=revoked")
    );
    assert!(store::grants::list(&conn).expect("q").is_empty());
    // No grant left, so no form on its page: the CSRF token of another.
    let r = web.submit(
        "/admin/security",
        "/admin/grants/revoke",
        &[("client_id", &keep)],
    );
    assert_eq!(r.status, 404, "{r:?}");

    let r = web.submit(
        "/admin/clients",
        "/admin/clients/revoke",
        &[("client_id", &keep)],
    );
    assert_eq!(
        (r.status, r.location()),
        (303, "/admin/clients?done=removed")
    );
    assert!(store::clients::get(&conn, &keep).expect("q").is_none());
}

#[test]
fn signing_out_everywhere_else_and_rotating_the_key_from_the_security_page() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut here = signed_in(hub.addr);
    let mut elsewhere = signed_in(hub.addr);
    let page = here.get("/admin/security");
    assert!(page.body.contains("in 2 session(s)"), "{}", page.body);
    let r = here.submit(
        "/admin/security",
        "/admin/security/sign-out-everywhere",
        &[],
    );
    assert_eq!(
        (r.status, r.location()),
        (303, "/admin/security?done=signed-out")
    );
    assert_eq!(
        here.get("/admin/security").status,
        200,
        "this session stays"
    );
    let r = elsewhere.get("/admin/security");
    assert_eq!(
        (r.status, r.location()),
        (303, "/login?next=/admin/security")
    );

    let jwks = || http(hub.addr, "GET", "/.well-known/jwks.json", None, None).json();
    let before = jwks()["keys"].as_array().map_or(0, Vec::len);
    set_pin(&mut here);
    assert!(here.get("/admin/security").body.contains("Change the PIN"));
    let r = through_step_up(
        &mut here,
        "/admin/security",
        "/admin/security/rotate-key",
        &[],
    );
    assert_eq!(
        (r.status, r.location()),
        (303, "/admin/security?done=rotated")
    );
    assert_eq!(jwks()["keys"].as_array().map_or(0, Vec::len), before + 1);
    let page = here.get("/admin/security");
    assert!(page.body.contains("retired "), "{}", page.body);
}

/// A module that says it is up (with its PID) (and answers `/health`:
/// [`module::with_ok_server`]).
const MODULE: &str = r#"
import http.server, os, sys
print(f"admin-test module up pid={os.getpid()}", flush=True)
"#;

/// `parachute install` a module named `name` that runs [`MODULE`].
fn install(p: &Parachute, root: &Path, name: &str) {
    let m = json!({
        "paths": [format!("/{name}")],
        "health": "/health",
        "startCmd": ["/usr/bin/python3", "module.py"],
    });
    let dir = module::write(
        root,
        name,
        name,
        &m,
        &[("module.py", &module::with_ok_server(MODULE))],
    );
    module::install(p, &dir, &[]);
}

/// `parachute serve` for `p`'s home on an ephemeral loopback port.
fn serve(p: &Parachute) -> Hub {
    serve_with(p.cmd(&["serve"]), &[("PARACHUTE_BIND_HOST", "127.0.0.1")])
}

/// The text of the element with `id` on a page (`<td id="pid">…</td>`).
fn cell(page: &Page, id: &str) -> String {
    let at = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {}", page.body));
    super::two_factor::between(&page.body[at..], ">", "<").expect("element text")
}

/// Set up a home on the harness's manager with an owner and a running
/// module `name`, and a hub serving it; `None` without systemd.
fn running_module(tmp: &Path, name: &str) -> Option<(Parachute, Hub)> {
    let mgr = systemd::manager()?;
    let p = Parachute::new(mgr, tmp);
    set_password(p.cmd(SET_PASSWORD));
    install(&p, tmp, name);
    let hub = serve(&p);
    Some((p, hub))
}

#[test]
fn a_running_module_is_listed_and_run_from_its_page() {
    let Some(_) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let Some((p, hub)) = running_module(tmp.path(), "admintest") else {
        return;
    };
    let _u = p.uninstall_on_drop("admintest");
    let mut web = signed_in(hub.addr);
    let home = web.get("/admin");
    assert_eq!(home.status, 200, "{home:?}");
    assert!(
        home.body.contains("id=\"service-admintest\""),
        "{}",
        home.body
    );
    assert!(home.body.contains("id=\"service-hub\""), "{}", home.body);
    assert!(!home.body.contains("services-error"), "{}", home.body);

    let path = "/admin/services/admintest";
    let page = web.get(path);
    assert_eq!(page.status, 200, "{page:?}");
    assert_secure(path, &page);
    assert_eq!(cell(&page, "state"), "active (running)");
    assert!(cell(&page, "health").starts_with("ok"), "{}", page.body);
    let pid = cell(&page, "pid");
    assert!(pid.parse::<u32>().is_ok(), "{pid}");
    // The unit as written, and the module's own log line.
    let unit = fs::read_to_string(
        systemd::manager()
            .expect("mgr")
            .unit_dir()
            .join("parachute-admintest.service"),
    )
    .expect("unit file");
    let shown = cell(&page, "unit-text");
    assert!(
        shown.contains("ExecStart=") && unit.contains("ExecStart="),
        "{shown}"
    );
    assert!(
        page.body
            .contains(&format!("admin-test module up pid={pid}")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<section id=\"live-log\" data-service=\"admintest\">")
    );

    let r = web.submit(path, &format!("{path}/restart"), &[]);
    assert_eq!(
        (r.status, r.location()),
        (303, format!("{path}?done=restart").as_str())
    );
    let page = web.get(&format!("{path}?done=restart"));
    assert!(page.body.contains("Restarted."), "{}", page.body);
    assert_eq!(cell(&page, "state"), "active (running)");
    assert_ne!(cell(&page, "pid"), pid, "a restart is a new process");

    let r = web.submit(path, &format!("{path}/stop"), &[]);
    assert_eq!(r.location(), format!("{path}?done=stop"));
    assert_eq!(cell(&web.get(path), "state"), "inactive");
    let r = web.submit(path, &format!("{path}/disable"), &[]);
    assert_eq!(r.location(), format!("{path}?done=disable"));
    assert_eq!(cell(&web.get(path), "enabled"), "disabled");
    let r = web.submit(path, &format!("{path}/enable"), &[]);
    assert_eq!(r.location(), format!("{path}?done=enable"));
    assert_eq!(cell(&web.get(path), "enabled"), "enabled");
    let r = web.submit(path, &format!("{path}/start"), &[]);
    assert_eq!(r.location(), format!("{path}?done=start"));
    wait_for(Duration::from_secs(10), "admintest running", || {
        cell(&web.get(path), "state") == "active (running)"
    });

    // The hub's own page shows it but offers no buttons; its POSTs are refused.
    let hub_page = web.get("/admin/services/hub");
    assert_eq!(hub_page.status, 200, "{hub_page:?}");
    assert!(!hub_page.body.contains("/admin/services/hub/restart"));
    let r = web.submit("/admin/security", "/admin/services/hub/stop", &[]);
    assert_eq!(r.status, 400, "{r:?}");
    let r = web.submit(path, &format!("{path}/explode"), &[]);
    assert_eq!(r.status, 404, "{r:?}");
}
