// A real call through the console, in Debian's Chromium (headless) driven by
// playwright-core from admin-ui/web/node_modules; started by
// e2e_call_test.py, which owns the sbc, the console, the database and SIPp.
// Prints "[e2e] READY" on the Live calls page: the test then places the call.
// Any console error, uncaught exception or CSP violation fails the run,
// except the one HTTP error the scenario provokes on purpose (a refused CSV).
import { join } from "node:path";
import {
  artifactsDir, collectPageErrors, env, launchBrowser, logger, login, newPage, runScenario, screenshotter,
} from "./browser_common.mjs";

const url = env("SBC_UI_URL");
const artifacts = artifactsDir();
const caller = env("SBC_E2E_CALLER");
const callee = env("SBC_E2E_CALLEE");
const inTrunk = env("SBC_E2E_IN_TRUNK");
const outTrunk = env("SBC_E2E_OUT_TRUNK");

const problems = [];
// [status, path] pairs the scenario causes deliberately.
const expectedHttp = [[422, "/api/v1/ported-numbers/import"]];

const { log, check } = logger("[e2e]");

// A ported-numbers CSV of `rows` rows; `bad` maps a data row index to a bad
// number. Line 1 is the header, so data row i is on line i + 2.
function portedCsv(rows, base, bad = {}) {
  const lines = ["number,routing_number"];
  for (let i = 0; i < rows; i++) lines.push(`${bad[i] ?? "+" + (base + i)},+${base + 999999}`);
  return Buffer.from(lines.join("\n") + "\n");
}

const browser = await launchBrowser();
let page = null;
await runScenario({ browser, tag: "[e2e]", problems, failurePage: () => page,
  failureShot: join(artifacts, "e2e-failure.png") }, async () => {
  let context;
  ({ context, page } = await newPage(browser));
  collectPageErrors(page, problems, { baseUrl: url, expectedHttp });
  const shot = screenshotter(page, artifacts, "e2e-");
  const nav = (name) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();

  // ---- log in, open Live calls: the real node answers, no call yet
  await page.goto(url);
  await page.getByLabel("User name").waitFor();
  // Logged out, the app probes GET /api/v1/session?probe=1, answered 200
  // {authenticated:false} (a 401 would be logged by Chromium as an error).
  await page.waitForLoadState("networkidle");
  check(problems.length === 0, `logged out: no console error on the login page (${problems.join("; ")})`);
  await shot("00-login");
  await login(page, null, env("SBC_UI_USER"), env("SBC_UI_PASSWORD"));
  check(true, "logged in");
  await shot("01-dashboard");
  await nav("Live calls");
  await page.getByRole("heading", { name: "Live calls" }).waitFor();
  await page.getByText("No calls in progress.").waitFor();
  check(await page.locator(".nodes .tag.bad").count() === 0, "live calls: the sbc node answers, no call in progress");
  await shot("02-live-calls-empty");
  log("READY");

  // ---- the SIPp call appears (the test starts it now) with its numbers and trunks
  const row = page.getByRole("row").filter({ hasText: caller }).filter({ hasText: callee });
  await row.waitFor({ timeout: 20000 });
  const cells = await row.locator("td").allTextContents();
  log("live call row:", cells.join(" | "));
  check(cells[0].includes(caller) && cells[1].includes(callee), `live calls: from ${caller} to ${callee}`);
  check(cells[3].includes(inTrunk) && cells[3].includes(outTrunk), `live calls: trunks ${inTrunk} → ${outTrunk}`);
  check(cells[7].includes("Trace (on)"), "live calls: the call is traced (the carrier trunk's sip_trace)");
  await row.locator("td").nth(4).filter({ hasText: "confirmed" }).waitFor();
  // Polled every second: the duration goes up while the call is held.
  const seconds = async () => {
    const m = (await row.locator("td").nth(5).textContent()).trim().match(/^(\d+):(\d\d)$/);
    return m ? Number(m[1]) * 60 + Number(m[2]) : -1;
  };
  const first = await seconds();
  const upDeadline = Date.now() + 10000;
  while ((await seconds()) < first + 2 && Date.now() < upDeadline) await page.waitForTimeout(250);
  const later = await seconds();
  check(first >= 0 && later >= first + 2, `live calls: the call is answered and its duration counts up (${first} s -> ${later} s)`);
  await shot("03-live-call");

  // ---- SIPp hangs up after 15 s: the row goes
  await row.waitFor({ state: "detached", timeout: 30000 });
  await page.getByText("No calls in progress.").waitFor();
  check(true, "live calls: the call is gone after the BYE");
  await shot("04-live-calls-after");

  // ---- its CDR, searched by the dialled number (written in batches: search again until it is there)
  await nav("CDRs");
  await page.getByRole("heading", { name: "Call records" }).waitFor();
  await page.getByLabel("Number").fill(callee);
  const cdr = page.getByRole("row").filter({ hasText: callee }).filter({ hasText: inTrunk });
  for (let i = 0; ; i++) {
    await page.getByRole("button", { name: "Search" }).click();
    try {
      await cdr.waitFor({ timeout: 1000 });
      break;
    } catch (e) {
      if (i >= 29) throw new Error("no CDR for " + callee + " after 30 searches");
    }
  }
  check(await page.getByRole("row").count() === 2, "cdrs: exactly one call for the dialled number");
  const cdrCells = await cdr.locator("td").allTextContents();
  log("cdr row:", cdrCells.join(" | "));
  check(cdrCells[1].includes(caller) && cdrCells[1].includes(callee), "cdrs: caller and callee as the PBX sent them");
  check(cdrCells[3].includes(inTrunk) && cdrCells[3].includes(outTrunk), "cdrs: both trunks");
  check(/^0:1[4-6]$/.test(cdrCells[4].trim()), `cdrs: duration about 15 s (${cdrCells[4].trim()})`);
  check(cdrCells[5].includes("200 OK") && cdrCells[5].includes("by caller"), "cdrs: 200 OK, ended by the caller");
  const ladderLink = cdr.getByRole("link", { name: /SIP ladder of the call/ });
  const href = await ladderLink.getAttribute("href");
  check(href.startsWith("#/calls/pbx-secret-") && href.endsWith("/trace"), `cdrs: the row links to the A leg's ladder (${href})`);
  await shot("05-cdr");

  // ---- the ladder: INVITE/180/200/ACK/BYE on both legs (the carrier trunk traces the call)
  await ladderLink.click();
  await page.getByRole("heading", { name: "SIP trace" }).waitFor();
  const arrows = page.locator("svg.ladder g.ladder-msg");
  const want = [/^INVITE/, /^180 .*\(INVITE\)$/, /^200 .*\(INVITE\)$/, /^ACK$/, /^BYE$/, /^200 .*\(BYE\)$/];
  const legLabels = async (leg) => (await arrows.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label"))))
    .map((l) => l.match(/^(.*), leg (a|b), (received|sent) /)).filter((m) => m && m[2] === leg).map((m) => m[1]);
  const complete = async () => {
    for (const leg of ["a", "b"]) {
      const got = await legLabels(leg);
      let at = 0;
      for (const w of want) {
        at = got.findIndex((l, i) => i >= at && w.test(l));
        if (at < 0) return false;
        at++;
      }
    }
    return true;
  };
  // The trace writer batches too: the page polls every 3 s.
  const traceDeadline = Date.now() + 20000;
  while (!(await complete())) {
    if (Date.now() > traceDeadline) {
      throw new Error(`ladder incomplete: a ${JSON.stringify(await legLabels("a"))}, b ${JSON.stringify(await legLabels("b"))}`);
    }
    await page.waitForTimeout(500);
  }
  check(true, `ladder: INVITE, 180, 200, ACK, BYE, 200 in order on leg a (${(await legLabels("a")).join(", ")})`);
  check(true, `ladder: the same on leg b (${(await legLabels("b")).join(", ")})`);
  const svgText = await page.locator("svg.ladder").textContent();
  check(svgText.includes("127.0.0.2") && svgText.includes("127.0.0.3"), "ladder: the PBX and the carrier are its parties");
  await shot("06-ladder");
  const byeB = arrows.filter({ has: page.locator("text.ladder-label", { hasText: /^BYE$/ }) });
  const byeIndex = (await arrows.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label"))))
    .findIndex((l) => /^BYE, leg b, sent /.test(l));
  check(byeIndex >= 0 && (await byeB.count()) >= 2, "ladder: a BYE on each leg");
  await arrows.nth(byeIndex).click();
  const detail = page.locator("pre.sip-message");
  await detail.waitFor();
  const text = await detail.textContent();
  check(/^BYE sip:/.test(text) && /\nCall-ID: /i.test(text) && text.includes("127.0.0.3") && !text.includes("pbx-secret"),
    "ladder: a click on the B leg's BYE shows its text (to the carrier, nothing of the PBX)");
  await shot("07-ladder-message");

  // ---- ported numbers: a few thousand rows, progress bar up to 100 %
  await nav("Ported numbers");
  await page.getByRole("heading", { name: "Ported numbers" }).waitFor();
  // Throttle uploads so that the bar has time to show intermediate values.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 64 * 1024 });
  const rows = 4000;
  const good = portedCsv(rows, 14150000000);
  await page.locator("#ported-file").setInputFiles({ name: "lnp-good.csv", mimeType: "text/csv", buffer: good });
  // Record every state of the progress bar (it lives only while uploading).
  await page.evaluate(() => {
    window.__progress = [];
    const seen = () => {
      const p = document.querySelector("#import-progress");
      if (!p) return;
      const label = p.nextElementSibling ? p.nextElementSibling.textContent : "";
      const v = p.hasAttribute("value") ? Number(p.getAttribute("value")) : null;
      const last = window.__progress[window.__progress.length - 1];
      if (!last || last.v !== v || last.label !== label) window.__progress.push({ v, label });
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  await page.getByRole("button", { name: "Import" }).click();
  await page.locator("#import-progress").waitFor({ timeout: 5000 });
  await shot("08-ported-import-progress");
  await page.getByText(new RegExp(`Imported ${rows} of ${rows} rows`)).waitFor({ timeout: 60000 });
  const states = await page.evaluate(() => window.__progress);
  log("progress states:", JSON.stringify(states.length > 12 ? [...states.slice(0, 6), "…", ...states.slice(-6)] : states));
  const values = states.filter((s) => s.v !== null).map((s) => s.v);
  check(values.length > 0 && values.every((v, i) => i === 0 || v >= values[i - 1]), "import: the progress bar appears and only moves forward");
  check(values.some((v) => v > 0 && v < 1), `import: intermediate progress shown (${values.length} values)`);
  check(states.some((s) => /Uploaded; the server is checking/.test(s.label)) && states.some((s) => /^\d+% uploaded$/.test(s.label)),
    "import: the bar reaches 100 % (upload done, the server checks the rows)");
  check(await page.locator("#import-progress").count() === 0, "import: the bar goes once the report is in");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.getByText(`${rows} numbers`).waitFor();
  check(true, `import: ${rows} numbers listed`);
  await shot("09-ported-imported");

  // ---- a file with bad rows: nothing imported, each bad row by its line number
  const bad = portedCsv(3000, 14160000000, { 1234: "not-a-number", 2717: "+1415" + "9".repeat(20) });
  await page.locator("#ported-file").setInputFiles({ name: "lnp-bad.csv", mimeType: "text/csv", buffer: bad });
  await page.getByRole("button", { name: "Import" }).click();
  await page.getByText("Nothing was imported").waitFor({ timeout: 30000 });
  const report = page.getByRole("table").filter({ has: page.getByText("Bad rows") });
  const lines = (await report.locator("tbody tr td:first-child").allTextContents()).map((s) => s.trim());
  check(JSON.stringify(lines) === JSON.stringify(["1236", "2719"]), `import: the bad rows reported by line number (${lines.join(", ")})`);
  check((await report.getByRole("row").filter({ hasText: "not-a-number" }).count()) === 1, "import: with the bad value");
  await page.getByText(`${rows} numbers`).waitFor();
  check(true, "import: the refused file imported nothing");
  await shot("10-ported-bad-rows");

  // ---- logout
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByLabel("User name").waitFor();
  check(problems.length === 0, "no console errors, page errors or CSP violations:\n  " + problems.join("\n  "));
});
