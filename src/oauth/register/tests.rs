//! Registration parsing and the row it makes.

use super::*;
use crate::oauth::testkit::Kit;

fn refused(body: &str) -> (ErrorCode, String) {
    let e = parse(body.as_bytes()).expect_err("refused");
    (e.code, e.description)
}

#[test]
fn a_minimal_registration_gets_the_defaults() {
    let r = parse(br#"{"redirect_uris":["http://127.0.0.1:5000/cb"],"client_name":"  My\u0007 App ","scope":"hub:admin  vault:read"}"#)
        .expect("parsed");
    assert_eq!(r.uris, ["http://127.0.0.1:5000/cb"]);
    assert_eq!(r.method, "client_secret_basic");
    assert_eq!(r.grant_types, ["authorization_code", "refresh_token"]);
    assert_eq!(r.response_types, ["code"]);
    assert!(
        r.name
            .as_deref()
            .is_some_and(|n| n.contains("My") && !n.contains('\u{7}'))
    );
    assert_eq!(r.scope, "hub:admin vault:read");
}

#[test]
fn bad_registrations_name_the_field() {
    let long = "x".repeat(MAX_STRING + 1);
    let uris: Vec<String> = (0..=MAX_URIS)
        .map(|i| format!("\"http://127.0.0.1/{i}\""))
        .collect();
    let cases = [
        (
            "[]",
            ErrorCode::InvalidClientMetadata,
            "the body must be a JSON object",
        ),
        (
            "{}",
            ErrorCode::InvalidRedirectUri,
            "`redirect_uris` is required",
        ),
        (
            r#"{"redirect_uris":"x"}"#,
            ErrorCode::InvalidClientMetadata,
            "`redirect_uris` must be an array of strings",
        ),
        (
            &format!(r#"{{"redirect_uris":[{}]}}"#, uris.join(",")),
            ErrorCode::InvalidRedirectUri,
            "`redirect_uris`: at most 10 redirect URIs",
        ),
        (
            &format!(r#"{{"redirect_uris":["http://127.0.0.1/cb"],"logo_uri":"{long}"}}"#),
            ErrorCode::InvalidClientMetadata,
            "`logo_uri` is longer than 2000 bytes",
        ),
        (
            r#"{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"private_key_jwt"}"#,
            ErrorCode::InvalidClientMetadata,
            "token_endpoint_auth_method `private_key_jwt` is not supported; use one of none, client_secret_post, client_secret_basic",
        ),
        (
            r#"{"redirect_uris":["http://127.0.0.1/cb"],"grant_types":["implicit"]}"#,
            ErrorCode::InvalidClientMetadata,
            "grant type `implicit` is not supported",
        ),
        (
            r#"{"redirect_uris":["http://127.0.0.1/cb"],"response_types":["token"]}"#,
            ErrorCode::InvalidClientMetadata,
            "only the `code` response type is supported",
        ),
        (
            r#"{"redirect_uris":["http://127.0.0.1/cb"],"client_name":7}"#,
            ErrorCode::InvalidClientMetadata,
            "`client_name` must be a string",
        ),
    ];
    for (body, code, description) in cases {
        assert_eq!(refused(body), (code, description.to_string()), "{body:.80}");
    }
    assert_eq!(
        refused(r#"{"redirect_uris":["ftp://example.com/cb"]}"#).0,
        ErrorCode::InvalidRedirectUri
    );
}

#[test]
fn a_registration_is_stored_pending_unless_approved_and_answers_its_secret_once() {
    let k = Kit::new();
    let public = parse(
        br#"{"redirect_uris":["http://127.0.0.1:5000/cb"],"token_endpoint_auth_method":"none"}"#,
    )
    .expect("parsed");
    let answer = register(&k.store, public, false, k.now).expect("stored");
    assert_eq!(answer["status"], "pending");
    assert_eq!(answer["client_id_issued_at"], k.now);
    assert!(answer.get("client_secret").is_none());
    let confidential = parse(br#"{"redirect_uris":["http://127.0.0.1:5000/cb"]}"#).expect("parsed");
    let answer = register(&k.store, confidential, true, k.now).expect("stored");
    assert_eq!(answer["status"], "approved");
    let secret = answer["client_secret"].as_str().expect("secret");
    let conn = k.store.conn().expect("conn");
    let row = store::clients::get(&conn, answer["client_id"].as_str().expect("id"))
        .expect("get")
        .expect("row");
    assert_eq!(row.client_secret_hash, Some(sha256_hex(secret)));
    assert!(
        row.metadata.get("client_secret").is_none(),
        "the secret is not kept"
    );
}
