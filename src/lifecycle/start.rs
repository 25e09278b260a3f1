//! Starting (or restarting) units and deciding whether they came up.
//!
//! systemd's job finishing is not enough: a `Type=exec` service counts as
//! started once its binary runs, even if it exits a moment later. So after
//! the job we watch it settle: it is up once its port accepts connections
//! while systemd still reports it active with the same PID; it failed if it
//! stops being active or systemd restarts it. If neither happens within the
//! settle time, an active service counts as up (some modules bind late).

use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::error::Error;
use crate::lifecycle::inventory::short_of;
use crate::lifecycle::port_owner::{self, Listener};
use crate::lifecycle::service::HUB_SERVICE;
use crate::lifecycle::{InitSystem, JobResult, UnitState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Start,
    Restart,
}

/// A unit to start and, for a service, the port that proves it is serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub unit: String,
    pub port: Option<u16>,
}

impl Target {
    pub fn new(unit: impl Into<String>, port: Option<u16>) -> Self {
        Self {
            unit: unit.into(),
            port,
        }
    }
}

/// How one unit fared.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub unit: String,
    pub job: JobResult,
    pub state: UnitState,
    /// `None` when the unit is up; otherwise what went wrong, in a few words.
    pub failure: Option<String>,
    /// Up, but its port did not accept a connection within the settle time.
    pub port_pending: Option<u16>,
    /// Unix microseconds just before the job ran: its log lines are the
    /// ones since, where journald does not tag them with the run's ID.
    pub since_us: i64,
    /// The `InvocationID` of the run the job started (empty if none).
    pub invocation_id: String,
}

/// How often the settle loop looks again.
const POLL: Duration = Duration::from_millis(25);

/// Run `verb` on each target, then watch each settle (at most `settle`).
pub async fn run(
    init: &impl InitSystem,
    clock: &Clock,
    targets: &[Target],
    verb: Verb,
    settle: Duration,
) -> Result<Vec<Outcome>, Error> {
    let mut after_job = Vec::with_capacity(targets.len());
    for t in targets {
        // The start limit counts every start, the operator's too: a unit that
        // hit it refuses new starts until reset, and an explicit start or
        // restart by the operator is the moment to reset it.
        init.reset_failed(&t.unit).await?;
        let since = clock.timestamp().as_microsecond();
        let job = match verb {
            Verb::Start => init.start(&t.unit).await?,
            Verb::Restart => init.restart(&t.unit).await?,
        };
        let state = init.state(&t.unit).await?;
        after_job.push((t, job, state, since));
    }
    let deadline = Instant::now() + settle;
    let mut out = Vec::with_capacity(after_job.len());
    for (t, job, first, since) in after_job {
        let invocation_id = first.invocation_id.clone();
        let mut o = settle_one(init, t, job, first, deadline).await?;
        o.since_us = since;
        o.invocation_id = invocation_id;
        out.push(o);
    }
    Ok(out)
}

async fn settle_one(
    init: &impl InitSystem,
    t: &Target,
    job: JobResult,
    first: UnitState,
    deadline: Instant,
) -> Result<Outcome, Error> {
    let outcome = |state: UnitState, failure, port_pending| Outcome {
        unit: t.unit.clone(),
        job,
        state,
        failure,
        port_pending,
        since_us: 0,
        invocation_id: String::new(),
    };
    if !job.is_ok() || !is_service(&t.unit) {
        let failure = judge(&t.unit, job, &first, &first);
        return Ok(outcome(first, failure, None));
    }
    loop {
        let now = init.state(&t.unit).await?;
        let serving = t.port.is_none_or(|p| {
            TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, p).into(), POLL).is_ok()
        });
        // Whoever answers on the port must be this unit's process: a foreign
        // listener would pass the probe while the service itself fails.
        let taken = match t.port {
            Some(p) if serving && t.unit != HUB_SERVICE => {
                port_owner::listener(p).and_then(|l| foreign_listener(&t.unit, now.main_pid, p, &l))
            }
            _ => None,
        };
        if let Some(why) = judge(&t.unit, job, &first, &now) {
            let why = taken.map_or(why.clone(), |t| format!("{why}; {t}"));
            return Ok(outcome(now, Some(why), None));
        }
        if taken.is_some() {
            return Ok(outcome(now, taken, None));
        }
        if serving {
            return Ok(outcome(now, None, None));
        }
        if Instant::now() >= deadline {
            return Ok(outcome(now, None, t.port));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn is_service(unit: &str) -> bool {
    std::path::Path::new(unit)
        .extension()
        .is_some_and(|e| e == "service")
}

/// Why a unit is not up, or `None` when it is.
pub fn judge(unit: &str, job: JobResult, first: &UnitState, now: &UnitState) -> Option<String> {
    if !job.is_ok() {
        return Some(format!("start job {job}{}", describe_exit(now)));
    }
    if !is_service(unit) {
        return None;
    }
    let restarted = now.n_restarts > first.n_restarts
        || (first.main_pid != 0 && now.main_pid != first.main_pid);
    if !now.is_active() || !first.is_active() || restarted {
        return Some(format!(
            "the process exited during startup{}",
            describe_exit(now)
        ));
    }
    None
}

/// Why the listener on `port` is not `unit`'s own process, naming it and
/// the fix; `None` when the unit's main process (or a child) holds it.
pub fn foreign_listener(unit: &str, main_pid: u32, port: u16, l: &Listener) -> Option<String> {
    let short = short_of(unit);
    // launchd has no cgroups: there a holder has no unit, and descent from
    // the job's main process is what makes it the job's own.
    let ours = |h: &port_owner::Holder| {
        (h.unit.as_deref() == Some(unit) || h.unit.is_none())
            && main_pid != 0
            && port_owner::descends_from(h.pid, main_pid)
    };
    if l.holders.iter().any(ours) {
        return None;
    }
    let move_it = format!("give {short} another `port` in services.json");
    let Some(h) = l
        .holders
        .iter()
        .find(|h| h.unit.as_deref() != Some(unit))
        .or(l.holders.first())
    else {
        return Some(format!(
            "port {port} is taken by a process of another user (uid {}); free the port, or {move_it}",
            l.uid
        ));
    };
    let (pid, comm) = (h.pid, &h.comm);
    Some(match h.unit.as_deref() {
        Some(u) if u == unit => format!(
            "port {port} is held by pid {pid} (`{comm}`), left over from an earlier run of {unit}; stop it (`kill {pid}`), then: parachute start {short}"
        ),
        Some(other) if other.starts_with("parachute-") && other.ends_with(".service") => {
            let theirs = short_of(other);
            format!(
                "port {port} is taken by {other} (pid {pid}, `{comm}`), another Parachute service; stop it (`parachute stop {theirs}`), or {move_it}, then: parachute start {short}"
            )
        }
        Some(other) => format!(
            "port {port} is taken by another program: pid {pid} (`{comm}`) in {other}, not {unit}; stop it (`kill {pid}`), or {move_it}, then: parachute start {short}"
        ),
        None => format!(
            "port {port} is taken by another program: pid {pid} (`{comm}`), outside any unit; stop it (`kill {pid}`), or {move_it}, then: parachute start {short}"
        ),
    })
}

/// `: exit-code (status 1)` — systemd's `Result` and the exit status, when known.
pub fn describe_exit(s: &UnitState) -> String {
    if let Some(missing) = missing_binary(s) {
        return format!(": {missing}");
    }
    match s.result.as_str() {
        "" | "success" => String::new(),
        "exit-code" => format!(": exit-code (status {})", s.exec_main_status),
        r => format!(": {r}"),
    }
}

/// systemd's exit status when it could not execute the program (`EXIT_EXEC`).
pub const EXIT_EXEC: i32 = 203;

/// For a unit that failed with status 203 (EXEC): what to tell the user.
/// It means the `ExecStart=` program is gone, typically a moved or upgraded
/// binary whose old path the unit still pins.
pub fn missing_binary(s: &UnitState) -> Option<String> {
    (s.result == "exit-code" && s.exec_main_status == EXIT_EXEC).then(|| {
        let at = if s.exec_path.is_empty() {
            "its ExecStart= path".to_string()
        } else {
            s.exec_path.clone()
        };
        format!("binary not found at {at}; run `parachute init` (or `parachute doctor --fix`)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(active: &str, result: &str, pid: u32, restarts: u32) -> UnitState {
        UnitState {
            active_state: active.into(),
            result: result.into(),
            main_pid: pid,
            n_restarts: restarts,
            exec_main_status: if result == "exit-code" { 3 } else { 0 },
            ..UnitState::default()
        }
    }

    const U: &str = "parachute-x.service";

    #[test]
    fn a_service_that_stays_up_is_good() {
        let s = st("active", "success", 42, 0);
        assert_eq!(judge(U, JobResult::Done, &s, &s), None);
    }

    #[test]
    fn a_failed_job_is_a_failure_with_the_result() {
        let s = st("failed", "exit-code", 0, 0);
        assert_eq!(
            judge(U, JobResult::Failed, &s, &s).as_deref(),
            Some("start job failed: exit-code (status 3)")
        );
    }

    #[test]
    fn exiting_or_restarting_within_the_settle_time_is_a_failure() {
        let first = st("active", "success", 42, 0);
        let gone = st("activating", "exit-code", 0, 0);
        assert_eq!(
            judge(U, JobResult::Done, &first, &gone).as_deref(),
            Some("the process exited during startup: exit-code (status 3)")
        );
        let restarted = st("active", "success", 43, 1);
        assert!(judge(U, JobResult::Done, &first, &restarted).is_some());
    }

    #[test]
    fn status_203_names_the_missing_binary_and_the_fix() {
        let mut s = st("failed", "exit-code", 0, 0);
        s.exec_main_status = EXIT_EXEC;
        s.exec_path = "/usr/local/bin/parachute".into();
        assert_eq!(
            describe_exit(&s),
            ": binary not found at /usr/local/bin/parachute; run `parachute init` (or `parachute doctor --fix`)"
        );
    }

    fn held_by(unit: Option<&str>) -> Listener {
        Listener {
            uid: 0,
            holders: vec![port_owner::Holder {
                pid: std::process::id(),
                comm: "node".into(),
                unit: unit.map(str::to_string),
            }],
        }
    }

    #[test]
    fn the_units_own_process_on_its_port_is_not_foreign() {
        let me = std::process::id();
        assert_eq!(foreign_listener(U, me, 1950, &held_by(Some(U))), None);
    }

    #[test]
    fn a_listener_in_the_units_cgroup_but_not_below_its_main_process_is_left_over() {
        // Not a descendant of a main PID that does not exist.
        let why = foreign_listener(U, u32::MAX - 1, 1950, &held_by(Some(U))).expect("foreign");
        let me = std::process::id();
        assert_eq!(
            why,
            format!(
                "port 1950 is held by pid {me} (`node`), left over from an earlier run of {U}; stop it (`kill {me}`), then: parachute start x"
            )
        );
    }

    #[test]
    fn another_service_or_program_on_the_port_is_named_with_the_fix() {
        let me = std::process::id();
        let why =
            foreign_listener(U, 1, 1950, &held_by(Some("parachute-y.service"))).expect("foreign");
        assert!(
            why.starts_with(&format!(
                "port 1950 is taken by parachute-y.service (pid {me}, `node`), another Parachute service; stop it (`parachute stop y`)"
            )),
            "{why}"
        );
        let why = foreign_listener(U, 1, 1950, &held_by(None)).expect("foreign");
        assert!(why.contains("outside any unit"), "{why}");
        let nobody = Listener {
            uid: 1001,
            holders: Vec::new(),
        };
        assert_eq!(
            foreign_listener(U, 1, 1950, &nobody).as_deref(),
            Some(
                "port 1950 is taken by a process of another user (uid 1001); free the port, or give x another `port` in services.json"
            )
        );
    }

    #[test]
    fn targets_and_sockets_need_only_their_job() {
        let s = st("active", "", 0, 0);
        assert_eq!(judge("parachute.target", JobResult::Done, &s, &s), None);
    }
}
