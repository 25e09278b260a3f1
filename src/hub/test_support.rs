//! What in-process router tests start from: a hub state on a fresh store
//! under `dir`, with an active signing key.

use std::path::Path;

use crate::clock::Clock;
use crate::hub::state::HubState;
use crate::paths::Paths;
use crate::store::Store;
use crate::tokens::{Issuers, keys};

/// The issuer the test states use.
pub const ORIGIN: &str = "http://127.0.0.1:1939";

pub fn state_in(dir: &Path) -> HubState {
    state_with_clock(dir, Clock::system())
}

/// [`state_in`] on `clock` (the key is made at its time).
pub fn state_with_clock(dir: &Path, clock: Clock) -> HubState {
    let paths = Paths {
        home: dir.join("home"),
        unit_dir: dir.join("units"),
    };
    paths.ensure_home().expect("home");
    let store = Store::open(&paths.hub_db()).expect("store");
    store
        .write(|tx| {
            keys::ensure_active(tx, clock.now()).map_err(|e| store.other(e))?;
            Ok(())
        })
        .expect("key");
    HubState::with_clock(store, paths, Issuers::new(ORIGIN, &[1939]), clock).expect("state")
}
