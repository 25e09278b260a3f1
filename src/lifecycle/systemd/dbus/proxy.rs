//! Hand-written proxies for the few systemd and logind members we use
//! (see org.freedesktop.systemd1(5) and org.freedesktop.login1(5)).
//! Written out rather than generated so a reader sees the whole surface we
//! depend on, and so nothing pulls in the thousands of members we don't.

use zbus::proxy;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, Value};

/// `(type, file name, destination)` rows describing what
/// `EnableUnitFiles`/`DisableUnitFiles` changed on disk.
pub(super) type UnitFileChanges = Vec<(String, String, String)>;

#[proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
pub(super) trait Manager {
    /// Without it the manager emits no `JobRemoved` to this client.
    fn subscribe(&self) -> zbus::Result<()>;
    fn reload(&self) -> zbus::Result<()>;
    fn start_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn restart_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn reset_failed_unit(&self, name: &str) -> zbus::Result<()>;
    /// Unlike `GetUnit`, answers for units that do not exist (as `not-found`).
    fn load_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;
    fn enable_unit_files(
        &self,
        files: &[&str],
        runtime: bool,
        force: bool,
    ) -> zbus::Result<(bool, UnitFileChanges)>;
    fn disable_unit_files(&self, files: &[&str], runtime: bool) -> zbus::Result<UnitFileChanges>;
    /// `properties` is `a(sv)`; `aux` (`a(sa(sv))`) is for auxiliary units, unused here.
    fn start_transient_unit(
        &self,
        name: &str,
        mode: &str,
        properties: &[(&str, Value<'_>)],
        aux: &[(&str, Vec<(&str, Value<'_>)>)],
    ) -> zbus::Result<OwnedObjectPath>;

    #[zbus(signal)]
    fn job_removed(
        &self,
        id: u32,
        job: ObjectPath<'_>,
        unit: &str,
        result: &str,
    ) -> zbus::Result<()>;

    #[zbus(property)]
    fn version(&self) -> zbus::Result<String>;
}

#[proxy(
    interface = "org.freedesktop.systemd1.Unit",
    default_service = "org.freedesktop.systemd1"
)]
pub(super) trait Unit {
    #[zbus(property)]
    fn load_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn active_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn sub_state(&self) -> zbus::Result<String>;
    /// Microseconds since the epoch.
    #[zbus(property)]
    fn active_enter_timestamp(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn unit_file_state(&self) -> zbus::Result<String>;
    /// 16 bytes; empty when the unit never ran.
    #[zbus(property, name = "InvocationID")]
    fn invocation_id(&self) -> zbus::Result<Vec<u8>>;
}

#[proxy(
    interface = "org.freedesktop.systemd1.Service",
    default_service = "org.freedesktop.systemd1"
)]
pub(super) trait Service {
    #[zbus(property)]
    fn result(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn exec_main_status(&self) -> zbus::Result<i32>;
    #[zbus(property, name = "MainPID")]
    fn main_pid(&self) -> zbus::Result<u32>;
    #[zbus(property, name = "NRestarts")]
    fn n_restarts(&self) -> zbus::Result<u32>;
    /// `u64::MAX` when memory accounting is off.
    #[zbus(property)]
    fn memory_current(&self) -> zbus::Result<u64>;
    /// `(path, argv, ignore_errors, start_rt, start_mono, exit_rt, exit_mono, pid, code, status)`.
    #[allow(clippy::type_complexity)]
    #[zbus(property)]
    fn exec_start(
        &self,
    ) -> zbus::Result<Vec<(String, Vec<String>, bool, u64, u64, u64, u64, u32, i32, i32)>>;
}

#[proxy(
    interface = "org.freedesktop.systemd1.Socket",
    default_service = "org.freedesktop.systemd1"
)]
pub(super) trait Socket {
    /// `success`, `trigger-limit-hit`, `service-start-limit-hit`, …
    #[zbus(property)]
    fn result(&self) -> zbus::Result<String>;
}

#[proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
pub(super) trait LoginManager {
    fn get_user(&self, uid: u32) -> zbus::Result<OwnedObjectPath>;
}

#[proxy(
    interface = "org.freedesktop.login1.User",
    default_service = "org.freedesktop.login1"
)]
pub(super) trait LoginUser {
    #[zbus(property)]
    fn linger(&self) -> zbus::Result<bool>;
}
