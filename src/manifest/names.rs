//! Which service names a module may take. A module's short name becomes its
//! unit (`parachute-<short>.service`) and its data directory
//! (`$PARACHUTE_HOME/<short>/`), so names that would land on the hub's or
//! the target's unit or directory are reserved, and so is anything that is
//! not a plain unit-name component.

use crate::manifest::short_name;

/// Short names (and manifestNames) no module may register.
pub const RESERVED: &[&str] = &["hub", "parachute-hub", "parachute", "target"];

/// Why `manifest_name` (with its module `name`) cannot be installed, or `None`.
pub fn refusal(name: &str, manifest_name: &str) -> Option<String> {
    let short = short_name(manifest_name);
    for (field, value) in [("name", name), ("manifestName", manifest_name)] {
        if RESERVED.contains(&value) {
            return Some(format!(
                "`{field}` \"{value}\" is reserved for Parachute itself (reserved: {})",
                RESERVED.join(", ")
            ));
        }
    }
    if RESERVED.contains(&short) {
        return Some(format!(
            "`manifestName` \"{manifest_name}\" would run as parachute-{short}.service, which is reserved for Parachute itself (reserved: {})",
            RESERVED.join(", ")
        ));
    }
    if !valid_name(short) {
        return Some(format!(
            "`manifestName` \"{manifest_name}\" cannot be part of a unit name: after `parachute-` it must match {NAME_RULE} (at most {MAX_NAME} characters)"
        ));
    }
    None
}

/// The one rule for a module's `name` and its unit/directory component.
pub const NAME_RULE: &str = "^[a-z][a-z0-9-]*$";
/// Longest name: keeps unit names, paths and scopes short.
pub const MAX_NAME: usize = 64;

/// [`NAME_RULE`], at most [`MAX_NAME`] long: safe in a unit name (no `@`,
/// `.`, `\`, spaces), as a directory name and as a scope namespace.
pub fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= MAX_NAME
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_and_target_names_are_refused() {
        for (n, m) in [
            ("hub", "parachute-x"),
            ("x", "parachute-hub"),
            ("x", "parachute"),
            ("x", "parachute-target"),
            ("target", "parachute-y"),
        ] {
            assert!(refusal(n, m).is_some(), "{n} {m}");
        }
    }

    #[test]
    fn names_that_break_a_unit_name_are_refused() {
        for m in [
            "parachute-a@b",
            "parachute-a.b",
            "parachute-A",
            "parachute-",
            "a b",
            "../x",
        ] {
            assert!(refusal("x", m).is_some(), "{m}");
        }
        assert!(refusal("x", &format!("parachute-{}", "a".repeat(65))).is_some());
        assert!(
            refusal("x", "parachute-2fa").is_some(),
            "one rule: a letter first"
        );
        assert_eq!(refusal("vault", "parachute-vault"), None);
        assert_eq!(refusal("notes", "notes-2"), None);
    }
}
