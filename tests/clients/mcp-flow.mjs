// The MCP TypeScript SDK against a real `parachute serve`, headless:
// 401 → PRM → AS metadata → DCR → login + consent (approving the new client)
// over HTTP → token → MCP call → refresh → reuse of the rotated refresh token
// revokes the family → the revoked access token is refused by the resource.
//
// Topology: this script runs a front server on FRONT_PORT, the hub's public
// origin (PARACHUTE_HUB_ORIGIN). `/vault/test/mcp` is a stand-in vault (an
// MCP server that checks bearer tokens on its own: JWKS via `jose`, `iss`,
// `aud`, and the hub's revocation list); everything else is proxied to the
// hub at HUB. Prints one JSON line with what the Rust test asserts on.
//
// Env: HUB (http://127.0.0.1:<hub port>), FRONT_PORT, USERNAME, PASSWORD;
// CIMD_URL (optional): the client's metadata document URL, so the SDK uses
// it as its client_id (Client ID Metadata Documents) instead of DCR.

import http from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { auth, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

// With MCP_URL (issue 11) there is no front: the SDK is given only the
// hub's `<hub>/vault/<name>/mcp`, a real MCP module behind the hub's proxy.
const DIRECT = process.env.MCP_URL ? new URL(process.env.MCP_URL) : null;
const HUB = process.env.HUB;
const FRONT_PORT = Number(process.env.FRONT_PORT);
const ISS = DIRECT ? DIRECT.origin : `http://127.0.0.1:${FRONT_PORT}`;
const MCP_URL = DIRECT ? DIRECT.href : `${ISS}/vault/test/mcp`;
const PRM_URL = `${ISS}/.well-known/oauth-protected-resource/vault/test/mcp`;
const REDIRECT = "http://127.0.0.1:1/callback"; // never fetched: the driver reads Location
const CIMD_URL = process.env.CIMD_URL || undefined;
const hubPaths = []; // every path the front proxied to the hub
const log = (...a) => console.error("[mcp-flow]", ...a);

function fail(msg) {
  throw new Error(msg);
}

// ---- the stand-in vault: an MCP resource server that validates hub tokens ----
const jwks = createRemoteJWKSet(new URL(`${HUB}/.well-known/jwks.json`));
const seen = { rejected: [] };

async function checkBearer(req) {
  const h = req.headers.authorization || "";
  const m = /^Bearer (.+)$/i.exec(h);
  if (!m) return { error: null };
  try {
    const { payload } = await jwtVerify(m[1], jwks, {
      issuer: ISS,
      audience: "vault.test",
      algorithms: ["RS256"],
    });
    const revoked = await (await fetch(`${HUB}/.well-known/parachute-revocation.json`)).json();
    if (revoked.jtis.includes(payload.jti)) return { error: "revoked" };
    if (!String(payload.scope).split(" ").includes("vault:test:read")) return { error: "scope" };
    return { claims: payload };
  } catch (e) {
    return { error: String(e.code || e.message) };
  }
}

function challenge(res, error) {
  const err = error ? `, error="invalid_token"` : "";
  res.writeHead(401, {
    "WWW-Authenticate": `Bearer resource_metadata="${PRM_URL}"${err}`,
    "Content-Type": "application/json",
  });
  res.end(JSON.stringify({ error: "invalid_token" }));
}

async function vault(req, res) {
  const v = await checkBearer(req);
  if (!v.claims) {
    if (v.error) seen.rejected.push(v.error);
    return challenge(res, v.error);
  }
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  const server = new McpServer({ name: "stand-in-vault", version: "0.0.1" });
  server.registerTool("whoami", { description: "the caller's token claims" }, async () => ({
    content: [{ type: "text", text: JSON.stringify({ sub: v.claims.sub, aud: v.claims.aud, scope: v.claims.scope }) }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

function proxy(req, res) {
  const target = new URL(req.url, HUB);
  hubPaths.push(target.pathname);
  const headers = { ...req.headers, host: target.host, "x-forwarded-for": "127.0.0.1" };
  const up = http.request(target, { method: req.method, headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on("error", (e) => {
    res.writeHead(502);
    res.end(String(e));
  });
  req.pipe(up);
}

const front = http.createServer((req, res) => {
  const path = new URL(req.url, ISS).pathname;
  if (path === "/vault/test/mcp") {
    vault(req, res).catch((e) => {
      log("vault error", e);
      res.writeHead(500);
      res.end();
    });
  } else {
    proxy(req, res);
  }
});
if (!DIRECT) await new Promise((ok) => front.listen(FRONT_PORT, "127.0.0.1", ok));

// ---- a browser, headless: cookies and forms over plain fetch ----
const jar = new Map();
function store(res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair.indexOf("=");
    const [k, v] = [pair.slice(0, i), pair.slice(i + 1)];
    if (v === "") jar.delete(k);
    else jar.set(k, v);
  }
}
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
async function browse(url, init = {}) {
  const res = await fetch(url, {
    ...init,
    redirect: "manual",
    headers: { ...(init.headers || {}), cookie: cookieHeader() },
  });
  store(res);
  return res;
}
function hiddenFields(html) {
  const out = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    out[m[1]] = m[2].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  return out;
}
// What a browser submits of a page's form untouched: hidden fields and
// ticked checkboxes (the consent page's scopes), as [name, value] pairs.
function formFields(html) {
  const pairs = Object.entries(hiddenFields(html));
  for (const m of html.matchAll(/<input type="checkbox" name="([^"]+)" value="([^"]*)" checked>/g)) {
    pairs.push([m[1], m[2].replace(/&amp;/g, "&")]);
  }
  return pairs;
}
async function postForm(url, fields) {
  return browse(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ISS },
    body: new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields)).toString(),
  });
}

// ---- the OAuth client provider the SDK drives ----
class Provider {
  constructor() {
    this.authUrl = null;
    this._tokens = undefined;
    this._client = undefined;
    this._verifier = undefined;
    this.registrations = 0;
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadataUrl() {
    return CIMD_URL;
  }
  get clientMetadata() {
    return {
      client_name: "mcp-sdk-test",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this._client;
  }
  saveClientInformation(info) {
    this.registrations += 1;
    this._client = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(t) {
    this._tokens = t;
  }
  redirectToAuthorization(url) {
    this.authUrl = url;
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
}

const provider = new Provider();
const out = {};

// 1. connect: 401 → PRM → AS metadata → DCR → authorization URL.
let client = new Client({ name: "mcp-sdk-test", version: "1.0.0" });
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider }));
  fail("connect succeeded without a token");
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
const authUrl = provider.authUrl ?? fail("the SDK never asked to authorize");
out.client_id = provider._client.client_id;
out.registered_status = provider._client.status;
out.auth_url = authUrl.toString();
log("authorization URL", out.auth_url);

// 2. the browser: authorize without a session → /login → back.
let r = await browse(authUrl);
if (r.status !== 303) fail(`authorize without session: ${r.status}`);
const loginUrl = new URL(r.headers.get("location"), ISS);
if (loginUrl.pathname !== "/login") fail(`expected /login, got ${loginUrl}`);
r = await browse(loginUrl);
const loginFields = hiddenFields(await r.text());
r = await postForm(`${ISS}/login`, {
  ...loginFields,
  username: process.env.USERNAME,
  password: process.env.PASSWORD,
});
if (r.status !== 303) fail(`login: ${r.status} ${await r.text()}`);
const next = new URL(r.headers.get("location"), ISS);
if (next.pathname !== "/oauth/authorize") fail(`login did not return to authorize: ${next}`);

// 3. consent: the page lists the scopes with explanation and risk; approve.
r = await browse(next);
const page = await r.text();
if (r.status !== 200) fail(`consent page: ${r.status} ${page}`);
out.consent_mentions_risk = /low risk/.test(page);
out.consent_mentions_new_app = /This app is new/.test(page);
out.consent_scopes = [...page.matchAll(/<code>(vault:[^<]+)<\/code>/g)].map((m) => m[1]);
r = await postForm(`${ISS}/oauth/authorize`, [...formFields(page), ["decision", "approve"]]);
if (r.status !== 303) fail(`consent POST: ${r.status} ${await r.text()}`);
const cb = new URL(r.headers.get("location"));
out.callback_iss = cb.searchParams.get("iss");
out.state_ok = cb.searchParams.get("state") === authUrl.searchParams.get("state");
const code = cb.searchParams.get("code") ?? fail(`no code in ${cb}`);

// 4. token, then a real MCP call with it.
const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });
await transport.finishAuth(code);
const first = provider.tokens();
out.first_access_token = first.access_token;
out.scope = first.scope;
out.token_type = first.token_type;
out.expires_in = first.expires_in;
client = new Client({ name: "mcp-sdk-test", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider }));
const tools = await client.listTools();
out.tools = tools.tools.map((t) => t.name);
const who = await client.callTool({ name: "whoami", arguments: {} });
out.whoami = JSON.parse(who.content[0].text);
if (DIRECT) {
  const echo = await client.callTool({ name: "echo", arguments: { text: "through the hub" } });
  out.echo = echo.content[0].text;
}
await client.close();

// 5. refresh through the SDK: a new pair, the old refresh token is rotated.
provider._tokens = { ...first, access_token: "expired-on-purpose" };
const result = await auth(provider, { serverUrl: new URL(MCP_URL) });
out.refresh_result = result;
const second = provider.tokens();
out.rotated = second.refresh_token !== first.refresh_token && second.access_token !== first.access_token;
out.second_access_token = second.access_token;

// 6. the rotated token presented again (after the grace) revokes the family.
await new Promise((ok) => setTimeout(ok, 4000));
const tokenUrl = `${ISS}/oauth/token`;
const refresh = async (rt) => {
  const res = await fetch(tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: rt, client_id: out.client_id, resource: MCP_URL }),
  });
  return { status: res.status, body: await res.json() };
};
out.reuse = await refresh(first.refresh_token);
out.successor_after_reuse = await refresh(second.refresh_token);

// 7. the revoked access token is refused by the resource server.
client = new Client({ name: "mcp-sdk-test", version: "1.0.0" });
provider.redirectToAuthorization = (url) => {
  provider.authUrl = url;
};
provider.authUrl = null;
try {
  await client.connect(new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider }));
  out.revoked_connect = "connected";
} catch (e) {
  out.revoked_connect = e instanceof UnauthorizedError ? "unauthorized" : String(e);
}
out.vault_rejections = seen.rejected;
out.registration_requests = DIRECT ? null : hubPaths.filter((p) => p === "/oauth/register").length;

if (!DIRECT) front.close();
console.log(JSON.stringify(out));
process.exit(0);
