//! Files that must never be seen half-written or by other users: atomic
//! replacement (write a temp file beside the target, fsync, rename, fsync
//! the directory) and private (0600) files. A leaf: plain `std::io`
//! errors, which each caller names with its own path.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Owner read/write only: secrets, the store, the services registry.
pub const PRIVATE: u32 = 0o600;

/// Replace `path` with `bytes`, creating it with `mode` if new (an existing
/// file keeps its mode). A reader sees the old bytes or the new, never half.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mode = fs::metadata(path).map_or(mode, |m| m.permissions().mode() & 0o7777);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the directory entry is.
    File::open(dir).and_then(|d| d.sync_all())
}

/// Replace `path` atomically with `bytes`; it is 0600 afterwards whatever
/// it was before (a secret must not keep a mode someone loosened).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, PRIVATE)?;
    fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE))
}

/// Create an empty 0600 file if `path` does not exist; an existing file is
/// left as it is. (Programs that create a file themselves, like `SQLite`,
/// would use the umask.)
pub fn create_private(path: &Path) -> std::io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("m").permissions().mode() & 0o777
    }

    #[test]
    fn replaces_content_and_keeps_mode() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = tmp.path().join("f.json");
        write_atomic(&p, b"one", 0o600).expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"one");
        assert_eq!(mode(&p), 0o600);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).expect("chmod");
        write_atomic(&p, b"two", 0o600).expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        assert_eq!(mode(&p), 0o640);
        // No temp files left behind.
        assert_eq!(fs::read_dir(tmp.path()).expect("ls").count(), 1);
    }

    #[test]
    fn a_private_write_tightens_a_loosened_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = tmp.path().join("secret");
        fs::write(&p, "old").expect("seed");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&p, b"new").expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"new");
        assert_eq!(mode(&p), 0o600);
    }

    #[test]
    fn create_private_makes_0600_and_leaves_an_existing_file_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = tmp.path().join("hub.db");
        create_private(&p).expect("create");
        assert_eq!(mode(&p), 0o600);
        fs::write(&p, "kept").expect("fill");
        create_private(&p).expect("again");
        assert_eq!(fs::read(&p).expect("read"), b"kept");
        let missing_dir = tmp.path().join("no/such/dir/f");
        assert_eq!(
            create_private(&missing_dir).expect_err("no dir").kind(),
            ErrorKind::NotFound
        );
    }
}
