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
import sbcdb  # noqa: E402
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
    # compat. RFC 4475 3.5.1 asks elements "that want to maintain backwards
    # compatibility" to accept this RFC 2543 INVITE; it has no Contact, which
    # RFC 3261 8.1.1.8 makes mandatory, and the B2BUA needs one as the caller's
    # remote target: it answers 400 Missing Contact, a correct RFC 3261 answer.
    "inv2543.dat": ANY,
}

# On a stream, Content-Length frames the message (RFC 3261 18.3). Messages
# whose Content-Length is missing, wrong or doubled cannot be framed: the sbc
# answers 400 where it can still read the headers, or closes the connection.
STREAM_EXPECT = {
    "clerr.dat": (400, None), "ncl.dat": (400, None), "mcl01.dat": (400, None),
    "inv2543.dat": ANY + " or close",
}


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


def ack_for(request, response):
    """The ACK for a non-2xx final response to an INVITE (RFC 3261 17.1.1.3),
    built from the response's Via/From/To/Call-ID/CSeq, or None."""
    if not request.startswith(b"INVITE "):
        return None
    uri = request.split(b"\r\n", 1)[0].split(b" ")
    head = response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    keep = {}
    for line in head:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        key = {b"v": b"via", b"f": b"from", b"t": b"to", b"i": b"call-id"}.get(key, key)
        if key in (b"via", b"from", b"to", b"call-id", b"cseq") and key not in keep:
            keep[key] = value.strip()
    if len(uri) < 3 or len(keep) != 5 or not keep[b"cseq"].split()[0].isdigit():
        return None
    return (b"ACK " + uri[1] + b" SIP/2.0\r\nVia: " + keep[b"via"] + b"\r\nFrom: " +
            keep[b"from"] + b"\r\nTo: " + keep[b"to"] + b"\r\nCall-ID: " + keep[b"call-id"] +
            b"\r\nCSeq: " + keep[b"cseq"].split()[0] + b" ACK\r\nMax-Forwards: 70\r\n"
            b"Content-Length: 0\r\n\r\n")


VIA_RE = re.compile(rb"(?im)^(?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[^/]*/[ \t]*\S+[ \t]+([^;,\s]+)")
BRANCH_RE = re.compile(rb"branch=([^;,\s]+)")


def transaction_key(data):
    """(method, branch, sent-by) as RFC 3261 17.2.3 matches requests."""
    via, branch = VIA_RE.search(data), BRANCH_RE.search(data)
    if data.startswith(b"SIP/") or not via or not branch:
        return None
    sent_by = via.group(1).lower()
    if b":" not in sent_by.split(b"]")[-1]:
        sent_by += b":5060"
    return data.split(b" ", 1)[0], branch.group(1), sent_by


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
            # Without the ACK the sbc retransmits its answer to an INVITE
            # (RFC 3261 17.2.1), and a copy would pass for the next message's.
            ack = ack_for(data, reply) if st >= 300 else None
            if ack:
                sock.sendto(ack, sbc_addr)
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
    # The sbc answers only sources it knows: one PBX trunk whose ACL covers
    # loopback, in a database of this test's own.
    db = sbcdb.TestDb(f"rfc4475_{transport}").__enter__()
    cfg.append(db.toml_section(work))
    sbc = sbctest.Sbc(binary, work, "\n".join(cfg))
    try:
        db.wait_for_schema(sbc)
        db.add_trunk("torture-pbx", "pbx", "inside", "127.0.0.0/8")
    except sbcdb.TestDbError as e:
        print(f"database set-up failed: {e}\n" + sbc.tail())
        sbc.stop()
        db.__exit__(None, None, None)
        return 1
    addr = ("127.0.0.1", port)
    failures = 0

    udp = None
    if transport == "udp":
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))

    def ask(data, wait):
        if transport == "udp":
            return final_status_udp(udp, data, addr, wait)
        return final_status_stream(transport, addr, ctx, data, wait)

    def ping():
        local = udp.getsockname() if udp else ("127.0.0.1", 0)
        return ask(sbctest.options_request("127.0.0.1", port, transport.upper(), local), 1.0)

    deadline = time.monotonic() + 20
    while True:
        try:
            if ping() == 200:
                break
        except OSError:
            pass
        if not sbc.alive() or time.monotonic() > deadline:
            print("sbc did not come up:\n" + sbc.tail())
            sbc.stop()
            db.__exit__(None, None, None)
            return 1
        time.sleep(0.2)

    sent_keys = set()
    for name in sorted(EXPECT):
        with open(os.path.join(fixtures, name), "rb") as f:
            data = f.read()
        exp = EXPECT[name]
        if transport != "udp":
            exp = STREAM_EXPECT.get(name, exp)
        is_response = data.startswith(b"SIP/2.0 ")
        if transport == "udp":
            # Several RFC 4475 examples share branch and sent-by: within a UDP
            # transaction's lifetime (Timer J/H) the sbc rightly takes the
            # later one for a retransmission of the earlier. They are
            # independent examples, so the later one gets a branch of its own.
            key = transaction_key(data)
            if key in sent_keys:
                data = BRANCH_RE.sub(lambda m: b"branch=" + m.group(1) + b"x%d" % len(sent_keys),
                                     data, count=1)
                key = transaction_key(data)
            sent_keys.add(key)
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
    db.__exit__(None, None, None)
    if failures:
        sbctest.log("--- sbc log tail ---\n" + sbc.tail())
    sbctest.log(f"{len(EXPECT) + 2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
