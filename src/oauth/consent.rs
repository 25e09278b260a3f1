//! Consent: what a user may delegate, when the consent screen may be
//! skipped, and what a user's grant to a client becomes (read and written
//! through `store::grants`, inside the caller's transaction).

use rusqlite::Connection;

use crate::store::grants;
use crate::tokens::scopes;

/// What the signed-in user holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// The hub's owner (its first user) holds everything.
    Owner,
    /// Any other user: named vault verbs on the vaults assigned to them
    /// (`(vault, verbs)`), plus the non-admin, non-account scopes.
    User { vaults: Vec<(String, Vec<String>)> },
}

/// Cap `requested` to what `who` holds: a user may only delegate what they
/// hold. Unknown scopes never survive.
pub fn cap_to_authority(requested: &[String], who: &Authority) -> Vec<String> {
    requested
        .iter()
        .filter(|s| scopes::is_known(s))
        .filter(|s| match who {
            Authority::Owner => true,
            Authority::User { vaults } => {
                if let Some((name, verb)) = scopes::vault_scope(s) {
                    vaults
                        .iter()
                        .any(|(v, verbs)| v == name && verbs.iter().any(|x| x == verb))
                } else {
                    !s.starts_with("account:") && !s.starts_with("vault:") && !scopes::is_admin(s)
                }
            }
        })
        .cloned()
        .collect()
}

/// Does `granted` (a previous consent) cover every scope of `requested`?
pub fn covered(requested: &[String], granted: &[String]) -> bool {
    requested.iter().all(|r| granted.contains(r))
}

/// May the consent screen be skipped? Only for an approved client, a
/// non-empty request fully covered by an earlier grant, with no admin-level
/// scope and no unnamed vault verb (which still needs a vault picked).
pub fn may_skip(requested: &[String], granted: &[String], client_approved: bool) -> bool {
    client_approved
        && !requested.is_empty()
        && covered(requested, granted)
        && requested.iter().all(|s| !scopes::is_admin(s))
        && requested
            .iter()
            .all(|s| !(s.starts_with("vault:") && s.split(':').count() == 2))
}

/// What the user ticked on the consent page, out of what it offered:
/// a ticked scope the page never offered is ignored, never granted.
pub fn chosen(offered: &[String], ticked: &[String]) -> Vec<String> {
    offered
        .iter()
        .filter(|s| ticked.contains(s))
        .cloned()
        .collect()
}

/// The union of two scope lists, order kept.
pub fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for s in b {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// The scopes `user_id` has granted `client_id` so far (none without a grant).
pub fn granted(conn: &Connection, user_id: &str, client_id: &str) -> rusqlite::Result<Vec<String>> {
    Ok(grants::scopes(conn, user_id, client_id)?
        .map(|s| scopes::parse(&s))
        .unwrap_or_default())
}

/// Record a consent at `now`: the grant becomes the union of what was
/// granted before and `consented`. Call inside a write transaction, so two
/// consents at once cannot lose one another's scopes.
pub fn record(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
    consented: &[String],
    now: i64,
) -> rusqlite::Result<()> {
    let all = union(&granted(conn, user_id, client_id)?, consented);
    grants::put(conn, user_id, client_id, &all, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_string()).collect()
    }

    #[test]
    fn delegation_is_capped_to_what_the_user_holds() {
        let friend = Authority::User {
            vaults: vec![("work".into(), v(&["read", "write"]))],
        };
        let cases: &[(&str, &Authority, &[&str], &[&str])] = &[
            (
                "owner keeps everything known",
                &Authority::Owner,
                &["vault:work:admin", "account:self:admin"],
                &["vault:work:admin", "account:self:admin"],
            ),
            (
                "unknown dropped even for the owner",
                &Authority::Owner,
                &["made:up", "vault:work:read"],
                &["vault:work:read"],
            ),
            (
                "friend keeps assigned verbs",
                &friend,
                &["vault:work:read", "vault:work:write"],
                &["vault:work:read", "vault:work:write"],
            ),
            (
                "friend loses admin",
                &friend,
                &["vault:work:admin", "vault:work:read"],
                &["vault:work:read"],
            ),
            (
                "friend loses other vaults",
                &friend,
                &["vault:home:read"],
                &[],
            ),
            (
                "friend loses account scopes",
                &friend,
                &["account:self:read"],
                &[],
            ),
            (
                "friend keeps non-vault low scopes",
                &friend,
                &["scribe:transcribe"],
                &["scribe:transcribe"],
            ),
            (
                "friend loses unnamed vault verbs",
                &friend,
                &["vault:read"],
                &[],
            ),
        ];
        for (name, who, req, want) in cases {
            assert_eq!(cap_to_authority(&v(req), who), v(want), "{name}");
        }
    }

    #[test]
    fn skip_table() {
        let granted = v(&["vault:work:read", "vault:work:write", "vault:work:admin"]);
        let cases: &[(&str, &[&str], bool, bool)] = &[
            ("covered non-admin", &["vault:work:read"], true, true),
            ("covered but admin", &["vault:work:admin"], true, false),
            ("not covered", &["vault:home:read"], true, false),
            ("pending client", &["vault:work:read"], false, false),
            ("empty request", &[], true, false),
            ("unnamed verb", &["vault:read"], true, false),
        ];
        for (name, req, approved, want) in cases {
            assert_eq!(may_skip(&v(req), &granted, *approved), *want, "{name}");
        }
    }

    #[test]
    fn only_ticked_offered_scopes_are_chosen() {
        let offered = v(&["vault:work:read", "vault:work:write"]);
        assert_eq!(
            chosen(&offered, &v(&["vault:work:write", "hub:admin"])),
            v(&["vault:work:write"])
        );
        assert!(chosen(&offered, &[]).is_empty());
    }

    #[test]
    fn a_consent_adds_to_the_earlier_grant() {
        let (_d, s) = crate::store::test_support::store();
        let c = s.conn().expect("conn");
        let u = crate::store::users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        c.execute(
            "INSERT INTO clients (client_id, redirect_uris, registered_at, status)
             VALUES ('app', '[]', 1, 'approved')",
            [],
        )
        .expect("client");
        assert!(granted(&c, &u.id, "app").expect("q").is_empty());
        record(&c, &u.id, "app", &v(&["vault:work:read"]), 10).expect("first");
        record(
            &c,
            &u.id,
            "app",
            &v(&["vault:work:write", "vault:work:read"]),
            20,
        )
        .expect("second");
        assert_eq!(
            granted(&c, &u.id, "app").expect("q"),
            v(&["vault:work:read", "vault:work:write"])
        );
        let g = grants::list(&c).expect("list");
        assert_eq!(g[0].granted_at, 20, "the latest consent's time");
    }

    #[test]
    fn union_keeps_order_without_duplicates() {
        assert_eq!(union(&v(&["a", "b"]), &v(&["b", "c"])), v(&["a", "b", "c"]));
    }
}
