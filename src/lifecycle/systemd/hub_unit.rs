//! Pure renderers for the hub's two units. `parachute-hub.socket` owns
//! `127.0.0.1:1939` and is what gets enabled; `parachute-hub.service` is
//! started by it on the first connection (`Type=notify`: active once the
//! hub says `READY=1`). Because systemd holds the socket, connections made
//! while the hub restarts or after it idles out wait in the backlog instead
//! of being refused.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::hardening::{self, Kind, OptOuts};
use super::unit::{
    HUB_SERVICE, HUB_SOCKET, Hardening, TARGET, environment_line, exec_line, header, lives_in_tmp,
};
use crate::env_vars;

/// Seconds without an open connection before a socket-activated hub exits.
pub const IDLE_EXIT_SECS: u64 = 600;
/// `WatchdogSec=`: the hub pings at half of it.
pub const WATCHDOG_SEC: u32 = 30;
/// Pause before systemd restarts a crashed hub; queued clients wait this long.
pub const RESTART_SEC: &str = "500ms";
/// Longer than the hub's own drain bound (`cli::serve::DRAIN`).
pub const TIMEOUT_STOP_SEC: u32 = 15;
/// `LimitNOFILE=`: [`crate::lifecycle::service::HUB_NOFILE`].
/// `KillMode=control-group` (spelled out, though it is systemd's default)
/// is what takes `git http-backend` and its children down with a hub that
/// died or was stopped mid-push.
pub const LIMIT_NOFILE: u64 = crate::lifecycle::service::HUB_NOFILE;
/// Crash-loop ceiling for the hub. Looser than the modules' (5 in 300 s):
/// every activation after an idle exit and every restart counts as a start,
/// and once the limit is hit systemd fails the socket too, refusing every
/// connection until `reset-failed`. 20 in a minute still stops a tight loop
/// (a crashing hub restarts about twice a second).
pub const START_LIMIT_INTERVAL_SEC: u32 = 60;
pub const START_LIMIT_BURST: u32 = 20;

/// Everything the hub units depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUnits {
    /// Absolute path of this binary.
    pub exe: PathBuf,
    /// `ListenStream=`.
    pub listen: SocketAddr,
    pub parachute_home: PathBuf,
    /// The issuer the hub writes into tokens (same as the CLI's).
    pub hub_origin: String,
    pub idle_exit_secs: u64,
}

/// `parachute-hub.socket`.
pub fn render_socket(u: &HubUnits) -> String {
    let mut s = header(HUB_SOCKET);
    let _ = write!(
        s,
        "[Unit]\n\
         Description=Parachute hub (socket)\n\
         Documentation=https://github.com/ParachuteComputer/parachute\n\
         PartOf={TARGET}\n\
         \n\
         [Socket]\n\
         ListenStream={listen}\n\
         NoDelay=yes\n\
         \n\
         [Install]\n\
         WantedBy={TARGET} sockets.target\n",
        listen = u.listen,
    );
    s
}

/// `parachute-hub.service`.
pub fn render_service(u: &HubUnits, hardening: Hardening) -> String {
    let mut s = header(HUB_SERVICE);
    let argv = [
        u.exe.to_string_lossy().into_owned(),
        "serve".to_string(),
        "--idle-exit".to_string(),
        u.idle_exit_secs.to_string(),
    ];
    let _ = write!(
        s,
        "[Unit]\n\
         Description=Parachute hub\n\
         Documentation=https://github.com/ParachuteComputer/parachute\n\
         PartOf={TARGET}\n\
         Requires={HUB_SOCKET}\n\
         After={HUB_SOCKET}\n\
         StartLimitIntervalSec={START_LIMIT_INTERVAL_SEC}\n\
         StartLimitBurst={START_LIMIT_BURST}\n\
         \n\
         [Service]\n\
         Type=notify\n\
         ExecStart={exec}\n",
        exec = exec_line(&argv),
    );
    for (k, v) in [
        (
            env_vars::PARACHUTE_HOME,
            u.parachute_home.to_string_lossy().into_owned(),
        ),
        (env_vars::PARACHUTE_HUB_ORIGIN, u.hub_origin.clone()),
    ] {
        s.push_str(&environment_line(k, &v));
    }
    let _ = write!(
        s,
        "WatchdogSec={WATCHDOG_SEC}\n\
         Restart=on-failure\n\
         RestartSec={RESTART_SEC}\n\
         TimeoutStopSec={TIMEOUT_STOP_SEC}\n\
         KillMode=control-group\n\
         LimitNOFILE={LIMIT_NOFILE}\n\
         SyslogIdentifier=parachute-hub\n",
    );
    let in_tmp = lives_in_tmp(&[&u.parachute_home]);
    s.push_str(&hardening::lines(
        hardening,
        &hardening::Context {
            kind: Kind::Hub,
            private_tmp: !in_tmp,
            read_write: Some(&u.parachute_home),
            opt_out: &OptOuts::new(),
        },
    ));
    // Enabling the service by name enables the socket, which is what runs it.
    let _ = write!(s, "\n[Install]\nAlso={HUB_SOCKET}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn units() -> HubUnits {
        HubUnits {
            exe: "/usr/bin/parachute".into(),
            listen: "127.0.0.1:1939".parse().expect("addr"),
            parachute_home: "/home/ada/.parachute".into(),
            hub_origin: "http://127.0.0.1:1939".into(),
            idle_exit_secs: IDLE_EXIT_SECS,
        }
    }

    /// `UPDATE_GOLDEN=1 cargo test` rewrites the files after an intended change.
    fn golden(name: &str, actual: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/lifecycle/systemd/golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).expect("write golden");
        }
        let want = std::fs::read_to_string(&path).expect("golden file exists");
        pretty_assertions::assert_eq!(want, actual, "golden {name}");
    }

    #[test]
    fn golden_socket() {
        golden("hub.socket", &render_socket(&units()));
    }

    #[test]
    fn golden_service() {
        golden("hub.service", &render_service(&units(), Hardening::NONE));
    }

    #[test]
    fn golden_service_with_namespaces() {
        golden(
            "hub-namespaces.service",
            &render_service(&units(), Hardening::all()),
        );
    }

    #[test]
    fn odd_paths_and_origins_are_quoted() {
        let mut u = units();
        u.exe = "/opt/my apps/parachute".into();
        u.parachute_home = "/tmp/100% \"home\"".into();
        let text = render_service(&u, Hardening::all());
        assert!(text.contains("ExecStart=\"/opt/my apps/parachute\" serve --idle-exit 600\n"));
        assert!(text.contains("Environment=\"PARACHUTE_HOME=/tmp/100%% \\\"home\\\"\"\n"));
        assert!(!text.contains("PrivateTmp"), "home under /tmp");
    }

    /// systemd's own parser agrees with the renderer (skips, loudly, where
    /// `systemd-analyze` is missing).
    #[test]
    fn systemd_analyze_accepts_both_units() {
        let Ok(probe) = std::process::Command::new("systemd-analyze")
            .arg("--version")
            .output()
        else {
            eprintln!("SKIP: systemd-analyze is not installed");
            return;
        };
        assert!(probe.status.success());
        let dir = tempfile::tempdir().expect("tmp");
        let mut u = units();
        // verify checks that ExecStart= exists and is executable.
        u.exe = PathBuf::from("/bin/true");
        std::fs::write(dir.path().join(HUB_SOCKET), render_socket(&u)).expect("socket");
        std::fs::write(
            dir.path().join(HUB_SERVICE),
            render_service(&u, Hardening::all()),
        )
        .expect("service");
        std::fs::write(dir.path().join(TARGET), super::super::unit::TARGET_TEXT).expect("target");
        let out = std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(dir.path().join(HUB_SOCKET))
            .arg(dir.path().join(HUB_SERVICE))
            .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.path().display()))
            .output()
            .expect("run systemd-analyze");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Only complaints about our two files matter (the host's own units
        // may produce noise of their own).
        let ours: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("parachute-hub"))
            .collect();
        assert!(ours.is_empty(), "systemd-analyze verify:\n{stderr}");
    }
}
