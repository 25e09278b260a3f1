//! `parachute completions bash|zsh|fish` (issue 15, issue 9 item 15): the
//! bash script is sourced in a real bash and asked to complete.

use std::process::Command;

fn script(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_parachute"))
        .args(["completions", shell])
        .env_remove("PARACHUTE_HOME")
        .output()
        .expect("run parachute completions");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 script")
}

/// What bash offers for the words typed so far (the last may be partial),
/// using the function the script registered with `complete -F`.
fn bash_complete(words: &[&str]) -> Vec<String> {
    let dir = crate::support::temp_dir();
    let file = dir.path().join("parachute.bash");
    std::fs::write(&file, script("bash")).expect("write script");
    let words_q: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let prog = format!(
        r#"source '{file}'
func=$(complete -p parachute | sed -n 's/.*-F \([^ ]*\).*/\1/p')
[ -n "$func" ] || {{ echo "no completion registered for parachute" >&2; exit 3; }}
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE='{line}'
COMP_POINT={point}
"$func" parachute "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        file = file.display(),
        words = words_q.join(" "),
        cword = words.len() - 1,
        point = line.len(),
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_nested_ones() {
    assert_eq!(bash_complete(&["parachute", "ins"]), vec!["install"]);
    let top = bash_complete(&["parachute", ""]);
    for want in ["install", "status", "doctor", "completions", "auth"] {
        assert!(top.iter().any(|w| w == want), "{want} missing from {top:?}");
    }
    assert_eq!(
        bash_complete(&["parachute", "auth", "set-p"]),
        vec!["set-password"]
    );
    assert_eq!(
        bash_complete(&["parachute", "completions", "z"]),
        vec!["zsh"]
    );
}

#[test]
fn zsh_and_fish_scripts_name_the_program() {
    assert!(script("zsh").starts_with("#compdef parachute"));
    let fish = script("fish");
    assert!(fish.contains("complete -c parachute"), "{fish}");
    assert!(fish.contains("install"), "{fish}");
}

#[test]
fn an_unknown_shell_is_refused_with_the_choices() {
    let out = Command::new(env!("CARGO_BIN_EXE_parachute"))
        .args(["completions", "powershell"])
        .output()
        .expect("run parachute");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("possible values: bash, zsh, fish"), "{err}");
}
