#!/usr/bin/env python3
"""Drives the real media-relay binary on loopback: control protocol over TCP,
RTP over UDP sockets. Usage: relay_process_test.py MEDIA_RELAY_BINARY"""
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

# The tests' shared helpers (tests/integration/sbctest.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integration"))
from sbctest import drop_rt_rights  # noqa: E402

HOST = "127.0.0.1"
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)
    return cond


def rtp(seq, ts=0, ssrc=0x1234ABCD, pt=0, payload=None):
    body = payload if payload is not None else bytes([seq & 0xFF]) * 160
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + body


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.settimeout(1.0)
    return s


def recv_or_none(sock, timeout=0.4):
    sock.settimeout(timeout)
    try:
        return sock.recvfrom(4096)
    except socket.timeout:
        return None


class Relay:
    def __init__(self, binary, workdir, node_extra="", workers=2, preexec_fn=None):
        base = random.randrange(42000, 58000, 400)
        self.port_min, self.port_max = base, base + 199
        cfg = os.path.join(workdir, "relay.toml")
        with open(cfg, "w") as f:
            f.write(f"""
[node]
name = "relay-test"
log_level = "info"
workers = {workers}
{node_extra}
[realm.inside]
address = "{HOST}"
[realm.outside]
address = "{HOST}"
[ports]
min = {self.port_min}
max = {self.port_max}
[control]
address = "{HOST}"
port = 0
[http]
address = "{HOST}"
port = 0
[sessions]
ttl = 2
latch_window_ms = 500
""")
        self.log_path = os.path.join(workdir, "relay.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "--config", cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
        deadline = time.time() + 15
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                m = re.search(rb"ready: control [^:]+:(\d+) http [^:]+:(\d+)", f.read())
            if m:
                self.control_port, self.http_port = int(m.group(1)), int(m.group(2))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("relay did not start:\n" + open(self.log_path).read())

    def metrics(self):
        with urllib.request.urlopen(f"http://{HOST}:{self.http_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, name, labels=""):
        for line in self.metrics().splitlines():
            if line.startswith(name + ("{" + labels + "}" if labels else " ")):
                return float(line.rsplit(" ", 1)[1])
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return None
        return self.proc.returncode


class Control:
    """One SBC connection: requests with ids, events collected on the side."""

    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.buf = b""
        self.events = []
        self.n = 0

    def line(self, timeout=5.0):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send_raw(self, data):
        self.sock.sendall(data)

    def response(self, timeout=5.0):
        while True:
            msg = self.line(timeout)
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def call(self, verb, rid=None, **fields):
        self.n += 1
        msg = {"version": 1, "id": rid or f"r{self.n}", "verb": verb}
        msg.update(fields)
        self.send_raw((json.dumps(msg) + "\n").encode())
        return self.response()

    def wait_event(self, timeout):
        deadline = time.time() + timeout
        while not self.events and time.time() < deadline:
            try:
                msg = self.line(deadline - time.time())
            except (socket.timeout, TimeoutError):
                break
            if "event" in msg:
                self.events.append(msg)
        return self.events.pop(0) if self.events else None

    def close(self):
        self.sock.close()


def leg(sock=None, realm="inside", **extra):
    d = {"realm": realm, "payload_types": [{"pt": 0, "encoding": "PCMU", "clock_rate": 8000}]}
    if sock is not None:
        d["rtp"] = {"address": HOST, "port": sock.getsockname()[1]}
    d.update(extra)
    return d


def relay_addr(result, i):
    l = result["result"]["legs"][i]
    return (l["local_address"], l["rtp_port"])


def expect_stranger_dropped(r, stranger, port, far, packet, who):
    """Strict source: `packet` from `stranger` to `port` is not forwarded to
    `far` and counts once in relay_dropped_total{reason="strict_source"}."""
    before = r.metric("relay_dropped_total", 'reason="strict_source"') or 0
    stranger.sendto(packet, port)
    check(recv_or_none(far) is None, f"{who} is not forwarded")
    time.sleep(0.1)
    after = r.metric("relay_dropped_total", 'reason="strict_source"') or 0
    check(after == before + 1, f"{who} is counted as strict_source ({before} -> {after})")


def test_plain_forwarding(c, r):
    a, b, stranger = udp(), udp(), udp()
    res = c.call("create", call_id="plain@test", legs=[leg(a), leg(b, "outside")])
    check("result" in res, f"create answered {res}")
    ra, rb = relay_addr(res, 0), relay_addr(res, 1)
    check(ra[1] % 2 == 0 and r.port_min <= ra[1] <= r.port_max, f"even port in range {ra}")
    check(res["result"]["legs"][0]["rtcp_port"] == ra[1] + 1, "rtcp port = rtp + 1")
    # RTCP to the +1 port, from A's RTP port (same IP: latched in the window).
    rr = bytes([0x80, 201, 0, 1]) + struct.pack("!I", 0x1234ABCD)
    a.sendto(rr, (ra[0], ra[1] + 1))
    for i in range(5):
        pkt = rtp(1000 + i, 160 * i, payload=os.urandom(160))
        a.sendto(pkt, ra)
        got = recv_or_none(b)
        check(got is not None and got[0] == pkt, f"A->B packet {i} byte-identical")
        check(got is not None and got[1] == rb, f"A->B comes from leg B's port {got and got[1]}")
        back = rtp(5000 + i, 999 + 160 * i, ssrc=0xCAFEBABE, pt=8)
        b.sendto(back, rb)
        got = recv_or_none(a)
        check(got is not None and got[0] == back, f"B->A packet {i} byte-identical")
    # Strict source: a stranger's packets to leg A's port are dropped.
    expect_stranger_dropped(r, stranger, ra, b, rtp(1, 1), "a stranger's packet")
    q = c.call("query", call_id="plain@test")
    legs = q["result"]["legs"]
    check(legs[0]["packets_in"] >= 5 and legs[1]["packets_out"] >= 5,
          f"query stats count the packets {legs}")
    check(legs[0]["bytes_in"] == 5 * 172 + len(rr), f"bytes_in counted {legs[0]}")
    d = c.call("destroy", call_id="plain@test")
    check(d["result"]["legs"][1]["packets_in"] == 5, f"destroy returns stats {d}")
    check(c.call("query", call_id="plain@test")["error"]["code"] == "unknown_session",
          "destroyed session is gone")
    a.sendto(rtp(9, 9), ra)
    check(recv_or_none(b) is None, "nothing forwarded after destroy")


def test_srtp_chain(c, r):
    """RTP -> relay session 1 (B leg SRTP) -> relay session 2 (A leg SRTP) -> RTP."""
    a, b = udp(), udp()
    s1 = c.call("create", call_id="srtp1@test", legs=[
        leg(a), leg(None, "outside", crypto={"suite": "AES_CM_128_HMAC_SHA1_80", "generate": True})])
    k1 = s1["result"]["legs"][1]["crypto"]
    check(k1["suite"] == "AES_CM_128_HMAC_SHA1_80" and len(k1["key"]) == 40, f"key returned {k1}")
    s1b = relay_addr(s1, 1)
    s2 = c.call("create", call_id="srtp2@test", legs=[
        {"realm": "outside", "rtp": {"address": s1b[0], "port": s1b[1]},
         "crypto": {"suite": "AES_CM_128_HMAC_SHA1_80", "key": k1["key"]}},
        leg(b)])
    k2 = s2["result"]["legs"][0]["crypto"]
    check(k2["key"] != k1["key"], "each leg has its own sending key")
    s2a = relay_addr(s2, 0)
    u = c.call("update", call_id="srtp1@test", legs=[
        {}, {"rtp": {"address": s2a[0], "port": s2a[1]},
             "crypto": {"suite": "AES_CM_128_HMAC_SHA1_80", "key": k2["key"]}}])
    check(u.get("verb") == "update" and u["result"]["legs"][1]["crypto"]["key"] == k1["key"],
          f"update keeps the relay's sending key {u}")
    ok = 0
    for i in range(10):
        pkt = rtp(20 + i, 160 * i, payload=os.urandom(160))
        a.sendto(pkt, relay_addr(s1, 0))
        got = recv_or_none(b)
        ok += got is not None and got[0] == pkt
        back = rtp(700 + i, 160 * i, ssrc=0x55, payload=os.urandom(160))
        b.sendto(back, relay_addr(s2, 1))
        got = recv_or_none(a)
        ok += got is not None and got[0] == back
    check(ok == 20, f"RTP->SRTP->RTP both ways byte-identical ({ok}/20)")
    q1 = c.call("query", call_id="srtp1@test")["result"]["legs"][1]
    check(q1["packets_out"] == 10 and q1["bytes_out"] == 10 * (172 + 10),
          f"SRTP leg sends 10-byte tags {q1}")
    # Re-key the A leg of session 2 with a wrong key: packets now fail auth.
    wrong = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
    c.call("update", call_id="srtp2@test",
           legs=[{"crypto": {"suite": "AES_CM_128_HMAC_SHA1_80", "key": wrong}}, {}])
    time.sleep(0.05)
    a.sendto(rtp(40, 7000), relay_addr(s1, 0))
    check(recv_or_none(b) is None, "a packet failing SRTP auth is not forwarded")
    q2 = c.call("query", call_id="srtp2@test")["result"]["legs"][0]
    check(q2["srtp_auth_failures"] == 1, f"auth failure counted {q2}")
    # Plain RTP sent straight to an SRTP leg fails auth too.
    x, y = udp(), udp()
    s3 = c.call("create", call_id="srtp3@test", legs=[
        leg(None, crypto={"suite": "AEAD_AES_128_GCM", "key": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="}),
        leg(y)])
    x.sendto(rtp(1, 1), relay_addr(s3, 0))
    check(recv_or_none(y) is None, "plain RTP to an SRTP leg is dropped")
    q3 = c.call("query", call_id="srtp3@test")["result"]["legs"][0]
    check(q3["srtp_auth_failures"] == 1, f"GCM auth failure counted {q3}")
    # Plain RTCP (a valid RR) to the SRTP leg's RTCP port: dropped, counted as
    # srtp_plain_rtcp rather than as an authentication failure.
    plain_before = r.metric("relay_dropped_total", 'reason="srtp_plain_rtcp"') or 0
    auth_before = r.metric("relay_dropped_total", 'reason="srtp_auth"') or 0
    rr = struct.pack("!BBHI", 0x81, 201, 7, 0x55) + struct.pack("!IIIIII", 0x1234, 0, 10, 0, 0, 0)
    x_rtcp = udp()
    x_rtcp.sendto(rr, (relay_addr(s3, 0)[0], relay_addr(s3, 0)[1] + 1))
    check(recv_or_none(y) is None, "plain RTCP to an SRTP leg is not forwarded")
    plain_after = r.metric("relay_dropped_total", 'reason="srtp_plain_rtcp"') or 0
    auth_after = r.metric("relay_dropped_total", 'reason="srtp_auth"') or 0
    check(plain_after == plain_before + 1 and auth_after == auth_before,
          f"plain RTCP counted apart ({plain_before}->{plain_after}, auth {auth_before}->{auth_after})")
    q3 = c.call("query", call_id="srtp3@test")["result"]["legs"][0]
    check(q3["srtp_auth_failures"] == 1, f"plain RTCP is not an auth failure {q3}")
    for cid in ("srtp1@test", "srtp2@test", "srtp3@test"):
        c.call("destroy", call_id=cid)


def test_rekey_and_back_to_plain(c, r):
    """Two sessions chained through an SRTP hop (as test_srtp_chain): a new
    sending key on one side is refused by the other until it is told the
    key; `plain: true` on both ends of the hop takes it back to RTP, and
    from then on nothing is protected or checked with the old keys."""
    a, b = udp(), udp()
    suite = "AES_CM_128_HMAC_SHA1_80"
    s1 = c.call("create", call_id="rk1@test", legs=[
        leg(a), leg(None, "outside", crypto={"suite": suite, "generate": True})])
    k1 = s1["result"]["legs"][1]["crypto"]["key"]
    s1b = relay_addr(s1, 1)
    s2 = c.call("create", call_id="rk2@test", legs=[
        {"realm": "outside", "rtp": {"address": s1b[0], "port": s1b[1]},
         "crypto": {"suite": suite, "key": k1}}, leg(b)])
    s2a = relay_addr(s2, 0)
    c.call("update", call_id="rk1@test", legs=[
        {}, {"rtp": {"address": s2a[0], "port": s2a[1]},
             "crypto": {"suite": suite, "key": s2["result"]["legs"][0]["crypto"]["key"]}}])

    def through(seq):
        pkt = rtp(seq, 160 * seq, payload=os.urandom(160))
        a.sendto(pkt, relay_addr(s1, 0))
        got = recv_or_none(b)
        return got is not None and got[0] == pkt

    check(through(1), "A->B through the SRTP hop")
    # Re-key: session 1 sends with a new key; session 2 still has the old one.
    u = c.call("update", call_id="rk1@test", legs=[{}, {"crypto": {"suite": suite, "generate": True}}])
    k1b = u["result"]["legs"][1]["crypto"]["key"]
    check(k1b != k1, "generate in update gives a new sending key")
    before = c.call("query", call_id="rk2@test")["result"]["legs"][0]["srtp_auth_failures"]
    check(not through(2), "packets under the new key are refused with the old one")
    after = c.call("query", call_id="rk2@test")["result"]["legs"][0]["srtp_auth_failures"]
    check(after == before + 1, f"and counted as auth failures ({before} -> {after})")
    c.call("update", call_id="rk2@test", legs=[{"crypto": {"suite": suite, "key": k1b}}, {}])
    check(through(3), "after the update the new key is accepted")
    # The old key is gone for good: back to it, the new packets fail again.
    c.call("update", call_id="rk2@test", legs=[{"crypto": {"suite": suite, "key": k1}}, {}])
    check(not through(4), "nothing passes under the replaced key")
    c.call("update", call_id="rk2@test", legs=[{"crypto": {"suite": suite, "key": k1b}}, {}])
    # SRTP -> RTP on the hop: session 1 sends plain at once; session 2 still
    # wants SRTP until its own update.
    bad = c.call("update", call_id="rk1@test",
                 legs=[{}, {"plain": True, "crypto": {"suite": suite, "generate": True}}])
    check(bad.get("error", {}).get("field") == "legs[1].plain", f"plain with crypto refused {bad}")
    u1 = c.call("update", call_id="rk1@test", legs=[{}, {"plain": True}])
    check("crypto" not in u1["result"]["legs"][1], f"a plain leg reports no key {u1}")
    check(not through(5), "plain RTP into a leg still on SRTP is dropped")
    u2 = c.call("update", call_id="rk2@test", legs=[{"plain": True}, {}])
    check("crypto" not in u2["result"]["legs"][0], f"both ends plain {u2}")
    ok = sum(through(10 + i) for i in range(5))
    check(ok == 5, f"after both updates RTP passes the hop byte-identical ({ok}/5)")
    for cid in ("rk1@test", "rk2@test"):
        c.call("destroy", call_id=cid)


def test_nat_latch_and_direction(c, r):
    a, b, natted = udp(), udp(), udp()
    # Signalled A remote is a's address; the packets come from another port of
    # the same IP (NAT): accepted within the window, and replies go there.
    res = c.call("create", call_id="nat@test", legs=[leg(a), leg(b)])
    ra, rb = relay_addr(res, 0), relay_addr(res, 1)
    natted.sendto(rtp(1, 1), ra)
    check(recv_or_none(b) is not None, "NATed source latched within the window")
    b.sendto(rtp(2, 2), rb)
    got = recv_or_none(natted)
    check(got is not None, "replies go to the latched NAT address")
    check(recv_or_none(a, 0.1) is None, "not to the signalled address any more")
    a.sendto(rtp(3, 3), ra)
    check(recv_or_none(b) is None, "no re-latch to another source mid-call")
    # Hold: A's remote sendonly -> A->B flows, B->A does not.
    c.call("update", call_id="nat@test", legs=[{"direction": "sendonly"}, {}])
    time.sleep(0.05)
    natted.sendto(rtp(4, 4), ra)
    check(recv_or_none(b) is not None, "sendonly leg still sends")
    b.sendto(rtp(5, 5), rb)
    check(recv_or_none(natted) is None, "nothing forwarded to a sendonly remote")
    c.call("update", call_id="nat@test", legs=[{"direction": "inactive"}, {}])
    time.sleep(0.05)
    natted.sendto(rtp(6, 6), ra)
    check(recv_or_none(b) is None, "inactive: nothing forwarded")
    c.call("destroy", call_id="nat@test")


def connected_peers(port):
    """Remote ports of the relay's IPv4 UDP sockets on `port` that are connected."""
    peers = []
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1].split(":"), fields[2].split(":")
            if int(local[1], 16) == port and remote[0] != "00000000":
                peers.append(int(remote[1], 16))
    return peers


def test_remote_change_relatches(c, r):
    """A latched leg gets a socket connected to its source; a re-INVITE that
    moves the remote closes it, latches the new source and connects to that."""
    a, a2, b, stranger = udp(), udp(), udp(), udp()
    res = c.call("create", call_id="move@test", legs=[leg(a), leg(b)])
    ra, rb = relay_addr(res, 0), relay_addr(res, 1)
    a.sendto(rtp(1, 1), ra)
    check(recv_or_none(b) is not None, "A latched and forwarded")
    b.sendto(rtp(2, 2), rb)
    check(recv_or_none(a) is not None, "B latched, reply to A")
    check(connected_peers(ra[1]) == [a.getsockname()[1]],
          f"leg A's port has a socket connected to A {connected_peers(ra[1])}")
    expect_stranger_dropped(r, stranger, ra, b, rtp(3, 3), "with A connected, a stranger")
    # Re-INVITE: A's media moves to another port.
    u = c.call("update", call_id="move@test",
               legs=[{"rtp": {"address": HOST, "port": a2.getsockname()[1]}}, {}])
    check("result" in u, f"update answered {u}")
    time.sleep(0.05)
    check(connected_peers(ra[1]) == [], f"the old connection is gone {connected_peers(ra[1])}")
    for i in range(3):
        a2.sendto(rtp(10 + i, 10 + i), ra)
        check(recv_or_none(b) is not None, f"the new source latches and is forwarded ({i})")
        b.sendto(rtp(20 + i, 20 + i), rb)
        got = recv_or_none(a2)
        check(got is not None and got[1] == ra, f"replies go to the new source from A's port ({i})")
    check(recv_or_none(a, 0.1) is None, "nothing to the old address")
    check(connected_peers(ra[1]) == [a2.getsockname()[1]],
          f"leg A's port is now connected to the new source {connected_peers(ra[1])}")
    a.sendto(rtp(30, 30), ra)
    check(recv_or_none(b) is None, "the old source is not accepted any more")
    c.call("destroy", call_id="move@test")
    time.sleep(0.05)
    check(connected_peers(ra[1]) == [], "destroy closes the connected socket")


def test_window_any_latch(c, r):
    # A multi-homed PBX: the SDP names 127.0.0.2, the RTP leaves 127.0.0.1.
    a, b = udp(), udp()
    signalled = {"address": "127.0.0.2", "port": a.getsockname()[1]}
    res = c.call("create", call_id="any@test",
                 legs=[leg(None, rtp=signalled, latch="window_any"), leg(b)])
    check("result" in res, f"create with latch window_any answered {res}")
    strict = c.call("create", call_id="strict@test", legs=[leg(None, rtp=signalled), leg(b)])
    ra, rb = relay_addr(res, 0), relay_addr(res, 1)
    a.sendto(rtp(1, 1), ra)
    check(recv_or_none(b) is not None, "window_any: another source latched within the window")
    b.sendto(rtp(2, 2), rb)
    check(recv_or_none(a) is not None, "replies go to the latched source")
    stranger = udp()
    stranger.sendto(rtp(3, 3), ra)
    check(recv_or_none(b) is None, "window_any: no re-latch mid-call")
    a.sendto(rtp(4, 4), relay_addr(strict, 0))
    check(recv_or_none(b) is None, "strict: another IP never latches")
    for cid in ("any@test", "strict@test"):
        c.call("destroy", call_id=cid)


def test_rtcp_mux(c, r):
    a, b, b_rtcp = udp(), udp(), udp()
    res = c.call("create", call_id="mux@test", legs=[
        leg(a, rtcp_mux=True),
        leg(b, rtcp={"address": HOST, "port": b_rtcp.getsockname()[1]})])
    check(res["result"]["legs"][0]["rtcp_port"] == res["result"]["legs"][0]["rtp_port"],
          "muxed leg announces one port")
    rr = bytes([0x80, 201, 0, 1]) + struct.pack("!I", 0x1234ABCD)
    a.sendto(rtp(1, 1), relay_addr(res, 0))
    check(recv_or_none(b) is not None, "RTP over the muxed port forwarded as RTP")
    a.sendto(rr, relay_addr(res, 0))
    got = recv_or_none(b_rtcp)
    check(got is not None and got[0] == rr, "RTCP on the muxed port goes to B's RTCP port")
    check(got is not None and got[1][1] == relay_addr(res, 1)[1] + 1, "from B's RTCP port")
    b_rtcp.sendto(rr, (HOST, relay_addr(res, 1)[1] + 1))
    got = recv_or_none(a)
    check(got is not None and got[0] == rr, "RTCP back onto the muxed A port")
    c.call("destroy", call_id="mux@test")


def test_media_timeout(c, r):
    a, b = udp(), udp()
    c.call("create", call_id="quiet@test", legs=[leg(a, media_timeout=1), leg(b)])
    c.call("create", call_id="held@test",
           legs=[leg(a, media_timeout=1, direction="inactive"), leg(b)])
    ev = c.wait_event(4)
    check(ev is not None and ev["event"] == "media_timeout" and ev["call_id"] == "quiet@test"
          and ev["leg"] == 0 and ev["stats"]["rtp_timeouts"] == 1, f"media timeout event {ev}")
    check(c.wait_event(1.5) is None, "one event per timeout, none for the held leg")
    c.call("destroy", call_id="quiet@test")
    c.call("destroy", call_id="held@test")


def test_hostile_lines(c, r):
    res = c.call("create", call_id="keep@test", legs=[leg(udp()), leg(udp())])
    check("result" in res, "session for the hostile test")
    cases = [
        (b"garbage\n", "bad_json"),
        (b'{"version":1,"id":"h1","verb":"explode"}\n', "unknown_verb"),
        (b'{"version":2,"id":"h2","verb":"ping"}\n', "version_unsupported"),
        (b'{"version":1,"id":"h3","verb":"destroy","call_id":"nope"}\n', "unknown_session"),
        (b'{"version":1,"id":"h4","verb":"create","call_id":"x","legs":[{"realm":"inside",'
         b'"rtp":{"address":"example.com","port":1}},{"realm":"inside"}]}\n', "bad_field"),
        (b"{" + b'"a":' * 1000 + b"1\n", "bad_json"),
        (b"x" * 70000 + b"\n", "too_large"),
        (b"\x00\xff\xfe\n", "bad_json"),
    ]
    for data, code in cases:
        c.send_raw(data)
        resp = c.response()
        check(resp.get("error", {}).get("code") == code, f"{data[:30]!r} -> {code}: {resp}")
    p = c.call("ping")
    check(p.get("result", {}).get("sessions", -1) >= 1, f"connection still usable: {p}")
    # Idempotency: the same id answers from the cache, no second session.
    r1 = c.call("create", rid="dup-1", call_id="dup@test", legs=[leg(udp()), leg(udp())])
    r2 = c.call("create", rid="dup-1", call_id="dup@test", legs=[leg(udp()), leg(udp())])
    check(r1 == r2, "a repeated request id answers from the cache")
    check(c.call("query", call_id="keep@test").get("verb") == "query", "other sessions intact")
    c.call("destroy", call_id="keep@test")
    c.call("destroy", call_id="dup@test")


def test_ttl(c, r):
    before = c.call("ping")["result"]["sessions"]
    other = Control(r.control_port)
    other.call("create", call_id="orphan@test", legs=[leg(udp()), leg(udp())])
    other.call("create", call_id="adopted@test", legs=[leg(udp()), leg(udp())])
    other.close()
    time.sleep(0.3)
    check(c.call("ping")["result"]["sessions"] == before + 2, "sessions outlive their connection")
    check("result" in c.call("query", call_id="adopted@test"), "a query adopts an orphan")
    ev = c.wait_event(5)
    check(ev is not None and ev["event"] == "session_expired" and ev["call_id"] == "orphan@test",
          f"session_expired to the reconnected SBC {ev}")
    ev2 = c.wait_event(1)
    check(ev2 is not None and ev2["leg"] == 1, f"second leg's event {ev2}")
    time.sleep(0.2)
    check(c.call("ping")["result"]["sessions"] == before + 1, "orphan freed after the TTL")
    check(r.metric("relay_sessions_expired_total") == 1, "expiry counted")
    c.call("destroy", call_id="adopted@test")


def packets_out(r):
    return sum(r.metric("relay_packets_total", f'direction="out",kind="{k}"') or 0
               for k in ("rtp", "srtp"))


def delay_histogram(r):
    """(count, sum, {le: cumulative}) of relay_forward_delay_seconds."""
    count = total = None
    buckets = {}
    for line in r.metrics().splitlines():
        if line.startswith("relay_forward_delay_seconds_count "):
            count = float(line.split()[1])
        elif line.startswith("relay_forward_delay_seconds_sum "):
            total = float(line.split()[1])
        elif line.startswith("relay_forward_delay_seconds_bucket{"):
            le = re.search(r'le="([^"]+)"', line).group(1)
            buckets[le] = float(line.rsplit(" ", 1)[1])
    return count, total, buckets


def forward_both_ways(a, b, ra, rb, n):
    for i in range(n):
        a.sendto(rtp(2000 + i, 160 * i), ra)
        check(recv_or_none(b) is not None, f"A->B packet {i} forwarded")
        b.sendto(rtp(7000 + i, 160 * i, ssrc=0xBEEF), rb)
        check(recv_or_none(a) is not None, f"B->A packet {i} forwarded")


def test_forward_delay(c, r):
    """relay_forward_delay_seconds observes every forwarded packet once, with
    a plausible delay (above zero, well under a second on loopback)."""
    a, b = udp(), udp()
    res = c.call("create", call_id="delay@test", legs=[leg(a), leg(b, "outside")])
    ra, rb = relay_addr(res, 0), relay_addr(res, 1)
    count0, sum0, _ = delay_histogram(r)
    out0 = packets_out(r)
    forward_both_ways(a, b, ra, rb, 20)
    time.sleep(0.1)
    count1, sum1, buckets = delay_histogram(r)
    out1 = packets_out(r)
    check(count0 is not None and count1 is not None, "relay_forward_delay_seconds exported")
    if count0 is None or count1 is None:
        return
    check(out1 - out0 == 40, f"40 packets forwarded ({out0} -> {out1})")
    check(count1 - count0 == out1 - out0,
          f"one delay per forwarded packet: {count1 - count0} for {out1 - out0}")
    mean = (sum1 - sum0) / max(1, count1 - count0)
    check(0 < mean < 1.0, f"mean forward delay plausible: {mean} s")
    check(buckets.get("+Inf") == count1, f"+Inf bucket = count {buckets.get('+Inf')} {count1}")
    values = [v for _, v in sorted(((float(k), v) for k, v in buckets.items()))]
    check(values == sorted(values), "buckets cumulative")
    c.call("destroy", call_id="delay@test")


def test_forward_delay_off(binary, workdir):
    """[node] forward_delay = false: packets still flow, nothing is observed."""
    r = Relay(binary, workdir, node_extra="forward_delay = false")
    try:
        c = Control(r.control_port)
        a, b = udp(), udp()
        res = c.call("create", call_id="nodelay@test", legs=[leg(a), leg(b, "outside")])
        forward_both_ways(a, b, relay_addr(res, 0), relay_addr(res, 1), 5)
        time.sleep(0.1)
        count, _, _ = delay_histogram(r)
        check(packets_out(r) == 10, "forwarded with forward_delay off")
        check(count == 0, f"no delay observed with forward_delay off ({count})")
        c.close()
    finally:
        check(r.stop() == 0, "clean exit (forward_delay off)")


def test_forward_delay_sampled(binary, workdir):
    """forward_delay_sample = 2 on one worker: the packets of every other
    session are observed, the others' are not."""
    r = Relay(binary, workdir, node_extra="forward_delay_sample = 2", workers=1)
    try:
        c = Control(r.control_port)
        count0, _, _ = delay_histogram(r)
        for n in range(4):
            a, b = udp(), udp()
            res = c.call("create", call_id=f"sampled{n}@test", legs=[leg(a), leg(b, "outside")])
            forward_both_ways(a, b, relay_addr(res, 0), relay_addr(res, 1), 5)
        time.sleep(0.1)
        count1, _, _ = delay_histogram(r)
        check(packets_out(r) == 40, "forwarded 40 packets in 4 sessions")
        check(count1 - count0 == 20, f"2 sessions of 4 sampled: {count1 - count0} of 40 observed")
        for n in range(4):
            c.call("destroy", call_id=f"sampled{n}@test")
        c.close()
    finally:
        check(r.stop() == 0, "clean exit (forward_delay_sample = 2)")


SCHED_NAMES = {os.SCHED_OTHER: "other", os.SCHED_FIFO: "fifo", os.SCHED_RR: "rr"}
SCHED_RESET_ON_FORK = 0x40000000


def thread_scheduling(pid):
    """{tid: (comm, policy name, rt priority)} for every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            # Without SCHED_RESET_ON_FORK, which real-time threads carry
            # (sbc/common/thread_scheduling.h: threads they start run normal).
            policy = os.sched_getscheduler(int(tid)) & ~SCHED_RESET_ON_FORK
            prio = os.sched_getparam(int(tid)).sched_priority
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[int(tid)] = (comm, SCHED_NAMES.get(policy, str(policy)), prio)
    return out


def can_use_fifo():
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (PermissionError, OSError):
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


def worker_priority_metric(r, worker, policy):
    return r.metric("relay_worker_priority", f'policy="{policy}",worker="{worker}"')


def test_worker_scheduling_default(r):
    """Default config: the packet workers run at the normal policy, and the
    metric says so."""
    threads = thread_scheduling(r.proc.pid)
    workers = [t for t in threads.values() if t[0].startswith("relay-w")]
    check(len(workers) == 2, f"two worker threads found: {threads}")
    check(all(t[1] == "other" for t in threads.values()), f"no real-time thread: {threads}")
    for w in range(2):
        check(worker_priority_metric(r, w, "other") == 0, f"worker {w} reported at other/0")


def one_call_flows(r, call_id):
    """One call through the relay forwards 5 packets each way, then ends."""
    c = Control(r.control_port)
    a, b = udp(), udp()
    res = c.call("create", call_id=call_id, legs=[leg(a), leg(b, "outside")])
    forward_both_ways(a, b, relay_addr(res, 0), relay_addr(res, 1), 5)
    c.call("destroy", call_id=call_id)
    c.close()


def test_worker_scheduling_fifo(binary, workdir):
    """worker_scheduling = "fifo": every packet worker runs at SCHED_FIFO with
    the configured priority, the control (main) thread and every other thread
    stay at the normal policy, the metric reports it, and packets flow."""
    r = Relay(binary, workdir, node_extra='worker_scheduling = "fifo"\nworker_priority = 7')
    try:
        threads = thread_scheduling(r.proc.pid)
        workers = {tid: t for tid, t in threads.items() if t[0].startswith("relay-w")}
        others = {tid: t for tid, t in threads.items() if tid not in workers}
        check(len(workers) == 2, f"two worker threads found: {threads}")
        check(all(t[1:] == ("fifo", 7) for t in workers.values()), f"workers at FIFO 7: {workers}")
        check(r.proc.pid in others and others[r.proc.pid][1] == "other",
              f"control thread at the normal policy: {others}")
        check(all(t[1] == "other" for t in others.values()), f"only workers real-time: {others}")
        for w in range(2):
            check(worker_priority_metric(r, w, "fifo") == 7, f"worker {w} reported at fifo/7")
        one_call_flows(r, "fifo@test")
    finally:
        check(r.stop() == 0, "clean exit (fifo workers)")
    log = open(r.log_path, errors="replace").read()
    check("refused" not in log, "no refusal logged when permitted")


def test_worker_scheduling_refused(binary, workdir):
    """fifo configured but not permitted: one warning for all workers, the
    workers at the normal policy (and the metric says so), packets flow."""
    r = Relay(binary, workdir, node_extra='worker_scheduling = "fifo"', preexec_fn=drop_rt_rights)
    try:
        threads = thread_scheduling(r.proc.pid)
        check(all(t[1] == "other" for t in threads.values()), f"no real-time thread: {threads}")
        for w in range(2):
            check(worker_priority_metric(r, w, "other") == 0, f"worker {w} reported at other/0")
        one_call_flows(r, "refused@test")
    finally:
        check(r.stop() == 0, "clean exit (fifo refused)")
    log = open(r.log_path, errors="replace").read()
    check(log.count("refused") == 1, f"refusal logged once for two workers: {log.count('refused')}")


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as workdir:
        r = Relay(binary, workdir, node_extra="forward_delay_sample = 1")
        try:
            c = Control(r.control_port)
            pong = c.call("ping")
            total = (r.port_max - r.port_min + 1) // 2
            check(pong.get("verb") == "ping" and pong["result"]["sessions"] == 0
                  and pong["result"]["ports_free"] == total, f"ping {pong}")
            for t in (test_plain_forwarding, test_srtp_chain, test_rekey_and_back_to_plain,
                      test_nat_latch_and_direction, test_remote_change_relatches,
                      test_window_any_latch, test_forward_delay,
                      test_rtcp_mux, test_media_timeout, test_hostile_lines, test_ttl):
                print("--", t.__name__, flush=True)
                try:
                    t(c, r)
                except Exception as e:  # report and go on with the next test
                    check(False, f"{t.__name__} raised {e!r}")
            time.sleep(0.3)
            p = c.call("ping")["result"]
            check(p["sessions"] == 0 and p["ports_free"] == total, f"all ports back {p}")
            print("-- test_worker_scheduling_default", flush=True)
            test_worker_scheduling_default(r)
            with urllib.request.urlopen(f"http://{HOST}:{r.http_port}/healthz", timeout=5) as h:
                check(h.status == 200, "healthz 200")
            m = r.metrics()
            for name in ("relay_sessions ", "relay_ports_free ", 'relay_packets_total{',
                         'relay_dropped_total{reason="strict_source"}',
                         "relay_srtp_auth_failures_total ", "relay_media_timeouts_total "):
                check(name in m, f"metric {name.strip()} exported")
        finally:
            rc = r.stop()
            check(rc == 0, f"clean exit on SIGTERM (rc={rc})")
            if FAILURES:
                print(open(r.log_path, errors="replace").read()[-4000:])
        scheduling = [test_worker_scheduling_fifo, test_worker_scheduling_refused]
        if not can_use_fifo():
            print("-- skipped: test_worker_scheduling_fifo/refused (no right to SCHED_FIFO here)")
            scheduling = []
        for t in [test_forward_delay_off, test_forward_delay_sampled] + scheduling:
            print("--", t.__name__, flush=True)
            own_dir = os.path.join(workdir, t.__name__)
            os.mkdir(own_dir)
            try:
                t(binary, own_dir)
            except Exception as e:
                check(False, f"{t.__name__} raised {e!r}")
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print("all relay process checks passed")


if __name__ == "__main__":
    main()
