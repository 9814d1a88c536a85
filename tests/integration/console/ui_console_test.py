#!/usr/bin/env python3
"""The console web UI in real Chromium: sbc-admin (serving the built UI) on a
fresh database, then ui_browser.mjs (playwright-core driving Debian's
/usr/bin/chromium headless) logs in, creates a trunk through the form, finds
it in the list, sees the server's field error for a bad value inline, checks
the DIDs page, the dashboard and live calls fed by a fake node (and a
dead one), the phone layout, logs out, and fails on any console error in the page.

usage: ui_console_test.py SBC_ADMIN WEB_DIR   (WEB_DIR = admin-ui/web, built)
Screenshots go to $SBC_UI_ARTIFACTS (default: a ui-artifacts folder in cwd).
"""
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import sbcdb  # noqa: E402
import sbctest  # noqa: E402
from console_api_test import KEY_HEX, Failure, web_console  # noqa: E402

CHROMIUM = os.environ.get("SBC_CHROMIUM", "/usr/bin/chromium")
USER, PASSWORD = "ui-admin", "ui-admin-password-1"


class FakeNode(http.server.BaseHTTPRequestHandler):
    """An SBC node's mgmt API with one call in progress and one busy trunk,
    so that the live pages have something to poll."""
    started = time.time()

    def do_GET(self):
        age = int(time.time() - FakeNode.started)
        if self.path == "/api/calls":
            body = [{"handle": 7, "direction": "inbound", "inbound_trunk": "carrier-x",
                     "outbound_trunk": "pbx-x", "caller": "+15551230001",
                     "callee": "+442071234567", "state": "confirmed",
                     "start_time": "2026-01-01T00:00:00Z", "duration": age, "age": age}]
        elif self.path == "/api/trunks/usage":
            body = [{"id": 999, "name": "carrier-x", "kind": "carrier", "enabled": True,
                     "inbound": 2, "outbound": 1, "total": 3,
                     "limits": {"max_calls": 10, "max_inbound": 0, "max_outbound": 0,
                                "cps": 0, "cps_burst": 0},
                     "rejections": {"limit": 4},
                     "gateways": [{"id": 1, "host": "198.51.100.9", "port": 5060, "state": "up"},
                                  {"id": 2, "host": "198.51.100.10", "port": 5060,
                                   "state": "down"}]}]
        elif self.path.startswith("/api/route?"):
            body = FakeNode.route_answer(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query))
            if body is None:
                self.send_error(404)
                return
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

    @staticmethod
    def route_answer(q):
        """GET /api/route in the shape sbc/app/mgmt_route.cc answers (the
        real node's answer is checked by console_api_test.py)."""
        trunk = (q.get("trunk") or [""])[0]
        number = (q.get("number") or [""])[0]
        if trunk != "pbx-a":
            return None
        e164 = "+" + "".join(c for c in number if c.isdigit())
        return {"config_generation": 3, "input": number, "direction": "outbound",
                "trunk": {"id": 2, "name": trunk, "kind": "pbx", "enabled": True},
                "number": {"ok": True, "e164": e164},
                "lnp": {"source": "dip", "ported": False, "routing_number": e164, "rn": None,
                        "npdi": True},
                "routes": [{"prefix": "4420", "trunk_id": 1, "trunk": "carrier-a",
                            "priority": 5, "weight": 100}],
                "targets": [{"trunk_id": 1, "trunk": "carrier-a", "host": "198.51.100.7",
                             "port": 5061, "transport": "TCP", "gateway_id": 1,
                             "request_user": e164 + ";npdi", "to_user": e164, "down": False},
                            {"trunk_id": 1, "trunk": "carrier-a", "host": "198.51.100.8",
                             "port": 5060, "transport": "UDP", "gateway_id": 2,
                             "request_user": e164 + ";npdi", "to_user": e164, "down": True}],
                "reject": None}


def register_nodes(db, node_port, dead_port):
    # heartbeat_at an hour ahead: alive for the whole test without a ticker.
    deadline = time.monotonic() + 20
    while True:
        try:
            db.sql("INSERT INTO sbc_nodes (name, mgmt_address, heartbeat_at) VALUES "
                   f"('node-a', '127.0.0.1:{node_port}', now() + interval '1 hour'), "
                   f"('node-b', '127.0.0.1:{dead_port}', now() + interval '1 hour')")
            return
        except sbcdb.TestDbError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # migrations still running


def run(admin_bin, web_dir, workdir, artifacts):
    dist = os.path.join(web_dir, "dist")
    if not os.path.exists(os.path.join(dist, "index.html")):
        raise Failure(f"{dist}/index.html missing: build the admin-web target first")
    with sbcdb.TestDb("console_ui") as db:
        key_file = os.path.join(workdir, "secret.key")
        with open(key_file, "w") as f:
            f.write(KEY_HEX + "\n")
        admin = web_console(admin_bin, workdir, dist, db.dsn, key_file, migrate=True,
                            shutdown_grace=2)
        r = admin.create_admin(USER, PASSWORD)
        if r.returncode != 0:
            raise Failure(f"create-admin failed: {r.stderr.strip()}")
        admin.start()
        node = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeNode)
        threading.Thread(target=node.serve_forever, daemon=True).start()
        try:
            register_nodes(db, node.server_address[1], sbctest.free_port())
            # One finished call for the CDR page (an hour ago: inside its default range).
            db.sql("INSERT INTO cdrs (uuid, start_time, answer_time, end_time, duration_ms, direction, "
                   "node, a_call_id, b_call_id, in_trunk, out_trunk, caller_in, callee_in, caller_out, "
                   "callee_out, sip_code, sip_reason, q850_cause, ended_by, a_packets, a_packets_lost, "
                   "a_jitter_ms, b_packets, b_packets_lost, b_jitter_ms) VALUES "
                   "(gen_random_uuid(), now() - interval '1 hour', now() - interval '59 minutes', "
                   "now() - interval '57 minutes', 120000, 'inbound', 'node-a', 'a-call-1@test', "
                   "'b-call-1', 'carrier-x', 'pbx-x', '+15551230009', '+442071234567', "
                   "'+15551230009', '+442071234567', 200, 'OK', 16, 'caller', 6000, 12, 2.5, "
                   "5990, 3, 1.5)")
            # Its SIP trace, for the ladder page (what sbc/trace writes).
            db.sql("INSERT INTO sip_traces (call_id, leg, direction, at, node, transport, local, "
                   "remote, message) VALUES "
                   "('a-call-1@test', 'a', 'in', now() - interval '1 hour', 'node-a', 'udp', "
                   "'203.0.113.1:5060', '198.51.100.9:5060', E'INVITE sip:+442071234567@203.0.113.1 "
                   "SIP/2.0\\r\\nVia: SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bK1\\r\\n"
                   "Call-ID: a-call-1@test\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n'), "
                   "('a-call-1@test', 'b', 'out', now() - interval '1 hour' + interval '5 ms', "
                   "'node-a', 'udp', '10.0.0.1:5060', '10.0.0.20:5060', E'INVITE "
                   "sip:+442071234567@10.0.0.20 SIP/2.0\\r\\nVia: SIP/2.0/UDP 10.0.0.1:5060;"
                   "branch=z9hG4bK2\\r\\nCall-ID: b-call-1\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n'), "
                   "('a-call-1@test', 'b', 'in', now() - interval '1 hour' + interval '40 ms', "
                   "'node-a', 'udp', '10.0.0.1:5060', '10.0.0.20:5060', E'SIP/2.0 180 Ringing"
                   "\\r\\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK2\\r\\nCall-ID: "
                   "b-call-1\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n'), "
                   "('a-call-1@test', 'a', 'out', now() - interval '1 hour' + interval '42 ms', "
                   "'node-a', 'udp', '203.0.113.1:5060', '198.51.100.9:5060', E'SIP/2.0 180 "
                   "Ringing\\r\\nVia: SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bK1\\r\\n"
                   "Call-ID: a-call-1@test\\r\\nCSeq: 1 INVITE\\r\\n\\r\\n')")
            env = dict(os.environ, SBC_UI_URL=f"http://127.0.0.1:{admin.port}/",
                       SBC_UI_USER=USER, SBC_UI_PASSWORD=PASSWORD,
                       SBC_UI_WEB_DIR=web_dir, SBC_UI_ARTIFACTS=artifacts,
                       SBC_CHROMIUM=CHROMIUM)
            p = subprocess.run(["node", os.path.join(HERE, "ui_browser.mjs")], env=env,
                               timeout=240)
            if p.returncode != 0:
                raise Failure(f"ui_browser.mjs exited with {p.returncode}")
        finally:
            node.shutdown()
            rc = admin.stop()
            if rc not in (0, None):
                sbctest.log(f"sbc-admin exited with {rc}")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    if not os.access(CHROMIUM, os.X_OK):
        sbctest.log(f"FAIL: {CHROMIUM} not found (deploy/install-deps.sh installs chromium)")
        return 1
    admin_bin, web_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    artifacts = os.path.abspath(os.environ.get("SBC_UI_ARTIFACTS", "ui-artifacts"))
    os.makedirs(artifacts, exist_ok=True)
    stale = os.path.join(artifacts, "failure.png")
    if os.path.exists(stale):
        os.remove(stale)
    return sbctest.run_main(lambda workdir: run(admin_bin, web_dir, workdir, artifacts),
                            "console-ui-test-",
                            errors=(Failure, sbcdb.TestDbError, subprocess.TimeoutExpired))


if __name__ == "__main__":
    sys.exit(main())
