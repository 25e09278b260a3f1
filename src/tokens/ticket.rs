//! One-time SSE tickets (seed 004, agent#25): what a browser puts in an
//! `EventSource` URL instead of a credential (`EventSource` cannot set a
//! header, and a JWT in a URL lands in access logs and history).
//!
//! A ticket is minted for a credential that was checked at mint time (a
//! session with its CSRF header, or a bearer) and carries exactly that
//! credential's subject and scopes, plus whether a step-up token of it was
//! presented. It lives at most [`TTL_SECS`], opens one stream (consuming
//! it removes it), and is kept only as its SHA-256 in memory: tickets are
//! short-lived enough that a hub restart forgetting them costs one
//! reconnect. At most [`MAX_TICKETS`] are outstanding; minting past that
//! first forgets expired ones, then evicts the oldest, so a flood of mints
//! costs bounded memory and only ever the flooder's own unused tickets.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::secret::{random_token, sha256_hex};

/// Longest life of a ticket.
pub const TTL_SECS: i64 = 60;
/// Most tickets outstanding at once.
pub const MAX_TICKETS: usize = 1024;
/// Longest ticket looked at (ours are 43 characters); anything longer is
/// refused without hashing.
const MAX_LEN: usize = 128;

/// What a ticket lets its bearer do: the minting credential's authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The user the minting credential belongs to.
    pub subject: String,
    /// Exactly the minting credential's scopes.
    pub scopes: Vec<String>,
    /// A fresh step-up token of the minting credential was presented.
    pub stepped_up: bool,
}

impl Grant {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A freshly minted ticket: the secret (shown once) and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    pub ticket: String,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Debug)]
struct Held {
    grant: Grant,
    minted_at: i64,
    expires_at: i64,
}

/// The outstanding tickets, by the SHA-256 of each.
#[derive(Debug, Default)]
pub struct Tickets {
    held: Mutex<HashMap<String, Held>>,
}

impl Tickets {
    /// Mint a ticket for `grant` at `now`.
    pub fn mint(&self, grant: Grant, now: i64) -> Minted {
        let ticket = random_token();
        let expires_at = now + TTL_SECS;
        let mut held = self.lock();
        if held.len() >= MAX_TICKETS {
            held.retain(|_, h| h.expires_at > now);
        }
        while held.len() >= MAX_TICKETS {
            let oldest = held
                .iter()
                .min_by_key(|(_, h)| h.minted_at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => held.remove(&k),
                None => break,
            };
        }
        held.insert(
            sha256_hex(&ticket),
            Held {
                grant,
                minted_at: now,
                expires_at,
            },
        );
        Minted { ticket, expires_at }
    }

    /// Use `ticket` at `now`: its grant if it is outstanding and unexpired.
    /// It is gone afterwards either way, so a second use finds nothing.
    pub fn consume(&self, ticket: &str, now: i64) -> Option<Grant> {
        if ticket.is_empty() || ticket.len() > MAX_LEN {
            return None;
        }
        let h = self.lock().remove(&sha256_hex(ticket))?;
        (now < h.expires_at).then_some(h.grant)
    }

    /// How many are outstanding (expired ones included until the next
    /// mint at the cap forgets them).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        // A panic while holding the lock leaves a consistent map: keep going.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;

    fn grant(sub: &str) -> Grant {
        Grant {
            subject: sub.into(),
            scopes: vec!["parachute:host:admin".into()],
            stepped_up: false,
        }
    }

    #[test]
    fn a_ticket_opens_once_and_carries_its_minters_grant() {
        let t = Tickets::default();
        let m = t.mint(grant("u1"), T0);
        assert_eq!(m.expires_at, T0 + TTL_SECS);
        assert_eq!(m.ticket.len(), 43);
        assert_eq!(t.consume(&m.ticket, T0 + 1), Some(grant("u1")));
        assert_eq!(t.consume(&m.ticket, T0 + 1), None, "single use");
        assert!(t.is_empty());
    }

    #[test]
    fn tickets_expire_after_sixty_seconds_and_are_kept_hashed() {
        let t = Tickets::default();
        let m = t.mint(grant("u1"), T0);
        assert!(!t.lock().contains_key(&m.ticket), "only the hash is a key");
        assert_eq!(t.consume(&m.ticket, T0 + TTL_SECS), None, "expired");
        let m = t.mint(grant("u1"), T0);
        assert!(t.consume(&m.ticket, T0 + TTL_SECS - 1).is_some());
    }

    #[test]
    fn unknown_empty_and_oversized_tickets_open_nothing() {
        let t = Tickets::default();
        let _ = t.mint(grant("u1"), T0);
        assert_eq!(t.consume("", T0), None);
        assert_eq!(t.consume("forged", T0), None);
        assert_eq!(t.consume(&"x".repeat(4096), T0), None);
        assert_eq!(t.len(), 1, "a miss consumes nothing else");
    }

    #[test]
    fn at_the_cap_expired_tickets_go_first_then_the_oldest() {
        let t = Tickets::default();
        let first = t.mint(grant("old"), T0 - TTL_SECS);
        let second = t.mint(grant("kept"), T0);
        for i in 0..MAX_TICKETS - 2 {
            let _ = t.mint(grant("filler"), T0 + 1 + i64::try_from(i % 10).unwrap_or(0));
        }
        assert_eq!(t.len(), MAX_TICKETS);
        // Full: the expired one is forgotten, the live ones all stay.
        let third = t.mint(grant("new"), T0 + 20);
        assert_eq!(t.len(), MAX_TICKETS);
        assert_eq!(t.consume(&first.ticket, T0 + 20), None);
        assert!(t.consume(&third.ticket, T0 + 20).is_some());
        // Full of live tickets (refilled): the oldest live one is evicted.
        let _ = t.mint(grant("filler"), T0 + 20);
        let _ = t.mint(grant("filler"), T0 + 21);
        assert_eq!(t.len(), MAX_TICKETS);
        let newest = t.mint(grant("newest"), T0 + 22);
        assert_eq!(t.len(), MAX_TICKETS);
        assert_eq!(t.consume(&second.ticket, T0 + 22), None, "oldest evicted");
        assert_eq!(t.consume(&newest.ticket, T0 + 22), Some(grant("newest")));
    }
}
