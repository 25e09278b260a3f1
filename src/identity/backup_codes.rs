//! Backup codes: ten single-use codes given once at TOTP enrollment, for the
//! day the phone is gone. Ten characters from an alphabet without look-alikes
//! (no `0 o 1 i l`), shown as `xxxxx-xxxxx`; input is forgiven its case,
//! spaces and dashes.
//!
//! Stored as SHA-256 (hex), not argon2: each code is 49 random bits, not a
//! human-chosen password, so a slow hash adds little against an offline
//! attacker — who, holding `hub.db`, already has the TOTP secret and the
//! signing key anyway. A fast hash also means a guess costs one lookup rather
//! than ten argon2 verifications (about half a second of CPU per attempt on
//! this hardware), which would hand the rate-limited `/login/2fa` form a
//! cheap way to load the hub.

/// Codes given at enrollment.
pub const COUNT: usize = 10;
/// Characters per code.
pub const LEN: usize = 10;
/// 31 characters: lowercase letters and digits without `0 1 i l o`.
pub const ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh set of [`COUNT`] codes, formatted for people (`xxxxx-xxxxx`).
pub fn generate() -> Vec<String> {
    (0..COUNT).map(|_| format_code(&random_code())).collect()
}

fn random_code() -> String {
    let mut out = String::with_capacity(LEN);
    let mut buf = [0u8; 32];
    while out.len() < LEN {
        aws_lc_rs::rand::fill(&mut buf).expect("system random number generator");
        // Rejection sampling: 248 = 8 × 31, so `b % 31` is uniform below it.
        for b in buf {
            if out.len() == LEN {
                break;
            }
            if b < 248 {
                out.push(char::from(ALPHABET[usize::from(b % 31)]));
            }
        }
    }
    out
}

fn format_code(code: &str) -> String {
    format!("{}-{}", &code[..LEN / 2], &code[LEN / 2..])
}

/// The canonical form of what a person typed, if it can be a backup code.
pub fn normalize(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// What is stored for a code: SHA-256 of its canonical form, hex.
pub fn hash(input: &str) -> Option<String> {
    normalize(input).map(|code| crate::secret::sha256_hex(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_well_formed_codes() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut seen = std::collections::HashSet::new();
        for c in &codes {
            assert_eq!(c.len(), LEN + 1, "{c}");
            assert_eq!(&c[5..6], "-", "{c}");
            assert!(normalize(c).is_some(), "{c}");
            assert!(seen.insert(c.clone()), "duplicate {c}");
        }
        assert_ne!(generate(), codes);
    }

    #[test]
    fn normalize_table() {
        let cases = [
            ("as shown", "abcde-fghjk", Some("abcdefghjk")),
            ("upper case", "ABCDE-FGHJK", Some("abcdefghjk")),
            ("no dash", "abcdefghjk", Some("abcdefghjk")),
            ("spaces", " abcde fghjk ", Some("abcdefghjk")),
            ("too short", "abcde-fghj", None),
            ("too long", "abcde-fghjkm", None),
            ("look-alike zero", "abcde-fgh0k", None),
            ("look-alike one", "abcde-fgh1k", None),
            ("a TOTP code", "123456", None),
            ("empty", "", None),
        ];
        for (name, input, want) in cases {
            assert_eq!(normalize(input).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn hashes_are_sha256_of_the_canonical_form() {
        let h = hash("ABCDE-FGHJK").expect("hash");
        assert_eq!(h.len(), 64);
        assert_eq!(Some(h.clone()), hash("abcdefghjk"));
        assert_ne!(Some(h), hash("abcdefghjm"));
        assert_eq!(hash("nope"), None);
    }
}
