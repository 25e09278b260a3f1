// A person turning on two-factor sign-in from /account in a real browser:
// sign in, set up (password), scan — here: read the key off the page and
// compute the code with node's own HMAC-SHA1 (RFC 6238, independently of the
// hub's implementation) — confirm, and see the ten backup codes once.
//
// Usage: node enroll.mjs <config.json>   {baseUrl, username, password, artifacts}
// Prints one JSON line: {secret, backupCodes, screenshots}.

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { expectPath, launch, openPage, reportFailure } from "./lib.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));

function fail(message) {
  throw new Error(message);
}

/// RFC 4648 base32 (no padding) to bytes.
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/[\s=]/g, "").toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) fail(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/// RFC 6238 TOTP: HMAC-SHA1, 30 s steps, 6 digits.
function totp(secret, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 1_000_000).padStart(6, "0");
}

const browser = await launch();
let ui;
let exitCode = 0;
try {
  ui = await openPage(browser, config.artifacts);
  const { page, shot } = ui;

  await page.goto(`${config.baseUrl}/account`);
  await expectPath(page, /^\/login\?next=/, "login");
  await page.fill("#username", config.username);
  await page.fill("#password", config.password);
  await page.click("button[type=submit]");
  await expectPath(page, /^\/account$/, "account");
  const before = await page.locator("#two-factor-status").textContent();
  if (!/^Off\./.test(before ?? "")) fail(`2FA should start off: "${before}"`);
  await shot("11-account-2fa-off");

  await page.fill("#enroll_password", config.password);
  await page.click("form[action='/account/2fa/enroll'] button");
  const h1 = await expectPath(page, /^\/account\/2fa\/enroll$/, "setup");
  if (!/Set up/.test(h1)) fail(`expected the setup page, got "${h1}"`);
  const qr = await page.locator("#qr svg").boundingBox();
  if (!qr || qr.width < 150 || qr.height < 150) fail(`the QR code is not drawn: ${JSON.stringify(qr)}`);
  await shot("12-enroll-qr");

  const secret = (await page.locator("#totp-secret").textContent()).replace(/\s/g, "");
  const uri = await page.locator("#otpauth-uri").textContent();
  if (!uri.includes(`secret=${secret}`)) fail(`the setup link does not carry the key: ${uri}`);
  await page.fill("#code", totp(base32(secret), Date.now() / 1000));
  await page.click("form[action='/account/2fa/confirm'] button");
  await page.locator("#backup-codes").waitFor();
  const backupCodes = await page.locator("#backup-codes code").allTextContents();
  if (backupCodes.length !== 10) fail(`expected 10 backup codes, got ${backupCodes.length}`);
  await shot("13-backup-codes");

  await page.click("a[href='/account?done=2fa-on']");
  await expectPath(page, /^\/account\?done=2fa-on$/, "account");
  const after = await page.locator("#two-factor-status").textContent();
  if (!/^On since .* 10 of 10 backup codes left/.test(after ?? "")) fail(`2FA is not on: "${after}"`);
  await shot("14-account-2fa-on");

  process.stdout.write(`${JSON.stringify({ secret, backupCodes, screenshots: ui.screenshots })}\n`);
} catch (e) {
  exitCode = 1;
  await reportFailure(e, ui);
} finally {
  await browser.close();
}
process.exit(exitCode);
