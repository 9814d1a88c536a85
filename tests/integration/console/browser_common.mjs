// What the console's browser scripts (ui_browser.mjs, e2e_call_browser.mjs,
// refresh_browser.mjs) share: the environment they are started with,
// Debian's Chromium through playwright-core, logging and checks, the
// collection of page errors, screenshots and the login form.
// playwright-core lives in admin-ui/web/node_modules, not next to these
// scripts: it is resolved from $SBC_UI_WEB_DIR with createRequire.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export function env(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} not set`);
  return v;
}

// $SBC_UI_ARTIFACTS, created: where screenshots go.
export function artifactsDir() {
  const dir = env("SBC_UI_ARTIFACTS");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function launchBrowser() {
  const require = createRequire(join(env("SBC_UI_WEB_DIR"), "package.json"));
  const { chromium } = require("playwright-core");
  return chromium.launch({
    executablePath: process.env.SBC_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

// A desktop-sized page in a context (cookies) of its own.
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  return { context, page };
}

// log() and check() whose lines carry the script's tag, e.g. "[ui]".
export function logger(tag) {
  const log = (...a) => console.log(tag, ...a);
  const check = (cond, what) => {
    if (!cond) throw new Error("check failed: " + what);
    log("ok:", what);
  };
  return { log, check };
}

// Pushes onto `problems` every uncaught exception and console error of
// `page` (CSP violations are console errors), each prefixed with `prefix`,
// except the HTTP errors in `expectedHttp`: [status, path] pairs the
// scenario provokes on purpose, matched against the path of the failed
// request resolved on `baseUrl`. The list is read at each error, so a
// scenario may push onto it as it goes.
export function collectPageErrors(page, problems, { baseUrl, expectedHttp = [], prefix = "" } = {}) {
  page.on("pageerror", (e) => problems.push(`${prefix}uncaught: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const text = m.text();
    const where = m.location().url || "";
    const ok = expectedHttp.some(([status, path]) =>
      text.includes(`status of ${status}`) && new URL(where, baseUrl).pathname === path);
    if (!ok) problems.push(`${prefix}console error: ${text} (${where})`);
  });
}

// shot("name") saves a full-page screenshot as <dir>/<prefix>name.png.
export function screenshotter(page, dir, prefix = "") {
  return (name) => page.screenshot({ path: join(dir, `${prefix}${name}.png`), fullPage: true });
}

// Fills the login form (already shown, or first loaded from `url` when one
// is given) and waits for the dashboard.
export async function login(page, url, user, password) {
  if (url) await page.goto(url);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
}

// After a failed run: the error, the messages the page shows, a screenshot
// of it (`shotPath`) and the page problems collected so far, on stderr.
export async function reportFailure(tag, e, page, problems, shotPath) {
  console.error(`${tag} FAIL:`, e.message);
  if (page) {
    const banners = await page.locator(".banner, .field-error").allTextContents().catch(() => []);
    if (banners.length) console.error(`${tag} messages on the page:`, banners.join(" | "));
    await page.screenshot({ path: shotPath, fullPage: true }).catch(() => {});
  }
  if (problems.length) console.error(`${tag} page problems:\n  ` + problems.join("\n  "));
}

// Runs `scenario`, then closes the browser and ends the process: exit 0 when
// it passed, else 1 after reportFailure() on the page `failurePage()`
// returns then (null when none was opened yet).
export async function runScenario({ browser, tag, problems, failurePage, failureShot }, scenario) {
  let failed = false;
  try {
    await scenario();
  } catch (e) {
    failed = true;
    await reportFailure(tag, e, failurePage(), problems, failureShot);
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}
