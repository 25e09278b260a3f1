//! Tokens: signing keys, hub JWTs and their validation, issuing into the
//! registry, the operator token, and the small grammars around minting
//! (TTL, audience inference). Everything here takes `now` as a parameter.

pub mod audience;
pub mod issuer;
pub mod jwt;
pub mod keys;
pub mod mint;
pub mod operator;
pub mod origin;
pub mod scopes;
pub mod ticket;
pub mod ttl;

pub use issuer::Issuers;
pub use jwt::{Claims, Reject};
