//! `parachute auth list-clients|pending-clients|approve-client|trust-client-hosts|revoke-client|list-grants|revoke-grant`:
//! the owner's side of OAuth client approval and consent, acting on the hub
//! store directly (like the rest of `auth`).

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;

use super::{Context, JsonArgs, date};
use crate::cli::context::out;
use crate::error::Error;
use crate::oauth::clients;
use crate::store::{self, Store};

#[derive(Debug, Args)]
pub struct ClientIdArgs {
    /// The client's id (see `parachute auth pending-clients` or `list-grants`).
    pub client_id: String,
}

fn unknown(id: &str) -> Error {
    Error::Usage(format!(
        "no client has id `{id}`. See them with: parachute auth pending-clients (or list-grants)"
    ))
}

pub fn pending(cx: &Context, args: &JsonArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let conn = store.conn()?;
    let rows = clients::pending(&conn, now).map_err(|e| store.err(e))?;
    if args.json {
        let doc = serde_json::to_string_pretty(&rows).unwrap_or_default();
        return out(&format!("{doc}\n")).map(|()| ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no clients are waiting for approval");
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!(
        "{:<36} {:<24} {:<20} {}\n",
        "CLIENT ID", "NAME", "REGISTERED", "REDIRECT URIS"
    );
    for c in &rows {
        let _ = writeln!(
            s,
            "{:<36} {:<24} {:<20} {}",
            c.client_id,
            c.client_name.as_deref().unwrap_or("-"),
            date(c.registered_at),
            c.redirect_uris.join(" ")
        );
    }
    eprintln!("approve one with: parachute auth approve-client <client id>");
    out(&s).map(|()| ExitCode::SUCCESS)
}

/// Every registered OAuth client, approved or pending (expired pending
/// registrations are left out, as the hub reaps them).
pub fn list_clients(cx: &Context, args: &JsonArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let conn = store.conn()?;
    let rows = clients::registered(&conn, now).map_err(|e| store.err(e))?;
    if args.json {
        let doc = serde_json::to_string_pretty(&rows).unwrap_or_default();
        return out(&format!("{doc}\n")).map(|()| ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no OAuth clients have registered yet");
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!(
        "{:<36} {:<24} {:<9} {:<20} {}\n",
        "CLIENT ID", "NAME", "STATUS", "REGISTERED", "REDIRECT URIS"
    );
    for c in &rows {
        let _ = writeln!(
            s,
            "{:<36} {:<24} {:<9} {:<20} {}",
            c.client_id,
            c.client_name.as_deref().unwrap_or("-"),
            c.status,
            date(c.registered_at),
            c.redirect_uris.join(" ")
        );
    }
    out(&s).map(|()| ExitCode::SUCCESS)
}

pub fn approve(cx: &Context, args: &ClientIdArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let found =
        store.write(|tx| clients::approve(tx, &args.client_id, now).map_err(|e| store.err(e)))?;
    let c = found.ok_or_else(|| unknown(&args.client_id))?;
    eprintln!(
        "✓ approved {} ({}); it can now ask you for consent",
        c.client_name.as_deref().unwrap_or("the client"),
        c.client_id
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct TrustHostsArgs {
    /// Trust this host (as in `claude.ai`; repeatable).
    #[arg(long, value_name = "HOST")]
    pub add: Vec<String>,
    /// Stop trusting this host (repeatable). Clients it already approved stay
    /// approved until revoked (see `revoke-client`).
    #[arg(long, value_name = "HOST")]
    pub remove: Vec<String>,
    /// Print the trusted hosts as a JSON array.
    #[arg(long)]
    pub json: bool,
}

pub fn trust_hosts(cx: &Context, args: &TrustHostsArgs) -> Result<ExitCode, Error> {
    use store::settings::{self, CIMD_TRUSTED_HOSTS};
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let hosts = store
        .write(|tx| {
            let current: Vec<String> = settings::get(tx, CIMD_TRUSTED_HOSTS)
                .map_err(|e| store.err(e))?
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default();
            let edited = crate::oauth::cimd::edit_trusted_hosts(&current, &args.add, &args.remove);
            if let Some(hosts) = edited.as_ref().ok().filter(|h| **h != current) {
                let json = serde_json::to_string(hosts).unwrap_or_default();
                settings::set(tx, CIMD_TRUSTED_HOSTS, &json, now).map_err(|e| store.err(e))?;
            }
            Ok(edited)
        })?
        .map_err(Error::Usage)?;
    if args.json {
        let doc = serde_json::to_string(&hosts).unwrap_or_default();
        return out(&format!("{doc}\n")).map(|()| ExitCode::SUCCESS);
    }
    if hosts.is_empty() {
        eprintln!(
            "no trusted client hosts: every new app waits for your approval (add one with --add HOST)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    out(&format!("{}\n", hosts.join("\n"))).map(|()| ExitCode::SUCCESS)
}

pub fn revoke_client(cx: &Context, args: &ClientIdArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let revoked =
        store.write(|tx| clients::remove(tx, &args.client_id, now).map_err(|e| store.err(e)))?;
    let n = revoked.ok_or_else(|| unknown(&args.client_id))?;
    eprintln!(
        "✓ removed client {} with its grants; {n} token(s) revoked",
        args.client_id
    );
    Ok(ExitCode::SUCCESS)
}

pub fn list_grants(cx: &Context, args: &JsonArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let conn = store.conn()?;
    let rows = store::grants::list(&conn).map_err(|e| store.err(e))?;
    if args.json {
        let doc = serde_json::to_string_pretty(&rows).unwrap_or_default();
        return out(&format!("{doc}\n")).map(|()| ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no grants: no app has been given consent yet");
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!(
        "{:<36} {:<24} {:<16} {:<20} {}\n",
        "CLIENT ID", "NAME", "USER", "GRANTED", "SCOPES"
    );
    for g in &rows {
        let _ = writeln!(
            s,
            "{:<36} {:<24} {:<16} {:<20} {}",
            g.client_id,
            g.client_name.as_deref().unwrap_or("-"),
            g.username,
            date(g.granted_at),
            g.scopes
        );
    }
    out(&s).map(|()| ExitCode::SUCCESS)
}

pub fn revoke_grant(cx: &Context, args: &ClientIdArgs) -> Result<ExitCode, Error> {
    let store = Store::open_existing(&cx.paths.hub_db())?;
    let now = cx.clock.now();
    let (grants, revoked) =
        store.write(|tx| clients::withdraw(tx, &args.client_id, now).map_err(|e| store.err(e)))?;
    if grants == 0 {
        return Err(Error::Usage(format!(
            "no grant to client `{}`. See them with: parachute auth list-grants",
            args.client_id
        )));
    }
    eprintln!(
        "✓ consent withdrawn from {}; {revoked} token(s) revoked. It must ask again to connect",
        args.client_id
    );
    Ok(ExitCode::SUCCESS)
}
