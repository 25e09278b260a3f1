//! `disable` lasts until `enable` (issue 9 item 10, as in systemd): a
//! re-install neither enables nor starts a disabled service, and the
//! suite's start leaves it stopped, each against the recording
//! [`FakeInit`] with the exact calls the init system sees.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::lifecycle::UnitState;
use crate::lifecycle::fake::{self, FakeInit};
use crate::lifecycle::start::Verb;
use crate::manifest::Services;

const UNIT: &str = "parachute-demo.service";

struct World {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    paths: Paths,
    clock: Clock,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().to_path_buf();
        let paths = Paths {
            home: root.join("home"),
            unit_dir: root.join("units"),
        };
        std::fs::create_dir_all(&paths.home).expect("mkdir");
        Self {
            _tmp: tmp,
            root,
            paths,
            clock: Clock::fixed(1_767_225_600),
        }
    }

    fn host<'a>(&'a self, init: &'a FakeInit) -> Host<'a, FakeInit> {
        Host {
            init,
            spec: SpecContext {
                paths: &self.paths,
                user_home: &self.root,
                hub_origin: "http://127.0.0.1:1939",
                search_path: "",
            },
            hub_port: 1939,
            clock: &self.clock,
            settle: Duration::ZERO,
            linger_warned: true,
        }
    }

    /// The module `demo`, started with `bin/run ARGS`.
    fn module(&self, args: &[&str]) -> PathBuf {
        let dir = self.root.join("demo");
        std::fs::create_dir_all(dir.join(".parachute")).expect("mkdir");
        std::fs::create_dir_all(dir.join("bin")).expect("mkdir");
        std::fs::write(dir.join("bin/run"), "").expect("write");
        let mut start_cmd = vec!["bin/run"];
        start_cmd.extend_from_slice(args);
        let manifest = serde_json::json!({
            "name": "demo", "manifestName": "parachute-demo", "port": 1950,
            "paths": ["/demo"], "health": "/demo/health", "startCmd": start_cmd,
        });
        std::fs::write(dir.join(".parachute/module.json"), manifest.to_string()).expect("write");
        dir
    }

    async fn install(&self, init: &FakeInit, args: &[&str]) -> Vec<Event> {
        let mut events = Vec::new();
        let v = install::run(
            &self.host(init),
            &self.module(args),
            install::Options::default(),
            &mut |e| events.push(e),
        )
        .await
        .expect("install");
        assert_eq!(v, Verdict::Success);
        events
    }

    async fn start_suite(&self, init: &FakeInit, verb: Verb) -> Vec<Event> {
        let services = Services::load_strict(&self.paths.services_json()).expect("services");
        let mut events = Vec::new();
        let v = run::run(&self.host(init), &services, None, verb, &mut |e| {
            events.push(e);
        })
        .await
        .expect("start");
        assert_eq!(v, Verdict::Success);
        events
    }
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
    w.install(&init, &["serve"]).await;
    init.set_state(UNIT, disabled());
    init.set_state(TARGET, enabled());
    take(&init);

    let events = w.install(&init, &["serve"]).await;
    assert_eq!(
        take(&init),
        ["enable parachute.target"],
        "the target stays enabled, the service disabled, nothing started"
    );
    assert_eq!(events.last(), Some(&said_disabled()));

    // Changed: rewritten and reloaded, still neither enabled nor started.
    let events = w.install(&init, &["serve", "--fast"]).await;
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
    w.install(&init, &["serve"]).await;
    init.set_state(UNIT, disabled());
    init.set_state(TARGET, disabled());
    take(&init);
    let events = w.install(&init, &["serve"]).await;
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
    w.install(&init, &["serve"]).await;
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
    w.install(&init, &["serve"]).await;
    init.set_state(
        UNIT,
        UnitState {
            unit_file_state: DISABLED.into(),
            ..fake::active()
        },
    );
    init.set_state(TARGET, enabled());
    take(&init);
    w.install(&init, &["serve", "--fast"]).await;
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
    w.install(&init, &["serve"]).await;
    init.set_state(UNIT, disabled());
    take(&init);

    for verb in [Verb::Start, Verb::Restart] {
        let events = w.start_suite(&init, verb).await;
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
    let events = w.start_suite(&init, Verb::Start).await;
    assert!(take(&init).contains(&format!("start {UNIT}")));
    assert!(!events.contains(&said_disabled()), "{events:?}");
}
