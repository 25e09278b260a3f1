//! Why `parachute auth 2fa enroll|disable` changed nothing. The two code
//! faults are the ones an interactive enroll asks again after.

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    /// A live secret is never replaced silently.
    #[error(
        "two-factor sign-in is already on for `{username}`; nothing was changed. To move to a new authenticator, turn it off first: parachute auth 2fa disable --username {username}"
    )]
    AlreadyOn { username: String },

    /// `--confirm` without an enrollment to confirm.
    #[error(
        "there is no enrollment pending for `{username}`. Start one with: parachute auth 2fa enroll"
    )]
    NothingPending { username: String },

    /// The secret would be shown where no one can see it.
    #[error(
        "enrolling shows a secret, and stdin/stdout are not a terminal. Run it in a terminal, or ask for the secret as data: parachute auth 2fa enroll --json"
    )]
    EnrollNeedsTerminal,

    /// What was typed is not a code at all.
    #[error("`{code}` is not a {digits}-digit code; two-factor sign-in is not on yet")]
    NotACode { code: String, digits: usize },

    /// A well-formed code that the pending secret does not produce now.
    #[error(
        "that code does not match; two-factor sign-in is not on yet. Check that the app's entry is the newest one and that this machine's clock is right, then try the code shown now"
    )]
    CodeMismatch,

    /// Another enroll (or a finished one) replaced the secret being confirmed.
    #[error(
        "the pending enrollment for `{username}` changed while this one was open (another enroll, or it was finished); run: parachute auth 2fa status"
    )]
    EnrollmentChanged { username: String },

    /// `disable` needs a yes, and there is no terminal to ask for it.
    #[error(
        "stdin is not a terminal, so there is no one to confirm. Add --yes: parachute auth 2fa disable --username {username} --yes"
    )]
    DisableNeedsYes { username: String },
}

impl TwoFactorError {
    /// Whether the person at the terminal can fix it by typing another code.
    pub fn another_code_may_do(&self) -> bool {
        matches!(self, Self::NotACode { .. } | Self::CodeMismatch)
    }
}
