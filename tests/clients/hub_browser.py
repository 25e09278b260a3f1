"""A person at the hub's pages, driven over HTTP with `requests` for the
Python client flows (mcp_python_flow.py, mcp_vault_flow.py, authlib_flow.py):
the forms' fields as a browser submits them, a same-origin POST, and the
sign-in + consent a client's authorization URL leads to. Also the in-memory
token storage the MCP SDK's OAuth client asks for.
"""

import os
import re
from html import unescape

import requests

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
