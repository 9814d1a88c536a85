#!/usr/bin/env python3
"""GET /api/v1/events (Server-Sent Events) against a real PostgreSQL: changes
made through the API and by raw SQL reach open streams within a second,
named by resource; bursts and bulk imports are coalesced; viewers may
listen, anonymous callers may not; the stream cap answers 503 and counts it;
token use (last_used_at write-back) is no change; the session probe answers
200 before login; open streams do not hold a graceful shutdown. Then, with
WEB_DIR, refresh_browser.mjs: two Chromium contexts, B changes things and
A's open pages follow without a reload.

usage: console_events_test.py SBC_ADMIN [WEB_DIR]
"""
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import sbcdb  # noqa: E402
import sbctest  # noqa: E402
from console_api_test import KEY_HEX, Admin, Client, Failure, check, ported_csv, post_body  # noqa: E402

ROOT_PASSWORD = "events-root-password-1"
MAX_STREAMS = 8


class EventStream:
    """One open GET /api/v1/events, read on a thread: every event with the
    monotonic time it arrived."""

    def __init__(self, port, cookie=None, bearer=None):
        h = {"Accept": "text/event-stream"}
        if cookie:
            h["Cookie"] = cookie
        if bearer:
            h["Authorization"] = "Bearer " + bearer
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/api/v1/events", headers=h)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events = []  # (time, resource)
        self.comments = []
        self.ended = None  # "clean" or an error text
        self.connected = threading.Event()
        self.lock = threading.Lock()
        if self.status == 200:
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()
        else:
            self.body = self.response.read()
            self.conn.close()

    def _read(self):
        buf = b""
        try:
            while True:
                data = self.response.read1(65536)
                if not data:
                    self.ended = "clean"
                    return
                buf += data
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    self._event(block.decode())
        except Exception as e:  # noqa: BLE001 - reported by the checks
            self.ended = f"error: {e!r}"

    def _event(self, block):
        name, data = "message", ""
        for line in block.split("\n"):
            if line.startswith(":"):
                with self.lock:
                    self.comments.append(line)
                if "connected" in line:
                    self.connected.set()
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if name == "change" and data:
            with self.lock:
                self.events.append((time.monotonic(), json.loads(data)["resource"]))

    def since(self, t0, resource=None):
        with self.lock:
            return [r for (t, r) in self.events if t >= t0 and (resource is None or r == resource)]

    def wait_for(self, resource, t0, timeout):
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for t, r in self.events:
                    if t >= t0 and r == resource:
                        return t - t0
            time.sleep(0.01)
        return None

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except Exception:  # noqa: BLE001
            pass
        self.conn.close()


def metric(client, name):
    status, _, _, text = client.request("GET", "/metrics")
    m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else None


def expect_event(streams, resource, t0, what, timeout=1.0):
    for s in streams:
        took = s.wait_for(resource, t0, timeout)
        check(took is not None, f"{what}: '{resource}' event within {timeout:.0f} s"
              + (f" ({took * 1000:.0f} ms)" if took is not None else ""))


def run(admin_bin, web_dir, workdir):
    with sbcdb.TestDb("console_events") as db:
        key_file = os.path.join(workdir, "secret.key")
        with open(key_file, "w") as f:
            f.write(KEY_HEX + "\n")
        static = f'static_dir = "{os.path.join(web_dir, "dist")}"\n' if web_dir else ""
        admin = Admin(admin_bin, workdir, f"""
log_level = "info"
shutdown_grace = 10
[http]
address = "127.0.0.1"
port = 0
max_event_streams = {MAX_STREAMS}
{static}[database]
dsn = "{db.dsn}"
migrate = true
secret_key_file = "{key_file}"
""")
        r = admin.create_admin("root", ROOT_PASSWORD)
        check(r.returncode == 0, f"create-admin ({r.stderr.strip()})")
        admin.start()
        port = admin.port
        anon = Client(port)
        deadline = time.monotonic() + 15
        while anon.request("GET", "/healthz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.05)

        # ---- the session probe and the stream's authentication
        status, body, _, _ = anon.request("GET", "/api/v1/session?probe=1")
        check(status == 200 and body == {"authenticated": False},
              "session probe before login is 200 {authenticated:false}")
        check(anon.request("GET", "/api/v1/session")[0] == 401, "GET /api/v1/session is still 401")
        s = EventStream(port)
        check(s.status == 401, "anonymous GET /api/v1/events is 401")
        s = EventStream(port, cookie="sbc_session=" + "A" * 43)
        check(s.status == 401, "an unknown session cookie gets 401")

        root = Client(port)
        check(root.login("root", ROOT_PASSWORD)[0] == 200, "admin logs in")
        status, body, _, _ = root.request("GET", "/api/v1/session?probe=1")
        check(status == 200 and body["authenticated"] is True and body["csrf_token"] == root.csrf,
              "session probe when logged in answers the session")
        status, _, _, _ = root.request("POST", "/api/v1/users", {
            "username": "vera", "role": "viewer", "password": "vera-password-1"})
        check(status == 201, "viewer created")
        vera = Client(port)
        check(vera.login("vera", "vera-password-1")[0] == 200, "viewer logs in")

        a = EventStream(port, cookie=root.cookie)
        v = EventStream(port, cookie=vera.cookie)
        check(a.status == 200 and v.status == 200, "admin and viewer open event streams")
        check(a.response.getheader("Content-Type", "").startswith("text/event-stream")
              and a.response.getheader("Transfer-Encoding") == "chunked",
              "text/event-stream, chunked")
        check(a.connected.wait(2) and v.connected.wait(2), "streams start with their preamble")
        both = [a, v]

        # ---- changes through the API
        t0 = time.monotonic()
        status, pbx, _, text = root.request("POST", "/api/v1/trunks", {
            "name": "pbx-e", "kind": "pbx", "realm": "inside",
            "gateways": [{"host": "127.0.0.1", "port": 5070, "transport": "udp"}]})
        check(status == 201, f"PBX trunk created ({text[:200]})")
        expect_event(both, "trunks", t0, "trunk created through the API")
        expect_event([a], "audit", t0, "the audit row of that write")
        status, carrier, _, text = root.request("POST", "/api/v1/trunks", {
            "name": "carrier-e", "kind": "carrier", "realm": "outside",
            "gateways": [{"host": "127.0.0.1", "port": 5080, "transport": "udp"}]})
        check(status == 201, f"carrier trunk created ({text[:200]})")
        t0 = time.monotonic()
        status, _, _, text = root.request("POST", "/api/v1/dids",
                                          {"number": "+14155550190", "trunk_id": pbx["id"]})
        check(status == 201, f"DID created ({text[:200]})")
        expect_event(both, "dids", t0, "DID created through the API")
        t0 = time.monotonic()
        status, route, _, text = root.request("POST", "/api/v1/routes",
                                              {"prefix": "44", "trunk_id": carrier["id"]})
        check(status == 201, f"route created ({text[:200]})")
        expect_event(both, "routes", t0, "route created through the API")

        # ---- changes by raw SQL (psql, another console, the SBC's tables)
        for resource, sql in (
            ("trunks", f"UPDATE trunk_gateways SET weight = 7 WHERE trunk_id = {pbx['id']}"),
            ("dids", "UPDATE dids SET description = 'psql' WHERE number = '+14155550190'"),
            ("routes", f"UPDATE routes SET weight = 55 WHERE id = {route['id']}"),
            ("ported_numbers", "INSERT INTO ported_numbers (number, routing_number) "
                               "VALUES ('+14155550191', '+19995550000')"),
            ("users", "UPDATE users SET disabled = false WHERE username = 'vera'"),
            ("cdrs", "DELETE FROM cdrs WHERE false"),
        ):
            t0 = time.monotonic()
            db.sql(sql)
            expect_event(both, resource, t0, f"raw SQL on {resource}")

        # ---- port orders (admin_change, migration 0011) through the API
        t0 = time.monotonic()
        status, _, _, text = root.request("POST", "/api/v1/port-orders", {
            "direction": "port_in", "numbers": ["+14155550192"], "losing_carrier": "OldCo",
            "target_trunk_id": pbx["id"]})
        check(status == 201, f"port order created ({text[:200]})")
        expect_event([a], "port_orders", t0, "port order created")

        # ---- API tokens: created is a change, used is not
        t0 = time.monotonic()
        status, tok, _, _ = root.request("POST", "/api/v1/tokens", {"name": "ev", "role": "viewer"})
        check(status == 201, "API token created")
        expect_event([a], "api_tokens", t0, "API token created")
        time.sleep(0.5)
        bot = Client(port)
        bot.bearer = tok["token"]
        t0 = time.monotonic()
        for _ in range(5):
            check(bot.request("GET", "/api/v1/trunks")[0] == 200, "token reads")
        time.sleep(2.5)  # the auth cache writes last_used_at back once a second
        check(db.sql(f"SELECT last_used_at IS NOT NULL FROM api_tokens WHERE id = {tok['id']}") == "t"
              and not a.since(t0, "api_tokens"),
              "using a token (last_used_at written back) sends no api_tokens event")
        b = EventStream(port, bearer=tok["token"])
        check(b.status == 200 and b.connected.wait(2), "a bearer token may listen too")
        b.close()

        # ---- coalescing: many commits in a burst, and a bulk import
        t0 = time.monotonic()
        commits = 200
        db.sql("DO $$ BEGIN FOR i IN 1..%d LOOP UPDATE routes SET weight = 100 + i WHERE id = %d; "
               "COMMIT; PERFORM pg_sleep(0.005); END LOOP; END $$" % (commits, route["id"]))
        burst = time.monotonic() - t0
        time.sleep(0.6)
        got = len(a.since(t0, "routes"))
        bound = int(burst / 0.25) + 3  # one per 250 ms, the first at once, one after
        check(1 <= got <= bound,
              f"{commits} commits in {burst:.1f} s gave {got} routes events (at most {bound})")
        t0 = time.monotonic()
        status, res, text = post_body(root, "/api/v1/ported-numbers/import", ported_csv(20000),
                                      chunked=True)
        check(status == 200, f"20,000 ported numbers imported ({text[:200]})")
        time.sleep(0.6)
        got = len(a.since(t0, "ported_numbers"))
        check(1 <= got <= 3, f"a 20,000-row import gave {got} ported_numbers events")
        check(metric(root, "admin_change_notifications_total") >= 10,
              "NOTIFYs are counted (admin_change_notifications_total)")
        check(metric(root, "admin_events_sent_total") >= 10, "events sent are counted")

        # ---- the browser: another operator's change shows without a reload
        if web_dir:
            browser(web_dir, port, workdir)

        # ---- the cap on open streams (counted)
        open_now = int(metric(root, "admin_event_streams_open"))
        check(open_now >= 2, f"admin_event_streams_open counts the open streams ({open_now})")
        extra = [EventStream(port, cookie=root.cookie) for _ in range(MAX_STREAMS - open_now)]
        check(all(e.status == 200 for e in extra), f"streams up to http.max_event_streams ({MAX_STREAMS})")
        over = EventStream(port, cookie=root.cookie)
        check(over.status == 503, "one more stream is refused with 503")
        check(metric(root, "admin_event_streams_rejected_total") == 1,
              "admin_event_streams_rejected_total counts it")
        for e in extra:
            e.close()

        # ---- open streams do not hold a graceful shutdown (grace is 10 s)
        stopped_at = time.monotonic()
        rc = admin.stop()
        took = time.monotonic() - stopped_at
        check(rc == 0 and took < 3, f"SIGTERM with open event streams: exit {rc} in {took:.1f} s")
        a.thread.join(2)
        check(a.ended == "clean", f"the stream ended cleanly at shutdown ({a.ended})")


def browser(web_dir, port, workdir):
    artifacts = os.environ.get("SBC_UI_ARTIFACTS") or os.path.join(os.getcwd(), "refresh-artifacts")
    env = dict(os.environ, SBC_UI_URL=f"http://127.0.0.1:{port}/", SBC_UI_WEB_DIR=web_dir,
               SBC_UI_ARTIFACTS=artifacts, SBC_UI_USER="root", SBC_UI_PASSWORD=ROOT_PASSWORD)
    r = subprocess.run(["node", os.path.join(HERE, "refresh_browser.mjs")], env=env,
                       capture_output=True, text=True, timeout=240)
    sbctest.log(r.stdout.rstrip())
    if r.returncode != 0:
        raise Failure(f"refresh_browser.mjs failed:\n{r.stderr[-3000:]}")
    sbctest.log("ok: browser pages follow other operators' changes without a reload")


def main():
    admin_bin = os.path.abspath(sys.argv[1])
    web_dir = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None
    if web_dir and not os.path.exists(os.path.join(web_dir, "dist", "index.html")):
        sbctest.log(f"FAIL: {web_dir}/dist/index.html missing: build the admin-web target first")
        return 1
    return sbctest.run_main(lambda workdir: run(admin_bin, web_dir, workdir), "console-events-",
                            errors=(Failure, sbcdb.TestDbError, AssertionError, KeyError, TypeError,
                                    subprocess.TimeoutExpired))


if __name__ == "__main__":
    sys.exit(main())
