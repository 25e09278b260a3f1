//! The sandboxing directives our units carry (issue 16), in two tiers:
//!
//! - the **seccomp/capability tier** needs no namespaces, so every user
//!   manager honours it: every unit gets it (modules without
//!   `MemoryDenyWriteExecute=`, which the Bun and Node JITs cannot live with);
//! - the **namespace tier** needs a mount namespace, which restricted hosts
//!   (containers, no unprivileged user namespaces) refuse with
//!   `226/NAMESPACE`. Each directive is probed on its own with a transient
//!   unit ([`crate::lifecycle::systemd::units::hardening`]) and only those that work
//!   are written; the hub gets all of them, modules `ProtectSystem=` and
//!   `PrivateTmp=` as before.
//!
//! A module may opt out of a directive by name, with a reason, in its
//! module.json (`hardeningOptOut`); the unit then says so in a comment.

use std::fmt::Write as _;
use std::path::Path;

/// `(directive, value)` of the seccomp/capability tier, in unit order.
/// `SystemCallFilter=` appears twice: the allow list, then what it removes
/// from it (`@privileged` would let the hub `setuid`, `@resources`
/// `setpriority`/`sched_setaffinity`, neither of which it needs).
pub const BASE: &[(&str, &str)] = &[
    ("NoNewPrivileges", "yes"),
    ("LockPersonality", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("SystemCallArchitectures", "native"),
    ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
    ("SystemCallFilter", "@system-service"),
    ("SystemCallFilter", "~@privileged @resources"),
    // A forgotten syscall fails with EPERM (which programs report) instead
    // of killing the process with SIGSYS.
    ("SystemCallErrorNumber", "EPERM"),
    ("MemoryDenyWriteExecute", "yes"),
    ("RestrictNamespaces", "yes"),
    ("CapabilityBoundingSet", ""),
    ("AmbientCapabilities", ""),
    ("UMask", "0077"),
    ("KeyringMode", "private"),
];

/// The one tier-one directive modules do without: JITs map W+X memory.
pub const HUB_ONLY: &str = "MemoryDenyWriteExecute";

/// A namespace-tier directive, each probed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    ProtectSystem,
    PrivateTmp,
    ProtectHome,
    PrivateDevices,
    ProtectKernelTunables,
    ProtectKernelModules,
    ProtectKernelLogs,
    ProtectControlGroups,
    ProtectClock,
    ProtectHostname,
}

impl Ns {
    /// Every namespace directive, in unit order (the hub's tier).
    pub const ALL: [Ns; 10] = [
        Ns::ProtectSystem,
        Ns::PrivateTmp,
        Ns::ProtectHome,
        Ns::PrivateDevices,
        Ns::ProtectKernelTunables,
        Ns::ProtectKernelModules,
        Ns::ProtectKernelLogs,
        Ns::ProtectControlGroups,
        Ns::ProtectClock,
        Ns::ProtectHostname,
    ];
    /// What module units get of the tier (modules keep their files anywhere
    /// in the home directory, so no `ProtectHome=`).
    pub const MODULE: [Ns; 2] = [Ns::ProtectSystem, Ns::PrivateTmp];

    /// The directive's name, e.g. `ProtectHome`.
    pub fn key(self) -> &'static str {
        match self {
            Ns::ProtectSystem => "ProtectSystem",
            Ns::PrivateTmp => "PrivateTmp",
            Ns::ProtectHome => "ProtectHome",
            Ns::PrivateDevices => "PrivateDevices",
            Ns::ProtectKernelTunables => "ProtectKernelTunables",
            Ns::ProtectKernelModules => "ProtectKernelModules",
            Ns::ProtectKernelLogs => "ProtectKernelLogs",
            Ns::ProtectControlGroups => "ProtectControlGroups",
            Ns::ProtectClock => "ProtectClock",
            Ns::ProtectHostname => "ProtectHostname",
        }
    }

    /// The value we write; the two non-boolean ones are strings on D-Bus too.
    pub fn value(self) -> &'static str {
        match self {
            Ns::ProtectSystem => "full",
            Ns::ProtectHome => "read-only",
            _ => "yes",
        }
    }

    pub fn parse(key: &str) -> Option<Ns> {
        Ns::ALL.into_iter().find(|n| n.key() == key)
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// Which namespace directives this user manager honours (from the probe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hardening {
    supported: u16,
}

impl Hardening {
    /// No namespace directive: what a manager that was not probed gets.
    pub const NONE: Hardening = Hardening { supported: 0 };

    /// Every namespace directive works (a normal desktop).
    pub fn all() -> Self {
        Self::of(&Ns::ALL)
    }

    pub fn of(ns: &[Ns]) -> Self {
        Self {
            supported: ns.iter().fold(0, |acc, n| acc | n.bit()),
        }
    }

    pub fn supports(self, ns: Ns) -> bool {
        self.supported & ns.bit() != 0
    }

    /// The supported directives, in unit order.
    pub fn supported(self) -> Vec<Ns> {
        Ns::ALL.into_iter().filter(|n| self.supports(*n)).collect()
    }
}

pub use crate::manifest::OptOuts;

/// Directive names a module may opt out of: the ones its unit carries.
pub fn module_directives() -> Vec<&'static str> {
    let mut keys: Vec<&str> = BASE
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| *k != HUB_ONLY)
        .chain(Ns::MODULE.iter().map(|n| n.key()))
        .collect();
    keys.dedup();
    keys
}

/// The unit a tier is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hub,
    Module,
}

/// What decides the lines beyond the probe.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub kind: Kind,
    /// False when the service's files live under `/tmp` (a private /tmp
    /// would hide them).
    pub private_tmp: bool,
    /// Stays writable under `ProtectHome=read-only` (the hub's state).
    pub read_write: Option<&'a Path>,
    pub opt_out: &'a OptOuts,
}

/// The `[Service]` hardening lines for a unit.
pub fn lines(h: Hardening, cx: &Context<'_>) -> String {
    let mut s = String::new();
    let mut wanted: Vec<(&str, String)> = BASE
        .iter()
        .filter(|(k, _)| cx.kind == Kind::Hub || *k != HUB_ONLY)
        .map(|(k, v)| (*k, (*v).to_string()))
        .collect();
    let tier: &[Ns] = match cx.kind {
        Kind::Hub => &Ns::ALL,
        Kind::Module => &Ns::MODULE,
    };
    for n in tier.iter().filter(|n| h.supports(**n)) {
        if *n == Ns::PrivateTmp && !cx.private_tmp {
            continue;
        }
        wanted.push((n.key(), n.value().to_string()));
        if let (Ns::ProtectHome, Some(rw)) = (n, cx.read_write) {
            // `-`: a missing directory is not an error (the hub creates it).
            wanted.push(("ReadWritePaths", format!("-{}", path_word(rw))));
        }
    }
    for (k, v) in wanted {
        if !cx.opt_out.contains_key(k) {
            let _ = writeln!(s, "{k}={v}");
        }
    }
    for (k, reason) in cx.opt_out {
        let _ = writeln!(s, "# {k}= left out at the module's request: {reason}");
    }
    s
}

/// A path as one word of a space-separated list: quoted when it has spaces
/// or quotes, `%` doubled so it is not a specifier.
fn path_word(p: &Path) -> String {
    let raw = p.to_string_lossy().replace('%', "%%");
    if raw.contains([' ', '"', '\'', '\\']) {
        format!("\"{}\"", raw.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifest's opt-out vocabulary is what module units carry.
    #[test]
    fn the_manifest_names_exactly_the_module_directives() {
        assert_eq!(
            module_directives(),
            crate::manifest::opt_out::MODULE_DIRECTIVES
        );
    }

    fn cx(kind: Kind, opt_out: &OptOuts) -> Context<'_> {
        Context {
            kind,
            private_tmp: true,
            read_write: Some(Path::new("/home/ada/.parachute")),
            opt_out,
        }
    }

    #[test]
    fn modules_get_the_base_tier_without_memory_deny_write_execute() {
        let none = OptOuts::new();
        let hub = lines(Hardening::NONE, &cx(Kind::Hub, &none));
        let module = lines(Hardening::NONE, &cx(Kind::Module, &none));
        assert!(hub.contains("MemoryDenyWriteExecute=yes\n"));
        assert!(!module.contains("MemoryDenyWriteExecute"));
        for text in [&hub, &module] {
            assert!(text.contains("SystemCallFilter=@system-service\n"));
            assert!(text.contains("SystemCallFilter=~@privileged @resources\n"));
            assert!(text.contains("CapabilityBoundingSet=\n"));
            assert!(!text.contains("Protect"), "no namespace tier unprobed");
        }
    }

    #[test]
    fn only_probed_namespace_directives_are_written() {
        let none = OptOuts::new();
        let h = Hardening::of(&[Ns::ProtectHome, Ns::PrivateDevices]);
        let hub = lines(h, &cx(Kind::Hub, &none));
        assert!(hub.contains("ProtectHome=read-only\nReadWritePaths=-/home/ada/.parachute\n"));
        assert!(hub.contains("PrivateDevices=yes\n"));
        assert!(!hub.contains("ProtectKernelTunables"));
        // Modules never get the hub's part of the tier.
        let module = lines(Hardening::all(), &cx(Kind::Module, &none));
        assert!(module.contains("ProtectSystem=full\nPrivateTmp=yes\n"));
        assert!(!module.contains("ProtectHome") && !module.contains("PrivateDevices"));
    }

    #[test]
    fn an_opt_out_drops_the_directive_and_says_why() {
        let mut out = OptOuts::new();
        out.insert(
            "SystemCallFilter".into(),
            "runs a sandbox of its own".into(),
        );
        let text = lines(Hardening::NONE, &cx(Kind::Module, &out));
        assert!(!text.contains("\nSystemCallFilter="), "{text}");
        assert!(text.contains(
            "# SystemCallFilter= left out at the module's request: runs a sandbox of its own\n"
        ));
        assert!(text.contains("NoNewPrivileges=yes\n"));
    }

    #[test]
    fn module_directives_are_what_a_module_unit_carries() {
        let keys = module_directives();
        assert!(keys.contains(&"SystemCallFilter") && keys.contains(&"PrivateTmp"));
        assert!(!keys.contains(&"MemoryDenyWriteExecute"));
        assert_eq!(keys.iter().filter(|k| **k == "SystemCallFilter").count(), 1);
    }

    #[test]
    fn odd_read_write_paths_are_one_quoted_word() {
        assert_eq!(path_word(Path::new("/a b/100%")), "\"/a b/100%%\"");
        assert_eq!(path_word(Path::new("/plain")), "/plain");
    }
}
