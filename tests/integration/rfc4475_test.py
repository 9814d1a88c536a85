#!/usr/bin/env python3
"""Sends every RFC 4475 torture message to a running sbc over one transport
and checks each reply against what the RFC (tests/fixtures/rfc4475/MANIFEST.tsv)
asks of a compliant element; then checks the sbc is alive, still answers
OPTIONS, and exits cleanly on SIGTERM.

usage: rfc4475_test.py SBC_BINARY FIXTURES_DIR udp|tcp|tls
"""
import os
import re
import socket
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbctest  # noqa: E402

ANY = "any response"          # a final response with any status
NOT400 = "a final response that is not 400"
DISCARD = "no response"       # responses sent to the sbc match nothing: dropped

# What a compliant element answers to each file (MANIFEST.tsv, column 4).
# A tuple lists the acceptable statuses; None in it allows a discard.
EXPECT = {
    # valid
    "wsinv.dat": NOT400, "intmeth.dat": NOT400, "esc01.dat": NOT400,
    "escnull.dat": NOT400, "esc02.dat": NOT400, "lwsdisp.dat": NOT400,
    "longreq.dat": NOT400, "dblreq.dat": NOT400, "semiuri.dat": NOT400,
    "transports.dat": NOT400, "mpart01.dat": NOT400,
    "unreason.dat": DISCARD, "noreason.dat": DISCARD,
    # invalid
    "badinv01.dat": (400, None), "clerr.dat": (400, None), "ncl.dat": (400,),
    "scalar02.dat": (400,), "scalarlg.dat": DISCARD, "quotbal.dat": (400,),
    "ltgtruri.dat": (400,), "lwsruri.dat": (400,), "lwsstart.dat": (400,),
    "trws.dat": (400,), "escruri.dat": (400,), "baddate.dat": ANY,
    "regbadct.dat": ANY, "badaspec.dat": (400,), "baddn.dat": (400,),
    "badvers.dat": (505,), "mismatch01.dat": (400,), "mismatch02.dat": (400,),
    "bigcode.dat": DISCARD,
    # transaction
    "badbranch.dat": NOT400,
    # application
    "insuf.dat": (400,), "unkscm.dat": (416,), "novelsc.dat": (416,),
    "unksm2.dat": NOT400, "bext01.dat": (420,), "invut.dat": (415,),
    "regaut01.dat": (401, 403), "multi01.dat": (400,), "mcl01.dat": (400,),
    "bcast.dat": DISCARD, "zeromf.dat": (483,), "cparam01.dat": NOT400,
    "cparam02.dat": NOT400, "regescrt.dat": NOT400, "sdp01.dat": (406,),
    # compat
    "inv2543.dat": NOT400,
}

# On a stream, Content-Length frames the message (RFC 3261 18.3). Messages
# whose Content-Length is missing, wrong or doubled cannot be framed: the sbc
# answers 400 where it can still read the headers, or closes the connection.
STREAM_EXPECT = {
    "clerr.dat": (400, None), "ncl.dat": (400, None), "mcl01.dat": (400, None),
    "inv2543.dat": ANY + " or close",
}


BRANCH_RE = re.compile(rb"(?i)branch\s*=\s*([^;,\s]+)")


def expected_text(exp):
    if isinstance(exp, tuple):
        return " or ".join("discard" if c is None else str(c) for c in exp)
    return exp


def judge(exp, status, is_response_file):
    if exp == DISCARD:
        return status is None
    if exp == ANY:
        return status is not None
    if exp == ANY + " or close":
        return True
    if exp == NOT400:
        return status is not None and status != 400
    return status in exp


def final_status_udp(sock, data, sbc_addr, wait):
    sock.sendto(data, sbc_addr)
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            reply, _ = sock.recvfrom(65536)
        except (socket.timeout, TimeoutError):
            return None
        st = sbctest.status_of(reply)
        if st is not None and st >= 200:
            return st


def open_stream(transport, addr, ctx):
    raw = socket.create_connection(addr, timeout=5)
    if transport == "tls":
        return ctx.wrap_socket(raw, server_hostname="sbc.test")
    return raw


def final_status_stream(transport, addr, ctx, data, wait):
    s = open_stream(transport, addr, ctx)
    try:
        s.sendall(data)
        reader = sbctest.StreamReader(s)
        deadline = time.monotonic() + wait
        while True:
            msg = reader.read_message(deadline)
            if msg is None:
                return None
            st = sbctest.status_of(msg)
            if st is not None and st >= 200:
                return st
    finally:
        s.close()


def main():
    binary, fixtures, transport = sys.argv[1], sys.argv[2], sys.argv[3]
    manifest = {}
    with open(os.path.join(fixtures, "MANIFEST.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 3:
                manifest[cols[0]] = cols[2]
    assert set(manifest) == set(EXPECT), "MANIFEST.tsv and this test disagree on the file set"

    work = tempfile.mkdtemp(prefix=f"rfc4475-{transport}-")
    port = sbctest.free_port()
    cfg = ['[node]\nname = "torture"\nlog_level = "warn"\n', '[sip]\nidle_timeout = 30\n']
    ctx = None
    listen = f'[[listen]]\nrealm = "inside"\ntransport = "{transport}"\naddress = "127.0.0.1"\nport = {port}\n'
    if transport == "tls":
        certs = sbctest.make_certs(work)
        listen += f'certificate = "{certs["cert"]}"\nprivate_key = "{certs["key"]}"\n'
        ctx = ssl.create_default_context(cafile=certs["ca"])
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cfg.append(listen)
    addr = ("127.0.0.1", port)
    failures = 0
    sbc = None

    def ask(data, wait, local_port=0):
        if transport == "udp":
            # A socket of its own per message: the sbc retransmits final
            # responses to INVITEs (nobody ACKs them here), and those must
            # not be taken for the answer to the next message.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", local_port))
                return final_status_udp(udp, data, addr, wait)
        return final_status_stream(transport, addr, ctx, data, wait)

    def ping():
        if transport == "udp":
            local_port = sbctest.free_port(kind=socket.SOCK_DGRAM)
            req = sbctest.options_request("127.0.0.1", port, "UDP", ("127.0.0.1", local_port))
            return ask(req, 1.0, local_port)
        return ask(sbctest.options_request("127.0.0.1", port, transport.upper()), 1.0)

    def start():
        proc = sbctest.Sbc(binary, work, "\n".join(cfg))
        deadline = time.monotonic() + 20
        while True:
            try:
                if ping() == 200:
                    return proc
            except OSError:
                pass
            if not proc.alive() or time.monotonic() > deadline:
                print("sbc did not come up:\n" + proc.tail())
                proc.stop()
                return None
            time.sleep(0.2)

    sbc = start()
    if sbc is None:
        return 1
    # Many torture messages share a Via branch and sent-by. To the sbc a
    # second one is a retransmission of the first (RFC 3261 17.2.3), answered
    # with the first one's response. Each file is a test of its own, so a
    # file whose branch was already used in this run gets a fresh sbc.
    used_branches = set()

    for name in sorted(EXPECT):
        with open(os.path.join(fixtures, name), "rb") as f:
            data = f.read()
        m = BRANCH_RE.search(data)
        branch = m.group(1).lower() if m else None
        if branch is not None and branch in used_branches:
            code = sbc.stop()
            if code != 0:
                failures += 1
                sbctest.log(f"FAIL sbc exit code on SIGTERM: {code}")
            used_branches.clear()
            sbc = start()
            if sbc is None:
                return 1
        if branch is not None:
            used_branches.add(branch)
        exp = EXPECT[name]
        if transport != "udp":
            exp = STREAM_EXPECT.get(name, exp)
        is_response = data.startswith(b"SIP/2.0 ")
        wait = 0.6 if (exp == DISCARD or (isinstance(exp, tuple) and None in exp)) else 3.0
        try:
            status = ask(data, wait)
        except OSError as e:
            status = None
            sbctest.log(f"  {name}: socket error {e}")
        ok = judge(exp, status, is_response) and sbc.alive()
        failures += 0 if ok else 1
        got = "no response" if status is None else str(status)
        sbctest.log(f"{'ok  ' if ok else 'FAIL'} {transport} {name:16} {manifest[name]:12} "
                    f"expected {expected_text(exp)}, got {got}")

    after = ping() if sbc.alive() else None
    if after != 200:
        failures += 1
        sbctest.log(f"FAIL OPTIONS after the torture run: {after}")
    code = sbc.stop()
    if code != 0:
        failures += 1
        sbctest.log(f"FAIL sbc exit code on SIGTERM: {code}")
    if failures:
        sbctest.log("--- sbc log tail ---\n" + sbc.tail())
    sbctest.log(f"{len(EXPECT) + 2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
