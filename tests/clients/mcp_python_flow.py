"""The official MCP Python SDK's OAuth client (`mcp.client.auth`) against a
real `parachute serve`, headless: 401 → PRM → AS metadata → CIMD (with
CIMD_URL) or DCR → login + consent over HTTP → token → the resource answers.
Prints one JSON line for tests/it/oauth_clients.rs to assert on.

Topology as in mcp-flow.mjs: this script runs a front on FRONT_PORT, the
hub's public origin. `/vault/test/mcp` is a stand-in resource that checks
bearer tokens itself (PyJWT through the hub's JWKS, `iss`, `aud`);
everything else is proxied to the hub at HUB, and the paths are recorded.

Env: HUB, FRONT_PORT, USERNAME, PASSWORD; CIMD_URL (optional).
"""

import asyncio
import http.client
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import httpx2
import jwt
from hub_browser import sdk_auth

HUB = os.environ["HUB"]
FRONT_PORT = int(os.environ["FRONT_PORT"])
ISS = f"http://127.0.0.1:{FRONT_PORT}"
MCP_URL = f"{ISS}/vault/test/mcp"
PRM_URL = f"{ISS}/.well-known/oauth-protected-resource/vault/test/mcp"
CIMD_URL = os.environ.get("CIMD_URL") or None
hub_paths = []
jwks = jwt.PyJWKClient(f"{HUB}/.well-known/jwks.json")
out = {}


def log(*a):
    print("[mcp_python_flow]", *a, file=sys.stderr)


class Front(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def resource(self):
        m = re.match(r"Bearer (.+)$", self.headers.get("Authorization", ""))
        claims = None
        if m:
            try:
                key = jwks.get_signing_key_from_jwt(m[1]).key
                claims = jwt.decode(m[1], key, algorithms=["RS256"], audience="vault.test", issuer=ISS)
            except jwt.PyJWTError as e:
                log("token refused:", e)
        if claims is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer resource_metadata="{PRM_URL}"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({k: claims[k] for k in ("sub", "aud", "scope", "client_id")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def proxy(self):
        path = urlparse(self.path).path
        hub_paths.append(path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn = http.client.HTTPConnection(urlparse(HUB).netloc, timeout=30)
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    def handle_any(self):
        if urlparse(self.path).path == "/vault/test/mcp":
            self.resource()
        else:
            self.proxy()

    do_GET = do_POST = do_OPTIONS = handle_any


def consent_seen(page):
    out["consent_mentions_new_app"] = "This app is new" in page
    out["consent_shows_document_host"] = "identifies itself by its URL" in page


async def main():
    server = ThreadingHTTPServer(("127.0.0.1", FRONT_PORT), Front)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def seen_redirect(url):
        out["auth_url"] = url

    def seen_callback(q):
        out["callback_iss"] = q.get("iss", [None])[0]

    provider, storage = sdk_auth(
        MCP_URL,
        ISS,
        "mcp-python-sdk-test",
        on_redirect=seen_redirect,
        on_consent=consent_seen,
        on_callback=seen_callback,
        client_metadata_url=CIMD_URL,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=30) as client:
        r = await client.get(MCP_URL)
    out["resource_status"] = r.status_code
    out["whoami"] = r.json() if r.status_code == 200 else r.text
    out["client_id"] = storage.client.client_id if storage.client else None
    out["scope"] = storage.tokens.scope if storage.tokens else None
    out["registration_requests"] = hub_paths.count("/oauth/register")
    out["token_requests"] = hub_paths.count("/oauth/token")
    server.shutdown()
    print(json.dumps(out))


asyncio.run(main())
