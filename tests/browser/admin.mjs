// The owner at the hub's admin pages, in a real browser (issue 14): sign in
// from `/`, see a running module on the admin home, restart it from its
// page and see its PID change, watch the page's live log view append a
// line the module printed after the page loaded, then rotate the signing
// key on /admin/security, which asks for the step-up PIN first. A
// screenshot of every page goes to the artifacts dir.
//
// Usage: node admin.mjs <config.json>
//   {baseUrl, username, password, service, pin, artifacts}
// Prints one JSON line on success:
//   {pidBefore, pidAfter, liveLine, screenshots}.
// Run by tests/it/admin_browser.rs, which prepares the hub and the module
// (it prints `tick <n> at=<unix ms>` five times a second).

import { readFileSync } from "node:fs";
import { expectPath, launch, openPage, reportFailure, STEP_TIMEOUT_MS } from "./lib.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = config.baseUrl;
const svc = config.service;

function fail(message) {
  throw new Error(message);
}

const browser = await launch();
let ui;
let exitCode = 0;
try {
  ui = await openPage(browser, config.artifacts);
  const { page, shot, consoleLog } = ui;

  // 1. `/` without a session: sign in, and land on the admin home.
  await page.goto(`${base}/`);
  let h1 = await expectPath(page, /^\/login/, "login");
  if (!/Sign in/.test(h1)) fail(`expected the sign-in page, got "${h1}"`);
  await shot("21-login");
  await page.fill("#username", config.username);
  await page.fill("#password", config.password);
  await page.click("button[type=submit]");
  await expectPath(page, /^\/(admin)?$/, "admin home");
  const row = page.locator(`#service-${svc}`);
  await row.waitFor();
  const rowText = (await row.textContent()) ?? "";
  if (!/running/.test(rowText)) fail(`the admin home does not show ${svc} running: "${rowText}"`);
  await shot("22-admin-home");

  // 2. Its page; restart it there; a new PID.
  await row.locator("a").first().click();
  await expectPath(page, new RegExp(`^/admin/services/${svc}$`), "service page");
  const pidBefore = ((await page.locator("#pid").textContent()) ?? "").trim();
  if (!/^\d+$/.test(pidBefore)) fail(`no PID on the service page: "${pidBefore}"`);
  await shot("23-service");
  await page.click("#actions button[value=restart]");
  await expectPath(page, new RegExp(`^/admin/services/${svc}\\?done=restart$`), "restarted");
  const pidAfter = ((await page.locator("#pid").textContent()) ?? "").trim();
  if (!/^\d+$/.test(pidAfter) || pidAfter === pidBefore) {
    fail(`the PID did not change on restart: ${pidBefore} -> ${pidAfter}`);
  }
  await shot("24-restarted");

  // 3. The live log view (this page's script): a line printed after the
  //    page loaded shows up without a reload.
  await page.reload();
  const loadedAt = Date.now();
  await page.locator("#live-log-status").waitFor();
  let liveLine = null;
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!liveLine && Date.now() < deadline) {
    const lines = await page.locator("#live-log-lines .line").allTextContents();
    liveLine = lines.find((l) => {
      const m = /tick \d+ at=(\d+)/.exec(l);
      return m && Number(m[1]) > loadedAt;
    }) ?? null;
    if (!liveLine) await page.waitForTimeout(200);
  }
  if (!liveLine) {
    const status = await page.locator("#live-log-status").textContent();
    fail(`no live line printed after the page loaded; status "${status}", console ${consoleLog.join(" | ")}`);
  }
  await shot("25-live-log");

  // 4. A dangerous action: set the PIN, rotate the signing key, asked for
  //    the PIN, and through after it.
  await page.goto(`${base}/admin/security`);
  await expectPath(page, /^\/admin\/security$/, "security");
  await page.fill("#new_pin", config.pin);
  await page.click("#step-up button[type=submit]");
  await expectPath(page, /^\/admin\/security\?done=pin$/, "PIN set");
  await shot("26-security-pin-set");
  const keysBefore = await page.locator("#keys tbody tr").count();
  await page.click("form[action='/admin/security/rotate-key'] button");
  h1 = await expectPath(page, /^\/admin\/security\/rotate-key$/, "PIN prompt");
  if (!/PIN/.test(h1)) fail(`expected the PIN prompt, got "${h1}"`);
  await page.locator("#step-up-pin").waitFor();
  await shot("27-step-up-prompt");
  await page.fill("#pin", config.pin);
  await page.click("#step-up-pin button[type=submit]");
  await page.locator("#step-up-resubmit").waitFor();
  await shot("28-step-up-confirm");
  await page.click("#step-up-resubmit button[type=submit]");
  await expectPath(page, /^\/admin\/security\?done=rotated$/, "rotated");
  const keysAfter = await page.locator("#keys tbody tr").count();
  if (keysAfter <= keysBefore) fail(`no new signing key listed: ${keysBefore} -> ${keysAfter}`);
  await shot("29-rotated");

  process.stdout.write(
    `${JSON.stringify({ pidBefore, pidAfter, liveLine, screenshots: ui.screenshots })}\n`,
  );
} catch (e) {
  exitCode = 1;
  await reportFailure(e, ui);
} finally {
  await browser.close();
}
process.exit(exitCode);
