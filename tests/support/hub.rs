//! Helpers for the hub, auth and init tests: a `PARACHUTE_HOME` with an
//! owner, a real `parachute serve` on an ephemeral port (HTTP to it through
//! [`super::http`]), and token checks through the library and through `PyJWT`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::support::cli::Parachute;
use crate::support::hardened;
pub use crate::support::http::{Response, http, try_http};
use crate::support::systemd::SystemdEnv;

pub const PASSWORD: &str = "correct horse battery staple";

/// The owner's password set from stdin: `auth set-password --password-stdin`.
pub const SET_PASSWORD: &[&str] = &["auth", "set-password", "--password-stdin"];

/// The hub's variables a developer's shell (or a unit) may have set: a test
/// hub gets none of them but what it is given.
pub const HUB_ENV: &[&str] = &[
    "PORT",
    "PARACHUTE_BIND_HOST",
    "PARACHUTE_HUB_ORIGIN",
    "LISTEN_FDS",
    "LISTEN_PID",
    "NOTIFY_SOCKET",
];

/// Run `cmd` (a [`SET_PASSWORD`] command) with [`PASSWORD`] on stdin,
/// asserting success: the home has its owner.
pub fn set_password(cmd: Command) {
    let o = run_with_stdin(cmd, &format!("{PASSWORD}\n"));
    assert!(o.status.success(), "set-password: {}", stderr(&o));
}

/// `serve` from `cmd` (a home's `parachute serve`) with [`HUB_ENV`] cleared,
/// then `PORT=0` and `env` (which may name `PORT` too); waits for `ready`.
pub fn serve_with(mut cmd: Command, env: &[(&str, &str)]) -> Hub {
    for k in HUB_ENV {
        cmd.env_remove(k);
    }
    cmd.env("PORT", "0").envs(env.iter().copied());
    Hub::spawn(cmd)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Run with `input` on stdin.
pub fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn parachute");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// A `PARACHUTE_HOME` (no user manager) whose hub has an owner, a signing
/// key and an operator token, made by the real `auth set-password`.
pub struct Home {
    /// Removed on drop.
    _tmp: tempfile::TempDir,
    pub p: Parachute,
}

impl Home {
    /// Empty: nothing initialized.
    pub fn empty() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("parachute-hub-test-")
            .tempdir()
            .expect("tmp");
        let p = Parachute::offline(tmp.path());
        Self { _tmp: tmp, p }
    }

    pub fn with_owner() -> Self {
        let h = Self::empty();
        set_password(h.cmd(SET_PASSWORD));
        h
    }

    pub fn home(&self) -> PathBuf {
        self.p.home()
    }

    /// The command with the hub's variables cleared, so the developer's shell
    /// cannot point it elsewhere.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.p.cmd(args);
        for k in HUB_ENV {
            c.env_remove(k);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run parachute")
    }

    /// `program ARGS` with this home's environment (as [`Home::cmd`] sets it).
    pub fn wrap(&self, program: &Path, args: &[&str]) -> Command {
        let template = self.cmd(&[]);
        let mut c = Command::new(program);
        c.args(args);
        for (k, v) in template.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    }

    /// `auth mint-token ARGS`, asserting success; the token.
    pub fn mint(&self, args: &[&str]) -> String {
        let mut all = vec!["auth", "mint-token"];
        all.extend_from_slice(args);
        let o = self.run(&all);
        assert!(o.status.success(), "mint-token {args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.ends_with('\n') && out.matches('\n').count() == 1,
            "{out:?}"
        );
        out.trim_end().to_string()
    }

    pub fn owner_id(&self) -> String {
        let o = self.run(&["auth", "list-users", "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let users: Value = serde_json::from_slice(&o.stdout).expect("json");
        users[0]["id"].as_str().expect("id").to_string()
    }

    pub fn operator_token(&self) -> String {
        std::fs::read_to_string(self.home().join("operator.token"))
            .expect("operator.token")
            .trim()
            .to_string()
    }

    /// Validate with the library, against this home's store, as the hub does.
    pub fn validate(
        &self,
        token: &str,
    ) -> Result<parachute::tokens::Claims, parachute::tokens::Reject> {
        use parachute::store::{self, Store};
        use parachute::tokens::{Issuers, jwt, keys};
        let s = Store::open(&self.home().join("hub.db")).expect("store");
        let conn = s.conn().expect("conn");
        let now = parachute::clock::now();
        let v = keys::verifiers(&conn, now).expect("keys");
        let iss = Issuers::new("http://127.0.0.1:1939", &[1939]);
        jwt::validate(
            token,
            &v,
            jwt::Expect {
                issuers: iss.accepted(),
                audience: None,
                now,
            },
            |jti| store::tokens::is_revoked(&conn, jti).map_err(|e| e.to_string()),
        )
    }
}

/// The payload of a JWT, decoded without verification (for asserting claims).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

/// A running `parachute serve`, killed on drop. With
/// `PARACHUTE_TEST_HARDENED=1` it runs in a transient unit with the hub
/// unit's sandbox ([`super::hardened`]); `child` is then `systemd-run`, so
/// use [`Hub::pid`], [`Hub::kill`] and [`Hub::terminate`] for the hub itself.
pub struct Hub {
    pub child: Child,
    /// The transient unit the hub runs in, when hardened.
    unit: Option<(&'static SystemdEnv, String)>,
    pub addr: SocketAddr,
    /// Log lines up to and including `ready`.
    pub startup: Vec<String>,
    pub log: mpsc::Receiver<String>,
}

impl Hub {
    /// `serve` on `127.0.0.1:0`; waits for its `ready` line.
    pub fn start(home: &Home) -> Self {
        let mut cmd = home.cmd(&["serve"]);
        cmd.env("PORT", "0");
        Self::spawn(cmd)
    }

    pub fn spawn(cmd: Command) -> Self {
        let (mut cmd, unit) = match hardened::manager() {
            Some(mgr) => {
                let (run, unit) = hardened::wrap(mgr, &cmd);
                (run, Some((mgr, unit)))
            }
            None => (cmd, None),
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        let addr = loop {
            let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            else {
                // Not yet a `Hub`, so its Drop would not reap the process.
                let _ = child.kill();
                let _ = child.wait();
                panic!("hub never said ready; log:\n{}", seen.join("\n"));
            };
            let addr = line
                .contains(" ready ")
                .then(|| {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix("addr="))
                })
                .flatten()
                .map(|a| a.parse().expect("addr"));
            seen.push(line);
            if let Some(a) = addr {
                break a;
            }
        };
        Self {
            child,
            unit,
            addr,
            startup: seen,
            log: rx,
        }
    }

    /// The hub's own PID (the unit's main PID when hardened).
    pub fn pid(&self) -> u32 {
        match &self.unit {
            Some((mgr, unit)) => hardened::main_pid(mgr, unit),
            None => self.child.id(),
        }
    }

    /// SIGKILL the hub and reap it.
    pub fn kill(&mut self) {
        match &self.unit {
            Some((mgr, unit)) => hardened::signal(mgr, unit, "KILL"),
            None => self.child.kill().expect("SIGKILL the hub"),
        }
        self.child.wait().expect("reap the hub");
    }

    pub fn get(&self, path: &str, bearer: Option<&str>) -> Response {
        http(self.addr, "GET", path, bearer, None)
    }

    /// Send SIGTERM and wait for the exit status (bounded).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        if let Some((mgr, unit)) = &self.unit {
            // `systemd-run --wait` exits with the hub's status.
            hardened::signal(mgr, unit, "TERM");
        } else {
            let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"))
                .expect("pid");
            rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(Instant::now() < deadline, "hub did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Log lines so far.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some((mgr, unit)) = &self.unit {
            hardened::stop(mgr, unit);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `PyJWT` and cryptography are importable; says `SKIP` loudly when not.
pub fn pyjwt_available(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP ({test}): independent JWT check needs python3 with PyJWT and cryptography (pip install pyjwt cryptography)"
        );
    }
    ok
}

/// Verify `token` with `PyJWT` against the JWKS at `jwks_url`: signature by
/// kid, RS256 only, `exp`, `iss`, `aud`. Returns `PyJWT`'s verdict and claims.
pub fn pyjwt_verify(
    jwks_url: &str,
    token: &str,
    issuer: &str,
    audience: &str,
) -> Result<Value, String> {
    let script = r#"
import json, sys, jwt
url, token, iss, aud = sys.argv[1:5]
client = jwt.PyJWKClient(url, cache_keys=False)
key = client.get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=iss, audience=aud,
                    options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]})
print(json.dumps(claims))
"#;
    let o = Command::new("python3")
        .args(["-c", script, jwks_url, token, issuer, audience])
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())
    } else {
        Err(stderr(&o))
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Wait for `pred`, polling, or panic with `what` after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut pred: impl FnMut() -> bool) {
    let start = Instant::now();
    while !pred() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
