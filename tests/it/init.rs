//! System tests for issue #3 on a real `systemd --user` (booted by
//! `tests/support/systemd-harness.sh`): `parachute init` installs a
//! socket-activated hub; the first request starts it (`Type=notify` reaches
//! `active`); `--idle-exit` stops it and the next request still succeeds; a
//! `kill -9` under a looping client costs the client a delay, never a
//! refused connection.

use std::fs;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::cli::Parachute;
use crate::support::hub::{PASSWORD, free_port, run_with_stdin, stderr, try_http, wait_for};
use crate::support::systemd::{self, SystemdEnv};

const SOCKET: &str = "parachute-hub.socket";
const SERVICE: &str = "parachute-hub.service";

/// A `PARACHUTE_HOME` initialized against the test manager, with the hub
/// units removed again on drop (the manager is shared).
pub(super) struct Installed<'m> {
    mgr: &'m SystemdEnv,
    _tmp: tempfile::TempDir,
    pub(super) p: Parachute,
    port: u16,
}

impl<'m> Installed<'m> {
    pub(super) fn new(mgr: &'m SystemdEnv) -> Self {
        remove_hub_units(mgr);
        let tmp = tempfile::Builder::new()
            .prefix("parachute-init-test-")
            .tempdir()
            .expect("tmp");
        let p = Parachute::new(mgr, tmp.path());
        Self {
            mgr,
            _tmp: tmp,
            p,
            port: free_port(),
        }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub(super) fn init(&self, args: &[&str]) -> Output {
        self.init_as(std::path::Path::new(env!("CARGO_BIN_EXE_parachute")), args)
    }

    /// `init` run by `program` (a copy of the binary), which the units pin.
    pub(super) fn init_as(&self, program: &std::path::Path, args: &[&str]) -> Output {
        let mut all = vec!["init", "--password-stdin"];
        all.extend_from_slice(args);
        let mut cmd = self.p.cmd_as(program, &all);
        cmd.env("PORT", self.port.to_string());
        for k in [
            "PARACHUTE_BIND_HOST",
            "PARACHUTE_HUB_ORIGIN",
            "NOTIFY_SOCKET",
            "LISTEN_FDS",
        ] {
            cmd.env_remove(k);
        }
        run_with_stdin(cmd, &format!("{PASSWORD}\n"))
    }

    pub(super) fn active(&self, unit: &str) -> String {
        let o = self.mgr.systemctl(["is-active", unit]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    pub(super) fn show(&self, unit: &str, prop: &str) -> String {
        let o = self.mgr.systemctl(["show", unit, "-p", prop, "--value"]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    pub(super) fn health(&self) -> std::io::Result<u16> {
        try_http(self.addr(), "GET", "/health", None, None).map(|r| r.status)
    }

    /// `init` all the way: units written, enabled, socket started, `/health`
    /// answered through it.
    pub(super) fn full(mgr: &'m SystemdEnv) -> Self {
        let i = Self::new(mgr);
        let o = i.init(&[]);
        assert!(o.status.success(), "init: {}", stderr(&o));
        i
    }
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        remove_hub_units(self.mgr);
    }
}

fn remove_hub_units(mgr: &SystemdEnv) {
    mgr.systemctl(["stop", SERVICE, SOCKET]);
    mgr.systemctl(["disable", SOCKET]);
    for name in [SOCKET, SERVICE] {
        let _ = fs::remove_file(mgr.unit_dir().join(name));
        let _ = fs::remove_dir_all(mgr.unit_dir().join(format!("{name}.d")));
    }
    mgr.systemctl(["daemon-reload"]);
    mgr.systemctl(["reset-failed", SERVICE, SOCKET]);
}

#[test]
fn init_installs_a_socket_activated_hub_and_is_idempotent() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::new(mgr);

    // --no-start: units written and the socket enabled, nothing running.
    let o = i.init(&["--no-start"]);
    assert!(o.status.success(), "init --no-start: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("created the owner `owner`"), "{err}");
    assert!(err.contains("enabled parachute-hub.socket"), "{err}");
    let socket_text = fs::read_to_string(mgr.unit_dir().join(SOCKET)).expect("socket unit");
    assert!(socket_text.contains(&format!("ListenStream=127.0.0.1:{}", i.port)));
    let service_text = fs::read_to_string(mgr.unit_dir().join(SERVICE)).expect("service unit");
    assert!(
        service_text.contains(&format!(
            "ExecStart={} serve --idle-exit",
            env!("CARGO_BIN_EXE_parachute")
        )),
        "{service_text}"
    );
    assert_eq!(i.show(SOCKET, "UnitFileState"), "enabled");
    assert_eq!(i.active(SOCKET), "inactive");

    // The full run starts the socket and gets /health through it.
    let o = i.init(&[]);
    assert!(o.status.success(), "init: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("the hub answers on"), "{err}");
    assert!(err.contains("Admin: http://127.0.0.1:"), "{err}");
    assert_eq!(i.active(SOCKET), "active");

    // Socket active, service inactive: the next request starts the service,
    // which is `active` only once it has said READY=1.
    mgr.systemctl(["stop", SERVICE]);
    assert_eq!(i.active(SOCKET), "active");
    assert_eq!(i.active(SERVICE), "inactive");
    assert_eq!(i.health().expect("first request"), 200);
    assert_eq!(i.active(SERVICE), "active");
    assert_eq!(i.show(SERVICE, "Type"), "notify");
    assert!(
        i.show(SERVICE, "StatusText").starts_with("serving on"),
        "{}",
        i.show(SERVICE, "StatusText")
    );
    wait_for(
        Duration::from_secs(5),
        "the hub's ready line in the journal",
        || mgr.journal(SERVICE).contains("activated=true"),
    );

    // A second run changes nothing and says so.
    let o = i.init(&[]);
    assert!(o.status.success(), "init again: {}", stderr(&o));
    assert!(
        stderr(&o).contains("already initialized; nothing changed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn idle_exit_stops_the_hub_and_the_next_request_still_succeeds() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    // A short idle timeout through a drop-in, as a user would set it.
    let dropin = mgr.unit_dir().join(format!("{SERVICE}.d"));
    fs::create_dir_all(&dropin).expect("drop-in dir");
    fs::write(
        dropin.join("idle.conf"),
        format!(
            "[Service]\nExecStart=\nExecStart={} serve --idle-exit 1\n",
            env!("CARGO_BIN_EXE_parachute")
        ),
    )
    .expect("drop-in");
    mgr.systemctl(["daemon-reload"]);
    mgr.systemctl(["stop", SERVICE]);

    assert_eq!(i.health().expect("activates"), 200);
    assert_eq!(i.active(SERVICE), "active");
    wait_for(Duration::from_secs(15), "the hub to idle out", || {
        i.active(SERVICE) == "inactive"
    });
    assert_eq!(
        i.show(SERVICE, "Result"),
        "success",
        "exited 0, not a failure"
    );
    assert_eq!(i.active(SOCKET), "active");
    assert_eq!(i.health().expect("re-activates"), 200);
    assert_eq!(i.active(SERVICE), "active");
}

#[test]
fn kill_9_under_a_looping_client_costs_a_delay_not_a_refusal() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    assert_eq!(i.health().expect("up"), 200);
    let pid = i.show(SERVICE, "MainPID");
    assert_ne!(pid, "0");

    let addr = i.addr();
    let client = std::thread::spawn(move || {
        let (mut ok, mut refused, mut interrupted) = (0u32, 0u32, 0u32);
        let mut slowest = Duration::ZERO;
        let end = Instant::now() + Duration::from_secs(4);
        while Instant::now() < end {
            let t = Instant::now();
            match try_http(addr, "GET", "/health", None, None) {
                Ok(r) if r.status == 200 => ok += 1,
                Ok(r) => panic!("unexpected answer {r:?}"),
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => refused += 1,
                // The one request in flight when the process died.
                Err(_) => interrupted += 1,
            }
            slowest = slowest.max(t.elapsed());
        }
        (ok, refused, interrupted, slowest)
    });
    std::thread::sleep(Duration::from_millis(500));
    let kill = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    assert!(kill.success());
    let (ok, refused, interrupted, slowest) = client.join().expect("client");
    eprintln!("client: {ok} ok, {refused} refused, {interrupted} interrupted, slowest {slowest:?}");
    assert_eq!(refused, 0, "no connection may be refused");
    assert!(interrupted <= 1, "{interrupted} requests interrupted");
    assert!(ok > 10, "only {ok} requests succeeded");
    assert!(
        slowest < Duration::from_secs(5),
        "slowest request took {slowest:?}"
    );
    let new_pid = i.show(SERVICE, "MainPID");
    assert!(
        new_pid != "0" && new_pid != pid,
        "a new hub serves ({pid} → {new_pid})"
    );
}

#[test]
fn the_watchdog_is_fed_while_the_hub_serves() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    // A watchdog far shorter than the shipped one: unfed, systemd would kill
    // the hub within a second.
    let dropin = mgr.unit_dir().join(format!("{SERVICE}.d"));
    fs::create_dir_all(&dropin).expect("drop-in dir");
    fs::write(dropin.join("watchdog.conf"), "[Service]\nWatchdogSec=1\n").expect("drop-in");
    mgr.systemctl(["daemon-reload"]);
    mgr.systemctl(["stop", SERVICE]);
    assert_eq!(i.health().expect("activates"), 200);
    let pid = i.show(SERVICE, "MainPID");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(i.active(SERVICE), "active");
    assert_eq!(
        i.show(SERVICE, "MainPID"),
        pid,
        "not restarted by the watchdog"
    );
    assert_eq!(i.show(SERVICE, "NRestarts"), "0");
    assert_eq!(i.health().expect("still serving"), 200);
}

/// Not a system test: with no user manager, `init` prepares the data, says
/// so, points at the foreground hub, and succeeds (issue 9: the README's
/// "two commands" hold where there is no `systemd --user`).
#[test]
fn init_without_a_user_manager_prepares_the_data_and_says_how_to_serve() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let mut cmd = p.cmd(&["init", "--password-stdin"]);
    cmd.env_remove("PORT");
    let o = run_with_stdin(cmd, &format!("{PASSWORD}\n"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("✓ created the owner `owner`"), "{err}");
    assert!(
        err.contains("⚠ no systemd user manager is reachable ("),
        "{err}"
    );
    assert!(
        err.contains(
            "so the hub's units were not installed.\n  The hub's data is ready. Run the hub in the foreground:  parachute serve"
        ),
        "{err}"
    );
    assert!(!err.contains('✗'), "not reported as an error: {err}");
    let home = tmp.path().join("home");
    assert!(home.join("hub.db").is_file());
    assert!(home.join("operator.token").is_file());
}

/// Issue 9 item 14: `init --port N` moves the hub (kept in the hub's
/// settings): the socket listens there, `status` probes it, tokens name it as
/// issuer, module units get it as `PARACHUTE_HUB_ORIGIN`; a later `init`
/// keeps it, and another `--port` moves it.
#[test]
fn init_port_moves_the_hub_and_every_command_follows() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::new(mgr);
    let port = free_port();
    let o = i.init(&["--port", &port.to_string()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("✓ set the hub's port to {port}")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "✓ the hub answers on http://127.0.0.1:{port}/health"
        )),
        "{err}"
    );
    let socket_text = fs::read_to_string(mgr.unit_dir().join(SOCKET)).expect("socket unit");
    assert!(socket_text.contains(&format!("ListenStream=127.0.0.1:{port}\n")));
    let service_text = fs::read_to_string(mgr.unit_dir().join(SERVICE)).expect("service unit");
    let origin = format!("http://127.0.0.1:{port}");
    assert!(
        service_text.contains(&format!("PARACHUTE_HUB_ORIGIN={origin}\"")),
        "{service_text}"
    );

    // status probes the hub where it is.
    let o = i.p.run(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let hub = doc["services"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|s| s["name"] == "parachute-hub")
        .cloned()
        .expect("hub row");
    assert_eq!(hub["port"], port, "{hub}");
    assert_eq!(hub["health"]["ok"], true, "{hub}");

    // Tokens name the configured hub as issuer.
    let o =
        i.p.run(&["auth", "mint-token", "--scope", "scribe:transcribe"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let token = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert_eq!(crate::support::hub::claims(&token)["iss"], origin.as_str());

    // Module units are told where the hub is.
    let unit = install_a_module(&i);
    assert!(
        unit.contains(&format!("PARACHUTE_HUB_ORIGIN={origin}")),
        "{unit}"
    );

    // A later init keeps the port (even with PORT set to something else).
    let o = i.init(&[]);
    assert!(
        stderr(&o).contains("already initialized; nothing changed"),
        "{}",
        stderr(&o)
    );
    assert!(
        fs::read_to_string(mgr.unit_dir().join(SOCKET))
            .expect("socket")
            .contains(&format!(":{port}\n"))
    );

    // Another --port moves it, socket and all.
    let moved = free_port();
    let o = i.init(&["--port", &moved.to_string()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("✓ moved the hub from port {port} to {moved}")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "✓ stopped parachute-hub.socket so it listens on 127.0.0.1:{moved}"
        )),
        "{err}"
    );
    let r = try_http(
        SocketAddr::from(([127, 0, 0, 1], moved)),
        "GET",
        "/health",
        None,
        None,
    )
    .expect("hub on the new port");
    assert_eq!(r.status, 200);
    assert!(
        try_http(
            SocketAddr::from(([127, 0, 0, 1], port)),
            "GET",
            "/health",
            None,
            None
        )
        .is_err(),
        "nothing on the old port"
    );
}

/// Install a module (not started) and return its unit's text; it is
/// uninstalled again at once (the manager is shared).
fn install_a_module(i: &Installed<'_>) -> String {
    let tmp = tempfile::tempdir().expect("tmp");
    let module = tmp.path().join("m");
    fs::create_dir_all(module.join(".parachute")).expect("mkdir");
    fs::write(
        module.join(".parachute/module.json"),
        format!(
            r#"{{"name":"m","manifestName":"parachute-m","port":{},"paths":["/m"],"health":"/m/health","startCmd":["/bin/sleep","600"]}}"#,
            free_port()
        ),
    )
    .expect("write");
    let _m = i.p.uninstall_on_drop("m");
    let o =
        i.p.run(&["install", module.to_str().expect("utf8"), "--no-start"]);
    assert!(o.status.success(), "{}", stderr(&o));
    fs::read_to_string(i.mgr.unit_dir().join("parachute-m.service")).expect("unit")
}
