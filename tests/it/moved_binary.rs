//! Issue 9 item 9 / issue 15: after the binary moves, a command that talks
//! to units says once that the hub's unit runs another binary.

use crate::support::cli::Parachute;

fn with_hub_unit(exec_start: &str) -> (tempfile::TempDir, Parachute) {
    let tmp = crate::support::temp_dir();
    let units = tmp.path().join(".config/systemd/user");
    std::fs::create_dir_all(&units).expect("mkdir units");
    std::fs::write(
        units.join("parachute-hub.service"),
        format!("[Service]\nType=notify\nExecStart={exec_start} serve --idle-exit 600\n"),
    )
    .expect("write unit");
    let p = Parachute::offline(tmp.path());
    (tmp, p)
}

const NOTICE: &str = "⚠ the hub's unit runs";

#[test]
fn a_command_says_once_that_the_hub_unit_runs_another_binary() {
    let (_tmp, p) = with_hub_unit("/opt/old/parachute");
    let o = p.run(&["status"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches(NOTICE).count(), 1, "{err}");
    assert!(
        err.contains("runs `/opt/old/parachute` (no longer there), but this is `"),
        "{err}"
    );
    assert!(err.contains(env!("CARGO_BIN_EXE_parachute")), "{err}");
    assert!(err.contains("parachute init"), "{err}");
}

#[test]
fn nothing_is_said_when_the_unit_runs_this_binary() {
    let (_tmp, p) = with_hub_unit(env!("CARGO_BIN_EXE_parachute"));
    let o = p.run(&["status"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains(NOTICE), "{err}");
}
