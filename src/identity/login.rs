//! Signing in, as rules over the store: the password step, then — for a
//! user with TOTP on — the second-factor step. The hub's `/login` pages
//! extract the form, call [`password_step`] or [`second_factor_step`] and
//! turn the answer into a page; everything that decides lives here.
//!
//! Every guess is counted before anything is verified (seed 001): a
//! password against a per-IP ceiling, a per IP + username floor and the
//! account's own bucket, all before the argon2 verify; a code against the
//! same per-IP ceiling, the TOTP bucket keyed by IP and user, and
//! [`TOTP_USER`] keyed by the user alone — behind a local proxy the "IP" is
//! whatever `X-Forwarded-For` says, so rotating it must not buy fresh
//! guesses. Bucket keys hold hashes, never a typed name
//! ([`lockout::user_key`]). The right password (or code) ends the guessing
//! at that account, so a person who signs in often does not lock themselves
//! out; the per-IP ceiling still counts it.
//!
//! A good password with no second factor is done; with one, a pending login
//! (random id, [`PENDING_TTL_SECS`]) is recorded and its id handed back for
//! a cookie. A wrong code leaves the pending login alive (a typo costs one
//! attempt, not the password step); judging and spending the code and
//! consuming the pending login happen in one write transaction, so one code
//! signs in once.

use crate::identity::lockout;
use crate::identity::password::{self, Password};
use crate::identity::two_factor::{Verdict, check_and_spend};
use crate::secret::random_token;
use crate::store::{self, Store, StoreError};

pub use crate::store::ratelimit::Limit;

/// Password guesses per IP: 60 / 15 min.
pub const LOGIN_IP: Limit = Limit {
    bucket: "login_ip",
    max: 60,
    window_secs: 15 * 60,
};
/// Password guesses per IP + username (key: `lockout::ip_user_key`): 5 / 15 min.
pub const LOGIN: Limit = Limit {
    bucket: lockout::LOGIN_BUCKET,
    max: 5,
    window_secs: 15 * 60,
};
/// Password guesses per username from anywhere (key: `lockout::user_key`):
/// 10 / 15 min, twice the per-IP floor, so the owner on their own network
/// trips their floor first and a rotating source cannot grind one account.
/// It counts every try, the right password too, so a tripped bucket refuses
/// the owner until it cools down or `parachute auth unlock` clears it.
pub const LOGIN_USER: Limit = Limit {
    bucket: lockout::LOGIN_USER_BUCKET,
    max: 10,
    window_secs: 15 * 60,
};
/// Second-factor guesses per IP + user (key: `<ip>|<user id>`): 5 / 15 min.
pub const TOTP: Limit = Limit {
    bucket: lockout::TOTP_BUCKET,
    max: 5,
    window_secs: 15 * 60,
};
/// Second-factor guesses per user from anywhere: 10 / 15 min (twice the
/// per-IP bucket, so a person on two networks is not locked out first).
pub const TOTP_USER: Limit = Limit {
    bucket: lockout::TOTP_USER_BUCKET,
    max: 10,
    window_secs: 15 * 60,
};

/// How long a pending (second-factor) login lives.
pub const PENDING_TTL_SECS: i64 = 5 * 60;
/// Longest username read (bytes, before trimming); valid names are at most
/// 32 (`auth::check_username`), the slack is for whitespace.
pub const MAX_USERNAME_INPUT: usize = 64;
/// Longest second-factor code read (characters); longer input is cut.
const MAX_CODE_INPUT: usize = 64;

/// Why a sign-in attempt was turned down. The message is what the person
/// is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No valid name is this long: refused before anything is recorded.
    #[error("That username is too long.")]
    UsernameTooLong,
    #[error("That password is too long.")]
    PasswordTooLong,
    #[error("Too many sign-in attempts. Try again in {retry_after} seconds.")]
    TooManyPasswords { retry_after: i64 },
    /// Unknown user or wrong password: the same answer for both.
    #[error("Wrong username or password.")]
    WrongPassword,
    #[error("Too many attempts. Try again in {retry_after} seconds.")]
    TooManyCodes { retry_after: i64 },
    #[error("That code was already used. Wait for the app to show the next one.")]
    CodeReplayed,
    #[error("That code is not right. Check the app and try again.")]
    WrongCode,
    /// No live pending login: expired, already used, or never made.
    #[error("This sign-in has expired or was already used.")]
    Expired,
}

impl Refusal {
    /// Seconds to wait, for a rate-limit refusal.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            Self::TooManyPasswords { retry_after } | Self::TooManyCodes { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

/// A sign-in that did not go through.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a good password leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordStep {
    /// Signed in: start a session for this user.
    Done { user_id: String },
    /// A second factor is owed: the pending login's id (for its cookie).
    SecondFactor { pending_id: String },
}

/// A finished sign-in from the second step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: String,
    /// Where the password step said to go (already checked safe).
    pub next: String,
}

/// Record one attempt in `bucket` for `key`; `Err(seconds)` when full.
fn count(store: &Store, bucket: Limit, key: &str, now: i64) -> Result<Result<(), i64>, StoreError> {
    store.write(|tx| {
        store::ratelimit::hit(tx, bucket.bucket, key, bucket.max, bucket.window_secs, now)
            .map_err(|e| store.err(e))
    })
}

fn forget(store: &Store, bucket: Limit, key: &str) -> Result<(), StoreError> {
    store.write(|tx| store::ratelimit::clear(tx, bucket.bucket, key).map_err(|e| store.err(e)))
}

/// Count `attempts` in order; the first full bucket refuses with `refusal`.
fn count_all(
    store: &Store,
    attempts: [(Limit, String); 3],
    now: i64,
    refusal: fn(i64) -> Refusal,
) -> Result<(), LoginError> {
    for (bucket, key) in attempts {
        if let Err(retry_after) = count(store, bucket, &key, now)? {
            return Err(refusal(retry_after).into());
        }
    }
    Ok(())
}

/// The password step for `typed_username` from `ip`; `next` (already
/// sanitized) is kept with a pending login for the second step.
pub async fn password_step(
    store: &Store,
    ip: &str,
    typed_username: &str,
    typed_password: Password,
    next: &str,
    now: i64,
) -> Result<PasswordStep, LoginError> {
    if typed_username.len() > MAX_USERNAME_INPUT {
        return Err(Refusal::UsernameTooLong.into());
    }
    let username = lockout::normalise(typed_username);
    let attempts = [
        (LOGIN_IP, ip.to_string()),
        (LOGIN, lockout::ip_user_key(ip, &username)),
        (LOGIN_USER, lockout::user_key(&username)),
    ];
    count_all(store, attempts, now, |retry_after| {
        Refusal::TooManyPasswords { retry_after }
    })?;
    if typed_password.expose().len() > password::MAX_LEN {
        return Err(Refusal::PasswordTooLong.into());
    }
    let user = {
        let conn = store.conn()?;
        store::users::by_username(&conn, &username).map_err(|e| store.err(e))?
    };
    // Unknown users cost the same argon2 work as known ones.
    let phc = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    let ok = password::verify_off_thread(typed_password, phc).await;
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!(%ip, "sign-in failed");
        return Err(Refusal::WrongPassword.into());
    };
    forget(store, LOGIN, &lockout::ip_user_key(ip, &username))?;
    forget(store, LOGIN_USER, &lockout::user_key(&username))?;
    second_factor_owed(store, &user.id, next, now)
}

/// After a good password: done, or a pending login when TOTP is on.
fn second_factor_owed(
    store: &Store,
    user_id: &str,
    next: &str,
    now: i64,
) -> Result<PasswordStep, LoginError> {
    let owed = {
        let conn = store.conn()?;
        store::two_factor::enabled(&conn, user_id).map_err(|e| store.err(e))?
    };
    if !owed {
        return Ok(PasswordStep::Done {
            user_id: user_id.to_string(),
        });
    }
    let pending_id = random_token();
    store.write(|tx| {
        store::sessions::create_pending(tx, &pending_id, user_id, next, now, PENDING_TTL_SECS)
            .map_err(|e| store.err(e))
    })?;
    Ok(PasswordStep::SecondFactor { pending_id })
}

fn pending(
    store: &Store,
    pending_id: &str,
    now: i64,
) -> Result<Option<store::sessions::PendingLogin>, StoreError> {
    let conn = store.conn()?;
    store::sessions::pending(&conn, pending_id, now).map_err(|e| store.err(e))
}

/// Is `pending_id` a live pending login?
pub fn pending_is_live(store: &Store, pending_id: &str, now: i64) -> Result<bool, StoreError> {
    Ok(pending(store, pending_id, now)?.is_some())
}

/// The second step: `typed_code` (a TOTP code or a backup code) for the
/// pending login `pending_id`, from `ip`.
pub fn second_factor_step(
    store: &Store,
    ip: &str,
    pending_id: &str,
    typed_code: &str,
    now: i64,
) -> Result<SignedIn, LoginError> {
    let login = pending(store, pending_id, now)?.ok_or(Refusal::Expired)?;
    let totp_key = format!("{ip}|{}", login.user_id);
    let attempts = [
        (LOGIN_IP, ip.to_string()),
        (TOTP, totp_key.clone()),
        (TOTP_USER, login.user_id.clone()),
    ];
    count_all(store, attempts, now, |retry_after| Refusal::TooManyCodes {
        retry_after,
    })?;
    let code: String = typed_code.chars().take(MAX_CODE_INPUT).collect();
    let verdict = judge_and_spend(store, pending_id, &login.user_id, &code, now)?;
    match verdict {
        None | Some(Verdict::NotEnrolled) => Err(Refusal::Expired.into()),
        Some(Verdict::Replayed) => {
            tracing::info!(%ip, "second factor: a used code was presented again");
            Err(Refusal::CodeReplayed.into())
        }
        Some(Verdict::Wrong) => {
            tracing::info!(%ip, "second factor failed");
            Err(Refusal::WrongCode.into())
        }
        Some(Verdict::Totp | Verdict::Backup { .. }) => {
            forget(store, TOTP, &totp_key)?;
            forget(store, TOTP_USER, &login.user_id)?;
            Ok(SignedIn {
                user_id: login.user_id,
                next: login.next,
            })
        }
    }
}

/// Judge `code` and, when good, spend it and consume the pending login, in
/// one write transaction; `None` when a concurrent request finished this
/// login first.
fn judge_and_spend(
    store: &Store,
    pending_id: &str,
    user_id: &str,
    code: &str,
    now: i64,
) -> Result<Option<Verdict>, StoreError> {
    store.write(|tx| {
        let sql = |e| store.err(e);
        // Re-read under the write lock.
        if store::sessions::pending(tx, pending_id, now)
            .map_err(sql)?
            .is_none()
        {
            return Ok(None);
        }
        let v = check_and_spend(tx, user_id, code, now).map_err(sql)?;
        if let Verdict::Backup { left } = v {
            tracing::info!(user_id, left, "signed in with a backup code");
        }
        if matches!(v, Verdict::Totp | Verdict::Backup { .. }) {
            store::sessions::delete_pending(tx, pending_id).map_err(sql)?;
        }
        Ok(Some(v))
    })
}

/// A valid argon2id PHC string of a random password nobody knows, so an
/// unknown username costs a real verification.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2t6e6nBYvQ0pNGSf1fHo4Gb6mL9l3oQm3b0bBTYhqZ0";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{backup_codes, totp};
    use crate::store::test_support::store;

    const PW: &str = "correct horse battery staple";
    const IP: &str = "192.0.2.7";
    /// The injected clock: a fixed start, moved by hand.
    const T0: i64 = 1_800_000_000;

    fn with_user(s: &Store) -> String {
        let phc = password::hash(&Password::new(PW)).expect("hash");
        let c = s.conn().expect("conn");
        store::users::create(&c, "ada", &phc, T0).expect("user").id
    }

    async fn try_password(
        s: &Store,
        ip: &str,
        name: &str,
        pw: &str,
        now: i64,
    ) -> Result<PasswordStep, LoginError> {
        password_step(s, ip, name, Password::new(pw), "/next", now).await
    }

    fn refusal<T: std::fmt::Debug>(r: Result<T, LoginError>) -> Refusal {
        match r {
            Err(LoginError::Refused(why)) => why,
            other => panic!("not a refusal: {other:?}"),
        }
    }

    fn hits(s: &Store) -> i64 {
        let c = s.conn().expect("conn");
        c.query_row("SELECT count(*) FROM rate_limit_hits", [], |r| r.get(0))
            .expect("count")
    }

    #[tokio::test]
    async fn the_floor_locks_an_ip_out_of_one_account_until_the_window_passes() {
        let (_d, s) = store();
        let id = with_user(&s);
        for i in 0..5 {
            let r = try_password(&s, IP, "ada", "wrong guess", T0 + i).await;
            assert_eq!(refusal(r), Refusal::WrongPassword);
        }
        // Refused before the verify: even the right password.
        let r = try_password(&s, IP, " ADA ", PW, T0 + 10).await;
        let why = refusal(r);
        assert!(
            matches!(why, Refusal::TooManyPasswords { retry_after } if (1..=900).contains(&retry_after)),
            "{why:?}"
        );
        assert!(why.to_string().starts_with("Too many sign-in attempts"));
        // Another address still gets in; the window passing lets this one in.
        let other = try_password(&s, "192.0.2.8", "ada", PW, T0 + 11)
            .await
            .expect("ok");
        assert_eq!(
            other,
            PasswordStep::Done {
                user_id: id.clone()
            }
        );
        let later = try_password(&s, IP, "ada", PW, T0 + 15 * 60 + 5)
            .await
            .expect("ok");
        assert_eq!(later, PasswordStep::Done { user_id: id });
    }

    #[tokio::test]
    async fn the_right_password_clears_the_accounts_buckets() {
        let (_d, s) = store();
        with_user(&s);
        for i in 0..4 {
            let _ = try_password(&s, IP, "ada", "wrong guess", T0 + i).await;
        }
        try_password(&s, IP, "ada", PW, T0 + 5).await.expect("ok");
        for i in 0..4 {
            let r = try_password(&s, IP, "ada", "wrong guess", T0 + 6 + i).await;
            assert_eq!(
                refusal(r),
                Refusal::WrongPassword,
                "guess {i} after a success"
            );
        }
    }

    #[tokio::test]
    async fn oversized_input_is_refused_and_a_long_name_is_not_counted() {
        let (_d, s) = store();
        with_user(&s);
        let long = "a".repeat(MAX_USERNAME_INPUT + 1);
        assert_eq!(
            refusal(try_password(&s, IP, &long, PW, T0).await),
            Refusal::UsernameTooLong
        );
        assert_eq!(hits(&s), 0, "nothing recorded for an impossible name");
        let huge = "x".repeat(password::MAX_LEN + 1);
        assert_eq!(
            refusal(try_password(&s, IP, "ada", &huge, T0).await),
            Refusal::PasswordTooLong
        );
        assert_eq!(hits(&s), 3, "a long password still counts as a guess");
        assert_eq!(
            refusal(try_password(&s, IP, "nobody", PW, T0).await),
            Refusal::WrongPassword
        );
    }

    /// TOTP on for the user; its secret and backup codes.
    fn enroll(s: &Store, user_id: &str) -> (totp::Secret, Vec<String>) {
        let secret = totp::Secret::generate();
        let codes = backup_codes::generate();
        let hashes: Vec<String> = codes.iter().filter_map(|c| backup_codes::hash(c)).collect();
        let c = s.conn().expect("conn");
        assert!(
            store::two_factor::start_enrollment(&c, user_id, &secret.to_base32(), T0)
                .expect("start")
        );
        assert!(store::two_factor::enable(&c, user_id, 0, &hashes, T0).expect("enable"));
        (secret, codes)
    }

    async fn pending_login(s: &Store, now: i64) -> String {
        match try_password(s, IP, "ada", PW, now).await.expect("ok") {
            PasswordStep::SecondFactor { pending_id } => pending_id,
            done @ PasswordStep::Done { .. } => panic!("no second step: {done:?}"),
        }
    }

    #[tokio::test]
    async fn a_second_factor_signs_in_once_and_a_pending_login_expires() {
        let (_d, s) = store();
        let id = with_user(&s);
        let (secret, codes) = enroll(&s, &id);
        let now = T0 + 100;
        let pending = pending_login(&s, now).await;
        assert!(pending_is_live(&s, &pending, now).expect("q"));
        let good = totp::code_at(&secret, now);
        let wrong = if good == "000000" { "000001" } else { "000000" };
        let r = second_factor_step(&s, IP, &pending, wrong, now);
        assert_eq!(refusal(r), Refusal::WrongCode);
        let done = second_factor_step(&s, IP, &pending, &good, now + 1).expect("in");
        assert_eq!(
            done,
            SignedIn {
                user_id: id.clone(),
                next: "/next".into()
            }
        );
        let again = second_factor_step(&s, IP, &pending, &good, now + 2);
        assert_eq!(
            refusal(again),
            Refusal::Expired,
            "the pending login is spent"
        );

        let second = pending_login(&s, now + 3).await;
        let replay = second_factor_step(&s, IP, &second, &good, now + 4);
        assert_eq!(refusal(replay), Refusal::CodeReplayed);
        second_factor_step(&s, IP, &second, &codes[0], now + 5).expect("a backup code");

        let third = pending_login(&s, now + 6).await;
        let late = now + 6 + PENDING_TTL_SECS;
        assert!(!pending_is_live(&s, &third, late).expect("q"));
        let code = totp::code_at(&secret, late);
        assert_eq!(
            refusal(second_factor_step(&s, IP, &third, &code, late)),
            Refusal::Expired
        );
    }

    #[tokio::test]
    async fn code_guesses_are_limited_per_ip_and_per_user() {
        let (_d, s) = store();
        let id = with_user(&s);
        let (secret, _) = enroll(&s, &id);
        let pending = pending_login(&s, T0).await;
        let good = totp::code_at(&secret, T0 + 10);
        let wrong = if good == "000000" { "000001" } else { "000000" };
        for i in 0..5 {
            assert_eq!(
                refusal(second_factor_step(&s, IP, &pending, wrong, T0 + i)),
                Refusal::WrongCode
            );
        }
        let limited = refusal(second_factor_step(&s, IP, &pending, &good, T0 + 10));
        assert!(limited.retry_after().is_some_and(|r| r > 0), "{limited:?}");
        assert!(limited.to_string().starts_with("Too many attempts"));
        // A new "address" gets its own TOTP bucket but shares the user's.
        for i in 0..5 {
            let ip = format!("198.51.100.{i}");
            assert_eq!(
                refusal(second_factor_step(&s, &ip, &pending, wrong, T0 + 20 + i)),
                Refusal::WrongCode
            );
        }
        let user_limited = refusal(second_factor_step(
            &s,
            "198.51.100.99",
            &pending,
            &good,
            T0 + 30,
        ));
        assert!(
            matches!(user_limited, Refusal::TooManyCodes { .. }),
            "{user_limited:?}"
        );
    }
}
