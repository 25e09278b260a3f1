//! The hub's own units as `parachute init` writes them, shared by `init`
//! and `doctor` (which compares the files on disk with [`expected`] and,
//! with `--fix`, rewrites them through [`ensure_units`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use crate::env_vars;
use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET, TARGET};
use crate::lifecycle::systemd::hub_unit::{self, HubUnits};
use crate::lifecycle::systemd::unit::Hardening;
use crate::lifecycle::systemd::units;
use crate::paths::Paths;

/// Where the hub socket listens: `PARACHUTE_BIND_HOST:<port>`, as `serve` binds.
pub fn listen_addr(port: u16) -> SocketAddr {
    let host = std::env::var(env_vars::PARACHUTE_BIND_HOST)
        .ok()
        .and_then(|h| h.parse::<IpAddr>().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    SocketAddr::new(host, port)
}

/// The port of the installed socket unit's `ListenStream=`: where the hub
/// is while its store (which keeps the `hub_port` setting) is missing.
pub fn installed_port(paths: &Paths) -> Option<u16> {
    let text = std::fs::read_to_string(paths.unit_file(HUB_SOCKET)).ok()?;
    let listen = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("ListenStream="))?;
    listen.rsplit(':').next()?.trim().parse().ok()
}

/// This binary's path, the one `init` pins into `ExecStart=`.
pub fn current_exe() -> Result<PathBuf, Error> {
    std::env::current_exe().map_err(|source| Error::CurrentExe { source })
}

/// What the hub units depend on, for this binary and this port.
pub fn spec(paths: &Paths, exe: PathBuf, port: u16, hub_origin: &str) -> HubUnits {
    HubUnits {
        exe,
        listen: listen_addr(port),
        parachute_home: paths.home.clone(),
        hub_origin: hub_origin.to_string(),
        idle_exit_secs: hub_unit::IDLE_EXIT_SECS,
    }
}

/// `(unit, text)` of the socket and the service, as `init` would write them.
pub fn expected(spec: &HubUnits, hardening: Hardening) -> [(&'static str, String); 2] {
    [
        (HUB_SOCKET, hub_unit::render_socket(spec)),
        (HUB_SERVICE, hub_unit::render_service(spec, hardening)),
    ]
}

/// Write the hub's units (or agent) when changed, through the backend
/// ([`InitSystem::ensure_hub`]). Returns what it changed, one line each.
pub async fn ensure_units(
    paths: &Paths,
    init: &impl InitSystem,
    spec: &HubUnits,
) -> Result<Vec<String>, Error> {
    init.ensure_hub(paths, spec).await
}

/// systemd: write the target and the hub's units when their text changed,
/// reload, and enable the socket (and the target). A running hub is stopped
/// after a change so the socket starts the new one.
pub async fn ensure_systemd_units(
    paths: &Paths,
    init: &impl InitSystem,
    spec: &HubUnits,
) -> Result<Vec<String>, Error> {
    let mut changed = Vec::new();
    let hardening = units::hardening(paths, init).await;
    let mut reload = units::ensure_target(paths)?;
    let mut socket_changed = false;
    for (unit, text) in expected(spec, hardening) {
        if units::write_if_changed(paths, unit, &text)? {
            changed.push(format!("wrote {}", paths.unit_file(unit).display()));
            reload = true;
            socket_changed |= unit == HUB_SOCKET;
        }
    }
    if reload {
        init.reload().await?;
    }
    // A listening socket keeps its old address until it is restarted
    // (`init --port` moved it); the caller starts it again.
    if socket_changed && init.state(HUB_SOCKET).await?.is_active() {
        init.stop(HUB_SOCKET).await?;
        changed.push(format!(
            "stopped {HUB_SOCKET} so it listens on {}",
            spec.listen
        ));
    }
    let mut to_enable = Vec::new();
    for unit in [HUB_SOCKET, TARGET] {
        if init.state(unit).await?.unit_file_state != "enabled" {
            to_enable.push(unit.to_string());
        }
    }
    if !to_enable.is_empty() {
        init.enable(&to_enable).await?;
        changed.push(format!("enabled {}", to_enable.join(" and ")));
    }
    if reload && init.state(HUB_SERVICE).await?.is_active() {
        init.stop(HUB_SERVICE).await?;
        changed.push("stopped the running hub so the new unit applies".into());
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_port_comes_from_the_socket_unit() {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: tmp.path().join("home"),
            unit_dir: tmp.path().join("units"),
        };
        assert_eq!(installed_port(&paths), None);
        std::fs::create_dir_all(&paths.unit_dir).expect("mkdir");
        std::fs::write(
            paths.unit_file(HUB_SOCKET),
            "[Socket]\nListenStream=127.0.0.1:1950\nNoDelay=yes\n",
        )
        .expect("write");
        assert_eq!(installed_port(&paths), Some(1950));
    }
}
