//! Secrets as strings: what the store keeps instead of a secret (its SHA-256
//! hex), fresh random tokens, and constant-time comparison. A leaf: no I/O
//! beyond the system random number generator, no clock, no crate imports.

use std::fmt::Write as _;

use base64::Engine as _;

/// SHA-256 hex of a secret (codes, refresh tokens, client secrets, session
/// ids, backup codes): what the store keeps instead of the secret.
pub fn sha256_hex(secret: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    d.as_ref()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// 32 random bytes, base64url: codes, refresh tokens, secrets, session ids.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("system random number generator");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Constant-time equality for secrets compared as strings.
pub fn same_secret(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_randoms() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = random_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_token());
        assert!(same_secret("a", "a") && !same_secret("a", "b") && !same_secret("a", "ab"));
    }
}
