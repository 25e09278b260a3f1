//! The second factor at sign-in: whether a typed code is a current TOTP
//! code or an unused backup code of the user's, and spending it. The rule
//! (which code is right, replay by step) is here; the store only records the
//! spend, atomically.

use rusqlite::Connection;

use super::{backup_codes, totp};
use crate::store::two_factor::{self as store, TotpRow};

/// What a typed second-factor code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A current TOTP code, now spent.
    Totp,
    /// An unused backup code, now spent; this many remain.
    Backup { left: u32 },
    /// A correct TOTP code that was already used (or an older one).
    Replayed,
    /// Anything else: wrong, malformed, or a spent backup code.
    Wrong,
    /// The user has no TOTP switched on.
    NotEnrolled,
}

/// Judge `input` for `user_id` at `now` and, if it is good, spend it — call
/// inside a write transaction, so two requests with one code cannot both win
/// (the spends are conditional updates besides: a step only if later than
/// the last one, a backup code only if unused).
pub fn check_and_spend(
    conn: &Connection,
    user_id: &str,
    input: &str,
    now: i64,
) -> rusqlite::Result<Verdict> {
    let Some(row) = store::totp(conn, user_id)?.filter(TotpRow::enabled) else {
        return Ok(Verdict::NotEnrolled);
    };
    if let Some(hash) = backup_codes::hash(input) {
        return Ok(if store::use_backup_code(conn, user_id, &hash, now)? {
            Verdict::Backup {
                left: store::backup_codes_left(conn, user_id)?,
            }
        } else {
            Verdict::Wrong
        });
    }
    let Some(secret) = totp::Secret::from_base32(&row.secret) else {
        return Err(rusqlite::Error::InvalidColumnType(
            1,
            "totp.secret".into(),
            rusqlite::types::Type::Text,
        ));
    };
    Ok(match totp::verify(&secret, input, now, row.last_step) {
        totp::Check::Accepted { step } if store::accept_step(conn, user_id, step)? => Verdict::Totp,
        totp::Check::Accepted { .. } | totp::Check::Replayed => Verdict::Replayed,
        totp::Check::Wrong | totp::Check::Malformed => Verdict::Wrong,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store as temp_store;
    use crate::store::users;

    #[test]
    fn check_and_spend_table() {
        let (_d, s) = temp_store();
        let c = s.conn().expect("conn");
        let u = users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        let secret = totp::Secret::generate();
        let now = 1_700_000_000;
        assert_eq!(
            check_and_spend(&c, &u.id, "123456", now).expect("q"),
            Verdict::NotEnrolled
        );
        store::start_enrollment(&c, &u.id, &secret.to_base32(), now).expect("start");
        assert_eq!(
            check_and_spend(&c, &u.id, &totp::code_at(&secret, now), now).expect("q"),
            Verdict::NotEnrolled,
            "pending enrollment is not on"
        );
        let codes = backup_codes::generate();
        let hashes: Vec<String> = codes.iter().filter_map(|c| backup_codes::hash(c)).collect();
        // Enrolled with the previous step's code.
        store::enable(&c, &u.id, totp::step_at(now) - 1, &hashes, now).expect("enable");
        let cases: Vec<(&str, String, Verdict)> = vec![
            ("current code", totp::code_at(&secret, now), Verdict::Totp),
            (
                "same code again",
                totp::code_at(&secret, now),
                Verdict::Replayed,
            ),
            (
                "the enrolling step's code",
                totp::code_at(&secret, now - 30),
                Verdict::Replayed,
            ),
            (
                "next step's code",
                totp::code_at(&secret, now + 30),
                Verdict::Totp,
            ),
            ("garbage", "hello".into(), Verdict::Wrong),
            ("backup code", codes[3].clone(), Verdict::Backup { left: 9 }),
            ("backup code again", codes[3].clone(), Verdict::Wrong),
            (
                "backup code typed loosely",
                codes[4].to_uppercase().replace('-', " "),
                Verdict::Backup { left: 8 },
            ),
            ("unknown backup code", "abcde-fghjk".into(), Verdict::Wrong),
        ];
        for (name, input, want) in cases {
            assert_eq!(
                check_and_spend(&c, &u.id, &input, now).expect("q"),
                want,
                "{name}"
            );
        }
    }
}
