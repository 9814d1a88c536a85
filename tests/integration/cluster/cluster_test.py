#!/usr/bin/env python3
"""Clustering (issue 6): two sbc nodes on one PostgreSQL share a carrier
trunk's channel limit through leases (sbc/cluster/).

    cluster_test.py --sbc BIN --migrate BIN --encrypt BIN two_nodes
    cluster_test.py --list

two_nodes: node A (SIP on 127.0.0.4 / 127.0.0.14) and node B (127.0.0.5 /
127.0.0.15), cluster mode on, lease block 5, expiry 3 s. The carrier trunk
has max_calls 10. A starts alone and leases all 10; when B appears they
settle on 5 each. The PBX sends 8 held calls through each node at once:
exactly 10 are answered in all, the other 6 refused with 503. Then A is
killed (SIGKILL) with its calls up: its leases stay until their heartbeat is
older than the expiry, then B deletes them, leases the whole limit and takes
10 calls at once (an 11th refused). B stops cleanly and gives its lease back.

Reuses tests/integration/calls/harness.py (database, trunks, SIPp) and
sbctest.py (the sbc process). Python 3 standard library only.
"""
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "calls"))
from harness import (CARRIER1_IP, CARRIER_MEDIA_IP, PBX_IP, PBX_MEDIA_IP,  # noqa: E402
                     CallTest, TestFailure, cases_main, free_udp_port, log, mgmt_get,
                     udp_listeners_toml, wait_healthy)
import sbctest  # noqa: E402  (harness put tests/integration on the path)

LIMIT = 10
EXPIRY_S = 3


class Node:
    """One sbc of the cluster, with its own addresses, work dir and log."""

    def __init__(self, test, name, inside_ip, outside_ip):
        self.test = test
        self.name = name
        self.inside = (inside_ip, free_udp_port(inside_ip))
        self.outside = (outside_ip, free_udp_port(outside_ip))
        self.dir = os.path.join(test.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.sbc = None
        self.mgmt = None

    def config_text(self):
        t = self.test
        return f"""# written by tests/integration/cluster/cluster_test.py
[node]
name = "{self.name}"
log_level = "debug"
shutdown_grace = 2

[database]
dsn = "{t.dsn}"
secret_key_file = "{t.key_path}"
pool_threads = 2

[cdr]
spool_dir = "{os.path.join(self.dir, 'cdr-spool')}"

[mgmt]
address = "127.0.0.1"
port = 0

[cluster]
enabled = true
lease_block = 5
low_water = 1
expiry = {EXPIRY_S}
sync_interval_ms = 250
{udp_listeners_toml(self.inside, self.outside)}"""

    def start(self, wait=20.0):
        self.sbc = sbctest.Sbc(self.test.tools.sbc, self.dir, self.config_text())
        self.mgmt = wait_healthy(self.sbc, self.name, wait)
        log(f"   {self.name} up: inside {self.inside}, mgmt {self.mgmt}")

    def get(self, path):
        return mgmt_get(self.mgmt, path)

    def trunk(self, name):
        """This node's /api/trunks/usage entry of trunk `name`."""
        code, body = self.get("/api/trunks/usage")
        if code != 200:
            raise TestFailure(f"{self.name}: /api/trunks/usage answered {code}")
        for t in json.loads(body):
            if t.get("name") == name:
                return t
        raise TestFailure(f"{self.name}: trunk {name} not in /api/trunks/usage")

    def leased(self, trunk="carrier-a"):
        leased = self.trunk(trunk).get("leased")
        return None if leased is None else leased.get("max_calls")

    def metric(self, name, **labels):
        code, body = self.get("/metrics")
        if code != 200:
            raise TestFailure(f"{self.name}: /metrics answered {code}")
        total = 0.0
        for line in body.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kill9(self):
        self.sbc.proc.send_signal(signal.SIGKILL)
        self.sbc.proc.wait(10)

    def stop(self):
        if self.sbc is None:
            return 0
        rc = self.sbc.stop(timeout=15)
        self.sbc = None if rc is not None else self.sbc
        return rc


class ClusterTest(CallTest):
    """CallTest (database, trunks, SIPp) with several sbc nodes."""

    def __init__(self, name, tools):
        super().__init__(name, tools)
        self.nodes = []

    def node(self, name, inside_ip, outside_ip):
        n = Node(self, name, inside_ip, outside_ip)
        self.nodes.append(n)
        return n

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for n in self.nodes:
                if n.sbc is not None:
                    log(f"---- {n.name} log (last 60 lines) ----")
                    log(n.sbc.tail(60))
        for s in self.sipps:
            s.kill()
        for n in self.nodes:
            if n.sbc is not None and n.sbc.alive():
                n.sbc.stop(timeout=15)
        return super().__exit__(exc_type, exc, tb)

    def leases_in_db(self, trunk_id):
        """{node: calls leased} of a trunk, from the table itself."""
        return {r[0]: int(r[1]) for r in self.sql(
            f"SELECT node, calls FROM trunk_channel_leases WHERE trunk_id = {trunk_id}")}

    def wait_for(self, what, f, timeout=15.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = f()
            if last is True:
                return
            time.sleep(0.1)
        self.check(False, f"{what} (last seen: {last})")

    def pbx_calls(self, name, node, calls, duration_ms, timeout=40):
        return self.sipp(name, "pbx_uac_any.xml", PBX_IP, remote=node.inside,
                         service="12125550123", cid_prefix=f"pbx-{name}-",
                         sets={"caller": "14155550100"}, media_ip=PBX_MEDIA_IP,
                         calls=calls, rate=50, limit=calls, duration_ms=duration_ms,
                         timeout=timeout)


def invite_finals(sipp):
    """Final status codes of the INVITEs SIPp sent, one per call."""
    out = {}
    for m in sipp.received():
        if m.is_response and m.method == "INVITE" and m.status and m.status >= 200:
            out.setdefault(m.call_id, m.status)
    return out


def wait_finals(t, sipps, count, timeout=15.0):
    deadline = time.monotonic() + timeout
    finals = {}
    while time.monotonic() < deadline:
        finals = {}
        for s in sipps:
            finals.update(invite_finals(s))
        if len(finals) >= count:
            break
        time.sleep(0.2)
    return finals


def two_nodes(t):
    pbx_port = free_udp_port(PBX_IP)
    c_port = free_udp_port(CARRIER1_IP)
    t.add_trunk("pbx-a", "pbx", acl=["127.0.0.2/32"],
                gateways=[(PBX_IP, pbx_port, {"options_ping": False})])
    carrier = t.add_trunk("carrier-a", "carrier", acl=["127.0.0.3/32"],
                          gateways=[(CARRIER1_IP, c_port, {"options_ping": False})],
                          max_calls=LIMIT)
    t.add_route("", carrier)

    a = t.node("cluster-a", "127.0.0.4", "127.0.0.14")
    b = t.node("cluster-b", "127.0.0.5", "127.0.0.15")
    a.start()
    t.wait_for("A alone leases the whole limit",
               lambda: a.leased() == LIMIT or f"A {a.leased()}")
    b.start()
    t.wait_for("A and B settle on 5 channels each",
               lambda: (a.leased(), b.leased()) == (5, 5) or f"A {a.leased()}, B {b.leased()}")
    t.check(sum(t.leases_in_db(carrier).values()) == LIMIT,
            f"the leases in the database add up to {LIMIT} ({t.leases_in_db(carrier)})")

    # ---- 8 held calls through each node at once
    uas = t.carrier_uas(CARRIER1_IP, c_port, calls=LIMIT, timeout=60, name="carrier_1")
    pa = t.pbx_calls("pbx_a", a, 8, duration_ms=8000)
    pb = t.pbx_calls("pbx_b", b, 8, duration_ms=8000)
    finals = wait_finals(t, [pa, pb], 16)
    codes = sorted(finals.values())
    t.check(len(finals) == 16, f"16 calls got a final response ({len(finals)})")
    t.check(codes.count(200) == LIMIT, f"exactly {LIMIT} answered in all ({codes})")
    t.check(all(c in (200, 503) for c in codes) and codes.count(503) == 6,
            f"the other 6 refused with 503 ({codes})")
    time.sleep(0.5)
    ua, ub = a.trunk("carrier-a")["total"], b.trunk("carrier-a")["total"]
    t.check(ua + ub == LIMIT, f"carrier-a channels in use: A {ua} + B {ub} = {LIMIT}")
    held = t.leases_in_db(carrier)
    t.check(sum(held.values()) <= LIMIT, f"leases never above the limit ({held})")
    t.check(a.metric("sbc_cluster_leased_channels", trunk="carrier-a", kind="calls") == ua and
            b.metric("sbc_cluster_leased_channels", trunk="carrier-a", kind="calls") == ub,
            "sbc_cluster_leased_channels shows each node's lease")
    refused_b = b.metric("sbc_rejections_total", reason="limit")
    t.check(refused_b == 8 - ub, f"B counts its refusals as limit rejections ({refused_b})")

    # ---- A dies with its calls up
    a.kill9()
    killed_at = time.monotonic()
    log("   node A killed (SIGKILL)")
    t.check("cluster-a" in t.leases_in_db(carrier),
            "right after the kill A's leases are still there (not expired yet)")
    t.expect_exit(pb, 0)  # B's calls end normally (the PBX hangs up)
    pa.kill()
    uas.kill()
    t.wait_for("B's calls are over",
               lambda: b.trunk("carrier-a")["total"] == 0 or b.trunk("carrier-a")["total"])
    t.wait_for("after A's expiry, B leases the whole limit",
               lambda: b.leased() == LIMIT or f"B {b.leased()}, db {t.leases_in_db(carrier)}",
               timeout=EXPIRY_S + 10)
    freed_after = time.monotonic() - killed_at
    t.check(freed_after >= EXPIRY_S - 0.5,
            f"A's channels came back after its expiry ({freed_after:.1f} s >= ~{EXPIRY_S} s)")
    t.check(t.leases_in_db(carrier) == {"cluster-b": LIMIT},
            f"only B holds leases now ({t.leases_in_db(carrier)})")
    t.check(b.metric("sbc_cluster_expired_leases_deleted_total") >= 1,
            "B counted the expired lease it deleted")

    # ---- B alone takes 10 calls at once, an 11th is refused
    uas2 = t.carrier_uas(CARRIER1_IP, c_port, calls=LIMIT, timeout=40, name="carrier_2")
    pb2 = t.pbx_calls("pbx_b2", b, 11, duration_ms=3000)
    t.expect_exit(pb2, 0, successful=11)
    t.expect_exit(uas2, 0, successful=LIMIT)
    codes = sorted(invite_finals(pb2).values())
    t.check(codes.count(200) == LIMIT and codes.count(503) == 1,
            f"B alone: {LIMIT} answered, 1 refused ({codes})")

    # ---- a clean stop gives the lease back
    rc = b.stop()
    t.check(rc == 0, f"B stops cleanly (rc {rc})")
    t.check(t.leases_in_db(carrier) == {}, "B gave its lease back on stopping")


CASES = {"two_nodes": (two_nodes, 180)}


def main():
    return cases_main(__doc__, CASES, ClusterTest)


if __name__ == "__main__":
    sys.exit(main())
