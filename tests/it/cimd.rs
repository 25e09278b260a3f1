//! Client ID Metadata Documents, loopback redirects and per-scope consent
//! against a real `parachute serve` (issue 13). Documents come from a real
//! local https server (`tests/clients/cimd_docs.py`) with its own test CA,
//! trusted by the hub only through `PARACHUTE_CIMD_TEST_CA`; loopback is
//! reachable only with `PARACHUTE_CIMD_ALLOW_LOOPBACK=1`. The SSRF cases
//! name private and metadata-service addresses the hub must refuse before
//! connecting: no packet is ever sent to them.

// Each test is one user story, told step by step (as in `oauth.rs`).
#![allow(clippy::many_single_char_names)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::oauth::{Browser, CHALLENGE, Server, VERIFIER, encode, param};
use crate::support::hub::{PASSWORD, Response, claims, stderr};

/// The local https server of documents; killed on drop.
pub struct DocServer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub ca: PathBuf,
    child: Child,
}

impl DocServer {
    /// `None` (after a SKIP, or a failure under CI) without python3 and
    /// `cryptography`.
    pub fn start(test: &str) -> Option<Self> {
        let ok = Command::new("python3")
            .args(["-c", "import cryptography"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: python3 with cryptography is missing under CI"
            );
            eprintln!("SKIP ({test}): python3 with cryptography is missing");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/cimd_docs.py");
        let mut child = Command::new("python3")
            .arg(script)
            .env("DIR", dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start cimd_docs.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let v: Value = serde_json::from_str(&line).expect("port line");
        Some(Self {
            port: u16::try_from(v["port"].as_u64().expect("port")).expect("port"),
            ca: PathBuf::from(v["ca"].as_str().expect("ca")),
            dir,
            child,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}/{path}", self.port)
    }

    /// Serve `doc` (with `{origin}` replaced) at `/<name>.json`; its URL.
    pub fn put(&self, name: &str, doc: &Value, headers: &str) -> String {
        let path = self.dir.path().join(format!("{name}.json"));
        std::fs::write(path, doc.to_string()).expect("write document");
        if !headers.is_empty() {
            std::fs::write(self.dir.path().join(format!("{name}.headers")), headers)
                .expect("write headers");
        }
        self.url(&format!("{name}.json"))
    }

    /// The paths requested so far.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The hub's environment that trusts this server's CA, optionally with
    /// loopback allowed.
    pub fn env(&self, allow_loopback: bool) -> Vec<(&'static str, String)> {
        let mut env = vec![("PARACHUTE_CIMD_TEST_CA", self.ca.display().to_string())];
        if allow_loopback {
            env.push(("PARACHUTE_CIMD_ALLOW_LOOPBACK", "1".into()));
        }
        env
    }
}

impl Drop for DocServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_hub(docs: &DocServer, allow_loopback: bool) -> Server {
    let env = docs.env(allow_loopback);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_with(&env)
}

fn authorize(s: &Server, client_id: &str, redirect_uri: &str, scope: &str) -> String {
    let res = format!("{}/vault/test/mcp", s.iss());
    format!(
        "/oauth/authorize?{}",
        encode(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", "st8"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("resource", &res),
        ])
    )
}

/// The consent form with only `keep` ticked among the scope checkboxes.
fn consent_fields(page: &str, keep: &[&str]) -> Vec<(String, String)> {
    super::oauth::form_fields(page)
        .into_iter()
        .filter(|(k, v)| k != "grant" || keep.contains(&v.as_str()))
        .chain([("decision".to_string(), "approve".to_string())])
        .collect()
}

fn post_consent(b: &mut Browser<'_>, fields: &[(String, String)]) -> Response {
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let origin = b.s.iss();
    b.post("/oauth/authorize", &f, Some(&origin))
}

#[test]
fn a_cimd_client_connects_with_a_port_less_loopback_redirect_and_a_chosen_subset() {
    let Some(docs) = DocServer::start("cimd_flow") else {
        return;
    };
    let s = start_hub(&docs, true);
    let meta = s.get("/.well-known/oauth-authorization-server").json();
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    assert!(
        meta["token_endpoint_auth_methods_supported"]
            .as_array()
            .is_some_and(|m| m.contains(&"none".into())),
        "{meta}"
    );
    let url = docs.put(
        "app",
        &json!({
            "client_id": "{origin}/app.json",
            "client_name": "Doc App",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "required_scope": "vault:test:read",
        }),
        "Cache-Control: max-age=600\n",
    );
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);

    // A port the document does not list: accepted (RFC 8252 §7.3).
    let redirect = "http://127.0.0.1:43123/callback";
    let scope = "vault:test:read vault:test:write";
    let page = b.get(&authorize(&s, &url, redirect, scope));
    assert_eq!(page.status, 200, "{page:?}");
    let host = format!("127.0.0.1:{}", docs.port);
    for want in [
        "identifies itself by its URL",
        &format!("published by <strong>{host}</strong>"),
        "only ever sends you back to this computer",
        "Required by the app",
        "This app is new",
        "<strong><code>127.0.0.1:43123</code></strong>",
        "limited to the vault <strong>test</strong>",
        r#"<input type="checkbox" name="grant" value="vault:test:write" checked>"#,
    ] {
        assert!(page.body.contains(want), "{want} in {}", page.body);
    }
    // Another path of the same loopback host: refused, with no redirect.
    let other = b.get(&authorize(&s, &url, "http://127.0.0.1:43123/other", scope));
    assert_eq!(other.status, 400, "{other:?}");
    assert!(other.header("location").is_none());
    // `localhost` was not registered: refused.
    let lh = b.get(&authorize(
        &s,
        &url,
        "http://localhost:43123/callback",
        scope,
    ));
    assert_eq!(lh.status, 400, "{lh:?}");

    // Untick `vault:test:write`: the code and the token carry only read.
    let r = post_consent(&mut b, &consent_fields(&page.body, &["vault:test:read"]));
    assert_eq!(r.status, 303, "{r:?}");
    let cb = r.header("location").expect("callback").to_string();
    assert!(cb.starts_with(redirect), "{cb}");
    let code = param(&cb, "code").expect("code");
    let res = format!("{}/vault/test/mcp", s.iss());
    let t = s.form(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &url),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
            ("resource", &res),
        ],
        &[],
    );
    assert_eq!(t.status, 200, "{t:?}");
    let tok = t.json();
    assert_eq!(tok["scope"], "vault:test:read");
    let c = claims(tok["access_token"].as_str().expect("token"));
    assert_eq!(c["scope"], "vault:test:read");
    assert_eq!(c["client_id"], url.as_str());

    // The client is stored like any other, approved on the consent page;
    // the document was fetched once (cached per its max-age).
    let o = s.home.run(&["auth", "list-clients", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["client_id"], url.as_str());
    assert_eq!(list[0]["status"], "approved");
    assert_eq!(list[0]["client_name"], "Doc App");
    let again = b.get(&authorize(&s, &url, redirect, "vault:test:read"));
    assert_eq!(again.status, 303, "covered by the grant: no consent page");
    let fetched = docs.requests().iter().filter(|p| *p == "/app.json").count();
    assert_eq!(fetched, 1, "{:?}", docs.requests());

    // The grant holds what was ticked: asking for write shows consent again.
    let more = b.get(&authorize(&s, &url, redirect, scope));
    assert_eq!(more.status, 200, "{more:?}");
    // Unticking everything grants nothing.
    let r = post_consent(&mut b, &consent_fields(&more.body, &[]));
    let loc = r.header("location").expect("redirect").to_string();
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("access_denied"),
        "{loc}"
    );
}

#[test]
fn loopback_port_rule_does_not_reach_other_hosts() {
    let s = Server::start();
    let c = s.register(&json!({"redirect_uris": ["https://app.example:8443/cb"]}));
    let id = c["client_id"].as_str().expect("id");
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    let ok = b.get(&authorize(
        &s,
        id,
        "https://app.example:8443/cb",
        "vault:test:read",
    ));
    assert_eq!(ok.status, 200, "{ok:?}");
    let other = b.get(&authorize(
        &s,
        id,
        "https://app.example:9443/cb",
        "vault:test:read",
    ));
    assert_eq!(other.status, 400, "{other:?}");
    assert!(
        other.body.contains("not one this app registered"),
        "{}",
        other.body
    );
}

/// The error page an authorize request with `client_id` gets.
fn refusal(s: &Server, client_id: &str) -> String {
    let r = s.get(&authorize(
        s,
        client_id,
        "http://127.0.0.1:5/callback",
        "vault:test:read",
    ));
    assert_eq!(r.status, 400, "{client_id}: {r:?}");
    assert!(r.header("location").is_none(), "never redirected");
    assert!(
        r.body.contains("This app could not be identified"),
        "{}",
        r.body
    );
    r.body
}

#[test]
fn documents_from_private_addresses_and_bad_documents_are_refused() {
    let Some(docs) = DocServer::start("cimd_refusals") else {
        return;
    };
    let good = docs.put(
        "good",
        &json!({"client_id": "{origin}/good.json", "client_name": "Good", "redirect_uris": ["http://127.0.0.1/callback"]}),
        "",
    );
    // Without the test setting: loopback, private and metadata-service
    // addresses are refused before any connection.
    let strict = start_hub(&docs, false);
    let body = refusal(&strict, &good);
    assert!(body.contains("is not a public address"), "{body}");
    assert!(docs.requests().is_empty(), "{:?}", docs.requests());
    for url in [
        "https://10.1.2.3/client.json",
        "https://169.254.169.254/latest/meta-data/client.json",
        "https://[fd00:ec2::254]/client.json",
    ] {
        let body = refusal(&strict, url);
        assert!(body.contains("is not a public address"), "{url}: {body}");
    }
    let body = refusal(&strict, "https://127.0.0.1/");
    assert!(
        body.contains("is not an https:// URL with a path"),
        "{body}"
    );

    // With loopback allowed for the test: the same document works, and
    // everything but loopback is still refused, redirects included.
    let s = start_hub(&docs, true);
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    let page = b.get(&authorize(
        &s,
        &good,
        "http://127.0.0.1:5/callback",
        "vault:test:read",
    ));
    assert_eq!(page.status, 200, "{page:?}");
    let body = refusal(&s, "https://10.1.2.3/client.json");
    assert!(body.contains("is not a public address"), "{body}");
    for target in [
        "https://169.254.169.254/latest/meta-data/client.json",
        "https://10.0.0.1/client.json",
        &format!("https://127.0.0.2:{}/good.json", docs.port),
    ] {
        let url = docs.url(&format!("redirect?to={target}"));
        let body = refusal(&s, &url);
        assert!(body.contains("redirected to"), "{target}: {body}");
        assert!(body.contains("another host"), "{target}: {body}");
    }
    let body = refusal(&s, &docs.url("big.json"));
    assert!(body.contains("larger than 5120 bytes"), "{body}");
    let body = refusal(&s, &docs.url("slow.json"));
    assert!(body.contains("longer than 5 seconds"), "{body}");
    let mismatch = docs.put(
        "mismatch",
        &json!({"client_id": "{origin}/other.json", "client_name": "M", "redirect_uris": ["http://127.0.0.1/callback"]}),
        "",
    );
    let body = refusal(&s, &mismatch);
    assert!(body.contains("not its own URL"), "{body}");
    let nameless = docs.put(
        "nameless",
        &json!({"client_id": "{origin}/nameless.json", "redirect_uris": ["http://127.0.0.1/callback"]}),
        "",
    );
    let body = refusal(&s, &nameless);
    assert!(body.contains("`client_name`"), "{body}");
    let body = refusal(&s, &docs.url("missing.json"));
    assert!(body.contains("HTTP 404"), "{body}");
}

/// A registered client, approved; the owner signed in; the consent page for
/// `scope` with `redirect_uri`.
fn consent_for<'a>(
    s: &'a Server,
    registered: &str,
    redirect_uri: &str,
    scope: &str,
) -> (String, Browser<'a>, Response) {
    let c = s.register(&json!({"redirect_uris": [registered]}));
    let id = c["client_id"].as_str().expect("id").to_string();
    assert!(
        s.home
            .run(&["auth", "approve-client", &id])
            .status
            .success()
    );
    let mut b = Browser::new(s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    let page = b.get(&authorize(s, &id, redirect_uri, scope));
    (id, b, page)
}

#[test]
fn unticking_a_scope_removes_it_from_the_grant_the_code_and_the_token() {
    let s = Server::start();
    let redirect = "http://127.0.0.1:1/cb";
    let (id, mut b, page) = consent_for(&s, redirect, redirect, "vault:test:read vault:test:write");
    assert_eq!(page.status, 200, "{page:?}");
    let r = post_consent(&mut b, &consent_fields(&page.body, &["vault:test:write"]));
    assert_eq!(r.status, 303, "{r:?}");
    let code = param(r.header("location").expect("callback"), "code").expect("code");
    let t = super::oauth::exchange(&s, &id, &code, VERIFIER);
    assert_eq!(t.status, 200, "{t:?}");
    assert_eq!(t.json()["scope"], "vault:test:write");
    let o = s.home.run(&["auth", "list-grants", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let grants: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        grants.to_string().contains("vault:test:write")
            && !grants.to_string().contains("vault:test:read"),
        "{grants}"
    );
}

#[test]
fn a_registered_loopback_redirect_matches_on_any_port() {
    let s = Server::start();
    let (_, _, page) = consent_for(
        &s,
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:40123/cb",
        "vault:test:read",
    );
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body
            .contains("<strong><code>127.0.0.1:40123</code></strong>"),
        "{}",
        page.body
    );
}

#[test]
fn an_app_on_a_trusted_host_is_approved_when_first_seen() {
    let Some(docs) = DocServer::start("cimd_trusted_host") else {
        return;
    };
    let s = start_hub(&docs, true);
    let bad = s
        .home
        .run(&["auth", "trust-client-hosts", "--add", "https://127.0.0.1"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("is not a host name"),
        "{}",
        stderr(&bad)
    );
    let o = s
        .home
        .run(&["auth", "trust-client-hosts", "--add", "127.0.0.1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "127.0.0.1\n");

    let url = docs.put(
        "trusted",
        &json!({"client_id": "{origin}/trusted.json", "client_name": "T", "redirect_uris": ["http://127.0.0.1/callback"]}),
        "",
    );
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    let page = b.get(&authorize(
        &s,
        &url,
        "http://127.0.0.1:9/callback",
        "vault:test:read",
    ));
    assert_eq!(page.status, 200, "{page:?}");
    assert!(!page.body.contains("This app is new"), "{}", page.body);
    let o = s.home.run(&["auth", "pending-clients", "--json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");

    let o = s.home.run(&[
        "auth",
        "trust-client-hosts",
        "--remove",
        "127.0.0.1",
        "--json",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "[]\n");
}
