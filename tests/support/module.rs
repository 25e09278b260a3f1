//! A test module on disk: `.parachute/module.json` and its program, as
//! `parachute install` reads them.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::cli::Parachute;
use super::hub::{free_port, stderr};

/// Write the module `name` under `root/<dir>`: a manifest of `name`,
/// `parachute-<name>`, version `1.0.0` and a free port, with `fields` over
/// them (`paths`, `health`, `startCmd`, …), and `files` beside it; its
/// directory.
pub fn write(
    root: &Path,
    dir: &str,
    name: &str,
    fields: &Value,
    files: &[(&str, &str)],
) -> PathBuf {
    let dir = root.join(dir);
    fs::create_dir_all(dir.join(".parachute")).expect("mkdir");
    let mut m = json!({
        "name": name,
        "manifestName": format!("parachute-{name}"),
        "version": "1.0.0",
        "port": free_port(),
    });
    if let (Some(m), Some(f)) = (m.as_object_mut(), fields.as_object()) {
        m.extend(f.clone());
    }
    fs::write(dir.join(".parachute/module.json"), m.to_string()).expect("write");
    for (file, text) in files {
        fs::write(dir.join(file), text).expect("write");
    }
    dir
}

/// Python that answers every GET `200 ok` on `127.0.0.1:$PORT` (the
/// module's health check), after `prelude`, which imports `http.server`
/// and `os`: a module's whole program.
pub fn with_ok_server(prelude: &str) -> String {
    format!(
        r#"{prelude}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#
    )
}

/// `parachute install <dir> ARGS`, asserting success.
pub fn install(p: &Parachute, dir: &Path, args: &[&str]) {
    let mut all = vec!["install", dir.to_str().expect("utf8")];
    all.extend_from_slice(args);
    let o = p.run(&all);
    assert!(
        o.status.success(),
        "install {}: {}",
        dir.display(),
        stderr(&o)
    );
}
