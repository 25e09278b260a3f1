//! `init` against the recording [`FakeInit`] (and launchd over a recording
//! `launchctl`): the exact calls the init system sees, the steps the CLI
//! prints, and when the password is asked and `/health` checked.

use std::path::PathBuf;
use std::sync::Mutex;

use super::*;
use crate::lifecycle::fake::{FakeInit, active};
use crate::lifecycle::launchd::Layout;
use crate::lifecycle::launchd::launchctl::Domain;
use crate::lifecycle::launchd::layout::HUB_LABEL;
use crate::lifecycle::launchd::runner::{Output, Recording};
use crate::lifecycle::launchd::system::Launchd;
use crate::lifecycle::ops::world::World;
use crate::lifecycle::service::TARGET;
use crate::lifecycle::systemd::hardening::Ns;

trait Units {
    fn unit(&self, unit: &str) -> PathBuf;
    fn wrote(&self, unit: &str) -> Step;
}

impl Units for World {
    fn unit(&self, unit: &str) -> PathBuf {
        self.paths.unit_file(unit)
    }

    fn wrote(&self, unit: &str) -> Step {
        Step::Units(format!("wrote {}", self.unit(unit).display()))
    }
}

/// The caller's side, recorded: what was noted, whose password was asked,
/// where `/health` was checked.
struct Caller {
    notes: Vec<Note>,
    asked: Vec<String>,
    checked: Mutex<Vec<SocketAddr>>,
    healthy: bool,
}

impl Caller {
    fn new() -> Self {
        Self {
            notes: Vec::new(),
            asked: Vec::new(),
            checked: Mutex::new(Vec::new()),
            healthy: true,
        }
    }

    fn checked(&self) -> Vec<SocketAddr> {
        self.checked.lock().expect("checked").clone()
    }
}

impl Hooks for Caller {
    fn note(&mut self, note: Note) {
        self.notes.push(note);
    }
    fn owner_password(&mut self, username: &str) -> Result<Password, Error> {
        self.asked.push(username.to_string());
        Ok(Password::new("correct horse battery staple"))
    }
    async fn health(&self, listen: SocketAddr) -> Health {
        self.checked.lock().expect("checked").push(listen);
        Health {
            ok: self.healthy,
            status: Some(if self.healthy { 200 } else { 503 }),
            latency_ms: 7,
            error: (!self.healthy).then(|| "HTTP 503".to_string()),
        }
    }
}

fn inputs() -> Inputs<'static> {
    Inputs {
        username: "owner",
        password_stdin: true,
        no_start: false,
        port: None,
        default_port: 1939,
        origin: None,
    }
}

fn fake() -> FakeInit {
    FakeInit {
        remember_enabled: true,
        ..FakeInit::default()
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The first hardening probe: each namespace directive on its own (the
/// fake supports none, so there is no combined probe), then cached.
fn probes() -> Vec<String> {
    Ns::ALL
        .iter()
        .map(|n| format!("probe {}", n.key()))
        .collect()
}

async fn init<I: InitSystem>(
    w: &World,
    init: &I,
    inputs: &Inputs<'_>,
    caller: &mut Caller,
) -> Report {
    run(&w.host(init), Ok(()), inputs, caller)
        .await
        .expect("init")
}

#[tokio::test]
async fn a_first_init_writes_and_enables_the_units_starts_the_socket_and_checks_health() {
    let w = World::at("home/.parachute");
    let f = fake();
    let mut caller = Caller::new();
    let report = init(&w, &f, &inputs(), &mut caller).await;
    assert_eq!(
        report.changed,
        [
            Step::CreatedHome(w.paths.home.clone()),
            Step::CreatedStore(w.paths.hub_db()),
            Step::CreatedOwner("owner".into()),
            Step::WroteOperatorToken,
            w.wrote(HUB_SOCKET),
            w.wrote(HUB_SERVICE),
            Step::Units(format!("enabled {HUB_SOCKET} and {TARGET}")),
            Step::StartedListener {
                listener: HUB_SOCKET,
                listen: addr(1939)
            },
        ]
    );
    let mut calls = probes();
    calls.extend([
        "reload".to_string(),
        format!("enable {HUB_SOCKET} {TARGET}"),
        format!("start {HUB_SOCKET}"),
    ]);
    assert_eq!(f.calls(), calls);
    assert_eq!(caller.asked, ["owner"]);
    assert!(caller.notes.is_empty(), "{:?}", caller.notes);
    assert_eq!(caller.checked(), [addr(1939)]);
    assert!(matches!(
        report.end,
        End::Healthy { kind: Kind::Systemd, listen, latency_ms: 7 } if listen == addr(1939)
    ));
    let socket = std::fs::read_to_string(w.unit(HUB_SOCKET)).expect("socket unit");
    assert!(socket.contains("ListenStream=127.0.0.1:1939"), "{socket}");
    assert!(w.paths.operator_token().is_file());
}

#[tokio::test]
async fn a_second_init_changes_nothing_starts_nothing_and_leaves_the_password_unread() {
    let w = World::at("home/.parachute");
    let f = fake();
    init(&w, &f, &inputs(), &mut Caller::new()).await;
    let before = f.calls().len();
    let token = std::fs::read_to_string(w.paths.operator_token()).expect("token");

    let mut caller = Caller::new();
    let asked = Inputs {
        username: "someone",
        ..inputs()
    };
    let report = init(&w, &f, &asked, &mut caller).await;
    assert_eq!(report.changed, []);
    assert_eq!(
        f.calls()[before..],
        [] as [String; 0],
        "no write, no enable, no start"
    );
    assert!(
        caller.asked.is_empty(),
        "the owner exists: no password is asked"
    );
    let owner = "owner".to_string();
    assert_eq!(
        caller.notes,
        [
            Note::OwnerIsAlready {
                owner: owner.clone()
            },
            Note::PasswordUnused { owner },
        ]
    );
    assert_eq!(caller.checked(), [addr(1939)], "health is still checked");
    assert!(matches!(report.end, End::Healthy { .. }));
    assert_eq!(
        std::fs::read_to_string(w.paths.operator_token()).expect("token"),
        token,
        "a valid operator token is kept"
    );
}

#[tokio::test]
async fn no_start_writes_and_enables_the_units_but_starts_and_checks_nothing() {
    let w = World::at("home/.parachute");
    let f = fake();
    let mut caller = Caller::new();
    let no_start = Inputs {
        no_start: true,
        ..inputs()
    };
    let report = init(&w, &f, &no_start, &mut caller).await;
    let mut calls = probes();
    calls.extend([
        "reload".to_string(),
        format!("enable {HUB_SOCKET} {TARGET}"),
    ]);
    assert_eq!(f.calls(), calls);
    assert!(caller.checked().is_empty());
    assert!(matches!(
        report.end,
        End::NotStarted {
            kind: Kind::Systemd
        }
    ));
    assert_eq!(
        report.changed.last(),
        Some(&Step::Units(format!("enabled {HUB_SOCKET} and {TARGET}")))
    );
}

#[tokio::test]
async fn a_drifted_hub_unit_is_rewritten_and_the_running_hub_stopped_so_it_applies() {
    let w = World::at("home/.parachute");
    let f = fake();
    init(&w, &f, &inputs(), &mut Caller::new()).await;
    let service = w.unit(HUB_SERVICE);
    let good = std::fs::read_to_string(&service).expect("unit");
    std::fs::write(&service, "[Service]\nExecStart=/old/parachute serve\n").expect("drift");
    f.set_state(HUB_SERVICE, active());
    let before = f.calls().len();

    let report = init(&w, &f, &inputs(), &mut Caller::new()).await;
    assert_eq!(
        report.changed,
        [
            w.wrote(HUB_SERVICE),
            Step::Units("stopped the running hub so the new unit applies".into()),
        ]
    );
    assert_eq!(
        f.calls()[before..],
        ["reload".to_string(), format!("stop {HUB_SERVICE}")],
        "the socket stays up: it starts the new hub at the next request"
    );
    assert_eq!(std::fs::read_to_string(&service).expect("unit"), good);
}

#[tokio::test]
async fn init_port_moves_the_store_setting_the_socket_and_the_health_check() {
    let w = World::at("home/.parachute");
    let f = fake();
    init(&w, &f, &inputs(), &mut Caller::new()).await;
    let before = f.calls().len();

    let mut caller = Caller::new();
    let moved = Inputs {
        port: Some(1950),
        ..inputs()
    };
    let report = init(&w, &f, &moved, &mut caller).await;
    assert_eq!(
        report.changed[0],
        Step::MovedPort {
            from: 1939,
            to: 1950
        }
    );
    assert!(
        report.changed.contains(&w.wrote(HUB_SOCKET)),
        "{:?}",
        report.changed
    );
    assert_eq!(
        f.calls()[before..],
        [
            "reload".to_string(),
            format!("stop {HUB_SOCKET}"),
            format!("start {HUB_SOCKET}"),
        ]
    );
    assert_eq!(caller.checked(), [addr(1950)]);
    assert_eq!(
        crate::store::settings::hub_port(&w.paths.hub_db()),
        Some(1950)
    );
    let socket = std::fs::read_to_string(w.unit(HUB_SOCKET)).expect("socket unit");
    assert!(socket.contains("ListenStream=127.0.0.1:1950"), "{socket}");
}

#[tokio::test]
async fn a_first_store_keeps_a_default_port_and_units_carry_a_fixed_origin() {
    let w = World::at("home/.parachute");
    let f = fake();
    let mut caller = Caller::new();
    let elsewhere = Inputs {
        default_port: 1960,
        origin: Some("https://hub.example"),
        ..inputs()
    };
    let report = init(&w, &f, &elsewhere, &mut caller).await;
    assert_eq!(report.changed[2], Step::SetPort(1960));
    assert_eq!(caller.checked(), [addr(1960)]);
    let service = std::fs::read_to_string(w.unit(HUB_SERVICE)).expect("service unit");
    assert!(
        service.contains("PARACHUTE_HUB_ORIGIN=https://hub.example"),
        "{service}"
    );
}

#[tokio::test]
async fn a_socket_that_fails_to_start_ends_init_before_the_health_check() {
    let w = World::at("home/.parachute");
    let mut f = fake();
    f.jobs.insert(HUB_SOCKET.into(), JobResult::Failed);
    let mut caller = Caller::new();
    let report = init(&w, &f, &inputs(), &mut caller).await;
    assert!(matches!(
        report.end,
        End::ListenerFailed { kind: Kind::Systemd, listen, result: JobResult::Failed } if listen == addr(1939)
    ));
    assert_eq!(
        f.calls().last().map(String::as_str),
        Some("start parachute-hub.socket")
    );
    assert!(caller.checked().is_empty());
}

#[tokio::test]
async fn a_hub_that_does_not_answer_health_is_reported_with_the_error() {
    let w = World::at("home/.parachute");
    let f = fake();
    let mut caller = Caller::new();
    caller.healthy = false;
    let report = init(&w, &f, &inputs(), &mut caller).await;
    assert!(matches!(
        report.end,
        End::Unhealthy { ref error, .. } if error == "HTTP 503"
    ));
}

#[tokio::test]
async fn without_a_manager_init_makes_the_data_and_touches_no_init_system() {
    let w = World::at("home/.parachute");
    let f = fake();
    let mut caller = Caller::new();
    let gone = Err(Error::Init(InitError::Unreachable {
        reason: "no bus".into(),
    }));
    let report = run(&w.host(&f), gone, &inputs(), &mut caller)
        .await
        .expect("init");
    assert!(matches!(report.end, End::NoManager { ref reason } if reason == "no bus"));
    assert_eq!(report.changed.last(), Some(&Step::WroteOperatorToken));
    assert!(f.calls().is_empty(), "{:?}", f.calls());
    assert!(!w.unit(HUB_SOCKET).exists());
    assert!(w.paths.operator_token().is_file());
    assert!(caller.checked().is_empty());
}

#[tokio::test]
async fn on_launchd_init_writes_the_hub_agent_and_bootstraps_it() {
    let w = World::at("home/.parachute");
    let gone = || Output::fail(113, "Could not find service \"computer.parachute.hub\"\n");
    let script = [
        Output::ok(""), // print-disabled: nothing disabled
        gone(),         // print: not loaded, nothing to boot out
        gone(),         // state: print
        Output::ok(""), // state: print-disabled
        gone(),         // state: is the agent loaded (listening)?
        gone(),         // start: print
        Output::ok(""), // enable
        Output::ok(""), // bootstrap
    ];
    let layout = Layout::new(&w.root.join("home"), &w.paths.home);
    let plist = layout.plist(HUB_LABEL);
    let launchd = Launchd::new(
        Recording::new(script),
        Domain::Gui(501),
        layout,
        w.clock.clone(),
    );
    let mut caller = Caller::new();
    let report = init(&w, &launchd, &inputs(), &mut caller).await;
    assert_eq!(
        report.changed[4..],
        [
            Step::Units(format!("wrote {}", plist.display())),
            Step::StartedListener {
                listener: HUB_LABEL,
                listen: addr(1939)
            },
        ]
    );
    assert_eq!(
        launchd.ctl.runner.calls(),
        [
            "print-disabled gui/501".to_string(),
            format!("print gui/501/{HUB_LABEL}"),
            format!("print gui/501/{HUB_LABEL}"),
            "print-disabled gui/501".to_string(),
            format!("print gui/501/{HUB_LABEL}"),
            format!("print gui/501/{HUB_LABEL}"),
            format!("enable gui/501/{HUB_LABEL}"),
            format!("bootstrap gui/501 {}", plist.display()),
        ]
    );
    assert!(matches!(
        report.end,
        End::Healthy {
            kind: Kind::Launchd,
            ..
        }
    ));
    assert!(!w.unit(HUB_SOCKET).exists(), "no systemd unit on launchd");
}
