//! Client ID Metadata Documents, the I/O side: fetch the document a URL
//! `client_id` names; `crate::oauth::cimd_client` keeps it as a client row.
//! The rules (which URLs, which addresses, what the document must say, how
//! long it is kept) are `crate::oauth::cimd`.
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
use crate::oauth::cimd_client;
use crate::store::clients;

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
    let known = cimd_client::known(state.store(), client_id, now).map_err(ApiError::from)?;
    if let Some(c) = known.fresh.clone() {
        return Ok(Ok(c));
    }
    if let Err(l) = ratelimit::check(state, ratelimit::CIMD_FETCH, ip, now)? {
        return Ok(Err(CimdError::RateLimited(
            u64::try_from(l.retry_after).unwrap_or(1),
        )));
    }
    let (doc, fresh_for) = match document(&url, client_id).await {
        Ok(d) => d,
        Err(e) => {
            tracing::info!(client_id, error = %e, "client ID document refused");
            return Ok(Err(e));
        }
    };
    cimd_client::keep(state.store(), &url, client_id, doc, fresh_for, &known, now)
        .map(Ok)
        .map_err(ApiError::from)
}

/// The document at `url`, checked, and how long it may be kept.
async fn document(url: &Url, client_id: &str) -> Result<(cimd::Document, i64), CimdError> {
    let (body, cache_control) = fetch(url).await?;
    let doc = cimd::parse_document(client_id, &body)?;
    Ok((doc, cimd::cache_secs(cache_control.as_deref())))
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
    let http = pinned_client(url).await?;
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

/// An HTTPS client for `url` only: connections pinned to its host's
/// checked addresses, no proxy, same-host redirects.
async fn pinned_client(url: &Url) -> Result<reqwest::Client, CimdError> {
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
    builder.build().map_err(|e| CimdError::Fetch(chain(&e)))
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
