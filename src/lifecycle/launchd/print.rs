//! `launchctl print <domain>/<label>`, read at the top level only: nested
//! blocks (`endpoints = { … }`, `resource coalition = { … }`) repeat keys
//! such as `state =`, and only the job's own lines count.

/// Exit status of `print` (and others) for a label launchd does not know.
pub const NOT_FOUND: i32 = 113;

/// What `print` says about a loaded job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobInfo {
    /// `running`, `not running`, `spawn scheduled`, … (empty when absent).
    pub state: String,
    /// The running process, if any.
    pub pid: Option<u32>,
    /// How many times launchd spawned it since it was loaded.
    pub runs: u32,
    /// `None` for `(never exited)`.
    pub last_exit_code: Option<i32>,
    /// Why launchd last acted on it (`inefficient`, `semaphore`, …).
    pub immediate_reason: String,
}

impl JobInfo {
    pub fn is_running(&self) -> bool {
        self.state == "running" && self.pid.is_some()
    }
}

/// Parse `print`'s output. Top-level fields are the lines one tab deep
/// inside the outer `<label> = {` block; anything deeper is skipped.
pub fn parse(text: &str) -> JobInfo {
    let mut info = JobInfo::default();
    let mut depth = 0usize;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == "}" || trimmed.starts_with('}') {
            depth = depth.saturating_sub(1);
            continue;
        }
        let opens = trimmed.ends_with('{');
        if depth == 1
            && !opens
            && let Some((key, value)) = trimmed.split_once(" = ")
        {
            field(&mut info, key.trim(), value.trim());
        }
        if opens {
            depth += 1;
        }
    }
    info
}

fn field(info: &mut JobInfo, key: &str, value: &str) {
    match key {
        "state" => info.state = value.to_string(),
        "pid" => info.pid = value.parse().ok(),
        "runs" => info.runs = value.parse().unwrap_or(0),
        "last exit code" => info.last_exit_code = exit_code(value),
        "immediate reason" => info.immediate_reason = value.to_string(),
        _ => {}
    }
}

/// `1`, `0`, `(never exited)`, or `78: EX_CONFIG` on newer releases.
fn exit_code(value: &str) -> Option<i32> {
    value
        .split(|c: char| c == ':' || c.is_whitespace())
        .next()
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A real `launchctl` output kept in tests/support/launchctl.
    pub(in crate::lifecycle::launchd) fn capture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/support/launchctl")
            .join(name);
        std::fs::read_to_string(&path).expect("captured output")
    }

    #[test]
    fn a_running_job_reads_its_own_state_not_the_nested_ones() {
        let info = parse(&capture("print-running.txt"));
        assert_eq!(
            info,
            JobInfo {
                state: "running".into(),
                pid: Some(28474),
                runs: 3,
                last_exit_code: Some(1),
                immediate_reason: "semaphore".into(),
            }
        );
        assert!(info.is_running());
    }

    #[test]
    fn a_job_that_never_exited_has_no_exit_code() {
        let info = parse(&capture("print-never-exited.txt"));
        assert_eq!(info.state, "running");
        assert_eq!(info.runs, 1);
        assert_eq!(info.last_exit_code, None);
    }

    #[test]
    fn a_stopped_job_has_no_pid_and_its_last_exit() {
        let info = parse(&capture("print-crashed.txt"));
        assert_eq!(info.state, "not running");
        assert_eq!(info.pid, None);
        assert_eq!(info.runs, 7);
        assert_eq!(info.last_exit_code, Some(78));
        assert_eq!(info.immediate_reason, "inefficient");
        assert!(!info.is_running());
    }
}
