//! Password hashing: Argon2id, m = 19456 KiB, t = 2, p = 1 (OWASP's
//! baseline, and what the upstream hub wrote, so its PHC strings verify
//! here), stored as PHC strings. Hashing takes tens of milliseconds of CPU
//! by design, so async callers use [`hash_off_thread`] / [`verify_off_thread`].

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
/// Longest password accepted (longer input is refused before hashing).
pub const MAX_LEN: usize = 256;
/// Shortest password accepted, in characters: upstream's rule for users,
/// and the one rule `init`, `auth set-password` and `/account` share.
pub const MIN_CHARS: usize = 12;

/// Why a new password is refused by [`check_rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the password has {got} characters; it needs at least {MIN_CHARS}")]
    TooShort { got: usize },
    #[error("the password is longer than {MAX_LEN} bytes")]
    TooLong,
}

/// The one rule for a new password: at least [`MIN_CHARS`] characters,
/// at most [`MAX_LEN`] bytes.
pub fn check_rule(candidate: &str) -> Result<(), RuleError> {
    if candidate.len() > MAX_LEN {
        return Err(RuleError::TooLong);
    }
    let got = candidate.chars().count();
    if got < MIN_CHARS {
        return Err(RuleError::TooShort { got });
    }
    Ok(())
}

/// A password in memory. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash with a fresh random salt; returns the PHC string.
pub fn hash(password: &Password) -> Result<String, PasswordError> {
    hasher()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string (its own parameters apply).
pub fn verify(password: &Password, phc: &str) -> bool {
    hasher()
        .verify_password(password.expose().as_bytes(), phc)
        .is_ok()
}

/// [`hash`] on tokio's blocking pool.
pub async fn hash_off_thread(password: Password) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| PasswordError::Hash(e.to_string()))?
}

/// [`verify`] on tokio's blocking pool.
pub async fn verify_off_thread(password: Password, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &phc))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_counts_characters_not_bytes() {
        assert_eq!(check_rule("short"), Err(RuleError::TooShort { got: 5 }));
        assert_eq!(check_rule(""), Err(RuleError::TooShort { got: 0 }));
        assert_eq!(check_rule("éééééééééééé"), Ok(()));
        assert_eq!(
            check_rule(&"x".repeat(MAX_LEN + 1)),
            Err(RuleError::TooLong)
        );
        assert_eq!(check_rule(&"x".repeat(MAX_LEN)), Ok(()));
    }

    #[test]
    fn hashes_are_argon2id_phc_with_the_documented_parameters() {
        let pw = Password::new("correct horse battery staple");
        let phc = hash(&pw).expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(&pw, &phc));
        assert!(!verify(&Password::new("wrong"), &phc));
        assert!(!verify(&pw, "not a phc string"));
        assert_ne!(phc, hash(&pw).expect("again"), "fresh salt each time");
        assert_eq!(format!("{pw:?}"), "Password(<redacted>)");
    }
}
