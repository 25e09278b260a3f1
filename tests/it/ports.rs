//! Issue 9 item 7 on a real `systemd --user`: a free requested port is
//! honoured (even for a first-party name); one that cannot be is replaced
//! with a message saying why and which port the module got.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::cli::Parachute;
use crate::support::hub::{free_port, stderr};
use crate::support::systemd;

fn module(dir: &Path, name: &str, port: u16) -> PathBuf {
    let root = dir.join(name);
    fs::create_dir_all(root.join(".parachute")).expect("mkdir");
    let manifest = serde_json::json!({
        "name": name,
        "manifestName": format!("parachute-{name}"),
        "port": port,
        "paths": [format!("/{name}")],
        "health": format!("/{name}/health"),
        "startCmd": ["/bin/sleep", "600"],
    });
    fs::write(root.join(".parachute/module.json"), manifest.to_string()).expect("write");
    root
}

fn registered_port(p: &Parachute, name: &str) -> u64 {
    let doc: Value = serde_json::from_str(
        &fs::read_to_string(p.home().join("services.json")).expect("services.json"),
    )
    .expect("json");
    doc["services"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["name"] == format!("parachute-{name}"))
        .and_then(|r| r["port"].as_u64())
        .expect("row with a port")
}

#[test]
fn a_free_requested_port_is_honoured_and_a_refused_one_says_why() {
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());

    // A first-party name asking for a free port of its own gets it.
    let asked = free_port();
    let dir = module(tmp.path(), "notes", asked);
    let _notes = p.uninstall_on_drop("notes");
    let o = p.run(&["install", dir.to_str().expect("utf8"), "--no-start"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("✓ parachute-notes registered on port {asked}")),
        "{err}"
    );
    assert!(!err.contains("asked for port"), "{err}");
    assert_eq!(registered_port(&p, "notes"), u64::from(asked));

    for (name, asked, why) in [
        ("hubsquat", 1939, "it is the hub's port"),
        (
            "lowport",
            22,
            "ports below 1024 need root, and services run as you",
        ),
    ] {
        let dir = module(tmp.path(), name, asked);
        let _guard = p.uninstall_on_drop(name);
        let o = p.run(&["install", dir.to_str().expect("utf8"), "--no-start"]);
        let err = stderr(&o);
        assert!(o.status.success(), "{name}: {err}");
        let got = registered_port(&p, name);
        assert_ne!(got, u64::from(asked));
        assert!(
            err.contains(&format!(
                "⚠ parachute-{name} asked for port {asked}, but {why}; it got port {got}."
            )),
            "{name}: {err}"
        );
        assert!(
            err.contains(&format!("✓ parachute-{name} registered on port {got}")),
            "{err}"
        );
    }

    // Held by another program right now.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let asked = held.local_addr().expect("addr").port();
    let dir = module(tmp.path(), "busy", asked);
    let _busy = p.uninstall_on_drop("busy");
    let o = p.run(&["install", dir.to_str().expect("utf8"), "--no-start"]);
    let err = stderr(&o);
    let got = registered_port(&p, "busy");
    assert!(
        err.contains(&format!(
            "⚠ parachute-busy asked for port {asked}, but another program is listening on it; it got port {got}."
        )),
        "{err}"
    );
}
