"""A second, independent OAuth client against a real `parachute serve`:
authlib's requests client (confidential, client_secret_basic, PKCE S256,
RFC 8707 resource), with the access token verified through the JWKS by
PyJWT. Prints one JSON line for the Rust test to assert on.

Env: ISS (the hub's origin), PARACHUTE_BIN (to approve the client with the
CLI, as an operator would), USERNAME, PASSWORD, OPERATOR_TOKEN.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import hub_browser
import jwt
import requests
from hub_browser import form_fields
from authlib.integrations.requests_client import OAuth2Session

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # loopback http
ISS = os.environ["ISS"]
RES = f"{ISS}/vault/test/mcp"
REDIRECT = "http://127.0.0.1:1/cb"
out = {}


def post_form(browser, url, fields):
    return hub_browser.post_form(browser, ISS, url, fields)


# Discovery, then DCR as a confidential client.
meta = requests.get(f"{ISS}/.well-known/oauth-authorization-server").json()
reg = requests.post(
    meta["registration_endpoint"],
    json={
        "client_name": "authlib-test",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "vault:read",
    },
)
assert reg.status_code == 201, reg.text
client = reg.json()
out["registered_status"] = client["status"]
out["echoed_redirect_uris"] = client["redirect_uris"]

# A pending client cannot use the token endpoint.
early = requests.post(
    meta["token_endpoint"],
    data={"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT},
    auth=(client["client_id"], client["client_secret"]),
)
out["pending_token_status"] = early.status_code
out["pending_token_error"] = early.json()["error"]

# The operator approves it from the CLI.
approve = subprocess.run(
    [os.environ["PARACHUTE_BIN"], "auth", "approve-client", client["client_id"]],
    capture_output=True,
    text=True,
)
assert approve.returncode == 0, approve.stderr

# Sign in with a browser-like session.
browser = requests.Session()
hub_browser.sign_in(browser, ISS, browser.get(f"{ISS}/login"))

oauth = OAuth2Session(
    client["client_id"],
    client["client_secret"],
    redirect_uri=REDIRECT,
    scope="vault:read",
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)


def authorize():
    verifier = secrets.token_urlsafe(48)
    url, state = oauth.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, resource=RES)
    r = browser.get(url, allow_redirects=False)
    consent = r.status_code == 200
    if consent:
        r = post_form(browser, f"{ISS}/oauth/authorize", form_fields(r.text) + [("decision", "approve")])
    assert r.status_code == 303, (r.status_code, r.text)
    cb = r.headers["Location"]
    q = parse_qs(urlparse(cb).query)
    assert q["state"] == [state] and q["iss"] == [ISS], cb
    return consent, cb, verifier


consent, cb, verifier = authorize()
out["first_consent_shown"] = consent
token = oauth.fetch_token(meta["token_endpoint"], authorization_response=cb, code_verifier=verifier, resource=RES)
out["scope"] = token["scope"]

# Independent verification through the JWKS.
jwks = jwt.PyJWKClient(meta["jwks_uri"], cache_keys=False)
key = jwks.get_signing_key_from_jwt(token["access_token"])
claims = jwt.decode(token["access_token"], key.key, algorithms=["RS256"], audience="vault.test", issuer=ISS)
out["aud"] = claims["aud"]
out["client_id_claim_ok"] = claims["client_id"] == client["client_id"]

# A covered, non-admin request skips the consent screen.
consent, cb, verifier = authorize()
out["second_consent_shown"] = consent
second = oauth.fetch_token(meta["token_endpoint"], authorization_response=cb, code_verifier=verifier, resource=RES)

# Refresh rotates.
refreshed = oauth.refresh_token(meta["token_endpoint"], refresh_token=second["refresh_token"], resource=RES)
out["refresh_rotated"] = refreshed["refresh_token"] != second["refresh_token"]

# A wrong secret is invalid_client.
bad = requests.post(
    meta["token_endpoint"],
    data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
    auth=(client["client_id"], "wrong"),
)
out["wrong_secret"] = [bad.status_code, bad.json()["error"]]

# Revocation (RFC 7009): revoking the refresh token ends the grant.
rv = oauth.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token")
out["revoke_status"] = rv.status_code
again = requests.post(
    meta["token_endpoint"],
    data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
    auth=(client["client_id"], client["client_secret"]),
)
out["refresh_after_revoke"] = [again.status_code, again.json()["error"]]

# The revoked access token is refused everywhere at the hub.
op = {"Authorization": f"Bearer {os.environ['OPERATOR_TOKEN']}"}
intro = requests.post(meta["introspection_endpoint"], data={"token": refreshed["access_token"]}, headers=op).json()
out["introspect_revoked"] = intro
live = requests.post(meta["introspection_endpoint"], data={"token": token["access_token"]}, headers=op).json()
out["introspect_live"] = live["active"]
as_bearer = requests.post(
    meta["introspection_endpoint"],
    data={"token": "x"},
    headers={"Authorization": f"Bearer {refreshed['access_token']}"},
)
out["revoked_as_bearer"] = [as_bearer.status_code, as_bearer.headers.get("WWW-Authenticate")]

print(json.dumps(out))
sys.exit(0)
