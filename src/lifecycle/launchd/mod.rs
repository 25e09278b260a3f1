//! launchd `LaunchAgents`: the same lifecycle on macOS. One agent per service
//! (`computer.parachute.<short>`), rendered from the same [`ServiceSpec`] as
//! the systemd units, written to `~/Library/LaunchAgents`, and driven through
//! `launchctl` behind a command runner. launchd has no start limit, so the
//! crash-loop guard here stands in for systemd's `StartLimit*`.
//!
//! [`ServiceSpec`]: crate::lifecycle::service::ServiceSpec

pub mod agents;
pub mod disabled;
pub mod error;
pub mod guard;
pub mod hub;
pub mod launchctl;
pub mod layout;
pub mod logs;
pub mod overrides;
pub mod print;
pub mod render;
pub mod runner;
pub mod system;

pub use error::Error;
pub use layout::Layout;
