//! `parachute upgrade` as an operation: after the binary was replaced,
//! bring every unit in line with it and move the hub onto it without a
//! refused connection.
//!
//! 1. Re-render every unit (the target, the hub's socket and service,
//!    each module's service) and write those whose text changed.
//! 2. `daemon-reload` once, if anything was written.
//! 3. Restart `parachute-hub.service` if it runs — never the socket.
//!    systemd keeps listening on the socket, so new connections queue in
//!    its backlog while the old hub drains in-flight requests (at most
//!    `cli::serve::DRAIN`, inside the unit's `TimeoutStopSec=`); the new
//!    hub accepts them. The hub is restarted even when its unit text is
//!    unchanged: a package replaces the binary in place, under the same
//!    path. A hub that is not running needs nothing: the next connection
//!    starts the new binary.
//! 4. Restart the modules that run and whose unit changed; the others
//!    keep running untouched.
//!
//! A rewritten socket unit (another `ListenStream=`) is written and
//! reloaded but not restarted: that would refuse connections while it
//! rebinds, so the report says so and the operator chooses when.
//!
//! Backend seam: step 1 renders systemd units ([`systemd_units`]), or
//! under launchd writes the agents through [`InitSystem::write_hub`] and
//! `write_service`; steps 2–4 go through [`InitSystem`] only. launchd
//! restarts an unchanged hub agent with `launchctl kickstart -k` (it keeps
//! the socket), which is its `InitSystem::restart`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::Error;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET, TARGET};
use crate::lifecycle::start::{self, Outcome, Target, Verb};
use crate::lifecycle::systemd::unit::{self, Hardening};
use crate::lifecycle::systemd::units;
use crate::lifecycle::{InitSystem, Kind, drift, spec};
use crate::manifest::Services;
use crate::paths::Paths;

/// What the upgrade renders from.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub paths: &'a Paths,
    /// The binary the units must run (this one).
    pub exe: PathBuf,
    /// The hub socket's `ListenStream=` (as `init` renders it).
    pub listen: SocketAddr,
    pub services: &'a Services,
    pub spec: &'a spec::SpecContext<'a>,
    /// How long a restarted service must stay up to count as restarted.
    pub settle: Duration,
    pub clock: &'a Clock,
}

/// A unit to write: its name and full text (or why it cannot be rendered).
struct Rendered {
    unit: String,
    port: Option<u16>,
    text: Result<Option<String>, Error>,
}

/// What happened to one unit file.
#[derive(Debug)]
pub enum Change {
    Unchanged,
    Rewritten,
    /// Could not be rendered (e.g. the module's start command is gone); the
    /// file on disk was left as it was.
    Kept(Error),
}

/// One unit and, when it was restarted, how that went.
#[derive(Debug)]
pub struct UnitReport {
    pub unit: String,
    /// A module's service (not the target or the hub's units).
    pub module: bool,
    pub change: Change,
    pub restart: Option<Outcome>,
}

/// The hub's restart behind its socket.
#[derive(Debug)]
pub enum HubRestart {
    /// The service was not running; the next connection starts the new binary.
    NotRunning,
    Restarted {
        /// `/health`'s version before and after (`None`: no answer).
        from: Option<String>,
        to: Option<String>,
        outcome: Box<Outcome>,
    },
}

#[derive(Debug)]
pub struct Report {
    /// Every unit, in the order written: target, socket, hub service, modules.
    pub units: Vec<UnitReport>,
    pub reloaded: bool,
    pub hub: HubRestart,
}

impl Report {
    /// Module units rewritten but not restarted (they were not running).
    pub fn pending_modules(&self) -> usize {
        self.units
            .iter()
            .filter(|u| u.module && matches!(u.change, Change::Rewritten) && u.restart.is_none())
            .count()
    }

    pub fn socket_rewritten(&self) -> bool {
        self.units
            .iter()
            .any(|u| u.unit == HUB_SOCKET && matches!(u.change, Change::Rewritten))
    }

    /// Whether everything was rendered and every restart came up.
    pub fn ok(&self) -> bool {
        let hub_ok = match &self.hub {
            HubRestart::NotRunning => true,
            HubRestart::Restarted { outcome, .. } => outcome.failure.is_none(),
        };
        hub_ok
            && self.units.iter().all(|u| {
                !matches!(u.change, Change::Kept(_))
                    && u.restart.as_ref().is_none_or(|o| o.failure.is_none())
            })
    }
}

/// Run the upgrade (see the module doc).
pub async fn run(init: &impl InitSystem, req: &Request<'_>) -> Result<Report, Error> {
    if !init.has_hub(req.paths) {
        return Err(Error::HubNotSetUp { verb: "upgrade" });
    }
    let (mut reports, ports) = match init.kind() {
        Kind::Systemd => write_systemd(init, req).await?,
        Kind::Launchd => write_agents(init, req).await?,
    };
    let reloaded = reports
        .iter()
        .any(|u| matches!(u.change, Change::Rewritten));
    if reloaded {
        init.reload().await?;
    }
    let hub = restart_hub(init, req, &reports).await?;
    restart_changed_modules(init, &mut reports, &ports, req.clock, req.settle).await?;
    Ok(Report {
        units: reports,
        reloaded,
        hub,
    })
}

/// Step 1 under systemd: every unit rendered and written when it changed.
async fn write_systemd(
    init: &impl InitSystem,
    req: &Request<'_>,
) -> Result<(Vec<UnitReport>, Vec<Option<u16>>), Error> {
    let hardening = units::hardening(req.paths, init).await;
    let mut reports = Vec::new();
    let mut ports = Vec::new();
    for r in systemd_units(req, hardening) {
        let change = match r.text {
            Ok(Some(text)) if units::write_if_changed(req.paths, &r.unit, &text)? => {
                Change::Rewritten
            }
            Ok(_) => Change::Unchanged,
            Err(e) => Change::Kept(e),
        };
        ports.push(r.port);
        reports.push(UnitReport {
            unit: r.unit,
            module: r.port.is_some(),
            change,
            restart: None,
        });
    }
    Ok((reports, ports))
}

/// Step 1 under launchd: the hub's agent and each module's, written
/// through the backend when they changed (overrides merged).
async fn write_agents(
    init: &impl InitSystem,
    req: &Request<'_>,
) -> Result<(Vec<UnitReport>, Vec<Option<u16>>), Error> {
    let hub = super::hub::spec(
        req.paths,
        req.exe.clone(),
        req.listen.port(),
        req.spec.hub_origin,
    );
    let change = |written: Result<bool, Error>| match written {
        Ok(true) => Change::Rewritten,
        Ok(false) => Change::Unchanged,
        Err(e) => Change::Kept(e),
    };
    let mut reports = vec![UnitReport {
        unit: HUB_SERVICE.into(),
        module: false,
        change: change(init.write_hub(req.paths, &hub).await),
        restart: None,
    }];
    let mut ports = vec![None];
    for row in &req.services.rows {
        let written = match spec::for_row(row, None, req.spec) {
            Ok(Some(s)) => init.write_service(req.paths, &s).await,
            Ok(None) if init.has_unit(req.paths, &row.unit()) => Ok(false),
            Ok(None) => Err(Error::NoInstallDir {
                short: row.short().to_string(),
            }),
            Err(e) => Err(e),
        };
        reports.push(UnitReport {
            unit: row.unit(),
            module: true,
            change: change(written),
            restart: None,
        });
        ports.push(Some(row.port));
    }
    Ok((reports, ports))
}

/// Step 1 for systemd: every unit the suite has, freshly rendered.
fn systemd_units(req: &Request<'_>, hardening: Hardening) -> Vec<Rendered> {
    let hub = super::hub::spec(
        req.paths,
        req.exe.clone(),
        req.listen.port(),
        req.spec.hub_origin,
    );
    let fixed = |unit: &str, text: String| Rendered {
        unit: unit.to_string(),
        port: None,
        text: Ok(Some(text)),
    };
    let mut out = vec![fixed(TARGET, unit::TARGET_TEXT.to_string())];
    out.extend(
        super::hub::expected(&hub, hardening)
            .into_iter()
            .map(|(u, text)| fixed(u, text)),
    );
    for row in &req.services.rows {
        // A row without a start command of its own keeps the unit it has
        // (`Ok(None)`); one whose start command is gone is reported.
        let text = spec::for_row(row, None, req.spec)
            .map(|s| s.map(|s| unit::render_service(&s, hardening)));
        let text = match text {
            Ok(None) if !units::exists(req.paths, &row.unit()) => Err(Error::NoInstallDir {
                short: row.short().to_string(),
            }),
            t => t,
        };
        out.push(Rendered {
            unit: row.unit(),
            port: Some(row.port),
            text,
        });
    }
    out
}

async fn restart_hub(
    init: &impl InitSystem,
    req: &Request<'_>,
    reports: &[UnitReport],
) -> Result<HubRestart, Error> {
    // launchd starts an idle hub from the agent it has loaded: a rewritten
    // one must be loaded now, or the old binary answers the next connection.
    let reload_idle = init.kind() == Kind::Launchd
        && reports
            .iter()
            .any(|u| u.unit == HUB_SERVICE && matches!(u.change, Change::Rewritten))
        && init.state(HUB_SOCKET).await?.is_active();
    if !reload_idle && !init.state(HUB_SERVICE).await?.is_active() {
        return Ok(HubRestart::NotRunning);
    }
    let port = req.listen.port();
    let from = drift::running_version(port).await;
    let target = Target::new(HUB_SERVICE, Some(port));
    let mut outcomes = start::run(init, req.clock, &[target], Verb::Restart, req.settle).await?;
    let outcome = outcomes.remove(0);
    let to = if outcome.failure.is_none() {
        drift::running_version(port).await
    } else {
        None
    };
    Ok(HubRestart::Restarted {
        from,
        to,
        outcome: Box::new(outcome),
    })
}

/// Restart the module services that run and whose unit was rewritten.
async fn restart_changed_modules(
    init: &impl InitSystem,
    reports: &mut [UnitReport],
    ports: &[Option<u16>],
    clock: &Clock,
    settle: Duration,
) -> Result<(), Error> {
    let mut targets = Vec::new();
    for (u, port) in reports.iter().zip(ports) {
        if u.module
            && matches!(u.change, Change::Rewritten)
            && init.state(&u.unit).await?.is_active()
        {
            targets.push(Target::new(u.unit.clone(), *port));
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    for o in start::run(init, clock, &targets, Verb::Restart, settle).await? {
        if let Some(u) = reports.iter_mut().find(|u| u.unit == o.unit) {
            u.restart = Some(o);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::lifecycle::service::ServiceSpec;
    use crate::lifecycle::systemd::hub_unit::{self, HubUnits};
    use crate::lifecycle::{InitError, JobResult, Rendered, UnitState};
    use crate::manifest::Row;

    /// A recording init system: every unit in `active` runs (pid 7).
    struct Recording {
        active: HashSet<String>,
        calls: Mutex<Vec<String>>,
    }

    impl Recording {
        fn new(active: &[&str]) -> Self {
            Self {
                active: active.iter().map(|u| (*u).to_string()).collect(),
                calls: Mutex::new(Vec::new()),
            }
        }
        fn log(&self, call: &str, unit: &str) {
            self.calls
                .lock()
                .expect("lock")
                .push(format!("{call} {unit}"));
        }
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.calls.lock().expect("lock"))
        }
    }

    /// Upgrade writes unit files itself; the file side is the real one.
    impl InitSystem for Recording {
        fn has_unit(&self, paths: &Paths, unit: &str) -> bool {
            units::exists(paths, unit)
        }
        fn ensure_group(&self, paths: &Paths) -> Result<bool, Error> {
            units::ensure_target(paths)
        }
        async fn render_service(&self, _: &Paths, spec: &ServiceSpec) -> Rendered {
            Rendered {
                text: unit::render_service(spec, Hardening::NONE),
                hardening_known: false,
            }
        }
        async fn write_service(&self, paths: &Paths, spec: &ServiceSpec) -> Result<bool, Error> {
            let text = unit::render_service(spec, Hardening::NONE);
            units::write_if_changed(paths, &spec.unit, &text)
        }
        fn remove_unit(&self, paths: &Paths, unit: &str) -> Result<bool, Error> {
            units::remove(paths, unit)
        }
        async fn reload(&self) -> Result<(), InitError> {
            self.log("reload", "");
            Ok(())
        }
        async fn enable(&self, units: &[String]) -> Result<(), InitError> {
            self.log("enable", &units.join(" "));
            Ok(())
        }
        async fn disable(&self, units: &[String]) -> Result<(), InitError> {
            self.log("disable", &units.join(" "));
            Ok(())
        }
        async fn start(&self, unit: &str) -> Result<JobResult, InitError> {
            self.log("start", unit);
            Ok(JobResult::Done)
        }
        async fn stop(&self, unit: &str) -> Result<JobResult, InitError> {
            self.log("stop", unit);
            Ok(JobResult::Done)
        }
        async fn restart(&self, unit: &str) -> Result<JobResult, InitError> {
            self.log("restart", unit);
            Ok(JobResult::Done)
        }
        async fn reset_failed(&self, _unit: &str) -> Result<(), InitError> {
            Ok(())
        }
        async fn state(&self, unit: &str) -> Result<UnitState, InitError> {
            let on = self.active.contains(unit);
            Ok(UnitState {
                load_state: "loaded".into(),
                active_state: if on { "active" } else { "inactive" }.into(),
                main_pid: if on { 7 } else { 0 },
                ..UnitState::default()
            })
        }
        async fn linger(&self) -> Option<bool> {
            None
        }
        async fn run_log(&self, _: &str, _: &str, _: i64, _: usize) -> Vec<String> {
            Vec::new()
        }
        async fn probe_namespaces(
            &self,
            _: &[crate::lifecycle::systemd::hardening::Ns],
        ) -> Result<bool, InitError> {
            Ok(false)
        }
    }

    /// A module directory whose start command is `bin/run ARGS`.
    fn module(root: &Path, short: &str, args: &[&str]) -> Row {
        let dir = root.join(short);
        std::fs::create_dir_all(dir.join(".parachute")).expect("mkdir");
        std::fs::create_dir_all(dir.join("bin")).expect("mkdir");
        std::fs::write(dir.join("bin/run"), "").expect("write");
        let mut start_cmd = vec!["bin/run"];
        start_cmd.extend_from_slice(args);
        let manifest = serde_json::json!({
            "name": short, "manifestName": format!("parachute-{short}"), "port": 1950,
            "paths": [format!("/{short}")], "health": format!("/{short}/health"),
            "startCmd": start_cmd,
        });
        std::fs::write(dir.join(".parachute/module.json"), manifest.to_string()).expect("write");
        let mut row = Row::new(&format!("parachute-{short}"), 1950, &[], "/health", "1.0.0");
        row.set_install_dir(dir);
        row
    }

    async fn upgrade(init: &Recording, root: &Path, exe: &str, services: &Services) -> Report {
        let paths = Paths {
            home: root.join("home"),
            unit_dir: root.join("units"),
        };
        std::fs::create_dir_all(&paths.home).expect("mkdir");
        let spec = spec::SpecContext {
            paths: &paths,
            user_home: root,
            hub_origin: "http://127.0.0.1:1",
            search_path: "",
        };
        let req = Request {
            paths: &paths,
            exe: exe.into(),
            // Nothing listens on port 1: the version probes find no hub.
            listen: "127.0.0.1:1".parse().expect("addr"),
            services,
            spec: &spec,
            settle: Duration::ZERO,
            clock: &Clock::fixed(1_000),
        };
        run(init, &req).await.expect("upgrade")
    }

    #[tokio::test]
    async fn restarts_the_hub_service_behind_its_socket_and_only_changed_modules() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        std::fs::create_dir_all(root.join("units")).expect("mkdir");
        std::fs::write(root.join("units").join(HUB_SOCKET), "").expect("init's socket");
        let init = Recording::new(&[
            HUB_SOCKET,
            HUB_SERVICE,
            "parachute-a.service",
            "parachute-b.service",
        ]);
        let mut services = Services::empty();
        services.upsert(module(root, "a", &[]));
        services.upsert(module(root, "b", &[]));
        upgrade(&init, root, "/old/parachute", &services).await;
        init.take();

        // A new binary, and module b's start command changed.
        services.upsert(module(root, "b", &["--fast"]));
        let report = upgrade(&init, root, "/new/parachute", &services).await;
        assert_eq!(
            init.take(),
            [
                "reload ",
                "restart parachute-hub.service",
                "restart parachute-b.service"
            ]
        );
        assert!(report.ok() && report.reloaded && !report.socket_rewritten());
        let rewritten: Vec<&str> = report
            .units
            .iter()
            .filter(|u| matches!(u.change, Change::Rewritten))
            .map(|u| u.unit.as_str())
            .collect();
        assert_eq!(rewritten, [HUB_SERVICE, "parachute-b.service"]);
        let unit = std::fs::read_to_string(root.join("units").join(HUB_SERVICE)).expect("unit");
        assert!(unit.contains("ExecStart=/new/parachute serve"), "{unit}");
    }

    /// systemd must let the old hub drain before it kills it, or the
    /// restart cuts in-flight requests.
    #[test]
    fn the_stop_timeout_outlasts_the_drain() {
        let stop = Duration::from_secs(u64::from(hub_unit::TIMEOUT_STOP_SEC));
        assert!(stop > crate::cli::serve::DRAIN, "{stop:?}");
        let text = hub_unit::render_service(
            &HubUnits {
                exe: "/usr/bin/parachute".into(),
                listen: "127.0.0.1:1939".parse().expect("addr"),
                parachute_home: "/home/ada/.parachute".into(),
                hub_origin: "http://127.0.0.1:1939".into(),
                idle_exit_secs: hub_unit::IDLE_EXIT_SECS,
            },
            Hardening::default(),
        );
        assert!(text.contains(&format!("TimeoutStopSec={}\n", stop.as_secs())));
    }

    #[tokio::test]
    async fn a_hub_that_is_not_running_is_left_to_its_socket() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        std::fs::create_dir_all(root.join("units")).expect("mkdir");
        std::fs::write(root.join("units").join(HUB_SOCKET), "").expect("init's socket");
        let init = Recording::new(&[HUB_SOCKET]);
        let report = upgrade(&init, root, "/new/parachute", &Services::empty()).await;
        assert!(matches!(report.hub, HubRestart::NotRunning));
        assert!(
            report.socket_rewritten(),
            "the placeholder socket was rewritten"
        );
        assert_eq!(init.take(), ["reload "], "no start, stop or restart");
    }

    #[tokio::test]
    async fn without_the_hub_units_it_says_to_run_init() {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: tmp.path().join("home"),
            unit_dir: tmp.path().join("units"),
        };
        let spec = spec::SpecContext {
            paths: &paths,
            user_home: tmp.path(),
            hub_origin: "http://127.0.0.1:1",
            search_path: "",
        };
        let services = Services::empty();
        let req = Request {
            paths: &paths,
            exe: "/new/parachute".into(),
            listen: "127.0.0.1:1".parse().expect("addr"),
            services: &services,
            spec: &spec,
            settle: Duration::ZERO,
            clock: &Clock::fixed(1_000),
        };
        let err = run(&Recording::new(&[]), &req).await.expect_err("no hub");
        assert!(err.to_string().contains("parachute init"), "{err}");
    }
}
