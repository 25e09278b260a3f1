//! The exact launchctl argv for every verb and every retry path.

use super::*;
use crate::lifecycle::launchd::runner::Recording;

const L: &str = "computer.parachute.vault";
const PLIST: &str = "/Users/ada/Library/LaunchAgents/computer.parachute.vault.plist";

const RUNNING: &str =
    "gui/501/computer.parachute.vault = {\n\tstate = running\n\tpid = 42\n\truns = 1\n}\n";
const IDLE: &str = "gui/501/computer.parachute.vault = {\n\tstate = not running\n\truns = 1\n\tlast exit code = 0\n}\n";

fn gone() -> Output {
    Output::fail(
        113,
        "Could not find service \"computer.parachute.vault\" in domain for user gui: 501\n",
    )
}

fn ctl(script: Vec<Output>) -> Launchctl<Recording> {
    Launchctl::new(Recording::new(script), Domain::Gui(501))
}

fn calls_of(c: &Launchctl<Recording>) -> Vec<String> {
    c.runner.calls()
}

#[tokio::test]
async fn start_of_an_unloaded_job_enables_then_bootstraps() {
    let c = ctl(vec![gone(), Output::ok(""), Output::ok("")]);
    c.start(L, Path::new(PLIST)).await.expect("started");
    assert_eq!(
        calls_of(&c),
        [
            format!("print gui/501/{L}"),
            format!("enable gui/501/{L}"),
            format!("bootstrap gui/501 {PLIST}"),
        ]
    );
}

#[tokio::test]
async fn start_of_a_running_job_does_nothing_and_of_an_idle_one_kickstarts() {
    let c = ctl(vec![Output::ok(RUNNING)]);
    c.start(L, Path::new(PLIST)).await.expect("started");
    assert_eq!(calls_of(&c), [format!("print gui/501/{L}")]);

    let c = ctl(vec![Output::ok(IDLE), Output::ok("")]);
    c.start(L, Path::new(PLIST)).await.expect("started");
    assert_eq!(
        calls_of(&c),
        [
            format!("print gui/501/{L}"),
            format!("kickstart gui/501/{L}")
        ]
    );
}

#[tokio::test]
async fn bootstrap_failed_5_is_retried_after_bootout_and_wait() {
    let c = ctl(vec![
        Output::fail(5, "Bootstrap failed: 5: Input/output error\n"),
        Output::ok(""),   // bootout
        Output::ok(IDLE), // still draining
        Output::ok(IDLE), // still draining
        gone(),           // gone
        Output::ok(""),   // bootstrap again
    ]);
    c.bootstrap(L, Path::new(PLIST)).await.expect("loaded");
    assert_eq!(
        calls_of(&c),
        [
            format!("bootstrap gui/501 {PLIST}"),
            format!("bootout gui/501/{L}"),
            format!("print gui/501/{L}"),
            format!("print gui/501/{L}"),
            format!("print gui/501/{L}"),
            format!("bootstrap gui/501 {PLIST}"),
        ]
    );
}

#[tokio::test]
async fn a_second_5_is_an_error_that_says_what_to_check() {
    let five = || Output::fail(5, "Bootstrap failed: 5: Input/output error\n");
    let c = ctl(vec![five(), Output::ok(""), gone(), five()]);
    let e = c.bootstrap(L, Path::new(PLIST)).await.expect_err("fails");
    assert!(matches!(e, Error::WontLoad { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("plutil -lint") && msg.contains(PLIST), "{msg}");
    assert_eq!(calls_of(&c).len(), 4);
}

#[tokio::test]
async fn service_is_disabled_119_is_answered_by_enable() {
    let c = ctl(vec![
        Output::fail(119, "Bootstrap failed: 119: Service is disabled\n"),
        Output::ok(""),
        Output::ok(""),
    ]);
    c.bootstrap(L, Path::new(PLIST)).await.expect("loaded");
    assert_eq!(
        calls_of(&c),
        [
            format!("bootstrap gui/501 {PLIST}"),
            format!("enable gui/501/{L}"),
            format!("bootstrap gui/501 {PLIST}"),
        ]
    );
}

#[tokio::test]
async fn stop_boots_out_and_polls_print_until_113() {
    let c = ctl(vec![Output::ok(""), Output::ok(RUNNING), gone()]);
    c.bootout(L).await.expect("stopped");
    assert_eq!(
        calls_of(&c),
        [
            format!("bootout gui/501/{L}"),
            format!("print gui/501/{L}"),
            format!("print gui/501/{L}"),
        ]
    );
}

#[tokio::test]
async fn stop_of_a_job_that_is_not_loaded_is_fine() {
    let c = ctl(vec![gone(), gone()]);
    c.bootout(L).await.expect("already stopped");
    assert_eq!(
        calls_of(&c),
        [format!("bootout gui/501/{L}"), format!("print gui/501/{L}")]
    );
}

#[tokio::test]
async fn a_job_that_never_goes_away_is_reported_after_the_wait() {
    let mut c = ctl(vec![
        Output::ok(""),
        Output::ok(RUNNING),
        Output::ok(RUNNING),
    ]);
    c.wait.polls = 2;
    let e = c.bootout(L).await.expect_err("still loaded");
    assert!(matches!(e, Error::StillLoaded { .. }), "{e:?}");
    assert!(e.to_string().contains("launchctl print gui/501/"), "{e}");
}

#[tokio::test]
async fn restart_of_an_unchanged_plist_is_kickstart_k() {
    let c = ctl(vec![Output::ok(RUNNING), Output::ok("")]);
    c.restart(L, Path::new(PLIST), false)
        .await
        .expect("restarted");
    assert_eq!(
        calls_of(&c),
        [
            format!("print gui/501/{L}"),
            format!("kickstart -k gui/501/{L}")
        ]
    );
}

#[tokio::test]
async fn restart_of_a_changed_plist_boots_out_waits_and_bootstraps() {
    let c = ctl(vec![
        Output::ok(RUNNING),
        Output::ok(""),
        gone(),
        Output::ok(""),
        Output::ok(""),
    ]);
    c.restart(L, Path::new(PLIST), true)
        .await
        .expect("restarted");
    assert_eq!(
        calls_of(&c),
        [
            format!("print gui/501/{L}"),
            format!("bootout gui/501/{L}"),
            format!("print gui/501/{L}"),
            format!("enable gui/501/{L}"),
            format!("bootstrap gui/501 {PLIST}"),
        ]
    );
}

#[tokio::test]
async fn disable_is_disable_then_bootout() {
    let c = ctl(vec![Output::ok(""), Output::ok(""), gone()]);
    c.disable(L).await.expect("disabled");
    assert_eq!(
        calls_of(&c),
        [
            format!("disable gui/501/{L}"),
            format!("bootout gui/501/{L}"),
            format!("print gui/501/{L}"),
        ]
    );
}

#[tokio::test]
async fn other_failures_name_what_to_do() {
    let c = ctl(vec![Output::fail(
        125,
        "Bootstrap failed: 125: Domain does not support specified action\n",
    )]);
    let msg = c
        .bootstrap(L, Path::new(PLIST))
        .await
        .expect_err("fails")
        .to_string();
    assert!(
        msg.contains("exit 125") && msg.contains("Domain does not support"),
        "{msg}"
    );
    assert!(msg.contains("GUI session"), "{msg}");

    let c = ctl(vec![Output::fail(37, "Operation already in progress\n")]);
    let msg = c.kickstart(L, true).await.expect_err("fails").to_string();
    assert!(msg.contains("retry in a few seconds"), "{msg}");
}

#[test]
fn the_domain_falls_back_to_user_without_a_gui_session() {
    assert_eq!(Domain::choose(501, false, Some(501)).to_string(), "gui/501");
    assert_eq!(Domain::choose(501, true, Some(501)).to_string(), "user/501");
    assert_eq!(Domain::choose(501, false, Some(0)).to_string(), "user/501");
    assert_eq!(Domain::choose(501, false, None).to_string(), "gui/501");
}

#[tokio::test]
async fn print_disabled_asks_the_domain_and_finds_the_label() {
    let listing = "disabled services = {\n\t\"computer.parachute.vault\" => disabled\n\t\"computer.parachute.notes\" => enabled\n}\n";
    let c = ctl(vec![
        Output::ok(listing),
        Output::ok(listing),
        Output::ok(listing),
    ]);
    assert_eq!(c.is_disabled(L).await.expect("read"), Some(true));
    assert_eq!(
        c.is_disabled("computer.parachute.notes")
            .await
            .expect("read"),
        Some(false)
    );
    assert_eq!(
        c.is_disabled("computer.parachute.scribe")
            .await
            .expect("read"),
        None,
        "not listed: launchd has no opinion, so it loads"
    );
    assert_eq!(calls_of(&c), vec!["print-disabled gui/501".to_string(); 3]);

    let c = Launchctl::new(
        Recording::new(vec![Output::fail(1, "Not privileged\n")]),
        Domain::User(501),
    );
    let e = c.is_disabled(L).await.expect_err("refused");
    assert!(e.to_string().contains("print-disabled"), "{e}");
    assert_eq!(calls_of(&c), ["print-disabled user/501"]);
}
