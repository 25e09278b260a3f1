//! The bare repositories under `$PARACHUTE_HOME/hub/git`: provisioning on
//! first authorized access, and the listing behind `parachute git list`.
//!
//! A repository is built in a hidden temporary directory beside its final
//! place and renamed into it, so it appears complete or not at all; a
//! process-wide lock makes concurrent first pushes to one name build it once
//! (a rename that loses a race to another process discards its copy).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use tokio::process::Command;
use tokio::sync::Mutex;

/// Each pushed ref is appended to this file in the repository as
/// `<old> <new> <ref>`; its mtime is the last push.
pub const PUSH_LOG: &str = "post-receive.log";

/// Serializes provisioning (rare, and cheap next to a push).
static PROVISION: Mutex<()> = Mutex::const_new(());

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("`git {args}` failed ({status}): {stderr}")]
    Git {
        args: String,
        status: String,
        stderr: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `dir` is a provisioned repository.
pub fn exists(dir: &Path) -> bool {
    dir.join("HEAD").is_file()
}

/// Make `<root>/<name>.git` if it is missing: bare, initial branch `main`,
/// `http.receivepack=true` (http-backend refuses pushes without it), and the
/// logging `post-receive` hook. Returns whether this call created it.
/// `name` must already be a valid repository name (see `path::is_repo_name`).
pub async fn ensure(
    root: &Path,
    name: &str,
    git: &OsStr,
    search_path: &OsStr,
) -> Result<bool, RepoError> {
    let dir = root.join(format!("{name}.git"));
    if exists(&dir) {
        return Ok(false);
    }
    let _lock = PROVISION.lock().await;
    if exists(&dir) {
        return Ok(false);
    }
    crate::paths::create_private_dir(root).map_err(|e| RepoError::Io {
        path: root.to_path_buf(),
        source: io::Error::other(e.to_string()),
    })?;
    let tmp = root.join(format!(
        ".provision-{name}-{}-{}",
        std::process::id(),
        crate::tokens::jwt::new_jti()
    ));
    let built = build(&tmp, name, git, search_path).await;
    let placed = built.and_then(|()| match std::fs::rename(&tmp, &dir) {
        Ok(()) => Ok(true),
        // Another process placed it first; theirs is as good as ours.
        Err(_) if exists(&dir) => Ok(false),
        Err(e) => Err(io_err(&dir)(e)),
    });
    if !matches!(placed, Ok(true)) {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    placed
}

async fn build(dir: &Path, name: &str, git: &OsStr, search_path: &OsStr) -> Result<(), RepoError> {
    let mut init: Vec<OsString> = ["init", "--bare", "--quiet", "--initial-branch=main"]
        .map(OsString::from)
        .to_vec();
    init.push(dir.as_os_str().to_owned());
    run_git(git, search_path, &init).await?;
    let mut config: Vec<OsString> = vec!["--git-dir".into(), dir.as_os_str().to_owned()];
    config.extend(["config", "http.receivepack", "true"].map(OsString::from));
    run_git(git, search_path, &config).await?;
    let hook = dir.join("hooks").join("post-receive");
    std::fs::create_dir_all(dir.join("hooks")).map_err(io_err(dir))?;
    std::fs::write(&hook, post_receive_hook(name)).map_err(io_err(&hook))?;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).map_err(io_err(&hook))
}

/// `git ARGS` with an empty environment but `PATH`.
async fn run_git(git: &OsStr, search_path: &OsStr, args: &[OsString]) -> Result<(), RepoError> {
    let out = Command::new(git)
        .args(args)
        .env_clear()
        .env("PATH", search_path)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(io_err(Path::new(git)))?;
    if out.status.success() {
        return Ok(());
    }
    Err(RepoError::Git {
        args: args
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" "),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// The hook: append each ref to [`PUSH_LOG`] (hooks run in the bare repo)
/// and say so on stdout, which git relays to the pusher as a `remote:` line.
/// It only logs: the hub stores what is pushed and never builds or runs it.
pub fn post_receive_hook(name: &str) -> String {
    format!(
        "#!/bin/sh
# Written by parachute when this repository was provisioned: log each pushed
# ref. The hub stores what is pushed; it never builds or runs it.
while read -r oldrev newrev refname; do
\tprintf '%s %s %s\\n' \"$oldrev\" \"$newrev\" \"$refname\" >> {PUSH_LOG}
\tprintf '[parachute] %s received %s (%s..%s)\\n' '{name}' \"$refname\" \"$oldrev\" \"$newrev\"
done
"
    )
}

/// One repository, as `parachute git list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RepoInfo {
    pub name: String,
    pub path: PathBuf,
    /// Bytes on disk (apparent size of every file in it).
    pub size_bytes: u64,
    /// Unix seconds of the last push, `None` if never pushed to.
    pub last_push: Option<i64>,
}

/// Every repository under `root`, by name; an absent root is an empty list.
pub fn list(root: &Path) -> io::Result<Vec<RepoInfo>> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(name) = file_name
            .to_str()
            .and_then(|n| n.strip_suffix(".git"))
            .filter(|n| super::path::is_repo_name(n))
        else {
            continue;
        };
        let path = entry.path();
        if !exists(&path) {
            continue;
        }
        let last_push = std::fs::metadata(path.join(PUSH_LOG))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok());
        out.push(RepoInfo {
            name: name.to_string(),
            size_bytes: disk_size(&path)?,
            path,
            last_push,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn disk_size(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            // A pack being replaced under us by a concurrent push.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let Ok(meta) = entry.and_then(|e| e.metadata().map(|m| (e.path(), m))) else {
                continue;
            };
            if meta.1.is_dir() {
                stack.push(meta.0);
            } else {
                total += meta.1.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_var() -> OsString {
        std::env::var_os("PATH").unwrap_or_default()
    }

    #[tokio::test]
    async fn provisions_a_pushable_bare_repo_once() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("hub/git");
        let git = OsStr::new("git");
        assert!(
            ensure(&root, "foo", git, &path_var())
                .await
                .expect("created")
        );
        let dir = root.join("foo.git");
        assert!(exists(&dir));
        assert!(
            !ensure(&root, "foo", git, &path_var())
                .await
                .expect("exists")
        );
        let cfg = std::fs::read_to_string(dir.join("config")).expect("config");
        assert!(cfg.contains("bare = true"), "{cfg}");
        assert!(cfg.contains("receivepack = true"), "{cfg}");
        let head = std::fs::read_to_string(dir.join("HEAD")).expect("HEAD");
        assert_eq!(head.trim(), "ref: refs/heads/main");
        let hook = dir.join("hooks/post-receive");
        let mode = std::fs::metadata(&hook).expect("hook").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        let root_mode = std::fs::metadata(&root).expect("root").permissions().mode();
        assert_eq!(root_mode & 0o777, 0o700);
        // Nothing temporary is left beside it.
        let names: Vec<_> = std::fs::read_dir(&root)
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["foo.git"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_accesses_provision_once() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("git");
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let root = root.clone();
                tokio::spawn(
                    async move { ensure(&root, "race", OsStr::new("git"), &path_var()).await },
                )
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            if t.await.expect("join").expect("ensure") {
                created += 1;
            }
        }
        assert_eq!(created, 1);
        assert_eq!(std::fs::read_dir(&root).expect("ls").count(), 1);
    }

    #[tokio::test]
    async fn a_failed_build_leaves_nothing() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("git");
        let err = ensure(&root, "x", OsStr::new("false"), &path_var())
            .await
            .expect_err("`false` is not git");
        assert!(matches!(err, RepoError::Git { .. }), "{err}");
        assert_eq!(std::fs::read_dir(&root).expect("ls").count(), 0);
    }

    #[test]
    fn the_hook_logs_each_ref_and_echoes_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        let hook = tmp.path().join("post-receive");
        std::fs::write(&hook, post_receive_hook("foo")).expect("write");
        let out = std::process::Command::new("sh")
            .arg(&hook)
            .current_dir(tmp.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin
                    .take()
                    .expect("stdin")
                    .write_all(b"0000 1111 refs/heads/main\n2222 3333 refs/tags/v1\n")?;
                c.wait_with_output()
            })
            .expect("ran");
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "[parachute] foo received refs/heads/main (0000..1111)\n\
             [parachute] foo received refs/tags/v1 (2222..3333)\n"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(PUSH_LOG)).expect("log"),
            "0000 1111 refs/heads/main\n2222 3333 refs/tags/v1\n"
        );
    }

    #[tokio::test]
    async fn list_shows_repositories_with_size_and_last_push() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("git");
        assert!(list(&root).expect("absent root").is_empty());
        for n in ["b", "a"] {
            ensure(&root, n, OsStr::new("git"), &path_var())
                .await
                .expect("made");
        }
        std::fs::create_dir_all(root.join(".provision-x-1-2")).expect("tmp dir");
        std::fs::create_dir_all(root.join("not-a-repo.git")).expect("empty dir");
        std::fs::write(root.join("a.git").join(PUSH_LOG), "0 1 refs/heads/main\n").expect("log");
        let repos = list(&root).expect("list");
        let names: Vec<&str> = repos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(repos[0].last_push.is_some());
        assert_eq!(repos[1].last_push, None);
        assert!(repos.iter().all(|r| r.size_bytes > 0));
    }
}
