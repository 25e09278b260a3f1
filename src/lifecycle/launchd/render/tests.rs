use std::path::Path;

use super::*;
use crate::manifest::OptOuts;

fn layout() -> Layout {
    Layout::new(Path::new("/Users/ada"), Path::new("/Users/ada/.parachute"))
}

fn spec() -> ServiceSpec {
    ServiceSpec {
        unit: "parachute-vault.service".into(),
        short: "vault".into(),
        description: "Parachute Vault (parachute-vault)".into(),
        exec_start: vec!["/opt/vault/bin/parachute-vault".into(), "serve".into()],
        working_dir: "/opt/vault".into(),
        port: 1940,
        parachute_home: "/Users/ada/.parachute".into(),
        hub_origin: "http://127.0.0.1:1939".into(),
        user_home: "/Users/ada".into(),
        notify: false,
        opt_out: OptOuts::new(),
    }
}

fn hub_units() -> HubUnits {
    HubUnits {
        exe: "/opt/homebrew/bin/parachute".into(),
        listen: "127.0.0.1:1939".parse().expect("addr"),
        parachute_home: "/Users/ada/.parachute".into(),
        hub_origin: "http://127.0.0.1:1939".into(),
        idle_exit_secs: 600,
    }
}

fn hub_agent() -> Agent {
    hub(&hub_units(), Path::new("/Users/ada"), &layout())
}

/// `UPDATE_GOLDEN=1 cargo test` rewrites the files after an intended change.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/lifecycle/launchd/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).expect("golden file exists");
    pretty_assertions::assert_eq!(want, actual, "golden {name}");
}

fn parse_back(text: &str) -> Dictionary {
    plist::Value::from_reader_xml(text.as_bytes())
        .expect("the plist crate reads it")
        .into_dictionary()
        .expect("a dictionary")
}

/// Python's plistlib (expat) reads the file and dumps it as JSON.
fn plistlib(text: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("agent.plist");
    std::fs::write(&file, text).expect("write");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs (the tests need it)");
    assert!(
        out.status.success(),
        "plistlib refused the plist: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn golden_module() {
    golden("vault.plist", &render(&module(&spec(), &layout()), None));
}

#[test]
fn golden_hub() {
    golden("hub.plist", &render(&hub_agent(), None));
}

#[test]
fn both_parsers_read_back_what_was_rendered() {
    for agent in [module(&spec(), &layout()), hub_agent()] {
        let text = render(&agent, None);
        let ours = parse_back(&text);
        assert_eq!(
            plist::Value::Dictionary(ours.clone()),
            sorted(plist::Value::Dictionary(dictionary(&agent)))
        );
        let py = plistlib(&text);
        assert_eq!(py["Label"], agent.label.as_str());
        assert_eq!(
            py["KeepAlive"],
            serde_json::json!({"SuccessfulExit": false})
        );
        assert_eq!(py["RunAtLoad"], true);
        assert_eq!(py["ThrottleInterval"], agent.throttle_secs);
        assert_eq!(py["StandardOutPath"], agent.log.to_string_lossy().as_ref());
        let argv: Vec<String> =
            serde_json::from_value(py["ProgramArguments"].clone()).expect("argv");
        assert_eq!(argv, agent.program_arguments);
        // Same keys as the plist crate saw, in the same (sorted) order.
        let py_keys: Vec<&String> = py.as_object().expect("dict").keys().collect();
        let our_keys: Vec<&String> = ours.keys().collect();
        assert_eq!(py_keys, our_keys);
    }
}

#[test]
fn the_module_agent_has_the_issue_s_keys() {
    let d = parse_back(&render(&module(&spec(), &layout()), None));
    let env = d
        .get("EnvironmentVariables")
        .and_then(Value::as_dictionary)
        .expect("env");
    let get = |k: &str| env.get(k).and_then(Value::as_string).expect(k).to_string();
    assert_eq!(get("PORT"), "1940");
    assert_eq!(get("PARACHUTE_HOME"), "/Users/ada/.parachute");
    assert_eq!(get("PARACHUTE_HUB_ORIGIN"), "http://127.0.0.1:1939");
    let path = get("PATH");
    assert!(path.starts_with("/opt/vault/bin:"), "{path}");
    assert!(
        path.contains(":/opt/homebrew/bin:/usr/local/bin:"),
        "{path}"
    );
    assert_eq!(
        d.get("ProcessType").and_then(Value::as_string),
        Some("Standard")
    );
    assert_eq!(
        d.get("WorkingDirectory").and_then(Value::as_string),
        Some("/opt/vault")
    );
    assert_eq!(
        d.get("StandardErrorPath").and_then(Value::as_string),
        Some("/Users/ada/Library/Logs/Parachute/vault.log")
    );
    assert!(d.get("Sockets").is_none());
}

#[test]
fn the_hub_agent_holds_its_socket_on_loopback() {
    let mut units = hub_units();
    units.listen = "127.0.0.1:1950".parse().expect("addr");
    let d = parse_back(&render(
        &hub(&units, Path::new("/Users/ada"), &layout()),
        None,
    ));
    let listener = d
        .get("Sockets")
        .and_then(Value::as_dictionary)
        .and_then(|s| s.get(SOCKET_NAME))
        .and_then(Value::as_dictionary)
        .expect("Sockets.Listeners");
    let get = |k: &str| listener.get(k).and_then(Value::as_string);
    assert_eq!(get("SockNodeName"), Some("127.0.0.1"));
    assert_eq!(get("SockServiceName"), Some("1950"));
    assert_eq!(get("SockType"), Some("stream"));
    assert_eq!(
        d.get("ProcessType").and_then(Value::as_string),
        Some("Interactive")
    );
    assert_eq!(
        d.get("Label").and_then(Value::as_string),
        Some("computer.parachute.hub")
    );
}

#[test]
fn overrides_replace_and_add_keys_and_merge_into_dictionaries() {
    let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
  <key>ThrottleInterval</key><integer>30</integer>
  <key>Nice</key><integer>5</integer>
  <key>EnvironmentVariables</key><dict><key>VAULT_DEBUG</key><string>1</string></dict>
</dict></plist>"#;
    let o = parse_back(text);
    let agent = module(&spec(), &layout());
    let rendered = render(&agent, Some(&o));
    let d = parse_back(&rendered);
    assert_eq!(
        d.get("ThrottleInterval").and_then(Value::as_signed_integer),
        Some(30)
    );
    assert_eq!(d.get("Nice").and_then(Value::as_signed_integer), Some(5));
    let env = d
        .get("EnvironmentVariables")
        .and_then(Value::as_dictionary)
        .expect("env");
    assert_eq!(env.get("VAULT_DEBUG").and_then(Value::as_string), Some("1"));
    assert!(env.get("PATH").is_some(), "the generated PATH survives");
    // Byte-stable: the same inputs give the same bytes, whatever order the
    // override file listed its keys in.
    assert_eq!(rendered, render(&agent, Some(&o)));
    let mut reversed = Dictionary::new();
    for (k, v) in o.iter().collect::<Vec<_>>().into_iter().rev() {
        reversed.insert(k.clone(), v.clone());
    }
    assert_eq!(rendered, render(&agent, Some(&reversed)));
    plistlib(&rendered);
}

#[test]
fn the_header_names_the_override_file_and_stays_a_valid_comment() {
    let mut agent = module(&spec(), &layout());
    let text = render(&agent, None);
    assert!(text.contains("Put overrides in /Users/ada/.parachute/launchd/vault.override.plist"));
    // `--` cannot appear inside an XML comment.
    agent.override_file = "/Users/a--b/.parachute/launchd/vault.override.plist".into();
    let text = render(&agent, None);
    parse_back(&text);
    plistlib(&text);
}
