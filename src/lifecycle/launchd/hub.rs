//! The hub's agent `computer.parachute.hub`: rendered from the same
//! [`HubUnits`] as systemd's socket and service, with launchd holding
//! `127.0.0.1:<port>` (`Sockets.Listeners`) as `parachute-hub.socket` does.

use plist::Value;

use super::layout::{HUB_LABEL, Layout};
use super::render::{self, Agent, SOCKET_NAME};
use crate::lifecycle::systemd::hub_unit::HubUnits;

/// The hub's agent for this binary and port.
pub fn agent(layout: &Layout, spec: &HubUnits) -> Agent {
    render::hub(spec, &layout.user_home, layout)
}

/// The port in the installed agent's `Sockets.Listeners.SockServiceName`
/// (a string as we write it; an override may give an integer).
pub fn installed_port(layout: &Layout) -> Option<u16> {
    let v = Value::from_file(layout.plist(HUB_LABEL)).ok()?;
    let service = v
        .as_dictionary()?
        .get("Sockets")?
        .as_dictionary()?
        .get(SOCKET_NAME)?
        .as_dictionary()?
        .get("SockServiceName")?;
    match service {
        Value::String(s) => s.trim().parse().ok(),
        Value::Integer(i) => i.as_unsigned().and_then(|n| u16::try_from(n).ok()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::launchd::agents;

    #[test]
    fn the_installed_port_is_read_back_from_the_agent() {
        let tmp = tempfile::tempdir().expect("tmp");
        let layout = Layout::new(tmp.path(), &tmp.path().join(".parachute"));
        assert_eq!(installed_port(&layout), None);
        let spec = HubUnits {
            exe: "/opt/homebrew/bin/parachute".into(),
            listen: "127.0.0.1:1950".parse().expect("addr"),
            parachute_home: tmp.path().join(".parachute"),
            hub_origin: "http://127.0.0.1:1950".into(),
            idle_exit_secs: 600,
        };
        agents::write_if_changed(&layout, &agent(&layout, &spec)).expect("write");
        assert_eq!(installed_port(&layout), Some(1950));
    }
}
