//! The user's override file, `$PARACHUTE_HOME/launchd/<short>.override.plist`:
//! a plist dictionary merged over the generated agent on every render, so
//! changes survive `install`, `init` and `doctor --fix`.

use std::io::{ErrorKind, Read as _};
use std::path::Path;

use plist::{Dictionary, Value};

use super::error::Error;

/// Bigger than any real override (a handful of keys), small enough that a
/// stray file is refused before it is parsed.
pub const MAX_BYTES: u64 = 256 * 1024;

/// The overrides in `path`; `Ok(None)` when there is no such file.
pub fn load(path: &Path) -> Result<Option<Dictionary>, Error> {
    let bad = |problem: String| Error::Override {
        path: path.to_path_buf(),
        problem,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(bad(format!("it is larger than {} KiB", MAX_BYTES / 1024)));
    }
    let value = Value::from_reader(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("it is not a valid plist ({e})")))?;
    let Value::Dictionary(d) = value else {
        return Err(bad("its top level must be a <dict>".into()));
    };
    // The label is how every launchctl call names the job; a changed one
    // would leave the old job running and unreachable.
    if d.contains_key("Label") {
        return Err(bad(
            "it may not set `Label` (parachute addresses the job by it)".into(),
        ));
    }
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let p = dir.path().join("vault.override.plist");
        std::fs::write(&p, text).expect("write");
        p
    }

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
"#;

    #[test]
    fn a_missing_file_is_no_overrides() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(load(&dir.path().join("none.plist")).expect("ok"), None);
    }

    #[test]
    fn a_dictionary_is_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(
            &dir,
            &format!("{DOC}<dict><key>Nice</key><integer>5</integer></dict></plist>"),
        );
        let d = load(&p).expect("ok").expect("some");
        assert_eq!(d.get("Nice").and_then(Value::as_signed_integer), Some(5));
    }

    #[test]
    fn bad_files_are_refused_with_the_path_and_the_reason() {
        let dir = tempfile::tempdir().expect("tmp");
        for (text, why) in [
            ("not a plist".to_string(), "not a valid plist"),
            (format!("{DOC}<array/></plist>"), "must be a <dict>"),
            (
                format!("{DOC}<dict><key>Label</key><string>x</string></dict></plist>"),
                "may not set `Label`",
            ),
            (
                format!("{DOC}<dict>{}</dict></plist>", " ".repeat(300 * 1024)),
                "larger than",
            ),
        ] {
            let p = write(&dir, &text);
            let msg = load(&p).expect_err("refused").to_string();
            assert!(msg.contains(why), "{msg}");
            assert!(msg.contains(&p.display().to_string()), "{msg}");
        }
    }
}
