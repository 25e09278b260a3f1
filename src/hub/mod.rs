//! The hub daemon, assembled from parts: [`router`] builds the HTTP surface
//! from a [`HubState`] (tests drive it with `oneshot`), [`serve`] runs it on a
//! listener handed in from outside (fd 3 from systemd, `127.0.0.1:0` in
//! tests). The process around it — socket, `sd_notify`, signals, idle exit —
//! is `cli::serve`.

pub mod activity;
pub mod bearer;
pub mod connections;
pub mod csrf;
pub mod edge;
pub mod error;
pub mod git;
mod health;
pub mod listener;
pub mod notify;
pub mod oauth;
pub mod pages;
pub mod ratelimit;
pub mod session;
mod tokens;
mod wellknown;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};

pub use self::activity::Activity;
pub use self::bearer::{Bearer, HubApi};
use crate::oauth::refresh::Recent;
use crate::paths::Paths;
use crate::store::{self, Store};
use crate::tokens::audience::{self, Expected, Verdict};
use crate::tokens::keys::{self, Verifier};
use crate::tokens::{Claims, Issuers, Reject, jwt};

/// Largest form or JSON body any endpoint reads (413 beyond it): the
/// biggest honest one, a registration with ten redirect URIs, is a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How often the hub forgets expired rows (`store::reap`); also once at startup.
pub const REAP_EVERY: Duration = Duration::from_secs(10 * 60);
/// `service` in `/health`.
pub const SERVICE: &str = "parachute-hub";
/// How long a store check result is reused: `/health` must stay cheap under
/// load, and a fault still shows within a second.
const CHECK_TTL: Duration = Duration::from_secs(1);
/// At most one key reload from the store per this interval when a token
/// names an unknown `kid` (a rotation by the CLI, or garbage).
const KEY_RELOAD_EVERY: Duration = Duration::from_secs(1);
/// Tokens whose signature was verified, remembered so a client presenting
/// the same token again skips the RSA work (time, issuer, revocation and
/// audience are still checked on every request). Cleared when full.
const VERIFIED_CACHE: usize = 256;

/// Everything a request handler may need. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HubState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    paths: Paths,
    issuers: Issuers,
    activity: Arc<Activity>,
    started: Instant,
    keys: RwLock<Arc<Vec<Verifier>>>,
    keys_loaded: Mutex<Instant>,
    verified: Mutex<HashMap<String, Arc<Claims>>>,
    check: Mutex<Option<(Instant, Result<(), String>)>>,
    edge: OnceLock<edge::Edge>,
    refreshes: Recent<oauth::token::Issued>,
}

impl HubState {
    /// Keys are loaded now; a store without any cannot validate tokens until
    /// one is made (`init`, `set-password` or `serve` make one).
    pub fn new(store: Store, paths: Paths, issuers: Issuers) -> Result<Self, store::StoreError> {
        let verifiers = {
            let conn = store.conn()?;
            keys::verifiers(&conn, crate::tokens::now()).map_err(|e| store.other(e))?
        };
        Ok(Self(Arc::new(Inner {
            store,
            paths,
            issuers,
            activity: Arc::new(Activity::default()),
            started: Instant::now(),
            keys: RwLock::new(Arc::new(verifiers)),
            keys_loaded: Mutex::new(Instant::now()),
            verified: Mutex::new(HashMap::new()),
            check: Mutex::new(None),
            edge: OnceLock::new(),
            refreshes: Recent::default(),
        })))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn paths(&self) -> &Paths {
        &self.0.paths
    }

    pub fn issuers(&self) -> &Issuers {
        &self.0.issuers
    }

    /// Set the operator's edge settings (once, before serving; the default
    /// trusts no proxy and allows no extra host).
    pub fn set_edge(&self, edge: edge::Edge) {
        let _ = self.0.edge.set(edge);
    }

    pub fn edge(&self) -> &edge::Edge {
        static NONE: OnceLock<edge::Edge> = OnceLock::new();
        self.0
            .edge
            .get()
            .unwrap_or_else(|| NONE.get_or_init(edge::Edge::default))
    }

    /// The answers of recent refresh rotations (the reuse grace).
    pub fn refreshes(&self) -> &Recent<oauth::token::Issued> {
        &self.0.refreshes
    }

    /// Open connections, for `--idle-exit`.
    pub fn activity(&self) -> &Arc<Activity> {
        &self.0.activity
    }

    pub fn uptime(&self) -> Duration {
        self.0.started.elapsed()
    }

    /// Whether the store is usable, checked at most once per [`CHECK_TTL`].
    pub fn store_check(&self) -> Result<(), String> {
        let Ok(mut slot) = self.0.check.lock() else {
            return self.0.store.check();
        };
        if let Some((at, result)) = slot.as_ref()
            && at.elapsed() < CHECK_TTL
        {
            return result.clone();
        }
        let result = self.0.store.check();
        *slot = Some((Instant::now(), result.clone()));
        result
    }

    /// Validate the bearer token of a request to an endpoint that expects
    /// `expected` audiences: [`Self::live`], then `aud` as
    /// [`audience::judge`] says (a vault audience at the hub's APIs only on
    /// a token whose registry row names no resource).
    pub fn validate(&self, token: &str, expected: Expected) -> Result<Claims, Reject> {
        let claims = self.live(token)?;
        let ok = match audience::judge(expected, &claims.aud) {
            Verdict::Accept => true,
            Verdict::AcceptUnbound => !self.resource_bound(&claims)?,
            Verdict::Refuse => false,
        };
        if ok {
            Ok(claims)
        } else {
            Err(Reject::Audience(claims.aud))
        }
    }

    /// A token's claims if it is live (signature, time, issuer, not
    /// revoked; see [`jwt::validate`]), whatever its audience. For tokens a
    /// request is *about* (revocation, introspection); a token that
    /// authorizes a request goes through [`Self::validate`].
    pub fn live(&self, token: &str) -> Result<Claims, Reject> {
        let now = crate::tokens::now();
        let claims = self.verified_claims(token, now)?;
        jwt::check_claims(
            &claims,
            jwt::Expect {
                issuers: self.0.issuers.accepted(),
                audience: None,
                now,
            },
            |jti| {
                let conn = self.0.store.conn().map_err(|e| e.to_string())?;
                store::tokens::is_revoked(&conn, jti).map_err(|e| e.to_string())
            },
        )?;
        Ok(Claims::clone(&claims))
    }

    /// Was the token issued for an RFC 8707 resource (its registry row says)?
    fn resource_bound(&self, claims: &Claims) -> Result<bool, Reject> {
        let jti = claims.jti.as_deref().unwrap_or_default();
        let conn = self
            .0
            .store
            .conn()
            .map_err(|e| Reject::Registry(e.to_string()))?;
        store::tokens::resource(&conn, jti)
            .map(|r| r.is_some())
            .map_err(|e| Reject::Registry(e.to_string()))
    }

    /// The token's claims once its signature checks out, from the cache of
    /// verified tokens or by verifying now (reloading keys on an unknown kid).
    fn verified_claims(&self, token: &str, now: i64) -> Result<Arc<Claims>, Reject> {
        if let Some(c) = self
            .0
            .verified
            .lock()
            .ok()
            .and_then(|m| m.get(token).cloned())
        {
            return Ok(c);
        }
        let claims = match jwt::verify_signature(token, &self.current_keys()) {
            Err(Reject::UnknownKey) if self.reload_keys(now) => {
                jwt::verify_signature(token, &self.current_keys())
            }
            other => other,
        }?;
        let claims = Arc::new(claims);
        if let Ok(mut m) = self.0.verified.lock() {
            if m.len() >= VERIFIED_CACHE {
                m.clear();
            }
            m.insert(token.to_string(), Arc::clone(&claims));
        }
        Ok(claims)
    }

    fn current_keys(&self) -> Arc<Vec<Verifier>> {
        self.0
            .keys
            .read()
            .map(|k| Arc::clone(&k))
            .unwrap_or_default()
    }

    /// Reload the published keys if the last reload is old enough; returns
    /// whether it did.
    fn reload_keys(&self, now: i64) -> bool {
        let Ok(mut loaded) = self.0.keys_loaded.lock() else {
            return false;
        };
        if loaded.elapsed() < KEY_RELOAD_EVERY {
            return false;
        }
        *loaded = Instant::now();
        let fresh = self
            .0
            .store
            .conn()
            .map_err(|e| e.to_string())
            .and_then(|c| keys::verifiers(&c, now).map_err(|e| e.to_string()));
        match fresh {
            Ok(v) => {
                if let Ok(mut k) = self.0.keys.write() {
                    *k = Arc::new(v);
                }
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot reload signing keys");
                false
            }
        }
    }
}

/// The hub's HTTP surface.
pub fn router(state: HubState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/api/ready", get(health::ready))
        .route(
            "/.well-known/jwks.json",
            get(wellknown::jwks).options(wellknown::preflight),
        )
        .route(
            "/.well-known/parachute.json",
            get(wellknown::discovery).options(wellknown::preflight),
        )
        .route(
            "/.well-known/parachute-revocation.json",
            get(tokens::revocation_list).options(wellknown::preflight),
        )
        .route("/api/revocation-list", get(tokens::revocation_list))
        .route("/api/auth/tokens", get(tokens::list))
        .route("/api/auth/revoke-token", post(tokens::revoke))
        .merge(git::router())
        .merge(oauth::routes())
        .merge(pages::routes())
        .fallback(|| async { error::ApiError::NotFound("no such endpoint".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            oauth::challenge,
        ))
        // Every Form/Json/Bytes body the hub reads is small; git streams
        // its own bodies (under `PARACHUTE_GIT_MAX_REQUEST_BYTES`).
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            edge::host_check,
        ))
        .with_state(state)
}

/// Forget expired rows now and every [`REAP_EVERY`], on the hub's clock;
/// each pass also runs `PRAGMA quick_check` (too slow for every `/health`)
/// and logs a fault it finds.
pub async fn reaper(state: HubState) {
    let mut tick = tokio::time::interval(REAP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = state.clone();
        let pass = tokio::task::spawn_blocking(move || {
            let store = s.store();
            let now = crate::tokens::now();
            let reaped = store.write(|tx| store::reap::reap(tx, now).map_err(|e| store.err(e)));
            (reaped, store.quick_check())
        })
        .await;
        match pass {
            Ok((Ok(r), check)) => {
                if r.total() > 0 {
                    tracing::info!(?r, "expired rows reaped");
                }
                if let Err(fault) = check {
                    tracing::error!(fault, "store integrity check failed");
                }
            }
            Ok((Err(e), _)) => tracing::warn!(error = %e, "reaping expired rows failed"),
            Err(e) => tracing::warn!(error = %e, "the reaper task failed"),
        }
    }
}

/// Serve `router(state)` on `listener` until `shutdown` resolves, then stop
/// accepting and let in-flight requests finish (the caller bounds the wait).
/// Connections are bounded as [`connections`] describes.
pub async fn serve(
    state: HubState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let nofile = connections::raise_fd_limit();
    let max = connections::cap(nofile);
    tracing::debug!(nofile, max_connections = max, "connection limits");
    let listener = activity::CountingListener::new(listener, Arc::clone(state.activity()));
    connections::serve(router(state), listener, max, shutdown).await
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
