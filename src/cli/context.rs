//! What every command needs: resolved paths, the environment it renders units
//! from, and a way to reach the init system.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::clock::Clock;
use crate::env_vars;
use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::inventory::Inventory;
use crate::lifecycle::ops::{Host, Machine};
use crate::lifecycle::spec::SpecContext;
use crate::manifest::Services;
use crate::paths::Paths;
use crate::ports;

#[derive(Debug, Clone)]
pub struct Context {
    pub paths: Paths,
    pub user_home: PathBuf,
    /// The port the hub listens on: the store's `hub_port` setting
    /// (`parachute init --port N`), else the installed socket's, else 1939.
    pub hub_port: u16,
    /// The origin modules are told the hub lives at.
    pub hub_origin: String,
    pub search_path: String,
    /// How long a started service must stay up to count as started.
    pub settle: Duration,
    /// The wall clock every command reads time from.
    pub clock: Clock,
}

impl Context {
    pub fn from_env() -> Result<Self, Error> {
        let paths = Paths::from_env()?;
        let user_home =
            std::env::var_os(env_vars::HOME).map_or_else(|| paths.home.clone(), PathBuf::from);
        // The installed socket says where the hub is when the store is gone.
        let hub_port = crate::store::settings::hub_port(&paths.hub_db())
            .or_else(|| Backend::installed_hub_port_on_disk(&paths))
            .unwrap_or(ports::HUB);
        let hub_origin = origin_for(hub_port);
        let settle_ms = std::env::var(env_vars::PARACHUTE_START_SETTLE_MS)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000);
        Ok(Self {
            paths,
            user_home,
            hub_port,
            hub_origin,
            search_path: std::env::var("PATH").unwrap_or_default(),
            settle: Duration::from_millis(settle_ms),
            clock: Clock::system(),
        })
    }

    /// The hub's port, as configured.
    pub fn hub_port(&self) -> u16 {
        self.hub_port
    }

    /// The same context with the hub moved to `port` (what `init --port`
    /// renders units and issues tokens with).
    #[must_use]
    pub fn with_hub_port(&self, port: u16) -> Self {
        Self {
            hub_port: port,
            hub_origin: origin_for(port),
            ..self.clone()
        }
    }

    pub fn spec_context(&self) -> SpecContext<'_> {
        SpecContext {
            paths: &self.paths,
            user_home: &self.user_home,
            hub_origin: &self.hub_origin,
            search_path: &self.search_path,
        }
    }

    /// This machine's init system, connected (errors carry the guidance to print).
    pub async fn init_system(&self) -> Result<Backend, Error> {
        Ok(Backend::from_env().connect().await?)
    }

    /// The owned parts of a [`Host`] over this machine's init system (not
    /// connected yet), for the hub to keep.
    pub fn machine(&self) -> Machine<Backend> {
        Machine {
            init: Backend::for_paths(&self.paths),
            user_home: self.user_home.clone(),
            hub_origin: self.hub_origin.clone(),
            search_path: self.search_path.clone(),
            hub_port: self.hub_port,
            settle: self.settle,
        }
    }

    /// What the lifecycle operations work with, over `init`.
    pub fn host<'a, I: InitSystem>(&'a self, init: &'a I) -> Host<'a, I> {
        Host {
            init,
            spec: self.spec_context(),
            hub_port: self.hub_port,
            clock: &self.clock,
            settle: self.settle,
            linger_warned: self.paths.linger_warned().exists(),
        }
    }

    /// Whether `unit`'s file is on disk (no manager needed).
    pub fn has_unit(&self, unit: &str) -> bool {
        self.init_lazy().has_unit(&self.paths, unit)
    }

    /// This machine's init system, not connected yet: its unit-file
    /// methods work without a manager, the first manager call connects.
    pub fn init_lazy(&self) -> Backend {
        Backend::from_env()
    }

    /// services.json (read leniently, never rewritten here) and the service
    /// units on disk; skipped rows are warned about.
    pub fn inventory(&self) -> Result<Inventory, Error> {
        let inventory = Inventory::load(&self.paths)?;
        for w in &inventory.warnings {
            eprintln!("⚠ {w}");
        }
        Ok(inventory)
    }

    /// services.json for reading: bad rows are skipped with a warning.
    pub fn services_lenient(&self) -> Result<Services, Error> {
        let (s, warnings) = Services::load_lenient(&self.paths.services_json())?;
        for w in warnings {
            eprintln!("⚠ {w}");
        }
        Ok(s)
    }
}

/// `PARACHUTE_HUB_ORIGIN` when set, else the loopback origin on `port`.
fn origin_for(port: u16) -> String {
    std::env::var(env_vars::PARACHUTE_HUB_ORIGIN)
        .ok()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| format!("http://127.0.0.1:{port}"))
}

/// Write data to stdout. A closed pipe (`parachute status | head -1`) is not
/// an error: the reader has what it wanted.
pub fn out(text: &str) -> Result<(), Error> {
    out_open(text).map(|_| ())
}

/// [`out`], telling whether the reader is still there (`false` once the
/// pipe closed), so a follower can stop.
pub fn out_open(text: &str) -> Result<bool, Error> {
    let mut o = io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Error::Terminal {
            stream: "stdout",
            source: e,
        }),
        Ok(()) => Ok(true),
    }
}
