"""The official MCP Python SDK, client side only, given only
`<hub>/vault/<name>/mcp` (MCP_URL) of a real MCP module behind the hub's
proxy (issue 11): 401 → PRM → AS metadata → DCR → login + consent over HTTP
(the headless browser of hub_browser.py) → token → tools/list and
tools/call → refresh → a tool call on the new token. Prints one JSON line
for tests/it/mcp_proxy.rs.

Env: MCP_URL, USERNAME, PASSWORD.
"""

import asyncio
import json
import os
import sys
from urllib.parse import parse_qs, urlparse

import httpx2
from hub_browser import Storage, browser_approves
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

MCP_URL = os.environ["MCP_URL"]
ISS = "{0.scheme}://{0.netloc}".format(urlparse(MCP_URL))
REDIRECT = "http://127.0.0.1:2/callback"  # never fetched: the driver reads Location
out = {}


async def session(provider, work):
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with streamable_http_client(MCP_URL, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as s:
                await s.initialize()
                return await work(s)


async def main():
    storage = Storage()
    callback = {}

    async def redirect_handler(url):
        out["authorizations"] = out.get("authorizations", 0) + 1
        callback["url"] = await asyncio.to_thread(browser_approves, ISS, url)

    async def callback_handler():
        q = parse_qs(urlparse(callback["url"]).query)
        return AuthorizationCodeResult(code=q["code"][0], state=q.get("state", [None])[0], iss=q.get("iss", [None])[0])

    provider = OAuthClientProvider(
        server_url=MCP_URL,
        client_metadata=OAuthClientMetadata(
            client_name="mcp-python-sdk-vault",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )

    async def first(s):
        tools = await s.list_tools()
        out["tools"] = sorted(t.name for t in tools.tools)
        r = await s.call_tool("search_notes", {"query": "lines"})
        out["search_notes"] = json.loads(r.content[0].text)
        r = await s.call_tool("whoami", {})
        out["whoami"] = json.loads(r.content[0].text)

    await session(provider, first)
    out["client_id"] = storage.client.client_id
    out["scope"] = storage.tokens.scope
    before = storage.tokens
    # The access token's lifetime is over: the SDK refreshes before sending.
    provider.context.token_expiry_time = 1

    async def second(s):
        r = await s.call_tool("echo", {"text": "after refresh"})
        out["echo_after_refresh"] = r.content[0].text

    await session(provider, second)
    after = storage.tokens
    out["refreshed"] = after.access_token != before.access_token and after.refresh_token != before.refresh_token
    print(json.dumps(out))


try:
    asyncio.run(main())
except BaseException as e:
    print("[mcp_vault_flow]", repr(e), file=sys.stderr)
    raise
