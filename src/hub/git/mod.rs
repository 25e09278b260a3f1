//! Hub-authenticated git smart HTTP at `/git/<name>[.git]/*` (seed 003): any
//! client holding a hub token with `surface:<name>:write` pushes, with
//! `surface:<name>:read` (or write) fetches and clones, using plain `git`.
//! The hub stores the bytes in a bare repository per name under
//! `$PARACHUTE_HOME/hub/git` and never builds or runs them.
//!
//! A request goes: path → access (from the path and `service=` only) →
//! token → scope → provision → `git http-backend`. Everything up to the
//! scope check touches no file, so a probe without the right token creates
//! nothing. The backend is git's own CGI program rather than our own
//! `upload-pack`/`receive-pack` plumbing: it already speaks both protocol
//! versions, dumb HTTP and gzip bodies, and there is no Rust server side of
//! the protocol to use instead (gitoxide has none).

mod backend;
pub mod cgi;
pub mod credentials;
pub mod error;
pub mod gate;
pub mod path;
pub mod repo;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use self::error::GitError;
use crate::env_vars;
use crate::hub::state::HubState;
use crate::tokens::audience::Expected;

/// Default cap on one request body: git's own limit for a pack pushed to
/// GitHub.
pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 2 << 30;

/// Default cap on `git http-backend` processes at once (each may run an
/// `upload-pack` or `receive-pack` and a `pack-objects` of its own).
pub const DEFAULT_MAX_BACKENDS: usize = 16;
/// Default longest run of one backend, request body included: a stalled
/// client cannot hold a slot and three processes for longer.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(15 * 60);
/// `Retry-After` on the 429 past the cap.
pub const RETRY_AFTER_SECS: u64 = 5;

/// How the git endpoint runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `git` executable (`http-backend` and `init` are its subcommands).
    pub git: OsString,
    /// `PATH` for git and the hooks it runs.
    pub search_path: OsString,
    /// Largest request body passed to the backend.
    pub max_request_bytes: u64,
    /// Most backends running at once; past it, 429.
    pub max_backends: usize,
    /// Longest run of one backend; past it, its process group is killed.
    pub deadline: Duration,
}

impl Config {
    /// `git` from `PATH`; the cap from `PARACHUTE_GIT_MAX_REQUEST_BYTES`
    /// (a value that does not parse is logged and the default used).
    pub fn from_env() -> Self {
        let max_request_bytes = match std::env::var(env_vars::PARACHUTE_GIT_MAX_REQUEST_BYTES) {
            Ok(v) if !v.trim().is_empty() => parse_size(&v).unwrap_or_else(|| {
                tracing::warn!(
                    value = v,
                    "{} is not a size like `500m` or `2g`; using the default",
                    env_vars::PARACHUTE_GIT_MAX_REQUEST_BYTES
                );
                DEFAULT_MAX_REQUEST_BYTES
            }),
            _ => DEFAULT_MAX_REQUEST_BYTES,
        };
        let max_backends = positive_env(env_vars::PARACHUTE_GIT_MAX_BACKENDS)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(DEFAULT_MAX_BACKENDS);
        let deadline = positive_env(env_vars::PARACHUTE_GIT_DEADLINE_SECS)
            .map_or(DEFAULT_DEADLINE, Duration::from_secs);
        Self {
            git: "git".into(),
            search_path: std::env::var_os("PATH")
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
            max_request_bytes,
            max_backends,
            deadline,
        }
    }
}

/// A positive whole number from `var`; one that does not parse is logged
/// and ignored.
fn positive_env(var: &str) -> Option<u64> {
    let v = std::env::var(var).ok().filter(|v| !v.trim().is_empty())?;
    let n = v.trim().parse::<u64>().ok().filter(|n| *n > 0);
    if n.is_none() {
        tracing::warn!(
            value = v,
            "{var} is not a positive whole number; using the default"
        );
    }
    n
}

/// Bytes, or a number with a binary `k`/`m`/`g` suffix (`512m`, `2G`).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s
        .strip_suffix("ib")
        .or_else(|| s.strip_suffix('b'))
        .unwrap_or(&s);
    let (digits, shift) = match s.as_bytes().last()? {
        b'k' => (&s[..s.len() - 1], 10),
        b'm' => (&s[..s.len() - 1], 20),
        b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_mul(1 << shift).filter(|n| *n > 0)
}

/// The `/git/*` routes, configured from the environment.
pub fn router() -> Router<HubState> {
    router_with(Config::from_env())
}

pub fn router_with(config: Config) -> Router<HubState> {
    let slots = Arc::new(Semaphore::new(config.max_backends));
    let config = Arc::new(config);
    Router::new().route(
        "/git/{*rest}",
        any(move |State(state): State<HubState>, req: Request| {
            let config = Arc::clone(&config);
            let slots = Arc::clone(&slots);
            async move { handle(&state, &config, &slots, req).await }
        }),
    )
}

async fn handle(
    state: &HubState,
    config: &Config,
    slots: &Arc<Semaphore>,
    req: Request,
) -> Response {
    serve(state, config, slots, req)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The request's path, access, token and scope, then its size and a
/// backend slot, then the repository, then the backend.
async fn serve(
    state: &HubState,
    config: &Config,
    slots: &Arc<Semaphore>,
    req: Request,
) -> Result<Response, GitError> {
    // Split off the body: it is `Send` but not `Sync`, and the parts are
    // borrowed across awaits below.
    let (parts, body) = req.into_parts();
    let route = path::parse(parts.uri.path()).ok_or(GitError::NotFound)?;
    let service = path::service(parts.uri.query())
        .map_err(|_| GitError::BadRequest("the query names `service` more than once"))?;
    let access = path::required_access(route.subpath, service.as_deref());
    let claims = gate::admit(
        credentials::extract_token(&parts.headers).as_deref(),
        |token| state.validate(token, Expected::Git),
        &route.name,
        access,
    )?;
    let content_length = content_length(&parts.headers, config.max_request_bytes)?;
    let slot = take_slot(slots, config, &route.name)?;
    let root = state.paths().git_root();
    provision(&root, config, &route.name, &claims.sub).await?;
    let env = cgi_env(&parts, &root, config, &route, &claims.sub, content_length);
    let run = backend::Run {
        program: &config.git,
        env,
        repo: &route.name,
        subpath: route.subpath,
        subject: &claims.sub,
        limit: config.max_request_bytes,
        deadline: config.deadline,
    };
    backend::respond(run, slot, body).await
}

/// The CGI environment of the backend for this request.
fn cgi_env(
    parts: &Parts,
    root: &Path,
    config: &Config,
    route: &path::GitPath<'_>,
    subject: &str,
    content_length: Option<u64>,
) -> Vec<(&'static str, OsString)> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    cgi::env(&cgi::CgiRequest {
        project_root: root,
        search_path: &config.search_path,
        name: &route.name,
        subpath: route.subpath,
        method: parts.method.as_str(),
        query: parts.uri.query().unwrap_or_default(),
        content_type: header("content-type"),
        content_length,
        content_encoding: header("content-encoding"),
        git_protocol: header("git-protocol"),
        remote_user: subject,
        remote_addr: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
    })
}

/// The declared body size, refused past `limit` before anything runs.
fn content_length(headers: &HeaderMap, limit: u64) -> Result<Option<u64>, GitError> {
    let declared = match headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| GitError::BadRequest("Content-Length is not a number"))?,
        ),
        None => None,
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(GitError::TooLarge(limit));
    }
    Ok(declared)
}

/// A slot for the backend's whole life (it travels with the response
/// body); none free means the hub is as busy as it will get.
fn take_slot(
    slots: &Arc<Semaphore>,
    config: &Config,
    repo: &str,
) -> Result<OwnedSemaphorePermit, GitError> {
    Arc::clone(slots).try_acquire_owned().map_err(|_| {
        tracing::warn!(repo, max = config.max_backends, "git backend cap reached");
        GitError::Busy {
            max: config.max_backends,
            retry_after_secs: RETRY_AFTER_SECS,
        }
    })
}

/// Create the bare repository on first use (logged with who caused it).
async fn provision(
    root: &Path,
    config: &Config,
    repo: &str,
    subject: &str,
) -> Result<(), GitError> {
    match repo::ensure(root, repo, &config.git, &config.search_path).await {
        Ok(true) => tracing::info!(
            repo,
            subject,
            path = %root.join(format!("{repo}.git")).display(),
            "provisioned git repository"
        ),
        Ok(false) => {}
        Err(e) => {
            tracing::error!(repo, error = %e, "cannot provision git repository");
            return Err(GitError::Internal("could not provision the repository"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
