//! The hub's view of services.json: what is installed, which vaults exist,
//! and the proxy's route table — one cached copy shared by every handler.
//!
//! Modules register while the hub runs, so the view must follow the file,
//! but no request should read it: [`Registry::view`] asks the directory's
//! [`watch`] whether services.json was touched (no `stat(2)` when it was
//! not), then re-reads the file only when its length, mtime or inode
//! changed (writers replace it atomically by rename, so a new write is a
//! new inode even within one mtime tick). The read is lenient, as
//! everywhere services.json is read by a reader: bad rows are left out.

mod watch;

use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::http::uri::Authority;

use crate::manifest::row::Exposure;
use crate::manifest::{Row, Services, hub_owned, short_name};

/// What identifies one version of the file on disk (all zero: no file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
    ino: u64,
}

/// The cached, reload-on-change services registry.
#[derive(Debug)]
pub struct Registry {
    path: PathBuf,
    /// `None` until the first read; then the stamp the view was read at.
    current: RwLock<(Option<Stamp>, Arc<View>)>,
    /// Held while looking: a request that finds the directory quiet while
    /// another is reloading after its event waits for that reload.
    watch: Mutex<watch::Watch>,
}

/// One read of services.json.
#[derive(Debug, Default)]
pub struct View {
    pub rows: Vec<Row>,
    /// Longest prefix first, so the first match is the best one.
    routes: Vec<Route>,
}

/// Where requests under one path prefix go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Without a trailing `/` (except nothing: `/` is hub-owned).
    pub prefix: String,
    pub service: String,
    /// The service's systemd unit (computed once, not per request).
    pub unit: String,
    pub port: u16,
    /// `127.0.0.1:<port>`, the module's authority (parsed once).
    pub authority: Authority,
    /// `stripPrefix`: the module sees the path with the prefix removed.
    pub strip: bool,
    /// `websocket`: upgrades are bridged.
    pub websocket: bool,
    /// `publicExposure: "loopback"`: only loopback peers may use it.
    pub loopback_only: bool,
    /// The vault instance this prefix serves, if it is a vault row.
    pub vault: Option<String>,
}

/// What services.json says is installed: vault instance names and the
/// short names of the other modules (plus `vault`, always a scope namespace).
#[derive(Debug, Default, Clone)]
pub struct Installed {
    pub vaults: Vec<String>,
    pub modules: Vec<String>,
}

impl Registry {
    pub fn new(path: PathBuf) -> Self {
        // Watching starts before the first read, so no change is missed.
        let watch = Mutex::new(watch::Watch::new(&path));
        Self {
            path,
            current: RwLock::new((None, Arc::new(View::default()))),
            watch,
        }
    }

    /// The view as of now: the cached one unless the file changed.
    pub fn view(&self) -> Arc<View> {
        let mut watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        if !watch.changed()
            && let Ok(cur) = self.current.read()
            && cur.0.is_some()
        {
            return Arc::clone(&cur.1);
        }
        let stamp = stamp_of(&self.path);
        if let Ok(cur) = self.current.read()
            && cur.0 == Some(stamp)
        {
            return Arc::clone(&cur.1);
        }
        let fresh = Arc::new(self.load());
        if let Ok(mut cur) = self.current.write() {
            *cur = (Some(stamp), Arc::clone(&fresh));
        }
        fresh
    }

    fn load(&self) -> View {
        match Services::load_lenient(&self.path) {
            Ok((services, warnings)) => {
                for w in warnings {
                    tracing::debug!(warning = %w, "services.json");
                }
                View::new(services.rows)
            }
            Err(e) => {
                tracing::warn!(error = %e, "services.json unreadable; nothing is installed");
                View::default()
            }
        }
    }
}

fn stamp_of(path: &std::path::Path) -> Stamp {
    std::fs::metadata(path).map_or_else(
        |_| Stamp::default(),
        |m| Stamp {
            len: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ino: m.ino(),
        },
    )
}

/// Whether a row is a vault instance (`parachute-vault`, `parachute-vault-<x>`).
pub fn is_vault(row: &Row) -> bool {
    row.name == "parachute-vault" || row.name.starts_with("parachute-vault-")
}

/// The `/vault/<name>` segment of a path, if it has one.
fn vault_segment(path: &str) -> Option<&str> {
    path.strip_prefix("/vault/")
        .and_then(|r| r.split('/').next())
        .filter(|s| !s.is_empty())
}

/// A vault instance's name at `path`: the `/vault/<name>` segment, else the
/// manifest suffix, else `default`.
pub fn vault_name(row: &Row, path: &str) -> String {
    vault_segment(path).map_or_else(
        || {
            row.name
                .strip_prefix("parachute-vault-")
                .unwrap_or("default")
                .to_string()
        },
        str::to_string,
    )
}

impl View {
    pub fn new(rows: Vec<Row>) -> Self {
        let mut routes: Vec<Route> = rows.iter().flat_map(routes_of).collect();
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Self { rows, routes }
    }

    /// The route for a request path: the longest prefix that matches on a
    /// segment boundary (`/api` does not match `/apiary`).
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.route_index(path).map(|i| &self.routes[i])
    }

    /// [`Self::route`]'s position in [`Self::routes`] (kept by a caller
    /// that hands the view on with the request, so it is found once).
    pub fn route_index(&self, path: &str) -> Option<usize> {
        self.routes.iter().position(|r| {
            path.strip_prefix(r.prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// Every route, longest prefix first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn installed(&self) -> Installed {
        let mut out = Installed::default();
        for row in &self.rows {
            if !is_vault(row) {
                out.modules.push(short_name(&row.name).to_string());
                continue;
            }
            let named: Vec<String> = row
                .paths
                .iter()
                .filter_map(|p| vault_segment(p))
                .map(str::to_string)
                .collect();
            if named.is_empty() {
                out.vaults.push(vault_name(row, ""));
            } else {
                out.vaults.extend(named);
            }
        }
        out.modules.push("vault".into());
        out
    }
}

/// A row's routable prefixes; a path the hub owns is never one (install
/// refuses it, but a hand-edited row must not shadow the hub either).
fn routes_of(row: &Row) -> Vec<Route> {
    let flag = |k: &str| row.get(k).and_then(serde_json::Value::as_bool) == Some(true);
    let Ok(authority) = Authority::from_maybe_shared(format!("127.0.0.1:{}", row.port)) else {
        return Vec::new();
    };
    row.paths
        .iter()
        .filter(|p| p.starts_with('/') && hub_owned(p).is_none())
        .map(|p| Route {
            prefix: p.trim_end_matches('/').to_string(),
            service: row.name.clone(),
            unit: row.unit(),
            port: row.port,
            authority: authority.clone(),
            strip: flag("stripPrefix"),
            websocket: flag("websocket"),
            loopback_only: row.public_exposure == Some(Exposure::Loopback),
            vault: is_vault(row).then(|| vault_name(row, p)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: &serde_json::Value) -> Row {
        Row::from_value(v).expect("row")
    }

    fn view() -> View {
        View::new(vec![
            row(
                &json!({"name":"parachute-vault","port":1940,"paths":["/vault/default","/vault/work/"],"health":"/health","version":"1"}),
            ),
            row(
                &json!({"name":"parachute-notes","port":1941,"paths":["/notes","/notes/admin-ui","/api/x"],"health":"/health","version":"1","stripPrefix":true,"publicExposure":"loopback"}),
            ),
            row(
                &json!({"name":"parachute-api","port":1942,"paths":["/apiary","/","/oauth","/logout"],"health":"/health","version":"1","websocket":true}),
            ),
        ])
    }

    #[test]
    fn the_longest_prefix_wins_on_segment_boundaries() {
        let v = view();
        let port = |p: &str| v.route(p).map(|r| (r.port, r.prefix.clone()));
        assert_eq!(port("/notes"), Some((1941, "/notes".into())));
        assert_eq!(port("/notes/a/b"), Some((1941, "/notes".into())));
        assert_eq!(
            port("/notes/admin-ui/x"),
            Some((1941, "/notes/admin-ui".into()))
        );
        assert_eq!(port("/notesy"), None);
        assert_eq!(port("/apiary/hive"), Some((1942, "/apiary".into())));
        assert_eq!(port("/vault/work/mcp"), Some((1940, "/vault/work".into())));
        assert_eq!(
            v.route("/vault/work/mcp").and_then(|r| r.vault.clone()),
            Some("work".into())
        );
        let notes = v.route("/notes").expect("notes");
        assert!(notes.strip && notes.loopback_only && !notes.websocket);
        assert!(v.route("/apiary").expect("apiary").websocket);
    }

    #[test]
    fn hub_owned_paths_are_never_routes() {
        let v = view();
        for p in [
            "/api/x",
            "/",
            "/oauth",
            "/oauth/token",
            "/logout",
            "/unknown",
        ] {
            assert_eq!(v.route(p), None, "{p}");
        }
    }

    #[test]
    fn installed_names_vaults_by_segment_then_suffix() {
        let v = View::new(vec![
            row(
                &json!({"name":"parachute-vault","port":1940,"paths":["/vault/default","/vault/work"],"health":"/h","version":"1"}),
            ),
            row(
                &json!({"name":"parachute-vault-home","port":1943,"paths":["/somewhere"],"health":"/h","version":"1"}),
            ),
            row(
                &json!({"name":"parachute-scribe","port":1944,"paths":["/scribe"],"health":"/h","version":"1"}),
            ),
        ]);
        let i = v.installed();
        assert_eq!(i.vaults, ["default", "work", "home"]);
        assert_eq!(i.modules, ["scribe", "vault"]);
    }

    #[test]
    fn the_view_follows_the_file_and_is_reused_while_it_is_unchanged() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("services.json");
        let reg = Registry::new(path.clone());
        assert!(reg.view().rows.is_empty(), "no file: nothing installed");
        let write = |rows: &str| {
            let tmp = dir.path().join("services.json.tmp");
            std::fs::write(&tmp, format!("{{\"services\":[{rows}]}}")).expect("write");
            std::fs::rename(&tmp, &path).expect("rename");
        };
        write(r#"{"name":"parachute-a","port":1950,"paths":["/a"],"health":"/h","version":"1"}"#);
        let first = reg.view();
        assert_eq!(first.rows.len(), 1);
        assert!(Arc::ptr_eq(&first, &reg.view()), "unchanged: the same view");
        // Same length, new inode: still seen.
        write(r#"{"name":"parachute-b","port":1950,"paths":["/b"],"health":"/h","version":"1"}"#);
        let second = reg.view();
        assert_eq!(second.rows[0].name, "parachute-b");
        assert!(second.route("/b").is_some() && second.route("/a").is_none());
        std::fs::remove_file(&path).expect("rm");
        assert!(reg.view().rows.is_empty());
    }

    #[test]
    fn the_view_follows_an_in_place_write_and_a_replaced_directory() {
        let root = tempfile::tempdir().expect("tmp");
        let dir = root.path().join("home");
        std::fs::create_dir(&dir).expect("mkdir");
        let path = dir.join("services.json");
        let row = |name: &str| {
            format!(
                r#"{{"services":[{{"name":"{name}","port":1950,"paths":["/a"],"health":"/h","version":"1"}}]}}"#
            )
        };
        let reg = Registry::new(path.clone());
        assert!(reg.view().rows.is_empty());
        // Written in place (an editor), not renamed over.
        std::fs::write(&path, row("parachute-a")).expect("write");
        assert_eq!(reg.view().rows[0].name, "parachute-a");
        // The whole directory replaced: the watch on it is gone, and the
        // registry still follows the file.
        std::fs::remove_dir_all(&dir).expect("rm");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(&path, row("parachute-b")).expect("write");
        assert_eq!(reg.view().rows[0].name, "parachute-b");
        std::fs::write(&path, row("parachute-c")).expect("write");
        assert_eq!(reg.view().rows[0].name, "parachute-c");
    }
}
