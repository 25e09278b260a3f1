//! Reading a new password: twice from the terminal (not echoed), or once
//! from stdin with `--password-stdin` for scripts.

use std::io::{BufRead as _, IsTerminal as _};

use crate::error::Error;
use crate::identity::Password;
use crate::identity::password::MAX_LEN;

/// Passwords shorter than this get a warning (they are still accepted: the
/// hub listens on loopback, and the owner decides).
const WARN_BELOW: usize = 12;

/// Read a new password for `command` (named in messages).
pub fn password(from_stdin: bool, command: &str) -> Result<Password, Error> {
    let pw = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io(std::path::Path::new("<stdin>"), e))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else if std::io::stdin().is_terminal() {
        let read = |p: &str| {
            rpassword::prompt_password(p).map_err(|e| Error::io(std::path::Path::new("<tty>"), e))
        };
        let first = read("New password: ")?;
        let again = read("Repeat it: ")?;
        if first != again {
            return Err(Error::Usage(
                "the two passwords differ; nothing was changed. Run the command again".into(),
            ));
        }
        first
    } else {
        return Err(Error::Usage(format!(
            "stdin is not a terminal, so there is no one to ask for a password. Pipe it in instead: printf '%s\\n' \"$PW\" | parachute {command} --password-stdin"
        )));
    };
    check(&pw)?;
    if pw.chars().count() < WARN_BELOW {
        eprintln!("⚠ that password is shorter than {WARN_BELOW} characters");
    }
    Ok(Password::new(pw))
}

fn check(pw: &str) -> Result<(), Error> {
    if pw.is_empty() {
        return Err(Error::Usage(
            "the password is empty; nothing was changed".into(),
        ));
    }
    if pw.len() > MAX_LEN {
        return Err(Error::Usage(format!(
            "the password is longer than {MAX_LEN} bytes; nothing was changed"
        )));
    }
    Ok(())
}
