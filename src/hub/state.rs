//! [`HubState`]: everything a request handler may need, shared by every
//! route (and by the proxy and admin pages to come). Kept apart from
//! [`super::router`] so handlers import state, not the router's module.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use super::activity::Activity;
use super::edge;
use super::proxy::book::OnDemand;
use super::proxy::upstream::Upstream;
use super::registry::Registry;
use crate::clock::Clock;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::ops::{Host, Machine};
use crate::oauth::refresh::{Issued, Recent};
use crate::paths::Paths;
use crate::store::{self, Store};
use crate::tokens::audience::{self, Expected, Verdict};
use crate::tokens::keys::{self, Verifier};
use crate::tokens::ticket::Tickets;
use crate::tokens::{Claims, Issuers, Reject, jwt};

/// How long a store check result is reused: `/health` must stay cheap under
/// load, and a fault still shows within a second.
const CHECK_TTL: Duration = Duration::from_secs(1);
/// At most one key reload from the store per this interval when a token
/// names an unknown `kid` (a rotation by the CLI, or garbage).
pub(crate) const KEY_RELOAD_EVERY: Duration = Duration::from_secs(1);
/// Tokens whose signature was verified, remembered so a client presenting
/// the same token again skips the RSA work (time, issuer, revocation and
/// audience are still checked on every request). Cleared when full.
const VERIFIED_CACHE: usize = 256;

/// Most log streams (`hub::log_stream`) open at once.
pub const MAX_LOG_STREAMS: usize = 16;

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
    /// When keys were last reloaded for an unknown kid (none yet: the first
    /// unknown kid reloads at once, even right after the hub started).
    keys_loaded: Mutex<Option<Instant>>,
    verified: Mutex<HashMap<String, Arc<Claims>>>,
    check: Mutex<Option<(Instant, Result<(), String>)>>,
    edge: OnceLock<edge::Edge>,
    machine: OnceLock<Machine<Backend>>,
    work: OnceLock<tokio::runtime::Handle>,
    refreshes: Recent<Issued>,
    clock: Clock,
    registry: Registry,
    upstream: Upstream,
    on_demand: OnDemand,
    tickets: Tickets,
    log_streams: Arc<tokio::sync::Semaphore>,
    closing: tokio::sync::watch::Sender<bool>,
}

impl HubState {
    /// Keys are loaded now; a store without any cannot validate tokens until
    /// one is made (`init`, `set-password` or `serve` make one).
    pub fn new(store: Store, paths: Paths, issuers: Issuers) -> Result<Self, store::StoreError> {
        Self::with_clock(store, paths, issuers, Clock::system())
    }

    /// [`Self::new`] on a given clock (tests pin and move time with it).
    pub fn with_clock(
        store: Store,
        paths: Paths,
        issuers: Issuers,
        clock: Clock,
    ) -> Result<Self, store::StoreError> {
        let verifiers = {
            let conn = store.conn()?;
            keys::verifiers(&conn, clock.now()).map_err(|e| store.other(e))?
        };
        let registry = Registry::new(paths.services_json());
        Ok(Self(Arc::new(Inner {
            store,
            registry,
            upstream: Upstream::new(),
            on_demand: OnDemand::default(),
            tickets: Tickets::default(),
            log_streams: Arc::new(tokio::sync::Semaphore::new(MAX_LOG_STREAMS)),
            closing: tokio::sync::watch::Sender::new(false),
            paths,
            issuers,
            activity: Arc::new(Activity::default()),
            started: Instant::now(),
            keys: RwLock::new(Arc::new(verifiers)),
            keys_loaded: Mutex::new(None),
            verified: Mutex::new(HashMap::new()),
            check: Mutex::new(None),
            edge: OnceLock::new(),
            machine: OnceLock::new(),
            work: OnceLock::new(),
            refreshes: Recent::default(),
            clock,
        })))
    }

    /// The wall clock every handler reads `now` from.
    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    /// services.json, cached and reloaded when it changes.
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// The outstanding one-time SSE tickets.
    pub fn tickets(&self) -> &Tickets {
        &self.0.tickets
    }

    /// Permits for open log streams (at most [`MAX_LOG_STREAMS`]).
    pub fn log_streams(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.0.log_streams
    }

    /// Tell the hub's endless responses (log streams) to end: the hub is
    /// stopping, and would otherwise wait out its whole drain for them.
    pub fn close_streams(&self) {
        self.0.closing.send_replace(true);
    }

    /// Becomes `true` when [`Self::close_streams`] is called.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.closing.subscribe()
    }

    /// The proxy's pooled connections to the modules.
    pub fn upstream(&self) -> &Upstream {
        &self.0.upstream
    }

    /// Starting modules on demand and stopping idle ones.
    pub fn on_demand(&self) -> &OnDemand {
        &self.0.on_demand
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

    /// Give the hub this machine's init system (once, before serving), so
    /// it can run lifecycle operations: start on demand, the admin pages.
    pub fn set_machine(&self, machine: Machine<Backend>) {
        let _ = self.0.machine.set(machine);
    }

    /// A [`Host`] for one lifecycle operation; `None` when the hub was
    /// given no init system (unit tests of handlers).
    pub fn host(&self) -> Option<Host<'_, Backend>> {
        let m = self.0.machine.get()?;
        Some(m.host(&self.0.paths, &self.0.clock))
    }

    /// Run the hub's own handlers on `work` (once, before serving; see
    /// [`super::work`]).
    pub fn set_work(&self, work: tokio::runtime::Handle) {
        let _ = self.0.work.set(work);
    }

    /// The runtime the hub's own handlers run on: the one [`Self::set_work`]
    /// gave, else the caller's (library callers and unit tests, which run
    /// everything on one runtime). Called only from inside a runtime.
    pub fn work(&self) -> tokio::runtime::Handle {
        self.0
            .work
            .get()
            .cloned()
            .unwrap_or_else(tokio::runtime::Handle::current)
    }

    /// The answers of recent refresh rotations (the reuse grace).
    pub fn refreshes(&self) -> &Recent<Issued> {
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
        let now = self.0.clock.now();
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
        if loaded.is_some_and(|at| at.elapsed() < KEY_RELOAD_EVERY) {
            return false;
        }
        *loaded = Some(Instant::now());
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
