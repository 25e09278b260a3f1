//! Man pages: one per command of the clap tree (nested ones included),
//! generated with `clap_mangen` plus the hand-written sections in
//! `man/sections/<page>`, and the hand-written `parachute-module(5)`. They
//! are checked in; this test fails when they drift.
//! `UPDATE_MAN=1 cargo test --all-targets man_pages` regenerates them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

/// Hand-written pages every generated page may point at.
const HAND_WRITTEN: &[&str] = &["parachute-module.5"];

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// `parachute-auth-set-password` for `parachute auth set-password`.
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

/// Every page of the tree: file name → roff text.
fn render_all() -> BTreeMap<String, Vec<u8>> {
    let mut root = parachute::cli::Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = BTreeMap::new();
    render_tree(&root, None, &mut pages);
    pages
}

fn render_tree(cmd: &clap::Command, parent: Option<&str>, pages: &mut BTreeMap<String, Vec<u8>>) {
    let name = page_name(cmd);
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .expect("render man page");
    if let Ok(extra) = std::fs::read(man_dir().join("sections").join(format!("{name}.1"))) {
        buf.extend_from_slice(&extra);
    }
    buf.extend_from_slice(see_also(cmd, parent).as_bytes());
    pages.insert(format!("{name}.1"), buf);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_tree(sub, Some(&name), pages);
    }
}

/// SEE ALSO: the parent page, the module format where modules matter, and
/// for the root every page.
fn see_also(cmd: &clap::Command, parent: Option<&str>) -> String {
    let name = page_name(cmd);
    let mut refs: Vec<String> = parent.map(|p| format!("{p}(1)")).into_iter().collect();
    if parent.is_none() || name == "parachute-install" {
        refs.push("parachute-module(5)".into());
    }
    if parent.is_none() {
        refs.extend(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("{}(1)", page_name(s))),
        );
    }
    let mut s = String::from(".SH \"SEE ALSO\"\n");
    for (i, r) in refs.iter().enumerate() {
        let (page, section) = r.split_once('(').expect("name(section)");
        let sep = if i + 1 < refs.len() { "," } else { "" };
        let _ = writeln!(s, ".BR {} ({}{sep}", page.replace('-', "\\-"), section);
    }
    s
}

#[test]
fn man_pages_are_current() {
    let dir = man_dir();
    let pages = render_all();
    let update = std::env::var_os("UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (file, text) in &pages {
        let path = dir.join(file);
        if update {
            std::fs::write(&path, text).expect("write man page");
        } else if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
            stale.push(file.clone());
        }
    }
    // Pages of commands that no longer exist.
    for entry in std::fs::read_dir(&dir).expect("read man/") {
        let file = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let ours = file.starts_with("parachute") && file.ends_with(".1");
        if ours && !pages.contains_key(&file) {
            if update {
                std::fs::remove_file(dir.join(&file)).expect("remove stale page");
            } else {
                stale.push(file);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "man pages out of date: {stale:?}; run `UPDATE_MAN=1 cargo test --all-targets man_pages` and commit man/"
    );
}

#[test]
fn every_command_has_a_page_whose_synopsis_is_the_command_line() {
    let pages = render_all();
    for (path, want) in [
        ("parachute.1", "\\fBparachute\\fR"),
        ("parachute-install.1", "\\fBparachute install\\fR"),
        (
            "parachute-auth-set-password.1",
            "\\fBparachute auth set\\-password\\fR",
        ),
        ("parachute-completions.1", "\\fBparachute completions\\fR"),
    ] {
        let text = String::from_utf8_lossy(pages.get(path).unwrap_or_else(|| panic!("{path}")));
        let synopsis = text.split(".SH SYNOPSIS\n").nth(1).expect("SYNOPSIS");
        assert!(synopsis.starts_with(want), "{path}: {synopsis}");
    }
}

/// Every `name(N)` a page mentions that looks like ours is a page we ship.
#[test]
fn man_pages_have_no_dangling_references() {
    let mut pages: BTreeMap<String, String> = render_all()
        .into_iter()
        .map(|(f, t)| (f, String::from_utf8_lossy(&t).into_owned()))
        .collect();
    for f in HAND_WRITTEN {
        let text = std::fs::read_to_string(man_dir().join(f)).expect("read page");
        pages.insert((*f).to_string(), text);
    }
    let dangling = dangling_references(&pages);
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

fn dangling_references(pages: &BTreeMap<String, String>) -> Vec<String> {
    let re = regex_lite::Regex::new(r"(parachute(?:\\?-[a-z0-9]+)*)(?:\\fR)?\s*\(([15])\)")
        .expect("regex");
    let mut dangling = Vec::new();
    for (file, text) in pages {
        for c in re.captures_iter(text) {
            let target = format!("{}.{}", c[1].replace("\\-", "-"), &c[2]);
            if !pages.contains_key(&target) {
                dangling.push(format!("{file} → {target}"));
            }
        }
    }
    dangling
}

/// parachute-module(5) documents every field the manifest parser reads,
/// the variables a module gets, and its `.env` file.
#[test]
fn the_module_page_documents_every_manifest_field() {
    // The parser's own list (its unit tests tie it to the serde struct).
    let fields: Vec<String> = parachute::manifest::module::FIELDS
        .iter()
        .map(|f| (*f).to_string())
        .collect();
    for want in [
        "name",
        "manifestName",
        "port",
        "startCmd",
        "notify",
        "scopes",
        "hardeningOptOut",
    ] {
        assert!(
            fields.iter().any(|f| f == want),
            "parser reads {want}: {fields:?}"
        );
    }
    let page = std::fs::read_to_string(man_dir().join("parachute-module.5")).expect("page");
    for f in fields
        .iter()
        .map(String::as_str)
        .chain(["PORT", "PARACHUTE_HUB_ORIGIN", "/.env"])
    {
        assert!(
            page.contains(&format!("\\fB{f}\\fR")),
            "parachute-module.5 does not document `{f}`"
        );
    }
}

#[test]
fn install_help_points_at_the_module_page() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parachute"))
        .args(["install", "--help"])
        .output()
        .expect("run parachute install --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("man 5 parachute-module"), "{help}");
}
