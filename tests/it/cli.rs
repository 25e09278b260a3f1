//! The real binary, no init system needed: bad input is reported, named and
//! never overwritten.

use std::fs;

use crate::support::cli::Parachute;

#[test]
fn a_malformed_services_json_is_reported_and_left_byte_identical() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).expect("mkdir");
    let bad = b"{\"services\": [\n  {\"name\": \"parachute-x\", \"port\": 1950,\n}\n";
    fs::write(home.join("services.json"), bad).expect("write");
    let module = tmp.path().join("m");
    fs::create_dir_all(module.join(".parachute")).expect("mkdir");
    fs::write(
        module.join(".parachute/module.json"),
        r#"{"name":"m","manifestName":"parachute-m","port":1951,"paths":["/m"],"health":"/m/health","startCmd":["/bin/sleep","60"]}"#,
    )
    .expect("write");
    for args in [
        vec!["install", module.to_str().expect("utf8")],
        vec!["status"],
        vec!["start", "x"],
    ] {
        let o = p.run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("services.json"),
            "{args:?} names the file: {err}"
        );
        assert!(
            err.contains("line 3, column 1"),
            "{args:?} gives the position: {err}"
        );
        assert_eq!(
            fs::read(home.join("services.json")).expect("read"),
            bad,
            "{args:?}"
        );
    }
}

#[test]
fn an_invalid_module_json_names_the_field_and_registers_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let module = tmp.path().join("m");
    fs::create_dir_all(module.join(".parachute")).expect("mkdir");
    fs::write(
        module.join(".parachute/module.json"),
        r#"{"name":"Bad Name","manifestName":"parachute-m","port":1951,"paths":["/m"],"health":"/m/health"}"#,
    )
    .expect("write");
    let o = p.run(&["install", module.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("`name` must match ^[a-z][a-z0-9-]*$"), "{err}");
    assert!(err.contains("module.json"), "{err}");
    assert!(!tmp.path().join("home/services.json").exists());

    let o = p.run(&["install", tmp.path().join("nope").to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
}

#[test]
fn unknown_services_list_the_known_ones() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let home = tmp.path().join("home");
    fs::create_dir_all(&home).expect("mkdir");
    fs::write(
        home.join("services.json"),
        r#"{"services":[{"name":"parachute-vault","port":1940,"paths":["/vault/default"],"health":"/vault/default/health","version":"0.3.0"}]}"#,
    )
    .expect("write");
    let o = p.run(&["logs", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("unknown service \"nope\". known: hub, vault"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn without_a_user_manager_commands_say_so_and_name_the_fallback() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let o = p.run(&["status"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no systemd user manager is reachable"),
        "{err}"
    );
    assert!(err.contains("parachute serve"), "{err}");
}

#[test]
fn under_sudo_lifecycle_commands_refuse_with_guidance() {
    if !rustix_is_root() {
        eprintln!("SKIP: the sudo refusal needs euid 0");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let o = p
        .cmd(&["status"])
        .env("SUDO_USER", "ada")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("refusing to run under sudo"), "{err}");
    assert!(err.contains("as ada without sudo"), "{err}");
}

fn rustix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn every_command_has_help() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    for cmd in [
        "install",
        "uninstall",
        "start",
        "stop",
        "restart",
        "logs",
        "status",
        "unit",
        "doctor",
    ] {
        let o = p.run(&[cmd, "--help"]);
        assert!(o.status.success(), "{cmd}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage: parachute"),
            "{cmd}"
        );
    }
}

/// `parachute unit hub` prints the hub's units as `init` would write them,
/// each after its path (as `systemctl cat` shows them), with no manager.
#[test]
fn unit_hub_prints_the_socket_and_the_service() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::offline(tmp.path());
    let mut c = p.cmd(&["unit", "hub"]);
    c.env("PARACHUTE_INIT_SYSTEM", "systemd").env_remove("PORT");
    let o = c.output().expect("run");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let units = tmp.path().join(".config/systemd/user");
    let socket = format!("# {}\n", units.join("parachute-hub.socket").display());
    let service = format!("# {}\n", units.join("parachute-hub.service").display());
    assert!(out.starts_with(&socket), "{out}");
    assert!(out.contains("ListenStream=127.0.0.1:1939\n"), "{out}");
    assert!(out.contains(&service), "{out}");
    assert!(
        out.contains(&format!(
            "ExecStart={} serve --idle-exit 600\n",
            env!("CARGO_BIN_EXE_parachute")
        )),
        "{out}"
    );
}
