//! The systemd harness itself: if this fails, every system test is suspect.

use std::fs;
use std::time::{Duration, Instant};

use crate::support::systemd::{self, SystemdEnv};

/// Stops and removes the test unit even when an assertion fails.
struct Unit<'a> {
    env: &'a SystemdEnv,
    name: String,
}

impl Drop for Unit<'_> {
    fn drop(&mut self) {
        self.env.systemctl(["stop", self.name.as_str()]);
        let _ = fs::remove_file(self.env.unit_dir().join(&self.name));
        self.env.systemctl(["daemon-reload"]);
    }
}

#[test]
fn harness_boots_and_runs_a_unit() {
    let _guard = systemd::lock();
    let Some(env) = systemd::manager() else {
        return;
    };
    let unit = Unit {
        env,
        name: format!("parachute-harness-smoke-{}.service", std::process::id()),
    };
    fs::create_dir_all(env.unit_dir()).expect("create the unit dir");
    fs::write(
        env.unit_dir().join(&unit.name),
        "[Service]\nExecStart=/bin/sh -c 'echo harness smoke says hi; exec sleep 300'\n",
    )
    .expect("write the unit");

    let reload = env.systemctl(["daemon-reload"]);
    assert!(reload.status.success(), "daemon-reload: {reload:?}");
    let start = env.systemctl(["start", unit.name.as_str()]);
    assert!(start.status.success(), "start: {start:?}");
    let active = env.systemctl(["is-active", unit.name.as_str()]);
    assert_eq!(String::from_utf8_lossy(&active.stdout).trim(), "active");

    // journald indexes a line a moment after the unit writes it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !env.journal(&unit.name).contains("harness smoke says hi") {
        assert!(
            Instant::now() < deadline,
            "no journal line for {}: {:?}",
            unit.name,
            env.journal(&unit.name)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
