//! What goes wrong asking the person at the terminal for a secret (a new
//! password, a password to confirm who is asking, a step-up PIN): the same
//! few faults for every `auth` command and `init`.

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The secret typed twice did not match (`what`: `passwords`, `PINs`).
    #[error("the two {what} differ; nothing was changed. Run the command again")]
    Differ { what: &'static str },

    /// There is no terminal to ask on; `command` takes the secret from stdin
    /// instead (`what`: `a password`, `the password`).
    #[error(
        "stdin is not a terminal, so there is no one to ask for {what}. Pipe it in instead: printf '%s\\n' \"$PW\" | parachute {command} --password-stdin"
    )]
    NoTerminal { what: &'static str, command: String },

    /// A new password breaks the rule `/account` applies too (`reason` says which).
    #[error("{reason}; nothing was changed. Run the command again")]
    PasswordRule { reason: String },
}
