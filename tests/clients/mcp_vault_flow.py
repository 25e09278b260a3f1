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
from urllib.parse import urlparse

import httpx2
from hub_browser import sdk_auth
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

MCP_URL = os.environ["MCP_URL"]
ISS = "{0.scheme}://{0.netloc}".format(urlparse(MCP_URL))
out = {}


async def session(provider, work):
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with streamable_http_client(MCP_URL, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as s:
                await s.initialize()
                return await work(s)


async def main():
    def count(url):
        out["authorizations"] = out.get("authorizations", 0) + 1

    provider, storage = sdk_auth(MCP_URL, ISS, "mcp-python-sdk-vault", on_redirect=count)

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
