//! The typed variants that replaced free-text `Usage` messages print the
//! very text those sites built (integration tests match on it).

use std::path::PathBuf;

use super::{Error, JournalError, PromptError, TwoFactorError};

fn says(e: impl Into<Error>) -> String {
    e.into().to_string()
}

#[test]
fn an_unknown_user_lists_the_users_and_the_fix() {
    let e = Error::UnknownUser {
        name: "bob".into(),
        users: vec!["owner".into(), "alice".into()],
        fix: "Pick one with --username <name>",
    };
    assert_eq!(
        says(e),
        "there is no user `bob`; users: owner, alice. Pick one with --username <name>"
    );
}

#[test]
fn a_missing_hub_names_the_verb_and_init() {
    assert_eq!(
        says(Error::HubNotSetUp { verb: "upgrade" }),
        "the hub is not set up yet, so there is nothing to upgrade. Run `parachute init` first."
    );
}

#[test]
fn a_missing_unit_file_names_the_command_that_writes_it() {
    let e = Error::NoUnitFile {
        label: "vault".into(),
        fix: "parachute start vault".into(),
    };
    assert_eq!(
        says(e),
        "vault has no unit file yet, so there is nothing to enable or disable. Write it with: parachute start vault"
    );
}

#[test]
fn a_missing_start_program_names_where_it_was_looked_for() {
    let e = Error::NoStartProgram {
        short: "vault".into(),
        program: "bin/server".into(),
        dir: PathBuf::from("/m/vault"),
        manifest: PathBuf::from("/m/vault/.parachute/module.json"),
    };
    assert_eq!(
        says(e),
        "vault: cannot find `bin/server` (the module's start command) in /m/vault or on PATH. Install it, or fix `startCmd` in /m/vault/.parachute/module.json."
    );
}

#[test]
fn a_failed_job_names_the_unit_the_result_and_the_log_command() {
    let e = Error::JobFailed {
        unit: "parachute-vault.service".into(),
        verb: "restart",
        result: "failed".into(),
        logs: "journalctl --user-unit parachute-vault.service -n 20".into(),
    };
    assert_eq!(
        says(e),
        "parachute-vault.service did not restart (failed); see why: journalctl --user-unit parachute-vault.service -n 20"
    );
}

#[test]
fn the_plain_facts_read_as_before() {
    assert_eq!(says(Error::NoUserManager), "no user manager is reachable");
    assert_eq!(
        says(Error::HubWithoutInit),
        "this hub runs without an init system"
    );
    assert_eq!(
        says(Error::NoOwnerForOperator),
        "the hub has no owner to issue an operator token for; create it with: parachute init"
    );
    assert_eq!(
        says(Error::NoLaunchdLog {
            unit: "parachute-x.service".into()
        }),
        "`parachute-x.service` has no launchd log file"
    );
}

#[test]
fn journal_faults_say_what_journalctl_did() {
    let spawn = JournalError::Spawn {
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    };
    assert_eq!(
        says(spawn),
        "cannot run `journalctl` (entity not found); install systemd's journal tools (package `systemd`)"
    );
    let failed = JournalError::Failed {
        what: "the services".into(),
        stderr: "No journal files were found.".into(),
    };
    assert_eq!(
        says(failed),
        "journalctl failed for the services: No journal files were found."
    );
    assert_eq!(says(JournalError::NoPipe), "journalctl gave no output pipe");
}

#[test]
fn prompt_faults_name_the_secret_and_the_stdin_way() {
    assert_eq!(
        says(PromptError::Differ { what: "PINs" }),
        "the two PINs differ; nothing was changed. Run the command again"
    );
    assert_eq!(
        says(PromptError::NoTerminal {
            what: "a password",
            command: "auth set-password".into(),
        }),
        "stdin is not a terminal, so there is no one to ask for a password. Pipe it in instead: printf '%s\\n' \"$PW\" | parachute auth set-password --password-stdin"
    );
    assert_eq!(
        says(PromptError::PasswordRule {
            reason: "the password is too short".into()
        }),
        "the password is too short; nothing was changed. Run the command again"
    );
}

#[test]
fn two_factor_faults_name_the_user_and_the_next_command() {
    let bob = || "bob".to_string();
    assert_eq!(
        says(TwoFactorError::AlreadyOn { username: bob() }),
        "two-factor sign-in is already on for `bob`; nothing was changed. To move to a new authenticator, turn it off first: parachute auth 2fa disable --username bob"
    );
    assert_eq!(
        says(TwoFactorError::NothingPending { username: bob() }),
        "there is no enrollment pending for `bob`. Start one with: parachute auth 2fa enroll"
    );
    assert_eq!(
        says(TwoFactorError::NotACode {
            code: "12ab".into(),
            digits: 6
        }),
        "`12ab` is not a 6-digit code; two-factor sign-in is not on yet"
    );
    assert_eq!(
        says(TwoFactorError::DisableNeedsYes { username: bob() }),
        "stdin is not a terminal, so there is no one to confirm. Add --yes: parachute auth 2fa disable --username bob --yes"
    );
    assert_eq!(
        says(Error::NoOwner),
        "the hub has no owner yet. Create it with: parachute auth set-password"
    );
}

#[test]
fn only_a_bad_code_is_worth_asking_again() {
    assert!(TwoFactorError::CodeMismatch.another_code_may_do());
    let malformed = TwoFactorError::NotACode {
        code: "x".into(),
        digits: 6,
    };
    assert!(malformed.another_code_may_do());
    // Another code cannot bring back an enrollment someone else replaced.
    let changed = TwoFactorError::EnrollmentChanged {
        username: "bob".into(),
    };
    assert!(!changed.another_code_may_do());
    assert!(!TwoFactorError::EnrollNeedsTerminal.another_code_may_do());
}
