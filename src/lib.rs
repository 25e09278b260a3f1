//! Parachute: one binary that is both the CLI and the hub daemon for a suite
//! of local services, each run as a native init-system unit.

pub mod cli;
pub mod clock;
pub mod doctor;
pub mod env_vars;
pub mod error;
pub mod fsio;
pub mod health;
pub mod hub;
pub mod identity;
pub mod lifecycle;
pub mod manifest;
pub mod oauth;
pub mod paths;
pub mod ports;
pub mod secret;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod version;
