//! Module ports: drift from the canonical table, and a port held by
//! another program while its service is down (the service cannot start).

use super::{Env, Finding};
use crate::lifecycle::InitSystem;
use crate::manifest::Services;
use crate::ports;

pub async fn check(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    let Ok(services) = Services::load_strict(&env.paths.services_json()) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for row in &services.rows {
        let name = format!("port:{}", row.short());
        if let Some(c) = ports::canonical(&row.name).filter(|c| *c != row.port) {
            found.push(Finding::warn(
                name,
                format!(
                    "{} is on port {}; its canonical port is {c}",
                    row.name, row.port
                ),
                format!(
                    "set \"port\": {c} for {} in services.json, then: parachute restart {}",
                    row.name,
                    row.short()
                ),
            ));
            continue;
        }
        let running = match env.init() {
            Some(i) => i.state(&row.unit()).await.is_ok_and(|s| s.is_active()),
            None => false,
        };
        found.push(if !running && !ports::bind_probe(row.port) {
            Finding::fail(
                name,
                format!(
                    "port {} is held by another program while {} is not running: it cannot start",
                    row.port,
                    row.short()
                ),
                format!(
                    "stop that program (find it: ss -ltnp 'sport = :{}'), or give {} another \"port\" in services.json",
                    row.port,
                    row.short()
                ),
            )
        } else {
            Finding::pass(name, format!("port {} ok", row.port))
        });
    }
    found
}
