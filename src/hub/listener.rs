//! Where the hub's listening socket comes from: systemd socket activation
//! (`LISTEN_FDS`, fd 3, via listenfd), else a bind of our own. Runs before
//! the async runtime exists: listenfd clears `LISTEN_FDS` from the
//! environment, which is only sound while the process has one thread, and
//! the socket must be non-blocking before tokio adopts it.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

// Defined below the hub so the library's `Error` can wrap it.
pub use crate::error::listen::ListenError;

/// How the hub got its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Passed by systemd (`parachute-hub.socket`) or launchd (`Sockets`).
    Activated,
    /// Bound by this process.
    Bound,
}

/// A listening socket, ready for tokio.
#[derive(Debug)]
pub struct Listening {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    pub source: Source,
    /// Further sockets passed with it (launchd binds one per address its
    /// `SockNodeName` resolves to): served alike.
    pub extra: Vec<TcpListener>,
}

#[cfg(target_os = "macos")]
mod launchd;

/// Take the socket systemd (or on macOS launchd) passed, or bind `bind`.
pub fn take(bind: SocketAddr) -> Result<Listening, ListenError> {
    #[cfg(target_os = "macos")]
    {
        let passed = launchd::take()?;
        if !passed.is_empty() {
            return activated(passed);
        }
    }
    let mut fds = listenfd::ListenFd::from_env();
    let mut passed = Vec::new();
    for i in 0..fds.len() {
        let fd = fds
            .take_tcp_listener(i)
            .map_err(|e| ListenError::ActivationSocket {
                detail: e.to_string(),
            })?;
        passed.extend(fd);
    }
    if !passed.is_empty() {
        return activated(passed);
    }
    match TcpListener::bind(bind) {
        Ok(listener) => ready(listener, Source::Bound),
        Err(e) if e.kind() == ErrorKind::AddrInUse => {
            let addr = bind.to_string();
            Err(if answers_as_hub(bind) {
                ListenError::HubAlreadyRunning { addr }
            } else {
                ListenError::PortInUse { addr }
            })
        }
        Err(source) => Err(ListenError::Listen {
            addr: bind.to_string(),
            source,
        }),
    }
}

/// Every socket the init system passed: the first is the one reported,
/// the others are served alongside it.
fn activated(mut passed: Vec<TcpListener>) -> Result<Listening, ListenError> {
    let first = passed.remove(0);
    let mut listening = ready(first, Source::Activated)?;
    for l in passed {
        listening.extra.push(ready(l, Source::Activated)?.listener);
    }
    if !listening.extra.is_empty() {
        tracing::info!(
            count = listening.extra.len() + 1,
            "serving every socket the init system passed"
        );
    }
    Ok(listening)
}

fn ready(listener: TcpListener, source: Source) -> Result<Listening, ListenError> {
    let addr = listener.local_addr().map_err(|source| ListenError::Setup {
        what: "read the listening socket's address",
        source,
    })?;
    if source == Source::Activated && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "the hub socket is not on loopback: it is reachable from other machines");
    }
    listener
        .set_nonblocking(true)
        .map_err(|source| ListenError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    Ok(Listening {
        listener,
        addr,
        source,
        extra: Vec::new(),
    })
}

/// Whether whatever holds `addr` is a Parachute hub (its `/health` says so).
/// Plain blocking HTTP/1.0: this runs before the runtime.
fn answers_as_hub(addr: SocketAddr) -> bool {
    let probe = || -> std::io::Result<String> {
        let timeout = Duration::from_millis(500);
        let mut s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        // The hub answers only for its own `Host` names (`host_check`).
        s.write_all(format!("GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
        let mut body = String::new();
        s.take(64 * 1024).read_to_string(&mut body)?;
        Ok(body)
    };
    probe().is_ok_and(|r| r.contains("\"service\":\"parachute-hub\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_reported_as_not_a_hub() {
        let held = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = held.local_addr().expect("addr");
        // Nothing answers HTTP on it (the backlog accepts, then silence/close).
        drop(std::thread::spawn(move || {
            for s in held.incoming().take(1) {
                drop(s);
            }
        }));
        match take(addr) {
            Err(ListenError::PortInUse { addr: a }) => assert_eq!(a, addr.to_string()),
            other => panic!("expected PortInUse, got {other:?}"),
        }
    }
}
