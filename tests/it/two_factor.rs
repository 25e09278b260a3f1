//! Two-factor sign-in (issue 4, people side): `parachute auth 2fa` on the
//! real binary, and `/login` → `/login/2fa` on a real hub process with a
//! cookie-keeping form client. Codes are computed with the library's TOTP,
//! the same algorithm an authenticator app runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use serde_json::Value;

use crate::support::http::Request;
use crate::support::hub::{Home, Hub, PASSWORD, stderr, stdout};
use parachute::identity::totp;

/// A response, with every header line kept (there may be several `Set-Cookie`).
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `Set-Cookie` for `name`, if this response sets it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location: {self:?}"))
    }

    /// The CSRF token embedded in the page's forms.
    pub fn csrf(&self) -> String {
        between(&self.body, "name=\"__csrf\" value=\"", "\"")
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.body))
    }
}

/// The text between `start` and the next `end`.
pub fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(s[from..from + len].to_string())
}

fn urlencode(s: &str) -> String {
    s.bytes().fold(String::new(), |mut o, b| {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
        o
    })
}

/// A cookie-keeping HTTP/1.1 client that submits forms like a browser
/// (same-origin `Origin`, urlencoded bodies), without following redirects.
pub struct Web {
    pub addr: SocketAddr,
    pub jar: BTreeMap<String, String>,
    /// Sent as `Origin` on POSTs; `None` sends none.
    pub origin: Option<String>,
    /// Sent with every request.
    pub extra: Vec<(String, String)>,
}

impl Web {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            jar: BTreeMap::new(),
            origin: Some(format!("http://{addr}")),
            extra: Vec::new(),
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None)
    }

    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send("POST", path, Some(&body))
    }

    /// GET `page_path` for a fresh CSRF token, then POST the form with it.
    pub fn submit(&mut self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path);
        assert_eq!(page.status, 200, "GET {page_path}: {page:?}");
        let csrf = page.csrf();
        let mut all = vec![("__csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all)
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.jar.contains_key(name)
    }

    fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Page {
        let mut req = Request::new(method, path).header("Accept", "text/html");
        for (k, v) in &self.extra {
            req = req.header(k, v);
        }
        req = req.cookies(self.jar.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(b) = body {
            if let Some(o) = &self.origin {
                req = req.origin(o);
            }
            req = req.body("application/x-www-form-urlencoded", b);
        }
        let r = req.send(self.addr);
        let headers: Vec<(String, String)> = r
            .headers
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let page = Page {
            status: r.status,
            headers,
            body: r.body,
        };
        for c in page.set_cookies() {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                let expired = c.contains("Max-Age=0");
                if v.is_empty() || expired {
                    self.jar.remove(k);
                } else {
                    self.jar.insert(k.to_string(), v.to_string());
                }
            }
        }
        page
    }
}

pub fn now() -> i64 {
    parachute::clock::now()
}

/// Turn on TOTP for `username` through the real CLI (`enroll --json`, then
/// `--confirm` with the current code); the secret and the backup codes.
pub fn enroll_cli(home: &Home, username: &str) -> (totp::Secret, Vec<String>) {
    let o = home.run(&["auth", "2fa", "enroll", "--username", username, "--json"]);
    assert!(o.status.success(), "enroll --json: {}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(doc["status"], "pending", "{doc}");
    let secret = totp::Secret::from_base32(doc["secret"].as_str().expect("secret")).expect("b32");
    let uri = doc["otpauth_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with(&format!("otpauth://totp/Parachute:{username}?secret=")),
        "{uri}"
    );
    let code = totp::code_at(&secret, now());
    let o = home.run(&[
        "auth",
        "2fa",
        "enroll",
        "--username",
        username,
        "--confirm",
        &code,
        "--json",
    ]);
    assert!(o.status.success(), "enroll --confirm: {}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(doc["status"], "on", "{doc}");
    let codes: Vec<String> = doc["backup_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("str").to_string())
        .collect();
    (secret, codes)
}

/// `2fa status --json` for one user.
pub fn status(home: &Home, username: &str) -> Value {
    let o = home.run(&["auth", "2fa", "status", "--username", username, "--json"]);
    assert!(o.status.success(), "status: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("json")
}

/// The password step: `/login` with `next`; the response.
pub fn password_step(web: &mut Web, next: &str) -> Page {
    web.submit(
        &format!("/login?next={}", urlencode(next)),
        "/login",
        &[
            ("username", "owner"),
            ("password", PASSWORD),
            ("next", next),
        ],
    )
}

pub fn code_step(web: &mut Web, code: &str) -> Page {
    web.submit("/login/2fa", "/login/2fa", &[("code", code)])
}

#[test]
fn cli_enroll_needs_a_terminal_or_json_and_a_code_before_it_is_on() {
    let home = Home::with_owner();
    assert_eq!(status(&home, "owner")["status"], "off");

    // Not a terminal and no --json: refused, nothing printed, nothing stored.
    let o = home.run(&["auth", "2fa", "enroll"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).is_empty(),
        "the secret must not leak: {}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("--json"), "{}", stderr(&o));
    assert_eq!(status(&home, "owner")["status"], "off");

    let o = home.run(&["auth", "2fa", "enroll", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    let secret = totp::Secret::from_base32(doc["secret"].as_str().expect("s")).expect("b32");
    assert_eq!(status(&home, "owner")["status"], "pending");

    // A wrong code leaves it pending.
    let good = totp::code_at(&secret, now());
    let bad = if good == "000000" { "000001" } else { "000000" };
    let o = home.run(&["auth", "2fa", "enroll", "--confirm", bad]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
    let o = home.run(&["auth", "2fa", "enroll", "--confirm", "12345"]);
    assert!(stderr(&o).contains("not a 6-digit code"), "{}", stderr(&o));
    assert_eq!(status(&home, "owner")["status"], "pending");

    // The current code turns it on and gives ten distinct backup codes once.
    let o = home.run(&[
        "auth",
        "2fa",
        "enroll",
        "--confirm",
        &totp::code_at(&secret, now()),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    let codes = doc["backup_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    let st = status(&home, "owner");
    assert_eq!(
        (st["status"].as_str(), st["backup_codes_left"].as_u64()),
        (Some("on"), Some(10))
    );

    // A live secret is never replaced silently.
    let o = home.run(&["auth", "2fa", "enroll", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("parachute auth 2fa disable"),
        "{}",
        stderr(&o)
    );

    // The store holds neither the backup codes nor anything but their hashes.
    let db = std::fs::read(home.home().join("hub.db")).expect("db");
    let db = String::from_utf8_lossy(&db);
    for c in codes {
        let c = c.as_str().expect("str");
        assert!(
            !db.contains(c) && !db.contains(&c.replace('-', "")),
            "{c} stored in the clear"
        );
    }

    // Disabling asks, unless --yes; stdin is not a terminal here.
    let o = home.run(&["auth", "2fa", "disable"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert_eq!(status(&home, "owner")["status"], "on");
    let o = home.run(&["auth", "2fa", "disable", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(status(&home, "owner")["status"], "off");
    let o = home.run(&["auth", "2fa", "status"]);
    assert!(
        stdout(&o).contains("owner") && stdout(&o).contains("off"),
        "{}",
        stdout(&o)
    );

    let o = home.run(&["auth", "2fa", "enroll", "--username", "nobody", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no user `nobody`"), "{}", stderr(&o));
}

#[test]
fn login_with_totp_needs_a_fresh_code_and_then_rotates_the_session() {
    let home = Home::with_owner();
    let (secret, backups) = enroll_cli(&home, "owner");
    // The enrolling code's step is spent; the app's next code is accepted
    // now already (one step of skew), so the test need not wait.
    let enrolled = totp::step_at(now());
    let hub = Hub::start(&home);
    let mut web = Web::new(hub.addr);

    // A session cookie planted before login must not survive it.
    web.jar
        .insert("parachute_hub_session".into(), "planted-by-someone".into());
    let r = password_step(&mut web, "/account");
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.location(), "/login/2fa");
    let pending = r
        .cookie("parachute_hub_pending_login")
        .expect("pending cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/login", "Max-Age=300"] {
        assert!(pending.contains(attr), "{attr} missing: {pending}");
    }
    assert!(
        r.cookie("parachute_hub_session").is_none(),
        "no session before the code"
    );
    assert_eq!(web.get("/account").status, 303, "not signed in yet");

    let page = web.get("/login/2fa");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("autocomplete=\"one-time-code\""));

    let good = totp::code_for_step(&secret, enrolled + 1);
    let wrong = if good == "000000" { "000001" } else { "000000" };
    let r = code_step(&mut web, wrong);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.body.contains("not right"), "{}", r.body);

    // The code that enrolled is spent.
    let r = code_step(&mut web, &totp::code_for_step(&secret, enrolled));
    assert_eq!(r.status, 401);
    assert!(r.body.contains("already used"), "{}", r.body);

    let r = code_step(&mut web, &good);
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.location(), "/account");
    let session = r.cookie("parachute_hub_session").expect("session cookie");
    assert!(!session.contains("planted-by-someone"));
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "plain http on loopback: {session}"
    );
    assert!(
        !web.has_cookie("parachute_hub_pending_login"),
        "pending cookie cleared"
    );
    let account = web.get("/account");
    assert_eq!(account.status, 200, "{account:?}");
    assert!(
        account.body.contains("id=\"username\">owner<"),
        "{}",
        account.body
    );

    // The pending login is spent: posting again starts over.
    let r = web.post(
        "/login/2fa",
        &[("__csrf", &account.csrf()), ("code", &good)],
    );
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Sign in again"), "{}", r.body);

    // A second browser: the same TOTP code is refused; a backup code works
    // once (in any case, with or without its dash).
    let mut other = Web::new(hub.addr);
    assert_eq!(password_step(&mut other, "/account").status, 303);
    let r = code_step(&mut other, &good);
    assert_eq!(r.status, 401);
    assert!(r.body.contains("already used"));
    let r = code_step(&mut other, &backups[0].to_uppercase());
    assert_eq!(r.status, 303, "{r:?}");
    let st = status(&home, "owner");
    assert_eq!(st["backup_codes_left"], 9);

    let mut third = Web::new(hub.addr);
    assert_eq!(password_step(&mut third, "/").status, 303);
    let r = code_step(&mut third, &backups[0].replace('-', ""));
    assert_eq!(r.status, 401, "a backup code works once");
    let r = code_step(&mut third, &backups[1]);
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/");

    // No code or secret ever reaches the hub's log.
    let log = hub.drain_log().join("\n");
    for secret_text in [
        good.as_str(),
        backups[0].as_str(),
        backups[1].as_str(),
        &secret.to_base32(),
    ] {
        assert!(!log.contains(secret_text), "{secret_text} logged:\n{log}");
    }
}

#[test]
fn second_factor_guesses_are_rate_limited_and_forms_need_csrf() {
    let home = Home::with_owner();
    let (secret, _) = enroll_cli(&home, "owner");
    let hub = Hub::start(&home);
    let mut web = Web::new(hub.addr);
    assert_eq!(password_step(&mut web, "/account").status, 303);

    // CSRF: no token, or a form posted from another site.
    let r = web.post("/login/2fa", &[("code", "123456")]);
    assert_eq!(r.status, 403, "{r:?}");
    let csrf = web.get("/login/2fa").csrf();
    web.origin = Some("https://evil.example".into());
    let r = web.post("/login/2fa", &[("__csrf", &csrf), ("code", "123456")]);
    assert_eq!(r.status, 403, "{r:?}");
    web.origin = Some(format!("http://{}", hub.addr));

    // Seed 001: five guesses per 15 minutes; the sixth is refused even
    // with the right code, with Retry-After.
    let good = totp::code_for_step(&secret, totp::step_at(now()) + 1);
    let wrong = if good == "000000" { "000001" } else { "000000" };
    for i in 0..5 {
        let r = code_step(&mut web, wrong);
        assert_eq!(r.status, 401, "attempt {i}: {r:?}");
    }
    let r = code_step(&mut web, &good);
    assert_eq!(r.status, 429, "{r:?}");
    let retry: i64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(r.body.contains("Too many attempts"));

    // A made-up X-Forwarded-For is not a new IP (issue #8: no proxy is
    // trusted by default), so the per-IP bucket still holds.
    for i in 0..5 {
        web.extra = vec![("X-Forwarded-For".into(), format!("198.51.100.{i}"))];
        let r = code_step(&mut web, wrong);
        assert_eq!(r.status, 429, "spoofed attempt {i}: {r:?}");
    }
    web.extra = vec![("X-Forwarded-For".into(), "198.51.100.77".into())];
    let r = code_step(&mut web, &good);
    assert_eq!(r.status, 429, "{r:?}");
    web.extra.clear();

    // The limit is kept in the store: a restarted hub still refuses.
    drop(hub);
    let hub = Hub::start(&home);
    web.addr = hub.addr;
    web.origin = Some(format!("http://{}", hub.addr));
    let r = code_step(&mut web, &good);
    assert_eq!(r.status, 429, "{r:?}");
}

#[test]
fn the_second_factor_page_without_a_pending_login_starts_over() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut web = Web::new(hub.addr);
    let r = web.get("/login/2fa");
    assert_eq!(r.status, 401);
    assert!(r.body.contains("href=\"/login\""), "{}", r.body);
    // Without 2FA, the password alone signs in.
    let r = password_step(&mut web, "/account");
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/account");
    assert!(r.cookie("parachute_hub_session").is_some());
}
