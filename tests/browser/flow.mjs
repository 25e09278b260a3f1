// A person connecting an app to their hub, in a real browser: the app sends
// them to /oauth/authorize, the hub asks them to sign in (password, then a
// code from their authenticator), shows the consent page, and on "Allow"
// sends the browser back to the app's redirect URI with a code. Then they
// open /account. A screenshot of every step goes to the artifacts dir.
//
// Usage: node flow.mjs <config.json>
//   {authorizeUrl, accountUrl, username, password, totpCode,
//    redirectPort, redirectPath, artifacts}
// Prints one JSON line on success: {callback: {code, state, iss}, screenshots}.
// Run by tests/it/browser.rs, which prepares the hub and checks the result.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { expectPath, launch, openPage, reportFailure, STEP_TIMEOUT_MS } from "./lib.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));

function fail(message) {
  throw new Error(message);
}

// The app's side: a redirect URI on loopback that records what it got.
let callback = null;
const app = createServer((req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${config.redirectPort}`);
  if (url.pathname === config.redirectPath) {
    callback = Object.fromEntries(url.searchParams);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>Connected</title><h1 id=connected>The app is connected.</h1>");
  } else {
    res.writeHead(404).end();
  }
});
await new Promise((resolve, reject) => {
  app.once("error", reject);
  app.listen(config.redirectPort, "127.0.0.1", resolve);
});

const browser = await launch();
let ui;
let exitCode = 0;
try {
  ui = await openPage(browser, config.artifacts);
  const { context, page, shot } = ui;

  // 1. The app sends the browser to the hub; no session, so: sign in.
  await page.goto(config.authorizeUrl);
  let h1 = await expectPath(page, /^\/login\?next=/, "login");
  if (!/Sign in/.test(h1)) fail(`expected the sign-in page, got "${h1}"`);
  await shot("01-login");
  await page.fill("#username", config.username);
  await page.fill("#password", config.password);
  await page.click("button[type=submit]");

  // 2. The password was right and the user has TOTP: the second step.
  h1 = await expectPath(page, /^\/login\/2fa$/, "2fa");
  if (!/Two-factor/.test(h1)) fail(`expected the two-factor page, got "${h1}"`);
  const early = (await context.cookies()).find((c) => c.name === "parachute_hub_session");
  if (early) fail("a session cookie exists before the second factor");
  await shot("02-two-factor");
  await page.fill("#code", config.totpCode);
  await page.click("button[type=submit]");

  // 3. Signed in; back at /oauth/authorize, which asks for consent.
  h1 = await expectPath(page, /^\/oauth\/authorize\?/, "consent");
  if (!/Allow/.test(h1)) fail(`expected the consent page, got "${h1}"`);
  const session = (await context.cookies()).find((c) => c.name === "parachute_hub_session");
  if (!session || !session.httpOnly || session.sameSite !== "Lax") {
    fail(`the session cookie is not HttpOnly + SameSite=Lax: ${JSON.stringify(session)}`);
  }
  await shot("03-consent");
  await page.click("button[name=decision][value=approve]");

  // 4. Back at the app with a code.
  await page.waitForURL((u) => u.port === String(config.redirectPort), { timeout: STEP_TIMEOUT_MS });
  await page.locator("#connected").waitFor();
  await shot("04-redirected");
  if (!callback?.code) fail(`the redirect URI got no code: ${JSON.stringify(callback)}`);

  // 5. The account page: 2FA is on, the app is listed.
  await page.goto(config.accountUrl);
  await expectPath(page, /^\/account$/, "account");
  const status = await page.locator("#two-factor-status").textContent();
  if (!/^On since/.test(status ?? "")) fail(`2FA is not shown as on: "${status}"`);
  await shot("05-account");

  process.stdout.write(`${JSON.stringify({ callback, screenshots: ui.screenshots })}\n`);
} catch (e) {
  exitCode = 1;
  await reportFailure(e, ui);
} finally {
  await browser.close();
  app.close();
}
process.exit(exitCode);
