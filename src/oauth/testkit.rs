//! What the domain's unit tests start from: a real store in a temporary
//! directory, one user, a fixed `now`, and builders for client and code rows.

use tempfile::TempDir;

use crate::secret::sha256_hex;
use crate::store::{self, Store, clients::Client, codes::Code};
use crate::tokens::Issuers;

/// The issuer the tests use.
pub const ORIGIN: &str = "http://127.0.0.1:1939";
/// The redirect URI every test client registers.
pub const REDIRECT: &str = "http://127.0.0.1:5000/cb";

pub struct Kit {
    _dir: TempDir,
    pub store: Store,
    pub issuers: Issuers,
    pub now: i64,
    pub user_id: String,
}

impl Kit {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("hub.db")).expect("store");
        let now = 1_800_000_000;
        let user = store
            .write(|tx| store::users::create(tx, "owner", "x", now).map_err(|e| store.err(e)))
            .expect("user");
        Self {
            _dir: dir,
            store,
            issuers: Issuers::new(ORIGIN, &[1939]),
            now,
            user_id: user.id,
        }
    }

    /// Register `id` (with `secret`, if confidential) redirecting to [`REDIRECT`].
    pub fn client(&self, id: &str, secret: Option<&str>, approved: bool) -> Client {
        let c = Client {
            client_id: id.into(),
            client_secret_hash: secret.map(sha256_hex),
            redirect_uris: vec![REDIRECT.into()],
            scopes: String::new(),
            client_name: Some(format!("app {id}")),
            registered_at: self.now,
            status: if approved { "approved" } else { "pending" }.into(),
            token_endpoint_auth_method: if secret.is_some() {
                "client_secret_basic"
            } else {
                "none"
            }
            .into(),
            metadata: serde_json::json!({}),
            document_expires_at: None,
        };
        self.store
            .write(|tx| store::clients::insert(tx, &c).map_err(|e| self.store.err(e)))
            .expect("client");
        c
    }

    /// Store the authorization code `code` for `client_id`, bound to the
    /// PKCE `challenge`, granting `scopes`.
    pub fn code(&self, code: &str, client_id: &str, challenge: &str, scopes: &str) {
        let row = Code {
            code_hash: sha256_hex(code),
            client_id: client_id.into(),
            user_id: self.user_id.clone(),
            redirect_uri: REDIRECT.into(),
            scopes: scopes.into(),
            resource: None,
            code_challenge: challenge.into(),
            code_challenge_method: "S256".into(),
            created_at: self.now,
            expires_at: self.now + super::CODE_TTL_SECS,
            used_at: None,
            family_id: None,
        };
        self.store
            .write(|tx| store::codes::insert(tx, &row).map_err(|e| self.store.err(e)))
            .expect("code");
    }
}
