//! The doctor's checks and repairs against a recording fake manager.

use super::*;
use crate::lifecycle::UnitState;
use crate::lifecycle::fake::FakeInit;
use crate::lifecycle::service::HUB_SERVICE;

/// An `Env` over `init` in a fresh temp dir.
fn env<'a>(tmp: &'a tempfile::TempDir, paths: &'a Paths, init: &'a FakeInit) -> Env<'a, FakeInit> {
    Env {
        paths,
        spec: SpecContext {
            paths,
            user_home: tmp.path(),
            hub_origin: "http://127.0.0.1:1939",
            search_path: "/usr/bin:/bin",
        },
        hub_port: 1939,
        hub_origin: "http://127.0.0.1:1939",
        exe: PathBuf::from("/usr/bin/parachute"),
        init: Ok(init),
        manager_version: "252".into(),
        user: "ada".into(),
        now: 1_000_000,
    }
}

fn paths(tmp: &tempfile::TempDir) -> Paths {
    Paths {
        home: tmp.path().join("home"),
        unit_dir: tmp.path().join("units"),
    }
}

#[tokio::test]
async fn lingering_off_is_a_warning_naming_loginctl() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = paths(&tmp);
    let init = FakeInit {
        linger: Some(false),
        ..FakeInit::default()
    };
    let found = manager::check(&env(&tmp, &p, &init)).await;
    let linger = found.iter().find(|f| f.check == "linger").expect("linger");
    assert_eq!(linger.severity, Severity::Warn);
    assert_eq!(
        linger.what,
        "lingering is off: services stop at logout and do not start at boot"
    );
    assert_eq!(linger.fix.as_deref(), Some("loginctl enable-linger ada"));
}

#[tokio::test]
async fn a_hub_that_was_never_installed_says_init() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = paths(&tmp);
    let init = FakeInit::default();
    let e = env(&tmp, &p, &init);
    let found = run(&e).await;
    let units = found
        .iter()
        .find(|f| f.check == "hub-units")
        .expect("hub-units");
    assert_eq!(units.severity, Severity::Fail);
    assert_eq!(units.fix.as_deref(), Some("parachute init"));
    let store = found
        .iter()
        .find(|f| f.check == "hub-store")
        .expect("hub-store");
    assert_eq!(store.fix.as_deref(), Some("parachute init"));
    assert_eq!(store.repair, None, "nothing to repair before init");
}

#[tokio::test]
async fn fix_asks_before_removing_an_orphan_and_makes_each_repair_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = paths(&tmp);
    std::fs::create_dir_all(&p.unit_dir).expect("mkdir");
    std::fs::create_dir_all(&p.home).expect("mkdir");
    let orphan = "parachute-ghost.service";
    std::fs::write(p.unit_file(orphan), "[Service]\nExecStart=/bin/true\n").expect("write");
    let init = FakeInit::default();
    let e = env(&tmp, &p, &init);
    let found = units::orphans(&e).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].check, format!("orphan:{orphan}"));

    let mut asked = Vec::new();
    let twice = [found[0].clone(), found[0].clone()];
    let done = fix::apply(&e, &twice, |q| {
        asked.push(q.to_string());
        false
    })
    .await;
    assert_eq!(
        asked,
        [format!(
            "Stop, disable and delete {orphan} (no services.json row owns it)?"
        )]
    );
    assert_eq!(done.len(), 1);
    assert!(matches!(done[0].1, fix::Outcome::Skipped(_)));
    assert!(init.calls().is_empty(), "{:?}", init.calls());
    assert!(p.unit_file(orphan).exists());

    let done = fix::apply(&e, &twice, |_| true).await;
    assert!(matches!(done[0].1, fix::Outcome::Done(_)), "{done:?}");
    assert_eq!(
        init.calls(),
        [
            format!("stop {orphan}"),
            format!("disable {orphan}"),
            format!("reset-failed {orphan}"),
            "reload".to_string()
        ]
    );
    assert!(!p.unit_file(orphan).exists());
}

#[test]
fn a_crash_looping_hub_with_status_203_is_a_moved_binary() {
    let looping = UnitState {
        active_state: "activating".into(),
        sub_state: "auto-restart".into(),
        result: "exit-code".into(),
        exec_main_status: 203,
        exec_path: "/opt/old/parachute".into(),
        ..UnitState::default()
    };
    let f = hub::service_state(&looping);
    assert_eq!(f.severity, Severity::Fail);
    assert_eq!(
        f.what,
        format!(
            "{HUB_SERVICE} keeps failing: binary not found at /opt/old/parachute; run `parachute init` (or `parachute doctor --fix`)"
        )
    );
    assert_eq!(f.repair, Some(Repair::HubUnits));
    let idle = UnitState {
        active_state: "inactive".into(),
        ..UnitState::default()
    };
    assert_eq!(hub::service_state(&idle).severity, Severity::Pass);
    let crashed = UnitState {
        active_state: "failed".into(),
        result: "signal".into(),
        ..UnitState::default()
    };
    assert_eq!(
        hub::service_state(&crashed).repair,
        Some(Repair::RestartUnit {
            unit: HUB_SERVICE.into()
        })
    );
}
