//! Issue 14: live logs over one-time SSE tickets (seed 004), over a real
//! hub process. The ticket rules (single use, the minter's credential, a
//! session's CSRF header, no JWT in the URL, step-up for the hub's own log)
//! need no init system; the stream itself runs against the harness's real
//! `systemd --user` and journald, with a module that prints a numbered
//! line several times a second.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::two_factor::{Web, now, password_step};
use crate::support::cli::Parachute;
use crate::support::http::{Request, Response};
use crate::support::hub::{
    Home, Hub, SET_PASSWORD, claims, http, serve_with, set_password, stderr, wait_for,
};
use crate::support::{module, systemd};
use parachute::identity::step_up as pin;
use parachute::store::Store;

const TICKET: &str = "/api/ui/sse-ticket";
const PIN: &str = "4242";

/// A module that prints `tick <n> at=<unix ms>` every 200 ms (and answers
/// `/health`: [`module::with_ok_server`]).
const TICKER: &str = r#"
import http.server, os, sys, threading, time
def tick():
    n = 0
    while True:
        print(f"tick {n} at={int(time.time() * 1000)}", flush=True)
        n += 1
        time.sleep(0.2)
threading.Thread(target=tick, daemon=True).start()
"#;

fn stream_path(svc: &str, ticket: &str) -> String {
    format!("/api/services/{svc}/logs/stream?ticket={ticket}")
}

/// Mint a ticket with the bearer `token` (and a step-up token); the answer.
fn mint(addr: SocketAddr, token: &str, step_up: Option<&str>) -> (u16, Value) {
    let r = Request::post(TICKET)
        .bearer(token)
        .step_up(step_up)
        .send(addr);
    let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

fn ticket(addr: SocketAddr, token: &str) -> String {
    let (status, v) = mint(addr, token, None);
    assert_eq!(status, 200, "{v}");
    v["ticket"].as_str().expect("ticket").to_string()
}

/// `GET` the log stream of `svc` with `ticket`, read to the end.
fn stream(addr: SocketAddr, svc: &str, ticket: &str) -> Response {
    Request::get(&stream_path(svc, ticket)).send(addr)
}

/// An open event stream, read as it comes.
struct Sse {
    s: TcpStream,
    status: u16,
    head: String,
    text: String,
}

impl Sse {
    fn open(addr: SocketAddr, path: &str, extra: &[String]) -> Self {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        let mut req =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for h in extra {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("send");
        let mut sse = Self {
            s,
            status: 0,
            head: String::new(),
            text: String::new(),
        };
        sse.until(Duration::from_secs(10), |t| t.contains("\r\n\r\n"));
        let (head, rest) = sse.text.split_once("\r\n\r\n").expect("head");
        sse.head = head.to_string();
        sse.status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status");
        sse.text = rest.to_string();
        sse
    }

    /// Read until `done(text so far)` or `limit` passes; whether it was done.
    fn until(&mut self, limit: Duration, done: impl Fn(&str) -> bool) -> bool {
        let end = Instant::now() + limit;
        let mut buf = [0u8; 8192];
        while !done(&self.text) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.s.set_read_timeout(Some(left)).expect("timeout");
            match self.s.read(&mut buf) {
                Ok(0) | Err(_) => return done(&self.text),
                Ok(n) => self.text.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        true
    }

    /// The `(id, n)` of every complete `tick <n>` event read so far.
    fn ticks(&self) -> Vec<(String, u64)> {
        self.tick_events()
            .into_iter()
            .filter_map(|(id, data)| {
                let n = data
                    .rsplit_once("tick ")?
                    .1
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()?;
                Some((id, n))
            })
            .collect()
    }

    /// The `(id, data)` of every complete `tick` event read so far (the
    /// data is unique: it carries the time it was printed).
    fn tick_events(&self) -> Vec<(String, String)> {
        events(&self.text)
            .into_iter()
            .filter_map(|(id, data)| Some((id?, data)).filter(|(_, d)| d.contains("tick ")))
            .collect()
    }
}

/// The log stream of `svc`, opened with a fresh ticket of the bearer `op`
/// and `extra` header lines.
fn follow(addr: SocketAddr, svc: &str, op: &str, extra: &[String]) -> Sse {
    Sse::open(addr, &stream_path(svc, &ticket(addr, op)), extra)
}

/// The operator token `set-password` wrote into `p`'s home.
fn operator_token(p: &Parachute) -> String {
    let t = fs::read_to_string(p.home().join("operator.token")).expect("operator.token");
    t.trim().to_string()
}

/// The events of a (chunked) SSE body: `(id, data)` per event.
fn events(text: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let (mut id, mut data) = (None, String::new());
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        } else if line.trim().is_empty() && (id.is_some() || !data.is_empty()) {
            out.push((id.take(), std::mem::take(&mut data)));
        }
    }
    out
}

#[test]
fn tickets_are_single_use_bound_to_their_credential_and_never_a_jwt_in_the_url() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let op = home.operator_token();

    // No credential, a bad one: 401, and nothing minted.
    assert_eq!(Request::post(TICKET).send(hub.addr).status, 401);
    assert_eq!(mint(hub.addr, "not-a-jwt", None).0, 401);
    let (status, v) = mint(hub.addr, &op, None);
    assert_eq!(status, 200, "{v}");
    let t = v["ticket"].as_str().expect("ticket");
    let exp: jiff::Timestamp = v["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .expect("RFC 3339");
    let left = exp.as_second() - now();
    assert!((50..=60).contains(&left), "lives at most 60 s: {left}");

    // A ticket opens once: the first use gets past it (here to the 404 of
    // a service that does not exist), the second is 401.
    let first = stream(hub.addr, "nosuch", t);
    assert_eq!(first.status, 404, "{}", first.body);
    let again = stream(hub.addr, "nosuch", t);
    assert_eq!(again.status, 401, "{}", again.body);
    assert_eq!(stream(hub.addr, "nosuch", "forged").status, 401);
    let none = http(
        hub.addr,
        "GET",
        "/api/services/nosuch/logs/stream",
        None,
        None,
    );
    assert_eq!(none.status, 401);

    // A JWT in the URL is refused by name, whatever else comes with it.
    let t = ticket(hub.addr, &op);
    let r = http(
        hub.addr,
        "GET",
        &format!("{}&token={op}", stream_path("nosuch", &t)),
        None,
        None,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("/api/ui/sse-ticket"), "{}", r.body);

    // The ticket carries only its minter's scopes: a token without the
    // host-admin scope mints one that opens no stream.
    let weak = home.mint(&["--scope", "parachute:host:auth"]);
    let t = ticket(hub.addr, &weak);
    let r = stream(hub.addr, "nosuch", &t);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("insufficient_scope"), "{}", r.body);
}

#[test]
fn a_session_mints_only_with_its_csrf_header_from_the_hubs_origin() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut web = Web::new(hub.addr);
    let r = password_step(&mut web, "/admin");
    assert_eq!(r.status, 303, "{r:?}");
    let csrf = web.get("/admin/security").csrf();
    let origin = format!("http://{}", hub.addr);
    let jar = || web.jar.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let without = Request::post(TICKET)
        .session(jar(), &csrf, &origin)
        .without(&["X-CSRF-Token"])
        .send(hub.addr);
    assert_eq!(without.status, 403, "{}", without.body);
    assert!(without.body.contains("csrf_failed"), "{}", without.body);
    let evil = Request::post(TICKET)
        .session(jar(), &csrf, "https://evil.example")
        .send(hub.addr);
    assert_eq!(evil.status, 403, "{}", evil.body);
    let ok = Request::post(TICKET)
        .session(jar(), &csrf, &origin)
        .send(hub.addr);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(
        ok.headers
            .to_ascii_lowercase()
            .contains("cache-control: no-store")
    );
    let v: Value = serde_json::from_str(&ok.body).expect("json");
    let t = v["ticket"].as_str().expect("ticket");
    // The owner's session holds the host-admin scope: past the ticket to the 404.
    let r = stream(hub.addr, "nosuch", t);
    assert_eq!(r.status, 404, "{}", r.body);
}

/// A step-up token for the bearer `token` of the owner, with a PIN set.
fn step_up_for(home: &Path, token: &str) -> String {
    let store = Store::open(&home.join("hub.db")).expect("store");
    let c = claims(token);
    let sub = c["sub"].as_str().expect("sub");
    let _ = pin::set_pin(&store, sub, PIN, None, now());
    let holder = pin::bearer_holder(c["jti"].as_str().expect("jti"));
    pin::verify(&store, sub, &holder, PIN, now())
        .expect("step-up")
        .token
}

#[test]
fn the_hubs_own_log_needs_a_ticket_minted_with_step_up() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let op = home.operator_token();
    let t = ticket(hub.addr, &op);
    let r = stream(hub.addr, "hub", &t);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("step_up_required"), "{}", r.body);
    // A step-up token presented at mint time must be this bearer's.
    let (status, v) = mint(hub.addr, &op, Some("forged"));
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"], "step_up_required");
    let s = step_up_for(&home.home(), &op);
    let (status, v) = mint(hub.addr, &op, Some(&s));
    assert_eq!(status, 200, "{v}");
    let t = v["ticket"].as_str().expect("ticket");
    let sse = Sse::open(hub.addr, &stream_path("hub", t), &[]);
    assert_eq!(sse.status, 200, "{}", sse.head);
    assert!(
        sse.head
            .to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{}",
        sse.head
    );
}

/// `parachute install` the ticker module `name`.
pub(super) fn install(p: &Parachute, root: &Path, name: &str) {
    module::install(p, &write_ticker(root, name), &[]);
}

/// The ticker module `name`'s directory under `root`.
fn write_ticker(root: &Path, name: &str) -> std::path::PathBuf {
    let m = json!({
        "paths": [format!("/{name}")],
        "health": "/health",
        "startCmd": ["/usr/bin/python3", "module.py"],
    });
    module::write(
        root,
        name,
        name,
        &m,
        &[("module.py", &module::with_ok_server(TICKER))],
    )
}

/// `parachute serve` for `p`'s home, keep-alives every 300 ms.
pub(super) fn serve(p: &Parachute) -> Hub {
    let env = [
        ("PARACHUTE_BIND_HOST", "127.0.0.1"),
        ("PARACHUTE_SSE_KEEPALIVE_MS", "300"),
    ];
    serve_with(p.cmd(&["serve"]), &env)
}

/// How many `journalctl` processes follow `unit` now.
fn followers(unit: &str) -> usize {
    fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .filter(|c| {
            let c = String::from_utf8_lossy(c);
            c.starts_with("journalctl") && c.contains(unit)
        })
        .count()
}

#[test]
fn a_modules_log_streams_live_resumes_after_its_last_event_and_keeps_alive() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    set_password(p.cmd(SET_PASSWORD));
    install(&p, tmp.path(), "logtick");
    let _u = p.uninstall_on_drop("logtick");
    let hub = serve(&p);
    let op = &operator_token(&p);
    let unit = "parachute-logtick.service";

    let mut sse = follow(hub.addr, "logtick", op, &[]);
    assert_eq!(sse.status, 200, "{}", sse.head);
    assert!(
        sse.until(Duration::from_secs(20), |t| events(t).len() >= 6),
        "lines arrive live: {}",
        sse.text
    );
    assert!(
        sse.until(Duration::from_secs(5), |t| t.contains(": keep-alive")),
        "a keep-alive comment: {}",
        sse.text
    );
    let ticks = sse.tick_events();
    assert!(ticks.len() >= 5, "{}", sse.text);
    assert!(
        ticks.iter().all(|(id, _)| id.starts_with("s=")),
        "the journal cursor is the id: {ticks:?}"
    );
    // (The first lines may be an earlier run's: the journal keeps them.)
    let (id, next) = (ticks[2].0.clone(), ticks[3].1.clone());
    assert!(followers(unit) >= 1, "journalctl follows the unit");
    drop(sse);
    // The client went: its journalctl is gone within a keep-alive or two.
    wait_for(Duration::from_secs(10), "journalctl ended", || {
        followers(unit) == 0
    });

    // Resuming from an event gives the very next line, then on.
    let header = format!("Last-Event-ID: {id}");
    let mut again = follow(hub.addr, "logtick", op, &[header]);
    assert_eq!(again.status, 200, "{}", again.head);
    assert!(
        again.until(Duration::from_secs(20), |t| events(t).len() >= 2),
        "{}",
        again.text
    );
    assert_eq!(again.tick_events()[0].1, next, "{}", again.text);
    // The query form does the same, for an EventSource reopened with a new ticket.
    let path = format!(
        "{}&last_event_id={}",
        stream_path("logtick", &ticket(hub.addr, op)),
        id.replace(';', "%3B").replace('=', "%3D")
    );
    let mut q = Sse::open(hub.addr, &path, &[]);
    assert!(q.until(Duration::from_secs(20), |t| events(t).len() >= 2));
    assert_eq!(q.tick_events()[0].1, next, "{}", q.text);
    drop((again, q));
    wait_for(Duration::from_secs(10), "both streams ended", || {
        followers(unit) == 0
    });

    // At most 16 streams at once; the next is told to come back.
    let open: Vec<Sse> = (0..16)
        .map(|_| follow(hub.addr, "logtick", op, &[]))
        .collect();
    assert!(open.iter().all(|s| s.status == 200));
    let over = stream(hub.addr, "logtick", &ticket(hub.addr, op));
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.header("retry-after").is_some());
}

#[test]
fn the_live_view_is_a_script_file_of_the_hub_that_never_puts_a_credential_in_a_url() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let r = http(hub.addr, "GET", "/admin/assets/live-log.js", None, None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.body.contains("/api/ui/sse-ticket"), "{}", r.body);
    assert!(r.body.contains("X-CSRF-Token"), "{}", r.body);
    assert!(!r.body.contains("token="), "no token in a URL: {}", r.body);
}

/// `parachute …` as on a Mac: `PARACHUTE_INIT_SYSTEM=launchd` with the
/// scripted fake `launchctl` (which really runs the agent, its output going
/// to the agent's log file) first on `PATH`.
fn mac(root: &Path, p: &Parachute, args: &[&str]) -> std::process::Command {
    let bin = root.join("bin");
    if !bin.exists() {
        fs::create_dir_all(&bin).expect("mkdir");
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake-launchctl");
        std::os::unix::fs::symlink(fake, bin.join("launchctl")).expect("link");
    }
    let mut c = p.cmd(args);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.env("PATH", path)
        .env("PARACHUTE_INIT_SYSTEM", "launchd")
        .env("FAKE_LAUNCHCTL_DIR", root.join("fake"))
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_TTY");
    c
}

struct MacUninstall<'a>(&'a Path, &'a Parachute);

impl Drop for MacUninstall<'_> {
    fn drop(&mut self) {
        let _ = mac(self.0, self.1, &["uninstall", "mactick", "--yes"]).output();
    }
}

#[test]
fn under_launchd_the_log_file_streams_with_byte_offsets_as_ids() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    let p = Parachute::offline(root);
    set_password(mac(root, &p, SET_PASSWORD));
    let dir = write_ticker(root, "mactick");
    let o = mac(root, &p, &["install", dir.to_str().expect("utf8")])
        .output()
        .expect("install");
    let _u = MacUninstall(root, &p);
    assert!(o.status.success(), "install: {}", stderr(&o));
    let bind = [("PARACHUTE_BIND_HOST", "127.0.0.1")];
    let mut hub = serve_with(mac(root, &p, &["serve"]), &bind);
    let op = &operator_token(&p);

    let mut sse = follow(hub.addr, "mactick", op, &[]);
    assert_eq!(sse.status, 200, "{}", sse.head);
    assert!(
        sse.until(Duration::from_secs(20), |t| events(t).len() >= 4),
        "{}",
        sse.text
    );
    let ticks = sse.ticks();
    let (id, n) = ticks[1].clone();
    // The id is the byte offset just past the line in the agent's log file.
    let log = fs::read(root.join("Library/Logs/Parachute/mactick.log")).expect("log file");
    let at: usize = id.parse().expect("a byte offset");
    let before = String::from_utf8_lossy(&log[..at]);
    assert!(
        before
            .trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(&format!("tick {n} "))),
        "offset {at} ends line `tick {n}`: {before:?}"
    );
    drop(sse);
    let mut again = follow(hub.addr, "mactick", op, &[format!("Last-Event-ID: {id}")]);
    assert!(again.until(Duration::from_secs(20), |t| events(t).len() >= 2));
    assert_eq!(again.ticks()[0].1, n + 1, "{}", again.text);

    // A stopping hub ends its streams (the response's last chunk) and
    // exits well inside its 10 s drain, though a client is still reading.
    let t = Instant::now();
    assert!(hub.terminate().success());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(
        again.until(Duration::from_secs(5), |t| t.ends_with("\r\n0\r\n\r\n")),
        "the stream ended: {:?}",
        again.text
    );
}
