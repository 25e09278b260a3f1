//! TOTP (RFC 6238) as every authenticator app speaks it: HMAC-SHA1, 6 digits,
//! 30-second steps, one step of clock skew either way. Code generation is
//! `totp-rs`; what it leaves to the caller lives here: a code is accepted only
//! for a step *after* the last step this user had accepted, so a code (or an
//! older one) can never be used twice — the caller stores the returned step.
//!
//! Everything takes `now` (Unix seconds), so tests control time.

use totp_rs::{Algorithm, Totp};

/// Digits in a code.
pub const DIGITS: usize = 6;
/// Seconds per step.
pub const STEP: u64 = 30;
/// Steps of clock skew accepted on either side of the current one.
pub const SKEW: u64 = 1;
/// Secret length: 160 bits, RFC 4226's recommendation.
pub const SECRET_BYTES: usize = 20;
/// The issuer an authenticator app shows beside the account.
pub const ISSUER: &str = "Parachute";

/// A TOTP shared secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// 160 fresh random bits.
    pub fn generate() -> Self {
        let mut b = vec![0u8; SECRET_BYTES];
        aws_lc_rs::rand::fill(&mut b).expect("system random number generator");
        Self(b)
    }

    /// From unpadded RFC 4648 base32 (how it is stored and shown); case and
    /// spaces are forgiven, as people copy it by hand.
    pub fn from_base32(s: &str) -> Option<Self> {
        let clean: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .collect::<String>()
            .to_ascii_uppercase();
        let bytes = totp_rs::Secret::try_from_base32(&clean).ok()?;
        let bytes = bytes.as_ref().to_vec();
        (bytes.len() >= 16).then_some(Self(bytes))
    }

    /// Unpadded base32, as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.clone()).to_base32()
    }

    fn totp(&self, account: &str) -> Totp {
        totp_rs::Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(0)
            .with_step_duration(STEP)
            .with_secret(self.0.clone())
            .with_issuer(Some(ISSUER))
            .with_account_name(account)
            .build_noncompliant()
    }
}

/// The step a moment falls in.
pub fn step_at(now: i64) -> u64 {
    u64::try_from(now).unwrap_or(0) / STEP
}

/// The code for `step` (what an authenticator app shows during it).
pub fn code_for_step(secret: &Secret, step: u64) -> String {
    secret.totp("").generate(step * STEP).to_string()
}

/// The code an authenticator shows at `now`.
pub fn code_at(secret: &Secret, now: i64) -> String {
    code_for_step(secret, step_at(now))
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Good for this step; store it as the user's last accepted step.
    Accepted { step: u64 },
    /// A correct code for a step already used (or older than one used).
    Replayed,
    /// Six digits, but not a current code.
    Wrong,
    /// Not six digits (spaces are ignored).
    Malformed,
}

/// Check `input` against the codes for the steps around `now`; a step at or
/// before `last_step` is never accepted again.
pub fn verify(secret: &Secret, input: &str, now: i64, last_step: Option<u64>) -> Check {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Check::Malformed;
    }
    let origin = step_at(now);
    let mut replayed = false;
    // Every candidate is computed and compared in constant time, whatever
    // matches, so timing does not say which step a guess hit.
    let mut accepted = None;
    for step in origin.saturating_sub(SKEW)..=origin + SKEW {
        let expected = code_for_step(secret, step);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            if last_step.is_some_and(|last| step <= last) {
                replayed = true;
            } else if accepted.is_none() {
                accepted = Some(step);
            }
        }
    }
    match (accepted, replayed) {
        (Some(step), _) => Check::Accepted { step },
        (None, true) => Check::Replayed,
        (None, false) => Check::Wrong,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `otpauth://` URI an authenticator app enrolls from (Key URI format).
pub fn otpauth_uri(secret: &Secret, account: &str) -> String {
    // An account name with a `:` is refused by the format; usernames here
    // cannot hold one, but fall back to a safe label rather than fail.
    let account = if account.contains(':') {
        account.replace(':', "-")
    } else {
        account.to_string()
    };
    secret
        .totp(&account)
        .to_url()
        .unwrap_or_else(|_| format!("otpauth://totp/{ISSUER}?secret={}", secret.to_base32()))
}

/// `uri` as a QR code in inline SVG (no XML declaration, scales with CSS).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let start = svg.find("<svg")?;
    Some(svg[start..].to_string())
}

/// `uri` as a QR code drawn with half-block characters for a terminal.
pub fn qr_terminal(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA1 key, `12345678901234567890`.
    fn rfc_secret() -> Secret {
        Secret(b"12345678901234567890".to_vec())
    }

    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        // Appendix B gives 8 digits; 6-digit codes are their last six.
        let cases = [
            ("59", 59, "287082"),
            ("1111111109", 1_111_111_109, "081804"),
            ("1111111111", 1_111_111_111, "050471"),
            ("1234567890", 1_234_567_890, "005924"),
            ("2000000000", 2_000_000_000, "279037"),
        ];
        for (name, t, code) in cases {
            assert_eq!(code_at(&rfc_secret(), t), code, "T={name}");
        }
    }

    #[test]
    fn verify_table() {
        let s = rfc_secret();
        let now = 1_111_111_111; // step 37037037
        let step = step_at(now);
        let at = |st: u64| code_for_step(&s, st);
        let cases: Vec<(&str, String, Option<u64>, Check)> = vec![
            ("current step", at(step), None, Check::Accepted { step }),
            (
                "previous step (clock behind)",
                at(step - 1),
                None,
                Check::Accepted { step: step - 1 },
            ),
            (
                "next step (clock ahead)",
                at(step + 1),
                None,
                Check::Accepted { step: step + 1 },
            ),
            ("two steps old", at(step - 2), None, Check::Wrong),
            ("two steps ahead", at(step + 2), None, Check::Wrong),
            (
                "same code again in its window",
                at(step),
                Some(step),
                Check::Replayed,
            ),
            (
                "older code after a newer one was used",
                at(step - 1),
                Some(step),
                Check::Replayed,
            ),
            (
                "newer code after an older one was used",
                at(step + 1),
                Some(step),
                Check::Accepted { step: step + 1 },
            ),
            (
                "spaces are ignored",
                format!("{} {}", &at(step)[..3], &at(step)[3..]),
                None,
                Check::Accepted { step },
            ),
            (
                "five digits",
                at(step)[..5].to_string(),
                None,
                Check::Malformed,
            ),
            (
                "seven digits",
                format!("{}0", at(step)),
                None,
                Check::Malformed,
            ),
            ("letters", "12a456".into(), None, Check::Malformed),
            (
                "plus sign",
                format!("+{}", &at(step)[1..]),
                None,
                Check::Malformed,
            ),
            ("empty", String::new(), None, Check::Malformed),
        ];
        for (name, code, last, want) in cases {
            assert_eq!(verify(&s, &code, now, last), want, "{name}");
        }
    }

    #[test]
    fn a_wrong_code_is_wrong() {
        let s = rfc_secret();
        let now = 1_111_111_111;
        let good = code_at(&s, now);
        let bad = if good == "000000" { "000001" } else { "000000" };
        assert_eq!(verify(&s, bad, now, None), Check::Wrong);
    }

    #[test]
    fn secrets_round_trip_base32_and_never_show_in_debug() {
        let s = Secret::generate();
        assert_eq!(s.0.len(), SECRET_BYTES);
        let b32 = s.to_base32();
        assert_eq!(b32.len(), 32, "160 bits is 32 base32 characters");
        assert_eq!(Secret::from_base32(&b32), Some(s.clone()));
        let spaced = b32
            .to_ascii_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(Secret::from_base32(&spaced), Some(s.clone()));
        assert_eq!(Secret::from_base32("not base32!"), None);
        assert_eq!(Secret::from_base32("MFRGG"), None, "too short");
        assert!(!format!("{s:?}").contains(&b32));
        assert_ne!(Secret::generate(), s);
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_secret() {
        let s = rfc_secret();
        let uri = otpauth_uri(&s, "owner");
        assert_eq!(
            uri,
            format!(
                "otpauth://totp/Parachute:owner?secret={}&issuer=Parachute",
                s.to_base32()
            )
        );
        let svg = qr_svg(&uri).expect("svg");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(qr_terminal(&uri).expect("text").contains('█'));
    }
}
