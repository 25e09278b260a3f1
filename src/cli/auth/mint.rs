//! `parachute auth mint-token`: a scope-narrow JWT signed with the hub's key,
//! against the operator's identity. Stdout is exactly the token and a
//! newline, so it pipes (`| pbcopy`, `| jq -R`); everything else goes to
//! stderr. Flags and messages follow the upstream contract (seed 000)
//! exactly, which is why the flags are parsed here rather than by clap:
//! `unknown flag "…"`, `--scope is required` and friends, all exit 1.

use std::process::ExitCode;

use clap::Args;

use super::{Context, internal, issuers};
use crate::cli::context::out;
use crate::error::Error;
use crate::store::{self, Store};
use crate::tokens::{audience, jwt, keys, mint, operator, ttl};

pub const USAGE: &str = "parachute auth mint-token --scope <scope> [--aud <aud>] [--ttl <duration>] [--sub <sub>] [--label <text>]";

pub const LONG_ABOUT: &str = "\
Mint a scope-narrow JWT against the operator's identity, signed with the same
key as OAuth-issued tokens, and print it (stdout is only the token):

  parachute auth mint-token --scope scribe:transcribe | pbcopy

  --scope <scopes>   space-separated scopes (required)
  --aud <aud>        audience; by default inferred: named `vault:<name>:<verb>`
                     → `vault.<name>`, else the first scope's namespace, else `hub`
  --ttl <duration>   90d (default), 24h, 30m, 60s; at most 365d
  --sub <sub>        subject; defaults to the operator's
  --label <text>     a note shown by `parachute auth list-tokens` (at most
                     64 characters, no control characters)

Requires a valid $PARACHUTE_HOME/operator.token (run `parachute auth
set-password` or `parachute auth rotate-operator` first). The token is
recorded in the registry; revoke it with `parachute auth revoke-token <jti>`.";

#[derive(Debug, Args)]
pub struct MintTokenArgs {
    /// --scope <scopes> [--aud <aud>] [--ttl <duration>] [--sub <sub>] [--label <text>]
    #[arg(
        num_args = 0..,
        allow_hyphen_values = true,
        trailing_var_arg = true,
        value_name = "FLAGS"
    )]
    pub flags: Vec<String>,
}

/// The parsed flags.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub scope: Option<String>,
    pub aud: Option<String>,
    pub ttl: Option<String>,
    pub sub: Option<String>,
    pub label: Option<String>,
    pub help: bool,
}

/// Parse `--flag value` and `--flag=value`; an empty value is missing.
pub fn parse(args: &[String]) -> Result<Flags, String> {
    let mut f = Flags::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--help" || a == "-h" {
            f.help = true;
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (a.as_str(), None),
        };
        let slot = match name {
            "--scope" => &mut f.scope,
            "--aud" => &mut f.aud,
            "--ttl" => &mut f.ttl,
            "--sub" => &mut f.sub,
            "--label" => &mut f.label,
            _ => return Err(format!("unknown flag \"{a}\"")),
        };
        let value = match inline {
            Some(v) => Some(v),
            None => it.next().map(String::as_str),
        };
        match value {
            Some(v) if !v.is_empty() => *slot = Some(v.to_string()),
            _ => return Err(format!("{name} requires a value")),
        }
    }
    Ok(f)
}

/// Longest `--label`, in characters.
pub const MAX_LABEL_CHARS: usize = 64;

/// A label is a short, printable note.
fn check_label(label: &str) -> Result<(), String> {
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!(
            "--label is longer than {MAX_LABEL_CHARS} characters; shorten it"
        ));
    }
    if label
        .chars()
        .any(|c| c.is_control() || crate::oauth::text::is_bidi(c))
    {
        return Err("--label must not contain control or bidi characters".into());
    }
    Ok(())
}

fn fail(msg: &str) -> Error {
    Error::Usage(format!("parachute auth mint-token: {msg}"))
}

pub fn run(cx: &Context, args: &MintTokenArgs) -> Result<ExitCode, Error> {
    let flags = parse(&args.flags).map_err(|e| fail(&e))?;
    if flags.help {
        out(&format!("usage: {USAGE}\n\n{LONG_ABOUT}\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(scope) = flags.scope else {
        return Err(fail(&format!("--scope is required\nusage: {USAGE}")));
    };
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_string).collect();
    if scopes.is_empty() {
        return Err(fail("--scope must contain at least one scope"));
    }
    if let Some(label) = &flags.label {
        check_label(label).map_err(|e| fail(&e))?;
    }
    let ttl_secs = match &flags.ttl {
        Some(t) => ttl::parse(t).map_err(|e| fail(&e))?,
        None => ttl::DEFAULT_SECS,
    };

    let token_path = cx.paths.operator_token();
    let Some(operator_token) = operator::read(&token_path)? else {
        return Err(fail(&format!(
            "no operator token found at {}\nrun `parachute auth set-password` (first run) or `parachute auth rotate-operator` to mint one",
            token_path.display()
        )));
    };

    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let iss = issuers(cx);
    let operator_claims = {
        let conn = store.conn()?;
        let verifiers = keys::verifiers(&conn, now).map_err(|e| internal(store.path(), e))?;
        jwt::validate(
            &operator_token,
            &verifiers,
            jwt::Expect {
                issuers: iss.accepted(),
                audience: None,
                now,
            },
            |jti| store::tokens::is_revoked(&conn, jti).map_err(|e| e.to_string()),
        )
        .map_err(|e| {
            fail(&format!(
                "operator token invalid — {e}\nrun `parachute auth rotate-operator` to mint a fresh one, or check that the hub origin matches"
            ))
        })?
    };
    if operator_claims.sub.is_empty() {
        return Err(fail("operator token has no sub claim"));
    }
    // A valid signature at this path is not enough: only set-password and
    // rotate-operator write it, with the full operator scopes. A narrow
    // token stashed here must not become a minting authority.
    if !operator_claims.has_scope(operator::MINT_SCOPE) {
        return Err(fail(
            "operator token lacks hub:admin scope\nrun `parachute auth rotate-operator` to mint a fresh one",
        ));
    }

    let aud = flags.aud.unwrap_or_else(|| audience::infer(&scopes));
    let sub = flags.sub.unwrap_or_else(|| operator_claims.sub.clone());
    let renew = operator::needs_renewal(operator_claims.exp, now);
    let (minted, renewed) = store.write(|tx| {
        let user_id = store::users::by_id(tx, &operator_claims.sub)
            .map_err(|e| store.err(e))?
            .map(|u| u.id);
        let minted = mint::mint(
            tx,
            iss.primary(),
            &mint::Mint {
                sub: &sub,
                user_id: user_id.as_deref(),
                scopes: &scopes,
                audience: &aud,
                client_id: operator::CLIENT_ID,
                ttl_secs,
                created_via: Some("cli_mint"),
                parent_jti: operator_claims.jti.as_deref(),
                label: flags.label.as_deref(),
            },
            now,
        )
        .map_err(|e| store.other(e))?;
        let renewed = match (&user_id, renew) {
            (Some(owner), true) => {
                Some(operator::issue(tx, iss.primary(), owner, now).map_err(|e| store.other(e))?)
            }
            _ => None,
        };
        Ok((minted, renewed))
    })?;
    if let Some(r) = renewed {
        operator::write(&token_path, &r.token)?;
        eprintln!(
            "renewed {} (it had under 7 days left)",
            token_path.display()
        );
    }
    out(&format!("{}\n", minted.token))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Flags, String> {
        parse(&args.iter().map(|s| (*s).to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn both_spellings_and_values_with_spaces() {
        let f = p(&[
            "--scope",
            "vault:work:read scribe:transcribe",
            "--aud=custom",
            "--ttl",
            "1h",
            "--sub=agent:x",
        ])
        .expect("ok");
        assert_eq!(
            f.scope.as_deref(),
            Some("vault:work:read scribe:transcribe")
        );
        assert_eq!(f.aud.as_deref(), Some("custom"));
        assert_eq!(f.ttl.as_deref(), Some("1h"));
        assert_eq!(f.sub.as_deref(), Some("agent:x"));
        // `=` inside a value is kept.
        assert_eq!(p(&["--sub=a=b"]).expect("ok").sub.as_deref(), Some("a=b"));
    }

    #[test]
    fn unknown_flags_and_missing_values() {
        assert_eq!(p(&["--lol"]), Err("unknown flag \"--lol\"".into()));
        assert_eq!(p(&["stray"]), Err("unknown flag \"stray\"".into()));
        assert_eq!(p(&["--lol=1"]), Err("unknown flag \"--lol=1\"".into()));
        assert_eq!(p(&["--scope"]), Err("--scope requires a value".into()));
        assert_eq!(p(&["--scope="]), Err("--scope requires a value".into()));
        assert_eq!(p(&["--ttl", ""]), Err("--ttl requires a value".into()));
        assert_eq!(p(&[]), Ok(Flags::default()));
    }
}
