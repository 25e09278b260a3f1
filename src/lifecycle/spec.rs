//! From a services.json row (and the module.json it points at) to the
//! [`ServiceSpec`] a unit is rendered from.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::lifecycle::service::ServiceSpec;
use crate::lifecycle::systemd::hardening::OptOuts;
use crate::manifest::{ModuleManifest, Row};
use crate::paths::Paths;

/// Where rendered units point, beside the paths: the user's home and the
/// hub origin modules are told about.
#[derive(Debug, Clone)]
pub struct SpecContext<'a> {
    pub paths: &'a Paths,
    pub user_home: &'a Path,
    pub hub_origin: &'a str,
    /// `PATH` to resolve bare command names against.
    pub search_path: &'a str,
}

/// First-party modules whose start command is known without a module.json
/// (rows they self-registered before `installDir` existed).
const KNOWN_COMMANDS: &[(&str, &[&str])] = &[
    ("vault", &["parachute-vault", "serve"]),
    ("surface", &["parachute-surface", "serve"]),
];

/// The spec for `row`; `Ok(None)` when the row has no `installDir` and no
/// known start command (the caller decides whether an existing unit will do).
pub fn for_row(
    row: &Row,
    module: Option<&ModuleManifest>,
    cx: &SpecContext<'_>,
) -> Result<Option<ServiceSpec>, Error> {
    let short = row.short().to_string();
    let (argv, working_dir, notify, opt_out) = match (&row.install_dir, module) {
        (Some(dir), Some(m)) => {
            let argv = match &m.start_cmd {
                Some(c) => c.clone(),
                None => known_command(&short).ok_or_else(|| {
                    Error::module(
                        &ModuleManifest::path_in(dir),
                        "`startCmd` is required for a module parachute does not know (e.g. [\"bin/server\", \"serve\"])",
                    )
                })?,
            };
            (argv, dir.clone(), m.notify, m.hardening_opt_out.clone())
        }
        (Some(dir), None) => {
            let m = ModuleManifest::load(dir)?;
            return for_row(row, Some(&m), cx);
        }
        (None, _) => match known_command(&short) {
            Some(argv) => (argv, cx.paths.home.join(&short), false, OptOuts::new()),
            None => return Ok(None),
        },
    };
    let exe = resolve_program(&argv[0], &working_dir, cx.search_path).ok_or_else(|| {
        Error::NoStartProgram {
            short: short.clone(),
            program: argv[0].clone(),
            dir: working_dir.clone(),
            manifest: ModuleManifest::path_in(&working_dir),
        }
    })?;
    let mut exec_start = vec![exe.to_string_lossy().into_owned()];
    exec_start.extend(argv[1..].iter().cloned());
    let label = row.display_name.clone().unwrap_or_else(|| short.clone());
    Ok(Some(ServiceSpec {
        unit: row.unit(),
        description: format!("Parachute {label} ({})", row.name),
        short,
        exec_start,
        working_dir,
        port: row.port,
        parachute_home: cx.paths.home.clone(),
        hub_origin: cx.hub_origin.to_string(),
        user_home: cx.user_home.to_path_buf(),
        notify,
        opt_out,
    }))
}

fn known_command(short: &str) -> Option<Vec<String>> {
    KNOWN_COMMANDS
        .iter()
        .find(|(s, _)| *s == short)
        .map(|(_, argv)| argv.iter().map(|a| (*a).to_string()).collect())
}

/// An absolute path for `program`: relative paths are taken from the module's
/// directory (its cwd), bare names are looked up on `search_path`.
pub fn resolve_program(program: &str, cwd: &Path, search_path: &str) -> Option<PathBuf> {
    let candidate = Path::new(program);
    if candidate.is_absolute() {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    if program.contains('/') {
        let p = cwd.join(candidate);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(search_path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn programs_resolve_relative_to_the_module_or_on_path() {
        let tmp = tempfile::tempdir().expect("tmp");
        let bin = tmp.path().join("bin");
        fs::create_dir_all(&bin).expect("mkdir");
        fs::write(bin.join("srv"), "").expect("write");
        assert_eq!(
            resolve_program("bin/srv", tmp.path(), ""),
            Some(bin.join("srv"))
        );
        assert_eq!(
            resolve_program("srv", Path::new("/nowhere"), &bin.to_string_lossy()),
            Some(bin.join("srv"))
        );
        assert_eq!(
            resolve_program("missing", tmp.path(), &bin.to_string_lossy()),
            None
        );
    }

    #[test]
    fn rows_without_install_dir_or_known_command_have_no_spec() {
        let paths = Paths {
            home: "/h/.parachute".into(),
            unit_dir: "/h/.config/systemd/user".into(),
        };
        let cx = SpecContext {
            paths: &paths,
            user_home: Path::new("/h"),
            hub_origin: "http://127.0.0.1:1939",
            search_path: "",
        };
        let row = Row::new("parachute-thirdparty", 1950, &[], "/health", "1.0.0");
        assert!(for_row(&row, None, &cx).expect("ok").is_none());
    }
}
