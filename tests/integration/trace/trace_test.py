#!/usr/bin/env python3
"""SIP tracing through the whole sbc (issue 6), on calls/harness.py:

    trace_test.py --sbc ... --migrate ... --encrypt ... [--sipp ...] [--psql ...] CASE

trunk: a PBX trunk with sip_trace on, one SIPp call to the carrier; then
    sip_traces holds INVITE/100/180/200/ACK/BYE/200 on both legs under the
    A-leg Call-ID, the B-leg messages carry nothing of the PBX (topology
    hiding holds in traces), and a UDP listener received HEPv3 packets that
    decode to the same messages.
live: tracing off on every trunk; the call is traced from the middle on by
    POST /api/calls/{call_id}/trace (the mgmt API): its BYE/200 are in
    sip_traces, its INVITE is not.
console: the console's side (needs --admin): POST /api/v1/live/calls/{id}/trace
    reaches the node through sbc_nodes (operator+, audited, 404 for an
    unknown call), GET /api/v1/calls/{id}/trace answers the rows in time
    order (viewer+, 401 without a session).
"""
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "calls"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "console"))
from harness import (CARRIER1_IP, PBX_IP, PBX_SECRETS, SipMessage, TestFailure,  # noqa: E402
                     Tools, free_udp_port, log, run_case)
from harness import tool_parser  # noqa: E402


class HepListener:
    """Collects the UDP datagrams a HEP collector would get."""

    def __init__(self, ip="127.0.0.1"):
        self.port = free_udp_port(ip)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, self.port))
        self.sock.settimeout(0.2)
        self.packets = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                data, _ = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            self.packets.append(data)

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def decode_hep(data):
    """{chunk type: value bytes} of a HEPv3 packet; raises ValueError."""
    if len(data) < 6 or data[:4] != b"HEP3":
        raise ValueError("no HEP3 magic")
    total = struct.unpack("!H", data[4:6])[0]
    if total != len(data):
        raise ValueError(f"length {total} != {len(data)}")
    out = {}
    at = 6
    while at < len(data):
        if len(data) - at < 6:
            raise ValueError("truncated chunk header")
        vendor, ctype, clen = struct.unpack("!HHH", data[at:at + 6])
        if clen < 6 or at + clen > len(data):
            raise ValueError("bad chunk length")
        if vendor == 0:
            out[ctype] = data[at + 6:at + clen]
        at += clen
    return out


def first_line(text):
    return text.split("\r\n", 1)[0]


def label(text):
    """'INVITE' for a request, '200 INVITE' for a response."""
    line = first_line(text)
    if line.startswith("SIP/2.0 "):
        code = line.split(" ")[1]
        cseq = next((ln.split(":", 1)[1].split() for ln in text.split("\r\n")
                     if ln.lower().startswith("cseq:")), ["", ""])
        return f"{code} {cseq[1] if len(cseq) > 1 else ''}"
    return line.split(" ")[0]


def traces(t, call_id, want, timeout=10.0):
    """sip_traces rows of the call (dicts, in time order), waiting until
    `want(rows)` holds or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        rows = t.sql("SELECT row_to_json(x) FROM (SELECT * FROM sip_traces WHERE call_id = "
                     f"'{call_id.replace(chr(39), chr(39) * 2)}' ORDER BY at, id) x")
        got = [json.loads(r[0]) for r in rows]
        if want(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def labels_of(rows, leg):
    return [label(r["message"]) for r in rows if r["leg"] == leg]


def http_post(t, path):
    url = f"http://{t.mgmt[0]}:{t.mgmt[1]}{path}"
    req = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def setup(t, pbx_trace):
    t.pbx_port = free_udp_port(PBX_IP)
    t.c1_port = free_udp_port(CARRIER1_IP)
    t.add_trunk("pbx-a", "pbx", acl=["127.0.0.2/32"],
                gateways=[(PBX_IP, t.pbx_port, {"options_ping": False})], sip_trace=pbx_trace)
    carrier = t.add_trunk("carrier-a", "carrier", acl=["127.0.0.3/32"],
                          gateways=[(CARRIER1_IP, t.c1_port, {"options_ping": False})])
    t.add_route("", carrier)


# The carrier sends 100 Trying; the sbc's own 100 to the PBX leaves only when
# nothing else answers the INVITE within 200 ms (the 180 usually does).
WANT_B = ["INVITE", "100 INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"]
WANT_A = ["INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"]


def contains_in_order(seq, want):
    it = iter(seq)
    return all(any(x == w for x in it) for w in want)


def case_trunk(t):
    setup(t, pbx_trace=True)
    hep = HepListener()
    try:
        t.start_sbc(extra=f"""
[trace]
retention_hours = 24
hep_address = "127.0.0.1:{hep.port}"
hep_id = 4242
""")
        carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1)
        pbx = t.pbx_uac(number="12125550123", calls=1, duration_ms=500)
        t.expect_exit(pbx, 0, successful=1)
        t.expect_exit(carrier, 0, successful=1)
        a_call_id = [m for m in pbx.sent() if not m.is_response][0].call_id
        b_call_id = [m for m in carrier.received() if not m.is_response][0].call_id
        log(f"   A-leg Call-ID {a_call_id}, B-leg {b_call_id}")

        rows = traces(t, a_call_id, lambda r: contains_in_order(labels_of(r, "a"), WANT_A)
                      and contains_in_order(labels_of(r, "b"), WANT_B))
        a, b = labels_of(rows, "a"), labels_of(rows, "b")
        t.check(contains_in_order(a, WANT_A), f"leg a traced: {WANT_A} in order (got {a})")
        t.check(contains_in_order(b, WANT_B), f"leg b traced: {WANT_B} in order (got {b})")
        pbx_got = [m.first_line for m in pbx.received()]
        t.check(("100 INVITE" in a) == any(x.startswith("SIP/2.0 100") for x in pbx_got),
                "the trace has a 100 to the PBX exactly when the PBX got one")
        t.check(all(r["call_id"] == a_call_id for r in rows),
                "every row is keyed by the A-leg Call-ID")
        t.check(t.sql_value(f"SELECT count(*) FROM sip_traces WHERE call_id = '{b_call_id}'")
                == "0", "nothing is keyed by the B-leg Call-ID")
        a_dirs = {(label(r["message"]), r["direction"]) for r in rows if r["leg"] == "a"}
        t.check(("INVITE", "in") in a_dirs and ("200 INVITE", "out") in a_dirs,
                f"leg a: INVITE in, 200 out ({sorted(a_dirs)})")
        b_dirs = {(label(r["message"]), r["direction"]) for r in rows if r["leg"] == "b"}
        t.check(("INVITE", "out") in b_dirs and ("200 INVITE", "in") in b_dirs,
                f"leg b: INVITE out, 200 in ({sorted(b_dirs)})")
        b_in = next(r for r in rows if r["leg"] == "b" and r["direction"] == "in")
        t.check(b_in["remote"] == f"{CARRIER1_IP}:{t.c1_port}" and b_in["transport"] == "udp",
                f"leg b's remote is the carrier ({b_in['remote']}, {b_in['transport']})")
        t.check(all(r["node"] == f"calls-{t.name}" for r in rows), "rows name the node")
        # The B-leg INVITE as traced is what the carrier got, Call-ID and all.
        b_invite = next(r["message"] for r in rows if r["leg"] == "b" and label(r["message"])
                        == "INVITE")
        t.check(b_call_id in b_invite, "the traced B-leg INVITE carries the B-leg Call-ID")
        b_msgs = [SipMessage("sent", 0, r["message"]) for r in rows if r["leg"] == "b"]
        t.expect_hidden(b_msgs, PBX_SECRETS + [PBX_IP, a_call_id],
                        "topology hiding in the B-leg trace")

        # HEP: one packet per traced message, each a well-formed HEPv3 packet.
        deadline = time.monotonic() + 5
        while len(hep.packets) < len(rows) and time.monotonic() < deadline:
            time.sleep(0.1)
        t.check(len(hep.packets) >= len(rows),
                f"a HEP packet per traced message ({len(hep.packets)} for {len(rows)})")
        decoded = []
        for p in hep.packets:
            try:
                decoded.append(decode_hep(p))
            except ValueError as e:
                t.check(False, f"HEP packet decodes ({e})")
        t.check(all(d.get(0x0b) == b"\x01" and d.get(0x0c) == struct.pack("!I", 4242)
                    and d.get(0x11) == a_call_id.encode() and d.get(0x01) == b"\x02"
                    and d.get(0x02) == b"\x11" for d in decoded),
                "HEP: SIP over UDP/IPv4, capture id 4242, correlation id = A-leg Call-ID")
        payloads = [d.get(0x0f, b"").decode(errors="replace") for d in decoded]
        t.check(any(first_line(p).startswith("INVITE ") for p in payloads)
                and any(first_line(p).startswith("BYE ") for p in payloads),
                "HEP payloads are the SIP messages")
        carrier_ip = socket.inet_aton(CARRIER1_IP)
        t.check(any(d.get(0x04) == carrier_ip and d.get(0x08) == struct.pack("!H", t.c1_port)
                    for d in decoded), "HEP: messages to the carrier have its address and port")
        t.check(t.metric("sbc_trace_messages_total") >= len(rows) or _wait_metric(t, len(rows)),
                "sbc_trace_messages_total counts them")
        t.check(t.metric("sbc_trace_hep_sent_total") >= 1 or _wait_metric(
            t, 1, "sbc_trace_hep_sent_total"), "sbc_trace_hep_sent_total counts HEP packets")
    finally:
        hep.close()


def _wait_metric(t, at_least, name="sbc_trace_messages_total"):
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if t.metric(name) >= at_least:
            return True
        time.sleep(0.3)
    return False


def case_live(t):
    setup(t, pbx_trace=False)
    t.start_sbc()
    code, _ = http_post(t, "/api/calls/no-such-call/trace")
    t.check(code == 404, f"POST trace of an unknown call: 404 (got {code})")
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1)
    pbx = t.pbx_uac(number="12125550123", calls=1, duration_ms=2500)
    calls = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not calls:
        calls = [c for c in t.api_calls() if c.get("state") == "confirmed"]
        time.sleep(0.1)
    t.check(len(calls) == 1 and calls[0].get("call_id"),
            f"/api/calls lists the answered call with its call_id ({calls})")
    a_call_id = calls[0]["call_id"]
    t.check(calls[0].get("traced") is False, "not traced before the POST")
    code, body = http_post(t, "/api/calls/" + urllib.parse.quote(a_call_id, safe="") + "/trace")
    t.check(code == 200 and json.loads(body).get("call_id") == a_call_id,
            f"POST /api/calls/{{call_id}}/trace: 200 naming the A-leg Call-ID ({code} {body})")
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    rows = traces(t, a_call_id, lambda r: "200 BYE" in labels_of(r, "b"))
    a, b = labels_of(rows, "a"), labels_of(rows, "b")
    t.check("BYE" in a and "200 BYE" in a and "BYE" in b and "200 BYE" in b,
            f"the BYE and its 200 are traced on both legs (a {a}, b {b})")
    t.check("INVITE" not in a + b, "messages before the POST are not")


def case_console(t):
    import console_api_test as console  # noqa: E402 (Admin, Client: reused, not copied)
    if not ADMIN_BIN:
        raise TestFailure("the console case needs --admin")
    setup(t, pbx_trace=False)
    t.start_sbc()
    admin = console.Admin(ADMIN_BIN, t.dir, f"""
log_level = "info"
shutdown_grace = 1
[http]
address = "127.0.0.1"
port = 0
[database]
dsn = "{t.dsn}"
migrate = false
secret_key_file = "{t.key_path}"
""")
    r = admin.run_command("create-admin", "--username", "root", "--password-stdin",
                          stdin="trace-admin-password-1\n")
    t.check(r.returncode == 0, f"create-admin ({r.stderr.strip()})")
    admin.start()
    try:
        root = console.Client(admin.port)
        status = None
        deadline = time.monotonic() + 15
        while status != 200 and time.monotonic() < deadline:
            status, _, _, _ = root.login("root", "trace-admin-password-1")
            if status != 200:
                time.sleep(0.2)
        t.check(status == 200, f"logged in to the console ({status})")
        anon = console.Client(admin.port)
        status, _, _, _ = anon.request("GET", "/api/v1/calls/x/trace")
        t.check(status == 401, f"GET trace needs a session ({status})")
        # The node registers itself in sbc_nodes once its configuration is loaded.
        deadline = time.monotonic() + 10
        while t.sql_value("SELECT count(*) FROM sbc_nodes") == "0" and time.monotonic() < deadline:
            time.sleep(0.2)
        status, body, _, _ = root.request("POST", "/api/v1/live/calls/no-such-call/trace")
        t.check(status == 404 and body and body.get("traced") is False and body.get("nodes"),
                f"an unknown call: 404 naming the nodes asked ({status} {body})")

        carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1)
        pbx = t.pbx_uac(number="12125550123", calls=1, duration_ms=2500)
        calls = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not calls:
            calls = [c for c in t.api_calls() if c.get("state") == "confirmed"]
            time.sleep(0.1)
        t.check(len(calls) == 1, f"the call is up ({calls})")
        a_call_id = calls[0]["call_id"]
        quoted = urllib.parse.quote(a_call_id, safe="")
        status, body, _, _ = root.request("POST", f"/api/v1/live/calls/{quoted}/trace")
        t.check(status == 200 and body.get("traced") is True
                and any(n.get("ok") for n in body.get("nodes", [])),
                f"POST /api/v1/live/calls/{{id}}/trace: 200, a node traces it ({status} {body})")
        t.expect_exit(pbx, 0, successful=1)
        t.expect_exit(carrier, 0, successful=1)
        rows = traces(t, a_call_id, lambda r: "200 BYE" in labels_of(r, "b"))
        t.check(len(rows) >= 4, f"the rest of the call is in sip_traces ({len(rows)} rows)")
        status, body, _, _ = root.request("GET", f"/api/v1/calls/{quoted}/trace")
        items = (body or {}).get("items", [])
        t.check(status == 200 and body.get("call_id") == a_call_id and len(items) == len(rows),
                f"GET /api/v1/calls/{{id}}/trace: 200 with every row ({status}, {len(items)})")
        t.check([i["id"] for i in items] == [r["id"] for r in rows]
                and all(i["message"] == r["message"] and i["leg"] == r["leg"]
                        for i, r in zip(items, rows)),
                "in time order, messages intact")
        t.check(all(i["at"].endswith("Z") and "T" in i["at"] for i in items),
                "times are ISO 8601 UTC")
        t.check(t.sql_value("SELECT count(*) FROM audit_log WHERE action = 'trace' AND "
                            f"entity = 'call' AND entity_id = '{a_call_id}'") == "1",
                "the live trace request is audited")
    finally:
        admin.stop()


CASES = {"trunk": case_trunk, "live": case_live, "console": case_console}
ADMIN_BIN = None


def main():
    ap = tool_parser(__doc__)
    ap.add_argument("--admin", help="sbc-admin (the console case)")
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    global ADMIN_BIN
    ADMIN_BIN = a.admin
    tools = Tools.from_args(a)
    return run_case(CASES[a.case], tools, "trace_" + a.case)


if __name__ == "__main__":
    sys.exit(main())
