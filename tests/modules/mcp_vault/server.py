"""A vault-shaped MCP server module for the end-to-end proxy tests (issue 11),
built on the official MCP Python SDK (`mcp`, streamable HTTP).

Run as `server.py <name> <hub origin>` with PORT set; serves
`/vault/<name>/mcp` (the hub forwards without stripPrefix). Tokens are the
hub's JWTs, checked here (PyJWT through the hub's JWKS: `iss`, `aud`
`vault.<name>`, the `vault:<name>:read` scope, and the hub's revocation
list), so a missing or bad one gets the SDK's 401 with
`WWW-Authenticate: Bearer resource_metadata="<hub>/.well-known/oauth-protected-resource/vault/<name>/mcp"`.
The module also serves its own RFC 9728 document under its prefix,
`/vault/<name>/.well-known/oauth-protected-resource`, which the hub passes
through. Tools: `echo`, `search_notes`, `whoami`.
"""

import json
import os
import sys
import urllib.request

import jwt
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse

NAME = sys.argv[1]
HUB = sys.argv[2].rstrip("/")
PREFIX = f"/vault/{NAME}"
RESOURCE = f"{HUB}{PREFIX}/mcp"
SCOPE = f"vault:{NAME}:read"
NOTES = [
    {"title": "Parachute packing list", "body": "canopy, lines, reserve"},
    {"title": "Landing notes", "body": "flare late, feet together"},
    {"title": "Grocery", "body": "rice, lines of credit"},
]
jwks = jwt.PyJWKClient(f"{HUB}/.well-known/jwks.json")


def revoked(jti):
    """Whether the hub lists `jti` as revoked (read per call: tests revoke)."""
    with urllib.request.urlopen(f"{HUB}/.well-known/parachute-revocation.json", timeout=5) as r:
        return jti in json.load(r).get("jtis", [])


class HubTokens:
    """The SDK's TokenVerifier seam: a hub JWT, or None (→ the SDK's 401)."""

    async def verify_token(self, token):
        try:
            key = jwks.get_signing_key_from_jwt(token).key
            c = jwt.decode(token, key, algorithms=["RS256"], audience=f"vault.{NAME}", issuer=HUB)
        except jwt.PyJWTError as e:
            print(f"[mcp_vault] token refused: {e}", file=sys.stderr, flush=True)
            return None
        if revoked(c.get("jti")):
            print("[mcp_vault] token refused: revoked", file=sys.stderr, flush=True)
            return None
        return AccessToken(
            token=token,
            client_id=str(c.get("client_id", "")),
            scopes=str(c.get("scope", "")).split(),
            expires_at=c.get("exp"),
            subject=c.get("sub"),
            claims=c,
        )


server = MCPServer(
    name=f"mcp-vault-{NAME}",
    version="1.0.0",
    token_verifier=HubTokens(),
    auth=AuthSettings(
        issuer_url=HUB,
        resource_server_url=RESOURCE,
        required_scopes=[SCOPE],
        validate_token_resource=False,  # HubTokens checks `aud` itself
    ),
)


@server.tool()
def echo(text: str) -> str:
    """Say `text` back."""
    return text


@server.tool()
def search_notes(query: str) -> str:
    """Titles of the notes whose title or body contains `query`."""
    q = query.lower()
    return json.dumps([n["title"] for n in NOTES if q in n["title"].lower() or q in n["body"].lower()])


@server.tool()
def whoami(ctx: Context) -> str:
    """The caller's token claims."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    t = get_access_token()
    c = (t.claims or {}) if t else {}
    return json.dumps({k: c.get(k) for k in ("sub", "aud", "scope", "client_id")})


@server.custom_route(f"{PREFIX}/health", methods=["GET"])
async def health(_: Request):
    return JSONResponse({"status": "ok"})


@server.custom_route(f"{PREFIX}/.well-known/oauth-protected-resource", methods=["GET"])
async def own_metadata(_: Request):
    """This module's own RFC 9728 document (the hub passes it through)."""
    return JSONResponse(
        {
            "resource": RESOURCE,
            "authorization_servers": [HUB],
            "scopes_supported": [SCOPE, f"vault:{NAME}:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": f"mcp-vault {NAME} (served by the module)",
        }
    )


app = server.streamable_http_app(
    streamable_http_path=f"{PREFIX}/mcp",
    stateless_http=True,
    json_response=True,
    # The hub refuses foreign Hosts (421) before a request gets here.
    transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
