//! The systemd user manager over D-Bus, with zbus.
//!
//! We connect the way `systemctl --user` does: peer-to-peer to the manager's
//! private socket (it works without a session bus, e.g. on headless servers;
//! hence zbus's `p2p` feature), falling back to the session bus. Jobs are
//! followed through the `JobRemoved` signal, which we subscribe to before
//! queueing the job so a fast job cannot finish unseen. Nothing here parses
//! `systemctl` output.

mod private_socket;
mod proxy;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::OnceCell;
use zbus::message::Type;
use zbus::proxy::CacheProperties;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, Value};
use zbus::{Connection, DBusError, MatchRule, MessageStream};

use self::proxy::{
    JobRemoved, LoginManagerProxy, LoginUserProxy, ManagerProxy, ServiceProxy, SocketProxy,
    UnitProxy,
};
use super::super::{InitError, JobResult, UnitState};
use super::hardening::Ns;
use crate::env_vars;

const SYSTEMD_SERVICE: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER_INTERFACE: &str = "org.freedesktop.systemd1.Manager";
const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";
const ALREADY_SUBSCRIBED: &str = "org.freedesktop.systemd1.AlreadySubscribed";
const NO_SUCH_USER: &str = "org.freedesktop.login1.NoSuchUser";

/// Replace a conflicting queued job, as `systemctl` does by default.
const JOB_MODE: &str = "replace";
/// A start waits for `ExecStartPre=` and `Type=notify` readiness; systemd's
/// own default start timeout is 90 s, so this only catches a wedged manager.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);
/// How long connecting (and the liveness read) may take before we try the next route.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// logind is optional (containers have no system bus); never make the user wait on it.
const LOGIND_TIMEOUT: Duration = Duration::from_secs(1);
/// `JobRemoved` signals buffered while we wait for our job's reply. zbus
/// stalls the connection when a stream's queue is full, so leave room for a
/// busy manager finishing other jobs meanwhile.
const JOB_QUEUE: usize = 1024;

/// A client of the current user's systemd manager.
#[derive(Debug)]
pub struct SystemdUser {
    conn: Connection,
    manager: ManagerProxy<'static>,
    /// Peer-to-peer to the private socket: no bus daemon filters signals for
    /// us, and systemd's sender there is not a name a match rule can use.
    p2p: bool,
    /// `Subscribe()` is per connection and systemd refuses a second one.
    subscribed: OnceCell<()>,
}

impl SystemdUser {
    /// Connects to the user manager: its private socket first, then the session bus.
    pub async fn connect() -> Result<Self, InitError> {
        if std::env::var_os(env_vars::SUDO_USER).is_some() && rustix::process::geteuid().is_root() {
            return Err(InitError::Sudo);
        }
        let runtime_dir = non_empty_env(env_vars::XDG_RUNTIME_DIR).map(PathBuf::from);
        let mut reasons = Vec::new();

        match &runtime_dir {
            Some(dir) => {
                let socket = dir.join("systemd/private");
                match within_connect_timeout(Self::connect_private(&socket)).await {
                    Ok(client) => return Ok(client),
                    Err(e) => reasons.push(format!("`{}`: {e}", socket.display())),
                }
            }
            None => reasons.push(format!(
                "`{}` is not set; log in as the user (not `sudo`/`su`) or export `{}=/run/user/$(id -u)`",
                env_vars::XDG_RUNTIME_DIR,
                env_vars::XDG_RUNTIME_DIR,
            )),
        }

        match session_address(runtime_dir.as_deref()) {
            Ok(address) => match within_connect_timeout(Self::connect_session(&address)).await {
                Ok(client) => return Ok(client),
                Err(e) => reasons.push(format!("session bus `{address}`: {e}")),
            },
            Err(why) => reasons.push(why),
        }

        Err(InitError::Unreachable {
            reason: reasons.join("; "),
        })
    }

    async fn connect_private(socket: &Path) -> Result<Self, String> {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| e.to_string())?;
        let conn = private_socket::connect(stream)
            .await
            .map_err(|e| e.to_string())?;
        Self::checked(conn, true).await
    }

    async fn connect_session(address: &str) -> Result<Self, String> {
        let conn = zbus::connection::Builder::address(address)
            .map_err(|e| e.to_string())?
            .build()
            .await
            .map_err(|e| e.to_string())?;
        Self::checked(conn, false).await
    }

    /// A socket that accepts is not proof of a manager: ask it something.
    async fn checked(conn: Connection, p2p: bool) -> Result<Self, String> {
        let client = Self::from_connection(conn, p2p)
            .await
            .map_err(|e| e.to_string())?;
        client.version().await.map_err(|e| e.to_string())?;
        Ok(client)
    }

    /// Wraps an established connection; `p2p` says whether it goes straight
    /// to the manager (no bus daemon in between). Tests hand in one end of a
    /// socket pair served by a fake manager.
    #[doc(hidden)]
    pub async fn from_connection(conn: Connection, p2p: bool) -> Result<Self, InitError> {
        let manager = ManagerProxy::builder(&conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(bus_error)?;
        Ok(Self {
            conn,
            manager,
            p2p,
            subscribed: OnceCell::new(),
        })
    }

    /// The manager's version string, e.g. `252.38-1~deb12u1`.
    pub async fn version(&self) -> Result<String, InitError> {
        self.manager.version().await.map_err(bus_error)
    }

    /// A stream of `JobRemoved` signals, registered before it is returned.
    async fn job_removed_stream(&self) -> Result<MessageStream, InitError> {
        let mut rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .path(MANAGER_PATH)
            .and_then(|r| r.interface(MANAGER_INTERFACE))
            .and_then(|r| r.member("JobRemoved"))
            .map_err(bus_error)?;
        if !self.p2p {
            // The bus daemon resolves the well-known name for us.
            rule = rule.sender(SYSTEMD_SERVICE).map_err(bus_error)?;
        }
        MessageStream::for_match_rule(rule.build(), &self.conn, Some(JOB_QUEUE))
            .await
            .map_err(bus_error)
    }

    async fn subscribe(&self, unit: &str) -> Result<(), InitError> {
        self.subscribed
            .get_or_try_init(|| async {
                match self.manager.subscribe().await {
                    Err(e) if error_name(&e).as_deref() != Some(ALREADY_SUBSCRIBED) => {
                        Err(call_error("Subscribe", unit, e))
                    }
                    _ => Ok(()),
                }
            })
            .await?;
        Ok(())
    }

    /// Queues a job with `enqueue` and waits for systemd to report its result.
    async fn run_job<F>(
        &self,
        call: &'static str,
        unit: &str,
        enqueue: F,
    ) -> Result<JobResult, InitError>
    where
        F: Future<Output = zbus::Result<OwnedObjectPath>>,
    {
        // Order matters: a job can finish before its method reply reaches us.
        let mut removed = self.job_removed_stream().await?;
        self.subscribe(unit).await?;
        let job = enqueue.await.map_err(|e| call_error(call, unit, e))?;
        match tokio::time::timeout(JOB_TIMEOUT, wait_for_job(&mut removed, &job)).await {
            Ok(Ok(result)) => Ok(JobResult::parse(&result)),
            Ok(Err(e)) => Err(bus_error(e)),
            Err(_) => Err(InitError::Call {
                call,
                unit: unit.to_owned(),
                message: format!(
                    "job {} did not finish within {} s; `systemctl --user list-jobs` shows it",
                    job.as_str(),
                    JOB_TIMEOUT.as_secs()
                ),
            }),
        }
    }

    async fn unit_proxy(&self, path: &ObjectPath<'_>) -> zbus::Result<UnitProxy<'static>> {
        UnitProxy::builder(&self.conn)
            .path(path.to_owned())?
            .cache_properties(CacheProperties::No)
            .build()
            .await
    }

    /// Fills the `Service` fields of `state` (they exist on `.service` units only).
    async fn read_service(&self, path: &ObjectPath<'_>, state: &mut UnitState) -> zbus::Result<()> {
        let service = ServiceProxy::builder(&self.conn)
            .path(path.to_owned())?
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        let (result, status, pid, restarts, memory, exec) = tokio::try_join!(
            service.result(),
            service.exec_main_status(),
            service.main_pid(),
            service.n_restarts(),
            service.memory_current(),
            service.exec_start(),
        )?;
        state.exec_path = exec.into_iter().next().map(|e| e.0).unwrap_or_default();
        state.result = result;
        state.exec_main_status = status;
        state.main_pid = pid;
        state.n_restarts = restarts;
        state.memory_current = (memory != u64::MAX).then_some(memory);
        Ok(())
    }

    /// A socket's `Result` says whether it hit its trigger limit and stopped listening.
    async fn read_socket(&self, path: &ObjectPath<'_>, state: &mut UnitState) -> zbus::Result<()> {
        let socket = SocketProxy::builder(&self.conn)
            .path(path.to_owned())?
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        state.result = socket.result().await?;
        Ok(())
    }
}

/// The manager calls [`super::Systemd`] makes for [`InitSystem`].
impl SystemdUser {
    pub async fn reload(&self) -> Result<(), InitError> {
        self.manager
            .reload()
            .await
            .map_err(|e| call_error("Reload", ALL_UNITS, e))
    }

    /// Like `systemctl enable`, reloads afterwards so the manager sees the new
    /// `[Install]` symlinks (e.g. a target starts pulling the unit in).
    pub async fn enable(&self, units: &[String]) -> Result<(), InitError> {
        if units.is_empty() {
            return Ok(());
        }
        let files: Vec<&str> = units.iter().map(String::as_str).collect();
        let (_, changes) = self
            .manager
            .enable_unit_files(&files, false, true)
            .await
            .map_err(|e| call_error("EnableUnitFiles", &units.join(" "), e))?;
        if changes.is_empty() {
            return Ok(());
        }
        self.reload().await
    }

    /// Like `systemctl disable`, reloads afterwards when symlinks were removed.
    pub async fn disable(&self, units: &[String]) -> Result<(), InitError> {
        if units.is_empty() {
            return Ok(());
        }
        let files: Vec<&str> = units.iter().map(String::as_str).collect();
        let changes = self
            .manager
            .disable_unit_files(&files, false)
            .await
            .map_err(|e| call_error("DisableUnitFiles", &units.join(" "), e))?;
        if changes.is_empty() {
            return Ok(());
        }
        self.reload().await
    }

    pub async fn start(&self, unit: &str) -> Result<JobResult, InitError> {
        self.run_job("StartUnit", unit, self.manager.start_unit(unit, JOB_MODE))
            .await
    }

    pub async fn stop(&self, unit: &str) -> Result<JobResult, InitError> {
        self.run_job("StopUnit", unit, self.manager.stop_unit(unit, JOB_MODE))
            .await
    }

    pub async fn restart(&self, unit: &str) -> Result<JobResult, InitError> {
        self.run_job(
            "RestartUnit",
            unit,
            self.manager.restart_unit(unit, JOB_MODE),
        )
        .await
    }

    /// A unit that is not loaded has nothing to reset, which is what the caller wanted.
    pub async fn reset_failed(&self, unit: &str) -> Result<(), InitError> {
        match self.manager.reset_failed_unit(unit).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_loaded(&e) => Ok(()),
            Err(e) => Err(call_error("ResetFailedUnit", unit, e)),
        }
    }

    pub async fn state(&self, unit: &str) -> Result<UnitState, InitError> {
        let path = self
            .manager
            .load_unit(unit)
            .await
            .map_err(|e| call_error("LoadUnit", unit, e))?;
        let read = async {
            let proxy = self.unit_proxy(&path).await?;
            let (load_state, active_state, sub_state, entered, unit_file_state, invocation) = tokio::try_join!(
                proxy.load_state(),
                proxy.active_state(),
                proxy.sub_state(),
                proxy.active_enter_timestamp(),
                proxy.unit_file_state(),
                proxy.invocation_id(),
            )?;
            let mut state = UnitState {
                load_state,
                active_state,
                sub_state,
                active_enter_timestamp_us: entered,
                unit_file_state,
                invocation_id: hex(&invocation),
                ..UnitState::default()
            };
            if unit.ends_with(".service") {
                self.read_service(&path, &mut state).await?;
            } else if unit.ends_with(".socket") {
                self.read_socket(&path, &mut state).await?;
            }
            Ok(state)
        };
        read.await.map_err(|e| call_error("Get", unit, e))
    }

    /// Asks logind on the system bus. Any failure means "unknown": containers
    /// and minimal hosts have no logind, and `status` must not stall on it.
    pub async fn linger(&self) -> Option<bool> {
        tokio::time::timeout(LOGIND_TIMEOUT, query_linger())
            .await
            .ok()
            .flatten()
    }

    /// Runs `true` in a transient oneshot with `directives`. Where the
    /// manager cannot set them up (no unprivileged user namespaces, a
    /// read-only `/proc/sys` in a container) the unit fails with
    /// `226/NAMESPACE`; any outcome but `done` counts as "does not work".
    pub async fn probe_namespaces(&self, directives: &[Ns]) -> Result<bool, InitError> {
        static PROBES: AtomicU32 = AtomicU32::new(0);
        let n = PROBES.fetch_add(1, Ordering::Relaxed);
        let unit = format!("parachute-probe-{}-{n}.service", std::process::id());
        let true_bin = ["/usr/bin/true", "/bin/true"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .ok_or_else(|| InitError::Call {
                call: "StartTransientUnit",
                unit: unit.clone(),
                message: "neither `/usr/bin/true` nor `/bin/true` exists".to_owned(),
            })?;
        let exec_start = vec![(true_bin, vec![true_bin], false)];
        let mut properties = vec![
            ("Description", Value::from("parachute namespace probe")),
            ("Type", Value::from("oneshot")),
            ("ExecStart", Value::from(exec_start)),
            // Unload even when it fails, should we die before resetting it.
            ("CollectMode", Value::from("inactive-or-failed")),
        ];
        for d in directives {
            // The boolean ones are `b` on the bus; ProtectSystem/ProtectHome `s`.
            let value = match d.value() {
                "yes" => Value::from(true),
                v => Value::from(v),
            };
            properties.push((d.key(), value));
        }
        let result = self
            .run_job(
                "StartTransientUnit",
                &unit,
                self.manager
                    .start_transient_unit(&unit, JOB_MODE, &properties, &[]),
            )
            .await?;
        self.reset_failed(&unit).await?;
        Ok(result == JobResult::Done)
    }
}

/// An ID128 as systemd prints it: lowercase hex, no dashes.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The `unit` of errors from manager-wide calls.
const ALL_UNITS: &str = "all units";

async fn within_connect_timeout<T>(
    connect: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))
}

fn non_empty_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// `DBUS_SESSION_BUS_ADDRESS`, else the conventional `$XDG_RUNTIME_DIR/bus`
/// (the same order libdbus and sd-bus use); `Err` says why there is none.
fn session_address(runtime_dir: Option<&Path>) -> Result<String, String> {
    if let Some(address) = non_empty_env(env_vars::DBUS_SESSION_BUS_ADDRESS) {
        return Ok(address.to_string_lossy().into_owned());
    }
    let unset = env_vars::DBUS_SESSION_BUS_ADDRESS;
    let Some(dir) = runtime_dir else {
        return Err(format!("no session bus (`{unset}` is not set)"));
    };
    let bus = dir.join("bus");
    if bus.exists() {
        Ok(format!("unix:path={}", bus.display()))
    } else {
        Err(format!(
            "no session bus (`{unset}` is not set and `{}` does not exist)",
            bus.display()
        ))
    }
}

/// Reads signals until the `JobRemoved` for `job`; returns its result string.
async fn wait_for_job(removed: &mut MessageStream, job: &ObjectPath<'_>) -> zbus::Result<String> {
    while let Some(msg) = removed.next().await {
        let Some(signal) = JobRemoved::from_message(msg?) else {
            continue;
        };
        let Ok(args) = signal.args() else {
            continue;
        };
        if args.job() == job {
            return Ok((*args.result()).to_owned());
        }
    }
    Err(zbus::Error::InputOutput(
        std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "connection to the systemd user manager closed while waiting for a job",
        )
        .into(),
    ))
}

async fn query_linger() -> Option<bool> {
    let conn = zbus::connection::Builder::system()
        .ok()?
        .method_timeout(LOGIND_TIMEOUT)
        .build()
        .await
        .ok()?;
    let logind = LoginManagerProxy::builder(&conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .ok()?;
    let path = match logind.get_user(rustix::process::getuid().as_raw()).await {
        Ok(path) => path,
        // logind keeps a User for every lingering uid, logged in or not.
        Err(e) if error_name(&e).as_deref() == Some(NO_SUCH_USER) => return Some(false),
        Err(_) => return None,
    };
    let user = LoginUserProxy::builder(&conn)
        .path(path)
        .ok()?
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .ok()?;
    user.linger().await.ok()
}

/// The D-Bus error name of a method error, if `e` is one.
fn error_name(e: &zbus::Error) -> Option<String> {
    match e {
        zbus::Error::MethodError(name, _, _) => Some(name.to_string()),
        zbus::Error::FDO(e) => Some(e.name().to_string()),
        _ => None,
    }
}

fn is_not_loaded(e: &zbus::Error) -> bool {
    error_name(e).as_deref() == Some(NO_SUCH_UNIT)
        || e.description().is_some_and(|d| d.contains("not loaded"))
}

/// Errors the manager answered become [`InitError::Call`] with its message;
/// anything else is a transport failure.
fn call_error(call: &'static str, unit: &str, e: zbus::Error) -> InitError {
    let message = match &e {
        zbus::Error::MethodError(name, message, _) => {
            message.clone().unwrap_or_else(|| name.to_string())
        }
        zbus::Error::FDO(e) => e
            .description()
            .map_or_else(|| e.name().to_string(), str::to_owned),
        _ => return bus_error(e),
    };
    InitError::Call {
        call,
        unit: unit.to_owned(),
        message,
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(bus_error)`
fn bus_error(e: zbus::Error) -> InitError {
    InitError::Bus(e.to_string())
}

#[cfg(test)]
mod fake;

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::fake::{Fake, Script};
    use super::*;

    #[tokio::test]
    async fn start_waits_for_its_own_job_and_reports_failure() {
        let fake = Fake::serve(Script::default()).await;
        // The fake first announces an unrelated job as `done`, then ours as `failed`.
        let result = fake
            .client
            .start("web.service")
            .await
            .expect("the fake answers");
        assert_eq!(result, JobResult::Failed);
    }

    #[tokio::test]
    async fn subscribes_and_listens_before_queueing_the_job() {
        let fake = Fake::serve(Script::default()).await;
        fake.client
            .start("web.service")
            .await
            .expect("the fake answers");
        fake.client
            .stop("web.service")
            .await
            .expect("the fake answers");
        assert_eq!(
            fake.calls(),
            [
                "Subscribe",
                "StartUnit web.service replace",
                "StopUnit web.service replace"
            ]
        );
    }

    #[tokio::test]
    async fn stop_and_restart_report_done() {
        let fake = Fake::serve(Script::default()).await;
        assert_eq!(
            fake.client
                .stop("web.service")
                .await
                .expect("the fake answers"),
            JobResult::Done
        );
        assert_eq!(
            fake.client
                .restart("web.service")
                .await
                .expect("the fake answers"),
            JobResult::Done
        );
    }

    #[tokio::test]
    async fn unknown_unit_is_a_call_error_with_systemds_message() {
        let fake = Fake::serve(Script::default()).await;
        let err = fake
            .client
            .start("missing.service")
            .await
            .expect_err("the fake refuses this unit");
        match err {
            InitError::Call {
                call,
                unit,
                message,
            } => {
                assert_eq!(call, "StartUnit");
                assert_eq!(unit, "missing.service");
                assert_eq!(message, "Unit missing.service not found.");
            }
            other => panic!("expected InitError::Call, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn state_maps_service_properties() {
        let fake = Fake::serve(Script::default()).await;
        let state = fake
            .client
            .state("web.service")
            .await
            .expect("the fake answers");
        assert_eq!(
            state,
            UnitState {
                load_state: "loaded".into(),
                active_state: "active".into(),
                sub_state: "running".into(),
                result: "success".into(),
                exec_main_status: 0,
                main_pid: 4242,
                n_restarts: 3,
                active_enter_timestamp_us: 1_700_000_000_000_000,
                memory_current: None,
                unit_file_state: "enabled".into(),
                exec_path: "/opt/web/bin/web".into(),
                invocation_id: "9190b4db175c4cc8be0e3165ecec0727".into(),
            }
        );
        assert!(state.is_active());
    }

    #[tokio::test]
    async fn state_reports_accounted_memory() {
        let fake = Fake::serve(Script {
            memory_current: 12 * 1024 * 1024,
            ..Script::default()
        })
        .await;
        let state = fake
            .client
            .state("web.service")
            .await
            .expect("the fake answers");
        assert_eq!(state.memory_current, Some(12 * 1024 * 1024));
    }

    #[tokio::test]
    async fn state_of_a_socket_reads_the_socket_result() {
        let fake = Fake::serve(Script::default()).await;
        let state = fake
            .client
            .state("hub.socket")
            .await
            .expect("the fake answers");
        assert_eq!(state.sub_state, "failed");
        assert_eq!(state.result, "trigger-limit-hit");
        assert_eq!(state.main_pid, 0);
        assert_eq!(state.memory_current, None);
    }

    #[tokio::test]
    async fn state_of_a_target_leaves_service_fields_empty() {
        let fake = Fake::serve(Script::default()).await;
        let state = fake
            .client
            .state("parachute.target")
            .await
            .expect("the fake answers");
        assert_eq!(state.active_state, "active");
        assert_eq!(state.result, "");
        assert_eq!(state.n_restarts, 0);
    }

    #[tokio::test]
    async fn state_of_an_unknown_unit_is_not_found() {
        let fake = Fake::serve(Script::default()).await;
        let state = fake
            .client
            .state("ghost.service")
            .await
            .expect("the fake answers");
        assert_eq!(state.load_state, "not-found");
        assert_eq!(state.active_state, "inactive");
    }

    #[tokio::test]
    async fn reset_failed_ignores_units_that_are_not_loaded() {
        let fake = Fake::serve(Script::default()).await;
        fake.client
            .reset_failed("ghost.service")
            .await
            .expect("the fake answers");
        fake.client
            .reset_failed("web.service")
            .await
            .expect("the fake answers");
        assert_eq!(
            fake.calls(),
            [
                "ResetFailedUnit ghost.service",
                "ResetFailedUnit web.service"
            ]
        );
    }

    #[tokio::test]
    async fn enable_and_disable_pass_names_and_reload_after_changes() {
        let fake = Fake::serve(Script::default()).await;
        let units = vec!["parachute-hub.socket".to_owned(), "web.service".to_owned()];
        fake.client.enable(&units).await.expect("the fake answers");
        fake.client
            .disable(&units[..1])
            .await
            .expect("the fake answers");
        fake.client.enable(&[]).await.expect("the fake answers");
        assert_eq!(
            fake.calls(),
            [
                "EnableUnitFiles parachute-hub.socket,web.service runtime=false force=true",
                "Reload",
                "DisableUnitFiles parachute-hub.socket runtime=false",
                "Reload",
            ]
        );
    }

    #[tokio::test]
    async fn probe_runs_a_hardened_oneshot_and_cleans_up() {
        let fake = Fake::serve(Script::default()).await;
        assert!(
            fake.client
                .probe_namespaces(&[Ns::ProtectSystem, Ns::PrivateTmp, Ns::ProtectHome])
                .await
                .expect("the fake answers")
        );
        let calls = fake.calls();
        let unit = format!("parachute-probe-{}-", std::process::id());
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert_eq!(calls[0], "Subscribe");
        assert!(
            calls[1].starts_with(&format!("StartTransientUnit {unit}")),
            "{calls:?}"
        );
        assert!(
            calls[2].starts_with(&format!("ResetFailedUnit {unit}")),
            "{calls:?}"
        );
        let props = fake.transient_properties();
        let true_bin = if Path::new("/usr/bin/true").exists() {
            "/usr/bin/true"
        } else {
            "/bin/true"
        };
        for expected in [
            r#"Type:s="oneshot""#.to_owned(),
            format!(r#"ExecStart:a(sasb)=[("{true_bin}", ["{true_bin}"], false)]"#),
            r#"ProtectSystem:s="full""#.to_owned(),
            "PrivateTmp:b=true".to_owned(),
            r#"ProtectHome:s="read-only""#.to_owned(),
        ] {
            assert!(props.contains(&expected), "{expected} not in {props:?}");
        }
    }

    #[tokio::test]
    async fn probe_reports_a_failed_unit_as_unsupported() {
        let fake = Fake::serve(Script {
            transient_result: "failed",
            ..Script::default()
        })
        .await;
        assert!(
            !fake
                .client
                .probe_namespaces(&[Ns::ProtectKernelLogs])
                .await
                .expect("the fake answers")
        );
    }

    #[tokio::test]
    async fn version_reads_the_manager_property() {
        let fake = Fake::serve(Script::default()).await;
        assert_eq!(
            fake.client.version().await.expect("the fake answers"),
            "252.38-fake"
        );
    }
}
