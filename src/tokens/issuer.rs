//! The issuer. One string everywhere — in metadata, in the `iss` of every
//! token, in validation — taken from `PARACHUTE_HUB_ORIGIN`, else
//! `http://127.0.0.1:<hub port>`. The accepted set adds the loopback
//! spellings of the hub's ports; it never comes from a request's `Host`.

/// The issuer and the set of issuers validation accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuers {
    primary: String,
    accepted: Vec<String>,
}

impl Issuers {
    /// `primary` is the configured origin; `ports` are the ports the hub is
    /// reachable on over loopback (its canonical port, the bound one).
    pub fn new(primary: &str, ports: &[u16]) -> Self {
        let primary = primary.trim_end_matches('/').to_string();
        let mut accepted = vec![primary.clone()];
        for port in ports {
            for host in ["127.0.0.1", "localhost", "[::1]"] {
                let o = format!("http://{host}:{port}");
                if !accepted.contains(&o) {
                    accepted.push(o);
                }
            }
        }
        Self { primary, accepted }
    }

    /// The `iss` the hub writes.
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// Every `iss` validation accepts.
    pub fn accepted(&self) -> &[String] {
        &self.accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_origin_plus_loopback_spellings() {
        let i = Issuers::new("https://hub.example/", &[1939, 1939, 40000]);
        assert_eq!(i.primary(), "https://hub.example");
        assert_eq!(
            i.accepted(),
            [
                "https://hub.example",
                "http://127.0.0.1:1939",
                "http://localhost:1939",
                "http://[::1]:1939",
                "http://127.0.0.1:40000",
                "http://localhost:40000",
                "http://[::1]:40000",
            ]
        );
    }
}
