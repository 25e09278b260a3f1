//! Every environment variable the binary reads or sets, named once.

/// Root of Parachute's state. Default `~/.parachute`.
pub const PARACHUTE_HOME: &str = "PARACHUTE_HOME";
/// The public origin of the hub, injected into every module's unit.
pub const PARACHUTE_HUB_ORIGIN: &str = "PARACHUTE_HUB_ORIGIN";
/// The port a module must listen on, injected into every module's unit.
pub const PORT: &str = "PORT";
/// Used to find `~` when `PARACHUTE_HOME` / `XDG_CONFIG_HOME` are unset.
pub const HOME: &str = "HOME";
/// Base of the user unit directory (`$XDG_CONFIG_HOME/systemd/user`).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Where `systemd --user` keeps its private socket (`$XDG_RUNTIME_DIR/systemd/private`).
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// The session bus, the fallback route to the user manager.
pub const DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";
/// Set by `sudo`; a user manager must not be driven as root on someone's behalf.
pub const SUDO_USER: &str = "SUDO_USER";
/// Longest wait, in milliseconds, for a started service to open its port
/// before `start` stops watching (default 3000). A service that dies within
/// it failed to start; one still active after it counts as started.
pub const PARACHUTE_START_SETTLE_MS: &str = "PARACHUTE_START_SETTLE_MS";
/// Address `parachute serve` binds when systemd did not pass it a socket
/// (default `127.0.0.1`; the port comes from `PORT`, default 1939).
pub const PARACHUTE_BIND_HOST: &str = "PARACHUTE_BIND_HOST";
/// Log level of `parachute serve` on stderr: `error`, `warn`, `info`
/// (default), `debug` or `trace`.
pub const PARACHUTE_LOG: &str = "PARACHUTE_LOG";
/// Set by systemd when stderr is connected to the journal; `serve` then
/// leaves timestamps to journald.
pub const JOURNAL_STREAM: &str = "JOURNAL_STREAM";
/// Socket activation (`sd_listen_fds(3)`): how many sockets systemd passed,
/// starting at fd 3, and the PID they are meant for.
pub const LISTEN_FDS: &str = "LISTEN_FDS";
pub const LISTEN_PID: &str = "LISTEN_PID";
/// Where `sd_notify` messages (`READY=1`, `WATCHDOG=1`, …) go; set by systemd
/// for `Type=notify` units.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The watchdog interval systemd expects pings within (`WatchdogSec=`).
pub const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
/// Largest request body, in bytes, the hub passes to `git http-backend` for
/// one `/git/<name>/*` request (default 2 GiB; `k`, `m`, `g` suffixes are
/// binary multiples). A longer push is refused (413) and its backend killed.
pub const PARACHUTE_GIT_MAX_REQUEST_BYTES: &str = "PARACHUTE_GIT_MAX_REQUEST_BYTES";
/// Proxies whose `X-Forwarded-For` the hub believes, as IPs or CIDRs
/// separated by commas (default: none, so every caller is its peer address;
/// set it for a tunnel connector or reverse proxy in front of the hub). The
/// client is then the rightmost hop that is not one of them.
pub const PARACHUTE_TRUSTED_PROXIES: &str = "PARACHUTE_TRUSTED_PROXIES";
/// Host names (`host` or `host:port`, comma-separated) the hub answers for
/// besides its own (`127.0.0.1`, `localhost`, `[::1]` on its ports, and the
/// host of `PARACHUTE_HUB_ORIGIN`); any other `Host` gets 421 (DNS rebinding).
pub const PARACHUTE_ALLOWED_HOSTS: &str = "PARACHUTE_ALLOWED_HOSTS";
/// Most `git http-backend` processes the hub runs at once (default 16); a
/// request past it gets 429 with `Retry-After`.
pub const PARACHUTE_GIT_MAX_BACKENDS: &str = "PARACHUTE_GIT_MAX_BACKENDS";
/// Longest run, in seconds, of one `git http-backend` (default 900, request
/// body included); past it the backend's process group is killed.
pub const PARACHUTE_GIT_DEADLINE_SECS: &str = "PARACHUTE_GIT_DEADLINE_SECS";
/// Test setting of `parachute serve`, off by default: a PEM file of one or
/// more CA certificates trusted, besides the platform's roots, when the hub
/// fetches a client ID metadata document. For tests that serve documents
/// from a local https server.
pub const PARACHUTE_CIMD_TEST_CA: &str = "PARACHUTE_CIMD_TEST_CA";
/// Test setting of `parachute serve`, off by default: `1` lets the hub fetch
/// client ID metadata documents from loopback addresses. Nothing else relaxes
/// the rule that documents come from public addresses only.
pub const PARACHUTE_CIMD_ALLOW_LOOPBACK: &str = "PARACHUTE_CIMD_ALLOW_LOOPBACK";
/// Test setting of `parachute serve`: milliseconds between the keep-alive
/// comments of a live log stream (default 15000, the 15 s; at least
/// 100). Tests shorten it to see keep-alives without waiting.
pub const PARACHUTE_SSE_KEEPALIVE_MS: &str = "PARACHUTE_SSE_KEEPALIVE_MS";
/// Which init system runs the services: `launchd` or `systemd`; unset, the
/// platform's own (launchd on macOS, systemd elsewhere). Tests force
/// `launchd` on Linux with a fake `launchctl` first on `PATH`.
pub const PARACHUTE_INIT_SYSTEM: &str = "PARACHUTE_INIT_SYSTEM";
/// Set by sshd: an SSH session has no GUI launchd domain (`user/<uid>` instead).
pub const SSH_CONNECTION: &str = "SSH_CONNECTION";
pub const SSH_TTY: &str = "SSH_TTY";
