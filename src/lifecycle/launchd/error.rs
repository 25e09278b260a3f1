//! What can go wrong driving launchd: the type is defined below the
//! lifecycle layer (`crate::error::launchd`) so the library's error can wrap
//! it; what to tell the user about a `launchctl` exit status stays here.

pub use crate::error::launchd::LaunchdError as Error;

/// What to tell the user for a launchctl exit status we do not handle.
pub fn hint(code: i32, domain: &str, label: &str) -> String {
    match code {
        1 | 150 => format!(
            "launchd refused the operation in `{domain}`: run it as the logged-in user, not through sudo"
        ),
        37 => "another launchd operation on it is in progress; retry in a few seconds".into(),
        119 => format!("the job is disabled; enable it with: launchctl enable {domain}/{label}"),
        125 => format!(
            "the `{domain}` domain does not allow this (no GUI session?); log in on the Mac's screen, or set up the agent from Terminal there"
        ),
        _ => format!("Look at: launchctl print {domain}/{label}"),
    }
}
