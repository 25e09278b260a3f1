//! Where a registered token came from, in words for people (`auth
//! list-tokens`, `/account`).

use rusqlite::Connection;

use super::operator;
use crate::store::{clients, tokens::TokenRow};

/// `operator token`, `CLI mint`, `app <client name>`, or `minted by token
/// <jti> (app <client name>)`.
pub fn describe(conn: &Connection, t: &TokenRow) -> rusqlite::Result<String> {
    let app = |client_id: &str| -> rusqlite::Result<String> {
        let name = clients::name(conn, client_id)?;
        Ok(format!("app {}", name.as_deref().unwrap_or(client_id)))
    };
    Ok(match t.created_via.as_str() {
        operator::CREATED_VIA => "operator token".to_string(),
        "cli_mint" => "CLI mint".to_string(),
        "admin_page" => "admin page".to_string(),
        "oauth" => app(&t.client_id)?,
        "delegated" => {
            let parent = t.parent_jti.as_deref().unwrap_or("?");
            if t.client_id == operator::CLIENT_ID {
                format!("minted by token {parent}")
            } else {
                format!("minted by token {parent} ({})", app(&t.client_id)?)
            }
        }
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    fn row(via: &str, client_id: &str, parent: Option<&str>) -> TokenRow {
        TokenRow {
            jti: "j".into(),
            subject: "u".into(),
            user_id: None,
            client_id: client_id.into(),
            scopes: String::new(),
            audience: "a".into(),
            created_via: via.into(),
            created_at: 0,
            expires_at: 1,
            revoked_at: None,
            parent_jti: parent.map(str::to_string),
            label: None,
        }
    }

    #[test]
    fn each_origin_reads_as_words() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        c.execute(
            "INSERT INTO clients (client_id, redirect_uris, client_name, registered_at, status)
             VALUES ('app', '[]', 'Notes', 1, 'approved'), ('anon', '[]', NULL, 1, 'approved')",
            [],
        )
        .expect("clients");
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            ("operator", "parachute-hub", None, "operator token"),
            ("cli_mint", "parachute-hub", None, "CLI mint"),
            ("oauth", "app", None, "app Notes"),
            ("oauth", "anon", None, "app anon"),
            (
                "delegated",
                "parachute-hub",
                Some("p1"),
                "minted by token p1",
            ),
            (
                "delegated",
                "app",
                Some("p2"),
                "minted by token p2 (app Notes)",
            ),
            ("imported", "x", None, "imported"),
        ];
        for (via, client, parent, want) in cases {
            assert_eq!(describe(&c, &row(via, client, *parent)).expect("q"), *want);
        }
    }
}
