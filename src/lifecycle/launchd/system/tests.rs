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
    tmp: tempfile::TempDir,
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
    Fixture { tmp, init, clock }
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
    // Still failed while it stays booted out, until reset; `status` says why.
    assert!(f.init.state(UNIT).await.expect("state").is_failed());
    let why = f.init.why_stopped(UNIT).expect("a reason");
    assert!(
        why.contains("exited 5 times") && why.contains("parachute start vault"),
        "{why}"
    );
    f.init.reset_failed(UNIT).await.expect("reset");
    assert_eq!(f.init.why_stopped(UNIT), None);
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
    // Started = the fixture's clock minus the elapsed time `ps` gives.
    assert!(s.active_enter_timestamp_us > 0, "uptime from ps");
}

const HUB: &str = "computer.parachute.hub";

fn hub_spec(root: &std::path::Path, port: u16) -> HubUnits {
    HubUnits {
        exe: "/opt/homebrew/bin/parachute".into(),
        listen: format!("127.0.0.1:{port}").parse().expect("addr"),
        parachute_home: root.join("home/.parachute"),
        hub_origin: format!("http://127.0.0.1:{port}"),
        idle_exit_secs: 600,
    }
}

fn paths(root: &std::path::Path) -> Paths {
    Paths {
        home: root.join("home/.parachute"),
        unit_dir: root.join("units"),
    }
}

fn listing(disabled: &str) -> Output {
    Output::ok(&format!(
        "disabled services = {{\n\t\"{disabled}\" => disabled\n}}\n"
    ))
}

#[tokio::test]
async fn init_writes_the_hub_agent_and_clears_a_persisted_disable() {
    let f = fixture(vec![listing(HUB), Output::ok(""), gone()]);
    let root = f.tmp.path();
    let spec = hub_spec(root, 1939);
    let said = f
        .init
        .ensure_hub(&paths(root), &spec)
        .await
        .expect("ensure");
    let plist = f.init.layout.plist(HUB);
    assert_eq!(
        said,
        [
            format!("wrote {}", plist.display()),
            format!("enabled {HUB}"),
        ]
    );
    assert_eq!(
        f.init.ctl.runner.calls(),
        [
            "print-disabled gui/501".to_string(),
            format!("enable gui/501/{HUB}"),
            format!("print gui/501/{HUB}"),
        ],
        "not loaded yet: nothing to boot out"
    );
    assert!(f.init.has_hub(&paths(root)));
    assert_eq!(f.init.installed_hub_port(&paths(root)), Some(1939));
    let files = f
        .init
        .render_hub(&paths(root), &spec)
        .await
        .expect("render");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, plist);
    assert_eq!(
        files[0].1,
        std::fs::read_to_string(&plist).expect("plist"),
        "`unit hub` shows what is on disk"
    );
    assert_eq!(f.init.kind(), Kind::Launchd);
}

#[tokio::test]
async fn a_changed_hub_agent_boots_out_the_loaded_one_and_an_unchanged_one_is_left() {
    let running = Output::ok(&format!(
        "gui/501/{HUB} = {{\n\tstate = running\n\tpid = 7\n\truns = 1\n}}\n"
    ));
    let f = fixture(vec![
        Output::ok(""), // print-disabled: nothing listed
        gone(),         // print: not loaded
        gone(),         // start: print
        Output::ok(""), // enable
        Output::ok(""), // bootstrap
        Output::ok(""), // ensure again, unchanged: print-disabled only
        Output::ok(""), // ensure on another port: print-disabled
        running,        // print: loaded
        Output::ok(""), // bootout
        gone(),         // gone
    ]);
    let root = f.tmp.path();
    let p = paths(root);
    f.init
        .ensure_hub(&p, &hub_spec(root, 1939))
        .await
        .expect("ensure");
    assert_eq!(
        f.init.start(HUB_SOCKET).await.expect("start"),
        JobResult::Done
    );
    let before = f.init.ctl.runner.calls().len();
    let said = f
        .init
        .ensure_hub(&p, &hub_spec(root, 1939))
        .await
        .expect("again");
    assert!(said.is_empty(), "{said:?}");
    assert_eq!(f.init.ctl.runner.calls().len(), before + 1);

    let said = f
        .init
        .ensure_hub(&p, &hub_spec(root, 1950))
        .await
        .expect("moved");
    assert_eq!(
        said.last().map(String::as_str),
        Some("stopped the running hub so its new agent applies")
    );
    assert_eq!(
        f.init.ctl.runner.calls()[before + 1..],
        [
            "print-disabled gui/501".to_string(),
            format!("print gui/501/{HUB}"),
            format!("bootout gui/501/{HUB}"),
            format!("print gui/501/{HUB}"),
        ]
    );
    assert_eq!(f.init.installed_hub_port(&p), Some(1950));
}

#[tokio::test]
async fn an_idle_hub_is_listening_while_its_agent_is_loaded() {
    let idle = || {
        Output::ok(&format!(
            "gui/501/{HUB} = {{\n\tstate = not running\n\truns = 1\n\tlast exit code = 0\n}}\n"
        ))
    };
    let f = fixture(vec![Output::ok(""), gone(), idle(), idle(), idle()]);
    let root = f.tmp.path();
    f.init
        .ensure_hub(&paths(root), &hub_spec(root, 1939))
        .await
        .expect("ensure");
    let socket = f.init.state(HUB_SOCKET).await.expect("socket");
    assert_eq!(
        (socket.active_state.as_str(), socket.sub_state.as_str()),
        ("active", "listening")
    );
    let service = f.init.state(HUB_SERVICE).await.expect("service");
    assert_eq!(
        service.active_state, "inactive",
        "exited 0 after --idle-exit"
    );
}

#[tokio::test]
async fn a_module_that_is_not_loaded_reads_enabled_or_disabled_from_print_disabled() {
    let f = fixture(vec![gone(), listing(L), gone(), Output::ok("")]);
    let s = f.init.state(UNIT).await.expect("state");
    assert_eq!(
        (s.active_state.as_str(), s.unit_file_state.as_str()),
        ("inactive", "disabled")
    );
    let s = f.init.state(UNIT).await.expect("state");
    assert_eq!(s.unit_file_state, "enabled", "not listed: enabled");
    assert_eq!(
        f.init.ctl.runner.calls(),
        [
            format!("print gui/501/{L}"),
            "print-disabled gui/501".to_string(),
            format!("print gui/501/{L}"),
            "print-disabled gui/501".to_string(),
        ]
    );
}

#[test]
fn ps_gives_memory_and_elapsed_time_in_every_etime_shape() {
    let p = |line: &str| parse_ps(line).map(|p| (p.rss_bytes, p.elapsed_secs));
    assert_eq!(p("  25700     01:02\n"), Some((25700 * 1024, 62)));
    assert_eq!(p("1 01:02:03"), Some((1024, 3723)));
    assert_eq!(p("1 2-01:02:03"), Some((1024, 2 * 86_400 + 3723)));
    assert_eq!(p(""), None, "the process is gone");
    assert_eq!(p("12"), None);
}
