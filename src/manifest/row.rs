//! One row of services.json. The row's JSON object is kept whole so keys this
//! build does not know survive a rewrite (modules own their rows); the typed
//! fields are a validated view of it.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::duration;

/// `publicExposure`: who may reach the service through the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    Allowed,
    Loopback,
    AuthRequired,
}

/// A validated services.json row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The module's manifestName, `parachute-<short>`.
    pub name: String,
    pub port: u16,
    pub paths: Vec<String>,
    pub health: String,
    pub version: String,
    pub display_name: Option<String>,
    pub install_dir: Option<PathBuf>,
    pub public_exposure: Option<Exposure>,
    /// The whole JSON object, unknown keys included; what gets written back.
    raw: Map<String, Value>,
}

impl Row {
    /// Validate one row. The error names the field and what is wrong with it.
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let raw = value
            .as_object()
            .ok_or_else(|| "a row must be a JSON object".to_string())?
            .clone();
        let name = match raw.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => return Err("`name` must be a non-empty string".into()),
            None => return Err("`name` is required".into()),
        };
        let field = |f: &str| format!("`{name}`: `{f}`");
        let port = match raw.get("port") {
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p >= 1)
                .ok_or_else(|| format!("{} must be an integer 1–65535 (got {n})", field("port")))?,
            Some(v) => {
                return Err(format!(
                    "{} must be an integer 1–65535 (got {v})",
                    field("port")
                ));
            }
            None => return Err(format!("{} is required", field("port"))),
        };
        let paths = match raw.get("paths") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|p| p.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("{} must be an array of strings", field("paths")))?,
            Some(_) => return Err(format!("{} must be an array of strings", field("paths"))),
            None => return Err(format!("{} is required", field("paths"))),
        };
        let health = match raw.get("health") {
            Some(Value::String(h)) if h.starts_with('/') => h.clone(),
            Some(_) => {
                return Err(format!(
                    "{} must be a path starting with `/`",
                    field("health")
                ));
            }
            None => return Err(format!("{} is required", field("health"))),
        };
        let version = match raw.get("version") {
            Some(Value::String(v)) => v.clone(),
            Some(_) => return Err(format!("{} must be a string", field("version"))),
            None => return Err(format!("{} is required", field("version"))),
        };
        let opt_str = |f: &str| -> Result<Option<String>, String> {
            match raw.get(f) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{} must be a string", field(f))),
            }
        };
        let display_name = opt_str("displayName")?;
        opt_str("tagline")?;
        let install_dir = opt_str("installDir")?.map(PathBuf::from);
        for f in ["stripPrefix", "websocket"] {
            if !matches!(raw.get(f), None | Some(Value::Null | Value::Bool(_))) {
                return Err(format!("{} must be true or false", field(f)));
            }
        }
        let public_exposure = match opt_str("publicExposure")?.as_deref() {
            None => None,
            Some("allowed") => Some(Exposure::Allowed),
            Some("loopback") => Some(Exposure::Loopback),
            Some("auth-required") => Some(Exposure::AuthRequired),
            Some(other) => {
                return Err(format!(
                    "{} must be one of allowed, loopback, auth-required (got \"{other}\")",
                    field("publicExposure")
                ));
            }
        };
        on_demand_fields(&raw).map_err(|(f, why)| format!("{} {why}", field(f)))?;
        if !matches!(raw.get("uis"), None | Some(Value::Null | Value::Object(_))) {
            return Err(format!("{} must be an object", field("uis")));
        }
        Ok(Self {
            name,
            port,
            paths,
            health,
            version,
            display_name,
            install_dir,
            public_exposure,
            raw,
        })
    }

    /// A fresh row for a module being installed.
    pub fn new(name: &str, port: u16, paths: &[String], health: &str, version: &str) -> Self {
        let mut raw = Map::new();
        raw.insert("name".into(), name.into());
        raw.insert("port".into(), port.into());
        raw.insert("paths".into(), paths.into());
        raw.insert("health".into(), health.into());
        raw.insert("version".into(), version.into());
        Self {
            name: name.to_string(),
            port,
            paths: paths.to_vec(),
            health: health.to_string(),
            version: version.to_string(),
            display_name: None,
            install_dir: None,
            public_exposure: None,
            raw,
        }
    }

    pub fn short(&self) -> &str {
        super::short_name(&self.name)
    }

    pub fn unit(&self) -> String {
        super::unit_name(&self.name)
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.raw.clone())
    }

    /// Any key, as stored (for fields the typed view does not model).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.raw.get(key)
    }

    pub fn set_port(&mut self, port: u16) {
        self.port = port;
        self.raw.insert("port".into(), port.into());
    }

    pub fn set_install_dir(&mut self, dir: PathBuf) {
        self.raw.insert(
            "installDir".into(),
            dir.to_string_lossy().into_owned().into(),
        );
        self.install_dir = Some(dir);
    }

    pub fn set_display_name(&mut self, name: Option<&str>) {
        if let Some(n) = name {
            self.raw.insert("displayName".into(), n.into());
            self.display_name = Some(n.to_string());
        } else {
            self.raw.remove("displayName");
            self.display_name = None;
        }
    }

    /// Set a key the typed view does not model (e.g. `stripPrefix`, `websocket`).
    pub fn set_extra(&mut self, key: &str, value: Value) {
        debug_assert!(!matches!(
            key,
            "name" | "port" | "paths" | "health" | "version" | "installDir" | "displayName"
        ));
        self.raw.insert(key.into(), value);
    }

    /// `startTimeoutMs`: how long the hub holds a request while it starts
    /// the module (validated when the row was read).
    pub fn start_timeout(&self) -> Duration {
        self.raw
            .get("startTimeoutMs")
            .and_then(|v| duration::start_timeout(v).ok())
            .unwrap_or(duration::DEFAULT_START_TIMEOUT)
    }

    /// `idleStopAfter`: the hub stops the module after this long without a
    /// proxied request or open stream; `None`: never.
    pub fn idle_stop_after(&self) -> Option<Duration> {
        self.raw
            .get("idleStopAfter")
            .and_then(Value::as_str)
            .and_then(|s| duration::parse(s).ok())
    }

    pub fn last_start_error(&self) -> Option<&Map<String, Value>> {
        self.raw.get("lastStartError").and_then(Value::as_object)
    }

    /// Record why the last start failed, so `status` can show it later.
    pub fn set_last_start_error(&mut self, error_type: &str, description: &str, at: &str) {
        let mut e = Map::new();
        e.insert("error_type".into(), error_type.into());
        e.insert("error_description".into(), description.into());
        e.insert("at".into(), at.into());
        self.raw.insert("lastStartError".into(), Value::Object(e));
    }

    /// Returns whether there was one to clear.
    pub fn clear_last_start_error(&mut self) -> bool {
        self.raw.remove("lastStartError").is_some()
    }
}

/// Check `startTimeoutMs` and `idleStopAfter`; the error is the field and why.
fn on_demand_fields(raw: &Map<String, Value>) -> Result<(), (&'static str, String)> {
    match raw.get("startTimeoutMs") {
        None | Some(Value::Null) => {}
        Some(v) => drop(duration::start_timeout(v).map_err(|e| ("startTimeoutMs", e))?),
    }
    match raw.get("idleStopAfter") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => drop(
            duration::parse(s)
                .map_err(|e| ("idleStopAfter", format!("must be a duration: {e}")))?,
        ),
        Some(v) => {
            return Err((
                "idleStopAfter",
                format!("must be a duration like \"15m\" (got {v})"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({"name":"parachute-vault","port":1940,"paths":["/vault/default"],
               "health":"/vault/default/health","version":"0.3.0"})
    }

    fn err(mut v: Value, key: &str, val: Option<Value>) -> String {
        let o = v.as_object_mut().expect("object");
        match val {
            Some(x) => o.insert(key.into(), x),
            None => o.remove(key),
        };
        Row::from_value(&v).expect_err("must be rejected")
    }

    #[test]
    fn a_complete_row_is_accepted() {
        let r = Row::from_value(&good()).expect("valid");
        assert_eq!(r.short(), "vault");
        assert_eq!(r.unit(), "parachute-vault.service");
        assert_eq!(r.port, 1940);
    }

    #[test]
    fn each_required_field_is_named_when_missing() {
        for f in ["port", "paths", "health", "version"] {
            let e = err(good(), f, None);
            assert!(e.contains(&format!("`{f}` is required")), "{f}: {e}");
            assert!(e.contains("parachute-vault"), "names the row: {e}");
        }
        assert_eq!(err(good(), "name", None), "`name` is required");
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases: &[(&str, Value, &str)] = &[
            ("port", json!(0), "`port` must be an integer 1–65535"),
            ("port", json!(65536), "`port` must be an integer 1–65535"),
            ("port", json!("1940"), "`port` must be an integer 1–65535"),
            (
                "paths",
                json!(["/a", 3]),
                "`paths` must be an array of strings",
            ),
            (
                "health",
                json!("health"),
                "`health` must be a path starting with `/`",
            ),
            ("version", json!(3), "`version` must be a string"),
            (
                "publicExposure",
                json!("public"),
                "`publicExposure` must be one of",
            ),
            (
                "websocket",
                json!("yes"),
                "`websocket` must be true or false",
            ),
            ("uis", json!([]), "`uis` must be an object"),
        ];
        for (key, val, want) in cases {
            let e = err(good(), key, Some(val.clone()));
            assert!(e.contains(want), "{key}={val}: {e}");
        }
    }

    #[test]
    fn on_demand_fields_are_read_and_checked() {
        let r = Row::from_value(&good()).expect("valid");
        assert_eq!(r.start_timeout(), Duration::from_secs(15), "the default");
        assert_eq!(r.idle_stop_after(), None, "never, unless asked");
        let mut v = good();
        v["startTimeoutMs"] = json!(2500);
        v["idleStopAfter"] = json!("15m");
        let r = Row::from_value(&v).expect("valid");
        assert_eq!(r.start_timeout(), Duration::from_millis(2500));
        assert_eq!(r.idle_stop_after(), Some(Duration::from_secs(900)));
        let e = err(good(), "idleStopAfter", Some(json!("soon")));
        assert!(
            e.contains("`parachute-vault`: `idleStopAfter` must be a duration"),
            "{e}"
        );
        let e = err(good(), "idleStopAfter", Some(json!(60)));
        assert!(
            e.contains("`idleStopAfter` must be a duration like \"15m\""),
            "{e}"
        );
        let e = err(good(), "startTimeoutMs", Some(json!(-1)));
        assert!(
            e.contains("`startTimeoutMs` must be an integer number of milliseconds"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_survive_and_start_errors_round_trip() {
        let mut v = good();
        v["futureKey"] = json!({"x": 1});
        let mut r = Row::from_value(&v).expect("valid");
        r.set_port(1941);
        r.set_last_start_error("exit-code", "status=1", "2026-01-01T00:00:00Z");
        let out = r.to_value();
        assert_eq!(out["futureKey"], json!({"x": 1}));
        assert_eq!(out["port"], json!(1941));
        assert_eq!(out["lastStartError"]["error_type"], json!("exit-code"));
        assert!(r.clear_last_start_error());
        assert!(r.to_value().get("lastStartError").is_none());
        assert!(!r.clear_last_start_error());
    }
}
