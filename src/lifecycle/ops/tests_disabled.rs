//! `disable` lasts until `enable` (issue 9 item 10, as in systemd): a
//! re-install neither enables nor starts a disabled service, and the
//! suite's start leaves it stopped, each against the recording
//! [`FakeInit`] with the exact calls the init system sees.

use super::world::World;
use super::*;
use crate::lifecycle::UnitState;
use crate::lifecycle::fake::{self, FakeInit};
use crate::lifecycle::start::Verb;
use crate::manifest::Services;

const UNIT: &str = "parachute-demo.service";

async fn install(w: &World, init: &FakeInit, args: &[&str]) -> Vec<Event> {
    let mut events = Vec::new();
    let v = install::run(
        &w.host(init),
        &w.module(args),
        install::Options::default(),
        &mut |e| events.push(e),
    )
    .await
    .expect("install");
    assert_eq!(v, Verdict::Success);
    events
}

async fn start_suite(w: &World, init: &FakeInit, verb: Verb) -> Vec<Event> {
    let services = Services::load_strict(&w.paths.services_json()).expect("services");
    let mut events = Vec::new();
    let v = run::run(&w.host(init), &services, None, verb, &mut |e| {
        events.push(e);
    })
    .await
    .expect("start");
    assert_eq!(v, Verdict::Success);
    events
}

fn take(init: &FakeInit) -> Vec<String> {
    std::mem::take(&mut *init.calls.lock().expect("calls"))
}

/// What `disable` leaves: the unit file disabled and the service stopped.
fn disabled() -> UnitState {
    UnitState {
        unit_file_state: DISABLED.into(),
        ..fake::inactive()
    }
}

fn enabled() -> UnitState {
    UnitState {
        unit_file_state: "enabled".into(),
        ..fake::inactive()
    }
}

fn said_disabled() -> Event {
    Event::DisabledNotStarted {
        short: "demo".into(),
    }
}

#[tokio::test]
async fn a_reinstall_neither_enables_nor_starts_a_disabled_service() {
    let w = World::new();
    let init = FakeInit::default();
    install(&w, &init, &["serve"]).await;
    init.set_state(UNIT, disabled());
    init.set_state(TARGET, enabled());
    take(&init);

    let events = install(&w, &init, &["serve"]).await;
    assert_eq!(
        take(&init),
        ["enable parachute.target"],
        "the target stays enabled, the service disabled, nothing started"
    );
    assert_eq!(events.last(), Some(&said_disabled()));

    // Changed: rewritten and reloaded, still neither enabled nor started.
    let events = install(&w, &init, &["serve", "--fast"]).await;
    assert_eq!(
        take(&init),
        [
            format!("write {UNIT}"),
            "reload".into(),
            "enable parachute.target".into()
        ]
    );
    assert_eq!(events.last(), Some(&said_disabled()));
}

#[tokio::test]
async fn a_reinstall_keeps_a_disabled_suite_disabled() {
    let w = World::new();
    let init = FakeInit::default();
    install(&w, &init, &["serve"]).await;
    init.set_state(UNIT, disabled());
    init.set_state(TARGET, disabled());
    take(&init);
    let events = install(&w, &init, &["serve"]).await;
    assert_eq!(take(&init), Vec::<String>::new(), "no enable at all");
    assert_eq!(events.last(), Some(&said_disabled()));
}

#[tokio::test]
async fn a_first_install_enables_even_over_an_old_disabled_unit() {
    // A unit file left from before (services.json has no row): this is
    // the module's first install, which enables it.
    let w = World::new();
    let init = FakeInit::default();
    init.set_state(UNIT, disabled());
    install(&w, &init, &["serve"]).await;
    let calls = take(&init);
    assert!(
        calls.contains(&format!("enable {UNIT} parachute.target")),
        "{calls:?}"
    );
    assert!(calls.contains(&format!("start {UNIT}")), "{calls:?}");
}

#[tokio::test]
async fn a_disabled_service_that_runs_is_still_restarted_when_it_changed() {
    // Started by name after `disable`: it runs, so a changed re-install
    // applies, and it stays disabled.
    let w = World::new();
    let init = FakeInit::default();
    install(&w, &init, &["serve"]).await;
    init.set_state(
        UNIT,
        UnitState {
            unit_file_state: DISABLED.into(),
            ..fake::active()
        },
    );
    init.set_state(TARGET, enabled());
    take(&init);
    install(&w, &init, &["serve", "--fast"]).await;
    assert_eq!(
        take(&init),
        [
            format!("write {UNIT}"),
            "reload".into(),
            "enable parachute.target".into(),
            format!("reset-failed {UNIT}"),
            format!("restart {UNIT}"),
        ]
    );
}

#[tokio::test]
async fn the_suite_start_skips_a_disabled_service_and_says_so_once() {
    let w = World::new();
    let init = FakeInit::default()
        .with_file(TARGET, "t")
        .with_file(HUB_SOCKET, "s");
    install(&w, &init, &["serve"]).await;
    init.set_state(UNIT, disabled());
    take(&init);

    for verb in [Verb::Start, Verb::Restart] {
        let events = start_suite(&w, &init, verb).await;
        let (reset, run) = match verb {
            Verb::Start => ("reset-failed", "start"),
            Verb::Restart => ("reset-failed", "restart"),
        };
        assert_eq!(
            take(&init),
            [
                format!("{reset} {TARGET}"),
                format!("{run} {TARGET}"),
                format!("{reset} {HUB_SOCKET}"),
                format!("{run} {HUB_SOCKET}"),
            ],
            "{verb:?}: the disabled service is left alone"
        );
        assert_eq!(
            events.iter().filter(|e| **e == said_disabled()).count(),
            1,
            "{events:?}"
        );
    }

    // Once enabled again, the suite starts it.
    init.set_state(UNIT, enabled());
    let events = start_suite(&w, &init, Verb::Start).await;
    assert!(take(&init).contains(&format!("start {UNIT}")));
    assert!(!events.contains(&said_disabled()), "{events:?}");
}
