//! The consent page: one checkbox per scope (ticked; the user may grant a
//! subset), what each scope means and its risk, the scopes the app marks as
//! required, the vault a resource-bound token is limited to, where the
//! browser goes next, and — for an app that identifies itself by a client
//! ID metadata document URL — that URL's host and a warning when it only
//! ever redirects to this machine.

use std::fmt::Write as _;

use crate::hub::csrf;
use crate::hub::pages::{document, escape};
use crate::oauth::{cimd, redirect};
use crate::store::clients::Client;
use crate::tokens::scopes;

/// The form field of each scope checkbox; its value is the wire scope.
pub const TICKED: &str = "grant";

/// What the page shows.
pub struct Consent<'a> {
    pub issuer: &'a str,
    pub client: &'a Client,
    pub redirect_uri: &'a str,
    /// The vault a resource-bound request is limited to.
    pub vault: Option<&'a str>,
    /// The scopes the user may grant.
    pub offered: &'a [String],
    /// The authorization request, carried through as hidden fields.
    pub fields: &'a [(&'static str, Option<&'a str>)],
    pub csrf: &'a str,
}

/// Scopes the client marks as required: `required_scope` (space-separated)
/// in its registration metadata or client ID document.
fn required(client: &Client) -> Vec<String> {
    client
        .metadata
        .get("required_scope")
        .and_then(serde_json::Value::as_str)
        .map(scopes::parse)
        .unwrap_or_default()
}

fn host_of(uri: &str) -> &str {
    uri.split_once("://")
        .map_or(uri, |(_, r)| r.split(['/', '?']).next().unwrap_or(r))
}

fn hidden(name: &str, value: Option<&str>) -> String {
    value.map_or_else(String::new, |v| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(v)
        )
    })
}

fn scope_items(offered: &[String], required: &[String]) -> String {
    let mut items = String::new();
    for s in offered {
        let (text, risk) = scopes::explain(s).map_or(("Unknown scope.", "high"), |e| {
            (e.explanation, e.risk.label())
        });
        let needed = if required.contains(s) {
            " <em class=\"required\">Required by the app: it says it cannot work without this. Untick it and the app may not work.</em>"
        } else {
            ""
        };
        let _ = write!(
            items,
            "<li><label><input type=\"checkbox\" name=\"{TICKED}\" value=\"{v}\" checked> <code>{v}</code> — {} <span class=\"risk-{risk}\">({risk} risk)</span></label>{needed}</li>",
            escape(text),
            v = escape(s),
        );
    }
    items
}

/// Who the app says it is: a document URL's host, prominently, or the
/// reminder that a registered name is the app's own choice.
fn identity(c: &Consent<'_>) -> String {
    let id = &c.client.client_id;
    if !cimd::is_document_url(id) {
        return "<p>The name above is chosen by the app itself.</p>".into();
    }
    let mut out = format!(
        "<p class=\"identity\">This app identifies itself by its URL <code>{}</code>, published by <strong>{}</strong>.</p>",
        escape(id),
        escape(host_of(id))
    );
    if redirect::loopback_only(&c.client.redirect_uris) {
        out.push_str(
            "<p class=\"error\">Warning: this app only ever sends you back to this computer (a loopback address), so any program running here could claim to be it. Allow it only if you just started connecting it yourself.</p>",
        );
    }
    out
}

pub fn render(c: &Consent<'_>) -> String {
    let name = c.client.client_name.as_deref().unwrap_or("An unnamed app");
    let required = required(c.client);
    let required_note = if c.offered.iter().any(|s| required.contains(s)) {
        "<p>Scopes marked required are ones the app says it needs; you may still untick them.</p>"
    } else {
        ""
    };
    let vault = c.vault.map_or_else(String::new, |n| {
        format!(
            "<p>Access is limited to the vault <strong>{}</strong>.</p>",
            escape(n)
        )
    });
    let pending = if c.client.approved() {
        ""
    } else {
        "<p class=\"error\">This app is new: approving also approves its registration with your hub.</p>"
    };
    let fields: String = c.fields.iter().map(|(k, v)| hidden(k, *v)).collect();
    document(
        "Authorize",
        &format!(
            "<h1>Allow {name} to use your Parachute?</h1>{identity}{pending}\
<form method=\"post\" action=\"/oauth/authorize\">{fields}\
<p>Choose what it may do:</p><ul class=\"scopes\">{items}</ul>{required_note}{vault}\
<p class=\"redirect\">You will be sent back to <strong><code>{host}</code></strong>.</p>\
<input type=\"hidden\" name=\"{field}\" value=\"{csrf}\">\
<button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button> \
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>\
<p><small>Signed in to {iss}.</small></p>",
            name = escape(name),
            identity = identity(c),
            items = scope_items(c.offered, &required),
            host = escape(host_of(c.redirect_uri)),
            field = csrf::FIELD,
            csrf = escape(c.csrf),
            iss = escape(c.issuer),
        ),
    )
}
