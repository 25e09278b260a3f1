//! Issue 9 item 9 / issue 15: after the binary moves, the next command
//! says that the hub's unit runs another binary, once: not on every command.

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
    // `init` made the home the units point at; "said once" is kept there.
    std::fs::create_dir_all(p.home()).expect("mkdir home");
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
    assert!(err.contains("parachute upgrade"), "{err}");
    // Said once: the next commands stay quiet about it.
    for args in [&["status"][..], &["unit", "hub"][..]] {
        let o = p.run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains(NOTICE), "{args:?} repeated it: {err}");
    }
}

#[test]
fn a_second_move_is_news_again() {
    let (tmp, p) = with_hub_unit("/opt/old/parachute");
    let first = p.run(&["status"]);
    assert!(String::from_utf8_lossy(&first.stderr).contains(NOTICE));
    std::fs::write(
        tmp.path()
            .join(".config/systemd/user/parachute-hub.service"),
        "[Service]\nType=notify\nExecStart=/opt/older/parachute serve\n",
    )
    .expect("rewrite unit");
    let o = p.run(&["status"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("runs `/opt/older/parachute`"), "{err}");
}

#[test]
fn nothing_is_said_when_the_unit_runs_this_binary() {
    let (_tmp, p) = with_hub_unit(env!("CARGO_BIN_EXE_parachute"));
    let o = p.run(&["status"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains(NOTICE), "{err}");
}

/// Under launchd (issue 12) the hub's agent pins the binary in its
/// `ProgramArguments[0]`: `status` runs with the fake `launchctl` first on
/// `PATH` and a hub agent in `~/Library/LaunchAgents`, as `init` writes it.
fn under_launchd(program: &str) -> (tempfile::TempDir, Parachute, String) {
    let tmp = crate::support::temp_dir();
    let agents = tmp.path().join("Library/LaunchAgents");
    std::fs::create_dir_all(&agents).expect("mkdir agents");
    std::fs::write(
        agents.join("computer.parachute.hub.plist"),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>\
             <key>Label</key><string>computer.parachute.hub</string>\
             <key>ProgramArguments</key><array><string>{program}</string>\
             <string>serve</string><string>--idle-exit</string><string>600</string></array>\
             </dict></plist>\n"
        ),
    )
    .expect("write agent");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    let fake =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake-launchctl");
    std::os::unix::fs::symlink(fake, bin.join("launchctl")).expect("link launchctl");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let p = Parachute::offline(tmp.path());
    std::fs::create_dir_all(p.home()).expect("mkdir home");
    (tmp, p, path)
}

fn launchd_status(tmp: &tempfile::TempDir, p: &Parachute, path: &str) -> String {
    let o = p
        .cmd(&["status"])
        .env("PATH", path)
        .env("PARACHUTE_INIT_SYSTEM", "launchd")
        .env("FAKE_LAUNCHCTL_DIR", tmp.path().join("fake"))
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_TTY")
        .output()
        .expect("run parachute");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const AGENT_NOTICE: &str = "⚠ the hub's agent runs";

#[test]
fn under_launchd_a_command_says_once_that_the_hub_agent_runs_another_binary() {
    let (tmp, p, path) = under_launchd("/opt/old/parachute");
    let err = launchd_status(&tmp, &p, &path);
    assert_eq!(err.matches(AGENT_NOTICE).count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "runs `/opt/old/parachute` (no longer there), but this is `{}`",
            env!("CARGO_BIN_EXE_parachute")
        )),
        "{err}"
    );
    assert!(err.contains("parachute upgrade"), "{err}");
    let err = launchd_status(&tmp, &p, &path);
    assert!(!err.contains(AGENT_NOTICE), "repeated: {err}");

    let (tmp, p, path) = under_launchd(env!("CARGO_BIN_EXE_parachute"));
    let err = launchd_status(&tmp, &p, &path);
    assert!(!err.contains("⚠ the hub's"), "this binary: {err}");
}
