//! Probing a service's health URL over loopback.

use std::time::{Duration, Instant};

/// The result of one `GET http://127.0.0.1:<port><path>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub ok: bool,
    /// HTTP status, when one came back.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Why it is not ok (connection refused, timeout, HTTP 503…).
    pub error: Option<String>,
}

/// Probe with a short timeout; never fails, the failure is in the result.
pub async fn probe(client: &reqwest::Client, port: u16, path: &str, timeout: Duration) -> Health {
    let url = format!("http://127.0.0.1:{port}{path}");
    let started = Instant::now();
    let res = client.get(&url).timeout(timeout).send().await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match res {
        Ok(r) => {
            let status = r.status();
            Health {
                ok: status.is_success(),
                status: Some(status.as_u16()),
                latency_ms,
                error: (!status.is_success()).then(|| format!("HTTP {}", status.as_u16())),
            }
        }
        Err(e) => Health {
            ok: false,
            status: None,
            latency_ms,
            error: Some(if e.is_timeout() {
                format!("no answer within {}ms", timeout.as_millis())
            } else if e.is_connect() {
                "connection refused".to_string()
            } else {
                e.to_string()
            }),
        },
    }
}

/// Status and body of a loopback `GET url`, reading no more than about
/// `cap` bytes (the port may be another program's); the error says why
/// nothing came back. Shared by `doctor` and the upgrade notice.
pub async fn get_capped(
    url: &str,
    timeout: Duration,
    cap: usize,
) -> Result<(u16, Vec<u8>), String> {
    let mut resp = client()
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {}s", timeout.as_secs())
            } else {
                e.to_string()
            }
        })?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > cap {
            break;
        }
    }
    Ok((status, body))
}

/// A client for loopback probes: no proxy (an `http_proxy` must not see
/// them), and plain http only, so no root certificates are read: loading the
/// system's trust store was a tenth of `parachute status`'s CPU.
pub fn client() -> reqwest::Client {
    crate::tls::install_provider();
    reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap_or_default()
}
