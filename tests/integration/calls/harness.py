"""The call-test harness: one PostgreSQL database, one sbc and a few SIPp
processes per test case, everything on 127.0.0.0/8 and bounded in time.

    with CallTest("outbound", tools) as t:
        pbx = t.add_trunk("pbx-a", "pbx", acl=["127.0.0.2/32"], gateways=[(PBX_IP, 5060)])
        ...
        t.start_sbc()
        uas = t.sipp("carrier", "carrier_uas.xml", CARRIER1_IP, server=True, calls=1)
        uac = t.sipp("pbx", "pbx_uac.xml", PBX_IP, remote=t.inside, calls=1, service="...")
        t.expect_exit(uac, 0)

Addresses: the sbc listens on 127.0.0.1 (inside realm, facing PBXs) and on
127.0.0.10 (outside realm, facing carriers); the PBX is 127.0.0.2, carriers
127.0.0.3 and 127.0.0.4. Ports are picked free at run time so that several
tests (and several build directories) run at once.

Python 3 standard library only, plus the sipp and psql binaries.
"""
import argparse
import datetime
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sbctest  # noqa: E402

SBC_INSIDE_IP = "127.0.0.1"
SBC_OUTSIDE_IP = "127.0.0.10"
PBX_IP = "127.0.0.2"
CARRIER1_IP = "127.0.0.3"
CARRIER2_IP = "127.0.0.4"
# SIPp's RTP addresses: apart from the signalling addresses, so that the
# topology checks on signalling addresses stay meaningful while media is not
# anchored (no relay in the call path yet: c=/m= pass through).
PBX_MEDIA_IP = "127.0.0.22"
CARRIER_MEDIA_IP = "127.0.0.33"

SCENARIO_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sipp"))

# What identifies the PBX and the carriers in the scenarios (sipp/*.xml); the
# topology-hiding checks look for these on the other side. The IP addresses
# are added by the checks themselves.
PBX_SECRETS = ["pbx-secret", "PBX-Secret", "pbxsecretuser", "pbxtag", "secret-extension-1234",
               "X-Pbx-Internal"]
CARRIER_SECRETS = ["carrier-secret", "Carrier-Secret", "carriersecretuser", "carriertag",
                   "secret-route-77", "X-Carrier-Internal"]


class TestFailure(Exception):
    pass


def log(*args):
    sbctest.log(*args)


def sql_literal(v):
    """A SQL literal for psql (the values are ours, but quote them properly)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "ARRAY[" + ",".join(sql_literal(x) for x in v) + "]::text[]"
    return "'" + str(v).replace("'", "''") + "'"


def free_udp_port(host):
    """A UDP port free on host (SIPp and the sbc's UDP listeners bind it)."""
    return sbctest.free_port(host, socket.SOCK_DGRAM)


def free_tcp_port(host):
    """A port free on host for TCP and UDP (a stream listener of the sbc or
    a SIPp in -t t1 mode binds it)."""
    return sbctest.free_port(host, socket.SOCK_STREAM)


def stop_process(proc, log_file=None, timeout=15):
    """SIGTERM, then SIGKILL after `timeout` s; closes its log file. Returns
    the exit code (negative: killed by that signal)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if log_file is not None:
        log_file.close()
    return proc.returncode


def log_tail(path, n=60):
    """The last `n` lines of a process's log file ("" when unreadable)."""
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def udp_port_bound(host, port, kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


# --------------------------------------------------------------------------
# SIPp message logs


class SipMessage:
    """One message from a SIPp -trace_msg log."""

    def __init__(self, direction, when, text):
        self.direction = direction  # "sent" or "recv" (from the SIPp process's view)
        self.when = when            # epoch seconds
        self.text = text
        head, _, self.body = text.partition("\n\n")
        lines = head.split("\n")
        self.first_line = lines[0].strip()
        self.headers = []
        for line in lines[1:]:
            if not line.strip():
                continue
            if line[0] in " \t" and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    @property
    def is_response(self):
        return self.first_line.startswith("SIP/2.0 ")

    @property
    def status(self):
        if not self.is_response:
            return None
        try:
            return int(self.first_line.split()[1])
        except (IndexError, ValueError):
            return None

    @property
    def method(self):
        if self.is_response:
            cseq = self.header("cseq") or ""
            return cseq.split()[-1] if cseq.split() else ""
        return self.first_line.split()[0]

    @property
    def request_uri(self):
        return None if self.is_response else self.first_line.split()[1]

    _COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact",
                "l": "content-length", "c": "content-type", "x": "session-expires",
                "k": "supported"}

    def header(self, name):
        vals = self.header_all(name)
        return vals[0] if vals else None

    def header_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if self._COMPACT.get(n, n) == name]

    @property
    def call_id(self):
        return self.header("call-id")

    def __repr__(self):
        return f"<{self.direction} {self.first_line}>"


_SEP_RE = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$", re.M)
_KIND_RE = re.compile(r"^\s*(\w+) message (sent|received)")


def parse_message_log(path):
    if not os.path.exists(path):
        return []
    with open(path, "r", errors="replace") as f:
        data = f.read().replace("\r\n", "\n")
    out = []
    parts = _SEP_RE.split(data)
    # parts: [preamble, ts1, block1, ts2, block2, ...]
    for i in range(1, len(parts) - 1, 2):
        ts, block = parts[i], parts[i + 1]
        first, _, rest = block.lstrip("\n").partition("\n")
        m = _KIND_RE.match(first)
        if not m:
            continue
        when = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        text = rest.lstrip("\n").rstrip("\n")
        if not text:
            continue
        out.append(SipMessage("sent" if m.group(2) == "sent" else "recv", when, text))
    return out


# --------------------------------------------------------------------------
# SIPp processes


class Sipp:
    """One SIPp process; its logs live in the test's directory."""

    def __init__(self, test, name, scenario, local_ip, port=None, remote=None, calls=1,
                 rate=None, rate_period_ms=None, limit=None, duration_ms=None, timeout=30,
                 service=None, sets=None, extra=None, cid_prefix=None, subst=None,
                 media_ip=None, transport="udp"):
        self.test = test
        self.name = name
        self.local_ip = local_ip
        # "tcp": SIPp's -t t1 (one TCP connection per remote); no TLS in SIPp 3.6.
        self.transport = transport
        self.port = port or (free_tcp_port(local_ip) if transport == "tcp"
                             else free_udp_port(local_ip))
        base = os.path.join(test.dir, name)
        self.msg_path = base + "_messages.log"
        self.stat_path = base + "_stat.csv"
        self.err_path = base + "_errors.log"
        self.out_path = base + "_screen.log"
        self.timeout = timeout
        scen = scenario if os.path.isabs(scenario) else os.path.join(SCENARIO_DIR, scenario)
        if subst:
            # Templates (e.g. carrier_reject.xml): SIPp checks some values
            # (status codes) at load time, before any -set applies.
            with open(scen) as f:
                text = f.read()
            for k, v in subst.items():
                text = text.replace(f"@{k}@", str(v))
            scen = base + "_" + os.path.basename(scen)
            with open(scen, "w") as f:
                f.write(text)
        cmd = [test.tools.sipp, "-sf", scen, "-i", local_ip, "-p", str(self.port),
               "-m", str(calls), "-nostdin",
               "-trace_msg", "-message_file", self.msg_path,
               "-trace_stat", "-stf", self.stat_path, "-fd", "1",
               "-trace_err", "-error_file", self.err_path,
               "-timeout", f"{timeout}s", "-timeout_error",
               "-mi", media_ip or local_ip,
               "-mp", str(sbctest.free_port_block(media_ip or local_ip, 4))]
        if transport == "tcp":
            cmd += ["-t", "t1"]
        if rate is not None:
            cmd += ["-r", str(rate)]
        if rate_period_ms is not None:
            cmd += ["-rp", f"{rate_period_ms}ms"]
        if limit is not None:
            cmd += ["-l", str(limit)]
        if duration_ms is not None:
            cmd += ["-d", str(duration_ms)]
        if service is not None:
            cmd += ["-s", service]
        if cid_prefix is not None:
            # SIPp maps messages to calls by Call-ID, so a distinctive Call-ID
            # must be SIPp's own ([call_id]) shaped by -cid_str.
            cmd += ["-cid_str", cid_prefix + "%u-%p@%s"]
        for k, v in (sets or {}).items():
            cmd += ["-set", k, str(v)]
        cmd += extra or []
        if remote is not None:
            cmd.append(f"{remote[0]}:{remote[1]}")
        self.cmd = cmd
        self.out = open(self.out_path, "wb")
        self.started = time.time()
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=test.dir)
        self.rc = None

    def wait_bound(self, limit=5.0):
        """Waits until SIPp has bound its UDP port (a server must listen before
        the other side starts)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure(f"sipp {self.name} exited early (rc {self.proc.returncode}):\n"
                                  + self.screen_tail())
            kind = socket.SOCK_STREAM if self.transport == "tcp" else socket.SOCK_DGRAM
            if udp_port_bound(self.local_ip, self.port, kind):
                return self
            time.sleep(0.05)
        raise TestFailure(f"sipp {self.name} did not bind {self.local_ip}:{self.port}")

    def wait(self, extra=15):
        """The exit code; SIPp gets its own -timeout plus `extra` seconds."""
        if self.rc is not None:
            return self.rc
        try:
            self.rc = self.proc.wait(self.timeout + extra)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.rc = "killed"
        self.out.close()
        return self.rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.rc is None:
            self.rc = self.proc.returncode
        if not self.out.closed:
            self.out.close()

    def running(self):
        return self.proc.poll() is None

    def stats(self):
        """The last row of the -trace_stat file as {column: value}."""
        if not os.path.exists(self.stat_path):
            return {}
        with open(self.stat_path, errors="replace") as f:
            rows = [r.rstrip("\n") for r in f if r.strip()]
        if len(rows) < 2:
            return {}
        names = rows[0].split(";")
        return dict(zip(names, rows[-1].split(";")))

    def stat(self, column):
        v = self.stats().get(column, "0")
        try:
            return int(v)
        except ValueError:
            return 0

    @property
    def successful(self):
        return self.stat("SuccessfulCall(C)")

    @property
    def failed(self):
        return self.stat("FailedCall(C)")

    def messages(self, direction=None):
        msgs = parse_message_log(self.msg_path)
        return [m for m in msgs if direction is None or m.direction == direction]

    def received(self):
        return self.messages("recv")

    def sent(self):
        return self.messages("sent")

    def screen_tail(self, n=40):
        try:
            with open(self.out_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def errors(self, n=40):
        try:
            with open(self.err_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


# --------------------------------------------------------------------------
# The test


class Tools:
    def __init__(self, sbc, migrate, encrypt, sipp="sipp", psql="psql"):
        self.sbc, self.migrate, self.encrypt, self.sipp, self.psql = sbc, migrate, encrypt, sipp, psql

    @classmethod
    def from_args(cls, a):
        return cls(a.sbc, a.migrate, a.encrypt, a.sipp, a.psql)


def tool_parser(doc, required=True):
    """The command line every SIPp test shares: the binaries it drives."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("sbc", "migrate", "encrypt"):
        ap.add_argument(f"--{name}", required=required)
    ap.add_argument("--sipp", default="sipp")
    ap.add_argument("--psql", default="psql")
    return ap


def udp_listeners_toml(inside, outside):
    """The sbc's two UDP listeners in its TOML: `inside` (PBXs) and `outside`
    (carriers), each (ip, port); each table after a blank line."""
    return "".join(f"""
[[listen]]
realm = "{realm}"
transport = "udp"
address = "{ip}"
port = {port}
""" for realm, (ip, port) in (("inside", inside), ("outside", outside)))


_MGMT_LOG_RE = re.compile(r"mgmt listening on (\d+\.\d+\.\d+\.\d+):(\d+)")


def mgmt_get(mgmt, path, timeout=5):
    """(status, text) of GET `path` on an sbc's mgmt API at `mgmt` (ip, port);
    (None, "") when it does not answer."""
    return sbctest.http_request("GET", f"http://{mgmt[0]}:{mgmt[1]}{path}", timeout=timeout)


def wait_healthy(sbc, who="the sbc", wait=20.0):
    """Waits until a starting sbc (sbctest.Sbc) has logged its mgmt address
    and answers /healthz 200 (a configuration loaded); returns that address
    as (ip, port). TestFailure when it exits or `wait` seconds pass first."""
    deadline = time.monotonic() + wait
    mgmt = None
    while time.monotonic() < deadline:
        if not sbc.alive():
            raise TestFailure(f"{who} exited at start (rc {sbc.proc.returncode})")
        if mgmt is None:
            with open(sbc.log_path, errors="replace") as f:
                m = _MGMT_LOG_RE.search(f.read())
            if m:
                mgmt = (m.group(1), int(m.group(2)))
        if mgmt is not None and mgmt_get(mgmt, "/healthz")[0] == 200:
            return mgmt
        time.sleep(0.1)
    raise TestFailure(f"{who} did not become healthy (mgmt port "
                      f"{'unknown' if mgmt is None else mgmt[1]})")


class CallTest:
    """A database, an sbc and its SIPp peers for one test case."""

    def __init__(self, name, tools, keep=False):
        self.name = name
        self.tools = tools
        self.keep = keep or bool(os.environ.get("SBC_CALLS_KEEP"))
        self.dir = tempfile.mkdtemp(prefix=f"sbc-calls-{name}-")
        self.sipps = []
        self.sbc = None
        self.mgmt = None
        self.base_dsn = os.environ.get("SBC_TEST_DSN")
        if not self.base_dsn:
            raise TestFailure("SBC_TEST_DSN is not set (ctest sets it; see tests/pg/README.md)")
        self.db_name = f"calls_{re.sub(r'[^a-z0-9_]', '_', name.lower())}_{os.getpid()}"
        self.dsn = re.sub(r"dbname=\S+", f"dbname={self.db_name}", self.base_dsn)
        if "dbname=" not in self.base_dsn:
            self.dsn = self.base_dsn + f" dbname={self.db_name}"
        self.key_path = os.path.join(self.dir, "secret.key")
        self.inside = (SBC_INSIDE_IP, free_udp_port(SBC_INSIDE_IP))
        self.outside = (SBC_OUTSIDE_IP, free_udp_port(SBC_OUTSIDE_IP))
        self.trunk_ids = {}
        self.db_created = False

    # -- lifetime ---------------------------------------------------------

    def __enter__(self):
        log(f"== {self.name}: work dir {self.dir}")
        self._psql(self.base_dsn, f"DROP DATABASE IF EXISTS {self.db_name}")
        self._psql(self.base_dsn, f"CREATE DATABASE {self.db_name}")
        self.db_created = True
        r = subprocess.run([self.tools.migrate, "--dsn", self.dsn, "--quiet"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise TestFailure(f"sbc-migrate failed ({r.returncode}): {r.stdout}{r.stderr}")
        with open(self.key_path, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        os.chmod(self.key_path, 0o600)
        return self

    def __exit__(self, exc_type, exc, tb):
        failed = exc_type is not None
        bad_exit = None
        for s in self.sipps:
            s.kill()
        if self.sbc is not None:
            rc = self.sbc.stop(timeout=15)
            if rc != 0 and not failed:
                # A crash or a sanitizer report at shutdown fails the case.
                bad_exit = f"the sbc exited with {rc} on SIGTERM (0 expected)"
                failed = True
        if failed:
            self.dump()
        if self.db_created:
            try:
                self._psql(self.base_dsn, f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
            except Exception as e:  # noqa: BLE001 - cleanup must not hide the failure
                log(f"warning: could not drop {self.db_name}: {e}")
        if not failed and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            log(f"   logs kept in {self.dir}")
        if bad_exit:
            raise TestFailure(bad_exit)
        return False

    def dump(self):
        if self.sbc is not None:
            log("---- sbc log (last 80 lines) ----")
            log(self.sbc.tail(80))
        for s in self.sipps:
            log(f"---- sipp {self.name}/{s.name}: rc {s.rc}, {' '.join(s.cmd[:3])}... ----")
            err = s.errors(20)
            if err:
                log(err)
            log(s.screen_tail(25))

    # -- database ---------------------------------------------------------

    def _psql(self, dsn, sql, timeout=30):
        r = subprocess.run([self.tools.psql, "-X", "-q", "-A", "-t", "-F", "\x1f",
                            "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise TestFailure(f"psql failed: {r.stderr.strip()}\n  SQL: {sql[:500]}")
        return [line.split("\x1f") for line in r.stdout.splitlines() if line != ""]

    def sql(self, statement):
        """Runs SQL in the test's database; the rows as lists of strings."""
        return self._psql(self.dsn, statement)

    def sql_value(self, statement):
        rows = self.sql(statement)
        return rows[0][0] if rows and rows[0] else None

    def encrypt(self, plaintext):
        r = subprocess.run([self.tools.encrypt, self.key_path, plaintext],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise TestFailure(f"sbc-test-encrypt failed: {r.stderr}")
        return r.stdout.strip()

    def add_trunk(self, name, kind, acl=(), gateways=(), **columns):
        """A trunk with its ACL (CIDRs) and gateways ((host, port) or
        (host, port, {column: value})); other trunk columns by keyword
        (max_calls=10, cps=5, session_expires=90, ...). Returns its id."""
        cols = {"name": name, "kind": kind,
                "realm": "inside" if kind == "pbx" else "outside"}
        cols.update(columns)
        names = ", ".join(cols)
        values = ", ".join(sql_literal(v) for v in cols.values())
        tid = int(self.sql_value(f"INSERT INTO trunks ({names}) VALUES ({values}) RETURNING id"))
        for cidr in acl:
            self.sql(f"INSERT INTO trunk_acl (trunk_id, cidr) VALUES ({tid}, {sql_literal(cidr)})")
        for gw in gateways:
            self.add_gateway(tid, *gw)
        self.trunk_ids[name] = tid
        return tid

    def add_gateway(self, trunk_id, host, port, extra=None):
        cols = {"trunk_id": trunk_id, "host": host, "port": port}
        cols.update(extra or {})
        names = ", ".join(cols)
        values = ", ".join(sql_literal(v) for v in cols.values())
        return int(self.sql_value(
            f"INSERT INTO trunk_gateways ({names}) VALUES ({values}) RETURNING id"))

    def add_credentials(self, trunk_id, direction, username, password, realm=""):
        hexed = self.encrypt(password)
        self.sql("INSERT INTO trunk_credentials (trunk_id, direction, username, secret, realm) "
                 f"VALUES ({trunk_id}, {sql_literal(direction)}, {sql_literal(username)}, "
                 f"'\\x{hexed}'::bytea, {sql_literal(realm)})")

    def add_did(self, number, trunk_id, status="active"):
        self.sql(f"INSERT INTO dids (number, trunk_id, status) VALUES "
                 f"({sql_literal(number)}, {trunk_id}, {sql_literal(status)})")

    def add_route(self, prefix, trunk_id, priority=10, weight=100):
        return int(self.sql_value(
            f"INSERT INTO routes (prefix, trunk_id, priority, weight) VALUES "
            f"({sql_literal(prefix)}, {trunk_id}, {priority}, {weight}) RETURNING id"))

    def add_ported(self, number, routing_number):
        self.sql(f"INSERT INTO ported_numbers (number, routing_number) VALUES "
                 f"({sql_literal(number)}, {sql_literal(routing_number)})")

    def cdrs(self, expected=None, timeout=15.0, where="true"):
        """CDR rows (dicts), oldest first. With `expected`, waits until that
        many are there (the sbc writes them in batches, off the SIP thread)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.sql(f"SELECT row_to_json(c) FROM (SELECT * FROM cdrs WHERE {where} "
                            "ORDER BY start_time, inserted_at) c")
            got = [json.loads(r[0]) for r in rows]
            if expected is None or len(got) >= expected or time.monotonic() > deadline:
                if expected is not None and len(got) != expected:
                    raise TestFailure(f"expected {expected} CDRs, found {len(got)}: "
                                      + json.dumps(got, indent=1)[:3000])
                return got
            time.sleep(0.2)

    # -- the sbc ----------------------------------------------------------

    def config_text(self, log_level="debug", extra=""):
        return f"""# written by tests/integration/calls/harness.py
[node]
name = "calls-{self.name}"
log_level = "{log_level}"
product = "edge-sbc-test"
shutdown_grace = 2

[sip]
max_message_size = 65535
idle_timeout = 60
domains = ["sbc.test"]

[database]
dsn = "{self.dsn}"
secret_key_file = "{self.key_path}"
pool_threads = 2
migrate = false

[cdr]
spool_dir = "{os.path.join(self.dir, 'cdr-spool')}"

[mgmt]
address = "127.0.0.1"
port = 0
{udp_listeners_toml(self.inside, self.outside)}{extra}"""

    def start_sbc(self, log_level="debug", extra="", wait=20.0, preexec_fn=None):
        """Starts the sbc and waits for /healthz 200 (a configuration loaded).
        `preexec_fn` runs in the child before exec (limits, capabilities)."""
        self.sbc = sbctest.Sbc(self.tools.sbc, self.dir, self.config_text(log_level, extra),
                               preexec_fn=preexec_fn)
        self.mgmt = wait_healthy(self.sbc, wait=wait)
        log(f"   sbc up: inside {self.inside}, outside {self.outside}, mgmt {self.mgmt}")

    def http_get(self, path, timeout=5):
        if self.mgmt is None:
            raise TestFailure("no mgmt address known")
        return mgmt_get(self.mgmt, path, timeout)

    def api_calls(self):
        code, body = self.http_get("/api/calls")
        if code != 200:
            raise TestFailure(f"/api/calls answered {code}: {body[:300]}")
        data = json.loads(body)
        if isinstance(data, dict):
            data = data.get("calls", [])
        return data

    def trunk_usage(self):
        """{trunk name: total channels in use} from /api/trunks/usage."""
        code, body = self.http_get("/api/trunks/usage")
        if code != 200:
            raise TestFailure(f"/api/trunks/usage answered {code}: {body[:300]}")
        data = json.loads(body)
        if isinstance(data, dict):
            data = data.get("trunks", list(data.values()) if all(
                isinstance(v, dict) for v in data.values()) else [])
        out = {}
        for t in data:
            total = t.get("total")
            if isinstance(total, dict):
                total = total.get("in_use", total.get("active", 0))
            if total is None:
                total = (t.get("inbound") or 0) + (t.get("outbound") or 0)
            out[t.get("name")] = total
        return out

    def metrics(self):
        """{(name, frozenset(labels)): value} from /metrics."""
        code, body = self.http_get("/metrics")
        if code != 200:
            raise TestFailure(f"/metrics answered {code}")
        out = {}
        line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
        label_re = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            m = line_re.match(line)
            if not m:
                continue
            labels = frozenset(label_re.findall(m.group(2) or ""))
            try:
                out[(m.group(1), labels)] = float(m.group(3))
            except ValueError:
                pass
        return out

    def metric(self, name, **labels):
        """The sum of a metric's series whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.metrics().items() if n == name and want <= set(ls))

    # -- SIPp -------------------------------------------------------------

    def sipp(self, name, scenario, local_ip, server=False, **kw):
        s = Sipp(self, name, scenario, local_ip, **kw)
        self.sipps.append(s)
        if server:
            s.wait_bound()
        return s

    # The usual roles. The PBX places calls from PBX_IP to the inside
    # listener and takes inbound calls on its gateway port; carriers answer
    # on their gateway ports and place inbound calls to the outside listener.

    def pbx_uac(self, scenario="pbx_uac.xml", number="12125550123", caller="14155550100",
                name="pbx", sets=None, **kw):
        all_sets = {"caller": caller}
        all_sets.update(sets or {})
        return self.sipp(name, scenario, PBX_IP, remote=self.inside, service=number,
                         cid_prefix="pbx-secret-", sets=all_sets, media_ip=PBX_MEDIA_IP, **kw)

    def pbx_uas(self, port, scenario="pbx_uas.xml", name="pbx_uas", **kw):
        return self.sipp(name, scenario, PBX_IP, port=port, server=True,
                         media_ip=PBX_MEDIA_IP, **kw)

    def carrier_uas(self, ip, port, scenario="carrier_uas.xml", name=None, **kw):
        return self.sipp(name or f"carrier_{ip.split('.')[-1]}", scenario, ip, port=port,
                         server=True, media_ip=CARRIER_MEDIA_IP, **kw)

    def carrier_uac(self, number="+14155550100", caller="+12125550123", ip=CARRIER1_IP,
                    scenario="carrier_uac.xml", name="carrier_uac", sets=None, **kw):
        all_sets = {"caller": caller}
        all_sets.update(sets or {})
        return self.sipp(name, scenario, ip, remote=self.outside, service=number,
                         cid_prefix="carrier-secret-", sets=all_sets,
                         media_ip=CARRIER_MEDIA_IP, **kw)

    # -- assertions -------------------------------------------------------

    def check(self, cond, what):
        log(("   ok   " if cond else "   FAIL ") + what)
        if not cond:
            raise TestFailure(what)

    def expect_exit(self, sipp, rc=0, successful=None, failed=None):
        got = sipp.wait()
        stats = f"successful {sipp.successful}, failed {sipp.failed}"
        self.check(got == rc, f"sipp {sipp.name} exits {rc} (got {got}; {stats})")
        if successful is not None:
            self.check(sipp.successful == successful,
                       f"sipp {sipp.name}: {successful} successful calls (got {sipp.successful})")
        if failed is not None:
            self.check(sipp.failed == failed,
                       f"sipp {sipp.name}: {failed} failed calls (got {sipp.failed})")

    def expect_channels_free(self, timeout=5.0):
        """Every trunk's channel count is back to 0 (whatever ended the calls)."""
        deadline = time.monotonic() + timeout
        usage = {}
        while time.monotonic() < deadline:
            usage = self.trunk_usage()
            if all(v == 0 for v in usage.values()):
                break
            time.sleep(0.2)
        self.check(usage != {} and all(v == 0 for v in usage.values()),
                   f"no channel in use on any trunk afterwards ({usage})")
        calls = self.api_calls()
        self.check(calls == [], f"/api/calls is empty afterwards ({len(calls)} calls)")

    def expect_hidden(self, receiver_msgs, secrets_list, what, fail=True):
        """None of `secrets_list` (strings, case-insensitive; an IPv4 address
        only as a whole address) appears in any of the messages. With
        fail=False, logs and returns the failure text instead of raising."""
        leaks = []
        pats = []
        for sec in secrets_list:
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", sec):
                pats.append((sec, re.compile(r"(?<![0-9.])" + re.escape(sec) + r"(?![0-9])")))
            else:
                pats.append((sec, re.compile(re.escape(sec), re.I)))
        for m in receiver_msgs:
            for sec, pat in pats:
                if pat.search(m.text):
                    line = next((ln for ln in m.text.split("\n") if pat.search(ln)), "")
                    leaks.append(f"{sec!r} in {m.first_line!r}: {line.strip()!r}")
        text = (f"{what}: nothing leaks ({len(receiver_msgs)} messages checked)"
                + ("" if not leaks else "\n        " + "\n        ".join(sorted(set(leaks))[:20])))
        if not fail:
            log(("   ok   " if not leaks else "   FAIL ") + text)
            return text if leaks else None
        self.check(not leaks, text)
        return None


class UdpPeer:
    """A scripted SIP peer on UDP: a thread hands each datagram's text (LF
    line ends, outer blank lines stripped) and its sender to
    self._handle(text, peer) until close(). Subclasses set their own state
    before calling __init__, which starts the thread."""

    def __init__(self, ip, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.sock.settimeout(0.1)
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(65535)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            self._handle(data.decode(errors="replace").replace("\r\n", "\n").strip("\n"), peer)

    def _handle(self, text, peer):
        raise NotImplementedError

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


class SilentUdp(UdpPeer):
    """A gateway that receives and never answers (a dead carrier switch that
    still has its address): records what arrives."""

    def __init__(self, ip, port):
        self.received = []  # (time, SipMessage)
        super().__init__(ip, port)

    def _handle(self, text, peer):
        if text:
            self.received.append(SipMessage("recv", time.time(), text))


class UdpRegistrar(UdpPeer):
    """A carrier's registrar on UDP, scripted: a REGISTER without
    credentials gets 401 (MD5, qop=auth); one with credentials gets
    `self.answer` (200 granting `grant` seconds on the sender's Contact, or
    an error code the test sets). Records (time, SipMessage, status sent)."""

    def __init__(self, ip, port, grant=10):
        self.grant = grant
        self.answer = 200
        self.log = []  # (time, SipMessage, status answered)
        self._lock = threading.Lock()
        super().__init__(ip, port)

    def _handle(self, text, peer):
        m = SipMessage("recv", time.time(), text)
        if m.is_response or m.method != "REGISTER":
            return
        vias = "".join(f"Via: {v}\r\n" for v in m.header_all("via"))
        head = (f"{vias}From: {m.header('from')}\r\nTo: {m.header('to')};tag=regtag\r\n"
                f"Call-ID: {m.call_id}\r\nCSeq: {m.header('cseq')}\r\n")
        if m.header("authorization") is None:
            code = 401
            extra = ('WWW-Authenticate: Digest realm="carrier.test", '
                     f'nonce="{secrets.token_hex(8)}", qop="auth", algorithm=MD5\r\n')
            reason = "Unauthorized"
        else:
            with self._lock:
                code = self.answer
            reason = "OK" if code == 200 else "Service Unavailable"
            extra = ""
            contact = m.header("contact") or ""
            if code == 200 and contact:
                extra = f"Contact: {contact};expires={self.grant}\r\n"
        reply = f"SIP/2.0 {code} {reason}\r\n{head}{extra}Content-Length: 0\r\n\r\n"
        self.sock.sendto(reply.encode(), peer)
        with self._lock:
            self.log.append((time.time(), m, code))

    def set_answer(self, code):
        with self._lock:
            self.answer = code

    def entries(self):
        with self._lock:
            return list(self.log)


class TlsUas:
    """A carrier gateway on TLS, scripted in Python (SIPp 3.6 in Debian has
    no TLS): accepts connections on (ip, port) with a certificate for ip
    signed by its own CA (`ca_path`, to be trusted by the sbc), answers every
    INVITE 100 + 200 with SDP, BYE and anything else 200, and records what
    arrives with the connection's peer address.

    The sbc verifies the gateway against the system trust store (no
    per-trunk CA in the node configuration yet), so the test points
    SSL_CERT_FILE at `ca_path` for the sbc process."""

    def __init__(self, workdir, ip, port, client_ca=None):
        """With `client_ca`, a client certificate signed by it is required.
        `sni` lists the server names clients sent, `client_cns` the common
        names of their certificates."""
        import ssl
        certdir = os.path.join(workdir, f"tls-{ip}")
        os.makedirs(certdir, exist_ok=True)
        certs = sbctest.make_certs(certdir, cn="carrier.test", ip=ip)
        self.ca_path = certs["ca"]
        self.ip, self.port = ip, port
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(certs["cert"], certs["key"])
        self.sni = []
        self.client_cns = []
        self.ctx.sni_callback = lambda sock, name, ctx: self.sni.append(name) and None
        if client_ca:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(client_ca)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((ip, port))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.received = []  # SipMessage, with .peer = (ip, port) of the connection
        self.sent = []
        self.errors = []
        self._stop = False
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self):
        import ssl
        while not self._stop:
            try:
                raw, peer = self.listener.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            try:
                raw.settimeout(5)
                conn = self.ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.errors.append(f"handshake with {peer}: {e}")
                raw.close()
                continue
            cert = conn.getpeercert() or {}
            subject = dict(x[0] for x in cert.get("subject", ()))
            if subject.get("commonName"):
                self.client_cns.append(subject["commonName"])
            th = threading.Thread(target=self._serve, args=(conn, peer), daemon=True)
            self._threads.append(th)
            th.start()

    def _serve(self, conn, peer):
        reader = sbctest.StreamReader(conn)
        with conn:
            while not self._stop:
                raw = reader.read_message(time.monotonic() + 0.3)
                if raw is None:
                    if reader.closed:
                        return
                    continue
                text = raw.decode(errors="replace").replace("\r\n", "\n").strip("\n")
                m = SipMessage("recv", time.time(), text)
                m.peer = peer
                with self._lock:
                    self.received.append(m)
                for reply in self._answer(m):
                    data = reply.encode()
                    conn.sendall(data)
                    with self._lock:
                        self.sent.append(SipMessage("sent", time.time(),
                                                    reply.replace("\r\n", "\n").strip("\n")))

    def _answer(self, m):
        if m.is_response or m.method == "ACK":
            return []
        vias = "".join(f"Via: {v}\r\n" for v in m.header_all("via"))
        to = m.header("to") or ""
        if ";tag=" not in to:
            to += ";tag=carriertag-tls"
        common = (f"{vias}From: {m.header('from')}\r\nTo: {to}\r\n"
                  f"Call-ID: {m.call_id}\r\nCSeq: {m.header('cseq')}\r\n"
                  "Server: Carrier-Secret-Switch/9.9\r\n")
        if m.method != "INVITE":
            return [f"SIP/2.0 200 OK\r\n{common}Content-Length: 0\r\n\r\n"]
        sdp = ("v=0\r\no=carriersecretuser 1 1 IN IP4 127.0.0.33\r\ns=carrier-secret-session\r\n"
               "c=IN IP4 127.0.0.33\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
               "a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")
        contact = f"Contact: <sip:carrier-secret@{self.ip}:{self.port};transport=tls>\r\n"
        return [f"SIP/2.0 100 Trying\r\n{common}Content-Length: 0\r\n\r\n",
                f"SIP/2.0 200 OK\r\n{common}{contact}Content-Type: application/sdp\r\n"
                f"Content-Length: {len(sdp)}\r\n\r\n{sdp}"]

    def messages(self):
        with self._lock:
            return list(self.received)

    def close(self):
        self._stop = True
        for th in self._threads:
            th.join(2)
        self.listener.close()


def digest_params(value):
    """The parameters of a `Digest k=v, k="v"` credential or challenge."""
    _, _, rest = value.partition(" ")
    return {k.lower(): v1 if v1 else v2
            for k, v1, v2 in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', rest)}


def digest_valid(credential, method, username, password):
    """Recomputes an RFC 2617/3261 MD5 digest response (qop=auth or none)."""
    import hashlib

    def md5(x):
        return hashlib.md5(x.encode()).hexdigest()

    p = digest_params(credential)
    if p.get("username") != username or p.get("algorithm", "MD5").upper() != "MD5":
        return False
    ha1 = md5(f"{username}:{p.get('realm', '')}:{password}")
    ha2 = md5(f"{method}:{p.get('uri', '')}")
    if p.get("qop"):
        want = md5(f"{ha1}:{p.get('nonce')}:{p.get('nc')}:{p.get('cnonce')}:{p.get('qop')}:{ha2}")
    else:
        want = md5(f"{ha1}:{p.get('nonce')}:{ha2}")
    return p.get("response", "").lower() == want


def sip_register(local, registrar, user, password, algorithm="MD5", expires=300, timeout=5.0):
    """A PBX's REGISTER over UDP from `local` (ip, port) with digest
    authentication, answering the challenge of `algorithm` (MD5 or SHA-256).

    Python rather than SIPp: SIPp 3.6 answers only the first WWW-Authenticate
    and knows only MD5, while the sbc offers SHA-256 first (RFC 8760 order).
    Returns the list of SipMessage responses received, last one final."""
    import hashlib

    def h(x):
        fn = hashlib.sha256 if algorithm.upper() == "SHA-256" else hashlib.md5
        return fn(x.encode()).hexdigest()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(local)
    call_id = f"pbx-secret-reg-{secrets.token_hex(6)}@{local[0]}"
    uri = f"sip:{registrar[0]}:{registrar[1]}"
    got = []

    def request(cseq, auth=None):
        branch = "z9hG4bK-pbxreg-" + secrets.token_hex(6)
        lines = [f"REGISTER {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch={branch};rport",
                 "Max-Forwards: 70",
                 f"From: <sip:{user}@{registrar[0]}>;tag=pbxregtag",
                 f"To: <sip:{user}@{registrar[0]}>",
                 f"Call-ID: {call_id}",
                 f"CSeq: {cseq} REGISTER",
                 f"Contact: <sip:{user}@{local[0]}:{local[1]}>",
                 f"Expires: {expires}",
                 "User-Agent: PBX-Secret-UA/1.0"]
        if auth:
            lines.append(f"Authorization: {auth}")
        data = ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()
        deadline = time.monotonic() + timeout
        interval = 0.5
        while time.monotonic() < deadline:
            sock.sendto(data, registrar)
            end = min(deadline, time.monotonic() + interval)
            while time.monotonic() < end:
                sock.settimeout(max(0.01, end - time.monotonic()))
                try:
                    raw, _ = sock.recvfrom(65535)
                except (socket.timeout, TimeoutError):
                    break
                m = SipMessage("recv", time.time(), raw.decode(errors="replace")
                               .replace("\r\n", "\n").strip("\n"))
                got.append(m)
                if m.status and m.status >= 200:
                    return m
            interval = min(interval * 2, 4.0)
        raise TestFailure(f"REGISTER {cseq}: no final response from {registrar}")

    try:
        first = request(1)
        if first.status != 401:
            return got
        chosen = None
        for c in first.header_all("www-authenticate"):
            p = digest_params(c)
            if p.get("algorithm", "MD5").upper() == algorithm.upper():
                chosen = p
        if chosen is None:
            raise TestFailure(f"the 401 offers no {algorithm} challenge: "
                              f"{first.header_all('www-authenticate')}")
        cnonce, nc = secrets.token_hex(8), "00000001"
        ha1 = h(f"{user}:{chosen['realm']}:{password}")
        ha2 = h(f"REGISTER:{uri}")
        if "qop" in chosen:
            resp = h(f"{ha1}:{chosen['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            extra = f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        else:
            resp = h(f"{ha1}:{chosen['nonce']}:{ha2}")
            extra = ""
        auth = (f'Digest username="{user}", realm="{chosen["realm"]}", nonce="{chosen["nonce"]}", '
                f'uri="{uri}", response="{resp}", algorithm={algorithm}{extra}')
        request(2, auth)
        return got
    finally:
        sock.close()


def run_case(func, tools, name, test_class=CallTest):
    """Runs one case function(test) on a fresh `test_class` (a CallTest) and
    returns the process exit code."""
    started = time.monotonic()
    try:
        with test_class(name, tools) as t:
            func(t)
    except TestFailure as e:
        log(f"FAIL {e}")
        log(f"== {name}: FAILED after {time.monotonic() - started:.1f} s")
        return 1
    except Exception:  # noqa: BLE001 - a harness bug must still fail the test loudly
        traceback.print_exc()
        log(f"== {name}: ERROR after {time.monotonic() - started:.1f} s")
        return 1
    log(f"== {name}: passed in {time.monotonic() - started:.1f} s")
    return 0


def case_registry():
    """A suite's cases, {name: (function, timeout)}, and the decorator that
    adds one: @case(timeout) on the case function, `timeout` being its ctest
    TIMEOUT (CMake reads them through --list)."""
    cases = {}

    def case(timeout):
        def wrap(f):
            cases[f.__name__] = (f, timeout)
            return f
        return wrap
    return cases, case


def cases_main(doc, cases, test_class=CallTest):
    """main() of a suite whose ctest cases CMake reads from `--list` ("case
    timeout" lines; sbc_add_sipp_suite): `cases` maps a name to (function,
    timeout). Runs the case named on the command line; the exit code."""
    ap = tool_parser(doc, required=False)
    ap.add_argument("--list", action="store_true", help="print 'case timeout' lines")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        for name, (_, timeout) in cases.items():
            print(f"{name} {timeout}")
        return 0
    if a.case not in cases:
        ap.error(f"unknown case {a.case!r}; one of: {', '.join(cases)}")
    if not (a.sbc and a.migrate and a.encrypt):
        ap.error("--sbc, --migrate and --encrypt are required")
    return run_case(cases[a.case][0], Tools.from_args(a), a.case, test_class)
