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

/// The outcome of [`assign`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub port: u16,
    /// The port is past the reserved block; say so.
    pub overflow: bool,
}

/// Choose a port for `name`: the canonical port of a first-party service (or
/// the module's own `preferred` one), else the reserved ports in order, else
/// 1950 and up. `is_free` is the bind probe (a seam for tests).
pub fn assign(
    name: &str,
    preferred: Option<u16>,
    services: &Services,
    is_free: impl Fn(u16) -> bool,
) -> Assignment {
    let held = |p: u16| services.rows.iter().any(|r| r.port == p && r.name != name);
    let usable = |p: u16| p != HUB && !held(p) && is_free(p);
    let canonical_ports: Vec<u16> = CANONICAL.iter().map(|(_, p)| *p).collect();
    let first_choice = canonical(name).or(preferred.filter(|p| {
        // A third-party module may not squat on a first-party canonical port.
        !canonical_ports.contains(p)
    }));
    if let Some(p) = first_choice.filter(|p| usable(*p)) {
        return Assignment {
            port: p,
            overflow: false,
        };
    }
    if let Some(p) = RESERVED.iter().copied().find(|p| usable(*p)) {
        return Assignment {
            port: p,
            overflow: false,
        };
    }
    let port = (OVERFLOW_START..=u16::MAX)
        .find(|p| usable(*p))
        .unwrap_or(OVERFLOW_START);
    Assignment {
        port,
        overflow: true,
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

    #[test]
    fn first_party_services_get_their_canonical_port() {
        for (short, port) in CANONICAL {
            let a = assign(
                &format!("parachute-{short}"),
                None,
                &Services::empty(),
                ALL_FREE,
            );
            assert_eq!(
                a,
                Assignment {
                    port: *port,
                    overflow: false
                },
                "{short}"
            );
        }
    }

    #[test]
    fn a_taken_canonical_port_walks_the_reserved_ports_in_order() {
        let s = services(&[("parachute-other", 1940), ("parachute-x", 1941)]);
        let a = assign("parachute-vault", None, &s, ALL_FREE);
        assert_eq!(a.port, 1945);
        // Bound by a process outside services.json also counts as taken.
        let a = assign("parachute-vault", None, &Services::empty(), |p| {
            p != 1940 && p != 1941
        });
        assert_eq!(a.port, 1945);
    }

    #[test]
    fn third_party_modules_use_their_preferred_port_unless_it_is_canonical() {
        let a = assign("parachute-my-svc", Some(7001), &Services::empty(), ALL_FREE);
        assert_eq!(a.port, 7001);
        let a = assign("parachute-my-svc", Some(1940), &Services::empty(), ALL_FREE);
        assert_eq!(a.port, 1941);
        let a = assign("parachute-my-svc", Some(HUB), &Services::empty(), ALL_FREE);
        assert_eq!(a.port, 1941);
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
        let a = assign("parachute-new", None, &s, ALL_FREE);
        assert_eq!(
            a,
            Assignment {
                port: 1951,
                overflow: true
            }
        );
    }

    #[test]
    fn a_service_keeps_a_port_its_own_row_holds() {
        let s = services(&[("parachute-vault", 1940)]);
        assert_eq!(assign("parachute-vault", None, &s, ALL_FREE).port, 1940);
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
