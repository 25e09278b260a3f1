//! The operator token: `$PARACHUTE_HOME/operator.token` (0600), a 90-day
//! hub JWT for the owner with the operator scopes. `set-password` and
//! `rotate-operator` write it; CLI commands that act on the hub present it;
//! it is renewed when under 7 days remain.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::mint::{Mint, MintError, Minted, mint};
use crate::fsio;

/// What the operator may do: administer the hub, the host, and grant tokens.
pub const SCOPES: &[&str] = &["hub:admin", "parachute:host:admin", "parachute:host:auth"];
/// The scope `mint-token` requires of the operator token.
pub const MINT_SCOPE: &str = "hub:admin";
pub const CLIENT_ID: &str = "parachute-hub";
pub const AUDIENCE: &str = "operator";
pub const CREATED_VIA: &str = crate::store::tokens::VIA_OPERATOR;
pub const TTL_SECS: i64 = 90 * 86_400;
/// Renew when less than this remains.
pub const RENEW_WITHIN_SECS: i64 = 7 * 86_400;

/// Issue an operator token for `user_id` (inside a write transaction).
pub fn issue(
    conn: &Connection,
    issuer: &str,
    user_id: &str,
    now: i64,
) -> Result<Minted, MintError> {
    let scopes: Vec<String> = SCOPES.iter().map(|s| (*s).to_string()).collect();
    mint(
        conn,
        issuer,
        &Mint {
            sub: user_id,
            user_id: Some(user_id),
            scopes: &scopes,
            audience: AUDIENCE,
            client_id: CLIENT_ID,
            ttl_secs: TTL_SECS,
            created_via: Some(CREATED_VIA),
            parent_jti: None,
            label: None,
        },
        now,
    )
}

/// The operator token file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl FileError {
    fn at(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The token in the file, if there is a non-empty one.
pub fn read(path: &Path) -> Result<Option<String>, FileError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_string()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FileError::at(path)(e)),
    }
}

/// Replace the file atomically; it is 0600 whatever it was before.
pub fn write(path: &Path, token: &str) -> Result<(), FileError> {
    fsio::write_private(path, format!("{token}\n").as_bytes()).map_err(FileError::at(path))
}

/// Whether a token expiring at `exp` is due for renewal at `now`.
pub fn needs_renewal(exp: i64, now: i64) -> bool {
    exp - now < RENEW_WITHIN_SECS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn renewal_starts_seven_days_before_expiry() {
        assert!(!needs_renewal(1_000 + RENEW_WITHIN_SECS, 1_000));
        assert!(needs_renewal(1_000 + RENEW_WITHIN_SECS - 1, 1_000));
    }

    #[test]
    fn the_file_is_private_and_read_back_trimmed() {
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("operator.token");
        assert_eq!(read(&p).expect("read"), None);
        std::fs::write(&p, "old").expect("seed");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write(&p, "a.b.c").expect("write");
        assert_eq!(read(&p).expect("read").as_deref(), Some("a.b.c"));
        let mode = std::fs::metadata(&p).expect("m").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::write(&p, "\n").expect("blank");
        assert_eq!(read(&p).expect("read"), None);
    }
}
