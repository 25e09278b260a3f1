//! `init`: the first run, as an operation. Creates `$PARACHUTE_HOME` and
//! the hub store, the hub's port setting, the owner, a signing key and the operator
//! token ([`data`]); then writes and enables the hub's units (or agent),
//! starts its socket and asks whether `/health` answers through it (which
//! activates the hub). Every step looks before it acts, so a second run
//! changes nothing and the [`Report`] says so.
//!
//! The caller keeps the terminal: it prompts for the owner's password and
//! checks `/health` over HTTP through [`Hooks`], and presents the report.

mod data;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::Error;
use crate::health::Health;
use crate::identity::password::Password;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::spec::SpecContext;
use crate::lifecycle::{InitError, InitSystem, JobResult, Kind, hub, hub_store};

use super::Host;

/// What `init` was asked (flags and environment, read by the caller).
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The owner's username, used when the hub has no owner yet.
    pub username: &'a str,
    /// The password comes on stdin: with an owner already there it is not
    /// read, and the caller is told so.
    pub password_stdin: bool,
    /// Write and enable the units, but do not start the socket.
    pub no_start: bool,
    /// `--port`: move the hub there.
    pub port: Option<u16>,
    /// The port when neither `--port`, the store nor the installed units
    /// name one (`PORT`, as `serve` reads it, else 1939).
    pub default_port: u16,
    /// `PARACHUTE_HUB_ORIGIN` when set: the origin then does not follow the port.
    pub origin: Option<&'a str>,
}

/// What `init` asks of its caller: the terminal and the network.
#[allow(async_fn_in_trait)]
pub trait Hooks {
    /// Something to tell the user now, before the summary.
    fn note(&mut self, note: Note);
    /// The new owner's password; asked only when the hub has no owner.
    fn owner_password(&mut self, username: &str) -> Result<Password, Error>;
    /// `/health` through the hub's socket at `listen`.
    async fn health(&self, listen: SocketAddr) -> Health;
}

/// Said as it happens, before the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// `--username` named someone else: it applies only to a new hub.
    OwnerIsAlready { owner: String },
    /// The hub has an owner: the password on stdin was not read.
    PasswordUnused { owner: String },
}

/// One thing `init` changed, in the order it did them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Made room for a new store (see [`hub_store::prepare_new`]), as it says.
    Prepared(String),
    CreatedHome(PathBuf),
    CreatedStore(PathBuf),
    MovedPort {
        from: u16,
        to: u16,
    },
    /// A first store on a port other than 1939.
    SetPort(u16),
    CreatedOwner(String),
    /// The operator token written with a new owner.
    WroteOperatorToken,
    MadeKey,
    /// The token on disk was missing, invalid or due for renewal.
    FreshOperatorToken,
    /// What the init system changed of the hub's units, as it says.
    Units(String),
    StartedListener {
        listener: &'static str,
        listen: SocketAddr,
    },
}

/// How `init` ended.
#[derive(Debug)]
pub enum End {
    /// No user manager answered: the data is ready, the hub can run in the foreground.
    NoManager { reason: String },
    /// Reaching the manager failed otherwise (the data is ready).
    ManagerFailed(Error),
    /// `--no-start`: the units are written and enabled.
    NotStarted { kind: Kind },
    /// The socket (or agent) did not start: the port is likely taken.
    ListenerFailed {
        kind: Kind,
        listen: SocketAddr,
        result: JobResult,
    },
    /// The socket is up, but `/health` did not answer through it.
    Unhealthy {
        kind: Kind,
        listen: SocketAddr,
        error: String,
    },
    Healthy {
        kind: Kind,
        listen: SocketAddr,
        latency_ms: u64,
    },
}

/// What `init` did.
#[derive(Debug)]
pub struct Report {
    /// Empty when everything was in place already.
    pub changed: Vec<Step>,
    pub end: End,
}

/// Run `init` over `host` (whose port it may move: it renders and issues
/// tokens with the port it settles on). `manager` is whether the init
/// system's manager answered; without one only the data is made.
pub async fn run<I: InitSystem>(
    host: &Host<'_, I>,
    manager: Result<(), Error>,
    inputs: &Inputs<'_>,
    hooks: &mut impl Hooks,
) -> Result<Report, Error> {
    let mut changed = Vec::new();
    // A hub still serving a deleted store must stop before a new one is made.
    let running = (manager.is_ok() && host.has(HUB_SERVICE)).then_some(host.init);
    if host.paths().home.is_dir() {
        let done = hub_store::prepare_new(&host.paths().hub_db(), running).await?;
        changed.extend(done.into_iter().map(Step::Prepared));
    }
    let store = data::ensure_store(host.paths(), &mut changed)?;
    let port = data::ensure_port(host, inputs, &store, &mut changed)?;
    let origin = inputs
        .origin
        .map_or_else(|| format!("http://127.0.0.1:{port}"), str::to_string);
    // Everything below (tokens, units, the health check) uses that port.
    let host = &on_port(host, port, &origin);
    data::ensure_owner(host, inputs, &store, hooks, &mut changed).await?;
    data::ensure_key(&store, host.clock.now(), &mut changed)?;
    data::ensure_operator_token(host, &store, &mut changed)?;
    let end = match manager {
        Ok(()) => bring_up(host, inputs.no_start, hooks, &mut changed).await?,
        Err(Error::Init(InitError::Unreachable { reason })) => End::NoManager { reason },
        Err(e) => End::ManagerFailed(e),
    };
    Ok(Report { changed, end })
}

/// `host` with the hub on `port`, told to modules as `origin`.
fn on_port<'b, I: InitSystem>(host: &'b Host<'_, I>, port: u16, origin: &'b str) -> Host<'b, I> {
    Host {
        init: host.init,
        spec: SpecContext {
            hub_origin: origin,
            ..host.spec.clone()
        },
        hub_port: port,
        clock: host.clock,
        settle: host.settle,
        linger_warned: host.linger_warned,
    }
}

/// The hub's units for this binary and port, then (unless `no_start`) the
/// socket started and `/health` asked through it.
async fn bring_up<I: InitSystem>(
    host: &Host<'_, I>,
    no_start: bool,
    hooks: &impl Hooks,
    changed: &mut Vec<Step>,
) -> Result<End, Error> {
    let listen = hub::listen_addr(host.hub_port);
    let spec = hub::spec(
        host.paths(),
        hub::current_exe()?,
        listen.port(),
        host.spec.hub_origin,
    );
    let lines = hub::ensure_units(host.paths(), host.init, &spec).await?;
    changed.extend(lines.into_iter().map(Step::Units));
    let kind = host.init.kind();
    if no_start {
        return Ok(End::NotStarted { kind });
    }
    if !host.init.state(HUB_SOCKET).await?.is_active() {
        let result = host.init.start(HUB_SOCKET).await?;
        if !result.is_ok() {
            return Ok(End::ListenerFailed {
                kind,
                listen,
                result,
            });
        }
        let listener = kind.hub_listener();
        changed.push(Step::StartedListener { listener, listen });
    }
    let health = hooks.health(listen).await;
    Ok(if health.ok {
        End::Healthy {
            kind,
            listen,
            latency_ms: health.latency_ms,
        }
    } else {
        End::Unhealthy {
            kind,
            listen,
            error: health.error.unwrap_or_default(),
        }
    })
}
