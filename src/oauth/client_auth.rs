//! Client authentication at the token, revocation and introspection
//! endpoints: public clients (`none`) name themselves with `client_id`;
//! confidential ones prove their secret with HTTP Basic
//! (`client_secret_basic`) or in the body (`client_secret_post`). Secrets
//! are compared as SHA-256 in constant time. The hub reads the
//! credentials off the request ([`Credentials`]); this decides.

use rusqlite::Connection;

use super::error::{OAuthError, Step};
use crate::secret::{same_secret, sha256_hex};
use crate::store::Store;
use crate::store::clients::{self, Client};

/// What the request says about its client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `(client_id, secret)` from `Authorization: Basic`, URL-decoded.
    pub basic: Option<(String, String)>,
    /// `client_id` and `client_secret` from the body.
    pub client_id: Option<String>,
    pub secret: Option<String>,
}

impl Credentials {
    /// The client id and secret to check, or why there are none.
    fn claimed(&self) -> Result<(&str, Option<&str>), OAuthError> {
        let body = self.client_id.as_deref().filter(|c| !c.is_empty());
        match (&self.basic, body) {
            (Some((id, _)), Some(body)) if id != body => Err(OAuthError::invalid_client(
                "`client_id` differs from the Basic credentials",
            )),
            (Some((id, s)), _) => Ok((id.as_str(), Some(s.as_str()))),
            (None, Some(id)) => Ok((id, self.secret.as_deref().filter(|s| !s.is_empty()))),
            (None, None) => Err(OAuthError::invalid_client(
                "client authentication is required: send `client_id`",
            )),
        }
    }
}

/// Authenticate the calling client: registered, unexpired, its secret
/// proven if it has one, and approved.
pub fn authenticate(
    store: &Store,
    conn: &Connection,
    creds: &Credentials,
    now: i64,
) -> Step<Client> {
    let (client_id, secret) = match creds.claimed() {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let client = clients::get(conn, client_id).map_err(|e| store.err(e))?;
    Ok(judge(
        client.filter(|c| !crate::oauth::client_expired(c, now)),
        client_id,
        secret,
    ))
}

fn judge(
    client: Option<Client>,
    client_id: &str,
    secret: Option<&str>,
) -> Result<Client, OAuthError> {
    let Some(client) = client else {
        return Err(OAuthError::invalid_client(format!(
            "unknown client `{client_id}`; register again"
        )));
    };
    if let Some(hash) = &client.client_secret_hash
        && !secret.is_some_and(|s| same_secret(&sha256_hex(s), hash))
    {
        return Err(OAuthError::invalid_client("client authentication failed"));
    }
    if !client.approved() {
        return Err(OAuthError::invalid_client(format!(
            "client `{}` is waiting for approval: sign in to the hub and approve it on the consent page, or run `parachute auth approve-client {}`",
            client.client_id, client.client_id
        )));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::testkit::Kit;

    fn creds(basic: Option<(&str, &str)>, id: Option<&str>, secret: Option<&str>) -> Credentials {
        Credentials {
            basic: basic.map(|(a, b)| (a.into(), b.into())),
            client_id: id.map(Into::into),
            secret: secret.map(Into::into),
        }
    }

    #[test]
    fn clients_are_judged_by_id_secret_and_approval() {
        let k = Kit::new();
        k.client("pub", None, true);
        k.client("conf", Some("s3cret"), true);
        k.client("waiting", None, false);
        let check = |c: Credentials| {
            let conn = k.store.conn().expect("conn");
            authenticate(&k.store, &conn, &c, k.now)
                .expect("store")
                .map(|c| c.client_id)
                .map_err(|e| e.description)
        };
        assert_eq!(check(creds(None, Some("pub"), None)), Ok("pub".into()));
        assert_eq!(
            check(creds(Some(("conf", "s3cret")), None, None)),
            Ok("conf".into())
        );
        assert_eq!(
            check(creds(None, Some("conf"), Some("s3cret"))),
            Ok("conf".into())
        );
        let refused = [
            (
                creds(None, None, None),
                "client authentication is required: send `client_id`",
            ),
            (
                creds(Some(("conf", "s3cret")), Some("pub"), None),
                "`client_id` differs from the Basic credentials",
            ),
            (
                creds(None, Some("conf"), Some("wrong")),
                "client authentication failed",
            ),
            (
                creds(None, Some("conf"), None),
                "client authentication failed",
            ),
            (
                creds(None, Some("nobody"), None),
                "unknown client `nobody`; register again",
            ),
        ];
        for (c, want) in refused {
            assert_eq!(check(c), Err(want.to_string()));
        }
        assert!(
            check(creds(None, Some("waiting"), None))
                .is_err_and(|d| d.contains("waiting for approval"))
        );
    }
}
