//! Every operation against the recording [`FakeInit`]: the exact calls the
//! init system sees, and the events the CLI prints.

use std::path::Path;

use super::world::World;
use super::*;
use crate::lifecycle::fake::{self, FakeInit};
use crate::lifecycle::inventory::Inventory;
use crate::lifecycle::start::Verb;
use crate::lifecycle::{JobResult, UnitState};
use crate::manifest::Services;

const UNIT: &str = "parachute-demo.service";

async fn install(w: &World, init: &FakeInit, dir: &Path) -> (Verdict, Vec<Event>) {
    let mut events = Vec::new();
    let v = install::run(&w.host(init), dir, install::Options::default(), &mut |e| {
        events.push(e);
    })
    .await
    .expect("install");
    (v, events)
}

fn take(init: &FakeInit) -> Vec<String> {
    std::mem::take(&mut *init.calls.lock().expect("calls"))
}

fn enabled_active() -> UnitState {
    UnitState {
        unit_file_state: "enabled".into(),
        ..fake::active()
    }
}

#[tokio::test]
async fn install_registers_writes_reloads_enables_then_starts_and_settles() {
    let w = World::new();
    let init = FakeInit::default();
    let dir = w.module(&["serve"]);
    let (v, events) = install(&w, &init, &dir).await;
    assert_eq!(v, Verdict::Success);
    assert_eq!(
        take(&init),
        [
            "write-group",
            &format!("write {UNIT}"),
            "reload",
            &format!("enable {UNIT} parachute.target"),
            &format!("reset-failed {UNIT}"),
            &format!("start {UNIT}"),
        ]
    );
    let port = w.port();
    assert_eq!(
        events,
        [
            Event::Registered {
                name: "parachute-demo".into(),
                port
            },
            Event::Started {
                name: "demo".into(),
                verb: Verb::Start,
                pid: FakeInit::RUNNING_PID,
                port_pending: Some(port),
            },
        ]
    );
    let row = w.services().find("demo").cloned().expect("row");
    assert_eq!(row.install_dir.as_deref(), Some(dir.as_path()));
    assert!(row.last_start_error().is_none());
}

#[tokio::test]
async fn reinstall_of_an_unchanged_running_service_leaves_it_running() {
    let w = World::new();
    let init = FakeInit::default();
    let dir = w.module(&["serve"]);
    install(&w, &init, &dir).await;
    take(&init);
    let (v, events) = install(&w, &init, &dir).await;
    assert_eq!(v, Verdict::Success);
    assert_eq!(take(&init), [format!("enable {UNIT} parachute.target")]);
    assert_eq!(
        events.last(),
        Some(&Event::Unchanged {
            short: "demo".into(),
            pid: FakeInit::RUNNING_PID
        })
    );
}

#[tokio::test]
async fn reinstall_of_a_changed_running_service_rewrites_and_restarts_it() {
    let w = World::new();
    let init = FakeInit::default();
    install(&w, &init, &w.module(&["serve"])).await;
    take(&init);
    let (v, events) = install(&w, &init, &w.module(&["serve", "--fast"])).await;
    assert_eq!(v, Verdict::Success);
    assert_eq!(
        take(&init),
        [
            format!("write {UNIT}"),
            "reload".into(),
            format!("enable {UNIT} parachute.target"),
            format!("reset-failed {UNIT}"),
            format!("restart {UNIT}"),
        ]
    );
    assert!(events.contains(&Event::Restarting {
        short: "demo".into()
    }));
    assert!(matches!(
        events.last(),
        Some(Event::Started {
            verb: Verb::Restart,
            ..
        })
    ));
}

#[tokio::test]
async fn a_failed_start_reports_its_log_records_the_error_and_stops_the_unit() {
    let w = World::new();
    let mut init = FakeInit::default();
    init.jobs.insert(UNIT.into(), JobResult::Failed);
    init.logs
        .insert(UNIT.into(), vec!["boom: cannot open config".into()]);
    let (v, events) = install(&w, &init, &w.module(&["serve"])).await;
    assert_eq!(v, Verdict::Failure);
    let calls = take(&init);
    assert_eq!(
        calls[calls.len() - 3..],
        [
            format!("reset-failed {UNIT}"),
            format!("start {UNIT}"),
            format!("stop {UNIT}"),
        ]
    );
    assert_eq!(
        events.last(),
        Some(&Event::StartFailed {
            name: "demo".into(),
            why: "start job failed".into(),
            log: vec!["boom: cannot open config".into()],
        })
    );
    let row = w.services().find("demo").cloned().expect("row");
    let err = row.last_start_error().expect("lastStartError");
    assert_eq!(err["error_type"], "failed", "{err:?}");
    assert_eq!(err["at"], "2026-01-01T00:00:00Z", "the injected clock");
}

#[tokio::test]
async fn uninstall_stops_disables_removes_and_forgets_the_service() {
    let w = World::new();
    let init = FakeInit::default();
    install(&w, &init, &w.module(&["serve"])).await;
    take(&init);
    let row = w.services().find("demo").cloned().expect("row");
    let mut events = Vec::new();
    uninstall::run(&w.host(&init), &row, &mut |e| events.push(e))
        .await
        .expect("uninstall");
    assert_eq!(
        take(&init),
        [
            format!("stop {UNIT}"),
            format!("disable {UNIT}"),
            format!("reset-failed {UNIT}"),
            format!("remove {UNIT}"),
            "reload".into(),
        ]
    );
    assert!(w.services().find("demo").is_none());
    assert!(!init.files().contains_key(UNIT));
    assert_eq!(
        events,
        [Event::Uninstalled {
            name: "parachute-demo".into()
        }]
    );
}

#[tokio::test]
async fn starting_the_suite_starts_target_socket_and_services_in_order() {
    let w = World::new();
    let init = FakeInit::default()
        .with_file("parachute.target", "t")
        .with_file("parachute-hub.socket", "s");
    install(&w, &init, &w.module(&["serve"])).await;
    take(&init);
    let mut events = Vec::new();
    let v = run::run(&w.host(&init), &w.services(), None, Verb::Start, &mut |e| {
        events.push(e);
    })
    .await
    .expect("start");
    assert_eq!(v, Verdict::Success);
    assert_eq!(
        take(&init),
        [
            "reset-failed parachute.target",
            "start parachute.target",
            "reset-failed parachute-hub.socket",
            "start parachute-hub.socket",
            &format!("reset-failed {UNIT}"),
            &format!("start {UNIT}"),
        ],
        "units are written only when changed, so no reload"
    );
    let names: Vec<_> = events
        .iter()
        .map(|e| match e {
            Event::Started { name, .. } => name.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["parachute.target", "parachute-hub.socket", "demo"]);
}

#[tokio::test]
async fn stop_all_reads_every_state_first_and_names_what_comes_back() {
    let w = World::new();
    let init = FakeInit::with_states([
        ("parachute.target".to_string(), fake::active()),
        ("parachute-hub.socket".to_string(), enabled_active()),
        ("parachute-hub.service".to_string(), fake::inactive()),
        (UNIT.to_string(), enabled_active()),
    ])
    .with_file("parachute.target", "t")
    .with_file("parachute-hub.socket", "s")
    .with_file("parachute-hub.service", "h")
    .with_file(UNIT, "u");
    let inventory = Inventory {
        services: Services::empty(),
        unreadable: None,
        warnings: Vec::new(),
        unregistered: vec![UNIT.into()],
    };
    let mut events = Vec::new();
    let v = stop::run(&w.host(&init), &inventory, None, &mut |e| events.push(e))
        .await
        .expect("stop");
    assert_eq!(v, Verdict::Success);
    assert_eq!(
        take(&init),
        [
            "stop parachute.target",
            "stop parachute-hub.socket",
            "stop parachute-hub.service",
            &format!("stop {UNIT}"),
        ]
    );
    assert_eq!(
        events,
        [
            Event::Stopped {
                label: "parachute.target".into()
            },
            Event::Stopped {
                label: "parachute-hub.socket".into()
            },
            Event::WasntRunning {
                label: "parachute-hub.service".into()
            },
            Event::Stopped {
                label: "demo".into()
            },
            Event::ComeBack {
                whole_suite: true,
                names: vec!["hub".into(), "demo".into()],
            },
        ]
    );
}

#[tokio::test]
async fn stopping_what_is_not_installed_asks_the_manager_nothing() {
    let w = World::new();
    let init = FakeInit::default();
    let inventory = Inventory {
        services: Services::empty(),
        unreadable: None,
        warnings: Vec::new(),
        unregistered: Vec::new(),
    };
    let mut events = Vec::new();
    stop::run(&w.host(&init), &inventory, None, &mut |e| events.push(e))
        .await
        .expect("stop");
    assert!(init.calls().is_empty(), "{:?}", init.calls());
    assert_eq!(events, [Event::NothingToStop]);
}
