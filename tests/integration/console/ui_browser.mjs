// Drives the console UI in Debian's Chromium (headless) through
// playwright-core from admin-ui/web/node_modules; started by
// ui_console_test.py, which owns the server and the database.
// Any console error, uncaught exception or CSP violation fails the run,
// except the HTTP errors the scenario provokes on purpose.
import { join } from "node:path";
import {
  artifactsDir, collectPageErrors, env, launchBrowser, logger, newPage, runScenario, screenshotter,
} from "./browser_common.mjs";

const url = env("SBC_UI_URL");
const artifacts = artifactsDir();

const problems = [];
// [status, path suffix] pairs the scenario causes deliberately.
const expectedHttp = [
  [422, "/api/v1/trunks"],
  [422, "/api/v1/dids"],
  [422, "/api/v1/routes"], // routes page: a weight the server refuses
  [409, "/api/v1/users/1"], // users page: demoting the last admin (create-admin made id 1)
  [422, "/api/v1/ported-numbers/import"], // a CSV with a bad line, refused
];
const { log, check } = logger("[ui]");

const browser = await launchBrowser();
let page = null;
await runScenario({ browser, tag: "[ui]", problems, failurePage: () => page,
  failureShot: join(artifacts, "failure.png") }, async () => {
  ({ page } = await newPage(browser));
  collectPageErrors(page, problems, { baseUrl: url, expectedHttp });
  const shot = screenshotter(page, artifacts);

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

  // ---- routes: the prefix table and the tester (uia)
  const nav = (name) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
  await nav("Routes");
  await page.getByRole("heading", { name: "Routes", exact: true }).waitFor();
  await page.getByText("No routes yet").waitFor();
  check(true, "routes: empty state");
  await page.getByLabel("Prefix", { exact: true }).fill("4420");
  await page.getByLabel("Carrier trunk").selectOption({ label: "carrier-a" });
  check(await page.getByLabel("Carrier trunk").locator("option", { hasText: "pbx-a" }).count() === 0,
    "routes: only carrier trunks are offered");
  await page.getByLabel("Weight").fill("0");
  await page.getByRole("button", { name: "Add route" }).click();
  await page.locator("#f-weight-error").waitFor();
  check(true, "routes: the server's 422 shown on the weight field");
  await page.getByLabel("Weight").fill("100");
  await page.getByRole("button", { name: "Add route" }).click();
  const routeRow = page.getByRole("row").filter({ hasText: "4420" });
  await routeRow.waitFor();
  check((await routeRow.textContent()).includes("carrier-a"), "routes: created and listed");
  await page.getByRole("button", { name: "Edit route 4420 to carrier-a" }).click();
  await page.getByLabel("Priority").fill("5");
  await page.getByRole("button", { name: "Save route" }).click();
  await page.getByText("Route 4420 saved.").waitFor();
  await routeRow.locator("td").nth(2).filter({ hasText: /^5$/ }).waitFor();
  check(true, "routes: edited in place, no reload");
  await page.getByLabel("Call from trunk").selectOption("pbx-a");
  await page.getByLabel("Dialled number").fill("+44 20 7123 4567");
  await page.getByLabel("Dialled number").press("Enter");
  const tried = page.getByRole("table").filter({ has: page.getByText("The SBC would try, in this order") });
  await tried.waitFor();
  const triedText = await tried.textContent();
  check((await page.locator(".tester-result").textContent()).includes("+442071234567") &&
    triedText.includes("198.51.100.7:5061/tcp") && triedText.includes("down"),
    "routes: the tester shows the normalised number and the gateways in order");
  await shot("20-routes");

  // ---- CDRs: the last 24 h by default, a ladder link per call, CSV export
  await nav("CDRs");
  const cdrRow = page.getByRole("row").filter({ hasText: "+15551230009" });
  await cdrRow.waitFor();
  const cdrText = await cdrRow.textContent();
  check(cdrText.includes("carrier-x") && cdrText.includes("200 OK") && cdrText.includes("2:00") &&
    cdrText.includes("6000 pkts"), "cdrs: a call with both legs, code, duration and media");
  check((await cdrRow.getByRole("link").getAttribute("href")) === "#/calls/a-call-1%40test/trace",
    "cdrs: the row links to the call's ladder");
  const csvHref = await page.getByRole("link", { name: "Export CSV" }).getAttribute("href");
  const csv = await page.evaluate(async (h) => (await fetch(h)).text(), csvHref);
  check(csvHref.includes("from=") && csv.includes("+15551230009"), "cdrs: CSV export with the same filters");
  await shot("21-cdrs");
  await page.getByLabel("Number").fill("+19999999999");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("No calls in this range with these filters.").waitFor();
  check(true, "cdrs: empty state for a filter with no match");

  // ---- users and API tokens
  await nav("Users");
  await page.getByRole("heading", { name: "Users and API tokens" }).waitFor();
  await page.getByLabel("User name").fill("uia-op");
  await page.getByLabel("Role", { exact: true }).selectOption("operator");
  await page.getByLabel("Password", { exact: true }).fill("operator-password-1");
  await page.getByRole("button", { name: "Add user" }).click();
  await page.getByRole("row").filter({ hasText: "uia-op" }).waitFor();
  check(true, "users: created and listed");
  await page.getByRole("button", { name: "Edit user " + env("SBC_UI_USER") }).click();
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Save user" }).click();
  await page.getByText("last enabled admin").waitFor();
  check(true, "users: demoting the last admin is refused with the server's reason");
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByLabel("Token name").fill("ci-bot");
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = (await page.locator("#new-token").textContent()).trim();
  check(secret.length >= 40, "tokens: the new token is shown once");
  await page.getByRole("row").filter({ hasText: "ci-bot" }).waitFor();
  await shot("22-users");
  await page.getByRole("button", { name: "Done" }).click();
  check(await page.locator("#new-token").count() === 0, "tokens: the secret is gone once dismissed");
  await page.getByRole("row").filter({ hasText: "ci-bot" }).getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("group", { name: "Revoke ci-bot?" }).getByRole("button", { name: "Revoke" }).click();
  await page.getByText("No API tokens.").waitFor();
  check(true, "tokens: revoked (and hidden from the active list)");

  // ---- audit log: the route edit with its diff
  await nav("Audit log");
  await page.getByLabel("Resource", { exact: true }).selectOption("route");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForFunction(() => {
    const li = [...document.querySelectorAll(".audit-list li")];
    return li.length === 2 && li.every((x) => x.textContent.includes("(4420)"));
  });
  check(true, "audit: filtered to the route's create and update");
  const upd = page.locator(".audit-list li").filter({ hasText: "update" }).first();
  await upd.locator("summary").click();
  const changed = upd.locator("tr.changed").filter({ hasText: "priority" });
  await changed.waitFor();
  const diffText = await changed.textContent();
  check(diffText.includes("10") && diffText.includes("5"), `audit: the diff marks priority 10 -> 5 (${diffText})`);
  check(await upd.locator("tr").filter({ hasText: "prefix" }).count() === 0, "audit: unchanged fields hidden");
  await shot("23-audit");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("button", { name: "Menu" }).click();
  await nav("Routes");
  await page.getByRole("heading", { name: "Which trunk would this number take?" }).waitFor();
  await page.getByRole("row").filter({ hasText: "4420" }).waitFor();
  await page.waitForFunction(() => document.getElementById("f-trunk")?.value === "pbx-a");
  check(true, "routes: the tester starts on a PBX trunk");
  await shot("24-phone-routes");
  await page.setViewportSize({ width: 1280, height: 800 });

  // ---- phone width: the navigation collapses behind a menu button
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Trunks" }).click();
  await page.getByRole("link", { name: "carrier-a" }).waitFor();
  check(true, "phone layout: menu opens the navigation");
  await shot("08-phone-trunks");
  await page.setViewportSize({ width: 1280, height: 800 });

  // ---- dashboard history (uib): charts of the last hour from the console's sampler
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  // The sampler ticks every 10 s; the charts need two samples.
  await page.locator(".chart-box canvas").first().waitFor({ timeout: 30000 });
  check(await page.locator("figure.chart").count() === 2, "dashboard: active calls and call rate charts drawn");
  await page.locator("#card-calls .big").filter({ hasText: /^1$/ }).waitFor({ timeout: 15000 });
  check(true, "dashboard: active calls counts calls (1), not the per-trunk sum (3)");
  check(await page.evaluate(() => (document.querySelector("link[rel=icon]") || {}).href?.startsWith("data:image/svg+xml")),
    "the page carries its icon inline (no /favicon.ico request, no 404)");
  await shot("10-dashboard-charts");

  // ---- port orders (uib): a port-in from draft to completed by the FOC scheduler
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Port orders" }).click();
  await page.getByText("No port orders yet.").waitFor();
  await page.getByRole("link", { name: "New port order" }).click();
  await page.getByRole("heading", { name: "New port order" }).waitFor();
  await page.getByRole("button", { name: "Create draft order" }).click();
  await page.locator("#f-numbers_text-error").waitFor();
  check(true, "port order: no numbers is caught before sending");
  await page.getByLabel("Numbers (one per line").fill("+44 20 7123 0001\n+442071230002");
  await page.getByLabel("PBX trunk receiving the numbers").selectOption({ label: "pbx-a" });
  await page.getByLabel("Losing carrier").fill("Old Telco");
  await page.getByLabel("Gaining carrier").fill("Us");
  await page.getByLabel("Account name").fill("ACME Ltd");
  await shot("11-port-order-new");
  await page.getByRole("button", { name: "Create draft order" }).click();
  await page.getByRole("heading", { name: /^Port order #\d+$/ }).waitFor();
  const orderUrl = page.url();
  await page.locator(".tag.status-draft").waitFor();
  await page.getByRole("group", { name: "Next steps" }).getByRole("button", { name: "Submit" }).click();
  await page.getByRole("form", { name: "Submit" }).getByRole("button", { name: "Submit" }).click();
  await page.locator(".tag.status-submitted").waitFor();
  await page.getByRole("button", { name: "Confirm FOC" }).click();
  const pad = (n) => String(n).padStart(2, "0");
  const past = new Date(Date.now() - 120000);
  const local = `${past.getFullYear()}-${pad(past.getMonth() + 1)}-${pad(past.getDate())}T${pad(past.getHours())}:${pad(past.getMinutes())}`;
  await page.getByLabel("Confirmed FOC").fill(local);
  await page.getByRole("form", { name: "Confirm FOC" }).getByRole("button", { name: "Confirm FOC" }).click();
  await page.locator(".tag.status-foc_confirmed").waitFor();
  check(await page.getByRole("button", { name: "Complete now" }).isVisible(), "FOC confirmed: complete, reject, cancel offered");
  // The FOC time has passed: the console's scheduler completes it; the page follows.
  await page.locator(".tag.status-completed").waitFor({ timeout: 25000 });
  const timeline = await page.locator(".timeline li").allTextContents();
  check(timeline.length >= 3 && timeline[timeline.length - 1].includes("Completed"),
    `order page: timeline ends with its completion (${timeline.length} events)`);
  check(await page.getByRole("group", { name: "Next steps" }).count() === 0, "a completed order offers no transition");
  await shot("12-port-order-completed");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "DIDs" }).click();
  for (const n of ["+442071230001", "+442071230002"]) {
    // The trunk's name replaces its id once the trunk list has loaded too.
    const r = page.getByRole("row").filter({ hasText: n }).filter({ hasText: "pbx-a" });
    await r.waitFor();
    const t = await r.textContent();
    check(t.includes("active") && t.includes("pbx-a"), `ported-in ${n} is an active DID on pbx-a`);
  }
  // A second order from a CSV file, rejected (the reason is asked for).
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Port orders" }).click();
  await page.getByRole("link", { name: "New port order" }).click();
  await page.locator("#f-numbers_file").setInputFiles({ name: "numbers.csv", mimeType: "text/csv",
    buffer: Buffer.from("number\n+442071230009\n") });
  await page.getByText("numbers.csv: 1 data lines").waitFor();
  await page.getByLabel("PBX trunk receiving the numbers").selectOption({ label: "pbx-a" });
  await page.getByRole("button", { name: "Create draft order" }).click();
  await page.locator(".tag.status-draft").waitFor();
  check(page.url() !== orderUrl, "port order created from a CSV file");
  await page.getByRole("button", { name: "Submit" }).click();
  await page.getByRole("form", { name: "Submit" }).getByRole("button", { name: "Submit" }).click();
  await page.locator(".tag.status-submitted").waitFor();
  await page.getByRole("button", { name: "Reject" }).click();
  await page.getByRole("form", { name: "Reject" }).getByRole("button", { name: "Reject" }).click();
  await page.locator("#f-reason-error").waitFor();
  check(true, "rejecting asks for a reason");
  await page.getByLabel("Reason for the rejection").fill("account number does not match");
  await page.getByRole("form", { name: "Reject" }).getByRole("button", { name: "Reject" }).click();
  await page.locator(".tag.status-rejected").waitFor();
  await page.getByText("account number does not match").first().waitFor();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Port orders" }).click();
  const completedCol = page.getByRole("region", { name: /^Completed/ });
  await completedCol.getByRole("link").first().waitFor();
  check(await page.getByRole("region", { name: /^Rejected/ }).getByRole("link").count() === 1,
    "board: one order completed, one rejected, by status");
  await shot("13-port-order-board");

  // ---- ported numbers (uib): CSV import with a bad line, refused then skipped
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Ported numbers" }).click();
  await page.getByText("No ported numbers yet.").waitFor();
  const lnp = "number,routing_number\n+14155550001,+14155559999\n4155550002,+14155559999\n+14155550003,+14155559999\n";
  await page.locator("#ported-file").setInputFiles({ name: "lnp.csv", mimeType: "text/csv", buffer: Buffer.from(lnp) });
  await page.getByRole("button", { name: "Import" }).click();
  const badRow = page.getByRole("row").filter({ hasText: "4155550002" });
  await badRow.waitFor();
  check(await page.getByText("Nothing was imported").count() === 1, "a file with a bad line imports nothing, says so");
  check((await badRow.locator("td").first().textContent()).trim() === "3", "the bad line is reported with its line number (3) and value");
  await shot("14-ported-import-refused");
  await page.getByLabel("Skip bad rows").check();
  await page.getByRole("button", { name: "Import" }).click();
  await page.getByText(/Imported 2 of 3 rows/).waitFor();
  await page.getByRole("cell", { name: "+14155550003" }).waitFor();
  check(await page.getByRole("cell", { name: "+14155550001" }).count() === 1, "skip bad rows: the good ones imported and listed");
  await page.getByLabel("Number or prefix").fill("+1415555000");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("2 numbers starting +1415555000").waitFor();
  await shot("15-ported-numbers");

  // ---- trunk form (uib): ACL, header policy, credentials; client and server validation
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Trunks" }).click();
  await page.getByRole("link", { name: "carrier-a" }).click();
  await page.getByRole("heading", { name: "Trunk carrier-a" }).waitFor();
  const trunkPath = "/api/v1/trunks/" + page.url().split("/").pop();
  expectedHttp.push([422, trunkPath]);
  await page.getByRole("button", { name: "Add ACL entry" }).click();
  await page.locator("#f-acl-0-cidr").fill("192.0.2.300/24");
  await page.getByLabel("Headers to strip").fill("X-Internal-Id, P-Charging-Vector");
  await page.getByLabel("P-Asserted-Identity").selectOption("trusted");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.locator("#f-acl-0-cidr-error").waitFor();
  check(await page.locator("#f-acl-0-cidr").evaluate((el) => el === document.activeElement), "a bad CIDR is caught inline, focused");
  await page.locator("#f-acl-0-cidr").fill("192.0.2.1/24"); // host bits set: only the database knows
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.locator("#f-acl-error").waitFor();
  check(true, `the server's 422 on the ACL is shown next to it: "${await page.locator("#f-acl-error").textContent()}"`);
  await page.locator("#f-acl-0-cidr").fill("192.0.2.0/24");
  await page.getByLabel("Outbound credentials", { exact: true }).check();
  await page.getByLabel("Outbound credentials: user name").fill("acme");
  await page.getByLabel("Outbound credentials: set password").fill("s3cret-pass");
  await shot("16-trunk-form-full");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("heading", { name: "Trunks" }).waitFor();
  await page.getByRole("link", { name: "carrier-a" }).click();
  await page.getByRole("heading", { name: "Trunk carrier-a" }).waitFor();
  check(await page.locator("#f-acl-0-cidr").inputValue() === "192.0.2.0/24", "ACL saved");
  check(await page.getByLabel("Headers to strip").inputValue() === "X-Internal-Id, P-Charging-Vector" &&
    await page.getByLabel("P-Asserted-Identity").inputValue() === "trusted", "header policy saved");
  check(await page.getByLabel("Outbound credentials: replace password").inputValue() === "",
    "the stored password is never shown, only offered for replacement");

  // ---- SIP ladder (trace): from the CDR row's link; ui_console_test.py seeds 4 messages
  await nav("CDRs");
  await page.getByRole("link", { name: /SIP ladder of the call/ }).first().click();
  await page.getByRole("heading", { name: "SIP trace" }).waitFor();
  await page.locator("svg.ladder g.ladder-msg").first().waitFor();
  const arrows = page.locator("svg.ladder g.ladder-msg");
  check(await arrows.count() === 4, "ladder: one arrow per traced message");
  const svgText = await page.locator("svg.ladder").textContent();
  check(svgText.includes("180 Ringing (INVITE)") && svgText.includes("198.51.100.9:5060") &&
    svgText.includes("+0.040 s"), "ladder: parties, status/method labels and time offsets");
  await arrows.nth(1).click();
  await page.locator("pre.sip-message").waitFor();
  check((await page.locator("pre.sip-message").textContent()).includes("Call-ID: b-call-1"),
    "ladder: a click on an arrow shows the whole message");
  await arrows.nth(2).focus();
  await page.keyboard.press("Enter");
  await page.locator("pre.sip-message", { hasText: "SIP/2.0 180 Ringing" }).waitFor();
  check(true, "ladder: arrows work from the keyboard");
  await shot("25-ladder");

  // ---- logout: back to the login form, and a reload stays logged out
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByLabel("User name").waitFor();
  await page.reload();
  await page.getByLabel("User name").waitFor();
  check(true, "logged out, and a reload does not bring the session back");

  check(problems.length === 0, "no console errors, page errors or CSP violations:\n  " + problems.join("\n  "));
});
