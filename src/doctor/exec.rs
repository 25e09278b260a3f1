//! The program a unit file's `ExecStart=` runs, and whether it is there:
//! a missing one is systemd's status 203 (EXEC) at the next start.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// The program of the first `ExecStart=` in `unit_text`, unquoted, without
/// systemd's `@-:+!` prefixes.
pub fn program(unit_text: &str) -> Option<String> {
    let line = unit_text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("ExecStart="))?;
    let line = line.trim_start_matches(['@', '-', ':', '+', '!']);
    let word = if let Some(rest) = line.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    } else {
        line.split_whitespace().next()?.to_string()
    };
    // `exec_line` doubles `%` and `$` so systemd does not expand them.
    Some(word.replace("%%", "%").replace("$$", "$"))
}

/// Whether `program` is an executable file (relative names are searched
/// by systemd in its own `PATH`: not judged here).
pub fn runnable(program: &str) -> bool {
    let p = Path::new(program);
    if !p.is_absolute() {
        return true;
    }
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_quoted_and_prefixed_programs() {
        assert_eq!(
            program("[Service]\nExecStart=/usr/bin/parachute serve --idle-exit 600\n").as_deref(),
            Some("/usr/bin/parachute")
        );
        assert_eq!(
            program("ExecStart=-\"/opt/my app/bin\" run\n").as_deref(),
            Some("/opt/my app/bin")
        );
        assert_eq!(
            program("ExecStart=/opt/100%%/x\n").as_deref(),
            Some("/opt/100%/x")
        );
        assert_eq!(program("[Service]\nType=simple\n"), None);
    }

    #[test]
    fn a_missing_or_non_executable_file_is_not_runnable() {
        let tmp = tempfile::tempdir().expect("tmp");
        let f = tmp.path().join("bin");
        assert!(!runnable(f.to_str().expect("utf8")));
        std::fs::write(&f, "#!/bin/sh\n").expect("write");
        assert!(!runnable(f.to_str().expect("utf8")));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(runnable(f.to_str().expect("utf8")));
        assert!(runnable("python3"));
    }
}
