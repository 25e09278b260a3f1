//! The process's rustls crypto provider. `reqwest` is built with rustls but
//! without a default provider (the CIMD fetcher needs TLS; ring would be a
//! second crypto library next to aws-lc-rs), and then panics when a client is
//! built before one is installed — even a client that only speaks plain
//! http. Every `reqwest::Client` builder calls [`install_provider`] first.

/// Install aws-lc-rs as the process's rustls provider; a no-op once done.
pub fn install_provider() {
    // `Err` means a provider is already installed, which is all we need.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
