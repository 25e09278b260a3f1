use super::*;
use crate::lifecycle::launchd::render;
use crate::lifecycle::launchd::runner::{Output, Recording};

const L: &str = "computer.parachute.vault";
const UNIT: &str = "parachute-vault.service";

fn gone() -> Output {
    Output::fail(
        113,
        "Could not find service \"computer.parachute.vault\" in domain for user gui: 501\n",
    )
}

fn crashed(runs: u32) -> Output {
    Output::ok(&format!(
        "gui/501/{L} = {{\n\tstate = not running\n\truns = {runs}\n\tlast exit code = 1\n\tresource coalition = {{\n\t\tstate = active\n\t}}\n}}\n"
    ))
}

struct Fixture {
    _tmp: tempfile::TempDir,
    init: Launchd<Recording>,
    clock: Clock,
}

fn fixture(script: Vec<Output>) -> Fixture {
    let tmp = tempfile::tempdir().expect("tmp");
    let layout = Layout::new(
        &tmp.path().join("home"),
        &tmp.path().join("home/.parachute"),
    );
    let clock = Clock::fixed(1_700_000_000);
    let agent = render::Agent {
        label: L.into(),
        short: "vault".into(),
        program_arguments: vec!["/opt/vault/bin/parachute-vault".into(), "serve".into()],
        working_dir: None,
        env: Vec::new(),
        throttle_secs: render::MODULE_THROTTLE_SECS,
        process_type: render::ProcessType::Standard,
        log: layout.log("vault"),
        socket: None,
        override_file: layout.override_file("vault"),
    };
    agents::write_if_changed(&layout, &agent).expect("plist written");
    let init = Launchd::new(
        Recording::new(script),
        Domain::Gui(501),
        layout,
        clock.clone(),
    );
    Fixture {
        _tmp: tmp,
        init,
        clock,
    }
}

#[test]
fn units_map_to_labels() {
    assert_eq!(job(UNIT), Some((L.into(), "vault".into())));
    for hub in [HUB_SOCKET, HUB_SERVICE] {
        assert_eq!(job(hub), Some((HUB_LABEL.into(), "hub".into())));
    }
    assert_eq!(job("parachute.target"), None);
}

#[tokio::test]
async fn start_bootstraps_the_plist_in_launch_agents() {
    let f = fixture(vec![gone()]);
    assert_eq!(f.init.start(UNIT).await.expect("start"), JobResult::Done);
    let plist = f.init.layout.plist(L);
    assert_eq!(
        f.init.ctl.runner.calls(),
        [
            format!("print gui/501/{L}"),
            format!("enable gui/501/{L}"),
            format!("bootstrap gui/501 {}", plist.display()),
        ]
    );
    assert!(!agents::changed_since_load(&f.init.layout, L, "vault"));
}

#[tokio::test]
async fn a_crash_loop_is_booted_out_and_status_says_start_limit_hit() {
    let ok = || Output::ok("");
    let f = fixture(vec![
        gone(),
        ok(),
        ok(),       // start: print, enable, bootstrap
        crashed(2), // a look 20 s in
        crashed(5),
        ok(),
        gone(), // 50 s in: 5 failed spawns; bootout, gone
        gone(),
        gone(), // later looks
    ]);
    f.init.start(UNIT).await.expect("start");
    f.clock.advance(20);
    let s = f.init.state(UNIT).await.expect("state");
    assert_eq!(
        (s.active_state.as_str(), s.sub_state.as_str()),
        ("activating", "auto-restart")
    );
    assert_eq!(s.n_restarts, 1);
    f.clock.advance(30);
    let s = f.init.state(UNIT).await.expect("state");
    assert_eq!(
        (s.active_state.as_str(), s.result.as_str()),
        ("failed", "start-limit-hit")
    );
    assert_eq!(s.exec_main_status, 1);
    assert_eq!(
        f.init.ctl.runner.calls()[4..],
        [
            format!("print gui/501/{L}"),
            format!("bootout gui/501/{L}"),
            format!("print gui/501/{L}"),
        ]
    );
    let trip = agents::record(&f.init.layout, "vault")
        .tripped
        .expect("kept");
    assert!(
        trip.reason("vault").contains("exited 5 times within 50s"),
        "{trip:?}"
    );
    // Still failed while it stays booted out, until reset.
    assert!(f.init.state(UNIT).await.expect("state").is_failed());
    f.init.reset_failed(UNIT).await.expect("reset");
    assert_eq!(
        f.init.state(UNIT).await.expect("state").active_state,
        "inactive"
    );
}

#[tokio::test]
async fn restart_kickstarts_an_unchanged_plist_and_reloads_a_changed_one() {
    let running = || {
        Output::ok(&format!(
            "gui/501/{L} = {{\n\tstate = running\n\tpid = 7\n\truns = 1\n}}\n"
        ))
    };
    let f = fixture(vec![gone()]);
    f.init.start(UNIT).await.expect("start");
    let init = Launchd::new(
        Recording::new(vec![running()]),
        Domain::Gui(501),
        f.init.layout.clone(),
        f.clock.clone(),
    );
    init.restart(UNIT).await.expect("restart");
    assert_eq!(
        init.ctl.runner.calls()[1],
        format!("kickstart -k gui/501/{L}")
    );

    std::fs::write(init.layout.plist(L), "<plist>changed</plist>").expect("rewrite");
    let init = Launchd::new(
        Recording::new(vec![running(), Output::ok(""), gone()]),
        Domain::Gui(501),
        init.layout.clone(),
        f.clock.clone(),
    );
    init.restart(UNIT).await.expect("restart");
    let calls = init.ctl.runner.calls();
    assert_eq!(calls[1], format!("bootout gui/501/{L}"));
    assert_eq!(calls[3], format!("enable gui/501/{L}"));
    assert!(calls[4].starts_with("bootstrap gui/501 "), "{calls:?}");
}

#[tokio::test]
async fn a_running_job_reads_as_active_with_its_pid() {
    let f = fixture(vec![Output::ok(&format!(
        "gui/501/{L} = {{\n\tstate = running\n\tpid = {}\n\truns = 2\n\tlast exit code = (never exited)\n}}\n",
        std::process::id()
    ))]);
    let s = f.init.state(UNIT).await.expect("state");
    assert!(s.is_active());
    assert_eq!(s.main_pid, std::process::id());
    assert_eq!(s.n_restarts, 1);
    assert_eq!(s.exec_path, "/opt/vault/bin/parachute-vault");
    assert!(s.memory_current.is_some_and(|m| m > 0), "memory from ps");
}
