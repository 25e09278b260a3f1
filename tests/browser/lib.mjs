// Shared by the flows: Debian's Chromium under playwright-core, with the
// flags this machine needs, and numbered screenshots into the artifacts dir.

import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

export const STEP_TIMEOUT_MS = 20_000;

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    // No sandbox as root, and no background networking: the network here is
    // closed and Chromium would keep trying (see the machine notes).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/// A page with console capture and a screenshot helper.
export async function openPage(browser, artifacts) {
  mkdirSync(artifacts, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const consoleLog = [];
  page.on("console", (m) => consoleLog.push(`${m.type()}: ${m.text()}`));
  const screenshots = [];
  const shot = async (name) => {
    const file = path.join(artifacts, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    screenshots.push(file);
  };
  return { context, page, consoleLog, screenshots, shot };
}

/// Wait until the page's path+query matches `re`; its first heading.
export async function expectPath(page, re, what) {
  await page.waitForURL((u) => re.test(u.pathname + u.search), { timeout: STEP_TIMEOUT_MS });
  const h1 = await page.locator("h1").first().textContent();
  if (!h1) throw new Error(`${what}: the page has no heading (${page.url()})`);
  return h1;
}

/// Report a failure with the browser's console and a last screenshot.
export async function reportFailure(e, ui) {
  process.stderr.write(`browser flow failed at ${ui?.page?.url() ?? "(no page)"}: ${e.stack ?? e}\n`);
  if (ui?.consoleLog.length) {
    process.stderr.write(`browser console:\n  ${ui.consoleLog.join("\n  ")}\n`);
  }
  if (ui) {
    try {
      await ui.shot("failure");
      process.stderr.write(`screenshot: ${ui.screenshots.at(-1)}\n`);
    } catch {}
  }
}
