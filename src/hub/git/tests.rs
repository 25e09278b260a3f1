//! The `/git/*` routes driven in-process with `oneshot` (the seed's
//! handler-direct tests): real store, keys and tokens, the real `git
//! http-backend`, and small shell scripts standing in for a misbehaving one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use futures_util::StreamExt as _;
use tower::ServiceExt as _;

use super::*;
use crate::paths::Paths;
use crate::tokens::mint;

use crate::hub::test_support::ORIGIN;

struct Fixture {
    dir: tempfile::TempDir,
    state: HubState,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let state = crate::hub::test_support::state_in(dir.path());
    Fixture { dir, state }
}

impl Fixture {
    fn mint(&self, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_string()).collect();
        let store = self.state.store();
        store
            .write(|tx| {
                mint::mint(
                    tx,
                    ORIGIN,
                    &mint::Mint {
                        sub: "owner-1",
                        user_id: None,
                        scopes: &scopes,
                        audience: "surface",
                        client_id: "test-client",
                        ttl_secs: 3600,
                        created_via: None,
                        parent_jti: None,
                        label: None,
                    },
                    self.state.clock().now(),
                )
                .map_err(|e| store.other(e))
            })
            .expect("mint")
            .token
    }

    fn repo(&self, name: &str) -> PathBuf {
        self.state.paths().git_repo(name)
    }

    /// A `git` that runs `script` for `http-backend` and real git otherwise.
    fn fake_git(&self, script: &str) -> Config {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.dir.path().join("fake-git");
        let text = format!(
            "#!/bin/sh\nif [ \"$1\" != http-backend ]; then exec git \"$@\"; fi\n{script}\n"
        );
        std::fs::write(&path, text).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Config {
            git: path.into_os_string(),
            ..Config::from_env()
        }
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.path().join("backend.pid")
    }

    async fn call(&self, config: Config, req: Request<Body>) -> Response {
        Router::new()
            .merge(router_with(config))
            .with_state(self.state.clone())
            .oneshot(req)
            .await
            .expect("infallible")
    }

    async fn get(&self, uri: &str, authorization: Option<&str>) -> Response {
        self.call(Config::from_env(), get(uri, authorization)).await
    }
}

fn get(uri: &str, authorization: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(a) = authorization {
        b = b.header(header::AUTHORIZATION, a);
    }
    b.body(Body::empty()).expect("request")
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

async fn text(r: Response) -> String {
    let b = axum::body::to_bytes(r.into_body(), 16 << 20)
        .await
        .expect("body");
    String::from_utf8_lossy(&b).into_owned()
}

fn header_of(r: &Response, name: header::HeaderName) -> &str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

const RECEIVE_REFS: &str = "/git/foo/info/refs?service=git-receive-pack";
const UPLOAD_REFS: &str = "/git/foo/info/refs?service=git-upload-pack";

#[tokio::test]
async fn no_credential_is_401_with_both_challenges_and_provisions_nothing() {
    let f = fixture();
    let r = f.get(RECEIVE_REFS, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = r
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .collect();
    assert_eq!(
        challenges,
        [
            "Basic realm=\"Parachute Surface Git\"",
            "Bearer scope=\"surface:foo:write\""
        ]
    );
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-store");
    assert!(!f.repo("foo").exists());
    assert!(!f.state.paths().git_root().exists());
}

#[tokio::test]
async fn the_whole_hub_router_keeps_both_challenges() {
    let f = fixture();
    let r = crate::hub::router(f.state.clone())
        .oneshot(get(RECEIVE_REFS, None))
        .await
        .expect("infallible");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = r
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .collect();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic realm=")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|c| c.starts_with("Bearer")),
        "{challenges:?}"
    );
    assert!(!f.repo("foo").exists());
}

#[tokio::test]
async fn a_garbage_token_is_401() {
    let f = fixture();
    let r = f.get(RECEIVE_REFS, Some("Bearer not-a-jwt")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers().get_all(header::WWW_AUTHENTICATE).iter().count(),
        2
    );
    let body = text(r).await;
    assert!(!body.contains("not-a-jwt"), "{body}");
    assert!(!f.repo("foo").exists());
}

#[tokio::test]
async fn a_read_token_pushing_is_403_insufficient_scope_and_provisions_nothing() {
    let f = fixture();
    let t = f.mint(&["surface:foo:read", "vault:default:read"]);
    let r = f.get(RECEIVE_REFS, Some(&bearer(&t))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header_of(&r, header::WWW_AUTHENTICATE),
        "Bearer error=\"insufficient_scope\", scope=\"surface:foo:write\""
    );
    assert!(!f.repo("foo").exists());
}

#[tokio::test]
async fn a_token_for_another_name_is_403_on_fetch() {
    let f = fixture();
    let t = f.mint(&["surface:other:read"]);
    let r = f.get(UPLOAD_REFS, Some(&bearer(&t))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!f.repo("foo").exists());
}

#[tokio::test]
async fn malformed_paths_are_404_before_auth() {
    let f = fixture();
    for uri in [
        "/git/foo",
        "/git/../etc/info/refs",
        "/git/foo/../../etc/passwd",
    ] {
        let r = f.get(uri, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn a_write_token_gets_the_receive_pack_advertisement_and_provisions() {
    let f = fixture();
    let t = f.mint(&["surface:foo:write"]);
    let r = f.get(RECEIVE_REFS, Some(&bearer(&t))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header_of(&r, header::CONTENT_TYPE).contains("git-receive-pack-advertisement"));
    assert!(repo::exists(&f.repo("foo")));
    assert!(text(r).await.contains("git-receive-pack"));
}

#[tokio::test]
async fn read_and_write_tokens_may_fetch() {
    let f = fixture();
    for scope in ["surface:foo:read", "surface:foo:write"] {
        let t = f.mint(&[scope]);
        let r = f.get(UPLOAD_REFS, Some(&bearer(&t))).await;
        assert_eq!(r.status(), StatusCode::OK, "{scope}");
        assert!(
            header_of(&r, header::CONTENT_TYPE).contains("git-upload-pack-advertisement"),
            "{scope}"
        );
        text(r).await;
    }
}

#[tokio::test]
async fn basic_credentials_are_accepted() {
    let f = fixture();
    let t = f.mint(&["surface:foo:write"]);
    for userpass in [
        format!("x-access-token:{t}"),
        format!("{t}:x-oauth-basic"),
        format!("{t}:"),
    ] {
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&userpass)
        );
        let r = f.get(RECEIVE_REFS, Some(&auth)).await;
        assert_eq!(r.status(), StatusCode::OK);
        text(r).await;
    }
}

#[tokio::test]
async fn protocol_v2_is_passed_through() {
    let f = fixture();
    let t = f.mint(&["surface:foo:read"]);
    let mut req = get(UPLOAD_REFS, Some(&bearer(&t)));
    req.headers_mut()
        .insert("git-protocol", "version=2".parse().expect("value"));
    let r = f.call(Config::from_env(), req).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = text(r).await;
    assert!(body.contains("version 2"), "{body}");
}

#[tokio::test]
async fn the_backend_gets_only_the_cgi_environment() {
    let f = fixture();
    let t = f.mint(&["surface:foo:write"]);
    let cfg = f.fake_git("printf 'Content-Type: text/plain\\r\\n\\r\\n'; env");
    let mut req = Request::post("/git/foo.git/git-receive-pack")
        .header(header::AUTHORIZATION, bearer(&t))
        .header(
            header::CONTENT_TYPE,
            "application/x-git-receive-pack-request",
        )
        .header("git-protocol", "version=2")
        .body(Body::from("0000"))
        .expect("request");
    req.headers_mut()
        .insert(header::CONTENT_LENGTH, "4".parse().expect("value"));
    let r = f.call(cfg, req).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = text(r).await;
    let mut keys: Vec<&str> = body
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| !matches!(*k, "PWD" | "SHLVL" | "_" | "OLDPWD"))
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "CONTENT_LENGTH",
            "CONTENT_TYPE",
            "GIT_HTTP_EXPORT_ALL",
            "GIT_PROJECT_ROOT",
            "GIT_PROTOCOL",
            "PATH",
            "PATH_INFO",
            "QUERY_STRING",
            "REMOTE_ADDR",
            "REMOTE_USER",
            "REQUEST_METHOD",
        ],
        "{body}"
    );
    assert!(body.contains("REMOTE_USER=owner-1\n"), "{body}");
    assert!(
        body.contains("PATH_INFO=/foo.git/git-receive-pack\n"),
        "{body}"
    );
    assert!(!body.contains(&t), "the token never reaches the backend");
}

#[tokio::test]
async fn no_header_block_is_502() {
    let f = fixture();
    let t = f.mint(&["surface:foo:read"]);
    for script in [
        // Ends without a blank line.
        "printf 'Content-Type: text/plain\\r\\nno blank line'",
        // Says nothing at all.
        "exit 0",
        // More than the bound without a blank line, and never stops.
        "while :; do printf 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; done",
    ] {
        let r = f
            .call(f.fake_git(script), get(UPLOAD_REFS, Some(&bearer(&t))))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY, "{script}");
    }
}

#[tokio::test]
async fn a_cgi_status_line_becomes_the_http_status() {
    let f = fixture();
    let t = f.mint(&["surface:foo:read"]);
    let cfg = f.fake_git("printf 'Status: 404 Not Found\\nContent-Type: text/plain\\n\\nnope'");
    let r = f.call(cfg, get(UPLOAD_REFS, Some(&bearer(&t)))).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(header_of(&r, header::CONTENT_TYPE), "text/plain");
    assert_eq!(text(r).await, "nope");
}

#[tokio::test]
async fn a_missing_git_is_500() {
    let f = fixture();
    let t = f.mint(&["surface:foo:read"]);
    // Provision with real git, then point the backend at nothing.
    text(f.get(UPLOAD_REFS, Some(&bearer(&t))).await).await;
    let cfg = Config {
        git: "/nonexistent/git".into(),
        ..Config::from_env()
    };
    let r = f.call(cfg, get(UPLOAD_REFS, Some(&bearer(&t)))).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

async fn backend_pid(f: &Fixture) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(f.pid_file())
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "backend never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Running: present in /proc and not a zombie.
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

async fn wait_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(pid) {
        assert!(Instant::now() < deadline, "backend {pid} still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn dropping_the_response_mid_stream_kills_the_backend() {
    let f = fixture();
    let t = f.mint(&["surface:foo:read"]);
    let pid_file = f.pid_file();
    let cfg = f.fake_git(&format!(
        "echo $$ > '{}'; printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'; exec yes",
        pid_file.display()
    ));
    let r = f.call(cfg, get(UPLOAD_REFS, Some(&bearer(&t)))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.into_body().into_data_stream();
    let first = body.next().await.expect("a chunk").expect("data");
    assert!(first.starts_with(b"y\n"));
    let pid = backend_pid(&f).await;
    assert!(running(pid));
    drop(body);
    wait_gone(pid).await;
}

/// A request body fed through a channel; dropping the sender ends it.
fn channel_body() -> (
    tokio::sync::mpsc::UnboundedSender<Result<Bytes, std::io::Error>>,
    Body,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let s = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (tx, Body::from_stream(s))
}

fn push_request(token: &str, body: Body) -> Request<Body> {
    Request::post("/git/foo/git-receive-pack")
        .header(header::AUTHORIZATION, bearer(token))
        .header(
            header::CONTENT_TYPE,
            "application/x-git-receive-pack-request",
        )
        .body(body)
        .expect("request")
}

#[tokio::test]
async fn a_client_that_goes_away_mid_upload_kills_the_backend() {
    let f = fixture();
    let t = f.mint(&["surface:foo:write"]);
    let pid_file = f.pid_file();
    // Reads its input and never answers.
    let cfg = f.fake_git(&format!(
        "echo $$ > '{}'; cat > /dev/null; sleep 30",
        pid_file.display()
    ));
    let (tx, body) = channel_body();
    tx.send(Ok(Bytes::from_static(b"0010partial")))
        .expect("send");
    let call = tokio::spawn({
        let state = f.state.clone();
        async move {
            Router::new()
                .merge(router_with(cfg))
                .with_state(state)
                .oneshot(push_request(&t, body))
                .await
                .expect("infallible")
        }
    });
    let pid = backend_pid(&f).await;
    assert!(running(pid));
    tx.send(Err(std::io::Error::other("connection reset")))
        .expect("send");
    let r = call.await.expect("join");
    assert_ne!(r.status(), StatusCode::OK);
    wait_gone(pid).await;
}

#[tokio::test]
async fn a_body_over_the_cap_is_413() {
    let f = fixture();
    let t = f.mint(&["surface:foo:write"]);
    let pid_file = f.pid_file();
    let script = format!(
        "echo $$ > '{}'; cat > /dev/null; sleep 30",
        pid_file.display()
    );

    // Declared too long: refused before anything runs.
    let mut cfg = f.fake_git(&script);
    cfg.max_request_bytes = 1024;
    let mut req = push_request(&t, Body::from(vec![0u8; 2048]));
    req.headers_mut()
        .insert(header::CONTENT_LENGTH, "2048".parse().expect("value"));
    let r = f.call(cfg.clone(), req).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!pid_file.exists(), "no backend was started");

    // Chunked: stopped when the count passes the cap.
    let (tx, body) = channel_body();
    tx.send(Ok(Bytes::from(vec![b'x'; 512]))).expect("send");
    let call = tokio::spawn({
        let state = f.state.clone();
        let t = t.clone();
        async move {
            Router::new()
                .merge(router_with(cfg))
                .with_state(state)
                .oneshot(push_request(&t, body))
                .await
                .expect("infallible")
        }
    });
    let pid = backend_pid(&f).await;
    assert!(running(pid));
    for _ in 0..2 {
        tx.send(Ok(Bytes::from(vec![b'x'; 512]))).expect("send");
    }
    let r = call.await.expect("join");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    wait_gone(pid).await;
}

#[tokio::test]
async fn a_body_over_the_cap_after_the_headers_aborts_the_response() {
    let f = fixture();
    let t = f.mint(&["surface:foo:write"]);
    let pid_file = f.pid_file();
    let mut cfg = f.fake_git(&format!(
        "echo $$ > '{}'; printf 'Content-Type: text/plain\\r\\n\\r\\n'; cat > /dev/null; sleep 30",
        pid_file.display()
    ));
    cfg.max_request_bytes = 1024;
    let (tx, body) = channel_body();
    tx.send(Ok(Bytes::from(vec![b'x'; 512]))).expect("send");
    let r = f.call(cfg, push_request(&t, body)).await;
    assert_eq!(r.status(), StatusCode::OK, "headers came first");
    tx.send(Ok(Bytes::from(vec![b'x'; 1024]))).expect("send");
    let err = axum::body::to_bytes(r.into_body(), 1 << 20).await;
    assert!(err.is_err(), "the response body fails");
    wait_gone(backend_pid(&f).await).await;
}

#[test]
fn parse_size_table() {
    let cases: &[(&str, Option<u64>)] = &[
        ("1024", Some(1024)),
        ("1k", Some(1024)),
        ("512m", Some(512 << 20)),
        ("512MiB", Some(512 << 20)),
        ("2G", Some(2 << 30)),
        ("2gb", Some(2 << 30)),
        (" 10 ", Some(10)),
        ("0", None),
        ("", None),
        ("-1", None),
        ("1t", None),
        ("lots", None),
        ("99999999999999999999g", None),
    ];
    for (s, want) in cases {
        assert_eq!(parse_size(s), *want, "{s:?}");
    }
}

#[test]
fn the_git_root_is_under_the_hub_directory() {
    let p = Paths {
        home: Path::new("/h").to_path_buf(),
        unit_dir: Path::new("/u").to_path_buf(),
    };
    assert_eq!(p.git_root(), Path::new("/h/hub/git"));
    assert_eq!(p.git_repo("foo"), Path::new("/h/hub/git/foo.git"));
}

/// The git access rule on the hub's clock: a write token is admitted while
/// it is live and refused as expired once that clock passes its `exp`.
#[tokio::test]
async fn a_token_past_its_expiry_on_the_hub_clock_is_401() {
    let dir = tempfile::tempdir().expect("tmp");
    let clock = crate::clock::Clock::fixed(1_900_000_000);
    let state = crate::hub::test_support::state_with_clock(dir.path(), clock.clone());
    let f = Fixture { dir, state };
    let token = f.mint(&["surface:foo:write"]);
    let uri = "/git/foo.git/info/refs?service=git-receive-pack";
    let r = f.get(uri, Some(&bearer(&token))).await;
    assert_eq!(r.status(), StatusCode::OK);
    clock.advance(3600 + crate::tokens::jwt::LEEWAY_SECS + 1);
    let r = f.get(uri, Some(&bearer(&token))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        text(r).await,
        "Unauthorized: the token is invalid, expired or revoked\n"
    );
}
