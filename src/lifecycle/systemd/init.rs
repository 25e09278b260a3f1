//! [`InitSystem`] for systemd: unit files under the user's unit directory,
//! and the user manager over D-Bus, reached on the first call that needs it
//! (so on-disk checks and `stop`'s reading of unit files work without one).

use tokio::sync::OnceCell;

use super::dbus::SystemdUser;
use super::hardening::{Hardening, Ns};
use super::{unit, units};
use crate::error::Error;
use crate::lifecycle::service::ServiceSpec;
use crate::lifecycle::{InitError, InitSystem, JobResult, Rendered, UnitState};
use crate::paths::Paths;

#[derive(Default)]
pub struct Systemd {
    user: OnceCell<SystemdUser>,
}

impl Systemd {
    /// Not connected yet: the first manager call connects.
    pub fn new() -> Self {
        Self::default()
    }

    /// Over a manager already reached (tests hand in one on a bus of their own).
    pub fn connected(user: SystemdUser) -> Self {
        Self {
            user: OnceCell::new_with(Some(user)),
        }
    }

    /// The user manager, connecting on first use (errors carry the guidance to print).
    pub async fn user(&self) -> Result<&SystemdUser, InitError> {
        self.user.get_or_try_init(SystemdUser::connect).await
    }

    /// The manager's version string (empty when unreachable).
    pub async fn manager_version(&self) -> String {
        match self.user().await {
            Ok(u) => u.version().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}

impl InitSystem for Systemd {
    fn has_unit(&self, paths: &Paths, unit: &str) -> bool {
        units::exists(paths, unit)
    }
    fn ensure_group(&self, paths: &Paths) -> Result<bool, Error> {
        units::ensure_target(paths)
    }
    async fn render_service(&self, paths: &Paths, spec: &ServiceSpec) -> Rendered {
        // The probe needs the manager; without one, the cautious render.
        let known = if self.user().await.is_ok() {
            Some(units::hardening(paths, self).await)
        } else {
            units::cached_hardening(paths)
        };
        Rendered {
            text: unit::render_service(spec, known.unwrap_or(Hardening::NONE)),
            hardening_known: known.is_some(),
        }
    }
    async fn write_service(&self, paths: &Paths, spec: &ServiceSpec) -> Result<bool, Error> {
        let hardening = units::hardening(paths, self).await;
        units::write_if_changed(paths, &spec.unit, &unit::render_service(spec, hardening))
    }
    fn remove_unit(&self, paths: &Paths, unit: &str) -> Result<bool, Error> {
        units::remove(paths, unit)
    }
    async fn reload(&self) -> Result<(), InitError> {
        self.user().await?.reload().await
    }
    async fn enable(&self, units: &[String]) -> Result<(), InitError> {
        self.user().await?.enable(units).await
    }
    async fn disable(&self, units: &[String]) -> Result<(), InitError> {
        self.user().await?.disable(units).await
    }
    async fn start(&self, unit: &str) -> Result<JobResult, InitError> {
        self.user().await?.start(unit).await
    }
    async fn stop(&self, unit: &str) -> Result<JobResult, InitError> {
        self.user().await?.stop(unit).await
    }
    async fn restart(&self, unit: &str) -> Result<JobResult, InitError> {
        self.user().await?.restart(unit).await
    }
    async fn reset_failed(&self, unit: &str) -> Result<(), InitError> {
        self.user().await?.reset_failed(unit).await
    }
    async fn state(&self, unit: &str) -> Result<UnitState, InitError> {
        self.user().await?.state(unit).await
    }
    async fn linger(&self) -> Option<bool> {
        self.user().await.ok()?.linger().await
    }
    async fn probe_namespaces(&self, directives: &[Ns]) -> Result<bool, InitError> {
        self.user().await?.probe_namespaces(directives).await
    }
}
