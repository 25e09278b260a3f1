//! `parachute logs` under launchd: the agent's log file
//! (`~/Library/Logs/Parachute/<short>.log`, stdout and stderr together),
//! tailed and followed. launchd only appends, so a follower also notices
//! the file being replaced or truncated (rotation) and starts over on it.

use std::fs::File;
use std::io::{ErrorKind, Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::Duration;

use super::error::Error;

/// At most this much of the file's end is read for `-n` (lines are short;
/// a huge file is never read whole).
const TAIL_BYTES: u64 = 4 * 1024 * 1024;
const POLL: Duration = Duration::from_millis(200);

/// A log file past this size is rotated by the hub (launchd never does).
pub const ROTATE_BYTES: u64 = 10 * 1024 * 1024;
/// Rotated generations kept: `<short>.log.1` (newest) … `<short>.log.5`.
pub const ROTATE_KEEP: u32 = 5;
/// How often the hub looks.
pub const ROTATE_EVERY: Duration = Duration::from_secs(60);

fn io(path: &Path, e: &std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        problem: e.to_string(),
    }
}

/// The last `lines` lines of `path` (none when there is no file yet).
pub fn tail(path: &Path, lines: usize) -> Result<Vec<String>, Error> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path, &e)),
    };
    let len = f.metadata().map_err(|e| io(path, &e))?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(start)).map_err(|e| io(path, &e))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(|e| io(path, &e))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut all: Vec<&str> = text.lines().collect();
    if start > 0 && !all.is_empty() {
        all.remove(0); // cut mid-line
    }
    let skip = all.len().saturating_sub(lines);
    Ok(all[skip..].iter().map(|l| (*l).to_string()).collect())
}

/// Print the last `lines` lines, then every new line, until `emit` says the
/// reader is gone (returns `false`).
pub async fn follow(
    path: &Path,
    lines: usize,
    mut emit: impl FnMut(&str) -> bool,
) -> Result<(), Error> {
    for l in tail(path, lines)? {
        if !emit(&format!("{l}\n")) {
            return Ok(());
        }
    }
    let mut at = std::fs::metadata(path).map(|m| (m.ino(), m.len())).ok();
    loop {
        tokio::time::sleep(POLL).await;
        let Ok(m) = std::fs::metadata(path) else {
            continue;
        };
        let (ino, len) = (m.ino(), m.len());
        // A new file (rotated) or a shorter one (truncated): read it from the start.
        let from = match at {
            Some((i, l)) if i == ino && len >= l => l,
            _ => 0,
        };
        if len > from {
            let mut f = File::open(path).map_err(|e| io(path, &e))?;
            f.seek(SeekFrom::Start(from)).map_err(|e| io(path, &e))?;
            let mut bytes = Vec::new();
            f.take(len - from)
                .read_to_end(&mut bytes)
                .map_err(|e| io(path, &e))?;
            if !emit(&String::from_utf8_lossy(&bytes)) {
                return Ok(());
            }
        }
        at = Some((ino, len));
    }
}

/// Rotate every `*.log` in `dir` larger than `max`: `.1` … `.keep` shift
/// up (the oldest is dropped), the file is copied to `.1` and truncated in
/// place. Copy-and-truncate, not rename: launchd keeps the file open in
/// append mode for the running job, and would go on writing into a renamed
/// one. Returns the files rotated.
pub fn rotate_dir(dir: &Path, max: u64, keep: u32) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut rotated = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        let big = std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() > max);
        if big && path.extension().is_some_and(|e| e == "log") && rotate(&path, keep).is_ok() {
            rotated.push(path);
        }
    }
    rotated
}

fn rotate(path: &Path, keep: u32) -> std::io::Result<()> {
    let generation = |n: u32| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{n}"));
        std::path::PathBuf::from(p)
    };
    let _ = std::fs::remove_file(generation(keep));
    for n in (1..keep).rev() {
        match std::fs::rename(generation(n), generation(n + 1)) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    std::fs::copy(path, generation(1))?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(0)
}

/// How much of a log file is read at a time by [`Lines`].
const CHUNK: u64 = 64 * 1024;

/// The agent's log file followed line by line, each line with the byte
/// offset just past it (what a reader resumes from). A file replaced or
/// truncated (rotation) is read again from its start.
#[derive(Debug)]
pub struct Lines {
    path: std::path::PathBuf,
    ino: Option<u64>,
    pos: u64,
    ready: std::collections::VecDeque<(u64, String)>,
}

impl Lines {
    /// Follow `path` from offset `after` when the file still reaches it,
    /// else from its last `lines` lines.
    pub fn open(path: &Path, after: Option<u64>, lines: usize) -> Self {
        let m = std::fs::metadata(path).ok();
        let len = m.as_ref().map_or(0, std::fs::Metadata::len);
        let pos = match after {
            Some(a) if a <= len => a,
            _ => start_of_last(path, len, lines),
        };
        Self {
            path: path.to_path_buf(),
            ino: m.map(|m| m.ino()),
            pos,
            ready: std::collections::VecDeque::new(),
        }
    }

    /// The next line and the offset past it, waiting for one to be written.
    pub async fn next(&mut self) -> (u64, String) {
        loop {
            if let Some(l) = self.ready.pop_front() {
                return l;
            }
            if !self.read_more() {
                tokio::time::sleep(POLL).await;
            }
        }
    }

    /// Read complete lines past `pos`; whether any were found.
    fn read_more(&mut self) -> bool {
        let Ok(m) = std::fs::metadata(&self.path) else {
            return false;
        };
        if self.ino != Some(m.ino()) || m.len() < self.pos {
            (self.ino, self.pos) = (Some(m.ino()), 0);
        }
        let Ok(mut f) = File::open(&self.path) else {
            return false;
        };
        let mut bytes = Vec::new();
        if f.seek(SeekFrom::Start(self.pos)).is_err()
            || f.take(CHUNK).read_to_end(&mut bytes).is_err()
        {
            return false;
        }
        // A line longer than a whole chunk is cut there rather than waited on.
        let end = match bytes.iter().rposition(|b| *b == b'\n') {
            Some(i) => i + 1,
            None if bytes.len() as u64 == CHUNK => bytes.len(),
            None => return false,
        };
        let mut at = self.pos;
        for line in bytes[..end].split_inclusive(|b| *b == b'\n') {
            at += line.len() as u64;
            let text = String::from_utf8_lossy(line);
            self.ready
                .push_back((at, text.trim_end_matches(['\n', '\r']).to_string()));
        }
        self.pos = at;
        true
    }
}

/// The offset where the last `lines` lines of a file of `len` bytes start
/// (looking at most [`CHUNK`] back).
fn start_of_last(path: &Path, len: u64, lines: usize) -> u64 {
    let from = len.saturating_sub(CHUNK);
    let mut bytes = Vec::new();
    let read = File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(from))?;
        f.read_to_end(&mut bytes)
    });
    if read.is_err() {
        return len;
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let mut starts = body
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| from + i as u64 + 1);
    if lines == 0 {
        return len;
    }
    starts.nth(lines - 1).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_come_from_the_end_of_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("vault.log");
        assert!(tail(&p, 5).expect("no file").is_empty());
        let text: String = (1..=10)
            .map(|i| ["line ", &i.to_string(), "\n"].concat())
            .collect();
        std::fs::write(&p, text).expect("write");
        assert_eq!(tail(&p, 2).expect("tail"), ["line 9", "line 10"]);
        assert_eq!(tail(&p, 50).expect("tail").len(), 10);
    }

    #[test]
    fn large_logs_are_rotated_and_only_keep_generations_stay() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("vault.log");
        let small = dir.path().join("hub.log");
        std::fs::write(&small, "tiny\n").expect("write");
        for round in 1..=4 {
            std::fs::write(&log, format!("round {round}\n").repeat(100)).expect("write");
            assert_eq!(rotate_dir(dir.path(), 64, 3), std::slice::from_ref(&log));
        }
        assert_eq!(
            std::fs::read(&log).expect("read").len(),
            0,
            "truncated in place"
        );
        let generation =
            |n: u32| std::fs::read_to_string(dir.path().join(format!("vault.log.{n}")));
        assert!(generation(1).expect("1").starts_with("round 4"));
        assert!(generation(3).expect("3").starts_with("round 2"));
        assert!(generation(4).is_err(), "only 3 kept");
        assert_eq!(std::fs::read_to_string(&small).expect("small"), "tiny\n");
    }

    #[tokio::test]
    async fn a_follower_sees_appends_and_a_rotated_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("vault.log");
        std::fs::write(&p, "old\n").expect("write");
        let writer = {
            let p = p.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let mut text = std::fs::read_to_string(&p).expect("read");
                text.push_str("appended\n");
                std::fs::write(&p, text).expect("append");
                tokio::time::sleep(Duration::from_millis(400)).await;
                std::fs::rename(&p, p.with_extension("log.1")).expect("rotate");
                std::fs::write(&p, "fresh\n").expect("new file");
            })
        };
        let mut seen = String::new();
        let run = follow(&p, 10, |s| {
            seen.push_str(s);
            !seen.contains("fresh")
        });
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("in time")
            .expect("follow");
        writer.await.expect("writer");
        assert_eq!(seen, "old\nappended\nfresh\n");
    }

    #[tokio::test]
    async fn lines_carry_their_end_offset_and_resume_from_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("x.log");
        std::fs::write(&path, "one\ntwo\nthree\n").expect("write");
        let mut l = Lines::open(&path, None, 2);
        assert_eq!(l.next().await, (8, "two".to_string()));
        assert_eq!(l.next().await, (14, "three".to_string()));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        std::io::Write::write_all(&mut f, b"four\nfi").expect("append");
        assert_eq!(l.next().await, (19, "four".to_string()));
        // Resuming from an offset gives what came after it, nothing before.
        let mut again = Lines::open(&path, Some(14), 10);
        assert_eq!(again.next().await, (19, "four".to_string()));
        std::io::Write::write_all(&mut f, b"ve\n").expect("append");
        assert_eq!(again.next().await, (24, "five".to_string()));
        // An offset past the end (the file was rotated) starts over at its tail.
        let mut past = Lines::open(&path, Some(999), 1);
        assert_eq!(past.next().await, (24, "five".to_string()));
    }
}
