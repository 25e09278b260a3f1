//! `$PARACHUTE_HOME/services.json`: `{"services":[row…]}`.
//!
//! Two reads: [`Services::load_strict`] for commands that write (any bad row
//! or duplicate port is an error, so we never rewrite what we misunderstood)
//! and [`Services::load_lenient`] for readers (bad rows are skipped with a
//! warning, so one broken module cannot hide the others). A file that is not
//! JSON is an error for both and is never overwritten.
//!
//! Writers go through [`Services::update`]: an advisory lock, a strict read,
//! the change, an atomic replace — so a module self-registering at the same
//! time loses nothing.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ManifestError;
use super::row::Row;
use crate::fsio;
use crate::paths::Paths;

#[derive(Debug, Clone, PartialEq)]
pub struct Services {
    pub rows: Vec<Row>,
    /// Top-level keys besides `services`, kept on rewrite.
    extra: Map<String, Value>,
}

/// What a lenient read skipped, for the caller to print.
pub type Warnings = Vec<String>;

impl Services {
    pub fn empty() -> Self {
        Self {
            rows: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Read for a command that will write: every problem is an error.
    pub fn load_strict(path: &Path) -> Result<Self, ManifestError> {
        let Some((doc, raw_rows)) = read_document(path)? else {
            return Ok(Self::empty());
        };
        let invalid = |problem: String| ManifestError::Invalid {
            path: path.to_path_buf(),
            problem,
        };
        let mut rows: Vec<Row> = Vec::with_capacity(raw_rows.len());
        for (i, v) in raw_rows.iter().enumerate() {
            let row = Row::from_value(v).map_err(|e| invalid(format!("row {}: {e}", i + 1)))?;
            if let Some(prev) = rows.iter().find(|r| r.name == row.name) {
                return Err(invalid(format!(
                    "two rows are named `{}`; keep one",
                    prev.name
                )));
            }
            if let Some(prev) = rows.iter().find(|r| port_clash(r, &row)) {
                return Err(invalid(format!(
                    "duplicate port {}: `{}` and `{}` both claim it",
                    row.port, prev.name, row.name
                )));
            }
            rows.push(row);
        }
        Ok(Self { rows, extra: doc })
    }

    /// Read for display and routing: bad rows and later rows that reuse a
    /// port are skipped, each with a warning.
    pub fn load_lenient(path: &Path) -> Result<(Self, Warnings), ManifestError> {
        let Some((doc, raw_rows)) = read_document(path)? else {
            return Ok((Self::empty(), Vec::new()));
        };
        let mut warnings = Vec::new();
        let mut rows: Vec<Row> = Vec::new();
        for (i, v) in raw_rows.iter().enumerate() {
            match Row::from_value(v) {
                Err(e) => {
                    warnings.push(format!("skipping row {} of {}: {e}", i + 1, path.display()));
                }
                Ok(row) => {
                    if let Some(prev) = rows
                        .iter()
                        .find(|r| r.name == row.name || port_clash(r, &row))
                    {
                        warnings.push(format!(
                            "skipping `{}` in {}: it clashes with `{}` (same name or port {})",
                            row.name,
                            path.display(),
                            prev.name,
                            row.port
                        ));
                    } else {
                        rows.push(row);
                    }
                }
            }
        }
        Ok((Self { rows, extra: doc }, warnings))
    }

    /// Lock, strict-read, apply `change`, write back atomically if it
    /// returned `true`. The closure's value is passed through.
    pub fn update<T, E: From<ManifestError>>(
        paths: &Paths,
        change: impl FnOnce(&mut Self) -> Result<(bool, T), E>,
    ) -> Result<T, E> {
        paths.ensure_home().map_err(ManifestError::from)?;
        let _lock = lock(&paths.services_lock())?;
        let path = paths.services_json();
        let mut doc = Self::load_strict(&path)?;
        let (changed, out) = change(&mut doc)?;
        if changed {
            doc.check_ports(&path)?;
            fsio::write_atomic(&path, doc.to_json().as_bytes(), fsio::PRIVATE)
                .map_err(|e| ManifestError::io(&path, e))?;
        }
        Ok(out)
    }

    fn check_ports(&self, path: &Path) -> Result<(), ManifestError> {
        for (i, a) in self.rows.iter().enumerate() {
            if let Some(b) = self.rows[..i].iter().find(|b| port_clash(a, b)) {
                return Err(ManifestError::Invalid {
                    path: path.to_path_buf(),
                    problem: format!(
                        "duplicate port {}: `{}` and `{}` both claim it",
                        a.port, b.name, a.name
                    ),
                });
            }
        }
        Ok(())
    }

    /// The file's text: 2-space JSON and a trailing newline, as modules write it.
    pub fn to_json(&self) -> String {
        let mut doc = self.extra.clone();
        doc.insert(
            "services".into(),
            Value::Array(self.rows.iter().map(Row::to_value).collect()),
        );
        let mut s = serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Find a row by short name (`vault`) or manifestName (`parachute-vault`).
    pub fn find(&self, name: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.name == name || r.short() == name)
    }

    pub fn find_mut(&mut self, name: &str) -> Option<&mut Row> {
        self.rows
            .iter_mut()
            .find(|r| r.name == name || r.short() == name)
    }

    /// Short names, for "known: …" messages.
    pub fn known(&self) -> Vec<String> {
        self.rows.iter().map(|r| r.short().to_string()).collect()
    }

    pub fn upsert(&mut self, row: Row) {
        match self.rows.iter_mut().find(|r| r.name == row.name) {
            Some(slot) => *slot = row,
            None => self.rows.push(row),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Row> {
        let i = self
            .rows
            .iter()
            .position(|r| r.name == name || r.short() == name)?;
        Some(self.rows.remove(i))
    }
}

/// One vault process serves several vaults, and each self-registers a
/// `parachute-vault*` row on the same port; that is not a clash.
fn port_clash(a: &Row, b: &Row) -> bool {
    a.port == b.port
        && !(a.name.starts_with("parachute-vault") && b.name.starts_with("parachute-vault"))
}

/// Parse the file into (top-level extras, raw rows). `None` when absent.
/// A parsed file: its top-level keys besides `services`, and the raw rows.
type Document = (Map<String, Value>, Vec<Value>);

fn read_document(path: &Path) -> Result<Option<Document>, ManifestError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ManifestError::io(path, e)),
    };
    let syntax = |line: usize, column: usize, message: String| ManifestError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        let msg = e.to_string();
        // serde_json appends " at line L column C"; we print those separately.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        syntax(e.line(), e.column(), msg)
    })?;
    let Value::Object(mut doc) = value else {
        return Err(syntax(
            1,
            1,
            "expected an object {\"services\": [...]}".into(),
        ));
    };
    let rows = match doc.remove("services") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(rows)) => rows,
        Some(_) => {
            let (line, column) = locate_key(&text, "services");
            return Err(syntax(line, column, "`services` must be an array".into()));
        }
    };
    Ok(Some((doc, rows)))
}

/// Line and column of `"key"` in `text` (1-based), for shape errors that
/// serde's position does not cover.
fn locate_key(text: &str, key: &str) -> (usize, usize) {
    let needle = format!("\"{key}\"");
    let Some(at) = text.find(&needle) else {
        return (1, 1);
    };
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// An exclusive advisory lock held until the returned file is dropped.
fn lock(path: &PathBuf) -> Result<File, ManifestError> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| ManifestError::io(path, e))?;
    f.lock().map_err(|e| ManifestError::io(path, e))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(dir: &Path) -> Paths {
        Paths {
            home: dir.join("home"),
            unit_dir: dir.join("units"),
        }
    }

    fn row(name: &str, port: u16) -> Value {
        json!({"name": name, "port": port, "paths": [format!("/{name}")],
               "health": "/health", "version": "1.0.0"})
    }

    fn write_doc(p: &Paths, v: &Value) {
        fs::create_dir_all(&p.home).expect("mkdir");
        fs::write(p.services_json(), v.to_string()).expect("write");
    }

    #[test]
    fn missing_file_reads_as_empty() {
        let tmp = tempfile::tempdir().expect("tmp");
        let p = paths(tmp.path());
        assert!(
            Services::load_strict(&p.services_json())
                .expect("ok")
                .rows
                .is_empty()
        );
    }

    #[test]
    fn malformed_json_reports_line_and_column_and_is_not_rewritten() {
        let tmp = tempfile::tempdir().expect("tmp");
        let p = paths(tmp.path());
        fs::create_dir_all(&p.home).expect("mkdir");
        let bad = "{\n  \"services\": [\n    {\"name\": \"x\",,}\n  ]\n}\n";
        fs::write(p.services_json(), bad).expect("write");
        let e = Services::update(&p, |s| -> Result<_, ManifestError> {
            s.upsert(Row::new("parachute-y", 1950, &[], "/h", "1"));
            Ok((true, ()))
        })
        .expect_err("must fail");
        match &e {
            ManifestError::Syntax { line, column, .. } => {
                assert_eq!((*line, *column), (3, 18));
            }
            other => panic!("wrong error {other:?}"),
        }
        assert!(e.to_string().contains("services.json"));
        assert_eq!(fs::read_to_string(p.services_json()).expect("read"), bad);
    }

    #[test]
    fn strict_read_names_both_rows_of_a_duplicate_port() {
        let tmp = tempfile::tempdir().expect("tmp");
        let p = paths(tmp.path());
        write_doc(
            &p,
            &json!({"services": [row("parachute-a", 1950), row("parachute-b", 1950)]}),
        );
        let e = Services::load_strict(&p.services_json()).expect_err("dup");
        let msg = e.to_string();
        assert!(msg.contains("duplicate port 1950"), "{msg}");
        assert!(
            msg.contains("`parachute-a`") && msg.contains("`parachute-b`"),
            "{msg}"
        );
    }

    #[test]
    fn vault_instances_may_share_a_port() {
        let tmp = tempfile::tempdir().expect("tmp");
        let p = paths(tmp.path());
        write_doc(
            &p,
            &json!({"services": [row("parachute-vault", 1940), row("parachute-vault-work", 1940)]}),
        );
        assert_eq!(
            Services::load_strict(&p.services_json())
                .expect("ok")
                .rows
                .len(),
            2
        );
    }

    #[test]
    fn lenient_read_skips_bad_rows_with_a_warning() {
        let tmp = tempfile::tempdir().expect("tmp");
        let p = paths(tmp.path());
        write_doc(
            &p,
            &json!({"services": [row("parachute-a", 1950), {"name": "parachute-bad"},
                                 row("parachute-c", 1950), row("parachute-d", 1951)]}),
        );
        let (s, warnings) = Services::load_lenient(&p.services_json()).expect("ok");
        assert_eq!(s.known(), vec!["a", "d"]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("`port` is required"));
        assert!(warnings[1].contains("parachute-c"));
        assert!(Services::load_strict(&p.services_json()).is_err());
    }

    #[test]
    fn update_keeps_unknown_keys_and_other_rows() {
        let tmp = tempfile::tempdir().expect("tmp");
        let p = paths(tmp.path());
        let mut a = row("parachute-a", 1950);
        a["moduleOwned"] = json!([1, 2]);
        write_doc(&p, &json!({"version": 2, "services": [a]}));
        Services::update(&p, |s| -> Result<_, ManifestError> {
            s.upsert(Row::new(
                "parachute-b",
                1951,
                &["/b".into()],
                "/b/health",
                "0.1.0",
            ));
            Ok((true, ()))
        })
        .expect("update");
        let text = fs::read_to_string(p.services_json()).expect("read");
        assert!(text.ends_with("}\n"));
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["version"], json!(2));
        assert_eq!(v["services"][0]["moduleOwned"], json!([1, 2]));
        assert_eq!(v["services"][1]["name"], json!("parachute-b"));
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let tmp = tempfile::tempdir().expect("tmp");
        let p = paths(tmp.path());
        let handles: Vec<_> = (0..16u16)
            .map(|i| {
                let p = p.clone();
                std::thread::spawn(move || {
                    Services::update(&p, |s| -> Result<_, ManifestError> {
                        s.upsert(Row::new(
                            &format!("parachute-m{i}"),
                            2000 + i,
                            &[],
                            "/h",
                            "1",
                        ));
                        Ok((true, ()))
                    })
                    .expect("update");
                })
            })
            .collect();
        for h in handles {
            h.join().expect("join");
        }
        let s = Services::load_strict(&p.services_json()).expect("ok");
        assert_eq!(s.rows.len(), 16);
    }

    #[test]
    fn find_by_short_or_manifest_name() {
        let mut s = Services::empty();
        s.upsert(Row::new("parachute-vault", 1940, &[], "/h", "1"));
        assert!(s.find("vault").is_some());
        assert!(s.find("parachute-vault").is_some());
        assert!(s.find("notes").is_none());
    }
}
