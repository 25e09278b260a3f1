//! The OAuth 2.1 authorization server against a real `parachute serve`
//! (issue #4): discovery, registration, login, consent, codes, refresh,
//! revocation, mint/revoke under capability attenuation, rate limits that
//! survive a restart, and the owner's CLI.

// Each test is one user story, told step by step.
#![allow(clippy::many_single_char_names, clippy::too_many_lines)]

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::http::Request;
use crate::support::hub::{Home, Hub, PASSWORD, Response, free_port, stderr};

pub const VAULT_ROWS: &str = r#"{"services":[{"name":"parachute-vault","port":1940,"paths":["/vault/test"],"health":"/vault/test/health","version":"0.9.0"}]}"#;
pub const REDIRECT: &str = "http://127.0.0.1:1/cb";
/// RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A hub whose issuer is its own loopback origin, with the vault `test`.
pub struct Server {
    pub home: Home,
    pub hub: Hub,
    pub port: u16,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// As [`Self::start`], with extra environment for `parachute serve`.
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let home = Home::with_owner();
        std::fs::write(home.home().join("services.json"), VAULT_ROWS).expect("services.json");
        let port = free_port();
        let hub = Self::spawn(&home, port, env);
        Self { home, hub, port }
    }

    fn spawn(home: &Home, port: u16, env: &[(&str, &str)]) -> Hub {
        let mut cmd = home.cmd(&["serve"]);
        cmd.env("PORT", port.to_string())
            .env("PARACHUTE_HUB_ORIGIN", format!("http://127.0.0.1:{port}"))
            .envs(env.iter().copied());
        Hub::spawn(cmd)
    }

    pub fn restart(&mut self) {
        self.hub.terminate();
        self.hub = Self::spawn(&self.home, self.port, &[]);
    }

    pub fn iss(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> Response {
        request(self.hub.addr, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], None)
    }

    pub fn json(&self, path: &str, body: &Value, bearer: Option<&str>) -> Response {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut h = Vec::new();
        if let Some(a) = &auth {
            h.push(("Authorization", a.as_str()));
        }
        self.send(
            "POST",
            path,
            &h,
            Some(("application/json", &body.to_string())),
        )
    }

    pub fn form(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        self.send(
            "POST",
            path,
            headers,
            Some(("application/x-www-form-urlencoded", &encode(fields))),
        )
    }

    /// Register a public client; its id.
    pub fn register(&self, extra: &Value) -> Value {
        let mut body = json!({"client_name": "test", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self.json("/oauth/register", &body, None);
        assert_eq!(r.status, 201, "{r:?}");
        r.json()
    }
}

/// One HTTP/1.1 request with arbitrary headers and body (a `Host` among
/// `headers` replaces the default one).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Response {
    let r = Request::new(method, path).headers(headers);
    match body {
        Some((ct, text)) => r.body(ct, text),
        None => r,
    }
    .send(addr)
}

pub fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn unpct(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

/// Every `Set-Cookie` of a response, as `(name, value, attributes)`.
pub fn set_cookies(r: &Response) -> Vec<(String, String, String)> {
    r.headers
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("set-cookie")
                .then(|| v.trim().to_string())
        })
        .map(|c| {
            let (pair, attrs) = c.split_once(';').unwrap_or((&c, ""));
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (n.to_string(), v.to_string(), attrs.trim().to_string())
        })
        .collect()
}

/// Hidden form fields of a page.
pub fn hidden(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"")?;
            let (value, _) = rest.split_once('"')?;
            let value = value
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            Some((name.to_string(), value))
        })
        .collect()
}

/// What a browser submits of a page's form untouched: its hidden fields
/// and its ticked checkboxes (the consent page's scopes).
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut out = hidden(html);
    for rest in html.split("<input type=\"checkbox\" name=\"").skip(1) {
        let Some((name, rest)) = rest.split_once("\" value=\"") else {
            continue;
        };
        let Some((value, rest)) = rest.split_once('"') else {
            continue;
        };
        if rest
            .split('>')
            .next()
            .is_some_and(|a| a.contains("checked"))
        {
            out.push((name.to_string(), value.replace("&amp;", "&")));
        }
    }
    out
}

/// Query parameters of a URL.
pub fn query(url: &str) -> Vec<(String, String)> {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (unpct(k), unpct(v)))
        .collect()
}

pub fn param(url: &str, key: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// A browser: a cookie jar and the hub's Origin on every POST.
pub struct Browser<'a> {
    pub s: &'a Server,
    pub jar: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    pub fn new(s: &'a Server) -> Self {
        Self { s, jar: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &Response) {
        for (n, v, _) in set_cookies(r) {
            self.jar.retain(|(k, _)| *k != n);
            if !v.is_empty() {
                self.jar.push((n, v));
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn get(&mut self, path: &str) -> Response {
        let c = self.cookie_header();
        let r = self.s.send("GET", path, &[("Cookie", &c)], None);
        self.keep(&r);
        r
    }

    pub fn post(&mut self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Response {
        let c = self.cookie_header();
        let mut h = vec![("Cookie", c.as_str())];
        if let Some(o) = origin {
            h.push(("Origin", o));
        }
        let r = self.s.form(path, fields, &h);
        self.keep(&r);
        r
    }

    /// Submit the page's form with its hidden fields plus `extra`.
    pub fn submit(&mut self, page: &Response, action: &str, extra: &[(&str, &str)]) -> Response {
        let fields = form_fields(&page.body);
        let mut all: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        all.extend_from_slice(extra);
        let origin = self.s.iss();
        self.post(action, &all, Some(&origin))
    }

    pub fn login(&mut self, username: &str, password: &str) -> Response {
        let page = self.get("/login");
        assert_eq!(page.status, 200, "{page:?}");
        self.submit(
            &page,
            "/login",
            &[("username", username), ("password", password)],
        )
    }
}

/// The authorize path for a public client with the test PKCE pair.
pub fn authorize_path(s: &Server, client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let res = format!("{}/vault/test/mcp", s.iss());
    let mut p = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st8"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("resource", res.as_str()),
    ];
    p.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    p.extend_from_slice(extra);
    format!("/oauth/authorize?{}", encode(&p))
}

pub fn exchange(s: &Server, client_id: &str, code: &str, verifier: &str) -> Response {
    let res = format!("{}/vault/test/mcp", s.iss());
    exchange_for(s, client_id, code, verifier, &res)
}

/// [`exchange`] for `res` (`""`: no RFC 8707 resource).
pub fn exchange_for(
    s: &Server,
    client_id: &str,
    code: &str,
    verifier: &str,
    res: &str,
) -> Response {
    s.form(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("resource", res),
        ],
        &[],
    )
}

/// A public client registered with `registration` and approved by the
/// operator, and the token pair the owner's consent to `scope` gives it.
pub fn approved_tokens(s: &Server, registration: &Value, scope: &str) -> (String, Value) {
    let res = format!("{}/vault/test/mcp", s.iss());
    approved_tokens_for(s, registration, scope, &res)
}

/// [`approved_tokens`] for the RFC 8707 resource `res` (`""`: none, a token
/// for the hub's own APIs).
pub fn approved_tokens_for(
    s: &Server,
    registration: &Value,
    scope: &str,
    res: &str,
) -> (String, Value) {
    let c = s.register(registration);
    let id = c["client_id"].as_str().expect("id").to_string();
    assert!(
        s.home
            .run(&["auth", "approve-client", &id])
            .status
            .success()
    );
    let mut b = Browser::new(s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    let page = b.get(&authorize_path(s, &id, scope, &[("resource", res)]));
    let r = b.submit(&page, "/oauth/authorize", &[("decision", "approve")]);
    let code = param(r.header("location").expect("location"), "code").expect("code");
    let t = exchange_for(s, &id, &code, VERIFIER, res);
    assert_eq!(t.status, 200, "{t:?}");
    (id, t.json())
}

fn introspect(s: &Server, token: &str) -> Value {
    let op = format!("Bearer {}", s.home.operator_token());
    let r = s.form(
        "/oauth/introspect",
        &[("token", token)],
        &[("Authorization", &op)],
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

#[test]
fn discovery_documents_and_the_bearer_challenge() {
    let s = Server::start();
    let iss = s.iss();
    let m = s.get("/.well-known/oauth-authorization-server");
    assert_eq!(m.status, 200);
    assert_eq!(m.header("access-control-allow-origin"), Some("*"));
    let m = m.json();
    assert_eq!(m["issuer"], iss);
    assert_eq!(
        m["authorization_endpoint"],
        format!("{iss}/oauth/authorize")
    );
    assert_eq!(m["token_endpoint"], format!("{iss}/oauth/token"));
    assert_eq!(m["registration_endpoint"], format!("{iss}/oauth/register"));
    assert_eq!(m["revocation_endpoint"], format!("{iss}/oauth/revoke"));
    assert_eq!(
        m["introspection_endpoint"],
        format!("{iss}/oauth/introspect")
    );
    assert_eq!(m["response_types_supported"], json!(["code"]));
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        m["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    let scopes = m["scopes_supported"].as_array().expect("scopes");
    assert!(scopes.contains(&json!("vault:read")));
    assert!(
        !scopes.contains(&json!("scribe:transcribe")),
        "scribe is not installed"
    );
    assert!(
        !scopes.contains(&json!("hub:admin")),
        "admin scopes are not advertised"
    );

    // Optional-module scopes appear once the module registers.
    std::fs::write(
        s.home.home().join("services.json"),
        VAULT_ROWS.replace("]}", r#",{"name":"parachute-scribe","port":1943,"paths":["/scribe"],"health":"/scribe/health","version":"0.2.0"}]}"#),
    )
    .expect("write");
    let m = s.get("/.well-known/oauth-authorization-server").json();
    assert!(
        m["scopes_supported"]
            .as_array()
            .expect("scopes")
            .contains(&json!("scribe:transcribe"))
    );

    for path in [
        "/vault/test/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/vault/test/mcp",
    ] {
        let prm = s.get(path);
        assert_eq!(prm.status, 200, "{path}");
        let prm = prm.json();
        assert_eq!(prm["resource"], format!("{iss}/vault/test/mcp"));
        assert_eq!(prm["authorization_servers"], json!([iss]));
    }
    assert_eq!(
        s.get("/vault/nope/.well-known/oauth-protected-resource")
            .status,
        404
    );
    assert_eq!(
        s.get("/.well-known/oauth-protected-resource").json()["resource"],
        iss
    );

    let r = s.get("/api/auth/tokens");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            format!(
                "Bearer resource_metadata=\"{iss}/.well-known/oauth-protected-resource\", scope=\"parachute:host:auth\""
            )
            .as_str()
        )
    );
}

#[test]
fn registration_validates_echoes_and_is_rate_limited() {
    let s = Server::start();
    let bad = |body: Value| {
        let r = s.json("/oauth/register", &body, None);
        assert_eq!(r.status, 400, "{body}: {r:?}");
        r.json()["error"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(bad(json!({"client_name": "x"})), "invalid_redirect_uri");
    assert_eq!(
        bad(json!({"redirect_uris": ["https://a.example/cb#frag"]})),
        "invalid_redirect_uri"
    );
    assert_eq!(
        bad(json!({"redirect_uris": ["javascript:alert(1)"]})),
        "invalid_redirect_uri"
    );
    assert_eq!(
        bad(json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"})),
        "invalid_client_metadata"
    );
    assert_eq!(
        bad(json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]})),
        "invalid_client_metadata"
    );

    let c = s.register(&json!({"scope": "vault:read"}));
    assert_eq!(c["redirect_uris"], json!([REDIRECT]));
    assert_eq!(c["token_endpoint_auth_method"], "none");
    assert_eq!(c["status"], "pending");
    assert!(
        c.get("client_secret").is_none(),
        "public clients get no secret"
    );
    let conf = s.register(&json!({"token_endpoint_auth_method": "client_secret_post"}));
    assert_eq!(conf["client_secret"].as_str().map(str::len), Some(43));

    // The operator's bearer (hub:admin) registers an approved client.
    let op = s.home.operator_token();
    let r = s.json(
        "/oauth/register",
        &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        Some(&op),
    );
    assert_eq!(r.json()["status"], "approved");

    // The CLI lists pending registrations; none holds a secret in the clear.
    let o = s.home.run(&["auth", "pending-clients", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pending: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(pending.as_array().map(Vec::len), Some(2), "{pending}");
    let secret = conf["client_secret"].as_str().expect("secret");
    let db = std::fs::read(s.home.home().join("hub.db")).expect("db");
    assert!(
        !String::from_utf8_lossy(&db).contains(secret),
        "secrets are stored hashed"
    );

    // Per-IP limit: 30 registrations per 10 minutes, refused ones included.
    let mut last = None;
    for _ in 0..40 {
        let r = s.json(
            "/oauth/register",
            &json!({"redirect_uris": [REDIRECT]}),
            None,
        );
        if r.status == 429 {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("registration is rate-limited");
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0))
    );
    assert_eq!(r.json()["error"], "rate_limited");
}

#[test]
fn authorize_login_consent_token_and_code_reuse() {
    let s = Server::start();
    let iss = s.iss();
    let c = s.register(&json!({}));
    let id = c["client_id"].as_str().expect("id");

    // Client and redirect URI problems are pages, never redirects.
    let r = s.get(&authorize_path(&s, "no-such-client", "vault:read", &[]));
    assert_eq!((r.status, r.header("location")), (400, None));
    let r = s.get(&authorize_path(
        &s,
        id,
        "vault:read",
        &[("redirect_uri", "http://127.0.0.1:1/other")],
    ));
    assert_eq!((r.status, r.header("location")), (400, None));
    // Everything else redirects back with the RFC 6749 error, state and iss.
    let r = s.get(&authorize_path(
        &s,
        id,
        "vault:read",
        &[("code_challenge_method", "plain")],
    ));
    assert_eq!(r.status, 303);
    let loc = r.header("location").expect("location");
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(param(loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(loc, "state").as_deref(), Some("st8"));
    assert_eq!(param(loc, "iss"), Some(iss.clone()));
    let r = s.get(&authorize_path(&s, id, "hub:admin", &[]));
    assert_eq!(
        param(r.header("location").expect("loc"), "error").as_deref(),
        Some("invalid_scope")
    );
    let r = s.get(&authorize_path(
        &s,
        id,
        "vault:read",
        &[("resource", "https://evil.example/vault/test/mcp")],
    ));
    assert_eq!(
        param(r.header("location").expect("loc"), "error").as_deref(),
        Some("invalid_target")
    );

    // No session: to /login and back.
    let mut b = Browser::new(&s);
    let path = authorize_path(&s, id, "vault:read", &[]);
    let r = b.get(&path);
    assert_eq!(r.status, 303);
    let login = r.header("location").expect("login").to_string();
    assert!(login.starts_with("/login?next="), "{login}");
    assert_eq!(param(&login, "next").as_deref(), Some(path.as_str()));

    // The login form: CSRF and Origin are enforced, wrong passwords refused.
    let page = b.get(&login);
    assert_eq!(page.status, 200);
    let (_, _, attrs) = set_cookies(&page)
        .into_iter()
        .find(|(n, _, _)| n == "parachute_hub_csrf")
        .expect("csrf cookie");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax") && !attrs.contains("Secure"),
        "{attrs}"
    );
    let r = b.submit(
        &page,
        "/login",
        &[
            ("username", "owner"),
            ("password", PASSWORD),
            ("__csrf", "forged"),
        ],
    );
    assert_eq!(r.status, 403, "a forged CSRF token");
    let mut fields = hidden(&page.body);
    fields.extend([
        ("username".into(), "owner".into()),
        ("password".into(), PASSWORD.into()),
    ]);
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(b.post("/login", &f, None).status, 403, "no Origin");
    assert_eq!(
        b.post("/login", &f, Some("https://evil.example")).status,
        403,
        "cross-origin"
    );
    let r = b.submit(
        &page,
        "/login",
        &[("username", "owner"), ("password", "wrong password")],
    );
    assert_eq!(r.status, 401);
    assert!(b.cookie("parachute_hub_session").is_none());
    // A planted session id does not survive login (rotation).
    b.jar
        .push(("parachute_hub_session".into(), "planted".into()));
    let r = b.submit(
        &page,
        "/login",
        &[("username", "owner"), ("password", PASSWORD)],
    );
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.header("location"), Some(path.as_str()));
    let (_, sid, attrs) = set_cookies(&r)
        .into_iter()
        .find(|(n, _, _)| n == "parachute_hub_session")
        .expect("session");
    assert_ne!(sid, "planted");
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax"),
        "{attrs}"
    );

    // Consent: each scope with its explanation and risk; the new client
    // is approved by its owner here.
    let consent = b.get(&path);
    assert_eq!(consent.status, 200, "{consent:?}");
    assert!(
        consent.body.contains("vault:test:read") && consent.body.contains("low risk"),
        "{}",
        consent.body
    );
    assert!(consent.body.contains("This app is new"));
    assert!(
        consent
            .body
            .contains("limited to the vault <strong>test</strong>")
    );
    let fields = form_fields(&consent.body);
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("decision", "approve")])
        .collect();
    assert_eq!(
        b.post("/oauth/authorize", &f, Some("https://evil.example"))
            .status,
        403
    );
    let r = b.submit(&consent, "/oauth/authorize", &[("decision", "approve")]);
    assert_eq!(r.status, 303, "{r:?}");
    let cb = r.header("location").expect("callback").to_string();
    assert_eq!(param(&cb, "state").as_deref(), Some("st8"));
    assert_eq!(param(&cb, "iss"), Some(iss.clone()));
    let code = param(&cb, "code").expect("code");

    // The code: verifier checked, then single use; reuse revokes its tokens.
    let r = exchange(
        &s,
        id,
        &code,
        "wrong-verifier-wrong-verifier-wrong-verifier-x",
    );
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_grant"))
    );
    let r = exchange(&s, id, &code, VERIFIER);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    assert_eq!(t["scope"], "vault:test:read");
    let access = t["access_token"].as_str().expect("access").to_string();
    let claims = crate::support::hub::claims(&access);
    assert_eq!(claims["aud"], "vault.test");
    assert_eq!(claims["iss"], iss);
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        900
    );
    assert_eq!(introspect(&s, &access)["active"], true);
    let r = exchange(&s, id, &code, VERIFIER);
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_grant"))
    );
    assert_eq!(
        introspect(&s, &access)["active"],
        false,
        "code reuse revoked what it issued"
    );
    let refresh = t["refresh_token"].as_str().expect("refresh");
    let r = s.form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", id),
        ],
        &[],
    );
    assert_eq!(r.json()["error"], "invalid_grant");

    // A covered non-admin request skips consent; an admin one never does.
    let r = b.get(&path);
    assert_eq!(r.status, 303, "skipped consent");
    assert!(param(r.header("location").expect("loc"), "code").is_some());
    let oidc = authorize_path(&s, id, "vault:read offline_access openid", &[]);
    assert_eq!(
        b.get(&oidc).status,
        303,
        "offline_access and openid are ignored"
    );
    let forced = authorize_path(&s, id, "vault:read", &[("prompt", "consent")]);
    assert_eq!(b.get(&forced).status, 200, "prompt=consent always asks");
    let silent = authorize_path(&s, id, "vault:read", &[("prompt", "none")]);
    let r = Browser::new(&s).get(&silent);
    assert_eq!(
        param(r.header("location").expect("loc"), "error").as_deref(),
        Some("login_required"),
        "prompt=none never shows the login page"
    );
    let admin = authorize_path(&s, id, "vault:admin", &[]);
    let page = b.get(&admin);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("elevated risk"));
    b.submit(&page, "/oauth/authorize", &[("decision", "approve")]);
    assert_eq!(b.get(&admin).status, 200, "admin scopes always ask");
    // Deny → access_denied.
    let page = b.get(&admin);
    let r = b.submit(&page, "/oauth/authorize", &[("decision", "deny")]);
    assert_eq!(
        param(r.header("location").expect("loc"), "error").as_deref(),
        Some("access_denied")
    );

    // The owner's CLI: grants, withdrawal, removal.
    let o = s.home.run(&["auth", "list-grants", "--json"]);
    let grants: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(grants[0]["client_id"], id);
    assert_eq!(grants[0]["scopes"], "vault:test:read vault:test:admin");
    let o = s.home.run(&["auth", "revoke-grant", id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(b.get(&path).status, 200, "consent is asked again");
    let o = s.home.run(&["auth", "revoke-client", id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(b.get(&path).status, 400, "the client is gone");
    let o = s.home.run(&["auth", "approve-client", id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("parachute auth pending-clients"),
        "{}",
        stderr(&o)
    );

    // Logout ends the session.
    let page = b.get("/login");
    assert_eq!(page.status, 303, "signed in: /login moves on");
    let csrf = b.cookie("parachute_hub_csrf").expect("csrf");
    let r = b.post("/logout", &[("__csrf", &csrf)], Some(&iss));
    assert_eq!(r.header("location"), Some("/login"));
    assert!(b.cookie("parachute_hub_session").is_none());
    assert_eq!(b.get("/login").status, 200, "signed out");
}

#[test]
fn refresh_rotation_grace_and_family_revocation() {
    let s = Server::start();
    let c = s.register(&json!({}));
    let id = c["client_id"].as_str().expect("id").to_string();
    assert!(
        s.home
            .run(&["auth", "approve-client", &id])
            .status
            .success()
    );
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    let path = authorize_path(&s, &id, "vault:read vault:write", &[]);
    let page = b.get(&path);
    let r = b.submit(&page, "/oauth/authorize", &[("decision", "approve")]);
    let code = param(r.header("location").expect("loc"), "code").expect("code");
    let t = exchange(&s, &id, &code, VERIFIER).json();
    let refresh = |rt: &str, extra: &[(&str, &str)]| {
        let mut f = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", id.as_str()),
        ];
        f.extend_from_slice(extra);
        s.form("/oauth/token", &f, &[])
    };
    let r1 = t["refresh_token"].as_str().expect("r1").to_string();
    let t2 = refresh(&r1, &[]).json();
    let r2 = t2["refresh_token"].as_str().expect("r2").to_string();
    assert_ne!(r1, r2);
    // Resource must stay within the grant; scope may only narrow.
    let other = format!("{}/vault/other/mcp", s.iss());
    assert_eq!(
        refresh(&r2, &[("resource", &other)]).json()["error"],
        "invalid_target"
    );
    assert_eq!(
        refresh(&r2, &[("scope", "vault:admin")]).json()["error"],
        "invalid_scope"
    );
    // The immediately previous token, within the grace: rotates the tip.
    let t3 = refresh(&r1, &[]);
    assert_eq!(
        t3.status, 200,
        "grace for the immediately previous token: {t3:?}"
    );
    let t3 = t3.json();
    let r3 = t3["refresh_token"].as_str().expect("r3").to_string();
    assert_eq!(
        refresh(&r3, &[("scope", "vault:read")]).json()["scope"],
        "vault:test:read"
    );
    // After the grace, reuse revokes the whole family.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(refresh(&r1, &[]).json()["error"], "invalid_grant");
    for tok in [&t["access_token"], &t2["access_token"], &t3["access_token"]] {
        assert_eq!(introspect(&s, tok.as_str().expect("at"))["active"], false);
    }
    // Another client cannot use the token.
    let stranger = s.register(&json!({}));
    let sid = stranger["client_id"].as_str().expect("id");
    assert!(
        s.home
            .run(&["auth", "approve-client", sid])
            .status
            .success()
    );
    let r = s.form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r3),
            ("client_id", sid),
        ],
        &[],
    );
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = s.form(
        "/oauth/token",
        &[("grant_type", "password"), ("client_id", sid)],
        &[],
    );
    assert_eq!(r.json()["error"], "unsupported_grant_type");
}

#[test]
fn login_limits_hold_per_ip_and_username_across_a_restart() {
    let mut s = Server::start();
    let mut b = Browser::new(&s);
    for _ in 0..5 {
        assert_eq!(b.login("owner", "not the password").status, 401);
    }
    let r = b.login("owner", PASSWORD);
    assert_eq!(r.status, 429, "the sixth attempt in the window");
    assert!(r.header("retry-after").is_some());
    assert!(r.body.contains("Too many sign-in attempts"));
    // Another username from the same IP is its own floor.
    assert_eq!(b.login("someone", "x").status, 401);
    // The hub exits when idle; the window must survive it.
    s.restart();
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", PASSWORD).status, 429);
}

#[test]
fn signing_in_often_with_the_right_password_is_not_rate_limited() {
    let s = Server::start();
    for i in 0..8 {
        let mut b = Browser::new(&s);
        let r = b.login("owner", PASSWORD);
        assert_eq!(r.status, 303, "sign-in {i}: {r:?}");
    }
    // A wrong guess after that still counts from a fresh window.
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", "not the password").status, 401);
}

#[test]
fn mint_and_revoke_under_capability_attenuation() {
    let s = Server::start();
    let op = s.home.operator_token();
    let mint = |bearer: &str, body: Value| s.json("/api/auth/mint-token", &body, Some(bearer));
    // Rule 1: host:auth mints a named vault admin (the vault exists); an
    // elevated scope, so after a step-up (issue 14).
    let step = super::step_up::stepped_up(&s, &op);
    let r = super::step_up::as_bearer(
        &s,
        "POST",
        "/api/auth/mint-token",
        &op,
        Some(&step),
        Some(&json!({"scope": "vault:test:admin", "expires_in": 3600})),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let vault_admin = r.json()["token"].as_str().expect("token").to_string();
    assert_eq!(
        crate::support::hub::claims(&vault_admin)["aud"],
        "vault.test"
    );
    let shaped = |body: Value| {
        mint(&op, body).json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        shaped(json!({"scope": "vault:test:ADMIN"})),
        "invalid_scope"
    );
    assert_eq!(shaped(json!({"scope": "vault::admin"})), "invalid_scope");
    assert_eq!(
        shaped(json!({"scope": "vault:test:read:admin"})),
        "invalid_scope"
    );
    assert_eq!(shaped(json!({"scope": "vault:admin"})), "invalid_scope");
    assert_eq!(
        shaped(json!({"scope": "vault:nope:admin"})),
        "invalid_scope"
    );
    assert_eq!(shaped(json!({"scope": "hub:admin"})), "insufficient_scope");
    // Rule 3: a vault admin mints same-vault subsets only.
    let r = mint(&vault_admin, json!({"scope": "vault:test:read"}));
    assert_eq!(r.status, 200, "{r:?}");
    let reader = r.json();
    for scope in [
        "vault:other:read",
        "parachute:host:auth",
        "scribe:transcribe",
    ] {
        let r = mint(&vault_admin, json!({"scope": scope}));
        assert_eq!(r.status, 403, "{scope}: {r:?}");
    }
    assert_eq!(
        mint(
            &vault_admin,
            json!({"scope": "vault:test:read", "subject": "x"})
        )
        .status,
        403,
        "subject is the operator's"
    );
    // No authority at all.
    let r = mint(
        reader["token"].as_str().expect("t"),
        json!({"scope": "vault:test:read"}),
    );
    assert_eq!(r.status, 403);
    // Revoke what you could mint, and nothing else.
    let scribe = mint(&op, json!({"scope": "scribe:transcribe"})).json();
    let revoke = |bearer: &str, jti: &Value| {
        s.json("/api/auth/revoke-token", &json!({"jti": jti}), Some(bearer))
    };
    assert_eq!(revoke(&vault_admin, &scribe["jti"]).status, 403);
    let r = revoke(&vault_admin, &reader["jti"]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(revoke(&vault_admin, &json!("no-such-jti")).status, 404);
    assert_eq!(revoke(&op, &scribe["jti"]).status, 200);
    let r = s.json(
        "/oauth/introspect",
        &json!({}),
        Some(reader["token"].as_str().expect("t")),
    );
    assert_eq!(r.status, 401, "revoked tokens are refused as bearers");
    let o = s.home.run(&["auth", "list-tokens", "--json"]);
    let rows: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .any(|t| t["jti"] == reader["jti"] && t["status"] == "revoked")
    );
}

/// The base64 of `user:pass`, for Basic auth.
pub fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[test]
fn confidential_clients_authenticate_with_basic_or_post() {
    let s = Server::start();
    let op = s.home.operator_token();
    let r = s.json(
        "/oauth/register",
        &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
        Some(&op),
    );
    let c = r.json();
    let (id, secret) = (
        c["client_id"].as_str().expect("id"),
        c["client_secret"].as_str().expect("secret"),
    );
    let try_with = |headers: &[(&str, &str)], fields: &[(&str, &str)]| {
        let mut f = vec![("grant_type", "refresh_token"), ("refresh_token", "nope")];
        f.extend_from_slice(fields);
        let r = s.form("/oauth/token", &f, headers);
        (
            r.status,
            r.json()["error"].as_str().unwrap_or_default().to_string(),
            r.header("www-authenticate").map(str::to_string),
        )
    };
    let good = basic(id, secret);
    assert_eq!(
        try_with(&[("Authorization", &good)], &[]).1,
        "invalid_grant",
        "authenticated"
    );
    assert_eq!(
        try_with(&[], &[("client_id", id), ("client_secret", secret)]).1,
        "invalid_grant"
    );
    let wrong = basic(id, "wrong");
    let (status, err, challenge) = try_with(&[("Authorization", &wrong)], &[]);
    assert_eq!((status, err.as_str()), (401, "invalid_client"));
    assert!(challenge.is_some_and(|c| c.starts_with("Basic")));
    assert_eq!(
        try_with(&[], &[("client_id", id)]).0,
        401,
        "secret required"
    );
    assert_eq!(
        try_with(
            &[("Authorization", &good)],
            &[("client_id", "someone-else")]
        )
        .0,
        401
    );
}
