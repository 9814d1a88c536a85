#!/usr/bin/env python3
"""SBC + media-relay call tests (issue 4): SIPp signalling, RTP from Python
sockets, the real `media-relay` and the real `sbc` with a [[relay]].

    media_test.py --sbc BIN --relay BIN --migrate BIN --encrypt BIN CASE
    media_test.py --list

Addresses: the relay's media sockets are 127.0.0.51 (inside, towards the
PBX) and 127.0.0.52 (outside, towards carriers); the RTP endpoints of the
PBX and the carrier are Python sockets on 127.0.0.22 and 127.0.0.33, put in
the SDP SIPp sends (-set rtp_ip/rtp_port). Needs SBC_TEST_DSN (ctest).
"""
import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "calls"))
from harness import (CARRIER1_IP, CARRIER_MEDIA_IP, PBX_IP, PBX_MEDIA_IP,  # noqa: E402
                     TestFailure, Tools, free_tcp_port, free_udp_port, log, run_case)
from calls_test import basic_config  # noqa: E402

RELAY_INSIDE_IP = "127.0.0.51"
RELAY_OUTSIDE_IP = "127.0.0.52"
# Addresses that must never reach the other side in SDP.
PRIVATE_IPS = [PBX_IP, CARRIER1_IP, PBX_MEDIA_IP, CARRIER_MEDIA_IP, "127.0.0.1", "127.0.0.10"]
KEY30 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"

CASES = {}


def case(timeout):
    def wrap(f):
        CASES[f.__name__] = (f, timeout)
        return f
    return wrap


# ---------------------------------------------------------------------------
# the relay process


class Relay:
    """One media-relay with its own port range, control and http ports."""

    def __init__(self, binary, workdir, media_timeout=0):
        self.control = ("127.0.0.1", free_tcp_port("127.0.0.1"))
        http = free_tcp_port("127.0.0.1")
        # A range of its own, so that parallel tests do not collide.
        base = random.randrange(20000, 59000, 200)
        self.config_path = os.path.join(workdir, "relay.toml")
        self.log_path = os.path.join(workdir, "relay.log")
        with open(self.config_path, "w") as f:
            f.write(f"""[node]
name = "relay-test"
log_level = "debug"
workers = 1

[realm.inside]
address = "{RELAY_INSIDE_IP}"

[realm.outside]
address = "{RELAY_OUTSIDE_IP}"

[ports]
min = {base}
max = {base + 198}

[control]
address = "{self.control[0]}"
port = {self.control[1]}

[http]
address = "127.0.0.1"
port = {http}

[sessions]
ttl = 10
media_timeout = {media_timeout}
""")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "--config", self.config_path], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure(f"media-relay exited at start (rc {self.proc.returncode}):\n"
                                  + self.tail())
            try:
                self.ping()
                return
            except OSError:
                time.sleep(0.1)
        raise TestFailure("media-relay did not answer ping")

    def ping(self):
        """The relay's pong: {"sessions": N, "ports_free": N}."""
        with socket.create_connection(self.control, timeout=2) as s:
            s.sendall(b'{"version":1,"id":"test-ping","verb":"ping"}\n')
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return json.loads(data.decode())["result"]

    def tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


# ---------------------------------------------------------------------------
# helpers


def rtp_socket(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.settimeout(0.2)
    return s


def rtp_packet(seq, ssrc, payload_type=0):
    header = bytes([0x80, payload_type, (seq >> 8) & 0xFF, seq & 0xFF]) + \
        (seq * 160).to_bytes(4, "big") + ssrc.to_bytes(4, "big")
    return header + os.urandom(160)


def sdp_media(body):
    """(c= address of the first audio stream, its port, proto, full body)."""
    addr = None
    port = None
    proto = None
    session_c = None
    in_audio = False
    for line in body.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line.startswith("c=") and not in_audio and port is None:
            session_c = line.split()[-1]
        elif line.startswith("m=audio"):
            parts = line.split()
            port, proto, in_audio = int(parts[1]), parts[2], True
        elif line.startswith("m="):
            in_audio = False
        elif line.startswith("c=") and in_audio:
            addr = line.split()[-1]
    return (addr or session_c, port, proto)


def wait_sdp(t, sipp, pick, what, timeout=8.0):
    """The body of the first message of `sipp` that pick(msg) selects."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in sipp.messages():
            if pick(m) and "m=audio" in m.body:
                return m.body
        time.sleep(0.1)
    raise TestFailure(f"no SDP {what} within {timeout} s")


def received_invite(m):
    return m.direction == "recv" and not m.is_response and m.method == "INVITE"


def received_200_invite(m):
    return m.direction == "recv" and m.is_response and m.status == 200 and m.method == "INVITE"


def check_only_relay(t, body, relay_ip, what):
    addrs = set(re.findall(r"(?<![0-9.])(\d+\.\d+\.\d+\.\d+)(?![0-9])", body))
    # o= may carry the sbc's own address (topology hiding keeps o= the sbc's).
    c_lines = re.findall(r"^c=IN IP4 (\S+)", body, re.M)
    t.check(c_lines and all(a == relay_ip for a in c_lines),
            f"{what}: every c= is the relay's {relay_ip} ({c_lines})")
    leaked = sorted(a for a in addrs if a in PRIVATE_IPS and a not in ("127.0.0.1", "127.0.0.10"))
    t.check(not leaked, f"{what}: no address of the other side in the SDP ({leaked})")
    rtcp = re.findall(r"^a=rtcp:\d+ IN IP4 (\S+)", body, re.M)
    t.check(all(a == relay_ip for a in rtcp), f"{what}: a=rtcp names the relay ({rtcp})")
    for gone in ("a=candidate", "a=ice-", "a=fingerprint"):
        t.check(gone not in body, f"{what}: no {gone}")


def pump(src, dst_addr, sink, count, ssrc, identical=True, extra_len=0):
    """Sends `count` RTP packets from src to dst_addr and returns how many
    arrived at sink as sent (or, with identical=False, with the same header
    and extra_len more bytes: SRTP)."""
    sent = []
    for i in range(count):
        p = rtp_packet(1000 + i, ssrc)
        sent.append(p)
        src.sendto(p, dst_addr)
        time.sleep(0.005)
    got = []
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and len(got) < count:
        try:
            data, _ = sink.recvfrom(2048)
        except (socket.timeout, TimeoutError):
            continue
        got.append(data)
    if identical:
        return sum(1 for p in got if p in sent), got
    heads = {p[:12] for p in sent}
    return sum(1 for p in got if p[:12] in heads and len(p) == 172 + extra_len), got


def relay_sessions_zero(t, relay, timeout=5.0):
    deadline = time.monotonic() + timeout
    pong = relay.ping()
    while time.monotonic() < deadline and pong.get("sessions") != 0:
        time.sleep(0.2)
        pong = relay.ping()
    t.check(pong.get("sessions") == 0, f"the relay has no session left ({pong})")


def start(t, relay_media_timeout=0, sbc_media_timeout=0, **cfg):
    basic_config(t, **cfg)
    t.relay = Relay(t.tools.relay, t.dir, relay_media_timeout)
    extra = f"""
[media]
timeout = {sbc_media_timeout}
request_timeout_ms = 500
ping_interval_ms = 200
relay_grace = 3

[[relay]]
address = "{t.relay.control[0]}"
port = {t.relay.control[1]}
"""
    t.start_sbc(extra=extra)
    # The sbc's first pong marks the relay healthy.
    time.sleep(0.6)


def carrier(t, srtp=False, scenario="media_carrier_uas.xml"):
    t.carrier_rtp = rtp_socket(CARRIER_MEDIA_IP)
    subst = {"PROTO": "RTP/SAVP" if srtp else "RTP/AVP",
             "CRYPTO": f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}" if srtp
             else "a=ptime:20"}
    return t.sipp("carrier", os.path.join(HERE, scenario), CARRIER1_IP, port=t.c1_port,
                  server=True, calls=1, media_ip=CARRIER_MEDIA_IP, subst=subst,
                  sets={"rtp_ip": CARRIER_MEDIA_IP,
                        "rtp_port": t.carrier_rtp.getsockname()[1]})


def pbx(t, scenario="media_pbx_uac.xml", duration_ms=4000, timeout=30):
    t.pbx_rtp = rtp_socket(PBX_MEDIA_IP)
    return t.sipp("pbx", os.path.join(HERE, scenario), PBX_IP, remote=t.inside,
                  service="12125550123", cid_prefix="pbx-secret-", calls=1,
                  duration_ms=duration_ms, timeout=timeout, media_ip=PBX_MEDIA_IP,
                  sets={"caller": "14155550100", "rtp_ip": PBX_MEDIA_IP,
                        "rtp_port": t.pbx_rtp.getsockname()[1]})


# ---------------------------------------------------------------------------
# the cases


@case(120)
def rtp_both_ways(t):
    """RTP PBX <-> RTP carrier through the relay: each side's SDP carries
    only the relay, packets arrive byte-identical both ways, the session is
    destroyed and the channels freed at the end."""
    start(t)
    c = carrier(t)
    p = pbx(t, duration_ms=5000)
    offer = wait_sdp(t, c, received_invite, "in the carrier's INVITE")
    answer = wait_sdp(t, p, received_200_invite, "in the PBX's 200")
    check_only_relay(t, offer, RELAY_OUTSIDE_IP, "carrier's offer")
    check_only_relay(t, answer, RELAY_INSIDE_IP, "PBX's answer")
    t.check(" RTP/AVP " in offer and "a=crypto" not in offer, "the carrier gets RTP/AVP")
    t.check("a=rtpmap:101 telephone-event/8000" in offer and "a=ptime:20" in offer,
            "codecs and ptime pass unchanged")
    a_addr, a_port, _ = sdp_media(answer)
    b_addr, b_port, _ = sdp_media(offer)
    ok, got = pump(t.pbx_rtp, (a_addr, a_port), t.carrier_rtp, 20, 0x1234)
    t.check(ok >= 18, f"PBX -> carrier: RTP arrives byte-identical ({ok}/20, {len(got)} got)")
    to_carrier = len(got)
    ok, got = pump(t.carrier_rtp, (b_addr, b_port), t.pbx_rtp, 20, 0x5678)
    t.check(ok >= 18, f"carrier -> PBX: RTP arrives byte-identical ({ok}/20, {len(got)} got)")
    to_pbx = len(got)
    calls = t.api_calls()
    t.check(len(calls) == 1 and calls[0].get("relay", "").endswith(f":{t.relay.control[1]}"),
            f"/api/calls shows the call's relay ({calls})")
    code, body = t.http_get("/api/relays")
    relays = json.loads(body) if code == 200 else []
    t.check(len(relays) == 1 and relays[0].get("healthy") and relays[0].get("connected"),
            f"/api/relays shows the relay connected and healthy ({code} {relays})")
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()
    # The CDR carries the relay's per-leg counts (A: the PBX, B: the
    # carrier; "packets" are what the relay got from that party, "_out"
    # what it sent to it): 20 RTP packets of 172 bytes each way.
    cdr = t.cdrs(expected=1)[0]
    media = {k: cdr.get(k) for k in cdr if k[:2] in ("a_", "b_") and "call_id" not in k}
    t.check(cdr.get("media_stats") is True, f"the CDR has the relay's final stats ({cdr})")
    t.check(str(cdr.get("media_relay", "")).endswith(f":{t.relay.control[1]}"),
            f"the CDR names the relay ({cdr.get('media_relay')!r})")
    t.check(cdr.get("a_packets") == 20 and cdr.get("b_packets") == 20,
            f"the relay got 20 packets from each side ({media})")
    t.check(cdr.get("a_bytes") == 20 * 172 and cdr.get("b_bytes") == 20 * 172,
            f"and 20 x 172 bytes ({media})")
    t.check(cdr.get("b_packets_out") == to_carrier and cdr.get("a_packets_out") == to_pbx,
            f"it sent each side what arrived there ({to_carrier}, {to_pbx}; {media})")
    t.check(cdr.get("a_packets_lost") == 0 and cdr.get("b_packets_lost") == 0
            and cdr.get("a_srtp_failures") == 0 and cdr.get("b_srtp_failures") == 0,
            f"no loss, no SRTP failures ({media})")


@case(120)
def media_timeout(t):
    """Nobody sends RTP; media timeout 3 s: the call ends by itself with a
    BYE to both sides, its channels and relay session freed."""
    start(t, sbc_media_timeout=3)
    c = carrier(t)
    p = pbx(t, scenario="media_pbx_uac_wait_bye.xml", timeout=40)
    wait_sdp(t, p, received_200_invite, "in the PBX's 200")
    answered = time.monotonic()
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    took = time.monotonic() - answered
    t.check(2.0 <= took <= 15.0, f"the call ended on its own after the timeout ({took:.1f} s)")
    byes = [m for m in p.received() if not m.is_response and m.method == "BYE"]
    t.check(len(byes) >= 1, "the PBX got a BYE from the sbc")
    reason = byes[0].header("reason") or ""
    t.check("41" in reason or "edia" in reason, f"the BYE says why ({reason!r})")
    cdr = t.cdrs(expected=1)[0]
    t.check("media" in json.dumps(cdr), f"the CDR names the media timeout ({cdr})")
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()


@case(120)
def srtp_carrier(t):
    """srtp-mandatory carrier, plain RTP PBX: the carrier's SDP is RTP/SAVP
    with one a=crypto, the PBX's RTP/AVP without; RTP from the PBX arrives
    at the carrier SRTP-protected (same header, 10-byte tag)."""
    start(t, carrier_cols={"media_policy": "srtp-mandatory"})
    c = carrier(t, srtp=True)
    p = pbx(t, duration_ms=4000)
    offer = wait_sdp(t, c, received_invite, "in the carrier's INVITE")
    answer = wait_sdp(t, p, received_200_invite, "in the PBX's 200")
    check_only_relay(t, offer, RELAY_OUTSIDE_IP, "carrier's offer")
    check_only_relay(t, answer, RELAY_INSIDE_IP, "PBX's answer")
    cryptos = re.findall(r"^a=crypto:.*$", offer, re.M)
    t.check(" RTP/SAVP " in offer and len(cryptos) == 1,
            f"the carrier gets RTP/SAVP with one a=crypto ({cryptos})")
    t.check(" RTP/AVP " in answer and "a=crypto" not in answer,
            "the PBX gets RTP/AVP without a=crypto")
    a_addr, a_port, _ = sdp_media(answer)
    ok, got = pump(t.pbx_rtp, (a_addr, a_port), t.carrier_rtp, 20, 0x2222, identical=False,
                   extra_len=10)
    t.check(ok >= 18, f"PBX -> carrier: SRTP packets arrive ({ok}/20, {len(got)} got)")
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()


@case(90)
def hold_resume(t):
    """re-INVITE sendonly then sendrecv from the PBX through the relay: the
    carrier sees the direction change on the relay's address (the session is
    updated, not re-created), both sides answered, all freed at the end."""
    start(t)
    c = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_uas_hold.xml", calls=1)
    p = t.pbx_uac(scenario="pbx_uac_hold.xml", calls=1, duration_ms=300)
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    invites = [m for m in c.received() if received_invite(m)]
    by_cseq = {}
    for m in invites:
        by_cseq[int(m.header("cseq").split()[0])] = m.body
    t.check(len(by_cseq) == 3, f"the carrier gets the INVITE and two re-INVITEs ({sorted(by_cseq)})")
    bodies = [by_cseq[k] for k in sorted(by_cseq)]
    for i, body in enumerate(bodies):
        check_only_relay(t, body, RELAY_OUTSIDE_IP, f"carrier's offer {i + 1}")
    t.check("a=sendonly" in bodies[1] and "a=sendrecv" in bodies[2],
            "hold and resume reach the carrier")
    t.check(len({sdp_media(b)[1] for b in bodies}) == 1,
            "the relay port towards the carrier stays the same")
    oks = [m for m in p.received() if m.status == 200 and m.method == "INVITE" and m.body]
    for m in oks:
        check_only_relay(t, m.body, RELAY_INSIDE_IP, f"PBX's answer {m.header('cseq')}")
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()


@case(90)
def srtp_required_refused(t):
    """srtp-mandatory PBX trunk offering plain RTP: 488, nothing reaches the
    carrier, no relay session, no channel held."""
    start(t, pbx_cols={"media_policy": "srtp-mandatory"})
    c = carrier(t)
    p = t.pbx_uac(scenario="pbx_uac_any.xml", calls=1, duration_ms=500)
    p.wait()
    finals = [m.status for m in p.received() if m.is_response and m.method == "INVITE"
              and m.status and m.status >= 200]
    t.check(488 in finals, f"the PBX gets 488 ({finals})")
    t.check(not [m for m in c.received() if received_invite(m)], "nothing reaches the carrier")
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sbc")
    ap.add_argument("--relay")
    ap.add_argument("--migrate")
    ap.add_argument("--encrypt")
    ap.add_argument("--sipp", default="sipp")
    ap.add_argument("--psql", default="psql")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        for name, (_, timeout) in CASES.items():
            print(f"{name} {timeout}")
        return 0
    if a.case not in CASES:
        ap.error(f"unknown case {a.case!r}; one of: {', '.join(CASES)}")
    tools = Tools(a.sbc, a.migrate, a.encrypt, a.sipp, a.psql)
    tools.relay = a.relay
    func = CASES[a.case][0]

    def with_relay(t):
        t.relay = None
        try:
            func(t)
        except BaseException:
            if t.relay is not None:
                log("---- media-relay log (last 60 lines) ----")
                log(t.relay.tail())
            raise
        finally:
            if t.relay is not None:
                t.relay.stop()
    return run_case(with_relay, tools, a.case)


if __name__ == "__main__":
    sys.exit(main())
