//! Which services exist: the rows of services.json and the service units on
//! disk. The registry says how to (re)write a unit; the unit files say what
//! systemd can run. Stopping and showing must work from the units alone, so
//! a malformed or deleted services.json (issue 9 item 6) neither blocks
//! `parachute stop` nor hides a running unit.

use std::fs;
use std::io::ErrorKind;

use crate::error::Error;
use crate::lifecycle::service::HUB_SERVICE;
use crate::manifest::{ManifestError, Services, short_name, unit_name};
use crate::paths::Paths;

/// The registry as far as it could be read, and the units beside it.
#[derive(Debug)]
pub struct Inventory {
    /// The readable rows (none when the file could not be read).
    pub services: Services,
    /// Why services.json could not be read at all. The file is left exactly
    /// as it is: only a fix by the user may rewrite it.
    pub unreadable: Option<Error>,
    /// Rows a lenient read skipped, one line each.
    pub warnings: Vec<String>,
    /// `parachute-*.service` units on disk with no row (sorted).
    pub unregistered: Vec<String>,
}

impl Inventory {
    /// Read services.json leniently and list the service units on disk.
    /// Only an unreadable unit directory is an error.
    pub fn load(paths: &Paths) -> Result<Self, Error> {
        let (services, warnings, unreadable) = match Services::load_lenient(&paths.services_json())
        {
            Ok((s, w)) => (s, w, None),
            Err(e @ (ManifestError::Syntax { .. } | ManifestError::Invalid { .. })) => {
                (Services::empty(), Vec::new(), Some(e.into()))
            }
            Err(e) => return Err(e.into()),
        };
        let unregistered = service_units_on_disk(paths)?
            .into_iter()
            .filter(|u| !services.rows.iter().any(|r| r.unit() == *u))
            .collect();
        Ok(Self {
            services,
            unreadable,
            warnings,
            unregistered,
        })
    }

    /// Every service unit: the rows' first, then those only on disk.
    pub fn service_units(&self) -> Vec<String> {
        self.services
            .rows
            .iter()
            .map(crate::manifest::Row::unit)
            .chain(self.unregistered.iter().cloned())
            .collect()
    }

    /// The unit of `name` (`vault`, `parachute-vault` or
    /// `parachute-vault.service`): its row's, else a unit found on disk.
    pub fn find_unit(&self, name: &str) -> Option<String> {
        if let Some(row) = self.services.find(name) {
            return Some(row.unit());
        }
        let unit = if name.ends_with(".service") {
            name.to_string()
        } else {
            unit_name(name)
        };
        self.unregistered.contains(&unit).then_some(unit)
    }

    /// Short names of every service, for "known: …" lists.
    pub fn known(&self) -> Vec<String> {
        let mut known = self.services.known();
        known.extend(self.unregistered.iter().map(|u| short_of(u).to_string()));
        known
    }
}

/// `parachute-vault.service` → `vault`.
pub fn short_of(unit: &str) -> &str {
    short_name(unit.strip_suffix(".service").unwrap_or(unit))
}

/// The `parachute-*.service` files in the unit directory, sorted: every
/// service unit we wrote, the hub's excepted (and the transient probes,
/// which never have a file).
pub fn service_units_on_disk(paths: &Paths) -> Result<Vec<String>, Error> {
    let entries = match fs::read_dir(&paths.unit_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&paths.unit_dir, e)),
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("parachute-") && n.ends_with(".service") && n != HUB_SERVICE)
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> (tempfile::TempDir, Paths) {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: tmp.path().join("home"),
            unit_dir: tmp.path().join("units"),
        };
        fs::create_dir_all(&paths.home).expect("mkdir");
        fs::create_dir_all(&paths.unit_dir).expect("mkdir");
        (tmp, paths)
    }

    #[test]
    fn a_malformed_registry_is_kept_and_the_units_on_disk_are_listed() {
        let (_t, paths) = paths();
        fs::write(paths.services_json(), "{ not json").expect("write");
        for u in ["parachute-b.service", "parachute-a.service", HUB_SERVICE] {
            fs::write(paths.unit_file(u), "[Unit]\n").expect("write");
        }
        fs::write(paths.unit_file("parachute.target"), "[Unit]\n").expect("write");
        let inv = Inventory::load(&paths).expect("load");
        assert!(matches!(
            inv.unreadable,
            Some(Error::Manifest(
                crate::manifest::ManifestError::Syntax { .. }
            ))
        ));
        assert_eq!(
            inv.service_units(),
            ["parachute-a.service", "parachute-b.service"]
        );
        assert_eq!(inv.find_unit("a").as_deref(), Some("parachute-a.service"));
        assert_eq!(
            inv.find_unit("parachute-b").as_deref(),
            Some("parachute-b.service")
        );
        assert_eq!(inv.find_unit("c"), None);
        assert_eq!(
            fs::read_to_string(paths.services_json()).expect("read"),
            "{ not json"
        );
    }

    #[test]
    fn no_unit_directory_means_no_units() {
        let tmp = tempfile::tempdir().expect("tmp");
        let paths = Paths {
            home: tmp.path().join("home"),
            unit_dir: tmp.path().join("absent"),
        };
        let inv = Inventory::load(&paths).expect("load");
        assert!(inv.unreadable.is_none());
        assert!(inv.service_units().is_empty());
    }
}
