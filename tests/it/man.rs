//! Man pages are generated from the clap definitions and checked in; this
//! test fails when they drift. `UPDATE_MAN=1 cargo test man` regenerates them.

use std::path::Path;

use clap::CommandFactory;

fn render(cmd: &clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .expect("render man page");
    buf
}

#[test]
fn man_pages_are_current() {
    let root = parachute::cli::Cli::command();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut pages = vec![("parachute.1".to_string(), render(&root))];
    for sub in root.get_subcommands() {
        let name = format!("parachute-{}", sub.get_name());
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        let cmd = sub.clone().name(leaked);
        pages.push((format!("{name}.1"), render(&cmd)));
    }
    let update = std::env::var_os("UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (file, text) in &pages {
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).expect("mkdir man");
            std::fs::write(&path, text).expect("write man page");
        } else if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
            stale.push(file.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "man pages out of date: {stale:?}; run `UPDATE_MAN=1 cargo test man_pages` and commit man/"
    );
}
