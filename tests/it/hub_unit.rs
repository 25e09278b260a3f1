//! System tests of the generated hub unit on a real `systemd --user`
//! (issue 8): a hub whose main process is `kill -9`ed in the middle of a
//! push leaves no `git http-backend` behind — the unit's cgroup goes with
//! it (`KillMode=control-group`).

use std::time::Duration;

use super::git::{children, group_members};
use super::git_limits::stalled_push;
use super::init::Installed;
use crate::support::hub::{http, stderr, wait_for};
use crate::support::systemd;

const SERVICE: &str = "parachute-hub.service";

/// Live processes whose command is `git-http-backend` (any parent).
fn backends_alive() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                s.contains("(git-http-backen)")
                    && s.rsplit_once(')')
                        .and_then(|(_, r)| r.split_whitespace().next())
                        .is_some_and(|st| st != "Z" && st != "X")
            })
        })
        .collect()
}

#[test]
fn kill_9_mid_push_leaves_no_git_backend() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    let o =
        i.p.run(&["auth", "mint-token", "--scope", "surface:sys:write"]);
    assert!(o.status.success(), "mint-token: {}", stderr(&o));
    let write = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let r = http(
        i.addr(),
        "GET",
        "/git/sys/info/refs?service=git-receive-pack",
        Some(&write),
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let before = backends_alive();

    let main: u32 = i.show(SERVICE, "MainPID").parse().expect("MainPID");
    assert_ne!(main, 0);
    wait_for(Duration::from_secs(10), "no backend running", || {
        children(main).is_empty()
    });
    let _push = stalled_push(i.addr(), "sys", &write);
    let mut backend = Vec::new();
    wait_for(Duration::from_secs(10), "the backend to start", || {
        backend = children(main);
        !backend.is_empty()
    });
    let pgid = backend[0];
    wait_for(Duration::from_secs(10), "git-http-backend to run", || {
        backends_alive().len() > before.len()
    });

    let kill = std::process::Command::new("kill")
        .args(["-9", &main.to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    wait_for(
        Duration::from_secs(10),
        "the backend group to be gone",
        || group_members(pgid).is_empty(),
    );
    let left: Vec<u32> = backends_alive()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert!(left.is_empty(), "git-http-backend survived: {left:?}");
}
