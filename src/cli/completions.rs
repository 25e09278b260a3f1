//! `parachute completions bash|zsh|fish`: the shell completion script,
//! rendered from the clap tree (so new commands complete without edits).

use std::process::ExitCode;

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell as Generator;

use super::Cli;
use super::context::out;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the script for.
    pub shell: Shell,
}

/// The shells the packages install completions for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// Source it, or put it in `/usr/share/bash-completion/completions/parachute`.
    Bash,
    /// Put it as `_parachute` in a directory on `$fpath`.
    Zsh,
    /// Put it in `~/.config/fish/completions/parachute.fish`.
    Fish,
}

impl Shell {
    fn generator(self) -> Generator {
        match self {
            Self::Bash => Generator::Bash,
            Self::Zsh => Generator::Zsh,
            Self::Fish => Generator::Fish,
        }
    }
}

/// The completion script for `shell`.
pub fn render(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell.generator(), &mut cmd, "parachute", &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

pub fn run(args: &CompletionsArgs) -> Result<ExitCode, Error> {
    out(&render(args.shell))?;
    Ok(ExitCode::SUCCESS)
}
