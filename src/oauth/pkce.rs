//! PKCE (RFC 7636), S256 only: `plain` is refused, a missing challenge is
//! refused, the verifier is compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a challenge at `/oauth/authorize` is refused (the description sent
/// with `invalid_request`).
pub fn check_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<(), &'static str> {
    let Some(challenge) = challenge.filter(|c| !c.is_empty()) else {
        return Err("code_challenge is required (PKCE with S256)");
    };
    match method {
        Some("S256") => {}
        Some("plain") => return Err("code_challenge_method `plain` is not allowed; use S256"),
        None | Some("") => return Err("code_challenge_method is required and must be S256"),
        Some(_) => return Err("code_challenge_method must be S256"),
    }
    if challenge.len() != 43 || !challenge.bytes().all(is_b64url) {
        return Err("code_challenge must be the base64url SHA-256 of the verifier (43 characters)");
    }
    Ok(())
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// A verifier's shape: 43–128 of `[A-Za-z0-9-._~]`.
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of `verifier`.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// Does `verifier` answer `challenge`?
pub fn verify(verifier: &str, challenge: &str) -> bool {
    valid_verifier(verifier) && crate::secret::same_secret(&s256(verifier), challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn challenge_table() {
        let cases: &[(&str, Option<&str>, Option<&str>, bool)] = &[
            ("s256", Some(CHALLENGE), Some("S256"), true),
            ("plain refused", Some(CHALLENGE), Some("plain"), false),
            ("method missing", Some(CHALLENGE), None, false),
            ("lowercase method", Some(CHALLENGE), Some("s256"), false),
            ("challenge missing", None, Some("S256"), false),
            ("challenge empty", Some(""), Some("S256"), false),
            ("challenge too short", Some("abc"), Some("S256"), false),
            (
                "challenge not base64url",
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
                Some("S256"),
                false,
            ),
        ];
        for (name, ch, m, ok) in cases {
            assert_eq!(check_challenge(*ch, *m).is_ok(), *ok, "{name}");
        }
    }

    #[test]
    fn verifier_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("rfc 7636 example", VERIFIER, true),
            (
                "wrong verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
                false,
            ),
            ("challenge as verifier", CHALLENGE, false),
            ("too short", "abc", false),
            (
                "bad characters",
                "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk",
                false,
            ),
        ];
        for (name, v, ok) in cases {
            assert_eq!(verify(v, CHALLENGE), *ok, "{name}");
        }
        assert_eq!(s256(VERIFIER), CHALLENGE);
    }
}
