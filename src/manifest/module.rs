//! `<installDir>/.parachute/module.json`: what a module declares about itself.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::Error;

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
    /// Scopes the module defines, each `<name>:<verb>`.
    pub scopes: Vec<String>,
    /// The module calls `sd_notify(READY=1)`, so its unit is `Type=notify`.
    pub notify: bool,
}

impl ModuleManifest {
    /// Where a module keeps its manifest, relative to its install directory.
    pub fn path_in(install_dir: &Path) -> PathBuf {
        install_dir.join(".parachute").join("module.json")
    }

    pub fn load(install_dir: &Path) -> Result<Self, Error> {
        let path = Self::path_in(install_dir);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::module(
                    &path,
                    format!(
                        "not found — `{}` is not a Parachute module (it must ship .parachute/module.json)",
                        install_dir.display()
                    ),
                ));
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Error::module(
                &path,
                format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            )
        })?;
        Self::from_value(&value).map_err(|p| Error::module(&path, p))
    }

    /// Validate; the error names the field.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let o = value
            .as_object()
            .ok_or_else(|| "module.json must be a JSON object".to_string())?;
        let name = req_str(o, "name")?;
        if !valid_name(&name) {
            return Err(format!(
                "`name` must match ^[a-z][a-z0-9-]*$ (got \"{name}\")"
            ));
        }
        let manifest_name = req_str(o, "manifestName")?;
        if manifest_name.is_empty() {
            return Err("`manifestName` must not be empty".into());
        }
        let port = match o.get("port") {
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p >= 1)
                .ok_or_else(|| format!("`port` must be an integer 1–65535 (got {n})"))?,
            Some(v) => return Err(format!("`port` must be an integer 1–65535 (got {v})")),
            None => return Err("`port` is required".into()),
        };
        let paths = str_array(o, "paths")?.ok_or("`paths` is required")?;
        let health = req_str(o, "health")?;
        if !health.starts_with('/') {
            return Err(format!("`health` must start with `/` (got \"{health}\")"));
        }
        let start_cmd = str_array(o, "startCmd")?;
        if start_cmd
            .as_ref()
            .is_some_and(|c| c.is_empty() || c[0].is_empty())
        {
            return Err(
                "`startCmd` must be a non-empty argv array, e.g. [\"bin/server\", \"serve\"]"
                    .into(),
            );
        }
        let scopes = match o.get("scopes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(s)) => str_array(s, "defines")
                .map_err(|e| e.replace("`defines`", "`scopes.defines`"))?
                .unwrap_or_default(),
            Some(_) => return Err("`scopes` must be an object like {\"defines\": [...]}".into()),
        };
        for s in &scopes {
            match s.split_once(':') {
                Some((ns, verb)) if ns == name && !verb.is_empty() && !verb.contains(':') => {}
                _ => {
                    return Err(format!(
                        "`scopes.defines` entry \"{s}\" must be `{name}:<verb>`"
                    ));
                }
            }
        }
        Ok(Self {
            name,
            manifest_name,
            port,
            paths,
            health,
            display_name: opt_str(o, "displayName")?,
            version: opt_str(o, "version")?,
            start_cmd,
            strip_prefix: opt_bool(o, "stripPrefix")?,
            websocket: opt_bool(o, "websocket")?,
            scopes,
            notify: opt_bool(o, "notify")?.unwrap_or(false),
        })
    }
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn req_str(o: &Map<String, Value>, f: &str) -> Result<String, String> {
    match o.get(f) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("`{f}` must be a string")),
        None => Err(format!("`{f}` is required")),
    }
}

fn opt_str(o: &Map<String, Value>, f: &str) -> Result<Option<String>, String> {
    match o.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{f}` must be a string")),
    }
}

fn opt_bool(o: &Map<String, Value>, f: &str) -> Result<Option<bool>, String> {
    match o.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("`{f}` must be true or false")),
    }
}

fn str_array(o: &Map<String, Value>, f: &str) -> Result<Option<Vec<String>>, String> {
    match o.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| format!("`{f}` must be an array of strings")),
        Some(_) => Err(format!("`{f}` must be an array of strings")),
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
                "`notify` must be true or false",
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
