//! Atomic replacement of a file: write a temp file beside it, fsync, rename,
//! fsync the directory. A reader sees the old bytes or the new, never half.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::Error;

/// Replace `path` with `bytes`, creating it with `mode` if new (an existing
/// file keeps its mode).
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |e| Error::io(path, e);
    let mode = fs::metadata(path).map_or(mode, |m| m.permissions().mode() & 0o7777);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    // The rename is durable only once the directory entry is.
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_mode() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = tmp.path().join("f.json");
        write(&p, b"one", 0o600).expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"one");
        assert_eq!(
            fs::metadata(&p).expect("m").permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).expect("chmod");
        write(&p, b"two", 0o600).expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        assert_eq!(
            fs::metadata(&p).expect("m").permissions().mode() & 0o777,
            0o640
        );
        // No temp files left behind.
        assert_eq!(fs::read_dir(tmp.path()).expect("ls").count(), 1);
    }
}
