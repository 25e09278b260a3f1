"""A person at the hub's pages, driven over HTTP with `requests` for the
Python client flows (mcp_python_flow.py, mcp_vault_flow.py, authlib_flow.py):
the forms' fields as a browser submits them, a same-origin POST, and the
sign-in + consent a client's authorization URL leads to. Also the MCP SDK's
OAuth client wired to that person (`sdk_auth`).
"""

import asyncio
import os
import re
from html import unescape
from urllib.parse import parse_qs, urlparse

import requests

# Never fetched: the person's browser stops at the Location.
REDIRECT = "http://127.0.0.1:2/callback"

HIDDEN = r'<input type="hidden" name="([^"]+)" value="([^"]*)">'
TICKED = r'<input type="checkbox" name="([^"]+)" value="([^"]*)" checked>'


def hidden(html):
    """A page's hidden fields, as `(name, value)` pairs."""
    return [(k, unescape(v)) for k, v in re.findall(HIDDEN, html)]


def form_fields(html):
    """Hidden fields and ticked checkboxes, as a browser submits them."""
    return hidden(html) + [(k, unescape(v)) for k, v in re.findall(TICKED, html)]


def post_form(browser, iss, url, fields):
    """A form POST from the hub's own pages (its Origin), not following redirects."""
    return browser.post(url, data=fields, headers={"Origin": iss}, allow_redirects=False)


def sign_in(browser, iss, login_page):
    """Fill in the sign-in form of `login_page` as USERNAME / PASSWORD; the 303."""
    fields = hidden(login_page.text) + [("username", os.environ["USERNAME"]), ("password", os.environ["PASSWORD"])]
    r = post_form(browser, iss, f"{iss}/login", fields)
    assert r.status_code == 303, (r.status_code, r.text)
    return r


def browser_approves(iss, auth_url, on_consent=lambda page: None):
    """A person follows `auth_url`, signs in and allows the app; the callback
    URL. `on_consent` sees the consent page before it is approved."""
    b = requests.Session()
    r = b.get(auth_url, allow_redirects=False)
    assert r.status_code == 303, (r.status_code, r.text)
    login = r.headers["Location"]
    r = sign_in(b, iss, b.get(iss + login if login.startswith("/") else login))
    r = b.get(iss + r.headers["Location"], allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.text)
    on_consent(r.text)
    r = post_form(b, iss, f"{iss}/oauth/authorize", form_fields(r.text) + [("decision", "approve")])
    assert r.status_code == 303, (r.status_code, r.text)
    return r.headers["Location"]


class Storage:
    """The MCP SDK's token storage, in memory."""

    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info


def sdk_auth(server_url, iss, client_name, on_redirect=lambda url: None, on_consent=lambda page: None, on_callback=lambda q: None, client_metadata_url=None):
    """The MCP SDK's OAuth client (a public client, DCR or CIMD) for
    `server_url`, whose redirect a person at the hub `iss` approves; the
    `on_*` hooks see the authorization URL, the consent page and the
    callback's query. Returns the provider and its token storage."""
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    storage = Storage()
    callback = {}

    async def redirect_handler(url):
        on_redirect(url)
        callback["url"] = await asyncio.to_thread(browser_approves, iss, url, on_consent)

    async def callback_handler():
        q = parse_qs(urlparse(callback["url"]).query)
        on_callback(q)
        return AuthorizationCodeResult(code=q["code"][0], state=q.get("state", [None])[0], iss=q.get("iss", [None])[0])

    provider = OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name=client_name,
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )
    return provider, storage
