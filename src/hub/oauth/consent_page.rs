//! The consent page: one checkbox per scope (ticked; the user may grant a
//! subset), what each scope means and its risk, the scopes the app marks as
//! required, the vault a resource-bound token is limited to, where the
//! browser goes next, and — for an app that identifies itself by a client
//! ID metadata document URL — that URL's host and a warning when it only
//! ever redirects to this machine.

use askama::Template;

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

/// One checkbox.
struct ScopeItem<'a> {
    scope: &'a str,
    text: &'static str,
    risk: &'static str,
    required: bool,
}

/// `templates/oauth/consent.html`.
#[derive(Template)]
#[template(path = "oauth/consent.html")]
struct Page<'a> {
    name: &'a str,
    client_id: &'a str,
    /// The host of a client ID metadata document URL, when the app is one.
    document_host: Option<&'a str>,
    loopback_only: bool,
    approved: bool,
    fields: Vec<(&'static str, &'a str)>,
    ticked: &'static str,
    scopes: Vec<ScopeItem<'a>>,
    any_required: bool,
    vault: Option<&'a str>,
    redirect_host: &'a str,
    csrf: &'a str,
    issuer: &'a str,
}

fn scope_items<'a>(offered: &'a [String], required: &[String]) -> Vec<ScopeItem<'a>> {
    offered
        .iter()
        .map(|s| {
            let (text, risk) = scopes::explain(s).map_or(("Unknown scope.", "high"), |e| {
                (e.explanation, e.risk.label())
            });
            ScopeItem {
                scope: s,
                text,
                risk,
                required: required.contains(s),
            }
        })
        .collect()
}

/// The consent page's HTML.
pub fn render(c: &Consent<'_>) -> String {
    let required = required(c.client);
    let id = c.client.client_id.as_str();
    let document = cimd::is_document_url(id);
    let page = Page {
        name: c.client.client_name.as_deref().unwrap_or("An unnamed app"),
        client_id: id,
        document_host: document.then(|| host_of(id)),
        loopback_only: document && redirect::loopback_only(&c.client.redirect_uris),
        approved: c.client.approved(),
        fields: c
            .fields
            .iter()
            .filter_map(|(k, v)| Some((*k, (*v)?)))
            .collect(),
        ticked: TICKED,
        any_required: c.offered.iter().any(|s| required.contains(s)),
        scopes: scope_items(c.offered, &required),
        vault: c.vault,
        redirect_host: host_of(c.redirect_uri),
        csrf: c.csrf,
        issuer: c.issuer,
    };
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the consent page did not render");
        String::new()
    })
}
