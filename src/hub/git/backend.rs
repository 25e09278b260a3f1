//! Running `git http-backend` for one request, streamed both ways: the
//! request body is pumped into its stdin by a task of its own (counting bytes
//! against the cap), its stdout becomes the response body after the CGI
//! header block, and nothing but that block (≤ 64 KiB) is ever buffered.
//!
//! The backend runs in a process group of its own. Whoever drops the
//! [`Backend`] before it exited (the response body, when hyper drops it for a
//! client that went away; the handler, when the request fails earlier) sends
//! the group SIGTERM, so `upload-pack`/`receive-pack` go too and clean up
//! their temporary objects, and SIGKILL after a grace period. The same
//! happens when the backend outlives its deadline (a client that stalls
//! mid-body), and the backend's slot under the cap is held until its group
//! is gone. If the hub itself dies (`kill -9`), the kernel kills the backend
//! (`PR_SET_PDEATHSIG`); under systemd the unit's cgroup goes as a whole.

use std::ffi::OsString;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::StreamExt as _;
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::time::Instant as Deadline;

use super::cgi::{self, MAX_HEADER_BYTES};
use super::error::GitError;

/// How long a backend gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How long a backend that closed its stdout gets to exit before it is
/// treated as hung.
const EXIT_WAIT: Duration = Duration::from_secs(30);
/// Read size for the backend's stdout (a pipe holds 64 KiB).
const CHUNK: usize = 64 * 1024;
/// At most this many stderr lines are logged per request.
const MAX_STDERR_LINES: usize = 20;

/// What to run and what it is for (the log fields).
#[derive(Debug)]
pub struct Run<'a> {
    pub program: &'a OsString,
    pub env: Vec<(&'static str, OsString)>,
    pub repo: &'a str,
    pub subpath: &'a str,
    pub subject: &'a str,
    /// Largest request body passed on.
    pub limit: u64,
    /// Longest run of the backend.
    pub deadline: Duration,
}

/// Why the request body stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abort {
    TooLarge,
    ClientGone,
}

/// A spawned backend; see the module docs for what dropping it does.
#[derive(Debug)]
struct Backend {
    child: Option<Child>,
    group: Option<Pid>,
    deadline: Deadline,
    slot: Option<OwnedSemaphorePermit>,
}

impl Backend {
    /// Wait up to `limit` for the exit status; `None` if it did not come
    /// (dropping the backend then stops it).
    async fn finish(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = tokio::time::timeout(limit, child.wait()).await.ok()?.ok()?;
        self.child = None;
        self.slot = None;
        Some(status)
    }
}

impl Backend {
    /// Stop it unless it has exited: SIGTERM to the group now, SIGKILL after
    /// [`GRACE`].
    fn stop(&mut self) {
        let slot = self.slot.take();
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let Some(group) = self.group else {
            let _ = child.start_kill();
            return;
        };
        let _ = kill_process_group(group, Signal::TERM);
        // The leader stays unreaped (so its group id cannot be reused) until
        // it has exited or been killed.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
                        let _ = kill_process_group(group, Signal::KILL);
                        let _ = child.wait().await;
                    }
                    drop(slot);
                });
            }
            Err(_) => {
                let _ = kill_process_group(group, Signal::KILL);
            }
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Have the kernel SIGKILL the child when the hub dies, however it dies
/// (`kill -9` included), so a backend never outlives a foreground hub.
/// The signal follows the thread that forks, and the hub spawns backends
/// from its runtime's worker threads, which live as long as the process.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) {
    let hub = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before `exec`. It makes
    // two raw system calls (prctl(2), getppid(2)), both async-signal-safe,
    // and neither allocates nor takes a lock; its error is a plain errno.
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            // The hub died between fork and prctl: the signal will never come.
            if rustix::process::getppid() != Some(hub) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
}

/// Elsewhere (launchd) there is no such signal; the hub's own drop path and
/// launchd's process-group kill are what stop backends.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// The backend's pipes, taken out of the child.
struct Pipes {
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: ChildStderr,
}

/// Start `git http-backend` in a process group of its own, with exactly
/// `run.env`; `None` (logged) if it cannot be started.
fn spawn(run: &Run<'_>, slot: OwnedSemaphorePermit) -> Option<(Backend, Pipes)> {
    let mut cmd = Command::new(run.program);
    cmd.arg("http-backend")
        .env_clear()
        .envs(run.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    die_with_parent(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(
            |e| tracing::error!(repo = run.repo, error = %e, "cannot spawn `git http-backend`"),
        )
        .ok()?;
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let backend = Backend {
        child: Some(child),
        group,
        deadline: Deadline::now() + run.deadline,
        slot: Some(slot),
    };
    let (Some(stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) else {
        tracing::error!(repo = run.repo, "`git http-backend` has no pipes");
        return None;
    };
    Some((
        backend,
        Pipes {
            stdin,
            stdout,
            stderr,
        },
    ))
}

/// Why reading the CGI header block ended without one.
enum NoHead {
    /// EOF, a read error, or more than [`MAX_HEADER_BYTES`] without one.
    Missing,
    /// The request body stopped first.
    Aborted(Abort),
    /// The backend's deadline passed first.
    Overdue,
}

impl NoHead {
    /// Log it; the answer for it.
    fn answer(self, run: &Run<'_>) -> GitError {
        match self {
            Self::Overdue => {
                log_overdue(run.repo, run.subpath, run.deadline);
                GitError::Timeout(run.deadline)
            }
            Self::Aborted(why) => {
                log_abort(why, run.repo, run.limit);
                match why {
                    Abort::TooLarge => GitError::TooLarge(run.limit),
                    Abort::ClientGone => GitError::ClientGone,
                }
            }
            Self::Missing => {
                let (repo, subpath) = (run.repo, run.subpath);
                tracing::warn!(
                    repo,
                    subpath,
                    "`git http-backend` emitted no CGI header block"
                );
                GitError::BadGateway("git http-backend emitted no CGI header block")
            }
        }
    }
}

/// Read stdout into `head` until the header block ends (bounded); the
/// request body keeps flowing meanwhile.
async fn read_head(
    stdout: &mut ChildStdout,
    head: &mut Vec<u8>,
    chunk: &mut [u8],
    abort: &mut Option<oneshot::Receiver<Abort>>,
    deadline: Deadline,
) -> Result<cgi::HeaderEnd, NoHead> {
    loop {
        tokio::select! {
            why = aborted(abort) => return Err(NoHead::Aborted(why)),
            () = tokio::time::sleep_until(deadline) => return Err(NoHead::Overdue),
            read = stdout.read(chunk) => match read {
                Ok(0) | Err(_) => return Err(NoHead::Missing),
                Ok(n) => {
                    head.extend_from_slice(&chunk[..n]);
                    if let Some(end) = cgi::find_header_end(head) {
                        return Ok(end);
                    }
                    if head.len() > MAX_HEADER_BYTES {
                        return Err(NoHead::Missing);
                    }
                }
            },
        }
    }
}

/// Spawn the backend for `run` in `slot`, feed it `body`, and answer with
/// its output once its CGI header block is in.
pub async fn respond(
    run: Run<'_>,
    slot: OwnedSemaphorePermit,
    body: Body,
) -> Result<Response, GitError> {
    let started = Instant::now();
    let (backend, pipes) =
        spawn(&run, slot).ok_or(GitError::Internal("git http-backend is unavailable"))?;
    tokio::spawn(log_stderr(pipes.stderr, run.repo.to_string()));
    let (abort_tx, abort_rx) = oneshot::channel();
    let bytes_in = Arc::new(AtomicU64::new(0));
    tokio::spawn(pump(
        body,
        pipes.stdin,
        run.limit,
        Arc::clone(&bytes_in),
        abort_tx,
    ));
    let mut out = Output {
        leftover: None,
        stdout: pipes.stdout,
        chunk: vec![0u8; CHUNK],
        abort: Some(abort_rx),
        backend,
        done: false,
        log: Finish::new(&run, started, bytes_in),
    };
    let mut head: Vec<u8> = Vec::with_capacity(4096);
    let end = head_end(&mut out, &mut head, &run).await?;
    Ok(out.into_response(&head, &end))
}

/// Where the CGI header block in `head` ends, or the answer when it never
/// does (the backend is stopped then: still writing an endless block,
/// exiting, or overdue, it is done either way).
async fn head_end(
    out: &mut Output,
    head: &mut Vec<u8>,
    run: &Run<'_>,
) -> Result<cgi::HeaderEnd, GitError> {
    let deadline = out.backend.deadline;
    read_head(
        &mut out.stdout,
        head,
        &mut out.chunk,
        &mut out.abort,
        deadline,
    )
    .await
    .map_err(|no| {
        out.backend.stop();
        no.answer(run)
    })
}

fn log_overdue(repo: &str, subpath: &str, deadline: Duration) {
    tracing::warn!(
        repo,
        subpath,
        deadline_secs = deadline.as_secs(),
        "`git http-backend` ran past its deadline; stopped ({})",
        crate::env_vars::PARACHUTE_GIT_DEADLINE_SECS
    );
}

fn log_abort(why: Abort, repo: &str, limit: u64) {
    match why {
        Abort::TooLarge => tracing::warn!(
            repo,
            limit,
            "git request body over the limit ({})",
            crate::env_vars::PARACHUTE_GIT_MAX_REQUEST_BYTES
        ),
        Abort::ClientGone => tracing::info!(repo, "git client went away"),
    }
}

/// Resolves when the pump reports an abort; pends forever once it finished
/// cleanly (its sender dropped).
async fn aborted(rx: &mut Option<oneshot::Receiver<Abort>>) -> Abort {
    let result = match rx.as_mut() {
        Some(r) => r.await,
        None => return std::future::pending().await,
    };
    *rx = None;
    match result {
        Ok(why) => why,
        Err(_) => std::future::pending().await,
    }
}

/// Copy the request body into the backend's stdin, then close it. Stops on
/// the cap or a broken client (reporting either), or quietly when the
/// backend stops reading (its answer says why).
async fn pump(
    body: Body,
    mut stdin: ChildStdin,
    limit: u64,
    counted: Arc<AtomicU64>,
    abort: oneshot::Sender<Abort>,
) {
    let mut frames = body.into_data_stream();
    let mut total: u64 = 0;
    while let Some(frame) = frames.next().await {
        let Ok(bytes) = frame else {
            let _ = abort.send(Abort::ClientGone);
            return;
        };
        total = total.saturating_add(bytes.len() as u64);
        counted.store(total, Ordering::Relaxed);
        if total > limit {
            let _ = abort.send(Abort::TooLarge);
            return;
        }
        if stdin.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = stdin.shutdown().await;
}

async fn log_stderr(stderr: ChildStderr, repo: String) {
    let mut lines = BufReader::new(stderr).lines();
    let mut n = 0;
    while let Ok(Some(line)) = lines.next_line().await {
        n += 1;
        if n <= MAX_STDERR_LINES {
            tracing::warn!(repo, "git http-backend: {line}");
        }
    }
    if n > MAX_STDERR_LINES {
        tracing::warn!(
            repo,
            "git http-backend: {} more line(s) not shown",
            n - MAX_STDERR_LINES
        );
    }
}

/// What is logged when a response ends.
#[derive(Debug)]
struct Finish {
    repo: String,
    subpath: String,
    subject: String,
    status: StatusCode,
    limit: u64,
    deadline: Duration,
    started: Instant,
    bytes_in: Arc<AtomicU64>,
    bytes_out: u64,
}

impl Finish {
    fn new(run: &Run<'_>, started: Instant, bytes_in: Arc<AtomicU64>) -> Self {
        Self {
            repo: run.repo.to_string(),
            subpath: run.subpath.to_string(),
            subject: run.subject.to_string(),
            // Until the header block says otherwise.
            status: StatusCode::OK,
            limit: run.limit,
            deadline: run.deadline,
            started,
            bytes_in,
            bytes_out: 0,
        }
    }
}

/// The response body: what followed the header block, then stdout to EOF.
/// Owns the backend, so dropping the body stops it.
struct Output {
    leftover: Option<Bytes>,
    stdout: ChildStdout,
    chunk: Vec<u8>,
    abort: Option<oneshot::Receiver<Abort>>,
    backend: Backend,
    done: bool,
    log: Finish,
}

impl Output {
    /// The response: the status and headers of the CGI block that ends at
    /// `end` in `head`, then the body (what followed the block, then stdout).
    fn into_response(mut self, head: &[u8], end: &cgi::HeaderEnd) -> Response {
        let (status, headers) = cgi::parse_cgi_headers(&String::from_utf8_lossy(&head[..end.idx]));
        let leftover = Bytes::copy_from_slice(&head[end.idx + end.sep_len..]);
        self.leftover = (!leftover.is_empty()).then_some(leftover);
        self.log.status = status;
        let mut response = Response::new(Body::from_stream(futures_util::stream::unfold(
            self,
            Self::next,
        )));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }

    async fn next(mut self) -> Option<(io::Result<Bytes>, Self)> {
        if let Some(b) = self.leftover.take() {
            return Some((Ok(b), self));
        }
        if self.done {
            return None;
        }
        let deadline = self.backend.deadline;
        let chunk = tokio::select! {
            () = tokio::time::sleep_until(deadline) => {
                log_overdue(&self.log.repo, &self.log.subpath, self.log.deadline);
                Err(io::Error::other("git backend deadline passed"))
            }
            why = aborted(&mut self.abort) => {
                log_abort(why, &self.log.repo, self.log.limit);
                Err(io::Error::other(format!("git request stopped: {why:?}")))
            }
            read = self.stdout.read(&mut self.chunk) => match read {
                Ok(0) => {
                    self.done = true;
                    self.finished().await;
                    return None;
                }
                Ok(n) => {
                    self.log.bytes_out += n as u64;
                    return Some((Ok(Bytes::copy_from_slice(&self.chunk[..n])), self));
                }
                Err(e) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
            },
        };
        // Overdue or aborted: stop the backend now, rather than whenever
        // hyper drops the body.
        self.done = true;
        self.backend.stop();
        Some((chunk, self))
    }

    async fn finished(&mut self) {
        let exit = self.backend.finish(EXIT_WAIT).await;
        let l = &self.log;
        let elapsed_ms = u64::try_from(l.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let bytes_in = l.bytes_in.load(Ordering::Relaxed);
        let (repo, subpath, bytes_out) = (&l.repo, &l.subpath, l.bytes_out);
        let status = l.status.as_u16();
        if !exit.is_some_and(|s| s.success()) {
            tracing::warn!(repo, subpath, status, exit = ?exit, bytes_in, bytes_out, elapsed_ms, "`git http-backend` failed");
        } else if subpath == "git-receive-pack" {
            // Pushes (and git's 4-byte probe before a chunked one); the hook
            // logs the refs.
            tracing::info!(
                repo,
                subject = l.subject,
                bytes_in,
                bytes_out,
                elapsed_ms,
                "git receive-pack done"
            );
        } else {
            tracing::debug!(
                repo,
                subpath,
                status,
                bytes_in,
                bytes_out,
                elapsed_ms,
                "git request served"
            );
        }
    }
}
