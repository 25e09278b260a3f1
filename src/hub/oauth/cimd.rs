//! Client ID Metadata Documents, the I/O side: fetch the document a URL
//! `client_id` names and keep it as a client row, so consent, grants, codes
//! and tokens refer to it like any registered client. The rules (which URLs,
//! which addresses, what the document must say, how long it is kept) are
//! `crate::oauth::cimd`.
//!
//! SSRF: the host is resolved here, every address it resolves to must be
//! public, and the connection is pinned to exactly those addresses
//! (`resolve_to_addrs`), so a DNS answer that changes between the check and
//! the connect (rebinding) is never used. Redirects stay on the same host,
//! so they reach the same checked addresses. No proxy is ever used.
//! `reqwest` with rustls (aws-lc-rs, as the JWT signer) and the platform's
//! roots; `PARACHUTE_CIMD_TEST_CA` adds a CA and
//! `PARACHUTE_CIMD_ALLOW_LOOPBACK=1` allows loopback, for tests only.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ACCEPT, CACHE_CONTROL};

use crate::env_vars;
use crate::hub::error::ApiError;
use crate::hub::ratelimit;
use crate::hub::state::HubState;
use crate::oauth::cimd::{self, CimdError};
use crate::store::{self, clients};

/// The client a document URL names: the stored row while its document is
/// fresh, else fetched again (rate-limited per `ip`) and stored.
pub async fn client(
    state: &HubState,
    client_id: &str,
    ip: &str,
    now: i64,
) -> Result<Result<clients::Client, CimdError>, ApiError> {
    let url = match cimd::check_url(client_id) {
        Ok(u) => u,
        Err(e) => return Ok(Err(e)),
    };
    let (stored, trusted_hosts) = {
        let conn = state
            .store()
            .conn()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let hosts = store::settings::get(&conn, store::settings::CIMD_TRUSTED_HOSTS)
            .map_err(ApiError::internal)?
            .and_then(|j| serde_json::from_str::<Vec<String>>(&j).ok())
            .unwrap_or_default();
        (
            clients::get(&conn, client_id).map_err(ApiError::internal)?,
            hosts,
        )
    };
    // A pending copy past the pending TTL is about to be reaped: fetch it
    // again, as a fresh registration would be made.
    if let Some(c) = stored.as_ref().filter(|c| {
        c.document_expires_at.is_some_and(|t| t > now) && !crate::oauth::client_expired(c, now)
    }) {
        return Ok(Ok(c.clone()));
    }
    if let Err(l) = ratelimit::check(state, ratelimit::CIMD_FETCH, ip, now)? {
        return Ok(Err(CimdError::RateLimited(
            u64::try_from(l.retry_after).unwrap_or(1),
        )));
    }
    let doc = match fetch(&url).await {
        Ok((body, cache_control)) => cimd::parse_document(client_id, &body)
            .map(|d| (d, cimd::cache_secs(cache_control.as_deref()))),
        Err(e) => Err(e),
    };
    let (doc, fresh_for) = match doc {
        Ok(d) => d,
        Err(e) => {
            tracing::info!(client_id, error = %e, "client ID document refused");
            return Ok(Err(e));
        }
    };
    let row = clients::Client {
        client_id: client_id.to_string(),
        client_secret_hash: None,
        redirect_uris: doc.redirect_uris,
        scopes: doc.scope,
        client_name: Some(doc.client_name),
        registered_at: now,
        status: clients::PENDING.to_string(),
        token_endpoint_auth_method: "none".into(),
        metadata: doc.metadata,
        document_expires_at: Some(now + fresh_for),
    };
    // The owner's approval gate, as for DCR, unless the owner trusts the
    // document's host (`parachute auth trust-client-hosts`).
    let trusted = cimd::trusted(&url, &trusted_hosts);
    let db = state.store();
    db.write(|tx| {
        let sql = |e| db.err(e);
        store::clients::upsert_document(tx, &row).map_err(sql)?;
        if trusted {
            store::clients::approve(tx, client_id).map_err(sql)?;
        }
        store::clients::get(tx, client_id).map_err(sql)
    })
    .map_err(ApiError::internal)?
    .ok_or_else(|| ApiError::internal("client row vanished after its upsert"))
    .map(Ok)
}

/// Trust settings read from the environment, for tests (see the module doc).
struct Settings {
    extra_roots: Vec<reqwest::Certificate>,
    allow_loopback: bool,
}

fn settings() -> Result<Settings, CimdError> {
    let allow_loopback =
        std::env::var(env_vars::PARACHUTE_CIMD_ALLOW_LOOPBACK).is_ok_and(|v| v == "1");
    let extra_roots = match std::env::var_os(env_vars::PARACHUTE_CIMD_TEST_CA) {
        None => Vec::new(),
        Some(path) => {
            let shown = std::path::Path::new(&path).display().to_string();
            let pem =
                std::fs::read(&path).map_err(|e| CimdError::TestCa(format!("{shown}: {e}")))?;
            reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| CimdError::TestCa(format!("{shown}: {e}")))?
        }
    };
    Ok(Settings {
        extra_roots,
        allow_loopback,
    })
}

/// The document's body and `Cache-Control`, within the time and size caps.
async fn fetch(url: &Url) -> Result<(Vec<u8>, Option<String>), CimdError> {
    tokio::time::timeout(Duration::from_secs(cimd::FETCH_SECS), fetch_uncapped(url))
        .await
        .map_err(|_| CimdError::Slow)?
}

async fn fetch_uncapped(url: &Url) -> Result<(Vec<u8>, Option<String>), CimdError> {
    let settings = settings()?;
    let addrs = checked_addresses(url, settings.allow_loopback).await?;
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_native_certs(true)
        .https_only(true)
        .no_proxy()
        .redirect(same_host_only(url))
        .user_agent(format!("parachute-hub/{}", crate::version::VERSION));
    if let Some(d) = url.host_str().filter(|h| literal_ip(h).is_none()) {
        builder = builder.resolve_to_addrs(d, &addrs);
    }
    for ca in settings.extra_roots {
        builder = builder.add_root_certificate(ca);
    }
    crate::tls::install_provider();
    let http = builder.build().map_err(|e| CimdError::Fetch(chain(&e)))?;
    let mut res = http
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| classify(&e))?;
    if res.status() != reqwest::StatusCode::OK {
        return Err(CimdError::Status(res.status().as_u16()));
    }
    if res
        .content_length()
        .is_some_and(|n| n > cimd::MAX_BYTES as u64)
    {
        return Err(CimdError::TooLarge);
    }
    let cache_control = res
        .headers()
        .get(CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| classify(&e))? {
        if body.len() + chunk.len() > cimd::MAX_BYTES {
            return Err(CimdError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, cache_control))
}

/// Every address `url`'s host stands for, each one allowed.
async fn checked_addresses(url: &Url, allow_loopback: bool) -> Result<Vec<SocketAddr>, CimdError> {
    let port = url.port_or_known_default().unwrap_or(443);
    let host = url.host_str().unwrap_or_default().to_string();
    let addrs: Vec<SocketAddr> = match literal_ip(&host) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| CimdError::Dns {
                host: host.clone(),
                reason: e.to_string(),
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(CimdError::Dns {
            host,
            reason: "no addresses".into(),
        });
    }
    if let Some(a) = addrs
        .iter()
        .find(|a| !cimd::address_allowed(a.ip(), allow_loopback))
    {
        return Err(CimdError::NotPublic { host, addr: a.ip() });
    }
    Ok(addrs)
}

/// The address a URL host names literally (`10.0.0.1`, `[::1]`).
fn literal_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Follow at most a few redirects, and only to the same scheme, host and
/// port (and so to the addresses already checked).
fn same_host_only(url: &Url) -> reqwest::redirect::Policy {
    let origin = (
        url.host_str().map(str::to_string),
        url.port_or_known_default(),
    );
    reqwest::redirect::Policy::custom(move |attempt| {
        let to = attempt.url();
        let same = to.scheme() == "https"
            && to.host_str().map(str::to_string) == origin.0
            && to.port_or_known_default() == origin.1;
        if !same {
            let shown: String = to.as_str().chars().take(300).collect();
            return attempt.error(CimdError::CrossHostRedirect(shown));
        }
        if attempt.previous().len() > cimd::MAX_REDIRECTS {
            return attempt.error(CimdError::Fetch("too many redirects".into()));
        }
        attempt.follow()
    })
}

/// A reqwest error as the `CimdError` it carries or stands for.
fn classify(e: &reqwest::Error) -> CimdError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(c) = s.downcast_ref::<CimdError>() {
            return c.clone();
        }
        source = s.source();
    }
    if e.is_timeout() {
        CimdError::Slow
    } else {
        CimdError::Fetch(chain(e))
    }
}

/// An error with its causes, `: `-joined (TLS failures say why only there).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut s = e.source();
    while let Some(c) = s {
        out.push_str(": ");
        out.push_str(&c.to_string());
        s = c.source();
    }
    out
}
