//! `<installDir>/.parachute/module.json`: what a module declares about itself.
//!
//! Parsed with serde (`serde_path_to_error` names the field that failed), then
//! checked for what types cannot say (name rules, size caps, scope
//! namespaces). Fields this version does not know are reported back as
//! warnings, not errors, so a module written for a newer Parachute still
//! installs. Every error names the field and what it must be.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::ManifestError;
use crate::manifest::names;
use crate::manifest::opt_out::{self, OptOuts};

/// Every field module.json may have (parachute-module(5) documents each).
pub const FIELDS: &[&str] = &[
    "name",
    "manifestName",
    "port",
    "paths",
    "health",
    "displayName",
    "version",
    "startCmd",
    "stripPrefix",
    "websocket",
    "startTimeoutMs",
    "idleStopAfter",
    "scopes",
    "notify",
    "hardeningOptOut",
];

/// Largest module.json read; a manifest is a few hundred bytes.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;
/// Caps on what a manifest may declare (outside input: bounded).
const MAX_LIST: usize = 64;
const MAX_STRING: usize = 1024;
const MAX_REASON: usize = 200;

/// A validated module.json.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleManifest {
    /// `^[a-z][a-z0-9-]*$`; the namespace of the module's scopes.
    pub name: String,
    /// The services.json row name, conventionally `parachute-<name>`.
    pub manifest_name: String,
    /// The port the module would like (used when it is free).
    pub port: u16,
    pub paths: Vec<String>,
    pub health: String,
    pub display_name: Option<String>,
    pub version: Option<String>,
    /// argv, run with cwd = installDir. `None` leaves it to a known default.
    pub start_cmd: Option<Vec<String>>,
    pub strip_prefix: Option<bool>,
    pub websocket: Option<bool>,
    /// How long the hub holds a request while it starts the module on
    /// demand, in milliseconds (validated; copied into the row).
    pub start_timeout_ms: Option<u64>,
    /// After how long without traffic the hub stops the module (`"15m"`).
    pub idle_stop_after: Option<String>,
    /// Scopes the module defines, each `<name>:<verb>`.
    pub scopes: Vec<String>,
    /// The module calls `sd_notify(READY=1)`, so its unit is `Type=notify`.
    pub notify: bool,
    /// Hardening directives the module's unit goes without, each with why.
    pub hardening_opt_out: OptOuts,
    /// Top-level fields this version does not know (ignored; warn about them).
    pub unknown_fields: Vec<String>,
}

/// The file as serde sees it; [`FIELDS`] lists these names.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Raw {
    name: String,
    manifest_name: String,
    port: u16,
    paths: Vec<String>,
    health: String,
    display_name: Option<String>,
    version: Option<String>,
    start_cmd: Option<Vec<String>>,
    strip_prefix: Option<bool>,
    websocket: Option<bool>,
    start_timeout_ms: Option<u64>,
    idle_stop_after: Option<String>,
    scopes: Option<Scopes>,
    notify: Option<bool>,
    hardening_opt_out: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Scopes {
    defines: Option<Vec<String>>,
}

/// What a field must be: the fix an error message names.
fn expectation(field: &str) -> &'static str {
    match field {
        "name" => "a string matching ^[a-z][a-z0-9-]*$, e.g. \"hello\"",
        "port" => "an integer 1–65535",
        "paths" => "an array of strings, e.g. [\"/hello\"]",
        "startCmd" => "an array of strings, e.g. [\"bin/server\", \"serve\"]",
        "scopes" => "an object like {\"defines\": [\"<name>:read\"]}",
        "scopes.defines" => "an array of strings, e.g. [\"<name>:read\"]",
        "stripPrefix" | "websocket" | "notify" => "true or false",
        "startTimeoutMs" => "an integer number of milliseconds, e.g. 15000",
        "idleStopAfter" => "a duration string, e.g. \"15m\"",
        "hardeningOptOut" => {
            "an object of directive → reason, e.g. {\"SystemCallFilter\": \"why it cannot work\"}"
        }
        f if f.starts_with("hardeningOptOut.") => "a string: the reason",
        _ => "a string",
    }
}

impl ModuleManifest {
    /// Where a module keeps its manifest, relative to its install directory.
    pub fn path_in(install_dir: &Path) -> PathBuf {
        install_dir.join(".parachute").join("module.json")
    }

    pub fn load(install_dir: &Path) -> Result<Self, ManifestError> {
        let path = Self::path_in(install_dir);
        let text = read_capped(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ManifestError::module(
                &path,
                format!(
                    "not found — `{}` is not a Parachute module (it must ship .parachute/module.json)",
                    install_dir.display()
                ),
            ),
            std::io::ErrorKind::FileTooLarge => ManifestError::module(
                &path,
                format!("larger than {MAX_FILE_BYTES} bytes; a module.json is a small JSON object"),
            ),
            _ => ManifestError::io(&path, e),
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            ManifestError::module(
                &path,
                format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            )
        })?;
        Self::from_value(&value).map_err(|p| ManifestError::module(&path, p))
    }

    /// Validate; the error names the field and what it must be.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let Value::Object(o) = value else {
            return Err(
                "module.json must be a JSON object, e.g. {\"name\": \"hello\", ...}".into(),
            );
        };
        let unknown_fields: Vec<String> = o
            .keys()
            .filter(|k| !FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        let mut known = o.clone();
        known.retain(|k, _| FIELDS.contains(&k.as_str()));
        let raw: Raw = serde_path_to_error::deserialize(Value::Object(known))
            .map_err(|e| describe(value, &e))?;
        let m = Self {
            name: raw.name,
            manifest_name: raw.manifest_name,
            port: raw.port,
            paths: raw.paths,
            health: raw.health,
            display_name: raw.display_name,
            version: raw.version,
            start_cmd: raw.start_cmd,
            strip_prefix: raw.strip_prefix,
            websocket: raw.websocket,
            start_timeout_ms: raw.start_timeout_ms,
            idle_stop_after: raw.idle_stop_after,
            scopes: raw.scopes.and_then(|s| s.defines).unwrap_or_default(),
            notify: raw.notify.unwrap_or(false),
            hardening_opt_out: raw.hardening_opt_out.unwrap_or_default(),
            unknown_fields,
        };
        m.check()?;
        Ok(m)
    }

    /// What the types cannot say.
    fn check(&self) -> Result<(), String> {
        if !names::valid_name(&self.name) {
            return Err(format!(
                "`name` must match {} and be at most {} characters (got \"{}\"), e.g. \"hello\"",
                names::NAME_RULE,
                names::MAX_NAME,
                self.name
            ));
        }
        if self.manifest_name.is_empty() {
            return Err("`manifestName` must not be empty; use \"parachute-<name>\"".into());
        }
        if self.port == 0 {
            return Err(format!("`port` must be {} (got 0)", expectation("port")));
        }
        if !self.health.starts_with('/') {
            return Err(format!(
                "`health` must start with `/` (got \"{}\"), e.g. \"/{}/health\"",
                self.health, self.name
            ));
        }
        if self
            .start_cmd
            .as_ref()
            .is_some_and(|c| c.is_empty() || c[0].is_empty())
        {
            return Err(
                "`startCmd` must be a non-empty argv array, e.g. [\"bin/server\", \"serve\"]"
                    .into(),
            );
        }
        self.check_on_demand()?;
        self.check_sizes()?;
        self.check_paths()?;
        self.check_scopes()?;
        self.check_opt_outs()
    }

    fn check_sizes(&self) -> Result<(), String> {
        let lists = [
            ("paths", self.paths.len()),
            ("startCmd", self.start_cmd.as_ref().map_or(0, Vec::len)),
            ("scopes.defines", self.scopes.len()),
            ("hardeningOptOut", self.hardening_opt_out.len()),
        ];
        for (field, n) in lists {
            if n > MAX_LIST {
                return Err(format!(
                    "`{field}` has {n} entries; at most {MAX_LIST} are allowed"
                ));
            }
        }
        let strings = [
            ("name", &self.name),
            ("manifestName", &self.manifest_name),
            ("health", &self.health),
        ]
        .into_iter()
        .chain(self.display_name.iter().map(|s| ("displayName", s)))
        .chain(self.version.iter().map(|s| ("version", s)))
        .chain(self.paths.iter().map(|s| ("paths", s)))
        .chain(self.start_cmd.iter().flatten().map(|s| ("startCmd", s)))
        .chain(self.scopes.iter().map(|s| ("scopes.defines", s)));
        for (field, s) in strings {
            if s.len() > MAX_STRING {
                return Err(format!(
                    "`{field}` has a value of {} bytes; at most {MAX_STRING} are allowed",
                    s.len()
                ));
            }
        }
        Ok(())
    }

    /// `startTimeoutMs` and `idleStopAfter` within their bounds.
    fn check_on_demand(&self) -> Result<(), String> {
        if let Some(ms) = self.start_timeout_ms {
            super::duration::start_timeout(&ms.into())
                .map_err(|e| format!("`startTimeoutMs` {e}"))?;
        }
        if let Some(d) = &self.idle_stop_after {
            if d.len() > 32 {
                return Err("`idleStopAfter` must be a short duration, e.g. \"15m\"".into());
            }
            super::duration::parse(d)
                .map_err(|e| format!("`idleStopAfter` must be a duration: {e}"))?;
        }
        Ok(())
    }

    /// No path is one the hub answers itself (issue 11: never shadowed).
    fn check_paths(&self) -> Result<(), String> {
        for p in &self.paths {
            if let Some(owned) = super::hub_owned(p) {
                return Err(format!(
                    "`paths` entry \"{p}\" is under `{owned}`, which the hub answers itself; choose another prefix, e.g. \"/{}\"",
                    self.name
                ));
            }
        }
        Ok(())
    }

    fn check_scopes(&self) -> Result<(), String> {
        let name = &self.name;
        for s in &self.scopes {
            match s.split_once(':') {
                Some((ns, verb)) if ns == name && !verb.is_empty() && !verb.contains(':') => {}
                _ => {
                    return Err(format!(
                        "`scopes.defines` entry \"{s}\" must be `{name}:<verb>`"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Each opt-out names a directive the module's unit carries and says why
    /// on one line (it becomes a comment in the unit).
    fn check_opt_outs(&self) -> Result<(), String> {
        let allowed = opt_out::MODULE_DIRECTIVES;
        for (directive, reason) in &self.hardening_opt_out {
            if !allowed.contains(&directive.as_str()) {
                return Err(format!(
                    "`hardeningOptOut` names `{directive}`, which is not a directive module units carry; use one of: {}",
                    allowed.join(", ")
                ));
            }
            if reason.trim().is_empty()
                || reason.len() > MAX_REASON
                || reason.contains(['\n', '\r'])
            {
                return Err(format!(
                    "`hardeningOptOut.{directive}` must give the reason: one line of 1–{MAX_REASON} bytes"
                ));
            }
        }
        Ok(())
    }
}

/// Read at most [`MAX_FILE_BYTES`]; a larger file is `FileTooLarge`.
fn read_capped(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::ErrorKind::FileTooLarge.into());
    }
    Ok(text)
}

/// A serde error as "`<field>` must be <what> (got <value>)".
fn describe(value: &Value, e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = e.inner().to_string();
    let parent = e.path().to_string();
    if let Some(missing) = inner
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        let field = if parent == "." {
            missing.to_string()
        } else {
            format!("{parent}.{missing}")
        };
        return format!("`{field}` is required; it must be {}", expectation(&field));
    }
    // `startCmd[1]` is about `startCmd`; the expectation is the list's.
    let field = strip_indices(&parent);
    let got =
        lookup(value, &parent).map_or_else(String::new, |v| format!(" (got {})", short_json(v)));
    format!("`{field}` must be {}{got}", expectation(&field))
}

fn strip_indices(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The value at a `serde_path_to_error` path (`a.b[2]`), for the message.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut v = value;
    for part in path.split('.') {
        let (key, idx) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        v = v.get(key)?;
        if let Some(i) = idx {
            v = v.get(i)?;
        }
    }
    Some(v)
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({"name":"my-svc","manifestName":"parachute-my-svc","port":7001,
               "paths":["/my-svc"],"health":"/my-svc/health",
               "startCmd":["bin/my-svc","serve"],"scopes":{"defines":["my-svc:read"]}})
    }

    #[test]
    fn a_path_under_a_hub_prefix_is_refused() {
        for (path, owned) in [
            ("/api", "/api"),
            ("/oauth/x", "/oauth"),
            ("/", "/"),
            ("/logout", "/logout"),
        ] {
            let mut v = good();
            v["paths"] = json!(["/my-svc", path]);
            let e = ModuleManifest::from_value(&v).expect_err(path);
            assert!(
                e.contains(&format!("\"{path}\" is under `{owned}`")),
                "{path}: {e}"
            );
        }
        let mut v = good();
        v["paths"] = json!(["/apiary", "/vault/work"]);
        ModuleManifest::from_value(&v).expect("`/apiary` is not under `/api`");
    }

    #[test]
    fn on_demand_fields_are_bounded_and_say_the_fix() {
        let mut v = good();
        v["startTimeoutMs"] = json!(5000);
        v["idleStopAfter"] = json!("30s");
        let m = ModuleManifest::from_value(&v).expect("valid");
        assert_eq!(m.start_timeout_ms, Some(5000));
        assert_eq!(m.idle_stop_after.as_deref(), Some("30s"));
        for (k, bad, want) in [
            (
                "startTimeoutMs",
                json!(10),
                "`startTimeoutMs` must be an integer number of milliseconds from 100",
            ),
            (
                "startTimeoutMs",
                json!("15s"),
                "`startTimeoutMs` must be an integer number of milliseconds, e.g. 15000",
            ),
            (
                "idleStopAfter",
                json!("15"),
                "`idleStopAfter` must be a duration: \"15\" has no unit",
            ),
            (
                "idleStopAfter",
                json!(15),
                "`idleStopAfter` must be a duration string, e.g. \"15m\"",
            ),
        ] {
            let mut v = good();
            v[k] = bad.clone();
            let e = ModuleManifest::from_value(&v).expect_err("bad");
            assert!(e.contains(want), "{k}={bad}: {e}");
        }
    }

    #[test]
    fn a_complete_manifest_is_accepted() {
        let m = ModuleManifest::from_value(&good()).expect("valid");
        assert_eq!(
            m.start_cmd.as_deref(),
            Some(&["bin/my-svc".to_string(), "serve".into()][..])
        );
        assert_eq!(m.scopes, vec!["my-svc:read"]);
        assert!(!m.notify);
    }

    #[test]
    #[allow(clippy::too_many_lines)] // one table of cases
    fn each_problem_names_its_field() {
        let cases: &[(&str, Option<Value>, &str)] = &[
            (
                "name",
                Some(json!("My-Svc")),
                "`name` must match ^[a-z][a-z0-9-]*$",
            ),
            ("name", Some(json!("1svc")), "`name` must match"),
            ("name", None, "`name` is required"),
            ("manifestName", None, "`manifestName` is required"),
            (
                "port",
                Some(json!(70000)),
                "`port` must be an integer 1–65535",
            ),
            ("port", None, "`port` is required"),
            (
                "paths",
                Some(json!("/x")),
                "`paths` must be an array of strings",
            ),
            ("paths", None, "`paths` is required"),
            (
                "health",
                Some(json!("health")),
                "`health` must start with `/`",
            ),
            (
                "startCmd",
                Some(json!("bin/x serve")),
                "`startCmd` must be an array of strings",
            ),
            (
                "startCmd",
                Some(json!([])),
                "`startCmd` must be a non-empty argv array",
            ),
            (
                "scopes",
                Some(json!({"defines":["other:read"]})),
                "\"other:read\" must be `my-svc:<verb>`",
            ),
            (
                "scopes",
                Some(json!({"defines":["my-svc"]})),
                "must be `my-svc:<verb>`",
            ),
            (
                "scopes",
                Some(json!({"defines":"my-svc:read"})),
                "`scopes.defines` must be an array",
            ),
            (
                "notify",
                Some(json!("yes")),
                "`notify` must be true or false (got \"yes\")",
            ),
            (
                "port",
                Some(json!("7001")),
                "`port` must be an integer 1–65535 (got \"7001\")",
            ),
            (
                "port",
                Some(json!(0)),
                "`port` must be an integer 1–65535 (got 0)",
            ),
            ("health", None, "`health` is required; it must be a string"),
            (
                "startCmd",
                Some(json!(["bin/x", 3])),
                "`startCmd` must be an array of strings, e.g. [\"bin/server\", \"serve\"] (got 3)",
            ),
            ("name", Some(json!("a".repeat(65))), "at most 64 characters"),
            (
                "paths",
                Some(json!(vec!["/p"; 65])),
                "`paths` has 65 entries; at most 64 are allowed",
            ),
            (
                "hardeningOptOut",
                Some(json!({"MemoryDenyWriteExecute": "jit"})),
                "names `MemoryDenyWriteExecute`, which is not a directive module units carry; use one of: NoNewPrivileges,",
            ),
            (
                "hardeningOptOut",
                Some(json!({"SystemCallFilter": ""})),
                "`hardeningOptOut.SystemCallFilter` must give the reason",
            ),
            (
                "hardeningOptOut",
                Some(json!({"SystemCallFilter": "a\n[Service]\nExecStartPre=/bin/evil"})),
                "must give the reason: one line",
            ),
            (
                "hardeningOptOut",
                Some(json!({"SystemCallFilter": 1})),
                "`hardeningOptOut.SystemCallFilter` must be a string: the reason (got 1)",
            ),
            (
                "hardeningOptOut",
                Some(json!(["SystemCallFilter"])),
                "`hardeningOptOut` must be an object of directive → reason",
            ),
        ];
        for (key, val, want) in cases {
            let mut v = good();
            let o = v.as_object_mut().expect("obj");
            match val {
                Some(x) => o.insert((*key).into(), x.clone()),
                None => o.remove(*key),
            };
            let e = ModuleManifest::from_value(&v).expect_err("rejected");
            assert!(e.contains(want), "{key}: {e}");
        }
    }

    /// Issue 9: a field this version does not know is a warning, not an error.
    #[test]
    fn unknown_fields_are_reported_not_fatal() {
        let mut v = good();
        v["futureField"] = json!({"x": 1});
        v["scopes"]["alsoNew"] = json!(true);
        let m = ModuleManifest::from_value(&v).expect("still valid");
        assert_eq!(m.unknown_fields, vec!["futureField"]);
        assert_eq!(m.scopes, vec!["my-svc:read"]);
    }

    #[test]
    fn every_listed_field_is_one_serde_reads() {
        let mut v = good();
        for (k, x) in [
            ("displayName", json!("My")),
            ("version", json!("1.0.0")),
            ("stripPrefix", json!(true)),
            ("websocket", json!(false)),
            ("startTimeoutMs", json!(20_000)),
            ("idleStopAfter", json!("15m")),
            ("notify", json!(true)),
            (
                "hardeningOptOut",
                json!({"SystemCallFilter": "spawns a sandbox"}),
            ),
        ] {
            v[k] = x;
        }
        let keys: Vec<&str> = v
            .as_object()
            .expect("obj")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), FIELDS.len(), "{keys:?}");
        let m = ModuleManifest::from_value(&v).expect("every field parses");
        assert!(m.unknown_fields.is_empty());
        assert_eq!(m.hardening_opt_out["SystemCallFilter"], "spawns a sandbox");
    }

    #[test]
    fn a_huge_file_is_refused_before_parsing() {
        let tmp = tempfile::tempdir().expect("tmp");
        fs::create_dir_all(tmp.path().join(".parachute")).expect("mkdir");
        let big = format!("{{\"name\": \"{}\"}}", "a".repeat(70 * 1024));
        fs::write(ModuleManifest::path_in(tmp.path()), big).expect("write");
        let e = ModuleManifest::load(tmp.path()).expect_err("too big");
        assert!(e.to_string().contains("larger than 65536 bytes"), "{e}");
    }

    #[test]
    fn load_reports_the_file_path() {
        let tmp = tempfile::tempdir().expect("tmp");
        let e = ModuleManifest::load(tmp.path()).expect_err("missing");
        assert!(e.to_string().contains(".parachute/module.json"), "{e}");
        assert!(e.to_string().contains("not a Parachute module"), "{e}");
        fs::create_dir_all(tmp.path().join(".parachute")).expect("mkdir");
        fs::write(ModuleManifest::path_in(tmp.path()), "{\"name\": }").expect("write");
        let e = ModuleManifest::load(tmp.path()).expect_err("bad json");
        assert!(e.to_string().contains("line 1, column 10"), "{e}");
    }
}
