//! The world every operation's unit tests run in: a temporary home and unit
//! directory, a fixed clock, the `Host` the operations take, and the module
//! `demo` (test-only; shared by `tests.rs`, `tests_disabled.rs` and
//! `init/tests.rs`).

use std::path::PathBuf;
use std::time::Duration;

use super::{Host, SpecContext};
use crate::clock::Clock;
use crate::lifecycle::InitSystem;
use crate::manifest::Services;
use crate::paths::Paths;

pub struct World {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub paths: Paths,
    pub clock: Clock,
}

impl World {
    /// A world whose `PARACHUTE_HOME` exists (what `install` expects).
    pub fn new() -> Self {
        let w = Self::at("home");
        std::fs::create_dir_all(&w.paths.home).expect("mkdir");
        w
    }

    /// A world whose `PARACHUTE_HOME` (`home` under the root) is not made
    /// yet: what `init` finds on a new machine.
    pub fn at(home: &str) -> Self {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().to_path_buf();
        let paths = Paths {
            home: root.join(home),
            unit_dir: root.join("units"),
        };
        Self {
            _tmp: tmp,
            root,
            paths,
            clock: Clock::fixed(1_767_225_600),
        }
    }

    pub fn host<'a, I: InitSystem>(&'a self, init: &'a I) -> Host<'a, I> {
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
            // Nothing listens on the port: the settle ends at once, pending.
            settle: Duration::ZERO,
            linger_warned: true,
        }
    }

    /// A module directory `demo` whose start command is `bin/run ARGS`.
    pub fn module(&self, args: &[&str]) -> PathBuf {
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

    pub fn services(&self) -> Services {
        Services::load_strict(&self.paths.services_json()).expect("services.json")
    }

    /// The port `demo`'s row holds.
    pub fn port(&self) -> u16 {
        self.services().find("demo").expect("row").port
    }
}
