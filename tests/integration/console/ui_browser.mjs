// Drives the console UI in Debian's Chromium (headless) through
// playwright-core from admin-ui/web/node_modules; started by
// ui_console_test.py, which owns the server and the database.
// Any console error, uncaught exception or CSP violation fails the run,
// except the HTTP errors the scenario provokes on purpose.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} not set`);
  return v;
};
const url = env("SBC_UI_URL");
const webDir = env("SBC_UI_WEB_DIR");
const artifacts = env("SBC_UI_ARTIFACTS");
mkdirSync(artifacts, { recursive: true });
const require = createRequire(join(webDir, "package.json"));
const { chromium } = require("playwright-core");

const problems = [];
// [status, path suffix] pairs the scenario causes deliberately.
const expectedHttp = [
  [401, "/api/v1/session"],
  [422, "/api/v1/trunks"],
  [422, "/api/v1/dids"],
];

function log(...a) {
  console.log("[ui]", ...a);
}
function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  log("ok:", what);
}

const browser = await chromium.launch({
  executablePath: process.env.SBC_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
let failed = false;
let page = null;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const text = m.text();
    const where = m.location().url || "";
    const ok = expectedHttp.some(([status, path]) =>
      text.includes(`status of ${status}`) && new URL(where, url).pathname === path);
    if (!ok) problems.push(`console error: ${text} (${where})`);
  });
  const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

  // ---- login
  await page.goto(url);
  await page.getByLabel("User name").waitFor();
  check(await page.getByRole("button", { name: "Log in" }).isVisible(), "login form shown when logged out");
  await shot("01-login");
  await page.getByLabel("User name").fill(env("SBC_UI_USER"));
  await page.getByLabel("Password").fill("wrong-password-1");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("Wrong user name or password.").waitFor();
  log("ok: a wrong password is refused with a message");
  problems.splice(0); // the 401 of the bad login above is the point of that step
  await page.getByLabel("Password").fill(env("SBC_UI_PASSWORD"));
  await page.getByLabel("Password").press("Enter"); // keyboard submit
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  check(page.url().endsWith("#/dashboard"), "logged in, on the dashboard");
  const usage = page.getByRole("row").filter({ has: page.getByRole("link", { name: "carrier-x" }) });
  await usage.waitFor();
  const usageText = await usage.textContent();
  check(usageText.includes("3/10") && usageText.includes("1 down") && usageText.includes("1 up"),
    "dashboard: active calls per trunk with limit use and gateways down");
  await page.locator(".nodes").getByText("node-b").waitFor();
  check(true, "dashboard: a node that does not answer is named");
  await shot("02-dashboard");

  // ---- trunks: empty list, then create through the form
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Trunks" }).click();
  await page.getByText("No trunks yet").waitFor();
  check(true, "trunk list shows its empty state");
  await page.getByRole("link", { name: "New trunk" }).click();
  await page.getByRole("heading", { name: "New trunk" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("bad name!");
  await page.getByLabel("Max calls").fill("40");
  await page.locator("#f-gateways-0-host").fill("198.51.100.7");
  await shot("03-trunk-form");
  await page.getByRole("button", { name: "Create trunk" }).click();
  const nameError = page.locator("#f-name-error");
  await nameError.waitFor();
  check((await page.locator("#f-name").getAttribute("aria-invalid")) === "true",
    `server's field error shown inline on name: "${await nameError.textContent()}"`);
  check(await page.locator("#f-name").evaluate((el) => el === document.activeElement),
    "the invalid field gets the focus");
  await shot("04-trunk-field-error");

  await page.getByLabel("Name", { exact: true }).fill("carrier-a");
  await page.locator("#f-gateways-0-port").fill("70000");
  await page.getByRole("button", { name: "Create trunk" }).click();
  await page.locator("#f-gateways-0-port-error").waitFor();
  check(await page.locator("#f-name-error").count() === 0, "a nested gateway field error replaces the previous one");
  await page.locator("#f-gateways-0-port").fill("5061");
  await page.locator("#f-gateways-0-transport").selectOption("tcp");
  await page.getByRole("button", { name: "Add gateway" }).click();
  await page.locator("#f-gateways-1-host").fill("198.51.100.8");
  await page.getByRole("button", { name: "Create trunk" }).click();
  await page.getByRole("heading", { name: "Trunks" }).waitFor();
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "carrier-a" }) });
  await row.waitFor();
  const rowText = await row.textContent();
  check(rowText.includes("198.51.100.7:5061/tcp") && rowText.includes("198.51.100.8:5060/udp") &&
    rowText.includes("40"), "created trunk listed with its gateways and limit");
  await shot("05-trunk-list");

  // ---- edit (PATCH with the version) 
  await page.getByRole("link", { name: "carrier-a" }).click();
  await page.getByRole("heading", { name: "Trunk carrier-a" }).waitFor();
  check((await page.getByLabel("Max calls").inputValue()) === "40", "edit form loads the stored values");
  await page.getByLabel("Max calls").fill("60");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("heading", { name: "Trunks" }).waitFor();
  await page.getByRole("row").filter({ hasText: "carrier-a" }).filter({ hasText: "60" }).waitFor();
  check(true, "edited trunk shows the new limit");

  // a PBX trunk for the DIDs (keyboard only: type, tab, select)
  await page.getByRole("link", { name: "New trunk" }).click();
  await page.getByLabel("Name", { exact: true }).fill("pbx-a");
  await page.getByLabel("Kind").selectOption("pbx");
  await page.getByLabel("Realm").selectOption("inside");
  await page.locator("#f-gateways-0-host").fill("10.0.0.5");
  await page.locator("#f-gateways-0-host").press("Enter");
  await page.getByRole("link", { name: "pbx-a" }).waitFor();
  check(true, "PBX trunk created, submitted with Enter");

  // ---- DIDs
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "DIDs" }).click();
  await page.getByText("No DIDs yet.").waitFor();
  await page.getByLabel("Number (E.164)").fill("12345");
  await page.getByRole("button", { name: "Add DID" }).click();
  await page.locator("#f-number-error").waitFor();
  check(true, "a bad DID number gets an inline field error");
  await page.getByLabel("Number (E.164)").fill("+442071234567");
  check(await page.getByLabel("PBX trunk").locator("option", { hasText: "carrier-a" }).count() === 0,
    "only PBX trunks are offered for a DID");
  await page.getByLabel("PBX trunk").selectOption({ label: "pbx-a" });
  await page.getByRole("button", { name: "Add DID" }).click();
  const didRow = page.getByRole("row").filter({ hasText: "+442071234567" });
  await didRow.waitFor();
  check((await didRow.textContent()).includes("pbx-a"), "DID created and listed with its trunk");
  await shot("06-dids");

  // ---- live calls (polled every second; no node here)
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Live calls" }).click();
  const call = page.getByRole("row").filter({ hasText: "+15551230001" });
  await call.waitFor();
  const before = await call.textContent();
  await page.waitForTimeout(2500); // the fake node's call ages: a poll must show it
  const after = await call.textContent();
  check(before.includes("carrier-x") && before !== after, `live calls poll every second (${before} -> ${after})`);
  await shot("07-live-calls");

  // ---- phone width: the navigation collapses behind a menu button
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Trunks" }).click();
  await page.getByRole("link", { name: "carrier-a" }).waitFor();
  check(true, "phone layout: menu opens the navigation");
  await shot("08-phone-trunks");
  await page.setViewportSize({ width: 1280, height: 800 });

  // ---- logout: back to the login form, and a reload stays logged out
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByLabel("User name").waitFor();
  await page.reload();
  await page.getByLabel("User name").waitFor();
  check(true, "logged out, and a reload does not bring the session back");

  check(problems.length === 0, "no console errors, page errors or CSP violations:\n  " + problems.join("\n  "));
} catch (e) {
  failed = true;
  console.error("[ui] FAIL:", e.message);
  if (page) {
    const banners = await page.locator(".banner, .field-error").allTextContents().catch(() => []);
    if (banners.length) console.error("[ui] messages on the page:", banners.join(" | "));
    await page.screenshot({ path: join(artifacts, "failure.png"), fullPage: true }).catch(() => {});
  }
  if (problems.length) console.error("[ui] page problems:\n  " + problems.join("\n  "));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
