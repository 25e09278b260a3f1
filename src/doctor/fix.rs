//! `doctor --fix`: the repairs the findings carry, each made once, in an
//! order where earlier ones help later ones (a new store before the hub
//! units, units before restarts). Destructive ones ask first.

use super::{Env, Finding, Repair};
use crate::error::Error;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::systemd::units;
use crate::lifecycle::{InitSystem, Kind, hub, hub_store, spec};
use crate::manifest::Services;
use crate::store::{self, Store};
use crate::tokens::{self, operator};

/// What became of one repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; what changed, one line each.
    Done(Vec<String>),
    /// Declined, or not confirmed (the reason).
    Skipped(String),
    Failed(String),
}

/// The question to ask before a destructive repair, `None` for safe ones.
pub fn question(r: &Repair, env: &Env<'_, impl InitSystem>) -> Option<String> {
    match r {
        Repair::NewStore => Some(format!(
            "Create a new, empty hub store at {}? The deleted one's accounts and tokens do not come back.",
            env.paths.hub_db().display()
        )),
        Repair::RemoveOrphan { unit } => Some(format!(
            "Stop, disable and delete {unit} (no services.json row owns it)?"
        )),
        _ => None,
    }
}

/// Apply every repair in `findings` once. `confirm` answers the question of
/// a destructive one (`--yes` answers yes).
pub async fn apply<I: InitSystem>(
    env: &Env<'_, I>,
    findings: &[Finding],
    mut confirm: impl FnMut(&str) -> bool,
) -> Vec<(Repair, Outcome)> {
    let mut repairs: Vec<Repair> = findings.iter().filter_map(|f| f.repair.clone()).collect();
    repairs.sort();
    repairs.dedup();
    let mut done = Vec::new();
    for r in repairs {
        if let Some(q) = question(&r, env)
            && !confirm(&q)
        {
            done.push((
                r,
                Outcome::Skipped("not confirmed (re-run with --yes)".into()),
            ));
            continue;
        }
        let outcome = match one(env, &r).await {
            Ok(lines) => Outcome::Done(lines),
            Err(e) => Outcome::Failed(e.to_string()),
        };
        done.push((r, outcome));
    }
    done
}

async fn one<I: InitSystem>(env: &Env<'_, I>, r: &Repair) -> Result<Vec<String>, Error> {
    if let Repair::NewStore = r {
        return new_store(env).await;
    }
    if let Repair::RenewOperatorToken = r {
        return renew_operator_token(env);
    }
    let init = env.init().ok_or(Error::NoUserManager)?;
    match r {
        Repair::HubUnits => hub_units(env, init).await,
        Repair::StartHubSocket => start_socket(init).await,
        Repair::ModuleUnit { service } => module_unit(env, init, service).await,
        Repair::RestartUnit { unit } => restart(init, unit).await,
        Repair::RemoveOrphan { unit } => remove_orphan(env, init, unit).await,
        Repair::NewStore | Repair::RenewOperatorToken => Ok(Vec::new()),
    }
}

async fn hub_units(
    env: &Env<'_, impl InitSystem>,
    init: &impl InitSystem,
) -> Result<Vec<String>, Error> {
    let spec = hub::spec(env.paths, env.exe.clone(), env.hub_port, env.hub_origin);
    let mut lines = hub::ensure_units(env.paths, init, &spec).await?;
    init.reset_failed(HUB_SERVICE).await?;
    lines.extend(start_socket(init).await?);
    Ok(lines)
}

async fn start_socket(init: &impl InitSystem) -> Result<Vec<String>, Error> {
    init.reset_failed(HUB_SOCKET).await?;
    if init.state(HUB_SOCKET).await?.is_active() {
        return Ok(Vec::new());
    }
    let result = init.start(HUB_SOCKET).await?;
    if !result.is_ok() {
        return Err(Error::JobFailed {
            unit: init.kind().hub_listener().to_string(),
            verb: "start",
            result: result.to_string(),
            logs: logs_command(init, HUB_SOCKET),
        });
    }
    Ok(vec![format!("started {}", init.kind().hub_listener())])
}

async fn module_unit(
    env: &Env<'_, impl InitSystem>,
    init: &impl InitSystem,
    service: &str,
) -> Result<Vec<String>, Error> {
    let services = Services::load_strict(&env.paths.services_json())?;
    let row = services
        .find(service)
        .ok_or_else(|| Error::UnknownService {
            name: service.to_string(),
            known: services.known(),
        })?;
    let Some(spec) = spec::for_row(row, None, &env.spec)? else {
        return Err(Error::NoInstallDir {
            short: row.short().to_string(),
        });
    };
    // The backend renders it (systemd: hardening probed; launchd: overrides merged).
    if !init.write_service(env.paths, &spec).await? {
        return Ok(Vec::new());
    }
    init.reload().await?;
    let path = init
        .unit_path(env.paths, &spec.unit)
        .unwrap_or_else(|| env.paths.unit_file(&spec.unit));
    let mut lines = vec![format!("rewrote {}", path.display())];
    if init.state(&spec.unit).await?.is_active() {
        lines.extend(restart(init, &spec.unit).await?);
    }
    Ok(lines)
}

async fn restart(init: &impl InitSystem, unit: &str) -> Result<Vec<String>, Error> {
    init.reset_failed(unit).await?;
    let result = init.restart(unit).await?;
    if !result.is_ok() {
        return Err(Error::JobFailed {
            unit: unit.to_string(),
            verb: "restart",
            result: result.to_string(),
            logs: logs_command(init, unit),
        });
    }
    Ok(vec![format!("restarted {unit}")])
}

async fn remove_orphan(
    env: &Env<'_, impl InitSystem>,
    init: &impl InitSystem,
    unit: &str,
) -> Result<Vec<String>, Error> {
    init.stop(unit).await?;
    init.disable(&[unit.to_string()]).await?;
    init.reset_failed(unit).await?;
    if units::remove(env.paths, unit)? {
        init.reload().await?;
    }
    Ok(vec![format!("stopped, disabled and deleted {unit}")])
}

async fn new_store<I: InitSystem>(env: &Env<'_, I>) -> Result<Vec<String>, Error> {
    let db = env.paths.hub_db();
    let mut lines = hub_store::prepare_new(&db, env.init()).await?;
    if !db.exists() {
        Store::open(&db)?;
        lines.push(format!(
            "created an empty hub store {}; create the owner with: parachute init",
            db.display()
        ));
    }
    Ok(lines)
}

fn renew_operator_token(env: &Env<'_, impl InitSystem>) -> Result<Vec<String>, Error> {
    let store = Store::open_existing(&env.paths.hub_db())?;
    let iss = tokens::Issuers::new(env.hub_origin, &[env.hub_port]);
    let minted = store.write(|tx| {
        let Some(owner) = store::users::owner(tx).map_err(|e| store.err(e))? else {
            return Ok(None);
        };
        operator::issue(tx, iss.primary(), &owner.id, env.now)
            .map(Some)
            .map_err(|e| store.other(e))
    })?;
    let Some(minted) = minted else {
        return Err(Error::NoOwnerForOperator);
    };
    let path = env.paths.operator_token();
    operator::write(&path, &minted.token)?;
    Ok(vec![format!(
        "wrote a fresh operator token to {}",
        path.display()
    )])
}

/// Where `unit`'s recent output is: journald, or launchd's log file.
fn logs_command(init: &impl InitSystem, unit: &str) -> String {
    match init.kind() {
        Kind::Systemd => format!("journalctl --user-unit {unit} -n 20"),
        Kind::Launchd => format!(
            "parachute logs {} -n 20",
            crate::lifecycle::launchd::system::job(unit)
                .map_or_else(|| unit.to_string(), |(_, short)| short)
        ),
    }
}
