//! What can go wrong reading the journal through `journalctl` (for `logs`,
//! `status` and the hub's live log pages).

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// `journalctl` could not be run at all.
    #[error(
        "cannot run `journalctl` ({source}); install systemd's journal tools (package `systemd`)"
    )]
    Spawn { source: std::io::Error },

    /// `journalctl` ran and failed; `stderr` is what it said, trimmed.
    #[error("journalctl failed for {what}: {stderr}")]
    Failed { what: String, stderr: String },

    /// A follower was spawned without the pipe it was asked for.
    #[error("journalctl gave no output pipe")]
    NoPipe,
}
