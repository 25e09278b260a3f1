//! Issue #8, store integrity: `/health` must not drop `SQLite`'s POSIX locks
//! on `hub.db`. When it did, one read by another `SQLite` client deleted the
//! `-wal`/`-shm` under the running hub, and revocations made by the CLI (or
//! through the API before a `kill -9`) were lost to the hub.

use std::path::Path;
use std::process::Command;

use crate::support::hub::{Home, Hub, claims, http, path_str, stderr};

/// Another process reads the store the way a backup script would.
fn python_reads(db: &Path) {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             print(c.execute('SELECT count(*) FROM tokens').fetchone()[0])\n\
             c.close()",
            path_str(db),
        ])
        .output()
        .expect("python3");
    assert!(o.status.success(), "python sqlite3: {}", stderr(&o));
}

fn jti(token: &str) -> String {
    claims(token)["jti"].as_str().expect("jti").to_string()
}

fn assert_refused(hub: &Hub, token: &str, when: &str) {
    let r = hub.get("/api/auth/tokens", Some(token));
    assert_eq!(r.status, 401, "{when}: a revoked token still works: {r:?}");
}

#[test]
fn revocations_survive_health_checks_a_foreign_reader_and_kill_9() {
    let h = Home::with_owner();
    let db = h.home().join("hub.db");
    let wal = h.home().join("hub.db-wal");
    let mut hub = Hub::start(&h);
    for _ in 0..5 {
        let r = hub.get("/health", None);
        assert_eq!(r.status, 200, "{r:?}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let by_cli = h.mint(&["--scope", "parachute:host:auth"]);
    let by_api = h.mint(&["--scope", "parachute:host:auth"]);
    assert_eq!(hub.get("/api/auth/tokens", Some(&by_cli)).status, 200);
    python_reads(&db);
    assert!(wal.exists(), "the foreign reader deleted hub.db-wal");
    assert_eq!(hub.get("/health", None).status, 200);

    let o = h.run(&["auth", "revoke-token", &jti(&by_cli)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_refused(&hub, &by_cli, "after `auth revoke-token`");
    let r = http(
        hub.addr,
        "POST",
        "/api/auth/revoke-token",
        Some(&h.operator_token()),
        Some(&format!("{{\"jti\":\"{}\"}}", jti(&by_api))),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_refused(&hub, &by_api, "after revoking through the API");
    python_reads(&db);
    assert!(wal.exists(), "hub.db-wal is gone under the running hub");

    hub.kill();
    let hub = Hub::start(&h);
    assert_eq!(hub.get("/health", None).status, 200);
    assert_refused(&hub, &by_cli, "after kill -9 and restart (CLI revocation)");
    assert_refused(&hub, &by_api, "after kill -9 and restart (API revocation)");
    python_reads(&db);
    assert!(wal.exists(), "hub.db-wal is gone under the restarted hub");
    let o = h.run(&["auth", "revoke-token", &jti(&h.operator_token())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_refused(
        &hub,
        &h.operator_token(),
        "operator token revoked by the CLI",
    );
}
