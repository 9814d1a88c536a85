// Two operators in two Chromium contexts (separate cookies, separate event
// streams): B changes a trunk, a DID, a route and a user; A's open pages show
// each change within 2 s without a reload, and A's open trunk form says it
// was changed elsewhere instead of dropping what A typed. Started by
// console_events_test.py (it owns the server and the database). Any console
// error in A (the pre-login session probe included) fails the run.
import { join } from "node:path";
import {
  artifactsDir, collectPageErrors, env, launchBrowser, logger, login, newPage, runScenario, screenshotter,
} from "./browser_common.mjs";

const url = env("SBC_UI_URL");
const artifacts = artifactsDir();
const SHOW_WITHIN = 2000;

const { check } = logger("[refresh]");

const browser = await launchBrowser();
const problems = [];
let pageA = null;

async function loggedIn(name) {
  const { page } = await newPage(browser);
  collectPageErrors(page, problems, { baseUrl: url, prefix: `${name} ` });
  await login(page, url, env("SBC_UI_USER"), env("SBC_UI_PASSWORD"));
  return page;
}

// B's writes go through B's own session, as its pages' would.
async function api(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const s = await (await fetch("/api/v1/session")).json();
    const h = { "Content-Type": "application/json", "X-CSRF-Token": s.csrf_token };
    const r = await fetch(path, { method, headers: h, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, data: await r.json().catch(() => null) };
  }, [method, path, body]);
}

async function go(page, hash, heading) {
  await page.evaluate((h) => { window.location.hash = h; }, hash);
  await page.getByRole("heading", { name: heading, exact: true }).waitFor();
  await page.waitForFunction(() => document.documentElement.dataset.events === "open");
}

async function shows(locator, what) {
  const t0 = Date.now();
  await locator.first().waitFor({ timeout: SHOW_WITHIN });
  check(true, `${what} (${Date.now() - t0} ms, no reload)`);
}

await runScenario({ browser, tag: "[refresh]", problems, failurePage: () => pageA,
  failureShot: join(artifacts, "refresh-failure.png") }, async () => {
  pageA = await loggedIn("A");
  const shotA = screenshotter(pageA, artifacts, "refresh-");
  const pageB = await loggedIn("B");
  // Gone if A's document is ever reloaded.
  await pageA.evaluate(() => { window.__sameDocument = true; });

  // ---- trunks list
  await go(pageA, "#/trunks", "Trunks");
  let r = await api(pageB, "POST", "/api/v1/trunks", {
    name: "pbx-from-b", kind: "pbx", realm: "inside",
    gateways: [{ host: "192.0.2.10", port: 5060, transport: "udp" }] });
  check(r.status === 201, "B creates a PBX trunk");
  const pbx = r.data;
  await shows(pageA.getByRole("link", { name: "pbx-from-b" }), "A's trunk list shows B's new trunk");
  r = await api(pageB, "POST", "/api/v1/trunks", {
    name: "carrier-from-b", kind: "carrier", realm: "outside",
    gateways: [{ host: "192.0.2.20", port: 5060, transport: "udp" }] });
  check(r.status === 201, "B creates a carrier trunk");
  const carrier = r.data;
  await shows(pageA.getByRole("link", { name: "carrier-from-b" }), "A's trunk list shows the second one");
  await shotA("01-trunks");

  // ---- an open trunk form: B edits the same trunk
  await pageA.getByRole("link", { name: "pbx-from-b" }).click();
  await pageA.getByRole("heading", { name: "Trunk pbx-from-b" }).waitFor();
  await pageA.locator("#f-description").fill("typed by A");
  r = await api(pageB, "PATCH", `/api/v1/trunks/${pbx.id}`, { description: "edited by B", version: pbx.version });
  check(r.status === 200, "B edits that trunk");
  await shows(pageA.getByText("was changed elsewhere"), "A's open trunk form says it changed elsewhere");
  check((await pageA.locator("#f-description").inputValue()) === "typed by A",
    "what A typed is kept until A asks to reload");
  await shotA("02-trunk-stale");
  await pageA.getByRole("button", { name: "Reload it" }).click();
  check((await pageA.locator("#f-description").inputValue()) === "edited by B", "Reload shows B's version");

  // ---- DIDs
  await go(pageA, "#/dids", "DIDs");
  r = await api(pageB, "POST", "/api/v1/dids", { number: "+14155550177", trunk_id: pbx.id });
  check(r.status === 201, "B adds a DID");
  await shows(pageA.getByRole("cell", { name: "+14155550177" }), "A's DID list shows B's DID");

  // ---- routes
  await go(pageA, "#/routes", "Routes");
  r = await api(pageB, "POST", "/api/v1/routes", { prefix: "3361", trunk_id: carrier.id, description: "from-b" });
  check(r.status === 201, "B adds a route");
  await shows(pageA.getByRole("cell", { name: "from-b", exact: true }), "A's route table shows B's route");

  // ---- users
  await go(pageA, "#/users", "Users and API tokens");
  r = await api(pageB, "POST", "/api/v1/users", { username: "olga-from-b", role: "operator", password: "olga-password-1" });
  check(r.status === 201, "B adds a user");
  await shows(pageA.getByRole("cell", { name: "olga-from-b" }), "A's user list shows B's user");
  await shotA("03-users");

  check(await pageA.evaluate(() => window.__sameDocument === true), "A never reloaded the page");
  check(problems.length === 0, "no console errors in either browser" + (problems.length ? `: ${problems.join("; ")}` : ""));
});
