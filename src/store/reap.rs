//! Forgetting what can no longer matter, so `hub.db` stops growing: expired
//! tokens, sessions, pending logins, authorization codes, stale pending
//! clients and rate-limit hits older than any window. The hub runs
//! [`reap`] at startup and on a schedule. The margins below are the store's
//! own housekeeping; when a pending registration lapses is OAuth's rule, so
//! the caller passes that cutoff.

use rusqlite::Connection;

/// Expired rows are kept this long past expiry: longer than any clock-skew
/// leeway in validation, so a revoked token is never forgotten while a
/// validator could still accept it.
pub const EXPIRY_MARGIN_SECS: i64 = 5 * 60;
/// A used or expired authorization code is remembered this long after its
/// expiry, so a late replay still revokes the tokens it issued.
pub const CODE_MEMORY_SECS: i64 = 86_400;

/// How many rows of each kind one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    pub tokens: usize,
    pub sessions: usize,
    pub pending_logins: usize,
    pub codes: usize,
    pub clients: usize,
    pub rate_limit_hits: usize,
}

impl Reaped {
    pub fn total(&self) -> usize {
        self.tokens
            + self.sessions
            + self.pending_logins
            + self.codes
            + self.clients
            + self.rate_limit_hits
    }
}

/// One pass at `now`; pending clients registered before `pending_before`
/// go too (`oauth::pending_client_cutoff`).
pub fn reap(conn: &Connection, now: i64, pending_before: i64) -> rusqlite::Result<Reaped> {
    let gone = now - EXPIRY_MARGIN_SECS;
    Ok(Reaped {
        tokens: conn.execute("DELETE FROM tokens WHERE expires_at <= ?1", [gone])?,
        sessions: conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?,
        pending_logins: conn.execute("DELETE FROM pending_logins WHERE expires_at <= ?1", [now])?,
        codes: conn.execute(
            "DELETE FROM auth_codes WHERE expires_at <= ?1",
            [now - CODE_MEMORY_SECS],
        )?,
        clients: super::clients::reap_pending_before(conn, pending_before)?,
        rate_limit_hits: super::ratelimit::sweep(conn, now)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    #[test]
    fn expired_rows_go_live_ones_stay() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let now = 1_000_000;
        c.execute_batch(&format!(
            "INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES ('u', 'ada', 'x', 0, 0);
             INSERT INTO tokens (jti, subject, client_id, scopes, audience, created_via, created_at, expires_at)
               VALUES ('old', 'u', 'c', 's', 'a', 'cli_mint', 0, {old}),
                      ('recent', 'u', 'c', 's', 'a', 'cli_mint', 0, {recent}),
                      ('live', 'u', 'c', 's', 'a', 'cli_mint', 0, {live});
             INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ('s1', 'u', 0, {old}), ('s2', 'u', 0, {live});
             INSERT INTO pending_logins (id_hash, user_id, next, created_at, expires_at) VALUES ('p1', 'u', '/', 0, {old});
             INSERT INTO rate_limit_hits (bucket, key, at) VALUES ('login', 'k', 0), ('login', 'k', {recent});",
            old = now - EXPIRY_MARGIN_SECS - 1,
            recent = now - 10,
            live = now + 10,
        ))
        .expect("rows");
        let r = reap(&c, now, now).expect("reap");
        assert_eq!(
            (r.tokens, r.sessions, r.pending_logins, r.rate_limit_hits),
            (1, 1, 1, 1),
            "{r:?}"
        );
        let left: i64 = c
            .query_row("SELECT count(*) FROM tokens", [], |r| r.get(0))
            .expect("q");
        assert_eq!(left, 2, "a just-expired token stays for the margin");
        assert_eq!(reap(&c, now, now).expect("again").total(), 0);
    }
}
