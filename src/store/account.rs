//! What `/account` shows and changes for one user: their live tokens and
//! grants, revoked only when they are theirs.

use rusqlite::Connection;

use super::grants::{self, Grant};
use super::tokens::{self, TokenRow};

/// Tokens a password change leaves alone: the operator token and CLI mints
/// come from the 0600 `operator.token` on this machine, not from the
/// password, and revoking them would silently break `parachute auth
/// mint-token` and whatever holds a minted token.
const KEPT_ON_PASSWORD_CHANGE: &str = "('operator', 'cli_mint')";

/// The user's unrevoked, unexpired tokens, newest first.
pub fn live_tokens(conn: &Connection, user_id: &str, now: i64) -> rusqlite::Result<Vec<TokenRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM tokens WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
         ORDER BY created_at DESC, rowid DESC",
        tokens::COLUMNS
    ))?;
    st.query_map((user_id, now), tokens::from_row)?.collect()
}

/// Revoke `jti` if it is the user's and live; whether it was.
pub fn revoke_token(
    conn: &Connection,
    user_id: &str,
    jti: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE tokens SET revoked_at = ?3 WHERE jti = ?1 AND user_id = ?2 AND revoked_at IS NULL",
        (jti, user_id, now),
    )? == 1)
}

/// Revoke every live operator token of the user (the one a rotation
/// replaces, and any older one still live); how many.
pub fn revoke_operator_tokens(
    conn: &Connection,
    user_id: &str,
    now: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE tokens SET revoked_at = ?3
         WHERE user_id = ?1 AND created_via = ?2 AND revoked_at IS NULL",
        (user_id, tokens::VIA_OPERATOR, now),
    )
}

/// After a password change: revoke every token the user got by signing in
/// (OAuth and anything else but [`KEPT_ON_PASSWORD_CHANGE`]); how many.
pub fn revoke_signed_in_tokens(
    conn: &Connection,
    user_id: &str,
    now: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        &format!(
            "UPDATE tokens SET revoked_at = ?2
             WHERE user_id = ?1 AND revoked_at IS NULL AND created_via NOT IN {KEPT_ON_PASSWORD_CHANGE}"
        ),
        (user_id, now),
    )
}

/// Drop logins of the user still waiting on a second factor (their password
/// just changed); how many.
pub fn forget_pending_logins(conn: &Connection, user_id: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM pending_logins WHERE user_id = ?1", [user_id])
}

/// The user's grants, newest first.
pub fn grants(conn: &Connection, user_id: &str) -> rusqlite::Result<Vec<Grant>> {
    Ok(grants::list(conn)?
        .into_iter()
        .filter(|g| g.user_id == user_id)
        .collect())
}

/// Withdraw the user's consent to `client_id` and revoke the tokens it got
/// from this user, so the app loses access now rather than at its next
/// refresh. `None` if there was no such grant; else how many tokens.
pub fn revoke_grant(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> rusqlite::Result<Option<usize>> {
    let n = conn.execute(
        "DELETE FROM grants WHERE user_id = ?1 AND client_id = ?2",
        (user_id, client_id),
    )?;
    if n == 0 {
        return Ok(None);
    }
    let tokens = conn.execute(
        "UPDATE tokens SET revoked_at = ?3 WHERE user_id = ?1 AND client_id = ?2 AND revoked_at IS NULL",
        (user_id, client_id, now),
    )?;
    Ok(Some(tokens))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;
    use crate::store::{tokens, users};

    fn token(jti: &str, user: &str, client: &str, via: &str) -> TokenRow {
        TokenRow {
            jti: jti.into(),
            subject: user.into(),
            user_id: Some(user.into()),
            client_id: client.into(),
            scopes: "vault:read".into(),
            audience: "vault".into(),
            created_via: via.into(),
            created_at: 10,
            expires_at: 1000,
            revoked_at: None,
            parent_jti: None,
            label: None,
        }
    }

    #[test]
    fn a_user_sees_and_revokes_only_their_own_tokens() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let ada = users::create(&c, "ada", "x", 1).expect("ada");
        let bob = users::create(&c, "bob", "x", 2).expect("bob");
        tokens::insert(&c, &token("a1", &ada.id, "app", "oauth")).expect("a1");
        tokens::insert(&c, &token("a2", &ada.id, "parachute-hub", "operator")).expect("a2");
        tokens::insert(&c, &token("a3", &ada.id, "parachute-hub", "cli_mint")).expect("a3");
        tokens::insert(&c, &token("b1", &bob.id, "app", "oauth")).expect("b1");
        assert_eq!(live_tokens(&c, &ada.id, 100).expect("q").len(), 3);
        assert_eq!(
            live_tokens(&c, &ada.id, 1000).expect("q").len(),
            0,
            "expired"
        );
        assert!(
            !revoke_token(&c, &ada.id, "b1", 100).expect("q"),
            "not hers"
        );
        assert!(revoke_token(&c, &ada.id, "a1", 100).expect("q"));
        assert!(!revoke_token(&c, &ada.id, "a1", 101).expect("q"), "already");
        assert_eq!(live_tokens(&c, &ada.id, 100).expect("q").len(), 2);
    }

    #[test]
    fn a_password_change_revokes_signed_in_tokens_but_not_cli_ones() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let ada = users::create(&c, "ada", "x", 1).expect("ada");
        let bob = users::create(&c, "bob", "x", 2).expect("bob");
        tokens::insert(&c, &token("a1", &ada.id, "app", "oauth")).expect("a1");
        tokens::insert(&c, &token("a2", &ada.id, "parachute-hub", "operator")).expect("a2");
        tokens::insert(&c, &token("a3", &ada.id, "parachute-hub", "cli_mint")).expect("a3");
        tokens::insert(&c, &token("b1", &bob.id, "app", "oauth")).expect("b1");
        assert_eq!(revoke_signed_in_tokens(&c, &ada.id, 50).expect("q"), 1);
        assert!(tokens::is_revoked(&c, "a1").expect("q"));
        for kept in ["a2", "a3", "b1"] {
            assert!(!tokens::is_revoked(&c, kept).expect("q"), "{kept}");
        }
    }
}
