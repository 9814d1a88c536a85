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
import signal
import subprocess
import sys
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

    def create_admin(self, username, password):
        """`sbc-admin create-admin` with the password on stdin."""
        return self.run_command("create-admin", "--username", username, "--password-stdin",
                                stdin=password + "\n")

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


def web_console(binary, workdir, dist, dsn, key_file, migrate, shutdown_grace):
    """sbc-admin serving the built web UI from `dist` (not started yet)."""
    return Admin(binary, workdir, f"""
log_level = "info"
shutdown_grace = {shutdown_grace}
[http]
address = "127.0.0.1"
port = 0
static_dir = "{dist}"
[database]
dsn = "{dsn}"
migrate = {"true" if migrate else "false"}
secret_key_file = "{key_file}"
""")


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
purge_interval = 1
max_failed_logins = 3
lockout = 300
login_rate_per_minute = 20
""")
        # ---- create-admin: from stdin, and generated (printed once)
        r = admin.create_admin("root", ADMIN_PASSWORD)
        check(r.returncode == 0, f"create-admin --password-stdin ({r.stderr.strip()})")
        r = admin.create_admin("root", ADMIN_PASSWORD)
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
        # Out-of-band edits NOTIFY admin_auth so the consoles' caches let go.
        db.sql("UPDATE sessions SET last_seen_at = now() - interval '31 minutes' "
               "WHERE user_id = (SELECT id FROM users WHERE username = 'otto'); NOTIFY admin_auth")
        time.sleep(0.3)
        check(otto.request("GET", "/api/v1/trunks")[0] == 401, "an idle session expires")
        check(vera.request("GET", "/api/v1/trunks")[0] == 200, "other sessions live on")
        db.sql("UPDATE sessions SET created_at = now() - interval '2 days', "
               "expires_at = now() - interval '1 second' "
               "WHERE user_id = (SELECT id FROM users WHERE username = 'vera'); NOTIFY admin_auth")
        time.sleep(0.3)
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

        last_admin_guard(root)
        route_tester_without_node(root, db)

        # ---- metrics
        status, _, _, text = anon.request("GET", "/metrics")
        check(status == 200 and 'route="/api/v1/trunks"' in text and "admin_logins_total" in text,
              "metrics by route and login results")

        # ---- the sbc follows a trunk created through the API
        if sbc_bin:
            sbc_sees_trunks(sbc_bin, workdir, db, root, key_file)

        cache_and_streaming(admin_bin, static_dir, workdir, db, admin, root)

        # ---- logout
        status, _, r, _ = root.request("POST", "/api/v1/logout")
        check(status == 204 and "Max-Age=0" in (r.getheader("Set-Cookie") or ""), "logout clears the cookie")
        check(root.request("GET", "/api/v1/session")[0] == 401, "the session is gone after logout")

        code = admin.stop()
        check(code == 0, f"SIGTERM stops sbc-admin cleanly (exit {code})")


def last_admin_guard(root):
    """The last enabled admin cannot be demoted, disabled or deleted (409)."""
    status, body, _, _ = root.request("GET", "/api/v1/users?role=admin&sort=username")
    admins = {u["username"]: u for u in body["items"]}
    check(status == 200 and {"root", "second"} <= set(admins), f"two admins ({sorted(admins)})")
    me, other = admins["root"], admins["second"]
    status, body, _, _ = root.request("PATCH", f"/api/v1/users/{other['id']}",
                                      {"disabled": True, "version": other["version"]})
    check(status == 200 and body["disabled"], "an admin disables the other admin")
    status, body, _, _ = root.request("PATCH", f"/api/v1/users/{me['id']}",
                                      {"role": "operator", "version": me["version"]})
    msg = (body or {}).get("error", {}).get("message", "")
    check(status == 409 and "last enabled admin" in msg and error_field(body) == "role",
          f"demoting the last enabled admin is refused ({status} {msg})")
    status, body, _, _ = root.request("PATCH", f"/api/v1/users/{me['id']}",
                                      {"disabled": True, "version": me["version"]})
    check(status == 409 and error_field(body) == "disabled", "disabling the last enabled admin is refused")
    status, body, _, _ = root.request("DELETE", f"/api/v1/users/{me['id']}")
    check(status == 409 and "last enabled admin" in body["error"]["message"],
          "deleting the last enabled admin is refused")
    status, body, _, _ = root.request("GET", f"/api/v1/users/{me['id']}")
    check(status == 200 and body["role"] == "admin" and not body["disabled"]
          and body["version"] == me["version"], "the refused changes left the admin untouched")
    check(root.request("GET", "/api/v1/session")[0] == 200, "and kept the admin's session")
    # A disabled admin does not count; deleting it while root stays is fine.
    status, _, _, _ = root.request("DELETE", f"/api/v1/users/{other['id']}")
    check(status == 204, "deleting a disabled admin while an enabled one remains works")


def route_tester_without_node(client, db):
    status, body, _, _ = client.request("GET", "/api/v1/routes/test?trunk=no-such-trunk&number=1")
    check(status == 422 and error_field(body) == "trunk", "route tester: an unknown trunk names the field")
    status, body, _, _ = client.request("GET", "/api/v1/routes/test?trunk=pbx-a")
    check(status == 422 and error_field(body) == "number", "route tester: the number is required")
    if db.sql("SELECT count(*) FROM sbc_nodes") == "0":
        status, body, _, _ = client.request("GET", "/api/v1/routes/test?trunk=pbx-a&number=%2B442071234567")
        msg = (body or {}).get("error", {}).get("message", "")
        check(status == 503 and "No SBC node is up" in msg, f"route tester without a node: 503 ({msg})")


def route_tester(client, db):
    """The tester's answer comes from the running sbc's own routing."""
    status, body, _, _ = client.request("POST", "/api/v1/trunks", {
        "name": "carrier-rt", "kind": "carrier", "realm": "outside",
        "gateways": [{"host": "127.0.0.1", "port": 5099, "transport": "udp", "priority": 1},
                     {"host": "127.0.0.2", "port": 5098, "transport": "tcp", "priority": 2}]})
    check(status == 201, "route tester: carrier trunk created")
    carrier = body["id"]
    status, _, _, _ = client.request("POST", "/api/v1/routes", {"prefix": "4420", "trunk_id": carrier})
    check(status == 201, "route tester: route 4420 created")
    db.sql("INSERT INTO ported_numbers (number, routing_number) VALUES ('+442071234568', '+442079999999')")

    def ask(number, trunk="pbx-a"):
        q = "/api/v1/routes/test?trunk=" + trunk + "&number=" + number.replace("+", "%2B")
        return client.request("GET", q)

    deadline = time.monotonic() + 5
    while True:
        status, body, _, text = ask("+442071234567")
        if (status == 200 and body["targets"]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check(status == 200 and body["node"] == "console-test-node", f"route tester answered by the node ({text[:300]})")
    check(body["number"] == {"ok": True, "e164": "+442071234567"} and body["direction"] == "outbound",
          "route tester: normalised number")
    check(body["lnp"]["source"] == "dip" and not body["lnp"]["ported"], "route tester: LNP looked up, not ported")
    hops = [(t["trunk"], t["host"], t["port"], t["transport"]) for t in body["targets"]]
    check(hops == [("carrier-rt", "127.0.0.1", 5099, "UDP"), ("carrier-rt", "127.0.0.2", 5098, "TCP")],
          f"route tester: gateways in priority order ({hops})")
    check([r["prefix"] for r in body["routes"]] == ["4420"] and body["reject"] is None,
          "route tester: the matching route is named")
    deadline = time.monotonic() + 5
    while True:  # the ported number reaches the node by its own NOTIFY
        status, body, _, _ = ask("+442071234568")
        if (status == 200 and body["lnp"]["ported"]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check(status == 200 and body["lnp"]["ported"] and body["lnp"]["routing_number"] == "+442079999999"
          and ";rn=+442079999999;npdi" in body["targets"][0]["request_user"],
          f"route tester: a ported number routes on its rn ({body.get('lnp')})")
    status, body, _, _ = ask("+15551234567")
    check(status == 200 and not body["targets"] and body["reject"]["code"] == 404,
          f"route tester: no route -> 404 ({body.get('reject')})")
    status, body, _, _ = ask("12ab")
    check(status == 200 and not body["number"]["ok"] and body["reject"] is not None,
          f"route tester: a bad number says why ({body.get('number')})")


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
        dashboard_history(db, client)
        route_tester(client, db)
    finally:
        sbc.stop()


def dashboard_history(db, client):
    """GET /api/v1/dashboard: the console's own sampler (every 10 s) has the
    node's trunks, counts calls (not per-trunk sums), and turns CDRs written
    since its previous sample into calls per minute per trunk."""
    check(Client(client.port).request("GET", "/api/v1/dashboard")[0] == 401,
          "the dashboard history needs a session")

    def wait_for(pred, what, timeout=30):
        deadline = time.monotonic() + timeout
        body = None
        while time.monotonic() < deadline:
            status, body, _, _ = client.request("GET", "/api/v1/dashboard")
            if status == 200 and pred(body):
                return body
            time.sleep(0.5)
        raise Failure(f"dashboard: {what} (last answer: {json.dumps(body)[:600]})")

    def trunk(body, name):
        return next((t for t in body["trunks"] if t["name"] == name), None)

    # A sample taken after the trunk was created but before the ghost node
    # was inserted has the one without the other: wait for both.
    body = wait_for(lambda b: trunk(b, "live-pbx") is not None
                    and any(x["name"] == "ghost" for x in b.get("nodes", [])),
                    "live-pbx and the ghost node sampled")
    n = len(body["times"])
    check(body["interval_seconds"] == 10 and body["window_seconds"] == 3600 and n >= 1
          and len(body["active_calls"]) == n
          and all(len(t["active"]) == n and len(t["calls_per_minute"]) == n for t in body["trunks"]),
          f"dashboard series aligned on {n} sample times")
    t = trunk(body, "live-pbx")
    check(t["kind"] == "pbx" and t["active"][-1] == 0 and body["active_calls"][-1] == 0,
          "the sample holds the node's trunk with no call, and 0 active calls")
    names = {x["name"]: x for x in body["nodes"]}
    check(names["console-test-node"]["ok"] and not names["ghost"]["ok"],
          "the sample says which nodes answered")
    check(isinstance(body["relays"], list), "relay health is part of the sample")
    # Two CDRs through live-pbx: the next samples count them as call rate.
    db.sql("INSERT INTO cdrs (uuid, start_time, direction, in_trunk, out_trunk) VALUES "
           "(gen_random_uuid(), now() - interval '1 min', 'inbound', 'cdr-carrier', 'live-pbx'), "
           "(gen_random_uuid(), now() - interval '1 min', 'outbound', 'live-pbx', 'cdr-carrier')")
    body = wait_for(lambda b: trunk(b, "live-pbx") and
                    any((v or 0) > 0 for v in trunk(b, "live-pbx")["calls_per_minute"]),
                    "CDRs counted as call rate", timeout=40)
    rates = [v for v in trunk(body, "live-pbx")["calls_per_minute"] if v]
    carrier = trunk(body, "cdr-carrier")
    check(len(rates) == 1 and 0 < rates[0] <= 2 * 60 / 8 and carrier is not None,
          f"2 CDRs -> one sample of {rates[0]:.1f} calls/min on each trunk, counted once")
    check(len(body["times"]) > n and body["times"] == sorted(body["times"]),
          "the history grows, in time order")


# ---- session/token cache, streamed imports and exports, X-Forwarded-For
# (sbc-admin's performance slice; run with SBC_BENCH_LONG=1 for the
# 1,000,000-row import over HTTP)

def metric_value(client, name, labels):
    status, _, _, text = client.request("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def post_body(client, path, body, content_type="text/csv", chunked=False, source="127.0.0.1",
              extra=None, timeout=600):
    h = {"Content-Type": content_type}
    if client.cookie:
        h["Cookie"] = client.cookie
    if client.csrf:
        h["X-CSRF-Token"] = client.csrf
    h.update(extra or {})
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        if chunked:
            def pieces():
                view = memoryview(body)
                for i in range(0, len(view), 256 * 1024):
                    yield bytes(view[i:i + 256 * 1024])
            conn.request("POST", path, body=pieces(), headers=h, encode_chunked=True)
        else:
            conn.request("POST", path, body=body, headers=h)
        r = conn.getresponse()
        text = r.read().decode(errors="replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return r.status, parsed, text
    except ConnectionError:
        # A refused upload may be cut while its unread rest is in flight.
        return -1, None, ""
    finally:
        conn.close()


def ported_csv(rows, base=14150000000):
    lines = ["number,routing_number"]
    lines.extend(f"+{base + i},+1999{i % 10000000:07d}" for i in range(rows))
    return ("\n".join(lines) + "\n").encode()


def patch_as(root, path, body):
    status, cur, _, _ = root.request("GET", path)
    if status != 200:
        return status, cur
    body = dict(body)
    if "version" in cur:
        body["version"] = cur["version"]
    status, out, _, _ = root.request("PATCH", path, body)
    return status, out


def cdr_export_flat(db, console, client):
    """150,000-row CDR export, streamed: complete, and memory stays flat."""
    rows = 150_000
    filler = "x" * 120
    db.sql(f"""INSERT INTO cdrs (uuid, start_time, direction, caller_in, callee_in, sip_code,
               sip_reason, a_call_id, end_reason)
               SELECT md5(i::text)::uuid, '2026-05-01T00:00:00Z'::timestamptz + i * interval '1 second',
                      'inbound', '+1415555' || lpad(i::text, 4, '0'), '+442071838750', 200,
                      '{filler}', 'call-' || i || '-{filler}', 'bye'
               FROM generate_series(1, {rows}) i""")
    pid = console.proc.pid
    base = rss_kib(pid)
    peak = base
    conn = http.client.HTTPConnection("127.0.0.1", console.port, timeout=120)
    got_rows = 0
    size = 0
    try:
        conn.request("GET", "/api/v1/cdrs.csv?from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z",
                     headers={"Cookie": client.cookie})
        r = conn.getresponse()
        check(r.status == 200 and r.getheader("Transfer-Encoding") == "chunked"
              and r.getheader("X-Row-Count") == str(rows), "CDR export streams (chunked) with X-Row-Count")
        tail = b""
        while True:
            piece = r.read(256 * 1024)
            if not piece:
                break
            size += len(piece)
            got_rows += piece.count(b"\r\n")
            tail = (tail + piece)[-4:]
            peak = max(peak, rss_kib(pid))
            time.sleep(0.002)  # a slow client: the server must wait, not buffer
    finally:
        conn.close()
    check(got_rows == rows + 1 and tail.endswith(b"\r\n"), f"all {rows} CDR rows arrive ({got_rows - 1})")
    grown = (peak - base) / 1024
    check(grown < 24 and size > 48 * 1024 * 1024,
          f"memory stays flat during a {size // 1024 // 1024} MiB export (RSS +{grown:.1f} MiB)")



def cache_and_streaming(admin_bin, static_dir, workdir, db, admin, root):
    port = admin.port
    # An expired session row: the periodic purge (every second in this
    # test's config) deletes it without anyone logging in.
    db.sql("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, "
           "last_seen_at) SELECT sha256('purge-me'::bytea), id, repeat('c', 32), now() - interval '3 hours', "
           "now() - interval '1 hour', now() - interval '2 hours' FROM users WHERE username = 'root'")

    # ---- authenticated GETs are answered from the cache
    hits = metric_value(root, "admin_auth_cache_total", {"result": "hit"})
    for _ in range(20):
        check_status = root.request("GET", "/api/v1/session")[0]
    after = metric_value(root, "admin_auth_cache_total", {"result": "hit"})
    check(check_status == 200 and after - hits >= 19, f"session GETs hit the cache ({after - hits})")
    time.sleep(1.5)  # a write-back period
    check(db.sql("SELECT bool_and(last_seen_at > now() - interval '3 seconds') FROM sessions s "
                 "JOIN users u ON u.id = s.user_id WHERE u.username = 'root' "
                 "AND s.expires_at > now()") == "t",
          "cached uses are written back to sessions.last_seen_at")

    # ---- role change, disable, token revoke: effective on the next request
    status, body, _, _ = root.request("POST", "/api/v1/users", {"username": "cachey", "role": "operator",
                                                                "password": "cachey-password-1"})
    check(status == 201, "user for the cache tests")
    uid = body["id"]
    cachey = Client(port)
    check(cachey.login("cachey", "cachey-password-1")[0] == 200, "cachey logs in")
    for _ in range(3):
        check_status = cachey.request("GET", "/api/v1/trunks")[0]
    check(check_status == 200, "cachey reads (cached)")
    status, _ = patch_as(root, f"/api/v1/users/{uid}", {"role": "viewer"})
    check(status == 200, "role changed to viewer")
    status, _, _, _ = cachey.request("POST", "/api/v1/routes", {"prefix": "99", "trunk_id": 1})
    check(status in (401, 403), f"a role change is in force at the next request ({status})")
    cachey2 = Client(port)
    check(cachey2.login("cachey", "cachey-password-1")[0] == 200, "cachey logs in again")
    check(cachey2.request("GET", "/api/v1/trunks")[0] == 200, "new session cached")
    status, _ = patch_as(root, f"/api/v1/users/{uid}", {"disabled": True})
    check(status == 200, "user disabled")
    check(cachey2.request("GET", "/api/v1/trunks")[0] == 401, "a disabled user is out at once")

    status, body, _, _ = root.request("POST", "/api/v1/tokens", {"name": "cache-bot", "role": "viewer"})
    bot = Client(port)
    bot.bearer = body["token"]
    tid = body["id"]
    for _ in range(3):
        check_status = bot.request("GET", "/api/v1/trunks")[0]
    check(check_status == 200, "token works (cached)")
    status, _ = patch_as(root, f"/api/v1/tokens/{tid}", {"revoked": True})
    check(status == 200, "token revoked")
    check(bot.request("GET", "/api/v1/trunks")[0] == 401, "a revoked token is refused at once")

    # ---- a second console on the same database: logout on one ends the
    # session on the other (NOTIFY admin_auth); X-Forwarded-For from a
    # trusted proxy; a small import limit
    other_dir = os.path.join(workdir, "other")
    os.makedirs(other_dir, exist_ok=True)
    other = Admin(admin_bin, other_dir, f"""
log_level = "info"
shutdown_grace = 2
[http]
address = "127.0.0.1"
port = 0
max_import_bytes = 100000
trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
[database]
dsn = "{db.dsn}"
[auth]
login_rate_per_minute = 1000
""")
    # ASan keeps freed memory in quarantine (256 MB): RSS would measure that,
    # not the export's footprint.
    saved_asan = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = ((saved_asan + ":") if saved_asan else "") + "quarantine_size_mb=1"
    try:
        other.start()
    finally:
        if saved_asan is None:
            os.environ.pop("ASAN_OPTIONS", None)
        else:
            os.environ["ASAN_OPTIONS"] = saved_asan
    try:
        deadline = time.monotonic() + 15
        while Client(other.port).request("GET", "/healthz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # its LISTEN connection
        user = Client(port)
        check(user.login("root", ADMIN_PASSWORD)[0] == 200, "root logs in on console A")
        via_b = Client(other.port)
        via_b.cookie, via_b.csrf = user.cookie, user.csrf
        for _ in range(3):
            check_status = via_b.request("GET", "/api/v1/session")[0]
        check(check_status == 200, "the session works on console B (cached there)")
        check(user.request("POST", "/api/v1/logout")[0] == 204, "logout on console A")
        gone = None
        started = time.monotonic()
        while time.monotonic() - started < 3:
            if via_b.request("GET", "/api/v1/session")[0] == 401:
                gone = time.monotonic() - started
                break
            time.sleep(0.01)
        check(gone is not None and gone < 1.0, f"console B drops the session within 1 s ({gone})")

        # X-Forwarded-For: believed from a trusted proxy only.
        Client(other.port).request("POST", "/api/v1/login", {"username": "root", "password": "nope-1234567"},
                                   headers={"X-Forwarded-For": "198.51.100.9, 10.1.2.3"})
        Client(other.port, source="127.0.0.2").request(
            "POST", "/api/v1/login", {"username": "root", "password": "nope-1234567"},
            headers={"X-Forwarded-For": "203.0.113.77"})
        ips = db.sql("SELECT string_agg(host(client_ip), ',' ORDER BY id) FROM audit_log "
                     "WHERE action LIKE 'login_%' AND who = 'root'")
        check("198.51.100.9" in ips and "203.0.113.77" not in ips and "127.0.0.2" in ips,
              f"X-Forwarded-For used only from trusted proxies ({ips})")
        db.sql("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = 'root'")

        # Streamed import over its own limit: 413 before anything is imported.
        admin_b = Client(other.port)
        check(admin_b.login("root", ADMIN_PASSWORD)[0] == 200, "root logs in on console B")
        status, _, _ = post_body(admin_b, "/api/v1/ported-numbers/import", ported_csv(10000, 14160000000))
        check(status in (413, -1), f"an import over http.max_import_bytes is refused ({status})")
        status, _, _ = post_body(admin_b, "/api/v1/ported-numbers/import",
                                 ported_csv(10000, 14160000000), chunked=True)
        check(status in (413, -1), f"a chunked import over the limit is refused too ({status})")
        check(db.sql("SELECT count(*) FROM ported_numbers WHERE number LIKE '+1416%'") == "0",
              "nothing imported from a refused upload")
        cdr_export_flat(db, other, admin_b)
    finally:
        other.stop()

    # ---- 50,000-row import over HTTP, streamed (chunked upload)
    n = 50_000
    body = ported_csv(n, 14170000000)
    started = time.monotonic()
    status, res, text = post_body(root, "/api/v1/ported-numbers/import", body, chunked=True)
    took = time.monotonic() - started
    check(status == 200 and res["status"] == "imported" and res["inserted"] == n,
          f"{n}-row CSV import over HTTP in {took:.1f} s ({text[:200]})")
    check(db.sql("SELECT count(*) FROM ported_numbers WHERE number LIKE '+1417%'") == str(n),
          "all rows in ported_numbers")
    if os.environ.get("SBC_BENCH_LONG", "").lower() in ("1", "on", "true", "yes"):
        n = 1_000_000
        body = ported_csv(n, 14180000000)
        started = time.monotonic()
        status, res, text = post_body(root, "/api/v1/ported-numbers/import", body)
        took = time.monotonic() - started
        check(status == 200 and res["status"] == "imported" and res["inserted"] == n and took < 60,
              f"1,000,000-row import ({len(body) // 1024 // 1024} MiB) over HTTP in {took:.1f} s")

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if db.sql("SELECT count(*) FROM sessions WHERE token_hash = sha256('purge-me'::bytea)") == "0":
            break
        time.sleep(0.2)
    check(db.sql("SELECT count(*) FROM sessions WHERE token_hash = sha256('purge-me'::bytea)") == "0",
          "expired sessions are purged periodically")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    admin_bin, static_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    sbc_bin = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
    return sbctest.run_main(lambda workdir: run(admin_bin, static_dir, sbc_bin, workdir),
                            "console-test-", tail=60,
                            errors=(Failure, sbcdb.TestDbError, AssertionError, KeyError, TypeError))


if __name__ == "__main__":
    sys.exit(main())
