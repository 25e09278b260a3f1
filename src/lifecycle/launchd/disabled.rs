//! `launchctl print-disabled <domain>`: which labels launchd will not load
//! (at login or on `bootstrap`, which then fails with 119). launchd keeps
//! this apart from the plist, so a plist on disk says nothing about it.
//! Only the `disabled services = { … }` block counts: later blocks
//! (`login item associations`) use the same `"label" => value` lines.

use std::collections::BTreeMap;

/// Each label in the `disabled services` block: `true` when it is disabled.
/// macOS 13+ writes `=> disabled` / `=> enabled`; older releases wrote
/// `=> true` (disabled) / `=> false`.
pub fn parse(text: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if !inside {
            inside = t.starts_with("disabled services") && t.ends_with('{');
            continue;
        }
        if t.starts_with('}') {
            break;
        }
        let Some((label, value)) = t.split_once("=>") else {
            continue;
        };
        let label = label.trim().trim_matches('"');
        let disabled = match value.trim() {
            "disabled" | "true" => true,
            "enabled" | "false" => false,
            _ => continue,
        };
        if !label.is_empty() {
            out.insert(label.to_string(), disabled);
        }
    }
    out
}

/// systemd's word for it, as `status` shows it.
pub fn word(disabled: bool) -> &'static str {
    if disabled { "disabled" } else { "enabled" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::launchd::print::tests::capture;

    #[test]
    fn the_disabled_services_block_is_read_and_login_items_are_not() {
        let d = parse(&capture("print-disabled.txt"));
        assert_eq!(d.get("computer.parachute.vault"), Some(&true));
        assert_eq!(d.get("computer.parachute.notes"), Some(&false));
        assert_eq!(d.get("com.docker.helper"), Some(&false));
        // Listed only under `login item associations`: not launchd's to say.
        assert_eq!(d.get("computer.parachute.scribe"), None);
        assert_eq!(d.len(), 5);
    }

    #[test]
    fn older_releases_say_true_for_disabled() {
        let d = parse(&capture("print-disabled-legacy.txt"));
        assert_eq!(d.get("computer.parachute.vault"), Some(&true));
        assert_eq!(d.get("computer.parachute.notes"), Some(&false));
    }

    #[test]
    fn nothing_disabled_is_an_empty_map() {
        assert!(parse("disabled services = {\n}\n").is_empty());
        assert!(parse("").is_empty());
    }
}
