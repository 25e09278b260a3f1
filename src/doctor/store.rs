//! The hub store (there, readable, with an owner) and the operator token
//! the CLI presents to it (valid, and not about to expire).
//!
//! Read through a read-only connection: the doctor never migrates or
//! creates a store as a side effect.

use rusqlite::{Connection, OpenFlags};

use super::{Env, Finding, Repair, fix_or};
use crate::lifecycle::hub_store;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::systemd::units;
use crate::tokens::{Issuers, jwt, keys, operator};

/// Warn when the operator token has less than this left (issue 9 item 2).
pub const TOKEN_WARN_SECS: i64 = 14 * 86_400;

const ROTATE: &str = "parachute auth rotate-operator";

fn open(env: &Env<'_, impl Sized>) -> Option<Connection> {
    let db = env.paths.hub_db();
    Connection::open_with_flags(
        &db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()
    .filter(|_| db.is_file())
}

/// `hub-store` and `hub-owner`.
pub fn check<I>(env: &Env<'_, I>) -> Vec<Finding> {
    let db = env.paths.hub_db();
    let installed = units::exists(env.paths, HUB_SOCKET) || units::exists(env.paths, HUB_SERVICE);
    if !db.exists() {
        let stale = hub_store::stale_sidecars(&db);
        if !installed && stale.is_empty() {
            return vec![Finding::fail(
                "hub-store",
                format!("there is no hub store at {} yet", db.display()),
                "parachute init",
            )];
        }
        return vec![
            Finding::fail(
                "hub-store",
                format!(
                    "the hub store {} was deleted{}; the hub answers 503 until there is a new one",
                    db.display(),
                    if stale.is_empty() {
                        ""
                    } else {
                        " (its -wal/-shm are still there)"
                    }
                ),
                format!(
                    "restore {} from a backup, or start over with an empty store (accounts and tokens are lost): {}, then: parachute init",
                    db.display(),
                    super::FIX
                ),
            )
            .repair(Repair::NewStore),
        ];
    }
    let Some(conn) = open(env) else {
        return vec![Finding::fail(
            "hub-store",
            format!("{} cannot be opened", db.display()),
            "check its permissions, or restore it from a backup",
        )];
    };
    let verdict: Result<String, _> = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0));
    match verdict {
        Ok(v) if v == "ok" => {}
        Ok(v) => {
            return vec![Finding::fail(
                "hub-store",
                format!("{} is corrupt: {v}", db.display()),
                "restore it from a backup",
            )];
        }
        Err(e) => {
            return vec![Finding::fail(
                "hub-store",
                format!("{} cannot be read: {e}", db.display()),
                "restore it from a backup",
            )];
        }
    }
    let store = Finding::pass(
        "hub-store",
        format!("{} is readable and intact", db.display()),
    );
    let owner = match crate::store::users::owner(&conn) {
        Ok(Some(o)) => Finding::pass("hub-owner", format!("the owner is `{}`", o.username)),
        Ok(None) => Finding::fail("hub-owner", "the hub has no owner yet", "parachute init"),
        Err(e) => Finding::fail(
            "hub-owner",
            format!("cannot read the users: {e}"),
            "parachute init",
        ),
    };
    vec![store, owner]
}

/// `operator-token`: present, valid with the operator scopes, and not
/// expiring within [`TOKEN_WARN_SECS`].
pub fn operator_token<I>(env: &Env<'_, I>) -> Vec<Finding> {
    let Some(conn) = open(env) else {
        return Vec::new();
    };
    if !matches!(crate::store::users::owner(&conn), Ok(Some(_))) {
        return Vec::new();
    }
    let path = env.paths.operator_token();
    let fail = |what: String| {
        vec![
            Finding::fail("operator-token", what, fix_or(ROTATE))
                .repair(Repair::RenewOperatorToken),
        ]
    };
    let token = match operator::read(&path) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return fail(format!(
                "there is no operator token at {}; CLI commands that act on the hub fail",
                path.display()
            ));
        }
        Err(e) => return fail(e.to_string()),
    };
    let Ok(verifiers) = keys::verifiers(&conn, env.now) else {
        return fail("cannot read the hub's signing keys".into());
    };
    let iss = Issuers::new(env.hub_origin, &[env.hub_port]);
    // Expiry is judged below, with days; validate as of a moment it is live.
    let claims = jwt::verify_signature(&token, &verifiers).and_then(|c| {
        let at = env.now.min(c.exp - 1);
        let expect = jwt::Expect {
            issuers: iss.accepted(),
            audience: None,
            now: at,
        };
        jwt::check_claims(&c, expect, |jti| {
            crate::store::tokens::is_revoked(&conn, jti).map_err(|e| e.to_string())
        })
        .map(|()| c)
    });
    match claims {
        Ok(c) if !c.has_scope(operator::MINT_SCOPE) => fail(format!(
            "{} lacks the `{}` scope",
            path.display(),
            operator::MINT_SCOPE
        )),
        Ok(c) => vec![judge_expiry(c.exp, env.now)],
        Err(e) => fail(format!("{} is not valid: {e}", path.display())),
    }
}

/// Expired is a fault; under [`TOKEN_WARN_SECS`] a warning; else a pass.
pub fn judge_expiry(exp: i64, now: i64) -> Finding {
    let left = exp - now;
    let days = left / 86_400;
    if left <= 0 {
        Finding::fail(
            "operator-token",
            "the operator token has expired; CLI commands that act on the hub fail",
            fix_or(ROTATE),
        )
        .repair(Repair::RenewOperatorToken)
    } else if left < TOKEN_WARN_SECS {
        Finding::warn(
            "operator-token",
            format!("the operator token expires in {days} days"),
            fix_or(ROTATE),
        )
        .repair(Repair::RenewOperatorToken)
    } else {
        Finding::pass(
            "operator-token",
            format!("the operator token is valid for {days} more days"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Severity;

    #[test]
    fn the_token_warns_under_fourteen_days_and_fails_once_expired() {
        let now = 1_000_000;
        let ok = judge_expiry(now + 30 * 86_400, now);
        assert_eq!(ok.severity, Severity::Pass);
        assert_eq!(ok.what, "the operator token is valid for 30 more days");
        let soon = judge_expiry(now + 13 * 86_400 + 5, now);
        assert_eq!(soon.severity, Severity::Warn);
        assert_eq!(soon.what, "the operator token expires in 13 days");
        assert_eq!(
            soon.fix.as_deref(),
            Some("parachute doctor --fix (or: parachute auth rotate-operator)")
        );
        assert_eq!(soon.repair, Some(Repair::RenewOperatorToken));
        assert_eq!(judge_expiry(now, now).severity, Severity::Fail);
    }
}
