//! Hub-authenticated git smart HTTP (issue #5, seed 003): the real `git`
//! client against a real `parachute serve` on an ephemeral port — push,
//! clone, fetch over protocol v2, a chunked 5 MiB push, the 401 dance with
//! credential helpers, 403 for a read token, nothing created by probes, the
//! body cap, a disconnecting client, and `parachute git list`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::support::hub::{Home, Hub, http, stderr, stdout, wait_for};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// A hub with an owner, and a scratch directory for client repositories.
struct Fixture {
    h: Home,
    hub: Hub,
    scratch: tempfile::TempDir,
}

impl Fixture {
    fn start() -> Self {
        let h = Home::with_owner();
        let hub = Hub::start(&h);
        Self::with(h, hub)
    }

    fn with(h: Home, hub: Hub) -> Self {
        let scratch = tempfile::Builder::new()
            .prefix("parachute-git-test-")
            .tempdir()
            .expect("tmp");
        std::fs::create_dir_all(scratch.path().join("githome")).expect("git home");
        Self { h, hub, scratch }
    }

    fn token(&self, scope: &str) -> String {
        self.h.mint(&["--scope", scope])
    }

    fn url(&self, name: &str) -> String {
        format!("http://{}/git/{name}", self.hub.addr)
    }

    fn bare(&self, name: &str) -> PathBuf {
        self.h.home().join("hub/git").join(format!("{name}.git"))
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    /// `git ARGS` in `dir`, isolated from the developer's configuration and
    /// proxies, never prompting.
    fn git_cmd(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.args(args).current_dir(dir);
        for k in [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "all_proxy",
            "ALL_PROXY",
            "XDG_CONFIG_HOME",
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_TRACE",
            "GIT_TRACE_PACKET",
            "GIT_TRACE_CURL",
        ] {
            c.env_remove(k);
        }
        c.env("HOME", self.scratch.path().join("githome"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@parachute.computer")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@parachute.computer");
        c
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Output {
        self.git_cmd(dir, args).output().expect("run git")
    }

    fn git_ok(&self, dir: &Path, args: &[&str]) -> String {
        let o = self.git(dir, args);
        assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
        stdout(&o).trim().to_string()
    }

    /// A fresh work tree `name` with one commit of `files`; its HEAD.
    fn work(&self, name: &str, files: &[(&str, &[u8])]) -> (PathBuf, String) {
        let dir = self.dir(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        self.git_ok(&dir, &["init", "-q", "-b", "main"]);
        (dir.clone(), self.commit(&dir, files, "first"))
    }

    fn commit(&self, dir: &Path, files: &[(&str, &[u8])], msg: &str) -> String {
        for (f, content) in files {
            std::fs::write(dir.join(f), content).expect("write");
        }
        self.git_ok(dir, &["add", "-A"]);
        self.git_ok(dir, &["commit", "-q", "--allow-empty", "-m", msg]);
        self.git_ok(dir, &["rev-parse", "HEAD"])
    }

    /// `git -c http.extraHeader=Authorization: Bearer T ARGS`.
    fn git_bearer(&self, dir: &Path, token: &str, args: &[&str]) -> Output {
        let header = format!("http.extraHeader=Authorization: Bearer {token}");
        let mut all = vec!["-c", header.as_str()];
        all.extend_from_slice(args);
        self.git(dir, &all)
    }

    fn log(&self) -> String {
        self.hub.drain_log().join("\n")
    }
}

/// Incompressible bytes, reproducibly (xorshift64*).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// One request with raw `head` lines on a fresh connection; the status line
/// and header block of the answer (the body is not read).
pub(super) fn raw_head(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("write");
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    (status, text)
}

fn header_values<'a>(headers: &'a str, name: &str) -> Vec<&'a str> {
    headers
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect()
}

#[test]
fn a_push_with_a_write_token_lands_the_ref_runs_the_hook_and_is_listed() {
    let f = Fixture::start();
    let o = f.h.run(&["git", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("no git repositories yet"),
        "{}",
        stderr(&o)
    );

    let write = f.token("surface:foo:write");
    let (work, head) = f.work("work", &[("index.html", b"<h1>surface</h1>\n")]);
    let o = f.git_bearer(&work, &write, &["push", &f.url("foo"), "main"]);
    assert!(o.status.success(), "push: {}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "remote: [parachute] foo received refs/heads/main ({ZERO}..{head})"
        )),
        "the hook's line reaches the pusher: {err}"
    );

    let bare = f.bare("foo");
    let landed = f.git_ok(
        f.scratch.path(),
        &[
            "--git-dir",
            bare.to_str().expect("utf-8"),
            "rev-parse",
            "refs/heads/main",
        ],
    );
    assert_eq!(landed, head);
    assert_eq!(
        std::fs::read_to_string(bare.join("post-receive.log")).expect("hook log"),
        format!("{ZERO} {head} refs/heads/main\n")
    );

    // `.git` on the URL names the same repository.
    let head2 = f.commit(&work, &[("about.html", b"about\n")], "second");
    let o = f.git_bearer(
        &work,
        &write,
        &["push", &format!("{}.git", f.url("foo")), "main"],
    );
    assert!(o.status.success(), "push: {}", stderr(&o));
    let log = std::fs::read_to_string(bare.join("post-receive.log")).expect("hook log");
    assert!(
        log.ends_with(&format!("{head} {head2} refs/heads/main\n")),
        "{log}"
    );

    let o = f.h.run(&["git", "list", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let repos: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(repos.as_array().map(Vec::len), Some(1), "{repos}");
    assert_eq!(repos[0]["name"], "foo");
    assert!(repos[0]["sizeBytes"].as_u64().expect("size") > 0, "{repos}");
    assert!(repos[0]["lastPush"].is_string(), "{repos}");
    assert!(
        repos[0]["url"]
            .as_str()
            .expect("url")
            .ends_with("/git/foo.git")
    );
    let o = f.h.run(&["git", "list"]);
    let table = stdout(&o);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.lines().nth(1).is_some_and(|l| l.starts_with("foo ")),
        "{table}"
    );

    let log = f.log();
    assert!(log.contains("provisioned git repository"), "{log}");
    assert!(log.contains("git receive-pack done"), "{log}");
    assert!(!log.contains(&write), "the hub never logs a token");
}

#[test]
fn clone_and_fetch_with_a_read_token_speak_protocol_v2() {
    let f = Fixture::start();
    let write = f.token("surface:site:write");
    let read = f.token("surface:site:read");
    let (work, _) = f.work("work", &[("a.txt", b"one\n")]);
    let o = f.git_bearer(&work, &write, &["push", &f.url("site"), "main"]);
    assert!(o.status.success(), "push: {}", stderr(&o));

    let header = format!("http.extraHeader=Authorization: Bearer {read}");
    let o = f
        .git_cmd(
            f.scratch.path(),
            &["-c", &header, "clone", &f.url("site"), "clone"],
        )
        .env("GIT_TRACE_PACKET", "1")
        .output()
        .expect("clone");
    assert!(o.status.success(), "clone: {}", stderr(&o));
    assert!(
        stderr(&o).contains("git< version 2"),
        "the hub answers in protocol v2: {}",
        stderr(&o)
    );
    let clone = f.dir("clone");
    assert_eq!(std::fs::read(clone.join("a.txt")).expect("file"), b"one\n");

    // A new commit upstream, and enough local history that git gzips the
    // negotiation (HTTP_CONTENT_ENCODING must reach the backend).
    let upstream = f.commit(&work, &[("a.txt", b"two\n")], "upstream");
    let o = f.git_bearer(&work, &write, &["push", &f.url("site"), "main"]);
    assert!(o.status.success(), "push: {}", stderr(&o));
    f.git_ok(&clone, &["checkout", "-q", "-b", "local"]);
    for i in 0..80 {
        f.commit(
            &clone,
            &[("local.txt", format!("{i}\n").as_bytes())],
            &format!("local {i}"),
        );
    }
    let o = f
        .git_cmd(&clone, &["-c", &header, "fetch", "origin"])
        .env("GIT_TRACE_CURL", "1")
        .env("GIT_TRACE_CURL_NO_DATA", "1")
        .output()
        .expect("fetch");
    assert!(o.status.success(), "fetch: {}", stderr(&o));
    let trace = stderr(&o);
    assert!(trace.contains("Git-Protocol: version=2"), "{trace}");
    assert!(
        trace.contains("Content-Encoding: gzip"),
        "a gzipped negotiation was exercised: {trace}"
    );
    assert_eq!(f.git_ok(&clone, &["rev-parse", "origin/main"]), upstream);
    assert!(!f.log().contains(&read));
}

#[test]
fn a_5_mib_push_streams_chunked_and_clones_back_intact() {
    let f = Fixture::start();
    let write = f.token("surface:big:write");
    let blob = noise(5 << 20, 5);
    let (work, head) = f.work("work", &[("blob.bin", &blob)]);
    let header = format!("http.extraHeader=Authorization: Bearer {write}");
    let o = f
        .git_cmd(
            &work,
            &[
                "-c",
                &header,
                "-c",
                "http.postBuffer=65536",
                "push",
                &f.url("big"),
                "main",
            ],
        )
        .env("GIT_TRACE_CURL", "1")
        .env("GIT_TRACE_CURL_NO_DATA", "1")
        .output()
        .expect("push");
    assert!(o.status.success(), "push: {}", stderr(&o));
    let trace = stderr(&o);
    assert!(
        trace.contains("Transfer-Encoding: chunked"),
        "the pack went chunked: {trace}"
    );

    let o = f.git_bearer(
        f.scratch.path(),
        &f.token("surface:big:read"),
        &["clone", "-q", &f.url("big"), "back"],
    );
    assert!(o.status.success(), "clone: {}", stderr(&o));
    assert_eq!(f.git_ok(&f.dir("back"), &["rev-parse", "HEAD"]), head);
    assert!(std::fs::read(f.dir("back").join("blob.bin")).expect("blob") == blob);
}

fn git_at_least(major: u32, minor: u32) -> bool {
    let o = Command::new("git").arg("--version").output().expect("git");
    let v = stdout(&o);
    let mut nums = v
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (a, b) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// A credential helper answering `get`: Bearer when git offers the
/// `authtype` capability (git ≥ 2.46), else Basic `x-access-token:<jwt>`;
/// the token comes from `$HELPER_TOKEN`.
const HELPER: &str = r#"#!/bin/sh
[ "$1" = get ] || exit 0
authtype=
while IFS= read -r line && [ -n "$line" ]; do
	case "$line" in 'capability[]=authtype') authtype=1 ;; esac
done
if [ -n "$authtype" ] && [ -n "$HELPER_BEARER" ]; then
	printf 'capability[]=authtype\nauthtype=Bearer\ncredential=%s\nephemeral=1\n' "$HELPER_TOKEN"
else
	printf 'username=x-access-token\npassword=%s\n' "$HELPER_TOKEN"
fi
"#;

#[test]
fn the_401_dance_with_credential_helpers() {
    use std::os::unix::fs::PermissionsExt as _;
    let f = Fixture::start();
    let helper = f.scratch.path().join("helper.sh");
    std::fs::write(&helper, HELPER).expect("helper");
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let helper_cfg = format!("credential.helper={}", helper.display());
    let (work, head) = f.work("work", &[("x", b"x\n")]);
    let push = |token: &str, bearer: bool, name: &str| {
        let mut c = f.git_cmd(
            &work,
            &[
                "-c",
                "credential.helper=",
                "-c",
                &helper_cfg,
                "push",
                &f.url(name),
                "main",
            ],
        );
        c.env("HELPER_TOKEN", token)
            .env("GIT_TRACE_CURL", "1")
            .env("GIT_TRACE_CURL_NO_DATA", "1");
        if bearer {
            c.env("HELPER_BEARER", "1");
        }
        c.output().expect("push")
    };

    // Basic: the first request goes out bare, gets 401 with the challenges,
    // the helper answers, git retries.
    let o = push(&f.token("surface:basic:write"), false, "basic");
    let trace = stderr(&o);
    assert!(o.status.success(), "push: {trace}");
    let lower = trace.to_ascii_lowercase();
    assert!(lower.contains("recv header: http/1.1 401"), "{trace}");
    assert!(
        lower.contains("www-authenticate: basic realm=\"parachute surface git\""),
        "{trace}"
    );
    assert!(lower.contains("www-authenticate: bearer"), "{trace}");
    assert!(trace.contains("Authorization: Basic <redacted>"), "{trace}");
    let bare = f.bare("basic");
    let rev = |bare: &Path| {
        f.git_ok(
            f.scratch.path(),
            &[
                "--git-dir",
                bare.to_str().expect("utf-8"),
                "rev-parse",
                "refs/heads/main",
            ],
        )
    };
    assert_eq!(rev(&bare), head);

    // Bearer through the helper's `authtype` capability.
    if git_at_least(2, 46) {
        let o = push(&f.token("surface:bearer:write"), true, "bearer");
        let trace = stderr(&o);
        assert!(o.status.success(), "push: {trace}");
        assert!(
            trace.contains("Authorization: Bearer <redacted>"),
            "{trace}"
        );
        assert_eq!(rev(&f.bare("bearer")), head);
    } else {
        let _ = writeln!(std::io::stderr(), "SKIP (Bearer helper): needs git ≥ 2.46");
    }

    // A helper with a token the hub refuses: git gives up, nothing is made.
    let o = push("not.a.token", false, "refused");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("Authentication failed"),
        "{}",
        stderr(&o)
    );
    assert!(!f.bare("refused").exists());
}

#[test]
fn a_read_token_cannot_push_and_probes_create_nothing() {
    let f = Fixture::start();
    let read = f.token("surface:foo:read");
    let (work, _) = f.work("work", &[("x", b"x\n")]);
    let o = f.git_bearer(&work, &read, &["push", &f.url("foo"), "main"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("403"), "{}", stderr(&o));

    // Unauthenticated: 401 with both challenges, not cacheable.
    let (status, head) = raw_head(
        f.hub.addr,
        &format!(
            "GET /git/foo/info/refs?service=git-receive-pack HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            f.hub.addr
        ),
    );
    assert_eq!(status, 401, "{head}");
    let mut challenges = header_values(&head, "www-authenticate");
    challenges.sort_unstable();
    // The Bearer one says where to get a token and for what (issue 13).
    assert_eq!(challenges.len(), 2, "{head}");
    assert_eq!(challenges[0], "Basic realm=\"Parachute Surface Git\"");
    assert!(
        challenges[1].starts_with("Bearer resource_metadata=\"http://")
            && challenges[1]
                .ends_with("/.well-known/oauth-protected-resource\", scope=\"surface:foo:write\""),
        "{head}"
    );
    assert_eq!(header_values(&head, "cache-control"), ["no-store"]);

    let r = http(
        f.hub.addr,
        "GET",
        "/git/foo/info/refs?service=git-upload-pack",
        Some("garbage"),
        None,
    );
    assert_eq!(r.status, 401, "{r:?}");

    let r = http(
        f.hub.addr,
        "GET",
        "/git/foo/info/refs?service=git-receive-pack",
        Some(&read),
        None,
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer error=\"insufficient_scope\", scope=\"surface:foo:write\"")
    );
    let r = http(
        f.hub.addr,
        "POST",
        "/git/foo/git-receive-pack",
        Some(&read),
        None,
    );
    assert_eq!(r.status, 403, "{r:?}");
    let r = http(
        f.hub.addr,
        "GET",
        "/git/bar/info/refs?service=git-upload-pack",
        Some(&read),
        None,
    );
    assert_eq!(r.status, 403, "another name: {r:?}");
    for path in [
        "/git/foo",
        "/git/../foo/info/refs",
        "/git/foo/../../etc/passwd",
    ] {
        assert_eq!(
            http(f.hub.addr, "GET", path, None, None).status,
            404,
            "{path}"
        );
    }

    let o = f.git(f.scratch.path(), &["ls-remote", &f.url("foo")]);
    assert!(
        !o.status.success(),
        "no credential, no prompt: {}",
        stderr(&o)
    );

    assert!(!f.bare("foo").exists());
    assert!(!f.bare("bar").exists());
    let root = f.h.home().join("hub/git");
    let made = std::fs::read_dir(&root).map_or(0, Iterator::count);
    assert_eq!(made, 0, "no repository was created");
}

#[test]
fn concurrent_first_pushes_provision_once() {
    let f = Fixture::start();
    let write = f.token("surface:race:write");
    let works: Vec<(PathBuf, String)> = (0..4)
        .map(|i| f.work(&format!("w{i}"), &[("f", format!("{i}\n").as_bytes())]))
        .collect();
    let header = format!("http.extraHeader=Authorization: Bearer {write}");
    let url = f.url("race");
    let handles: Vec<_> = works
        .iter()
        .enumerate()
        .map(|(i, (dir, _))| {
            let refspec = format!("main:refs/heads/b{i}");
            let mut cmd = f.git_cmd(dir, &["-c", &header, "push", &url, &refspec]);
            std::thread::spawn(move || cmd.output().expect("push"))
        })
        .collect();
    let results: Vec<Output> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    for o in &results {
        assert!(o.status.success(), "push: {}", stderr(o));
    }
    let bare = f.bare("race");
    for (i, (_, head)) in works.iter().enumerate() {
        let got = f.git_ok(
            f.scratch.path(),
            &[
                "--git-dir",
                bare.to_str().expect("utf-8"),
                "rev-parse",
                &format!("refs/heads/b{i}"),
            ],
        );
        assert_eq!(&got, head);
    }
    let log = f.log();
    assert_eq!(
        log.matches("provisioned git repository").count(),
        1,
        "{log}"
    );
}

#[test]
fn a_push_over_the_body_cap_is_refused() {
    let h = Home::with_owner();
    let mut cmd = h.cmd(&["serve"]);
    cmd.env("PORT", "0")
        .env("PARACHUTE_GIT_MAX_REQUEST_BYTES", "1m");
    let hub = Hub::spawn(cmd);
    let f = Fixture::with(h, hub);
    let write = f.token("surface:capped:write");

    // Declared too long: 413 before anything runs.
    let (status, head) = raw_head(
        f.hub.addr,
        &format!(
            "POST /git/capped/git-receive-pack HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {write}\r\nContent-Type: application/x-git-receive-pack-request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            f.hub.addr,
            2 << 20
        ),
    );
    assert_eq!(status, 413, "{head}");

    // Chunked past the cap: the push fails and no ref lands.
    let (work, _) = f.work("work", &[("blob.bin", &noise(3 << 20, 7))]);
    let o = f.git_bearer(&work, &write, &["push", &f.url("capped"), "main"]);
    assert!(!o.status.success(), "the push must fail");
    let refs = f.git(
        f.scratch.path(),
        &[
            "--git-dir",
            f.bare("capped").to_str().expect("utf-8"),
            "show-ref",
        ],
    );
    assert_eq!(stdout(&refs), "", "no ref landed");
    wait_for(Duration::from_secs(10), "the cap warning", || {
        f.hub
            .drain_log()
            .iter()
            .any(|l| l.contains("over the limit"))
    });
}

/// Pids of the hub's direct children (spawned from any of its threads).
pub(super) fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Live (not zombie) processes in process group `pgid`.
pub(super) fn group_members(pgid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let (_, rest) = s.rsplit_once(')')?;
                    let fields: Vec<&str> = rest.split_whitespace().collect();
                    let state = *fields.first()?;
                    let group: u32 = fields.get(2)?.parse().ok()?;
                    Some(group == pgid && state != "Z" && state != "X")
                })
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn a_client_that_disconnects_stops_the_backend() {
    let f = Fixture::start();
    let write = f.token("surface:gone:write");
    // Provision first, so the only child below is the backend.
    let r = http(
        f.hub.addr,
        "GET",
        "/git/gone/info/refs?service=git-receive-pack",
        Some(&write),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let hub_pid = f.hub.pid();
    wait_for(Duration::from_secs(10), "no backend running", || {
        children(hub_pid).is_empty()
    });

    let mut s = TcpStream::connect(f.hub.addr).expect("connect");
    let head = format!(
        "POST /git/gone/git-receive-pack HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {write}\r\nContent-Type: application/x-git-receive-pack-request\r\nTransfer-Encoding: chunked\r\n\r\n",
        f.hub.addr
    );
    s.write_all(head.as_bytes()).expect("head");
    // Half a pkt-line: receive-pack waits for the rest.
    s.write_all(b"6\r\n0098ab\r\n").expect("chunk");
    s.flush().expect("flush");
    // The backend leads its own process group: between the fork and the
    // exec it is the hub's child but not yet in that group, so wait for both.
    let mut backend = Vec::new();
    wait_for(
        Duration::from_secs(10),
        "the backend to start in its own group",
        || {
            backend = children(hub_pid);
            backend
                .first()
                .is_some_and(|&p| !group_members(p).is_empty())
        },
    );
    let pgid = backend[0];
    drop(s);
    wait_for(Duration::from_secs(10), "the backend to be stopped", || {
        group_members(pgid).is_empty()
    });
}
