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
import json
import math
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "calls"))
from harness import (CARRIER1_IP, CARRIER2_IP, CARRIER_MEDIA_IP, PBX_IP,  # noqa: E402
                     PBX_MEDIA_IP,
                     TestFailure, Tools, case_registry, free_tcp_port, free_udp_port, log,
                     log_tail, run_case, stop_process)
from harness import tool_parser  # noqa: E402
from calls_test import basic_config  # noqa: E402

RELAY_INSIDE_IP = "127.0.0.51"
RELAY_OUTSIDE_IP = "127.0.0.52"
# Addresses that must never reach the other side in SDP.
PRIVATE_IPS = [PBX_IP, CARRIER1_IP, PBX_MEDIA_IP, CARRIER_MEDIA_IP, "127.0.0.1", "127.0.0.10"]
KEY30 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"

CASES, case = case_registry()


# ---------------------------------------------------------------------------
# the relay process


class Relay:
    """One media-relay with its own port range, control and http ports."""

    def __init__(self, binary, workdir, media_timeout=0):
        self.control = ("127.0.0.1", free_tcp_port("127.0.0.1"))
        http = free_tcp_port("127.0.0.1")
        self.http = ("127.0.0.1", http)
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

    def metrics(self):
        """{'name{labels}': value} of the relay's /metrics."""
        url = f"http://{self.http[0]}:{self.http[1]}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def tail(self, n=60):
        return log_tail(self.log_path, n)

    def stop(self):
        return stop_process(self.proc, self.log, 10)


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


def start(t, relay_media_timeout=0, sbc_media_timeout=0, setup=None, **cfg):
    basic_config(t, **cfg)
    if setup is not None:
        setup(t)  # more trunks/routes, before the sbc loads the configuration
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


def carrier(t, srtp=False, scenario="media_carrier_uas.xml", ip=CARRIER1_IP, port=None,
            name="carrier"):
    t.carrier_rtp = rtp_socket(CARRIER_MEDIA_IP)
    subst = {"PROTO": "RTP/SAVP" if srtp else "RTP/AVP",
             "CRYPTO": f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY30}" if srtp
             else "a=ptime:20"}
    return t.sipp(name, os.path.join(HERE, scenario), ip, port=port or t.c1_port,
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


class RtpEcho:
    """Sends every packet that reaches `sock` back to where it came from (a
    carrier that echoes), keeping what it got."""

    def __init__(self, sock):
        self.sock = sock
        self.got = []
        self.stop_flag = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_flag:
            try:
                data, src = self.sock.recvfrom(2048)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            self.got.append(data)
            try:
                self.sock.sendto(data, src)
            except OSError:
                pass

    def stop(self):
        self.stop_flag = True
        self.thread.join(2)


# baresip's RTP socket is not bound to the address it signals: it signals its
# net_interface (the PBX's 127.0.0.2, as its SIP) but sends from the kernel's
# source address for the relay (127.0.0.1 on loopback), like a multi-homed
# PBX. The relay's strict-source rule (RTP Bleed) drops packets from an IP
# other than the SDP's, so its trunk latches with media_latch = window_any.
BARESIP_MEDIA_IP = PBX_IP


class Baresip:
    """baresip (Debian package) as a headless PBX phone: it dials `target`
    from PBX_IP once started, sends a 440 Hz tone from a WAV file (aufile),
    plays into nothing (aubridge) and quits after `seconds` (hanging up).
    `mediaenc`: baresip's account parameter (srtp-mand: RTP/SAVP with
    a=crypto). Its SIP trace (-s) and logs go to baresip.log."""

    def __init__(self, t, target, seconds=8, mediaenc="srtp-mand"):
        self.dir = os.path.join(t.dir, "baresip")
        os.makedirs(self.dir, exist_ok=True)
        tone = os.path.join(self.dir, "tone.wav")
        with wave.open(tone, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)  # aufile wants the codec's rate (PCMU)
            w.writeframes(b"".join(
                struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / 8000)))
                for i in range(8000 * (seconds + 5))))
        rtp_base = random.randrange(40000, 59000, 100)
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(f"""poll_method epoll
sip_listen {PBX_IP}:{free_udp_port(PBX_IP)}
net_interface {BARESIP_MEDIA_IP}
audio_player aubridge,nil
audio_alert aubridge,nil
audio_source aufile,{tone}
rtp_ports {rtp_base}-{rtp_base + 98}
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module srtp.so
module_app account.so
module_app menu.so
""")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f"<sip:pbx@{PBX_IP}>;regint=0;mediaenc={mediaenc};audio_codecs=PCMU/8000\n")
        open(os.path.join(self.dir, "contacts"), "w").close()
        self.log_path = os.path.join(t.dir, "baresip.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [shutil.which("baresip"), "-f", self.dir, "-s", "-e", f"/dial {target}",
             "-t", str(seconds)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure(f"baresip did not quit within {timeout} s")

    def stop(self):
        stop_process(self.proc, self.log, 5)


def sdp_bodies(text):
    """The SDP bodies (from v=0 to the end of the block) in a log text."""
    bodies = []
    for m in re.finditer(r"^v=0\r?$", text, re.M):
        lines = []
        for line in text[m.start():].splitlines():
            line = line.rstrip("\r")
            if lines and not re.match(r"^[a-z]=", line):
                break
            lines.append(line)
        bodies.append("\n".join(lines))
    return bodies


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


def m_lines(body):
    """[(media, port, proto)] of every m= line, in order."""
    out = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            parts = line[2:].split()
            out.append((parts[0], int(parts[1]), parts[2]))
    return out


@case(120)
def two_streams(t):
    """A PBX offer with audio, video and a disabled audio line: each enabled
    m= line gets a relay session of its own (two sessions during the call),
    each side sees only the relay's address with distinct ports, the
    disabled line stays disabled, and RTP flows byte-identical both ways on
    both streams; everything freed at the end."""
    start(t)
    t.carrier_rtp = rtp_socket(CARRIER_MEDIA_IP)
    carrier_video = rtp_socket(CARRIER_MEDIA_IP)
    c = t.sipp("carrier", os.path.join(HERE, "media_carrier_uas_two_streams.xml"), CARRIER1_IP,
               port=t.c1_port, server=True, calls=1, media_ip=CARRIER_MEDIA_IP,
               subst={"PROTO": "RTP/AVP", "CRYPTO": "a=ptime:20"},
               sets={"rtp_ip": CARRIER_MEDIA_IP, "rtp_port": t.carrier_rtp.getsockname()[1],
                     "video_port": carrier_video.getsockname()[1]})
    t.pbx_rtp = rtp_socket(PBX_MEDIA_IP)
    pbx_video = rtp_socket(PBX_MEDIA_IP)
    p = t.sipp("pbx", os.path.join(HERE, "media_pbx_uac_two_streams.xml"), PBX_IP,
               remote=t.inside, service="12125550123", cid_prefix="pbx-secret-", calls=1,
               duration_ms=5000, timeout=30, media_ip=PBX_MEDIA_IP,
               sets={"caller": "14155550100", "rtp_ip": PBX_MEDIA_IP,
                     "rtp_port": t.pbx_rtp.getsockname()[1],
                     "video_port": pbx_video.getsockname()[1]})
    offer = wait_sdp(t, c, received_invite, "in the carrier's INVITE")
    answer = wait_sdp(t, p, received_200_invite, "in the PBX's 200")
    check_only_relay(t, offer, RELAY_OUTSIDE_IP, "carrier's offer")
    check_only_relay(t, answer, RELAY_INSIDE_IP, "PBX's answer")
    t.check("a=ssrc" not in offer, "the a=ssrc line (cname with the PBX's address) is gone")
    om, am = m_lines(offer), m_lines(answer)
    t.check([m[0] for m in om] == ["audio", "video", "audio"] and om[2][1] == 0
            and om[0][1] and om[1][1] and om[0][1] != om[1][1],
            f"the carrier gets audio and video on two relay ports, the third line disabled ({om})")
    t.check([m[0] for m in am] == ["audio", "video", "audio"] and am[2][1] == 0
            and am[0][1] and am[1][1] and am[0][1] != am[1][1],
            f"the PBX's answer has audio and video on two relay ports, the third disabled ({am})")
    t.check(t.relay.ping().get("sessions") == 2, "two relay sessions for the call")
    for name, src, dst_port, sink, ssrc in (
            ("PBX -> carrier audio", t.pbx_rtp, am[0][1], t.carrier_rtp, 0x1111),
            ("PBX -> carrier video", pbx_video, am[1][1], carrier_video, 0x2222)):
        ok, got = pump(src, (RELAY_INSIDE_IP, dst_port), sink, 20, ssrc)
        t.check(ok >= 18, f"{name}: RTP arrives byte-identical ({ok}/20, {len(got)} got)")
    for name, src, dst_port, sink, ssrc in (
            ("carrier -> PBX audio", t.carrier_rtp, om[0][1], t.pbx_rtp, 0x3333),
            ("carrier -> PBX video", carrier_video, om[1][1], pbx_video, 0x4444)):
        ok, got = pump(src, (RELAY_OUTSIDE_IP, dst_port), sink, 20, ssrc)
        t.check(ok >= 18, f"{name}: RTP arrives byte-identical ({ok}/20, {len(got)} got)")
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()
    cdr = t.cdrs(expected=1)[0]
    t.check(cdr.get("media_stats") is True and cdr.get("a_packets") == 40
            and cdr.get("b_packets") == 40,
            f"the CDR sums both streams (40 packets from each side: {cdr})")


def wait_nth_sdp(t, sipp, pick, n, what, timeout=10.0):
    """The body of the n-th (1-based) message with SDP that pick(msg) selects."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bodies = [m.body for m in sipp.messages() if pick(m) and "m=audio" in m.body]
        if len(bodies) >= n:
            return bodies[n - 1]
        time.sleep(0.1)
    raise TestFailure(f"no SDP {what} within {timeout} s")


def wait_relay_sessions(relay, want, timeout=5.0):
    """Polls the relay's session count until it is `want`; returns the last."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = relay.ping().get("sessions")
        if got == want:
            break
        time.sleep(0.1)
    return got


@case(120)
def two_streams_reinvite(t):
    """Audio + video, then a re-INVITE from the PBX turns the video off
    (port 0): once answered, the video's relay session is gone (one session
    left, relay_sessions 1), the line stays at port 0 in both legs' SDP, the
    audio keeps its relay ports and still flows both ways, the old video port
    forwards nothing, and the CDR still counts the video's packets."""
    start(t)
    t.carrier_rtp = rtp_socket(CARRIER_MEDIA_IP)
    carrier_video = rtp_socket(CARRIER_MEDIA_IP)
    c = t.sipp("carrier", os.path.join(HERE, "media_carrier_uas_two_streams_reinvite.xml"),
               CARRIER1_IP, port=t.c1_port, server=True, calls=1, media_ip=CARRIER_MEDIA_IP,
               subst={"PROTO": "RTP/AVP", "CRYPTO": "a=ptime:20"},
               sets={"rtp_ip": CARRIER_MEDIA_IP, "rtp_port": t.carrier_rtp.getsockname()[1],
                     "video_port": carrier_video.getsockname()[1]})
    t.pbx_rtp = rtp_socket(PBX_MEDIA_IP)
    pbx_video = rtp_socket(PBX_MEDIA_IP)
    p = t.sipp("pbx", os.path.join(HERE, "media_pbx_uac_two_streams_reinvite.xml"), PBX_IP,
               remote=t.inside, service="12125550123", cid_prefix="pbx-secret-", calls=1,
               duration_ms=4000, timeout=40, media_ip=PBX_MEDIA_IP,
               sets={"caller": "14155550100", "rtp_ip": PBX_MEDIA_IP,
                     "rtp_port": t.pbx_rtp.getsockname()[1],
                     "video_port": pbx_video.getsockname()[1]})
    om = m_lines(wait_nth_sdp(t, c, received_invite, 1, "in the carrier's INVITE"))
    am = m_lines(wait_nth_sdp(t, p, received_200_invite, 1, "in the PBX's 200"))
    t.check(om[1][1] != 0 and am[1][1] != 0, f"video anchored at first ({om}, {am})")
    t.check(wait_relay_sessions(t.relay, 2) == 2, "two relay sessions for the call")
    for name, src, dst, sink, ssrc in (
            ("PBX -> carrier audio", t.pbx_rtp, (RELAY_INSIDE_IP, am[0][1]), t.carrier_rtp, 0x1111),
            ("PBX -> carrier video", pbx_video, (RELAY_INSIDE_IP, am[1][1]), carrier_video, 0x2222),
            ("carrier -> PBX audio", t.carrier_rtp, (RELAY_OUTSIDE_IP, om[0][1]), t.pbx_rtp,
             0x3333)):
        ok, got = pump(src, dst, sink, 20, ssrc)
        t.check(ok >= 18, f"before the re-INVITE, {name}: RTP arrives ({ok}/20)")

    reoffer = wait_nth_sdp(t, c, received_invite, 2, "in the carrier's re-INVITE")
    reanswer = wait_nth_sdp(t, p, received_200_invite, 2, "in the PBX's 200 to the re-INVITE")
    check_only_relay(t, reoffer, RELAY_OUTSIDE_IP, "carrier's re-offer")
    check_only_relay(t, reanswer, RELAY_INSIDE_IP, "PBX's re-answer")
    rom, ram = m_lines(reoffer), m_lines(reanswer)
    t.check([m[1] for m in rom] == [om[0][1], 0, 0],
            f"the carrier's re-offer: same audio relay port, video and third line at port 0 ({rom})")
    t.check([m[1] for m in ram] == [am[0][1], 0, 0],
            f"the PBX's re-answer: same audio relay port, video and third line at port 0 ({ram})")
    sessions = wait_relay_sessions(t.relay, 1)
    t.check(sessions == 1, f"the video's relay session is gone once answered ({sessions} left)")
    t.check(t.relay.metrics().get("relay_sessions") == 1, "relay_sessions gauge says 1")
    for name, src, dst, sink, ssrc in (
            ("PBX -> carrier audio", t.pbx_rtp, (RELAY_INSIDE_IP, am[0][1]), t.carrier_rtp, 0x4444),
            ("carrier -> PBX audio", t.carrier_rtp, (RELAY_OUTSIDE_IP, om[0][1]), t.pbx_rtp,
             0x5555)):
        ok, got = pump(src, dst, sink, 20, ssrc)
        t.check(ok >= 18, f"after the re-INVITE, {name}: RTP still arrives ({ok}/20)")
    ok, got = pump(pbx_video, (RELAY_INSIDE_IP, am[1][1]), carrier_video, 5, 0x6666)
    t.check(not got, f"the old video relay port forwards nothing ({len(got)} got)")
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()
    cdr = t.cdrs(expected=1)[0]
    t.check(cdr.get("media_stats") is True and cdr.get("a_packets") == 60
            and cdr.get("b_packets") == 40,
            f"the CDR counts the removed video stream too (60 from the PBX, 40 from the "
            f"carrier: {cdr})")


@case(120)
def failover_reanchor(t):
    """The first carrier (plain RTP) answers 503; the call fails over to an
    srtp-mandatory carrier: the caller's offer is anchored again for it
    (RTP/SAVP with the relay's a=crypto), the call connects, the PBX's RTP
    reaches the second carrier SRTP-protected, and no relay session is left."""
    def second_carrier(t):
        t.c2_port = free_udp_port(CARRIER2_IP)
        t.carrier_b = t.add_trunk("carrier-b", "carrier", acl=["127.0.0.4/32"],
                                  gateways=[(CARRIER2_IP, t.c2_port, {"options_ping": False})],
                                  media_policy="srtp-mandatory")
        t.add_route("", t.carrier_b, priority=20)
    start(t, setup=second_carrier)
    c1 = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_reject.xml", calls=1,
                       subst={"CODE": 503, "REASON": "Service Unavailable"})
    c2 = carrier(t, srtp=True, ip=CARRIER2_IP, port=t.c2_port, name="carrier2")
    p = pbx(t, duration_ms=4000)
    first = wait_sdp(t, c1, received_invite, "in the first carrier's INVITE")
    second = wait_sdp(t, c2, received_invite, "in the second carrier's INVITE")
    answer = wait_sdp(t, p, received_200_invite, "in the PBX's 200")
    check_only_relay(t, first, RELAY_OUTSIDE_IP, "first carrier's offer")
    check_only_relay(t, second, RELAY_OUTSIDE_IP, "second carrier's offer")
    check_only_relay(t, answer, RELAY_INSIDE_IP, "PBX's answer")
    t.check(" RTP/AVP " in first and "a=crypto" not in first,
            "the plain carrier got RTP/AVP without a=crypto")
    cryptos = re.findall(r"^a=crypto:.*$", second, re.M)
    t.check(" RTP/SAVP " in second and len(cryptos) == 1,
            f"the srtp-mandatory carrier got RTP/SAVP with one a=crypto ({cryptos})")
    t.check(" RTP/AVP " in answer and "a=crypto" not in answer,
            "the PBX gets RTP/AVP without a=crypto")
    a_addr, a_port, _ = sdp_media(answer)
    ok, got = pump(t.pbx_rtp, (a_addr, a_port), t.carrier_rtp, 20, 0x3131, identical=False,
                   extra_len=10)
    t.check(ok >= 18, f"PBX -> second carrier: SRTP packets arrive ({ok}/20, {len(got)} got)")
    t.check(t.relay.ping().get("sessions") == 1,
            "one relay session during the call (the first attempt's is gone)")
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c1, 0, successful=1)
    t.expect_exit(c2, 0, successful=1)
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()


@case(120)
def srtp_reinvite(t):
    """srtp-optional PBX, plain carrier: the call starts RTP/SAVP on the PBX
    leg, a re-INVITE takes it to RTP/AVP (the relay drops the leg's keys:
    plain RTP passes byte-identical both ways), a second one back to
    RTP/SAVP with a new key (the relay is keyed again: plain RTP from the
    PBX is no longer forwarded, the carrier's arrives protected)."""
    start(t, pbx_cols={"media_policy": "srtp-optional"})
    t.carrier_rtp = rtp_socket(CARRIER_MEDIA_IP)
    c = t.sipp("carrier", os.path.join(HERE, "media_carrier_uas_reinvite.xml"), CARRIER1_IP,
               port=t.c1_port, server=True, calls=1, media_ip=CARRIER_MEDIA_IP,
               sets={"rtp_ip": CARRIER_MEDIA_IP, "rtp_port": t.carrier_rtp.getsockname()[1]})
    t.pbx_rtp = rtp_socket(PBX_MEDIA_IP)
    key2 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk"
    p = t.sipp("pbx", os.path.join(HERE, "media_pbx_uac_srtp_reinvite.xml"), PBX_IP,
               remote=t.inside, service="12125550123", cid_prefix="pbx-secret-", calls=1,
               duration_ms=6000, timeout=60, media_ip=PBX_MEDIA_IP,
               subst={"KEY1": KEY30, "KEY2": key2},
               sets={"caller": "14155550100", "rtp_ip": PBX_MEDIA_IP,
                     "rtp_port": t.pbx_rtp.getsockname()[1]})

    def answer_to(cseq, timeout=15.0):
        return wait_sdp(t, p, lambda m: received_200_invite(m)
                        and m.header("cseq").split()[0] == str(cseq),
                        f"in the PBX's 200 to INVITE CSeq {cseq}", timeout)

    offer = wait_sdp(t, c, received_invite, "in the carrier's INVITE")
    t.check(" RTP/AVP " in offer and "a=crypto" not in offer, "the carrier gets plain RTP")
    to_carrier = (RELAY_OUTSIDE_IP, sdp_media(offer)[1])
    a1 = answer_to(1)
    k1 = re.findall(r"^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:(\S+)", a1, re.M)
    t.check(" RTP/SAVP " in a1 and len(k1) == 1 and k1[0] != KEY30,
            f"the PBX's answer is RTP/SAVP with the relay's key ({k1})")
    to_pbx_leg = (RELAY_INSIDE_IP, sdp_media(a1)[1])
    ok, got = pump(t.carrier_rtp, to_carrier, t.pbx_rtp, 20, 0x7001, identical=False,
                   extra_len=10)
    t.check(ok >= 18, f"SAVP: carrier RTP reaches the PBX protected ({ok}/20)")

    a2 = answer_to(2)
    check_only_relay(t, a2, RELAY_INSIDE_IP, "PBX's answer to the AVP re-INVITE")
    t.check(" RTP/AVP " in a2 and "a=crypto" not in a2,
            "the AVP re-INVITE is answered RTP/AVP without a=crypto")
    t.check(sdp_media(a2)[1] == to_pbx_leg[1], "on the same relay port (the session is updated)")
    ok, got = pump(t.pbx_rtp, to_pbx_leg, t.carrier_rtp, 20, 0x7002)
    t.check(ok >= 18, f"AVP: PBX plain RTP reaches the carrier byte-identical ({ok}/20)")
    ok, got = pump(t.carrier_rtp, to_carrier, t.pbx_rtp, 20, 0x7003)
    t.check(ok >= 18, f"AVP: carrier RTP reaches the PBX unprotected ({ok}/20)")

    a3 = answer_to(3)
    k3 = re.findall(r"^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:(\S+)", a3, re.M)
    t.check(" RTP/SAVP " in a3 and len(k3) == 1 and k3[0] not in (KEY30, key2),
            f"the SAVP re-INVITE is answered RTP/SAVP with a relay key ({k3})")
    ok, got = pump(t.pbx_rtp, to_pbx_leg, t.carrier_rtp, 10, 0x7004)
    t.check(not got, f"SAVP again: plain RTP from the PBX is not forwarded ({len(got)} got)")
    ok, got = pump(t.carrier_rtp, to_carrier, t.pbx_rtp, 20, 0x7005, identical=False,
                   extra_len=10)
    t.check(ok >= 18, f"SAVP again: carrier RTP reaches the PBX protected ({ok}/20)")
    m = t.relay.metrics()
    t.check(m.get("relay_srtp_auth_failures_total", 0) >= 10,
            f"the plain packets failed SRTP authentication at the relay "
            f"({m.get('relay_srtp_auth_failures_total')})")
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()


@case(120)
def srtp_baresip(t):
    """baresip as the PBX on an srtp-mandatory trunk (RTP/SAVP, a=crypto),
    a plain-RTP carrier (SIPp, RTP echoed by a Python socket): the carrier's
    SDP has no a=crypto and only the relay's address, baresip's answer has
    the relay's a=crypto, RTP flows both ways through the relay (SRTP on
    baresip's leg) with no SRTP failure on either side."""
    start(t, pbx_cols={"media_policy": "srtp-mandatory", "media_latch": "window_any"})
    c = carrier(t, scenario="media_carrier_uas.xml")
    c.wait_bound()
    echo = RtpEcho(t.carrier_rtp)
    # The relay sends the carrier's leg RTCP to its RTP port + 1.
    carrier_rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        carrier_rtcp.bind((CARRIER_MEDIA_IP, t.carrier_rtp.getsockname()[1] + 1))
    except OSError:
        carrier_rtcp.close()
        carrier_rtcp = None  # taken by someone else: the RTCP check is skipped
    phone = Baresip(t, f"sip:12125550123@{t.inside[0]}:{t.inside[1]}", seconds=8)
    try:
        offer = wait_sdp(t, c, received_invite, "in the carrier's INVITE", timeout=10)
        check_only_relay(t, offer, RELAY_OUTSIDE_IP, "carrier's offer")
        t.check(" RTP/AVP " in offer and "a=crypto" not in offer,
                "the carrier gets RTP/AVP without a=crypto")
        t.check("a=ssrc" not in offer, "no a=ssrc (its cname names baresip's address)")
        phone.wait(20)
    finally:
        phone.stop()
        echo.stop()
    t.expect_exit(c, 0, successful=1)
    text = phone.text()
    bodies = sdp_bodies(text)
    t.check(len(bodies) >= 2, f"baresip's trace shows its offer and the answer ({len(bodies)})")
    answer = bodies[-1] if bodies else ""
    check_only_relay(t, answer, RELAY_INSIDE_IP, "baresip's answer")
    cryptos = re.findall(r"^a=crypto:(\d+) (\S+) inline:(\S+)", answer, re.M)
    t.check(" RTP/SAVP " in answer and len(cryptos) == 1,
            f"baresip gets RTP/SAVP with one a=crypto ({cryptos})")
    offered = re.findall(r"^a=crypto:(\d+) (\S+) inline:(\S+)", bodies[0], re.M) if bodies else []
    t.check(cryptos and offered and cryptos[0][0] == offered[0][0]
            and cryptos[0][2] != offered[0][2],
            "the answer accepts baresip's tag with the relay's own key")
    t.check(not re.search(r"srtp.*(fail|error)|unprotect", text, re.I),
            "baresip reports no SRTP failure")
    t.check(re.search(r"^c=IN IP4 127\.0\.0\.2\r?$", bodies[0] if bodies else "", re.M),
            "baresip signals 127.0.0.2 (its RTP comes from 127.0.0.1)")
    m = t.relay.metrics()
    drops = {k: v for k, v in m.items() if k.startswith("relay_dropped_total") and v}
    log(f"   relay drops: {drops}")

    def dropped(reason):
        return m.get(f'relay_dropped_total{{reason="{reason}"}}', 0)
    t.check(dropped("strict_source") == 0,
            "window_any: the relay latched baresip's real source, nothing dropped as strict_source")
    # baresip (libre) sends two RTCP packets in the clear on its SRTP leg: an
    # APP "PING"/"PONG" NAT-pinhole packet when the stream starts (16 bytes,
    # before its SRTP is engaged; it sends the same APP again as SRTCP right
    # after) and, at hang-up, BYE ("Adjo") + SDES after its SRTP context is
    # freed. RFC 3711 makes SRTCP authentication mandatory, so the relay must
    # drop both (libsrtp: bad length / E-bit clear = cant_check, counted as
    # srtp_other); every real SRTCP packet passes (checked below).
    t.check(dropped("srtp_auth") == 0 and dropped("srtp_replay") == 0
            and dropped("srtp_other") <= 2,
            f"SRTCP: no authentication or replay drop, at most baresip's two plain RTCP "
            f"packets refused ({drops})")
    if carrier_rtcp is not None:
        carrier_rtcp.setblocking(False)
        rtcp = []
        while True:
            try:
                rtcp.append(carrier_rtcp.recv(2048))
            except OSError:
                break
        carrier_rtcp.close()
        reports = [p for p in rtcp if len(p) >= 8 and p[0] >> 6 == 2 and p[1] == 200]
        t.check(reports, f"baresip's SRTCP sender report reached the carrier as plain RTCP "
                f"({len(reports)} SR of {len(rtcp)} RTCP packets)")
    srtp_in = m.get('relay_packets_total{direction="in",kind="srtp"}', 0)
    srtp_out = m.get('relay_packets_total{direction="out",kind="srtp"}', 0)
    rtp_in = m.get('relay_packets_total{direction="in",kind="rtp"}', 0)
    rtp_out = m.get('relay_packets_total{direction="out",kind="rtp"}', 0)
    t.check(srtp_in >= 100 and rtp_out >= 100,
            f"the relay forwarded baresip's SRTP to the carrier ({srtp_in} in, {rtp_out} out)")
    t.check(rtp_in >= 100 and srtp_out >= 100,
            f"and the carrier's echo to baresip as SRTP ({rtp_in} in, {srtp_out} out)")
    t.check(m.get("relay_srtp_auth_failures_total", -1) == 0,
            f"no SRTP authentication failure at the relay "
            f"({m.get('relay_srtp_auth_failures_total')})")
    # Plain RTP at the carrier: version 2, PCMU, 160 bytes of payload.
    plain = [p for p in echo.got if len(p) == 172 and p[0] == 0x80 and (p[1] & 0x7F) == 0]
    t.check(len(plain) >= 100, f"the carrier got baresip's tone as plain PCMU RTP "
            f"({len(plain)} of {len(echo.got)} packets)")
    relay_sessions_zero(t, t.relay)
    t.expect_channels_free()
    cdr = t.cdrs(expected=1)[0]
    t.check(cdr.get("media_stats") is True and cdr.get("a_packets", 0) >= 100
            and cdr.get("b_packets", 0) >= 100 and cdr.get("a_srtp_failures") == 0,
            f"the CDR has media both ways, no SRTP failure ({cdr})")


def main():
    ap = tool_parser(__doc__, required=False)
    ap.add_argument("--relay")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        for name, (_, timeout) in CASES.items():
            if "baresip" in name and not shutil.which("baresip"):
                continue  # deploy/install-deps.sh installs baresip-core
            print(f"{name} {timeout}")
        return 0
    if a.case not in CASES:
        ap.error(f"unknown case {a.case!r}; one of: {', '.join(CASES)}")
    tools = Tools.from_args(a)
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
