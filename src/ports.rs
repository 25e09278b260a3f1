//! The canonical port table and port assignment.
//!
//! services.json is the one authority on ports: a port is free when no row
//! holds it *and* nothing is listening on it right now.

use std::net::{Ipv4Addr, TcpListener};

use crate::manifest::Services;

/// The hub's pinned port.
pub const HUB: u16 = 1939;

/// First-party services and their canonical ports.
pub const CANONICAL: &[(&str, u16)] = &[
    ("vault", 1940),
    ("notes", 1942),
    ("scribe", 1943),
    ("app", 1944),
    ("surface", 1946),
];

/// Reserved ports handed out, in this order, when the preferred one is taken.
pub const RESERVED: &[u16] = &[1941, 1945, 1947, 1948, 1949];

/// Past the reserved block, assignment walks upward from here (with a warning).
pub const OVERFLOW_START: u16 = 1950;

/// The canonical port of a first-party service, by short or manifest name.
pub fn canonical(name: &str) -> Option<u16> {
    let short = crate::manifest::short_name(name);
    CANONICAL.iter().find(|(n, _)| *n == short).map(|(_, p)| *p)
}

/// Whether a port is free to bind on loopback right now.
pub fn bind_probe(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Ports below this need root to bind; a user service cannot have one.
pub const FIRST_UNPRIVILEGED: u16 = 1024;

/// Why a requested port was not given (shown to the user as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Hub,
    Privileged,
    /// Another row holds it.
    Registered(String),
    /// The canonical port of a first-party service.
    Canonical(&'static str),
    /// Something outside services.json listens on it.
    InUse,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hub => f.write_str("it is the hub's port"),
            Self::Privileged => write!(
                f,
                "ports below {FIRST_UNPRIVILEGED} need root, and services run as you"
            ),
            Self::Registered(by) => write!(f, "{by} is registered on it"),
            Self::Canonical(svc) => write!(f, "it is reserved for the first-party `{svc}`"),
            Self::InUse => f.write_str("another program is listening on it"),
        }
    }
}

/// The outcome of [`assign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub port: u16,
    /// The port is past the reserved block; say so.
    pub overflow: bool,
    /// The requested port, and why it could not be given.
    pub refused: Option<(u16, Refusal)>,
}

/// Choose a port for `name`: the port the module asks for when it is free,
/// else the canonical port of a first-party service, else the reserved
/// ports in order, else 1950 and up. `hub` is the hub's configured port;
/// `is_free` is the bind probe (a seam for tests).
pub fn assign(
    name: &str,
    requested: Option<u16>,
    services: &Services,
    hub: u16,
    is_free: impl Fn(u16) -> bool,
) -> Assignment {
    let refusal = |p: u16| -> Option<Refusal> {
        if p == hub || p == HUB {
            return Some(Refusal::Hub);
        }
        if p < FIRST_UNPRIVILEGED {
            return Some(Refusal::Privileged);
        }
        if let Some(r) = services.rows.iter().find(|r| r.port == p && r.name != name) {
            return Some(Refusal::Registered(r.name.clone()));
        }
        let own = crate::manifest::short_name(name);
        if let Some((svc, _)) = CANONICAL.iter().find(|(n, c)| *c == p && *n != own) {
            // A module may not squat on another first-party service's port.
            return Some(Refusal::Canonical(svc));
        }
        (!is_free(p)).then_some(Refusal::InUse)
    };
    let refused = requested.and_then(|p| refusal(p).map(|why| (p, why)));
    let chosen = requested
        .filter(|_| refused.is_none())
        .or_else(|| canonical(name).filter(|p| refusal(*p).is_none()))
        .or_else(|| RESERVED.iter().copied().find(|p| refusal(*p).is_none()));
    match chosen {
        Some(port) => Assignment {
            port,
            overflow: false,
            refused,
        },
        None => Assignment {
            port: (OVERFLOW_START..=u16::MAX)
                .find(|p| refusal(*p).is_none())
                .unwrap_or(OVERFLOW_START),
            overflow: true,
            refused,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Row;

    fn services(rows: &[(&str, u16)]) -> Services {
        let mut s = Services::empty();
        for (n, p) in rows {
            s.upsert(Row::new(n, *p, &[], "/h", "1"));
        }
        s
    }

    const ALL_FREE: fn(u16) -> bool = |_| true;

    fn port(name: &str, requested: Option<u16>, s: &Services) -> u16 {
        assign(name, requested, s, HUB, ALL_FREE).port
    }

    #[test]
    fn first_party_services_get_their_canonical_port() {
        for (short, want) in CANONICAL {
            let a = assign(
                &format!("parachute-{short}"),
                None,
                &Services::empty(),
                HUB,
                ALL_FREE,
            );
            assert_eq!(
                (a.port, a.overflow, a.refused),
                (*want, false, None),
                "{short}"
            );
        }
    }

    #[test]
    fn a_free_requested_port_is_honoured_even_for_a_first_party_name() {
        let a = assign(
            "parachute-notes",
            Some(1951),
            &Services::empty(),
            HUB,
            ALL_FREE,
        );
        assert_eq!((a.port, a.refused), (1951, None));
        assert_eq!(
            port("parachute-my-svc", Some(7001), &Services::empty()),
            7001
        );
        // A first-party service asking for its own canonical port gets it.
        assert_eq!(
            port("parachute-vault", Some(1940), &Services::empty()),
            1940
        );
    }

    #[test]
    fn a_refused_request_says_why_and_falls_back() {
        let none = Services::empty();
        let cases: &[(Option<u16>, u16, Refusal)] = &[
            (Some(HUB), 1941, Refusal::Hub),
            (Some(22), 1941, Refusal::Privileged),
            (Some(1940), 1941, Refusal::Canonical("vault")),
        ];
        for (req, want, why) in cases {
            let a = assign("parachute-my-svc", *req, &none, HUB, ALL_FREE);
            assert_eq!(a.port, *want, "{req:?}");
            assert_eq!(a.refused, Some((req.expect("req"), why.clone())));
        }
        let s = services(&[("parachute-other", 7001)]);
        let a = assign("parachute-my-svc", Some(7001), &s, HUB, ALL_FREE);
        assert_eq!(
            a.refused,
            Some((7001, Refusal::Registered("parachute-other".into())))
        );
        let a = assign("parachute-my-svc", Some(7001), &none, HUB, |p| p != 7001);
        assert_eq!((a.port, a.refused), (1941, Some((7001, Refusal::InUse))));
        // The hub's configured port counts as the hub's too.
        let a = assign("parachute-my-svc", Some(2939), &none, 2939, ALL_FREE);
        assert_eq!(a.refused, Some((2939, Refusal::Hub)));
        assert_eq!(
            Refusal::Privileged.to_string(),
            "ports below 1024 need root, and services run as you"
        );
    }

    #[test]
    fn a_taken_canonical_port_walks_the_reserved_ports_in_order() {
        let s = services(&[("parachute-other", 1940), ("parachute-x", 1941)]);
        assert_eq!(port("parachute-vault", None, &s), 1945);
        // Bound by a process outside services.json also counts as taken.
        let a = assign("parachute-vault", None, &Services::empty(), HUB, |p| {
            p != 1940 && p != 1941
        });
        assert_eq!(a.port, 1945);
    }

    #[test]
    fn past_the_reserved_block_assignment_overflows_with_a_flag() {
        let s = services(&[
            ("parachute-a", 1941),
            ("parachute-b", 1945),
            ("parachute-c", 1947),
            ("parachute-d", 1948),
            ("parachute-e", 1949),
            ("parachute-f", 1950),
        ]);
        let a = assign("parachute-new", None, &s, HUB, ALL_FREE);
        assert_eq!((a.port, a.overflow), (1951, true));
    }

    #[test]
    fn a_service_keeps_a_port_its_own_row_holds() {
        let s = services(&[("parachute-vault", 1940)]);
        assert_eq!(port("parachute-vault", None, &s), 1940);
        assert_eq!(port("parachute-vault", Some(1940), &s), 1940);
    }

    #[test]
    fn the_bind_probe_sees_a_listener() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = l.local_addr().expect("addr").port();
        assert!(!bind_probe(port));
        drop(l);
        assert!(bind_probe(port));
    }
}
