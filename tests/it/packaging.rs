//! The Homebrew formula and the Debian metadata install what the tree and
//! the binary provide (issue 15). `ruby -c` checks the formula's syntax; in
//! CI (`CI` set) a missing ruby fails the test instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn formula() -> String {
    std::fs::read_to_string(root().join("packaging/homebrew/parachute.rb")).expect("formula")
}

/// Files a `Dir["<glob>"]` with one `*` in its file name matches.
fn glob(pattern: &str) -> Vec<String> {
    let (dir, file) = pattern.rsplit_once('/').expect("dir/file");
    let (pre, post) = file.split_once('*').expect("one *");
    let mut hits: Vec<String> = std::fs::read_dir(root().join(dir))
        .expect("read dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(pre) && n.ends_with(post) && n.len() >= pre.len() + post.len())
        .collect();
    hits.sort();
    hits
}

#[test]
fn the_formula_is_valid_ruby() {
    let path = root().join("packaging/homebrew/parachute.rb");
    match Command::new("ruby").arg("-c").arg(&path).output() {
        Ok(o) => assert!(
            o.status.success(),
            "ruby -c: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) if std::env::var_os("CI").is_none() => eprintln!("SKIP: no ruby ({e})"),
        Err(e) => panic!("ruby is required in CI: {e}"),
    }
}

#[test]
fn the_formula_installs_every_man_page_and_the_completions_the_binary_prints() {
    let f = formula();
    assert!(
        !f.lines().any(|l| l.trim_start().starts_with("service do")),
        "no `service do` block (it would fight parachute's own agent)"
    );
    assert!(f.contains("*std_cargo_args"), "builds with std_cargo_args");
    assert!(
        f.contains("def caveats") && f.contains("parachute init"),
        "caveats point to `parachute init`"
    );
    assert!(
        f.contains("After `brew upgrade parachute`") && f.contains("parachute upgrade"),
        "caveats say `parachute upgrade` after an upgrade"
    );
    assert!(f.contains("test do"), "has a test block");

    // Every page in man/ is installed by one `manN.install Dir["man/*.N"]`.
    let install =
        regex_lite::Regex::new(r#"man([15])\.install Dir\["(man/\*\.[15])"\]"#).expect("re");
    let mut installed = Vec::new();
    for c in install.captures_iter(&f) {
        assert!(c[2].ends_with(&c[1]), "man{} gets {}", &c[1], &c[2]);
        installed.extend(glob(&c[2]));
    }
    let mut pages: Vec<String> = glob("man/*.1");
    pages.extend(glob("man/*.5"));
    assert!(pages.iter().any(|p| p == "parachute-module.5"), "{pages:?}");
    assert_eq!(installed, pages);

    // `generate_completions_from_executable(bin/"parachute", "completions")`
    // runs `parachute completions <shell>` for bash, zsh and fish.
    let gen_re = regex_lite::Regex::new(
        r#"generate_completions_from_executable\(bin/"parachute", "([a-z]+)"\)"#,
    )
    .expect("re");
    let sub = gen_re
        .captures(&f)
        .expect("generate_completions_from_executable")[1]
        .to_string();
    for shell in ["bash", "zsh", "fish"] {
        let o = Command::new(env!("CARGO_BIN_EXE_parachute"))
            .args([sub.as_str(), shell])
            .output()
            .expect("run parachute");
        assert!(
            o.status.success() && !o.stdout.is_empty(),
            "parachute {sub} {shell}"
        );
    }
}

/// Issue 15: the postinst names `init` on a first install and `upgrade`
/// (a command the binary has) on an upgrade; it starts nothing itself.
#[test]
fn the_postinst_says_init_first_and_upgrade_after_an_upgrade() {
    let postinst = root().join("packaging/deb/maintainer-scripts/postinst");
    let run = |args: &[&str]| {
        let o = Command::new("sh")
            .arg(&postinst)
            .args(args)
            .output()
            .expect("run postinst");
        assert!(o.status.success(), "postinst {args:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let fresh = run(&["configure", ""]);
    assert!(fresh.contains("parachute init"), "{fresh}");
    let upgraded = run(&["configure", "0.0.9"]);
    assert!(
        upgraded.contains("upgraded from 0.0.9") && upgraded.contains("parachute upgrade"),
        "{upgraded}"
    );
    let help = Command::new(env!("CARGO_BIN_EXE_parachute"))
        .args(["upgrade", "--help"])
        .output()
        .expect("run parachute");
    assert!(help.status.success(), "`parachute upgrade` is a command");
}

/// The .deb's asset sources are what `packaging/deb/build.sh` generates or
/// what the tree holds, and its destinations the paths Debian's shells read.
#[test]
fn the_deb_assets_come_from_the_build_script_and_the_tree() {
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let script = std::fs::read_to_string(root().join("packaging/deb/build.sh")).expect("build.sh");
    for (src, dest) in [
        (
            "target/packaging/completions/parachute.bash",
            "usr/share/bash-completion/completions/parachute",
        ),
        (
            "target/packaging/completions/parachute.zsh",
            "usr/share/zsh/vendor-completions/_parachute",
        ),
        (
            "target/packaging/completions/parachute.fish",
            "usr/share/fish/vendor_completions.d/parachute.fish",
        ),
        ("target/packaging/man/*.1.gz", "usr/share/man/man1/"),
        ("target/packaging/man/*.5.gz", "usr/share/man/man5/"),
    ] {
        assert!(
            cargo.contains(&format!("[\"{src}\", \"{dest}\"")),
            "asset {src} → {dest}"
        );
    }
    assert!(script.contains("completions \"$shell\" >\"$out/completions/parachute.$shell\""));
    assert!(script.contains("man/*.1 man/*.5"));
    for tree in [
        "examples/hello-module/server.py",
        "examples/hello-module/.parachute/module.json",
    ] {
        assert!(Path::new(&root().join(tree)).is_file(), "{tree}");
        assert!(
            cargo.contains(&format!("[\"{tree}\", \"usr/share/doc/parachute/")),
            "{tree} shipped"
        );
    }
}
