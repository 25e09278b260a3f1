//! `parachute serve`: the hub daemon in the foreground. Under systemd it is
//! socket-activated (`parachute-hub.socket` passes fd 3) and `Type=notify`;
//! run by hand it binds `PARACHUTE_BIND_HOST:PORT` itself.
//!
//! Order matters: the socket is taken before the async runtime exists (see
//! `hub::listener`), `READY=1` goes out only once the store is migrated and
//! the server is accepting, SIGTERM stops accepting and drains in-flight
//! requests for at most [`DRAIN`], and `--idle-exit` ends a socket-activated
//! hub that has had no open connection for a while (systemd starts it again
//! on the next connection, which waits in the socket's backlog meanwhile).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use super::Context;
use crate::env_vars;
use crate::error::Error;
use crate::hub::state::HubState;
use crate::hub::{self, listener, notify};
use crate::store::Store;
use crate::tokens::{Issuers, keys};

/// Longest wait for in-flight requests after SIGTERM.
pub const DRAIN: Duration = Duration::from_secs(10);
/// After the drain, how long a handler still running on the work runtime
/// (a store call, a journal read) is given before the process exits.
const WORK_SHUTDOWN: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// When socket-activated, exit after SECS without any open connection;
    /// systemd starts the hub again on the next one.
    #[arg(long, value_name = "SECS")]
    pub idle_exit: Option<u64>,
    /// Address to bind when systemd did not pass a socket.
    #[arg(long, env = env_vars::PARACHUTE_BIND_HOST, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to bind when systemd did not pass a socket (0 picks a free one;
    /// default: the port set by `parachute init --port <N>`, else 1939).
    #[arg(long, env = env_vars::PORT)]
    pub port: Option<u16>,
}

/// The process entry point: called by `cli::main` before any runtime exists.
pub fn main(args: &ServeArgs) -> ExitCode {
    init_logging();
    let result = (|| {
        let cx = Context::from_env()?;
        let socket = listener::take(SocketAddr::new(args.host, args.port.unwrap_or(cx.hub_port)))?;
        let setup = |source| Error::ServeSetup {
            what: "start the async runtime",
            source,
        };
        // Connections and the proxy on this thread, the hub's own handlers
        // on the work runtime (`hub::work` says why).
        let work = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("parachute-work")
            .enable_all()
            .build()
            .map_err(setup)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(setup)?;
        let code = runtime.block_on(run_on(&cx, args, socket, Some(work.handle().clone())));
        drop(runtime);
        // The drain is over; a store call still running is not waited for long.
        work.shutdown_timeout(WORK_SHUTDOWN);
        code
    })();
    match result {
        Ok(code) => code,
        // Printed once, by the one translator (journald keeps stderr).
        Err(e) => super::report(&e),
    }
}

/// The same, from inside a running runtime (library callers).
pub async fn run(cx: &Context, args: &ServeArgs) -> Result<ExitCode, Error> {
    let socket = listener::take(SocketAddr::new(args.host, args.port.unwrap_or(cx.hub_port)))?;
    run_on(cx, args, socket, None).await
}

async fn run_on(
    cx: &Context,
    args: &ServeArgs,
    socket: listener::Listening,
    work: Option<tokio::runtime::Handle>,
) -> Result<ExitCode, Error> {
    // Before anything else: a SIGTERM that arrives while starting up must
    // take the graceful path, not the default action.
    let mut term = signal(SignalKind::terminate()).map_err(signal_err)?;
    let mut int = signal(SignalKind::interrupt()).map_err(signal_err)?;
    let activated = socket.source == listener::Source::Activated;
    tracing::info!(
        addr = %socket.addr,
        activated,
        version = crate::version::VERSION,
        home = %cx.paths.home.display(),
        "starting"
    );
    notify::status("opening the store");
    cx.paths.ensure_home()?;
    let store = Store::open(&cx.paths.hub_db())?;
    // The hub's one wall clock: every handler reads time from the state.
    let clock = cx.clock.clone();
    // JWKS must never be empty: a fresh store gets its first key now.
    store.write(|tx| {
        keys::ensure_active(tx, clock.now())
            .map(drop)
            .map_err(|e| store.other(e))
    })?;
    let mut ports = vec![cx.hub_port];
    ports.extend(socket_ports(&socket));
    let issuers = Issuers::new(&cx.hub_origin, &ports);
    let state = HubState::with_clock(store, cx.paths.clone(), issuers, clock)?;
    state.set_edge(hub::edge::Edge::from_env()?);
    state.set_machine(cx.machine());
    if let Some(work) = work {
        state.set_work(work);
    }

    let addr = socket.addr;
    let listeners = for_tokio(socket)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(serve_all(state.clone(), listeners, stop_rx));
    let serving = format!("serving on {addr}");
    notify::ready(&serving);
    tracing::info!(addr = %addr, issuer = state.issuers().primary(), "ready");

    // The hub's chores block now and then (files, the store): not on the
    // connections' thread.
    let chores = state.work();
    chores.spawn(hub::reaper(state.clone()));
    chores.spawn(hub::proxy::idle::reaper(state.clone()));
    if let crate::lifecycle::backend::Backend::Launchd(l) = cx.init_lazy() {
        chores.spawn(rotate_logs(l.layout.logs_dir.clone()));
    }
    if let Some(every) = notify::watchdog_interval() {
        chores.spawn(watchdog(state.clone(), every));
    }
    let idle = match args.idle_exit {
        Some(secs) if activated => Some(Duration::from_secs(secs)),
        Some(_) => {
            tracing::info!("--idle-exit applies only when socket-activated; ignoring it");
            None
        }
        None => None,
    };

    let why = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        () = idle_for(&state, idle) => "idle",
        r = &mut server => {
            // The server ended on its own: that is a failure.
            let detail = match r {
                Ok(Ok(())) => "the server stopped unexpectedly".to_string(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            };
            notify::stopping(&detail);
            return Err(Error::ServerStopped { addr: addr.to_string(), detail });
        }
    };
    let open = state.activity().open_connections();
    tracing::info!(reason = why, open_connections = open, "stopping");
    notify::stopping(&format!("stopping ({why}), draining {open} connection(s)"));
    let _ = stop_tx.send(true);
    state.close_streams();
    if tokio::time::timeout(DRAIN, &mut server).await.is_ok() {
        tracing::info!("stopped");
    } else {
        tracing::warn!(
            open_connections = state.activity().open_connections(),
            "drain took longer than {}s; exiting anyway",
            DRAIN.as_secs()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn signal_err(source: std::io::Error) -> Error {
    Error::ServeSetup {
        what: "install the SIGTERM/SIGINT handlers",
        source,
    }
}

/// The port of every socket the hub serves: each is this hub's (launchd
/// may pass several).
fn socket_ports(socket: &listener::Listening) -> Vec<u16> {
    std::iter::once(socket.addr.port())
        .chain(
            socket
                .extra
                .iter()
                .filter_map(|l| l.local_addr().ok())
                .map(|a| a.port()),
        )
        .collect()
}

/// Every socket, handed to tokio.
fn for_tokio(socket: listener::Listening) -> Result<Vec<tokio::net::TcpListener>, Error> {
    std::iter::once(socket.listener)
        .chain(socket.extra)
        .map(|l| {
            tokio::net::TcpListener::from_std(l).map_err(|source| Error::ServeSetup {
                what: "serve the listening socket",
                source,
            })
        })
        .collect()
}

/// One server per listening socket (launchd may pass several), on the one
/// state (so `--idle-exit` counts connections on all of them), all stopped
/// by the same signal. Ends when one fails, or when all have drained.
async fn serve_all(
    state: HubState,
    listeners: Vec<tokio::net::TcpListener>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let servers = listeners.into_iter().map(|l| {
        let mut stop = stop.clone();
        hub::serve(state.clone(), l, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
    });
    futures_util::future::try_join_all(servers).await.map(drop)
}

/// launchd appends to the agents' log files forever; the hub caps them.
async fn rotate_logs(dir: std::path::PathBuf) {
    use crate::lifecycle::launchd::logs;
    loop {
        for p in logs::rotate_dir(&dir, logs::ROTATE_BYTES, logs::ROTATE_KEEP) {
            tracing::info!(log = %p.display(), "rotated");
        }
        tokio::time::sleep(logs::ROTATE_EVERY).await;
    }
}

/// Resolves once there has been no open connection for `idle` (never when `None`).
async fn idle_for(state: &HubState, idle: Option<Duration>) {
    let Some(idle) = idle else {
        return std::future::pending().await;
    };
    let tick = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        tokio::time::sleep(tick).await;
        if state.activity().idle_for().is_some_and(|d| d >= idle)
            && !hub::proxy::idle::stop_pending(state).await
        {
            return;
        }
    }
}

/// Ping the watchdog from the serving runtime, after checking the store, so
/// a wedged runtime or a lost store is noticed by systemd.
async fn watchdog(state: HubState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match state.store_check() {
            Ok(()) => notify::watchdog(),
            Err(fault) => {
                // Keep pinging: the process is healthy and /health reports the
                // fault; restarting would not bring a deleted store back.
                notify::status(&format!("store unusable: {fault}"));
                notify::watchdog();
            }
        }
    }
}

/// Structured lines on stderr (journald stores them for the unit). Under
/// journald the timestamps are its own.
fn init_logging() {
    let level = std::env::var(env_vars::PARACHUTE_LOG)
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(level);
    let _ = if std::env::var_os(env_vars::JOURNAL_STREAM).is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}
