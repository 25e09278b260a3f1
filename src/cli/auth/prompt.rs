//! Reading a new password: twice from the terminal (not echoed), or once
//! from stdin with `--password-stdin` for scripts.

use std::io::{BufRead as _, IsTerminal as _};

use crate::error::Error;
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
    // The same rule `/account` applies, so a password set here also passes there.
    password::check_rule(&pw)
        .map_err(|e| Error::Usage(format!("{e}; nothing was changed. Run the command again")))?;
    Ok(Password::new(pw))
}
