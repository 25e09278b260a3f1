//! A command builder for the real `parachute` binary with its own
//! `PARACHUTE_HOME` (`<root>/home`), either against the harness's user
//! manager or with no manager reachable at all.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::systemd::SystemdEnv;

pub struct Parachute {
    env: Vec<(&'static str, OsString)>,
    remove: Vec<&'static str>,
}

impl Parachute {
    /// Against the harness's `systemd --user`; state in `<root>/home`.
    pub fn new(mgr: &SystemdEnv, root: &Path) -> Self {
        let mut env = mgr.env();
        env.push(("PARACHUTE_HOME", root.join("home").into()));
        Self {
            env,
            remove: super::systemd::ENV_REMOVE
                .iter()
                .copied()
                .filter(|k| *k != "PARACHUTE_HOME")
                .collect(),
        }
    }

    /// No user manager reachable: a private runtime dir with no sockets.
    pub fn offline(root: &Path) -> Self {
        Self {
            env: vec![
                ("HOME", root.into()),
                ("PARACHUTE_HOME", root.join("home").into()),
                ("XDG_RUNTIME_DIR", root.join("run").into()),
            ],
            remove: vec!["DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME", "SUDO_USER"],
        }
    }

    pub fn home(&self) -> PathBuf {
        self.env
            .iter()
            .find(|(k, _)| *k == "PARACHUTE_HOME")
            .map(|(_, v)| PathBuf::from(v))
            .expect("PARACHUTE_HOME is set")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_as(Path::new(env!("CARGO_BIN_EXE_parachute")), args)
    }

    /// The same environment, another `parachute` binary (a copy elsewhere,
    /// as after `cargo install` or a package upgrade).
    pub fn cmd_as(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        for k in &self.remove {
            c.env_remove(k);
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c.args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run parachute")
    }

    /// Uninstall `service` when the guard drops, so a failed assertion does
    /// not leave a unit running in the shared manager.
    pub fn uninstall_on_drop(&self, service: &str) -> Uninstall<'_> {
        Uninstall {
            p: self,
            service: service.to_string(),
        }
    }
}

pub struct Uninstall<'a> {
    p: &'a Parachute,
    service: String,
}

impl Drop for Uninstall<'_> {
    fn drop(&mut self) {
        let _ = self.p.run(&["uninstall", &self.service, "--yes"]);
    }
}
