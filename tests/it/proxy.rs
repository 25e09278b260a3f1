//! Issue 11: every module under the hub's origin. A real hub process in
//! front of real modules (`tests/modules/proxied/server.py`) installed with
//! `parachute install` on the harness's `systemd --user`.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::cli::Parachute;
use crate::support::http::{self, Response};
use crate::support::hub::{Hub, serve_with, stderr, wait_for};
use crate::support::{module, systemd};

const SERVER: &str = include_str!("../modules/proxied/server.py");

/// Write the test module as `name` with `paths` (plus `extra` module.json
/// fields) and `parachute install` it (`--no-start` when `start` is false).
pub(crate) fn install(
    p: &Parachute,
    root: &Path,
    name: &str,
    paths: &[&str],
    extra: &Value,
    start: bool,
) -> PathBuf {
    let mut m = json!({
        "paths": paths,
        "health": format!("{}/health", paths[0]),
        "startCmd": ["/usr/bin/python3", "server.py", name],
    });
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    let dir = module::write(root, name, name, &m, &[("server.py", SERVER)]);
    module::install(p, &dir, if start { &[] } else { &["--no-start"] });
    dir
}

/// `parachute serve` for `p`'s home on an ephemeral port (on every
/// interface when `all`, so a non-loopback peer can be tested).
pub(crate) fn hub(p: &Parachute, all: bool) -> Hub {
    let host = if all { "0.0.0.0" } else { "127.0.0.1" };
    serve_with(p.cmd(&["serve"]), &[("PARACHUTE_BIND_HOST", host)])
}

/// The hub's address as loopback clients use it.
pub(crate) fn local(hub: &Hub) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], hub.addr.port()))
}

/// One request (`head` without its final blank line) on a fresh connection.
pub(crate) fn send(addr: SocketAddr, head: &str) -> Response {
    http::exchange(addr, &format!("{head}\r\nConnection: close\r\n\r\n"))
        .unwrap_or_else(|e| panic!("{addr}: {e}"))
}

pub(crate) fn get(addr: SocketAddr, path: &str, extra: &str) -> Response {
    let host = format!("Host: 127.0.0.1:{}", addr.port());
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("\r\n{extra}")
    };
    send(addr, &format!("GET {path} HTTP/1.1\r\n{host}{extra}"))
}

/// Wait until the module answers through the hub.
fn wait_routed(addr: SocketAddr, path: &str) {
    wait_for(
        Duration::from_secs(20),
        &format!("{path} through the hub"),
        || get(addr, path, "").status == 200,
    );
}

#[test]
fn the_hub_routes_by_longest_prefix_strips_and_rewrites_headers() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("pxouter");
    let _b = p.uninstall_on_drop("pxinner");
    install(&p, tmp.path(), "pxouter", &["/pxo"], &json!({}), true);
    install(
        &p,
        tmp.path(),
        "pxinner",
        &["/pxo/inner"],
        &json!({"stripPrefix": true}),
        true,
    );
    let hub = hub(&p, false);
    let addr = local(&hub);
    wait_routed(addr, "/pxo/health");
    wait_routed(addr, "/pxo/inner/health");

    // Longest prefix, on segment boundaries; stripPrefix; the query verbatim.
    let r = get(addr, "/pxo/a/b?x=1&y=%2F+z", "");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["module"], "pxouter");
    assert_eq!(r.json()["path"], "/pxo/a/b?x=1&y=%2F+z");
    let r = get(addr, "/pxo/inner/deep?q=%20", "");
    assert_eq!(r.json()["module"], "pxinner");
    assert_eq!(r.json()["path"], "/deep?q=%20", "the prefix is stripped");
    assert_eq!(get(addr, "/pxo/innerx", "").json()["module"], "pxouter");
    let r = get(addr, "/pxoz", "");
    assert_eq!(r.status, 404, "`/pxo` does not match `/pxoz`: {r:?}");
    assert_eq!(r.json()["error"], "not_found");
    // Hub-owned prefixes still answer as the hub.
    assert_eq!(get(addr, "/health", "").json()["service"], "parachute-hub");

    // Hop-by-hop headers, hub cookies and forged forwarding headers go;
    // Authorization and Mcp-* pass; the hub sets the forwarding headers.
    let r = get(
        addr,
        "/pxo/echo",
        "Connection: X-Drop-Me\r\nX-Drop-Me: 1\r\nCookie: parachute_hub_session=s3cret; theme=dark; parachute_hub_csrf=c\r\n\
         X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nAuthorization: Bearer abc\r\nMcp-Session-Id: m-1",
    );
    let h = &r.json()["headers"];
    assert!(h.get("x-drop-me").is_none(), "{h}");
    assert_eq!(h["cookie"], json!(["theme=dark"]));
    assert_eq!(h["x-forwarded-for"], json!(["127.0.0.1"]));
    assert_eq!(h["x-forwarded-proto"], json!(["http"]));
    assert_eq!(
        h["x-forwarded-host"],
        json!([format!("127.0.0.1:{}", addr.port())])
    );
    assert_eq!(
        h["forwarded"],
        json!([format!(
            "for=127.0.0.1;proto=http;host=\"127.0.0.1:{}\"",
            addr.port()
        )])
    );
    assert_eq!(h["authorization"], json!(["Bearer abc"]));
    assert_eq!(h["mcp-session-id"], json!(["m-1"]));
    // The module's hop-by-hop headers and its hub-cookie Set-Cookie go.
    assert!(r.header("x-module-internal").is_none(), "{}", r.headers);
    assert!(r.header("keep-alive").is_none(), "{}", r.headers);
    assert!(
        !r.headers.contains("parachute_hub_session"),
        "{}",
        r.headers
    );
    assert!(r.headers.contains("module_pref=1"), "{}", r.headers);

    // A module's own 401 challenge passes intact.
    let r = get(addr, "/pxo/challenge", "");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            "Bearer resource_metadata=\"https://module.example/prm\", error=\"invalid_token\", scope=\"m:read\""
        )
    );
    // So does a bare one: only a vault's challenge is completed by the hub.
    let r = get(addr, "/pxo/bare-challenge", "");
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{r:?}");

    // A foreign Host is refused before any module sees it.
    let r = send(addr, "GET /pxo/echo HTTP/1.1\r\nHost: evil.example");
    assert_eq!(r.status, 421, "{r:?}");

    // Discovery lists both as routable and running.
    let d = get(addr, "/.well-known/parachute.json", "").json();
    let services = d["services"].as_array().expect("services");
    for s in services {
        assert_eq!(s["routable"], true, "{s}");
        assert_eq!(s["state"], "running", "{s}");
    }
    assert_eq!(services.len(), 2, "{d}");
}

#[test]
fn sse_arrives_event_by_event_and_websockets_are_bridged_with_the_subprotocol() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("pxstream");
    install(
        &p,
        tmp.path(),
        "pxstream",
        &["/pxs"],
        &json!({"websocket": true}),
        true,
    );
    let hub = hub(&p, false);
    let addr = local(&hub);
    wait_routed(addr, "/pxs/health");

    // The module sends one event, waits 3 s, sends another and closes.
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = Instant::now();
    write!(
        s,
        "GET /pxs/sse HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: text/event-stream\r\n\r\n",
        addr.port()
    )
    .expect("write");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("data: first") {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "stream ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let first = started.elapsed();
    assert!(
        first < Duration::from_secs(2),
        "first event after {first:?}"
    );
    assert!(!seen.contains("data: last"), "{seen}");
    let head = seen.to_ascii_lowercase();
    assert!(head.contains("content-type: text/event-stream"), "{seen}");
    assert!(head.contains("x-accel-buffering: no"), "{seen}");
    assert!(!head.contains("content-encoding"), "{seen}");

    // WebSocket: the subprotocol the module chose, then an echo.
    let (mut ws, head) =
        http::websocket(addr, "/pxs/ws", "Sec-WebSocket-Protocol: chat, echo.v2\r\n");
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("sec-websocket-protocol: echo.v2"), "{head}");
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    let mask = [1u8, 2, 3, 4];
    let payload: Vec<u8> = b"hello"
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    let mut frame = vec![0x81, 0x80 | 5];
    frame.extend_from_slice(&mask);
    frame.extend_from_slice(&payload);
    ws.write_all(&frame).expect("send frame");
    let mut reply = [0u8; 12];
    ws.read_exact(&mut reply).expect("read frame");
    assert_eq!(reply[0], 0x81);
    assert_eq!(&reply[2..], b"echo:hello");
}

/// The hub's peak resident set, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_gibibyte_streams_up_and_down_through_the_hub_with_flat_memory() {
    const GIB: u64 = 1 << 30;
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("pxbulk");
    install(&p, tmp.path(), "pxbulk", &["/pxb"], &json!({}), true);
    let hub = hub(&p, false);
    let addr = local(&hub);
    wait_routed(addr, "/pxb/health");
    let before = peak_rss_kib(hub.pid());

    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    write!(
        s,
        "POST /pxb/upload HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/octet-stream\r\nContent-Length: {GIB}\r\nConnection: close\r\n\r\n",
        addr.port()
    )
    .expect("write");
    let block = vec![b'u'; 1 << 20];
    for _ in 0..(GIB >> 20) {
        s.write_all(&block).expect("upload");
    }
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let r = http::parse(&raw);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["bytes"], GIB);

    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    write!(
        s,
        "GET /pxb/download?bytes={GIB} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    )
    .expect("write");
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = s.read(&mut buf).expect("download");
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    assert!(
        total > GIB && total < GIB + 4096,
        "headers + 1 GiB, got {total}"
    );
    let after = peak_rss_kib(hub.pid());
    assert!(
        after < before + 64 * 1024,
        "hub peak RSS grew from {before} KiB to {after} KiB moving 2 GiB"
    );
}

#[test]
fn loopback_only_rows_and_a_stopped_module_answer_as_the_issue_says() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let Some(lan) = lan_address() else {
        let _ = writeln!(std::io::stderr(), "SKIP: no non-loopback IPv4 address");
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("pxlocal");
    let _b = p.uninstall_on_drop("pxdown");
    install(&p, tmp.path(), "pxlocal", &["/pxl"], &json!({}), true);
    // Stopped, and a request starts it (issue 11, start on demand); this one
    // never serves, so its health check times out and the start fails.
    install(
        &p,
        tmp.path(),
        "pxdown",
        &["/pxd"],
        &json!({"startCmd": ["/bin/sleep", "600"], "startTimeoutMs": 1500}),
        false,
    );
    // Modules write their own exposure into their row.
    let sj = p.home().join("services.json");
    let mut doc: Value =
        serde_json::from_str(&fs::read_to_string(&sj).expect("read")).expect("json");
    for row in doc["services"].as_array_mut().expect("rows") {
        if row["name"] == "parachute-pxlocal" {
            row["publicExposure"] = "loopback".into();
        }
    }
    fs::write(&sj, doc.to_string()).expect("write");
    let hub = hub(&p, true);
    let addr = local(&hub);
    wait_routed(addr, "/pxl/health");
    let remote = SocketAddr::from((lan, hub.addr.port()));
    let r = get(remote, "/pxl/echo", "");
    assert_eq!(r.status, 404, "a non-loopback peer does not see it: {r:?}");
    assert_eq!(
        get(remote, "/health", "").status,
        200,
        "the hub itself answers it"
    );

    // A module that is not running: 502, naming it and the fixes.
    let r = get(addr, "/pxd/anything", "Accept: application/json");
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(r.header("retry-after"), Some("5"));
    let j = r.json();
    assert!(
        j["error"]
            .as_str()
            .is_some_and(|e| e.contains("`parachute-pxdown` is not answering")),
        "{j}"
    );
    assert_eq!(
        j["fix"],
        json!(["parachute start pxdown", "parachute logs pxdown"])
    );
    let r = get(addr, "/pxd/", "Accept: text/html,application/xhtml+xml");
    assert_eq!(r.status, 502);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{r:?}"
    );
    assert!(
        r.body.contains("<code>parachute start pxdown</code>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<code>parachute logs pxdown</code>"),
        "{}",
        r.body
    );
    let d = get(addr, "/.well-known/parachute.json", "").json();
    let down = d["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "parachute-pxdown").cloned())
        .expect("listed");
    assert_eq!(down["state"], "stopped", "{d}");
}

#[test]
fn a_vault_modules_bare_401_names_its_metadata_and_scope_through_the_hub() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("vault-pxv");
    install(
        &p,
        tmp.path(),
        "vault-pxv",
        &["/vault/pxv"],
        &json!({}),
        true,
    );
    let hub = hub(&p, false);
    let addr = local(&hub);
    wait_routed(addr, "/vault/pxv/health");
    let r = get(addr, "/vault/pxv/mcp/bare-challenge", "");
    assert_eq!(r.status, 401, "{r:?}");
    let challenge = r.header("www-authenticate").expect("challenge");
    assert!(
        challenge.starts_with("Bearer resource_metadata=\"http://127.0.0.1:")
            && challenge.contains("/.well-known/oauth-protected-resource/vault/pxv/mcp\"")
            && challenge.ends_with("scope=\"vault:pxv:read\""),
        "{challenge}"
    );
    // The metadata it names is the hub's, for this vault.
    let prm = get(
        addr,
        "/.well-known/oauth-protected-resource/vault/pxv/mcp",
        "",
    )
    .json();
    assert!(
        prm["resource"]
            .as_str()
            .is_some_and(|r| r.ends_with("/vault/pxv/mcp")),
        "{prm}"
    );
}

/// Whether `short`'s unit runs, as systemd says it.
fn is_active(mgr: &systemd::SystemdEnv, short: &str) -> String {
    let o = mgr.systemctl(["is-active", &format!("parachute-{short}.service")]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn a_stopped_vaults_metadata_is_the_hubs_and_does_not_start_it() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let _a = p.uninstall_on_drop("vault-pxmeta");
    install(
        &p,
        tmp.path(),
        "vault-pxmeta",
        &["/vault/pxmeta"],
        &json!({}),
        false,
    );
    let hub = hub(&p, false);
    let addr = local(&hub);
    let path = "/vault/pxmeta/.well-known/oauth-protected-resource";
    let hubs_document = |r: &Response| {
        r.status == 200
            && r.json()["resource"]
                .as_str()
                .is_some_and(|u| u.ends_with("/vault/pxmeta/mcp"))
    };
    // Discovery is not use: the module stays stopped.
    let r = get(addr, path, "Accept: application/json");
    assert!(hubs_document(&r), "{r:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(is_active(mgr, "vault-pxmeta"), "inactive");
    // Running, its answer there (an echo, no `resource`) is no document.
    let o = p.run(&["start", "vault-pxmeta"]);
    assert!(o.status.success(), "start: {}", stderr(&o));
    wait_routed(addr, "/vault/pxmeta/health");
    let r = get(addr, path, "");
    assert!(hubs_document(&r), "{r:?}");
}

#[test]
fn install_refuses_a_module_that_claims_a_hub_prefix() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let dir = tmp.path().join("grabby");
    fs::create_dir_all(dir.join(".parachute")).expect("mkdir");
    fs::write(
        dir.join(".parachute/module.json"),
        r#"{"name":"grabby","manifestName":"parachute-grabby","port":1951,"paths":["/grabby","/oauth/token"],"health":"/grabby/health"}"#,
    )
    .expect("write");
    let o = p.run(&["install", dir.to_str().expect("utf8"), "--no-start"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("\"/oauth/token\" is under `/oauth`, which the hub answers itself"),
        "{}",
        stderr(&o)
    );
    assert!(
        !tmp.path().join("home/services.json").exists(),
        "nothing registered"
    );
}

/// This machine's first non-loopback IPv4 address.
fn lan_address() -> Option<std::net::IpAddr> {
    let o = Command::new("hostname").arg("-I").output().ok()?;
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<std::net::IpAddr>().ok())
        .find(|a| a.is_ipv4() && !a.is_loopback())
}
