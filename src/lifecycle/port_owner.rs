//! Who listens on a TCP port, and which unit that process belongs to.
//!
//! A health probe answered by another program is not our service coming up
//! (issue 9 item 11), so after a start we ask the kernel who holds the
//! port: the listening socket's inode from `/proc/net/tcp{,6}`, the process
//! with that inode among its fds, and the unit from that process's cgroup.
//! Three small files; the `procfs` crate would bring far more than that.

use std::fs;
use std::path::Path;

/// A process holding a listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// The process name (`/proc/<pid>/comm`).
    pub comm: String,
    /// The unit whose cgroup holds the process (`parachute-x.service`,
    /// `session-2.scope`); `None` outside any unit.
    pub unit: Option<String>,
}

/// The listening socket on a port, as far as we can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The socket owner's uid, from the socket table.
    pub uid: u32,
    /// Every process with the socket open (a socket-activated service shares
    /// it with the manager). Empty when they are not ours to inspect.
    pub holders: Vec<Holder>,
}

/// The listener on `port` (any local address), or `None` when the kernel
/// shows none (or `/proc` is not there to ask).
pub fn listener(port: u16) -> Option<Listener> {
    let (inode, uid) = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|t| fs::read_to_string(t).ok())
        .find_map(|table| listening_inode(&table, port))?;
    let holders = pids_with_socket(inode)
        .into_iter()
        .map(|pid| Holder {
            pid,
            comm: fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| c.trim().to_string())
                .unwrap_or_default(),
            unit: fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .ok()
                .and_then(|c| unit_of_cgroup(&c)),
        })
        .collect();
    Some(Listener { uid, holders })
}

/// Whether `pid` is `ancestor` or runs below it (its parent chain reaches it).
pub fn descends_from(pid: u32, ancestor: u32) -> bool {
    let mut p = pid;
    // Bounded: a parent chain is short, and a race must not loop forever.
    for _ in 0..64 {
        if p == ancestor {
            return true;
        }
        match parent_of(p) {
            Some(pp) if pp > 1 => p = pp,
            _ => return false,
        }
    }
    false
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The inode and uid of the socket in LISTEN state on `port` in one
/// `/proc/net/tcp`-format table.
fn listening_inode(table: &str, port: u16) -> Option<(u64, u32)> {
    const LISTEN: &str = "0A";
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let local = f.get(1)?;
        let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
        if local_port != port || *f.get(3)? != LISTEN {
            return None;
        }
        Some((f.get(9)?.parse().ok()?, f.get(7)?.parse().ok()?))
    })
}

/// The processes (that we may inspect) with `socket:[inode]` open.
fn pids_with_socket(inode: u64) -> Vec<u32> {
    let want = format!("socket:[{inode}]");
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.filter_map(Result::ok).any(|fd| {
                    fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == want.as_str())
                })
            })
        })
        .collect()
}

/// The unit of a `/proc/<pid>/cgroup`: the last `.service` or `.scope`
/// component of the systemd hierarchy's path (cgroup2 `0::`, or v1
/// `name=systemd` on hybrid hosts).
fn unit_of_cgroup(text: &str) -> Option<String> {
    // On hybrid hosts the cgroup2 line may say `0::/` while the v1
    // `name=systemd` line has the unit: take the first path that names one.
    text.lines()
        .filter_map(|l| {
            l.strip_prefix("0::")
                .or_else(|| l.split_once(":name=systemd:").map(|(_, p)| p))
        })
        .find_map(|path| {
            path.rsplit('/')
                .find(|c| {
                    Path::new(c)
                        .extension()
                        .is_some_and(|e| e == "service" || e == "scope")
                })
                .map(str::to_string)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0793 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:9C40 0100007F:0793 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0000000000000000 20 4 30 10 -1\n";

    #[test]
    fn finds_the_listening_socket_of_a_port_only() {
        assert_eq!(listening_inode(TABLE, 1939), Some((4242, 1000)));
        // 0x9C40 = 40000 is a connected socket, not a listener.
        assert_eq!(listening_inode(TABLE, 40000), None);
        assert_eq!(listening_inode(TABLE, 80), None);
    }

    #[test]
    fn the_unit_is_the_last_service_or_scope_of_the_cgroup() {
        assert_eq!(
            unit_of_cgroup(
                "0::/user.slice/user-0.slice/user@0.service/app.slice/parachute-x.service\n"
            )
            .as_deref(),
            Some("parachute-x.service")
        );
        assert_eq!(
            unit_of_cgroup(
                "12:cpu:/\n0::/\n1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
            )
            .as_deref(),
            Some("session-2.scope")
        );
        assert_eq!(unit_of_cgroup("0::/\n"), None);
    }

    #[test]
    fn this_process_listens_where_it_bound_and_descends_from_itself() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let found = listener(port).expect("a listener");
        assert_eq!(found.holders.len(), 1, "{found:?}");
        assert_eq!(found.holders[0].pid, std::process::id());
        assert!(descends_from(std::process::id(), std::process::id()));
        assert!(!descends_from(std::process::id(), u32::MAX));
    }
}
