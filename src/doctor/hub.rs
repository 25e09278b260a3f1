//! The hub: its units as `init` would write them, the program its
//! `ExecStart=` runs, the socket and the service, its port, and `/health`
//! asked through the socket.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Env, FIX, Finding, Repair, exec, fix_or};
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::systemd::units;
use crate::lifecycle::{InitSystem, UnitState, hub, start};

/// The first request may start the hub (socket activation).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);
/// `/health` answers a few hundred bytes; more is not a hub.
const HEALTH_BODY_CAP: usize = 16 * 1024;

pub async fn check(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    let Some(init) = env.init() else {
        return Vec::new();
    };
    if !units::exists(env.paths, HUB_SOCKET) && !units::exists(env.paths, HUB_SERVICE) {
        return vec![Finding::fail(
            "hub-units",
            format!("the hub is not installed: there is no {HUB_SOCKET}"),
            "parachute init",
        )];
    }
    let mut found = vec![drift(env, init).await, exec_target(env)];
    let (Ok(socket), Ok(service)) = (init.state(HUB_SOCKET).await, init.state(HUB_SERVICE).await)
    else {
        found.push(Finding::fail(
            "hub-service",
            "the user manager did not report the hub's units",
            "systemctl --user status parachute-hub.socket parachute-hub.service",
        ));
        return found;
    };
    found.push(service_state(&service));
    let listen = hub::listen_addr(env.hub_port);
    if socket.is_active() {
        found.push(Finding::pass(
            "hub-socket",
            format!("{HUB_SOCKET} listens on {listen}"),
        ));
        if !super::units::is_broken(&service) {
            found.push(health(listen).await);
        }
    } else {
        found.push(socket_down(&socket, listen));
    }
    found
}

/// `hub-units`: the files equal what `init` would write now.
async fn drift(env: &Env<'_, impl InitSystem>, init: &impl InitSystem) -> Finding {
    let spec = hub::spec(env.paths, env.exe.clone(), env.hub_port, env.hub_origin);
    let hardening = units::hardening(env.paths, init).await;
    let differ: Vec<&str> = hub::expected(&spec, hardening)
        .into_iter()
        .filter(|(unit, text)| {
            std::fs::read_to_string(env.paths.unit_file(unit))
                .ok()
                .as_ref()
                != Some(text)
        })
        .map(|(unit, _)| unit)
        .collect();
    if differ.is_empty() {
        return Finding::pass(
            "hub-units",
            format!("{HUB_SOCKET} and {HUB_SERVICE} are current"),
        );
    }
    Finding::fail(
        "hub-units",
        format!(
            "{} {} from what `parachute init` would write (edited by hand, or written by something else; keep local changes in `systemctl --user edit <unit>`)",
            differ.join(" and "),
            if differ.len() == 1 { "differs" } else { "differ" }
        ),
        fix_or("parachute init"),
    )
    .repair(Repair::HubUnits)
}

/// `hub-exec`: the program the hub unit runs is there.
fn exec_target(env: &Env<'_, impl InitSystem>) -> Finding {
    let text = std::fs::read_to_string(env.paths.unit_file(HUB_SERVICE)).unwrap_or_default();
    match exec::program(&text) {
        Some(p) if exec::runnable(&p) => {
            Finding::pass("hub-exec", format!("{HUB_SERVICE} runs {p}"))
        }
        Some(p) => Finding::fail(
            "hub-exec",
            format!(
                "{HUB_SERVICE} runs `{p}`, which is not there (the binary moved?); the hub fails with status 203 — this is `{}`",
                env.exe.display()
            ),
            fix_or("parachute init"),
        )
        .repair(Repair::HubUnits),
        None => Finding::fail(
            "hub-exec",
            format!("{HUB_SERVICE} has no ExecStart="),
            fix_or("parachute init"),
        )
        .repair(Repair::HubUnits),
    }
}

/// `hub-service`: not failed (a failed hub with status 203 is a moved binary).
pub(super) fn service_state(s: &UnitState) -> Finding {
    if !super::units::is_broken(s) {
        let what = if s.is_active() {
            format!("{HUB_SERVICE} is running (pid {})", s.main_pid)
        } else {
            format!("{HUB_SERVICE} is idle; {HUB_SOCKET} starts it on the next request")
        };
        return Finding::pass("hub-service", what);
    }
    let what = format!(
        "{HUB_SERVICE} {}{}",
        super::units::broken_word(s),
        start::describe_exit(s)
    );
    if start::missing_binary(s).is_some() {
        return Finding::fail("hub-service", what, fix_or("parachute init"))
            .repair(Repair::HubUnits);
    }
    Finding::fail(
        "hub-service",
        what,
        format!("see why: parachute logs hub; then: {FIX} (or: parachute restart hub)"),
    )
    .repair(Repair::RestartUnit {
        unit: HUB_SERVICE.into(),
    })
}

/// The socket is down: another program on the port, or just not started.
fn socket_down(socket: &UnitState, listen: SocketAddr) -> Finding {
    let state = &socket.active_state;
    if std::net::TcpListener::bind(listen).is_err() {
        return Finding::fail(
            "hub-port",
            format!(
                "{listen} is held by another program while {HUB_SOCKET} is {state}: the hub cannot listen"
            ),
            format!(
                "stop that program (find it: ss -ltnp 'sport = :{port}'), or move the hub: parachute init --port <N>",
                port = listen.port()
            ),
        );
    }
    Finding::fail(
        "hub-socket",
        format!("{HUB_SOCKET} is {state}: nothing answers on {listen}"),
        fix_or(&format!("systemctl --user start {HUB_SOCKET}")),
    )
    .repair(Repair::StartHubSocket)
}

/// `hub-health`: `GET /health` through the socket, and what a 503 means.
pub(super) async fn health(listen: SocketAddr) -> Finding {
    let url = format!("http://{listen}/health");
    let (status, body) =
        match crate::health::get_capped(&url, HEALTH_TIMEOUT, HEALTH_BODY_CAP).await {
            Ok(r) => r,
            Err(e) => {
                return Finding::fail(
                    "hub-health",
                    format!("no answer from {url}: {e}"),
                    "see why: parachute logs hub",
                );
            }
        };
    if status == 200 {
        return Finding::pass("hub-health", format!("{url} answers 200"));
    }
    let db = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("db").and_then(|d| d.as_str()).map(str::to_string));
    match db.as_deref() {
        Some("missing") => Finding::fail(
            "hub-health",
            format!("{url} answers {status}: the hub's store was deleted under it"),
            format!("{FIX} (stops the hub, clears the stale -wal/-shm, makes an empty store), then: parachute init"),
        )
        .repair(Repair::NewStore),
        Some(fault) if fault.starts_with("replaced") => Finding::fail(
            "hub-health",
            format!("{url} answers {status}: the store was {fault}"),
            fix_or("parachute restart hub"),
        )
        .repair(Repair::RestartUnit {
            unit: HUB_SERVICE.into(),
        }),
        other => Finding::fail(
            "hub-health",
            format!(
                "{url} answers {status}{}",
                other.map(|d| format!(": store {d}")).unwrap_or_default()
            ),
            "see why: parachute logs hub",
        ),
    }
}
