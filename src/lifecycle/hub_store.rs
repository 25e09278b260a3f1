//! Making a new `hub.db` after the old one was deleted (issue 9 item 4).
//!
//! A hub that still runs holds the deleted inode open and keeps answering
//! from it (its `/health` says 503, `db: missing`); a store created beside
//! it is one the running hub never sees. And the old store's `-wal`/`-shm`
//! left behind would be replayed into the new file by the next `SQLite`
//! client. So: stop the hub, remove the stale pair, and only then create
//! the store; the socket starts a hub on the new one at the next request.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::service::HUB_SERVICE;

/// `hub.db-wal` and `hub.db-shm` beside `db`.
pub fn sidecars(db: &Path) -> [PathBuf; 2] {
    let with = |suffix: &str| {
        let mut s = db.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [with("-wal"), with("-shm")]
}

/// The sidecars of a deleted store that are still on disk.
pub fn stale_sidecars(db: &Path) -> Vec<PathBuf> {
    if db.exists() {
        return Vec::new();
    }
    sidecars(db).into_iter().filter(|p| p.exists()).collect()
}

/// Before a new store is created at `db` (which does not exist): stop a hub
/// that still serves the deleted one, then remove its stale `-wal`/`-shm`.
/// Returns what it did, one line each. Does nothing when `db` exists.
pub async fn prepare_new(db: &Path, init: Option<&impl InitSystem>) -> Result<Vec<String>, Error> {
    let mut done = Vec::new();
    if db.exists() {
        return Ok(done);
    }
    if let Some(init) = init
        && init.state(HUB_SERVICE).await?.is_active()
    {
        init.stop(HUB_SERVICE).await?;
        done.push(format!(
            "stopped the hub: it was still serving the deleted {}",
            db.display()
        ));
    }
    for path in stale_sidecars(db) {
        match fs::remove_file(&path) {
            Ok(()) => done.push(format!("removed the stale {}", path.display())),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sidecars_of_a_missing_store_are_stale() {
        let tmp = tempfile::tempdir().expect("tmp");
        let db = tmp.path().join("hub.db");
        for p in sidecars(&db) {
            fs::write(p, b"x").expect("write");
        }
        assert_eq!(stale_sidecars(&db).len(), 2);
        fs::write(&db, b"").expect("write");
        assert!(stale_sidecars(&db).is_empty());
        assert_eq!(
            sidecars(&db)[0].file_name().and_then(|n| n.to_str()),
            Some("hub.db-wal")
        );
    }
}
