//! Discovery documents: `/.well-known/jwks.json` (the published signing
//! keys) and `/.well-known/parachute.json` (the installed services, from
//! the hub's registry, with whether each is routable and its state from the
//! init system). Both are public and readable cross-origin.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use crate::hub::registry::{is_vault, vault_name};
use crate::hub::state::HubState;
use crate::manifest::{Row, hub_owned, short_name};
use crate::store;
use crate::tokens::keys;

/// Allow any origin to read the response (the documents are public).
pub fn cors(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// `OPTIONS` preflight for the public documents.
pub async fn preflight() -> Response {
    preflight_for("GET, OPTIONS", "Authorization, Content-Type")
}

/// A 204 preflight answer for any origin (no credentials): these endpoints
/// never read cookies, so any page may call them.
pub fn preflight_for(methods: &'static str, headers: &'static str) -> Response {
    let mut r = cors(StatusCode::NO_CONTENT.into_response());
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(headers),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}

/// Every key published now: the active one, and retired ones whose last
/// signed token has not expired. Read from the store on each request, so a
/// rotation by the CLI shows at once.
pub async fn jwks(State(s): State<HubState>) -> Result<Response, ApiError> {
    let conn = s
        .store()
        .conn()
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let published = store::keys::published(&conn, s.clock().now())
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(cors(Json(keys::jwks(&published)).into_response()))
}

/// `{vaults:[…], services:[…], <short>:[…]}` from the registry (modules
/// register while the hub runs; the registry follows the file). Each
/// service says whether the hub routes to it and whether it is up now.
pub async fn discovery(State(s): State<HubState>) -> Response {
    let view = s.registry().view();
    // The init system's word where the hub has one; else whether the port answers.
    let mut states = crate::hub::proxy::on_demand::states(&s, &view.rows)
        .await
        .unwrap_or_default();
    let unknown: Vec<Row> = view
        .rows
        .iter()
        .filter(|r| !states.contains_key(&r.name))
        .cloned()
        .collect();
    states.extend(probe_all(&unknown).await);
    let mut r = cors(Json(document(&view.rows, s.issuers().primary(), &states)).into_response());
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// How long discovery waits for a module's port to accept a connection.
const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

/// `running` or `stopped` per service name: whether its loopback port
/// accepts a connection now (all probed at once, each bounded).
async fn probe_all(rows: &[Row]) -> HashMap<String, &'static str> {
    let probes = rows.iter().map(|row| async move {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], row.port));
        let up = tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
            .is_ok_and(|c| c.is_ok());
        (row.name.clone(), if up { "running" } else { "stopped" })
    });
    futures_util::future::join_all(probes)
        .await
        .into_iter()
        .collect()
}

fn join(origin: &str, path: &str) -> String {
    let origin = origin.trim_end_matches('/');
    if path.starts_with('/') {
        format!("{origin}{path}")
    } else {
        format!("{origin}/{path}")
    }
}

/// One `services` entry: the row at `path`, routable or not, and its state.
fn service_entry(
    row: &Row,
    path: &str,
    url: &str,
    origin: &str,
    states: &HashMap<String, &'static str>,
) -> Value {
    let info = join(
        origin,
        &format!("{}/.parachute/info", path.trim_end_matches('/')),
    );
    let mut entry = json!({
        "name": row.name,
        "url": url,
        "path": path,
        "version": row.version,
        "infoUrl": info,
        "routable": path.starts_with('/') && hub_owned(path).is_none(),
        "state": states.get(&row.name).copied().unwrap_or("unknown"),
    });
    if let Some(d) = &row.display_name {
        entry["displayName"] = d.clone().into();
    }
    for key in ["tagline", "uis"] {
        if let Some(v) = row.get(key).filter(|v| !v.is_null()) {
            entry[key] = v.clone();
        }
    }
    entry
}

/// The discovery document for `rows`, with URLs under `origin`. A vault row
/// yields one entry per mount path (one process serves several vaults);
/// other services are listed at their first path.
pub fn document(rows: &[Row], origin: &str, states: &HashMap<String, &'static str>) -> Value {
    let mut services = Vec::new();
    let mut vaults = Vec::new();
    let mut by_short: Map<String, Value> = Map::new();
    for row in rows {
        let vault = is_vault(row);
        let paths: Vec<&str> = if vault && !row.paths.is_empty() {
            row.paths.iter().map(String::as_str).collect()
        } else {
            vec![row.paths.first().map_or("/", String::as_str)]
        };
        for path in paths {
            let url = join(origin, path);
            let entry = service_entry(row, path, &url, origin, states);
            services.push(entry);
            if vault {
                vaults.push(
                    json!({"name": vault_name(row, path), "url": url, "version": row.version}),
                );
            } else if let Value::Array(list) = by_short
                .entry(short_name(&row.name).to_string())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                list.push(json!({"url": url, "version": row.version}));
            }
        }
    }
    let mut doc = Map::new();
    // Kind arrays first so the fixed keys win over a module named like them.
    doc.extend(by_short);
    doc.insert("vaults".into(), Value::Array(vaults));
    doc.insert("services".into(), Value::Array(services));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, paths: &[&str]) -> Row {
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_string()).collect();
        Row::new(name, 1950, &paths, "/health", "1.2.3")
    }

    #[test]
    fn vault_rows_list_every_mount_and_others_their_first_path() {
        let mut notes = row("parachute-notes", &["/notes", "/notes-alias"]);
        notes.set_display_name(Some("Notes"));
        let rows = vec![
            row("parachute-vault", &["/vault/default", "/vault/work"]),
            notes,
            row("parachute-vault-home", &["/somewhere"]),
        ];
        let states = HashMap::from([("parachute-notes".to_string(), "running")]);
        let doc = document(&rows, "http://127.0.0.1:1939/", &states);
        let vaults = doc["vaults"].as_array().expect("vaults");
        let names: Vec<&str> = vaults
            .iter()
            .map(|v| v["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names, ["default", "work", "home"]);
        assert_eq!(vaults[1]["url"], "http://127.0.0.1:1939/vault/work");
        let services = doc["services"].as_array().expect("services");
        assert_eq!(services.len(), 4);
        assert_eq!(services[2]["name"], "parachute-notes");
        assert_eq!(services[2]["path"], "/notes");
        assert_eq!(services[2]["displayName"], "Notes");
        assert_eq!(services[2]["state"], "running");
        assert_eq!(services[2]["routable"], true);
        assert_eq!(services[0]["state"], "unknown");
        assert_eq!(
            services[2]["infoUrl"],
            "http://127.0.0.1:1939/notes/.parachute/info"
        );
        assert_eq!(
            doc["notes"],
            json!([{"url": "http://127.0.0.1:1939/notes", "version": "1.2.3"}])
        );
        assert!(
            doc.get("vault").is_none(),
            "vaults are listed under `vaults`"
        );
    }

    #[test]
    fn nothing_installed_is_an_empty_document() {
        assert_eq!(
            document(&[], "http://h", &HashMap::new()),
            json!({"vaults": [], "services": []})
        );
    }
}
