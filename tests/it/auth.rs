//! `parachute auth …` against the real binary and a real store, no hub
//! process needed. The `mint-token` cases are seed 000's scenarios (issue #3),
//! with its messages.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;

use crate::support::hub::{Home, claims, stderr, stdout};

fn mint_fails(h: &Home, args: &[&str]) -> String {
    let mut all = vec!["auth", "mint-token"];
    all.extend_from_slice(args);
    let o = h.run(&all);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
    assert_eq!(stdout(&o), "", "{args:?}: nothing on stdout");
    stderr(&o)
}

#[test]
fn mint_token_usage_errors_need_no_hub_state() {
    let h = Home::empty();
    let err = mint_fails(&h, &[]);
    assert!(err.contains("--scope is required"), "{err}");
    assert!(
        err.contains("usage: parachute auth mint-token --scope"),
        "{err}"
    );
    let err = mint_fails(&h, &["--lol"]);
    assert!(err.contains("unknown flag"), "{err}");
    assert!(err.contains("\"--lol\""), "{err}");
    let err = mint_fails(&h, &["--scope", "scribe:transcribe"]);
    assert!(err.contains("operator.token"), "{err}");
    assert!(err.contains("rotate-operator"), "{err}");
    let err = mint_fails(&h, &["--scope", "   "]);
    assert!(
        err.contains("--scope must contain at least one scope"),
        "{err}"
    );
}

#[test]
fn mint_token_ttl_grammar() {
    let h = Home::with_owner();
    for (ttl, msg) in [
        ("0s", "must be > 0"),
        ("400d", "365d cap"),
        ("1week", "invalid --ttl"),
    ] {
        let err = mint_fails(&h, &["--scope", "scribe:transcribe", "--ttl", ttl]);
        assert!(err.contains(msg), "--ttl {ttl}: {err}");
    }
    let err = mint_fails(&h, &["--scope", "scribe:transcribe", "--ttl=0s"]);
    assert!(err.contains("must be > 0"), "{err}");

    let t = h.mint(&["--scope", "scribe:transcribe", "--ttl", "1h"]);
    let c = claims(&t);
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        3600
    );
    let t = h.mint(&["--scope", "scribe:transcribe", "--ttl=365d"]);
    let c = claims(&t);
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        365 * 86_400
    );
    // The default is 90 days.
    let c = claims(&h.mint(&["--scope", "scribe:transcribe"]));
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        90 * 86_400
    );
}

#[test]
fn mint_token_prints_only_a_valid_token_with_the_inferred_audience() {
    let h = Home::with_owner();
    let o = h.run(&["auth", "mint-token", "--scope", "scribe:transcribe"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let token = out.trim_end();
    assert_eq!(
        out,
        format!("{token}\n"),
        "stdout is the token and a newline only"
    );
    assert_eq!(token.split('.').count(), 3);
    let c = h.validate(token).expect("validates against the store");
    assert_eq!(c.aud, "scribe");
    assert_eq!(c.scope, "scribe:transcribe");
    assert_eq!(c.sub, h.owner_id());
    assert_eq!(c.iss, "http://127.0.0.1:1939");
    assert_eq!(c.client_id, "parachute-hub");

    // Named vault scope → vault.<name>; --aud beats inference (seed 000:
    // the operator at the CLI owns the store; the API's delegated mint is
    // the one that refuses an audience its scopes are not for).
    assert_eq!(
        h.validate(&h.mint(&["--scope", "vault:work:read"]))
            .expect("v")
            .aud,
        "vault.work"
    );
    let t = h.mint(&["--scope", "vault:work:read", "--aud", "custom-resource"]);
    assert_eq!(h.validate(&t).expect("v").aud, "custom-resource");
    // Several scopes carried verbatim; the named vault wins.
    let t = h.mint(&["--scope", "vault:work:read scribe:transcribe"]);
    let c = h.validate(&t).expect("v");
    assert_eq!(c.scope, "vault:work:read scribe:transcribe");
    assert_eq!(c.aud, "vault.work");
    // --sub override.
    let t = h.mint(&[
        "--scope",
        "scribe:transcribe",
        "--sub",
        "agent:scribe-runner",
    ]);
    assert_eq!(h.validate(&t).expect("v").sub, "agent:scribe-runner");
    // Equals spelling too.
    let t = h.mint(&[
        "--scope=scribe:transcribe",
        "--aud=scribe",
        "--sub=y",
        "--ttl=60s",
    ]);
    let c = h.validate(&t).expect("v");
    assert_eq!(
        (c.aud.as_str(), c.sub.as_str(), c.exp - c.iat),
        ("scribe", "y", 60)
    );
}

#[test]
fn minted_tokens_are_in_the_registry_and_revocable() {
    let h = Home::with_owner();
    let token = h.mint(&["--scope", "scribe:transcribe"]);
    let jti = claims(&token)["jti"].as_str().expect("jti").to_string();
    let o = h.run(&["auth", "list-tokens", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Value = serde_json::from_slice(&o.stdout).expect("json");
    let row = rows
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["jti"] == jti.as_str())
        .unwrap_or_else(|| panic!("{jti} in {rows:#}"));
    assert_eq!(row["created_via"], "cli_mint");
    assert_eq!(row["status"], "active");
    assert_eq!(row["scopes"], "scribe:transcribe");
    assert_eq!(row["audience"], "scribe");
    // The token itself is never stored.
    assert!(!rows.to_string().contains(&token));

    let o = h.run(&["auth", "revoke-token", &jti]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("revoked"), "{}", stderr(&o));
    let o = h.run(&["auth", "revoke-token", &jti]);
    assert!(o.status.success(), "idempotent: {}", stderr(&o));
    assert!(stderr(&o).contains("already revoked"), "{}", stderr(&o));
    assert_eq!(h.validate(&token), Err(parachute::tokens::Reject::Revoked));
    let o = h.run(&["auth", "revoke-token", "no-such-jti"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("list-tokens"), "{}", stderr(&o));
    // A jti is base64url, so one in 64 begins with `-`: still a jti, not a
    // flag (this failed as clap's "unexpected argument '-5'").
    let o = h.run(&["auth", "revoke-token", "-5no-such-jti"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("list-tokens"), "{}", stderr(&o));
}

#[test]
fn an_operator_token_without_hub_admin_cannot_mint() {
    let h = Home::with_owner();
    // A validly signed, unexpired token lacking hub:admin, stashed at the
    // operator path.
    let narrow = h.mint(&["--scope", "scribe:transcribe"]);
    fs::write(h.home().join("operator.token"), format!("{narrow}\n")).expect("write");
    let err = mint_fails(&h, &["--scope", "scribe:transcribe"]);
    assert!(err.contains("lacks hub:admin scope"), "{err}");
    assert!(err.contains("rotate-operator"), "{err}");
    // Garbage there is refused too, with the way out.
    fs::write(h.home().join("operator.token"), "not.a.jwt\n").expect("write");
    let err = mint_fails(&h, &["--scope", "scribe:transcribe"]);
    assert!(err.contains("operator token invalid"), "{err}");
    assert!(err.contains("rotate-operator"), "{err}");
    // rotate-operator restores minting.
    let o = h.run(&["auth", "rotate-operator"]);
    assert!(o.status.success(), "{}", stderr(&o));
    h.mint(&["--scope", "scribe:transcribe"]);
}

#[test]
fn set_password_writes_a_private_operator_token_and_rotation_revokes_the_old_one() {
    let h = Home::with_owner();
    let path = h.home().join("operator.token");
    let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let db_mode = fs::metadata(h.home().join("hub.db"))
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(db_mode, 0o600);
    let first = h.operator_token();
    let c = h.validate(&first).expect("valid operator token");
    for s in ["hub:admin", "parachute:host:auth"] {
        assert!(c.has_scope(s), "{s} in {}", c.scope);
    }
    assert_eq!(c.exp - c.iat, 90 * 86_400);
    assert_eq!(c.sub, h.owner_id());

    let o = h.run(&["auth", "rotate-operator"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let second = h.operator_token();
    assert_ne!(first, second);
    assert_eq!(h.validate(&first), Err(parachute::tokens::Reject::Revoked));
    assert!(h.validate(&second).is_ok());

    // The password hash is argon2id with the documented parameters, and no
    // secret appears in the listing.
    let o = h.run(&["auth", "list-users", "--json"]);
    let users: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(users.as_array().expect("array").len(), 1);
    assert_eq!(users[0]["username"], "owner");
    assert!(users[0].get("password_hash").is_none());
}

#[test]
fn set_password_without_a_terminal_or_stdin_flag_says_how() {
    let h = Home::empty();
    let o = h
        .cmd(&["auth", "set-password"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--password-stdin"), "{}", stderr(&o));
}

#[test]
fn commands_on_a_missing_store_point_at_init() {
    let h = Home::empty();
    for args in [
        vec!["auth", "list-users"],
        vec!["auth", "rotate-key"],
        vec!["auth", "list-tokens"],
        vec!["auth", "revoke-token", "x"],
    ] {
        let o = h.run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).contains("parachute init"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    assert!(!h.home().join("hub.db").exists());
}

#[test]
fn a_store_from_a_newer_parachute_is_refused_untouched() {
    let h = Home::with_owner();
    let db = h.home().join("hub.db");
    {
        let c = rusqlite::Connection::open(&db).expect("open");
        c.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (999, 0)",
            [],
        )
        .expect("insert");
    }
    let o = h.run(&["auth", "list-users"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("newer than this parachute knows"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("Upgrade parachute"), "{}", stderr(&o));
}

#[test]
fn an_operator_token_close_to_expiry_is_renewed_on_use() {
    use parachute::store::Store;
    use parachute::tokens::{mint, operator};
    let h = Home::with_owner();
    let owner = h.owner_id();
    // An operator token with 2 days left, as if issued 88 days ago.
    let store = Store::open(&h.home().join("hub.db")).expect("store");
    let scopes: Vec<String> = operator::SCOPES.iter().map(|s| (*s).to_string()).collect();
    let old = store
        .write(|tx| {
            mint::mint(
                tx,
                "http://127.0.0.1:1939",
                &mint::Mint {
                    sub: &owner,
                    user_id: Some(&owner),
                    scopes: &scopes,
                    audience: operator::AUDIENCE,
                    client_id: operator::CLIENT_ID,
                    ttl_secs: 2 * 86_400,
                    created_via: Some(operator::CREATED_VIA),
                    parent_jti: None,
                    label: None,
                },
                parachute::clock::now(),
            )
            .map_err(|e| store.other(e))
        })
        .expect("mint");
    fs::write(h.home().join("operator.token"), format!("{}\n", old.token)).expect("write");

    let o = h.run(&["auth", "mint-token", "--scope", "scribe:transcribe"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("renewed"), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).matches('.').count(),
        2,
        "stdout is still only the token"
    );
    let renewed = h.operator_token();
    assert_ne!(renewed, old.token);
    let c = h.validate(&renewed).expect("valid");
    assert_eq!(c.exp - c.iat, 90 * 86_400);
    assert!(c.has_scope("hub:admin"));
}
