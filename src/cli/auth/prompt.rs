//! Reading a new password: twice from the terminal (not echoed), or once
//! from stdin with `--password-stdin` for scripts.

use std::io::{BufRead as _, IsTerminal as _};

use crate::error::{Error, PromptError};
use crate::identity::Password;
use crate::identity::password;

/// Read a new password for `command` (named in messages).
pub fn password(from_stdin: bool, command: &str) -> Result<Password, Error> {
    let pw = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Terminal {
                stream: "stdin",
                source: e,
            })?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if std::io::stdin().is_terminal() {
        let read = |p: &str| {
            rpassword::prompt_password(p).map_err(|e| Error::Terminal {
                stream: "tty",
                source: e,
            })
        };
        let first = read("New password: ")?;
        let again = read("Repeat it: ")?;
        if first != again {
            return Err(PromptError::Differ { what: "passwords" }.into());
        }
        first
    } else {
        return Err(PromptError::NoTerminal {
            what: "a password",
            command: command.to_string(),
        }
        .into());
    };
    // The same rule `/account` applies, so a password set here also passes there.
    password::check_rule(&pw).map_err(|e| PromptError::PasswordRule {
        reason: e.to_string(),
    })?;
    Ok(Password::new(pw))
}

/// Read an existing password (to confirm who is asking): once, from the
/// terminal without echo (`ask` is the prompt) or the first line of stdin.
pub fn existing_password(from_stdin: bool, ask: &str, command: &str) -> Result<Password, Error> {
    let pw = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io(std::path::Path::new("<stdin>"), e))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(ask).map_err(|e| Error::io(std::path::Path::new("<tty>"), e))?
    } else {
        return Err(PromptError::NoTerminal {
            what: "the password",
            command: command.to_string(),
        }
        .into());
    };
    Ok(Password::new(pw))
}
