//! The hub's `SQLite` store (`$PARACHUTE_HOME/hub.db`), through rusqlite.
//!
//! One constructor sets every pragma (WAL, `foreign_keys`, `busy_timeout`,
//! `synchronous=NORMAL`) and applies the numbered migrations, so no code path
//! sees a half-configured connection. Connections are pooled (a handful, made
//! on demand) because the daemon serves requests on several threads and a
//! rusqlite `Connection` is not `Sync`. Write transactions are
//! `BEGIN IMMEDIATE` and roll back when dropped uncommitted (rusqlite's
//! default), so an early `?` never leaves half a change behind.
//!
//! After the first open the store never creates the file again: a `hub.db`
//! deleted under a running hub is reported by [`Store::check`] (and so by
//! `/health`), not silently replaced by an empty one.

pub mod account;
pub mod clients;
pub mod codes;
pub mod grants;
pub mod keys;
mod migrate;
pub mod ratelimit;
pub mod reap;
pub mod refresh;
pub mod sessions;
pub mod settings;
pub mod step_up;
pub mod tokens;
pub mod two_factor;
pub mod users;

use std::fs;
use std::io::ErrorKind;
use std::ops::{Deref, DerefMut};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use migrate::LATEST as SCHEMA_VERSION;

/// How long a writer waits for another writer (the CLI and the daemon share
/// the file) before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept for reuse; more are opened under load and dropped.
const POOL_KEEP: usize = 8;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database was written by a newer parachute; we do not touch it.
    #[error(
        "`{}` has schema version {found}, newer than this parachute knows ({known}). Nothing was changed. Upgrade parachute to use it.",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    /// `SQLite` failed (I/O, corruption, a full disk, a bug of ours).
    #[error("`{}`: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("`{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// [`Store::open_existing`] found no file to open.
    #[error("there is no hub store at `{}` yet. Create it with: parachute init", path.display())]
    Missing { path: PathBuf },
}

/// The store: the database path and a small pool of configured connections.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    /// `(device, inode)` of the file we opened, to notice it being replaced.
    file_id: (u64, u64),
    pool: Mutex<Vec<Connection>>,
}

/// A pooled connection; it goes back to the pool when dropped.
pub struct Conn<'a> {
    store: &'a Store,
    conn: Option<Connection>,
}

/// Did `SQLite` give up waiting for another writer (`SQLITE_BUSY` or
/// `SQLITE_LOCKED` after [`BUSY_TIMEOUT`])? That passes; every other
/// failure needs someone to look.
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl StoreError {
    /// [`is_busy`] for a store's error: a retry shortly can succeed.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Sqlite { source, .. } if is_busy(source))
    }
}

impl Store {
    /// Open (creating it 0600 if missing) and migrate. The parent directory
    /// must exist.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        create_private_file(path)?;
        let conn = connect(path)?;
        migrate::run(&conn, path)?;
        let meta = fs::metadata(path).map_err(|e| io_err(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file_id: (meta.dev(), meta.ino()),
            pool: Mutex::new(vec![conn]),
        })
    }

    /// Open a store that must already exist (commands other than `init` and
    /// `set-password` never create one as a side effect).
    pub fn open_existing(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        Self::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection from the pool (a new one when all are busy).
    pub fn conn(&self) -> Result<Conn<'_>, StoreError> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        Ok(Conn {
            store: self,
            conn: Some(conn),
        })
    }

    /// Is the store usable right now? Names the fault when it is not:
    /// the file is gone or replaced, is not a `SQLite` database, or a query fails.
    ///
    /// Nothing here opens `hub.db` outside `SQLite`: closing any descriptor of
    /// the file would drop every POSIX lock this process holds on it (see
    /// `fcntl(2)`), and the next `SQLite` client of another process would then
    /// delete the `-wal`/`-shm` under the running hub. The inode comes from
    /// `fs::metadata` (a `stat`, no descriptor); the header is read by a fresh
    /// connection (an empty page cache, so it reads page 1 again), which
    /// `SQLite`'s own VFS opens and closes without dropping the locks.
    pub fn check(&self) -> Result<(), String> {
        let meta = match fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err("missing".into()),
            Err(e) => return Err(format!("unreadable: {e}")),
        };
        if (meta.dev(), meta.ino()) != self.file_id {
            return Err("replaced while the hub was running".into());
        }
        let conn = connect(&self.path).map_err(|e| classify(&e))?;
        conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| classify_sql(&e))?;
        conn.query_row("SELECT count(*) FROM schema_version", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|_| ())
        .map_err(|e| classify_sql(&e))
    }

    /// A full `PRAGMA quick_check` (reads every page): too slow for each
    /// `/health` on a large store, so the hub's reaper runs it.
    pub fn quick_check(&self) -> Result<(), String> {
        let conn = self.conn().map_err(|e| classify(&e))?;
        let verdict: String = conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|e| classify_sql(&e))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(format!("corrupt: {verdict}"))
        }
    }

    /// Run `f` inside a write transaction (`BEGIN IMMEDIATE`), committing
    /// only when it returns `Ok`.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        write_tx(&mut conn, &self.path, f)
    }

    /// Wrap any other failure inside a write (key generation, signing) so
    /// the transaction rolls back and the cause is reported on this store.
    pub fn other(&self, e: impl std::fmt::Display) -> StoreError {
        io_err(&self.path, std::io::Error::other(e.to_string()))
    }

    /// Wrap a rusqlite error with this store's path.
    pub fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

/// A write transaction on one connection; see [`Store::write`].
pub fn write_tx<T>(
    conn: &mut Connection,
    path: &Path,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sql_err(path, e))?;
    let out = f(&tx)?;
    tx.commit().map_err(|e| sql_err(path, e))?;
    Ok(out)
}

impl Deref for Conn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let (Some(c), Ok(mut pool)) = (self.conn.take(), self.store.pool.lock())
            && pool.len() < POOL_KEEP
            && c.is_autocommit()
        {
            pool.push(c);
        }
    }
}

/// Open one connection to an existing file and set every pragma.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    // No SQLITE_OPEN_CREATE: see the module comment.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| sql_err(path, e))?;
    // journal_mode answers with a row; the others are plain settings.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| sql_err(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "SQLite refused WAL mode");
    }
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
        .map_err(|e| sql_err(path, e))?;
    Ok(conn)
}

/// Create the database file 0600 if it does not exist (`SQLite` would use the
/// umask, and its -wal/-shm files copy the database file's mode).
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    crate::fsio::create_private(path).map_err(|e| io_err(path, e))
}

/// The `/health` wording of a store fault.
fn classify(e: &StoreError) -> String {
    match e {
        StoreError::Sqlite { source, .. } => classify_sql(source),
        other => format!("error: {other}"),
    }
}

fn classify_sql(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            "corrupt: not a SQLite database".into()
        }
        _ => format!("error: {e}"),
    }
}

pub(crate) fn sql_err(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn io_err(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Store;

    /// A migrated store in a temporary directory (kept alive by the guard).
    pub fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("hub.db")).expect("open store");
        (dir, store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn open_sets_pragmas_and_creates_a_private_file() {
        let (dir, store) = test_support::store();
        let conn = store.conn().expect("conn");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("q");
        assert_eq!(mode, "wal");
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .expect("q");
        assert_eq!(fk, 1);
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("q");
        assert_eq!(sync, 1, "NORMAL");
        let perms = fs::metadata(dir.path().join("hub.db")).expect("meta");
        assert_eq!(perms.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn check_names_a_deleted_replaced_or_corrupt_file() {
        let (dir, store) = test_support::store();
        assert_eq!(store.check(), Ok(()));
        let db = dir.path().join("hub.db");
        fs::remove_file(&db).expect("rm");
        assert_eq!(store.check(), Err("missing".into()));
        fs::write(&db, b"not a database at all, just some bytes").expect("write");
        assert_eq!(
            store.check(),
            Err("replaced while the hub was running".into())
        );
        // A store cannot be opened on a file that is not a database.
        let junk = dir.path().join("junk.db");
        fs::write(&junk, b"not a database at all, just some bytes").expect("write");
        assert!(Store::open(&junk).is_err());
    }

    #[test]
    fn check_notices_a_corrupted_header_in_place() {
        let (dir, store) = test_support::store();
        // Page 1 moves from the WAL into the file first: while the WAL holds
        // it, `SQLite` reads it from there and would repair the file itself.
        store
            .conn()
            .expect("conn")
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
        let db = dir.path().join("hub.db");
        let mut bytes = fs::read(&db).expect("read");
        bytes[..16].copy_from_slice(b"garbage garbage!");
        // Overwrite in place (same inode).
        fs::OpenOptions::new()
            .write(true)
            .open(&db)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
            .expect("overwrite");
        assert_eq!(store.check(), Err("corrupt: not a SQLite database".into()));
    }

    #[test]
    fn a_failed_write_rolls_back() {
        let (_dir, store) = test_support::store();
        let r: Result<(), StoreError> = store.write(|tx| {
            settings::set(tx, "k", "v", 1).map_err(|e| store.err(e))?;
            Err(store.err(rusqlite::Error::InvalidQuery))
        });
        assert!(r.is_err());
        let conn = store.conn().expect("conn");
        assert_eq!(settings::get(&conn, "k").expect("get"), None);
    }
}
