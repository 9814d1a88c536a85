#!/usr/bin/env python3
"""A real call seen through the console, end to end (issue 5):

    e2e_call_test.py --sbc ... --migrate ... --encrypt ... --admin SBC_ADMIN
                     --web-dir admin-ui/web [--sipp ...] [--psql ...]

A real stack on loopback with free ports (calls/harness.py): a database of
its own on the ctest PostgreSQL, migrated; a real `sbc` with a PBX trunk
(127.0.0.2) and a carrier trunk (127.0.0.3) whose `sip_trace` is on; the
sbc registers itself in sbc_nodes, and `sbc-admin` (serving the built UI)
finds its mgmt API there, as in production. No media relay: the harness's
calls run without one.

e2e_call_browser.mjs (Chromium through playwright-core) logs in and opens
Live calls; when it prints READY the test places one SIPp call from the PBX,
held 15 s. The browser sees it live with its numbers and trunks, sees it go,
finds its CDR by the dialled number (200 OK, 0:15), opens the SIP ladder
from the CDR row and checks INVITE/180/200/ACK/BYE on both legs and a
message's text; then imports a few thousand ported numbers (progress bar to
100 %) and a file with bad rows (per-line report). Screenshots go to
$SBC_UI_ARTIFACTS. Any console error not provoked on purpose fails the run.
"""
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "calls"))
import console_api_test as console  # noqa: E402 (Admin: reused, not copied)
from harness import (CARRIER1_IP, PBX_IP, TestFailure, Tools, free_udp_port,  # noqa: E402
                     log, run_case, tool_parser)

CHROMIUM = os.environ.get("SBC_CHROMIUM", "/usr/bin/chromium")
USER, PASSWORD = "e2e-admin", "e2e-admin-password-1"
CALLER, CALLEE = "14155550100", "12125550123"
HOLD_MS = 15000
ARGS = None


class Browser:
    """e2e_call_browser.mjs as a child process: its output is echoed into
    the test's log, and `ready` is set when it asks for the call."""

    def __init__(self, env):
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "e2e_call_browser.mjs")],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, errors="replace")
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            log("   " + line)
            if line.strip() == "[e2e] READY":
                self.ready.set()

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "killed (timeout)"
        self.thread.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_console(t):
    dist = os.path.join(ARGS.web_dir, "dist")
    if not os.path.exists(os.path.join(dist, "index.html")):
        raise TestFailure(f"{dist}/index.html missing: build the admin-web target first")
    admin = console.web_console(ARGS.admin, t.dir, dist, t.dsn, t.key_path, migrate=False,
                                shutdown_grace=1)
    r = admin.create_admin(USER, PASSWORD)
    t.check(r.returncode == 0, f"create-admin ({r.stderr.strip()})")
    admin.start()
    return admin


def case_e2e(t):
    t.pbx_port = free_udp_port(PBX_IP)
    t.c1_port = free_udp_port(CARRIER1_IP)
    t.add_trunk("pbx-a", "pbx", acl=["127.0.0.2/32"],
                gateways=[(PBX_IP, t.pbx_port, {"options_ping": False})])
    carrier = t.add_trunk("carrier-a", "carrier", acl=["127.0.0.3/32"],
                          gateways=[(CARRIER1_IP, t.c1_port, {"options_ping": False})],
                          sip_trace=True)
    t.add_route("", carrier)
    t.start_sbc(log_level="info")
    # The node registers itself (with its mgmt address) once its
    # configuration is loaded; the console asks the nodes it finds there.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and t.sql_value(
            "SELECT count(*) FROM sbc_nodes WHERE mgmt_address <> '' AND stopped_at IS NULL") == "0":
        time.sleep(0.2)
    t.check(t.sql_value("SELECT mgmt_address FROM sbc_nodes") == f"{t.mgmt[0]}:{t.mgmt[1]}",
            "the sbc registered its mgmt API in sbc_nodes")
    admin = start_console(t)
    artifacts = os.path.abspath(os.environ.get("SBC_UI_ARTIFACTS", "ui-artifacts"))
    browser = None
    try:
        env = dict(os.environ, SBC_UI_URL=f"http://127.0.0.1:{admin.port}/",
                   SBC_UI_USER=USER, SBC_UI_PASSWORD=PASSWORD, SBC_UI_WEB_DIR=ARGS.web_dir,
                   SBC_UI_ARTIFACTS=artifacts, SBC_CHROMIUM=CHROMIUM,
                   SBC_E2E_CALLER=CALLER, SBC_E2E_CALLEE=CALLEE,
                   SBC_E2E_IN_TRUNK="pbx-a", SBC_E2E_OUT_TRUNK="carrier-a")
        browser = Browser(env)
        if not browser.ready.wait(90):
            rc = browser.wait(5) if browser.proc.poll() is not None else "still running"
            raise TestFailure(f"the browser never got to the live calls page (rc {rc})")
        uas = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1, timeout=60)
        uac = t.pbx_uac(number=CALLEE, caller=CALLER, calls=1, duration_ms=HOLD_MS, timeout=60)
        t.expect_exit(uac, 0, successful=1)
        t.expect_exit(uas, 0, successful=1)
        a_call_id = [m for m in uac.sent() if not m.is_response][0].call_id
        cdr = t.cdrs(expected=1)[0]
        t.check(cdr["a_call_id"] == a_call_id and cdr["sip_code"] == 200
                and HOLD_MS - 500 <= cdr["duration_ms"] <= HOLD_MS + 1500,
                f"the sbc wrote the CDR (200, {cdr['duration_ms']} ms, {cdr['a_call_id']})")
        rc = browser.wait(240)
        t.check(rc == 0, f"e2e_call_browser.mjs passed (rc {rc}; screenshots in {artifacts})")
        t.check(t.sql_value("SELECT count(*) FROM ported_numbers") == "4000"
                and t.sql_value("SELECT count(*) FROM ported_numbers WHERE number LIKE '+1416%'")
                == "0", "the good file's 4,000 rows are stored, none of the refused file's")
    finally:
        if browser is not None:
            browser.kill()
        rc = admin.stop()
        if rc not in (0, None):
            log(f"sbc-admin exited with {rc}:\n{admin.tail()}")


def main():
    global ARGS
    ap = tool_parser(__doc__)
    ap.add_argument("--admin", required=True, help="sbc-admin")
    ap.add_argument("--web-dir", required=True, help="admin-ui/web (with dist/ built)")
    ARGS = ap.parse_args()
    ARGS.admin = os.path.abspath(ARGS.admin)
    ARGS.web_dir = os.path.abspath(ARGS.web_dir)
    if not os.access(CHROMIUM, os.X_OK):
        log(f"FAIL: {CHROMIUM} not found (scripts/install-deps.sh installs chromium)")
        return 1
    artifacts = os.path.abspath(os.environ.get("SBC_UI_ARTIFACTS", "ui-artifacts"))
    os.makedirs(artifacts, exist_ok=True)
    for stale in ("e2e-failure.png",):
        if os.path.exists(os.path.join(artifacts, stale)):
            os.remove(os.path.join(artifacts, stale))
    return run_case(case_e2e, Tools.from_args(ARGS), "console_e2e")


if __name__ == "__main__":
    sys.exit(main())
