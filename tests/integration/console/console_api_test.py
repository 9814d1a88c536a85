#!/usr/bin/env python3
"""sbc-admin against a real PostgreSQL: create-admin, login, CSRF, roles,
trunk CRUD with a gateway and a write-only credential, optimistic
concurrency, validation naming the field, audit rows, lockout, rate limit,
logout, API tokens, graceful stop; and, when an sbc binary is given, that a
trunk created through the API reaches a running sbc within a second.

usage: console_api_test.py SBC_ADMIN STATIC_DIR [SBC]
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sbcdb  # noqa: E402
import sbctest  # noqa: E402

ADMIN_PASSWORD = "admin-password-123"
KEY_HEX = "a1" * 32


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    sbctest.log(f"ok: {what}")


class Admin:
    """sbc-admin on an ephemeral port; the port comes from its log."""

    def __init__(self, binary, workdir, config_text):
        self.binary = binary
        self.config = os.path.join(workdir, "admin.toml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(workdir, "admin.log")
        self.proc = None
        self.port = None

    def run_command(self, *args, stdin=None):
        return subprocess.run([self.binary, *args, "--config", self.config], input=stdin,
                              capture_output=True, text=True, timeout=120)

    def start(self, timeout=60):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.binary, "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"sbc-admin exited with {self.proc.returncode}:\n{self.tail()}")
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.05)
        raise Failure("sbc-admin did not start:\n" + self.tail())

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def tail(self, n=40):
        return "\n".join(self.text().splitlines()[-n:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode if self.proc else None


class Client:
    """One user agent: keeps the session cookie and the CSRF token."""

    def __init__(self, port, source="127.0.0.1"):
        self.port = port
        self.source = source
        self.cookie = None
        self.csrf = None
        self.bearer = None

    def request(self, method, path, body=None, headers=None, csrf=True):
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
            body = json.dumps(body)
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.bearer:
            h["Authorization"] = "Bearer " + self.bearer
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                          source_address=(self.source, 0))
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            text = data.decode(errors="replace")
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            return r.status, parsed, r, text
        finally:
            conn.close()

    def login(self, username, password):
        status, body, r, text = self.request("POST", "/api/v1/login",
                                             {"username": username, "password": password})
        if status == 200:
            set_cookie = r.getheader("Set-Cookie")
            self.cookie = set_cookie.split(";", 1)[0]
            self.csrf = body["csrf_token"]
        return status, body, r, text


def error_field(body):
    return (body or {}).get("error", {}).get("field")


def run(admin_bin, static_dir, sbc_bin, workdir):
    with sbcdb.TestDb("console") as db:
        key_file = os.path.join(workdir, "secret.key")
        with open(key_file, "w") as f:
            f.write(KEY_HEX + "\n")
        admin = Admin(admin_bin, workdir, f"""
log_level = "info"
shutdown_grace = 2
[http]
address = "127.0.0.1"
port = 0
static_dir = "{static_dir}"
[database]
dsn = "{db.dsn}"
migrate = true
secret_key_file = "{key_file}"
[auth]
max_failed_logins = 3
lockout = 300
login_rate_per_minute = 20
""")
        # ---- create-admin: from stdin, and generated (printed once)
        r = admin.run_command("create-admin", "--username", "root", "--password-stdin",
                              stdin=ADMIN_PASSWORD + "\n")
        check(r.returncode == 0, f"create-admin --password-stdin ({r.stderr.strip()})")
        r = admin.run_command("create-admin", "--username", "root", "--password-stdin",
                              stdin=ADMIN_PASSWORD + "\n")
        check(r.returncode != 0 and "exists" in r.stderr, "create-admin refuses an existing name")
        r = admin.run_command("create-admin", "--username", "second")
        m = re.search(r"password \(shown once\): (\S+)", r.stdout)
        check(r.returncode == 0 and m, "create-admin prints a generated password")
        generated = m.group(1)
        check(db.sql("SELECT password_hash LIKE '$argon2id$%' FROM users WHERE username='root'") == "t",
              "passwords are stored as argon2id hashes")

        admin.start()
        port = admin.port
        anon = Client(port)

        # ---- unauthenticated surface
        deadline = time.monotonic() + 15
        while True:  # the pool connects in the background
            status, body, r, _ = anon.request("GET", "/healthz")
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check(status == 200 and body["status"] == "ok", "healthz is 200 with the database reachable")
        status, _, r, text = anon.request("GET", "/")
        check(status == 200 and "openapi.json" in text and "script-src 'self'" in
              (r.getheader("Content-Security-Policy") or "") and r.getheader("X-Frame-Options") == "DENY",
              "placeholder UI served with security headers")
        status, body, _, _ = anon.request("GET", "/api/v1/openapi.json")
        check(status == 200 and body["openapi"].startswith("3."), "openapi.json served")
        status, body, _, _ = anon.request("GET", "/api/v1/nope")
        check(status == 404 and body["error"]["status"] == 404, "unknown API path is a JSON 404")
        status, _, _, _ = anon.request("GET", "/api/v1/trunks")
        check(status == 401, "API needs authentication")

        # ---- login: same answer for an unknown user and a wrong password
        s1, b1, _, _ = anon.login("root", "wrong-password-1")
        s2, b2, _, _ = anon.login("nobody", "wrong-password-1")
        check(s1 == 401 and s2 == 401 and b1 == b2, "bad password and unknown user look the same")
        second = Client(port)
        check(second.login("second", generated)[0] == 200, "generated admin password works")

        root = Client(port)
        status, body, r, _ = root.login("ROOT", ADMIN_PASSWORD)
        cookie = r.getheader("Set-Cookie") or ""
        check(status == 200 and body["user"]["role"] == "admin", "admin logs in (name case-insensitive)")
        check("HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie,
              f"session cookie flags ({cookie.split(';', 1)[1].strip()})")
        status, body, _, _ = root.request("GET", "/api/v1/session")
        check(status == 200 and body["csrf_token"] == root.csrf, "GET session returns the CSRF token")

        # ---- CSRF
        trunk = {
            "name": "carrier-a", "kind": "carrier", "realm": "outside", "max_calls": 10,
            "media_policy": "srtp-optional", "header_strip": ["X-Internal"],
            "gateways": [{"host": "127.0.0.1", "port": 5090, "transport": "udp"}],
            "acl": [{"cidr": "127.0.0.0/8", "description": "lab"}],
            "credentials": [{"direction": "outbound", "username": "acct1",
                             "password": "s3cret-Passw0rd"}],
        }
        status, body, _, _ = root.request("POST", "/api/v1/trunks", trunk, csrf=False)
        check(status == 403, "a write without X-CSRF-Token is refused")
        status, _, _, _ = root.request("POST", "/api/v1/trunks", trunk,
                                       headers={"X-CSRF-Token": "x" * 32}, csrf=False)
        check(status == 403, "a write with a wrong X-CSRF-Token is refused")

        # ---- create a trunk with gateway, ACL and credential
        status, created, r, text = root.request("POST", "/api/v1/trunks", trunk)
        check(status == 201, f"trunk created ({text[:200]})")
        tid = created["id"]
        check(r.getheader("ETag") == '"1"' and r.getheader("Location") == f"/api/v1/trunks/{tid}",
              "create answers ETag and Location")
        check(created["gateways"][0]["port"] == 5090 and created["acl"][0]["cidr"] == "127.0.0.0/8",
              "gateway and ACL stored")
        check(created["credentials"][0]["username"] == "acct1" and "s3cret" not in text
              and "password" not in json.dumps(created["credentials"]) and "secret" not in text,
              "credential is write-only: never in the answer")
        sealed = db.sql(f"SELECT encode(secret, 'hex') FROM trunk_credentials WHERE trunk_id = {tid}")
        check(sealed.startswith("01") and "s3cret".encode().hex() not in sealed,
              "credential sealed at rest (secret_box format)")

        # ---- validation names the field; duplicates conflict
        status, body, _, _ = root.request("POST", "/api/v1/trunks", {"name": "bad name!", "kind": "pbx"})
        check(status == 422 and error_field(body) == "name", "422 names the field (name)")
        status, body, _, _ = root.request("POST", "/api/v1/trunks", {"name": "x1", "kind": "pbx",
                                                                     "gateways": [{"port": 1}]})
        check(status == 422 and error_field(body) == "gateways[0].host", "422 names a nested field")
        status, body, _, _ = root.request("POST", "/api/v1/trunks", {"name": "x2", "kind": "pbx",
                                                                     "acl": [{"cidr": "10.1.2.3/8"}]})
        check(status == 422 and error_field(body) == "acl", "422 for a CIDR with host bits")
        status, body, _, _ = root.request("POST", "/api/v1/trunks", {"name": "carrier-a", "kind": "pbx"})
        check(status == 409, "duplicate name is a conflict")
        check(db.sql("SELECT count(*) FROM trunks") == "1", "failed creates left nothing behind")

        # ---- update with optimistic concurrency
        status, body, r, _ = root.request("GET", f"/api/v1/trunks/{tid}")
        check(status == 200 and r.getheader("ETag") == '"1"', "GET one answers its version")
        status, body, _, _ = root.request("PATCH", f"/api/v1/trunks/{tid}", {"max_calls": 20})
        check(status == 428, "update without a version is refused")
        status, body, r, _ = root.request("PATCH", f"/api/v1/trunks/{tid}", {"max_calls": 20},
                                          headers={"If-Match": '"1"'})
        check(status == 200 and body["max_calls"] == 20 and body["version"] == 2, "update with If-Match")
        status, body, _, _ = root.request("PATCH", f"/api/v1/trunks/{tid}",
                                          {"max_calls": 30, "version": 1})
        check(status == 409, "stale version -> 409")
        status, body, _, _ = root.request("PATCH", f"/api/v1/trunks/{tid}",
                                          {"max_calls": -1, "version": 2})
        check(status == 422 and error_field(body) == "max_calls", "422 names max_calls")
        status, body, _, _ = root.request("PATCH", f"/api/v1/trunks/{tid}",
                                          {"session_expires": 60, "version": 2})
        check(status == 422, f"database rule (session timer) -> 422 ({error_field(body)})")
        status, body, _, _ = root.request(
            "PATCH", f"/api/v1/trunks/{tid}",
            {"version": 2, "credentials": [{"direction": "outbound", "username": "acct2"}]})
        check(status == 200 and body["credentials"][0]["username"] == "acct2" and body["version"] == 3,
              "credential renamed without resending the password")
        check(db.sql(f"SELECT encode(secret, 'hex') FROM trunk_credentials WHERE trunk_id = {tid}") == sealed,
              "the stored secret was kept")
        status, body, _, _ = root.request(
            "PATCH", f"/api/v1/trunks/{tid}",
            {"version": 3, "credentials": [{"direction": "inbound", "username": "pbx"}]})
        check(status == 422 and error_field(body) == "credentials[0].password",
              "a new credential needs its password")

        # ---- list: paging, sort, filter
        pbx = {"name": "pbx-a", "kind": "pbx", "realm": "inside", "acl": [{"cidr": "10.0.0.0/8"}]}
        status, body, _, _ = root.request("POST", "/api/v1/trunks", pbx)
        check(status == 201, "second trunk created")
        pbx_id = body["id"]
        status, body, _, _ = root.request("GET", "/api/v1/trunks?sort=-name&limit=1")
        check(status == 200 and body["total"] == 2 and [t["name"] for t in body["items"]] == ["pbx-a"],
              "list pages and sorts")
        status, body, _, _ = root.request("GET", "/api/v1/trunks?kind=carrier")
        check(status == 200 and [t["name"] for t in body["items"]] == ["carrier-a"], "list filters")
        status, body, _, _ = root.request("GET", "/api/v1/trunks?sort=password")
        check(status == 400 and error_field(body) == "sort", "sorting on an unlisted column is refused")
        status, body, _, _ = root.request("GET", "/api/v1/trunks?q=carr")
        check(status == 200 and body["total"] == 1, "q searches")

        # ---- users and roles
        for name, role in (("vera", "viewer"), ("otto", "operator")):
            status, body, _, text = root.request("POST", "/api/v1/users",
                                                 {"username": name, "role": role,
                                                  "password": f"{name}-password-1"})
            check(status == 201 and "password" not in text, f"{role} user created (no hash shown)")
        status, body, _, _ = root.request("POST", "/api/v1/users",
                                          {"username": "shorty", "role": "viewer", "password": "short"})
        check(status == 422 and error_field(body) == "password", "password policy names the field")
        vera = Client(port)
        check(vera.login("vera", "vera-password-1")[0] == 200, "viewer logs in")
        check(vera.request("GET", "/api/v1/trunks")[0] == 200, "viewer reads trunks")
        check(vera.request("POST", "/api/v1/trunks", {"name": "v", "kind": "pbx"})[0] == 403,
              "viewer cannot write")
        check(vera.request("GET", "/api/v1/users")[0] == 403, "viewer cannot list users")
        otto = Client(port)
        check(otto.login("otto", "otto-password-1")[0] == 200, "operator logs in")
        check(otto.request("GET", "/api/v1/users")[0] == 403, "operator cannot manage users")
        status, body, _, _ = otto.request("POST", "/api/v1/dids",
                                          {"number": "+14155550100", "trunk_id": pbx_id})
        check(status == 201 and body["status"] == "active", "operator creates a DID")
        status, body, _, _ = otto.request("POST", "/api/v1/dids",
                                          {"number": "+14155550101", "trunk_id": tid})
        check(status == 422, "a DID on a carrier trunk is refused by the database rule")
        status, body, _, _ = otto.request("POST", "/api/v1/routes", {"prefix": "1", "trunk_id": tid})
        check(status == 201, "operator creates a route")
        check(otto.request("DELETE", f"/api/v1/trunks/{pbx_id}")[0] == 409,
              "a trunk with DIDs cannot be deleted")

        # ---- API tokens: hashed at rest, role-scoped, no CSRF
        status, body, _, _ = root.request("POST", "/api/v1/tokens", {"name": "ci", "role": "operator"})
        check(status == 201 and len(body.get("token", "")) >= 40, "API token shown once at creation")
        token = body["token"]
        check(db.sql("SELECT count(*) FROM api_tokens WHERE encode(token_hash, 'hex') = "
                     f"encode(sha256('{token}'::bytea), 'hex')") == "1", "token stored as SHA-256")
        status, body, _, text = root.request("GET", f"/api/v1/tokens/{body['id']}")
        check(status == 200 and token not in text and "token_hash" not in text, "token never shown again")
        bot = Client(port)
        bot.bearer = token
        status, body, _, _ = bot.request("POST", "/api/v1/routes", {"prefix": "44", "trunk_id": tid})
        check(status == 201, "bearer token writes without CSRF")
        check(bot.request("GET", "/api/v1/users")[0] == 403, "operator token cannot manage users")
        bot.bearer = "A" * 43
        check(bot.request("GET", "/api/v1/trunks")[0] == 401, "unknown token is refused")

        # ---- delete with concurrency check
        check(root.request("DELETE", f"/api/v1/trunks/{tid}", headers={"If-Match": '"1"'})[0] == 409,
              "stale delete -> 409")

        # ---- audit log
        status, body, _, text = root.request("GET", f"/api/v1/audit?entity=trunk&entity_id={tid}")
        actions = [e["action"] for e in body["items"]]
        check(status == 200 and actions.count("update") == 2 and actions[-1] == "create",
              f"audit rows for the trunk ({actions})")
        upd = [e for e in body["items"] if e["action"] == "update"][-1]
        check(upd["who"] == "root" and upd["before"]["max_calls"] == 10 and upd["after"]["max_calls"] == 20
              and upd["client_ip"] == "127.0.0.1", "audit has who, before/after and client ip")
        check("s3cret" not in text and "secret" not in text, "no secret in the audit log")
        check(vera.request("GET", "/api/v1/audit")[0] == 403, "viewer cannot read the audit log")
        status, body, _, _ = root.request("GET", "/api/v1/audit?who=token:ci")
        check(status == 200 and len(body["items"]) == 1, "token writes are audited as token:<name>")

        # ---- delete with the right version
        check(root.request("DELETE", f"/api/v1/trunks/{tid}", headers={"If-Match": '"3"'})[0] == 204,
              "delete with If-Match")
        check(root.request("GET", f"/api/v1/trunks/{tid}")[0] == 404, "deleted trunk is gone")
        check(db.sql(f"SELECT count(*) FROM audit_log WHERE entity = 'trunk' AND entity_id = '{tid}' "
                     "AND action = 'delete' AND before IS NOT NULL AND after IS NULL") == "1",
              "delete audited with its before image")

        # ---- session expiry: idle and absolute
        db.sql("UPDATE sessions SET last_seen_at = now() - interval '31 minutes' "
               "WHERE user_id = (SELECT id FROM users WHERE username = 'otto')")
        check(otto.request("GET", "/api/v1/trunks")[0] == 401, "an idle session expires")
        check(vera.request("GET", "/api/v1/trunks")[0] == 200, "other sessions live on")
        db.sql("UPDATE sessions SET created_at = now() - interval '2 days', "
               "expires_at = now() - interval '1 second' "
               "WHERE user_id = (SELECT id FROM users WHERE username = 'vera')")
        check(vera.request("GET", "/api/v1/trunks")[0] == 401, "a session past its absolute expiry ends")

        # ---- lockout after repeated failures (and the right password then fails too)
        for _ in range(3):
            Client(port).login("vera", "not-her-password")
        check(Client(port).login("vera", "vera-password-1")[0] == 401, "locked account refuses login")
        check(db.sql("SELECT locked_until > now() FROM users WHERE username = 'vera'") == "t",
              "lockout recorded in users.locked_until")

        # ---- rate limit per client IP (from another loopback address)
        limited = None
        for i in range(30):
            status, _, r, _ = Client(port, source="127.0.0.2").login(f"spray{i}", "whatever-pass")
            if status == 429:
                limited = r.getheader("Retry-After")
                break
        check(limited is not None and int(limited) >= 1, "login rate limit per IP with Retry-After")

        # ---- metrics
        status, _, _, text = anon.request("GET", "/metrics")
        check(status == 200 and 'route="/api/v1/trunks"' in text and "admin_logins_total" in text,
              "metrics by route and login results")

        # ---- the sbc follows a trunk created through the API
        if sbc_bin:
            sbc_sees_trunks(sbc_bin, workdir, db, root, key_file)

        # ---- logout
        status, _, r, _ = root.request("POST", "/api/v1/logout")
        check(status == 204 and "Max-Age=0" in (r.getheader("Set-Cookie") or ""), "logout clears the cookie")
        check(root.request("GET", "/api/v1/session")[0] == 401, "the session is gone after logout")

        code = admin.stop()
        check(code == 0, f"SIGTERM stops sbc-admin cleanly (exit {code})")


def sbc_sees_trunks(sbc_bin, workdir, db, client, key_file):
    sip_port = sbctest.free_port()
    out_port = sbctest.free_port()
    config = f"""
[node]
name = "console-test-node"
[database]
dsn = "{db.dsn}"
secret_key_file = "{key_file}"
[cdr]
spool_dir = "{os.path.join(workdir, 'cdr-spool')}"
[mgmt]
address = "127.0.0.1"
port = 0
[[listen]]
realm = "inside"
transport = "udp"
address = "127.0.0.1"
port = {sip_port}
[[listen]]
realm = "outside"
transport = "udp"
address = "127.0.0.1"
port = {out_port}
"""
    sbc = sbctest.Sbc(sbc_bin, workdir, config)
    try:
        deadline = time.monotonic() + 30
        mgmt = None
        while time.monotonic() < deadline and mgmt is None:
            if not sbc.alive():
                raise Failure("sbc exited:\n" + sbc.tail())
            status, body, _, _ = client.request("GET", "/api/v1/nodes")
            for n in (body or {}).get("items", []):
                if n["name"] == "console-test-node" and n["alive"]:
                    mgmt = n["mgmt_address"]
            time.sleep(0.1)
        check(mgmt is not None, "the sbc node appears in /api/v1/nodes")

        def usage_names():
            conn = http.client.HTTPConnection(*mgmt.rsplit(":", 1), timeout=5)
            try:
                conn.request("GET", "/api/trunks/usage")
                return [t.get("name") for t in json.loads(conn.getresponse().read())]
            finally:
                conn.close()

        # Wait for its first configuration.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "pbx-a" not in usage_names():
            time.sleep(0.1)
        check("pbx-a" in usage_names(), "the sbc loaded the configuration")
        status, body, _, _ = client.request("POST", "/api/v1/trunks",
                                            {"name": "live-pbx", "kind": "pbx",
                                             "acl": [{"cidr": "192.0.2.0/24"}]})
        created = time.monotonic()
        check(status == 201, "trunk created while the sbc runs")
        seen = None
        while time.monotonic() - created < 5:
            if "live-pbx" in usage_names():
                seen = time.monotonic() - created
                break
            time.sleep(0.02)
        check(seen is not None and seen < 1.0, f"the sbc saw the new trunk within 1 s ({seen})")
        # A node that heartbeats but does not answer: reported, not fatal.
        db.sql("INSERT INTO sbc_nodes (name, mgmt_address) VALUES ('ghost', '127.0.0.1:1')")
        started = time.monotonic()
        status, body, _, _ = client.request("GET", "/api/v1/live/usage")
        names = [i.get("name") for i in body["items"] if i.get("node") == "console-test-node"]
        nodes = {n["name"]: n for n in body["nodes"]}
        check(status == 200 and "live-pbx" in names and nodes["console-test-node"]["ok"],
              "live usage gathered from the node through the console")
        check(not nodes["ghost"]["ok"] and nodes["ghost"]["error"] and time.monotonic() - started < 3,
              f"a dead node is reported, not fatal ({nodes['ghost'].get('error')})")
        status, body, _, _ = client.request("GET", "/api/v1/live/calls")
        check(status == 200 and body["items"] == [] and len(body["nodes"]) == 2, "live calls (none)")
    finally:
        sbc.stop()


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    admin_bin, static_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    sbc_bin = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
    workdir = tempfile.mkdtemp(prefix="console-test-")
    try:
        run(admin_bin, static_dir, sbc_bin, workdir)
    except (Failure, sbcdb.TestDbError, AssertionError, KeyError, TypeError) as e:
        sbctest.log(f"FAIL: {e!r}")
        log = os.path.join(workdir, "admin.log")
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                sbctest.log("---- admin.log (tail)\n" + "".join(f.readlines()[-60:]))
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sbctest.log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
