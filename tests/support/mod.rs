//! Shared helpers for the integration-test binary (`tests/tests.rs`).
//!
//! Not every test module uses every helper.
#![allow(dead_code)]

pub mod cli;
pub mod hardened;
pub mod http;
pub mod hub;
pub mod module;
pub mod systemd;

/// A fresh directory removed when the returned guard drops.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("parachute-test-")
        .tempdir()
        .expect("create a temp dir")
}
