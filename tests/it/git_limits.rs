//! Bounds on the git backends and the smaller git holes of issue 8: a cap
//! on concurrent backends (429 with `Retry-After`), a deadline that kills a
//! stalled one, a foreground hub killed with `-9` taking its backend with
//! it, `service=` read the way `git http-backend` reads it, and repository
//! names that differ only in case being one repository.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::git::{children, group_members, raw_head};
use crate::support::hub::{Home, Hub, http, wait_for};

/// Start a push whose body stops after half a pkt-line: `receive-pack`
/// waits for the rest, holding its backend.
pub(super) fn stalled_push(addr: SocketAddr, repo: &str, token: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "POST /git/{repo}/git-receive-pack HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-git-receive-pack-request\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(b"6\r\n0098ab\r\n").expect("chunk");
    s.flush().expect("flush");
    s
}

/// Provision `repo` with a discovery request (so later children are backends).
fn provision(hub: &Hub, repo: &str, token: &str) {
    let r = http(
        hub.addr,
        "GET",
        &format!("/git/{repo}/info/refs?service=git-receive-pack"),
        Some(token),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
}

fn serve_with(h: &Home, env: &[(&str, &str)]) -> Hub {
    let mut cmd = h.cmd(&["serve"]);
    cmd.env("PORT", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Hub::spawn(cmd)
}

#[test]
fn past_the_backend_cap_git_gets_429_with_retry_after() {
    let h = Home::with_owner();
    let hub = serve_with(&h, &[("PARACHUTE_GIT_MAX_BACKENDS", "2")]);
    let write = h.mint(&["--scope", "surface:busy:write"]);
    provision(&hub, "busy", &write);
    let hub_pid = hub.pid();
    wait_for(Duration::from_secs(10), "no backend running", || {
        children(hub_pid).is_empty()
    });
    let first = stalled_push(hub.addr, "busy", &write);
    let second = stalled_push(hub.addr, "busy", &write);
    wait_for(Duration::from_secs(10), "two backends", || {
        children(hub_pid).len() == 2
    });

    let (status, head) = raw_head(
        hub.addr,
        &format!(
            "GET /git/busy/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {write}\r\nConnection: close\r\n\r\n",
            hub.addr
        ),
    );
    assert_eq!(status, 429, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("\r\nretry-after: 5\r\n"),
        "{head}"
    );
    assert_eq!(children(hub_pid).len(), 2, "no third backend was started");

    // A slot frees when its backend's group is gone; then git is served again.
    drop(first);
    wait_for(Duration::from_secs(10), "a free slot", || {
        http(
            hub.addr,
            "GET",
            "/git/busy/info/refs?service=git-upload-pack",
            Some(&write),
            None,
        )
        .status
            == 200
    });
    drop(second);
}

#[test]
fn a_stalled_backend_is_killed_at_its_deadline() {
    let h = Home::with_owner();
    let hub = serve_with(&h, &[("PARACHUTE_GIT_DEADLINE_SECS", "2")]);
    let write = h.mint(&["--scope", "surface:slow:write"]);
    provision(&hub, "slow", &write);
    let hub_pid = hub.pid();
    wait_for(Duration::from_secs(10), "no backend running", || {
        children(hub_pid).is_empty()
    });
    let started = Instant::now();
    let mut s = stalled_push(hub.addr, "slow", &write);
    let mut backend = Vec::new();
    wait_for(Duration::from_secs(10), "the backend to start", || {
        backend = children(hub_pid);
        !backend.is_empty()
    });
    let pgid = backend[0];
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    // `receive-pack` answers its headers before it reads the body, so the
    // deadline cuts the response short: the hub closes the connection
    // without the last chunk.
    let mut answer = Vec::new();
    let read = std::io::Read::read_to_end(&mut s, &mut answer);
    assert!(
        !matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the response never ended"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 504") || !answer.ends_with("0\r\n\r\n"),
        "a complete response from a stalled push: {answer:?}"
    );
    wait_for(
        Duration::from_secs(10),
        "the backend group to be gone",
        || group_members(pgid).is_empty(),
    );
    assert!(started.elapsed() < Duration::from_secs(12));
}

/// A `git` whose `http-backend` ignores EOF and SIGTERM alike (as one stuck
/// in a loop would): only a SIGKILL ends it.
fn stubborn_git(dir: &Path) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    let script = dir.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = http-backend ]; then trap '' TERM PIPE; exec sleep 300; fi\nPATH='{path}' exec git \"$@\"\n"
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    format!("{}:{path}", dir.display())
}

#[test]
fn a_killed_foreground_hub_takes_its_backend_with_it() {
    let h = Home::with_owner();
    let bin = tempfile::tempdir().expect("tmp");
    let path = stubborn_git(bin.path());
    let mut hub = serve_with(&h, &[("PATH", &path)]);
    let write = h.mint(&["--scope", "surface:crash:write"]);
    let hub_pid = hub.pid();
    // The stub answers nothing, so the request hangs with its backend alive.
    let _push = stalled_push(hub.addr, "crash", &write);
    // The stub's `sleep` (provisioning runs real `git` children first).
    let mut backend = Vec::new();
    wait_for(Duration::from_secs(10), "the backend to start", || {
        backend = children(hub_pid)
            .into_iter()
            .filter(|c| {
                std::fs::read_to_string(format!("/proc/{c}/comm"))
                    .is_ok_and(|s| s.trim() == "sleep")
            })
            .collect();
        !backend.is_empty()
    });
    let pgid = backend[0];
    assert!(!group_members(pgid).is_empty());
    hub.kill();
    wait_for(
        Duration::from_secs(5),
        "the backend to die with the hub",
        || group_members(pgid).is_empty(),
    );
}

#[test]
fn service_is_read_as_git_reads_it_and_never_twice() {
    let h = Home::with_owner();
    let hub = serve_with(&h, &[]);
    let write = h.mint(&["--scope", "surface:svc:write"]);
    provision(&hub, "svc", &write);
    let read = h.mint(&["--scope", "surface:svc:read"]);
    let get = |query: &str| {
        raw_head(
            hub.addr,
            &format!(
                "GET /git/svc/info/refs?{query} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {read}\r\nConnection: close\r\n\r\n",
                hub.addr
            ),
        )
    };
    // Twice (git would act on the last one): refused outright.
    let (status, head) = get("service=git-upload-pack&service=git-receive-pack");
    assert_eq!(status, 400, "{head}");
    // Percent-encoded, name or value: git decodes both, and so does the hub,
    // so a read token is not enough for the receive-pack advertisement.
    for q in [
        "%73ervice=git-receive-pack",
        "service=git-receive%2Dpack",
        "service=git%2dreceive-pack",
    ] {
        let (status, head) = get(q);
        assert_eq!(status, 403, "{q}: {head}");
    }
    let (status, head) = get("service=git-upload-pack");
    assert_eq!(status, 200, "{head}");
}

#[test]
fn names_that_differ_only_in_case_are_one_repository() {
    let h = Home::with_owner();
    let hub = serve_with(&h, &[]);
    let lower = h.mint(&["--scope", "surface:foo:write"]);
    let upper = h.mint(&["--scope", "surface:FOO:write"]);
    let git = h.home().join("hub/git");

    // `/git/FOO` is `foo.git`, guarded by `surface:foo:write`.
    provision(&hub, "FOO", &lower);
    assert!(git.join("foo.git/HEAD").is_file());
    assert!(!git.join("FOO.git").exists(), "no second repository");
    provision(&hub, "Foo.git", &lower);

    // A scope spelled in upper case names no repository at all.
    for path in ["FOO", "foo"] {
        let r = http(
            hub.addr,
            "GET",
            &format!("/git/{path}/info/refs?service=git-receive-pack"),
            Some(&upper),
            None,
        );
        assert_eq!(r.status, 403, "{path}: {r:?}");
    }
    let names: Vec<String> = std::fs::read_dir(&git)
        .expect("git root")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(names, ["foo.git"]);
}
