#!/usr/bin/env python3
"""SIPp call tests of the sbc binary with its configuration in PostgreSQL
(issue 3). One case per run:

    calls_test.py --sbc BIN --migrate BIN --encrypt BIN CASE
    calls_test.py --list

Needs SBC_TEST_DSN (ctest sets it; tests/pg). SBC_CALLS_KEEP=1 keeps the
work directory (sbc log, SIPp message logs) even when the case passes.
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CARRIER1_IP, CARRIER2_IP, CARRIER_SECRETS, PBX_IP,  # noqa: E402
                     PBX_MEDIA_IP, PBX_SECRETS, SBC_INSIDE_IP, SBC_OUTSIDE_IP, SilentUdp,
                     TestFailure, TlsUas, UdpRegistrar, case_registry, cases_main, digest_valid,
                     free_tcp_port, free_udp_port, log, sip_register, sql_literal)
import sbctest  # noqa: E402  (harness put tests/integration on the path)

CASES, case = case_registry()


# ---------------------------------------------------------------------------
# helpers


def invite_finals(msgs):
    """{Call-ID: final status} of the INVITE transactions in `msgs` (the
    first final response seen per Call-ID and CSeq 1..n INVITE)."""
    out = {}
    for m in msgs:
        if m.is_response and m.method == "INVITE" and m.status and m.status >= 200:
            out.setdefault(m.call_id, m)
    return out


def requests(msgs, method):
    return [m for m in msgs if not m.is_response and m.method == method]


def distinct_calls(msgs, method="INVITE"):
    """Initial requests of `method` (one per Call-ID: retransmissions and
    re-INVITEs counted once)."""
    seen = {}
    for m in requests(msgs, method):
        seen.setdefault(m.call_id, m)
    return list(seen.values())


def uri_user(uri):
    m = re.match(r"<?(?:sips?|tel):([^@>]*)", uri or "")
    return m.group(1) if m else ""


def header_uri_user(value):
    m = re.search(r"<?(?:sips?|tel):([^@>;]*)", value or "")
    return m.group(1) if m else ""


def basic_config(t, carrier_ports=None, pbx_port=None, pbx_cols=None, carrier_cols=None,
                 second_carrier=False):
    """One PBX trunk (ACL 127.0.0.2/32, its gateway for inbound calls), one
    carrier trunk with a gateway on 127.0.0.3 (ACL 127.0.0.3/32), a default
    route to it and the DID +14155550100 on the PBX. Health pings off: SIPp
    peers would count OPTIONS as stray calls."""
    t.pbx_port = pbx_port or free_udp_port(PBX_IP)
    t.c1_port = (carrier_ports or {}).get(1) or free_udp_port(CARRIER1_IP)
    t.pbx = t.add_trunk("pbx-a", "pbx", acl=["127.0.0.2/32"],
                        gateways=[(PBX_IP, t.pbx_port, {"options_ping": False})],
                        **(pbx_cols or {}))
    t.carrier = t.add_trunk("carrier-a", "carrier", acl=["127.0.0.3/32"],
                            gateways=[(CARRIER1_IP, t.c1_port, {"options_ping": False})],
                            **(carrier_cols or {}))
    t.add_route("", t.carrier)
    t.add_did("+14155550100", t.pbx)
    if second_carrier:
        t.c2_port = (carrier_ports or {}).get(2) or free_udp_port(CARRIER2_IP)
        t.carrier_b = t.add_trunk("carrier-b", "carrier", acl=["127.0.0.4/32"],
                                  gateways=[(CARRIER2_IP, t.c2_port, {"options_ping": False})])


def expect_cdr(t, cdr, **want):
    """Each `want` key equals the CDR's column (callables are predicates)."""
    for k, v in want.items():
        got = cdr.get(k)
        ok = v(got) if callable(v) else got == v
        t.check(ok, f"CDR {k} = {got!r}" + ("" if callable(v) else f" (want {v!r})"))


def e164ish(digits):
    """A number as the sbc may write it: with or without '+', and nothing
    else (no RFC 4694 parameters: the lnp case checks them apart)."""
    return lambda v: v is not None and ";" not in v and v.lstrip("+") == digits


# ---------------------------------------------------------------------------
# the cases


@case(90)
def outbound(t):
    """A PBX call to the carrier: answered, held, hung up by the PBX."""
    basic_config(t)
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1)
    pbx = t.pbx_uac(number="12125550123", calls=1, duration_ms=2500)
    # While the call is up: the mgmt API lists it and counts the channels.
    deadline = time.monotonic() + 2.0
    calls = []
    while time.monotonic() < deadline and not calls:
        calls = t.api_calls()
        if not calls:
            time.sleep(0.1)
    t.check(len(calls) == 1, f"/api/calls lists the call while it is up ({calls})")
    usage = t.trunk_usage()
    t.check(usage.get("pbx-a") == 1 and usage.get("carrier-a") == 1,
            f"one channel in use on pbx-a and on carrier-a during the call ({usage})")
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    invite = distinct_calls(carrier.received())[0]
    t.check(uri_user(invite.request_uri).split(";")[0] == "+12125550123",
            f"the carrier is asked for +12125550123 ({invite.request_uri})")
    t.check(header_uri_user(invite.header("from")) == "+14155550100",
            f"the carrier sees the caller as +14155550100 ({invite.header('from')})")
    vias = invite.header_all("via")
    t.check(len(vias) == 1 and SBC_OUTSIDE_IP in vias[0],
            f"the carrier sees one Via, the sbc's outside address ({vias})")
    t.check(len(requests(carrier.received(), "BYE")) >= 1, "the PBX's BYE reaches the carrier")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, direction="outbound", in_trunk="pbx-a", out_trunk="carrier-a",
               callee_in=e164ish("12125550123"), callee_out=e164ish("12125550123"),
               caller_out=e164ish("14155550100"), sip_code=200, ended_by="caller",
               failover_attempts=0,
               duration_ms=lambda d: d is not None and 2000 <= d <= 6000,
               answer_time=lambda a: a is not None)
    answered = t.metric("sbc_calls_total", result="answered")
    t.check(answered >= 1, f"/metrics sbc_calls_total{{result=answered}} counts it ({answered})")
    t.expect_channels_free()


@case(90)
def inbound(t):
    """A carrier call to an active DID is delivered to the PBX trunk."""
    basic_config(t)
    t.start_sbc()
    pbx = t.pbx_uas(t.pbx_port, calls=1)
    carrier = t.carrier_uac(number="+14155550100", caller="+12125550123", calls=1,
                            duration_ms=1000)
    t.expect_exit(carrier, 0, successful=1)
    t.expect_exit(pbx, 0, successful=1)
    invite = distinct_calls(pbx.received())[0]
    t.check(uri_user(invite.request_uri).split(";")[0].lstrip("+") == "14155550100",
            f"the PBX is asked for its DID ({invite.request_uri})")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, direction="inbound", in_trunk="carrier-a", out_trunk="pbx-a",
               callee_in=e164ish("14155550100"), caller_in=e164ish("12125550123"),
               sip_code=200, ended_by="caller")
    t.expect_channels_free()


@case(90)
def cancel(t):
    """The PBX cancels while the carrier rings: CANCEL reaches the carrier,
    the PBX gets 200 (CANCEL) and 487 (INVITE)."""
    basic_config(t)
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_ring.xml", calls=1)
    pbx = t.pbx_uac(scenario="pbx_cancel.xml", calls=1, duration_ms=800)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    finals = invite_finals(pbx.received())
    t.check([m.status for m in finals.values()] == [487],
            f"the PBX's INVITE ends 487 ({[m.status for m in finals.values()]})")
    t.check(len(requests(carrier.received(), "CANCEL")) >= 1, "the carrier gets a CANCEL")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=487, ended_by="caller", answer_time=None,
               end_reason=lambda r: "cancel" in (r or ""))
    t.expect_channels_free()


@case(90)
def busy(t):
    """486 from the carrier reaches the PBX as 486 (no failover on 4xx)."""
    basic_config(t)
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_reject.xml", calls=1,
                            subst={"CODE": 486, "REASON": "Busy Here"})
    pbx = t.pbx_uac(scenario="pbx_uac_any.xml", calls=1)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    finals = [m.status for m in invite_finals(pbx.received()).values()]
    t.check(finals == [486], f"the PBX gets 486 ({finals})")
    t.check(len(distinct_calls(carrier.received())) == 1, "one INVITE to the carrier, no retry")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=486, ended_by="callee", failover_attempts=0)
    t.expect_channels_free()


@case(90)
def no_answer(t):
    """The carrier rings past the trunk's ring timeout (2 s): the sbc CANCELs
    toward the carrier and answers the PBX 408 or 480."""
    basic_config(t, carrier_cols={"ring_timeout_seconds": 2})
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_ring.xml", calls=1)
    pbx = t.pbx_uac(scenario="pbx_uac_any.xml", calls=1)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    finals = [m.status for m in invite_finals(pbx.received()).values()]
    t.check(len(finals) == 1 and finals[0] in (408, 480), f"the PBX gets 408 or 480 ({finals})")
    got = carrier.received()
    invite, cancel_ = distinct_calls(got)[0], requests(got, "CANCEL")
    t.check(len(cancel_) >= 1, "the carrier gets a CANCEL")
    waited = cancel_[0].when - invite.when
    t.check(1.5 <= waited <= 4.0, f"the CANCEL comes after the 2 s ring timeout ({waited:.2f} s)")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=lambda c: c in (408, 480), ended_by="sbc",
               end_reason=lambda r: "ring" in (r or ""))
    t.expect_channels_free()


def _failover(t, first):
    """Two gateways on the carrier trunk: the first (priority 10) fails as
    `first` says, the second (priority 20) answers."""
    basic_config(t, carrier_cols={"failover_timeout_ms": 1000})
    t.c2_port = free_udp_port(CARRIER2_IP)
    t.add_gateway(t.carrier, CARRIER2_IP, t.c2_port, {"priority": 20, "options_ping": False})
    t.start_sbc()
    silent = None
    if first == "503":
        c1 = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_reject.xml", calls=1,
                           subst={"CODE": 503, "REASON": "Service Unavailable"})
    else:
        silent = SilentUdp(CARRIER1_IP, t.c1_port)
    c2 = t.carrier_uas(CARRIER2_IP, t.c2_port, calls=1)
    try:
        pbx = t.pbx_uac(calls=1, duration_ms=500)
        t.expect_exit(pbx, 0, successful=1)
        t.expect_exit(c2, 0, successful=1)
        if silent is None:
            t.expect_exit(c1, 0, successful=1)
            first_invites = distinct_calls(c1.received())
        else:
            first_invites = distinct_calls([m for m in silent.received])
    finally:
        if silent is not None:
            silent.close()
    t.check(len(first_invites) == 1, f"the first gateway got the INVITE ({len(first_invites)})")
    t.check(len(distinct_calls(c2.received())) == 1, "the second gateway got one INVITE")
    statuses = sorted({m.status for m in pbx.received() if m.is_response})
    t.check(503 not in statuses, f"the PBX never sees the 503 ({statuses})")
    if silent is not None:
        invite2 = distinct_calls(c2.received())[0]
        waited = invite2.when - first_invites[0].when
        t.check(0.8 <= waited <= 3.0,
                f"the second gateway is tried after the 1 s failover timeout ({waited:.2f} s)")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=200, out_trunk="carrier-a", failover_attempts=1,
               tried_gateways=lambda g: g is not None and len(g) == 2)
    t.expect_channels_free()


@case(90)
def failover_503(t):
    _failover(t, "503")


@case(90)
def failover_silent(t):
    _failover(t, "silent")


@case(90)
def hold_resume(t):
    """re-INVITE sendonly then sendrecv from the PBX: both answered, and the
    direction reaches the carrier and comes back."""
    basic_config(t)
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_uas_hold.xml", calls=1)
    pbx = t.pbx_uac(scenario="pbx_uac_hold.xml", calls=1, duration_ms=300)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    invites = requests(carrier.received(), "INVITE")
    cseqs = sorted({m.header("cseq") for m in invites})
    t.check(len(cseqs) == 3, f"the carrier gets the INVITE and two re-INVITEs ({cseqs})")
    by_cseq = {m.header("cseq"): m for m in invites}
    ordered = sorted(by_cseq.values(), key=lambda m: int(m.header("cseq").split()[0]))
    t.check("a=sendonly" in ordered[1].body, "the hold re-INVITE offers sendonly to the carrier")
    t.check("a=sendrecv" in ordered[2].body, "the resume re-INVITE offers sendrecv")
    oks = [m for m in pbx.received() if m.status == 200 and m.method == "INVITE"]
    bodies = {m.header("cseq").split()[0]: m.body for m in oks}
    t.check("a=recvonly" in bodies.get("2", ""), "the PBX's hold is answered recvonly")
    t.check("a=sendrecv" in bodies.get("3", ""), "the PBX's resume is answered sendrecv")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=200, ended_by="caller")
    t.expect_channels_free()


@case(240)
def session_timer(t):
    """A PBX that takes the refresher role (Session-Expires: 90;refresher=uac,
    90 s being RFC 4028's and the schema's floor) and never refreshes: the
    sbc ends the call itself, BYE to both sides, about 60 s after the answer
    (RFC 4028 10: 90 - min(32, 90/3))."""
    basic_config(t, pbx_cols={"session_expires": 90, "min_se": 90})
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1, timeout=170)
    pbx = t.pbx_uac(scenario="pbx_uac_timer.xml", calls=1, timeout=170, sets={"se": 90})
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    got = pbx.received()
    ok = [m for m in got if m.status == 200 and m.method == "INVITE"][0]
    se = ok.header("session-expires") or ""
    t.check(se.replace(" ", "").startswith("90;refresher=uac"),
            f"the 200 confirms Session-Expires 90;refresher=uac ({se!r})")
    byes = requests(got, "BYE")
    t.check(len(byes) >= 1, "the sbc sends the PBX a BYE")
    after = byes[0].when - ok.when
    t.check(50 <= after <= 95, f"the BYE comes about 60 s after the answer ({after:.1f} s)")
    t.check(len(requests(carrier.received(), "BYE")) >= 1, "and the carrier a BYE")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=200, ended_by="sbc",
               end_reason=lambda r: "session" in (r or ""))
    t.expect_channels_free()


@case(90)
def max_duration(t):
    """The PBX trunk's hard cap (max_call_seconds 3) ends a call nobody hangs
    up: BYE to both sides, channels released."""
    basic_config(t, pbx_cols={"max_call_seconds": 3})
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1)
    pbx = t.pbx_uac(scenario="pbx_uac_wait_bye.xml", calls=1)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    got = pbx.received()
    ok = [m for m in got if m.status == 200 and m.method == "INVITE"][0]
    bye = requests(got, "BYE")[0]
    t.check(2.5 <= bye.when - ok.when <= 5.0,
            f"the BYE comes at the 3 s cap ({bye.when - ok.when:.2f} s after the answer)")
    t.check(len(requests(carrier.received(), "BYE")) >= 1, "the carrier gets a BYE too")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=200, ended_by="sbc",
               end_reason=lambda r: "duration" in (r or ""))
    t.expect_channels_free()


@case(120)
def no_ack(t):
    """A PBX that never ACKs the 200: the sbc gives up after 64*T1 (32 s),
    BYEs both sides and releases the channels."""
    basic_config(t)
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1, timeout=70)
    pbx = t.pbx_uac(scenario="pbx_uac_noack.xml", calls=1, timeout=70)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    got = pbx.received()
    oks = [m for m in got if m.status == 200 and m.method == "INVITE"]
    t.check(len(oks) >= 5, f"the sbc retransmits its 200 ({len(oks)} copies)")
    bye = requests(got, "BYE")
    t.check(len(bye) >= 1 and 28 <= bye[0].when - oks[0].when <= 40,
            "then BYEs the PBX after about 32 s"
            + (f" ({bye[0].when - oks[0].when:.1f} s)" if bye else ""))
    t.check(len(requests(carrier.received(), "BYE")) >= 1, "and the carrier")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, ended_by="sbc", end_reason=lambda r: "ack" in (r or ""))
    t.expect_channels_free()


@case(90)
def channel_overflow(t):
    """An outbound trunk at its limit is skipped: carrier-a (max_calls 2,
    priority 10) takes 2 of 4 simultaneous calls, carrier-b (priority 20) the
    other 2; the PBX sees no refusal."""
    basic_config(t, second_carrier=True, carrier_cols={"max_calls": 2})
    t.add_route("", t.carrier_b, priority=20)
    t.start_sbc()
    ca = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=2, name="carrier_a")
    cb = t.carrier_uas(CARRIER2_IP, t.c2_port, calls=2, name="carrier_b")
    pbx = t.pbx_uac(calls=4, rate=40, limit=4, duration_ms=2000)
    t.expect_exit(pbx, 0, successful=4)
    t.expect_exit(ca, 0, successful=2)
    t.expect_exit(cb, 0, successful=2)
    cdrs = t.cdrs(expected=4)
    trunks = sorted(c["out_trunk"] for c in cdrs)
    t.check(trunks == ["carrier-a", "carrier-a", "carrier-b", "carrier-b"],
            f"CDRs: two calls on each carrier ({trunks})")
    t.expect_channels_free()


@case(120)
def channel_limit(t):
    """max_calls 10 on the PBX trunk, 15 simultaneous calls: exactly 10
    answered, 5 refused 503 with Reason Q.850;cause=34 and no Retry-After."""
    basic_config(t, pbx_cols={"max_calls": 10})
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=10, timeout=40)
    # 15 INVITEs within 0.3 s; answered calls last 4 s, so all overlap.
    pbx = t.pbx_uac(scenario="pbx_uac_any.xml", calls=15, rate=50, limit=15,
                    duration_ms=4000, timeout=40)
    time.sleep(2.0)
    usage = t.trunk_usage()
    t.check(usage.get("pbx-a") == 10, f"pbx-a has its 10 channels in use meanwhile ({usage})")
    t.expect_exit(pbx, 0, successful=15)
    t.expect_exit(carrier, 0, successful=10)
    finals = invite_finals(pbx.received())
    codes = sorted(m.status for m in finals.values())
    t.check(len(finals) == 15, f"15 calls got a final response ({len(finals)})")
    t.check(codes.count(200) == 10, f"exactly 10 answered ({codes})")
    refused = [m for m in finals.values() if m.status != 200]
    t.check(len(refused) == 5 and all(m.status == 503 for m in refused),
            f"exactly 5 refused with 503 ({[m.status for m in refused]})")
    reasons = {m.header("reason") for m in refused}
    t.check(all(r and re.sub(r"\s", "", r).lower().startswith("q.850;cause=34") for r in reasons),
            f"the refusals carry Reason: Q.850;cause=34 ({reasons})")
    t.check(all(m.header("retry-after") is None for m in refused), "and no Retry-After")
    t.check(len(distinct_calls(carrier.received())) == 10, "the carrier sees only 10 calls")
    cdrs = t.cdrs(expected=15)
    t.check(sum(1 for c in cdrs if c["sip_code"] == 503) == 5, "5 CDRs with 503")
    rejected = t.metric("sbc_rejections_total", trunk="pbx-a")
    t.check(rejected == 5, f"/metrics sbc_rejections_total{{trunk=pbx-a}} = 5 ({rejected})")
    t.expect_channels_free()


@case(90)
def call_rate(t):
    """cps 5, burst 5 on the PBX trunk; 20 INVITEs within ~0.1 s. A token
    bucket (GCRA) that starts full passes its 5 tokens at once and then one
    per 0.2 s, so over the span D in which the sbc decided (from the first
    INVITE sent to the last decision seen: a 503 at the PBX or an INVITE at
    the carrier) at most 5 + floor(D / 0.2) pass, and at least the 5 of the
    burst. D is measured, so a slow machine widens the bound soundly."""
    basic_config(t, pbx_cols={"cps": 5, "cps_burst": 5})
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=20, timeout=20)
    pbx = t.pbx_uac(scenario="pbx_uac_any.xml", calls=20, rate=20, rate_period_ms=100,
                    limit=20, duration_ms=500, timeout=20)
    t.expect_exit(pbx, 0, successful=20)
    time.sleep(0.5)
    carrier.kill()
    first_sent = min(m.when for m in pbx.sent() if m.method == "INVITE" and not m.is_response)
    finals = invite_finals(pbx.received())
    decided = [m.when for m in finals.values() if m.status != 200]
    decided += [m.when for m in distinct_calls(carrier.received())]
    span = max(decided) - first_sent
    passed = sum(1 for m in finals.values() if m.status == 200)
    refused = [m.status for m in finals.values() if m.status != 200]
    upper = 5 + int(span / 0.2)
    t.check(len(finals) == 20, f"all 20 calls got a final response ({len(finals)})")
    t.check(5 <= passed <= upper,
            f"{passed} calls pass, within [5, {upper}] for a {span * 1000:.0f} ms decision span")
    t.check(all(c == 503 for c in refused), f"the others are refused 503 ({sorted(set(refused))})")
    rate_rejections = t.metric("sbc_rejections_total", trunk="pbx-a")
    t.check(rate_rejections == len(refused),
            f"/metrics sbc_rejections_total{{trunk=pbx-a}} = {len(refused)} ({rate_rejections})")
    t.cdrs(expected=20)
    t.expect_channels_free()


@case(120)
def register_inbound(t):
    """A PBX trunk in auth mode register: the PBX REGISTERs with digest auth
    (harness.sip_register: SIPp cannot answer the sbc's SHA-256-first
    challenge), then a carrier call to its DID reaches the registered contact."""
    t.pbx_port = free_udp_port(PBX_IP)
    t.c1_port = free_udp_port(CARRIER1_IP)
    pbx_trunk = t.add_trunk("pbx-reg", "pbx", auth_mode="register")
    t.add_credentials(pbx_trunk, "inbound", "pbxreg1", "reg-secret-pass")
    carrier = t.add_trunk("carrier-a", "carrier", acl=["127.0.0.3/32"],
                          gateways=[(CARRIER1_IP, t.c1_port, {"options_ping": False})])
    t.add_route("", carrier)
    t.add_did("+14155550177", pbx_trunk)
    t.start_sbc()
    # SHA-256 first (what the sbc prefers), then a refresh answered with MD5
    # (what older PBXs and SIPp speak); both must be accepted.
    for algorithm in ("SHA-256", "MD5"):
        got = sip_register((PBX_IP, t.pbx_port), t.inside, "pbxreg1", "reg-secret-pass",
                           algorithm=algorithm)
        statuses = [m.status for m in got]
        t.check(statuses[:1] == [401] and statuses[-1] == 200,
                f"REGISTER challenged 401, then accepted with {algorithm} ({statuses})")
    bad = sip_register((PBX_IP, t.pbx_port), t.inside, "pbxreg1", "wrong-password")
    t.check(bad[-1].status in (401, 403),
            f"a wrong password is refused ({[m.status for m in bad]})")
    deadline = time.monotonic() + 5
    rows = []
    while time.monotonic() < deadline and not rows:
        rows = t.sql(f"SELECT contact, source_port FROM registrations WHERE trunk_id = {pbx_trunk}")
        time.sleep(0.2)
    t.check(len(rows) == 1, f"the binding is stored in registrations ({rows})")
    pbx = t.pbx_uas(t.pbx_port, calls=1)
    call = t.carrier_uac(number="+14155550177", calls=1, duration_ms=500)
    t.expect_exit(call, 0, successful=1)
    t.expect_exit(pbx, 0, successful=1)
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, direction="inbound", out_trunk="pbx-reg", sip_code=200)
    t.expect_channels_free()


def _carrier_auth(t, code):
    basic_config(t)
    t.add_credentials(t.carrier, "outbound", "sbc-out", "carrier-password")
    t.start_sbc()
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario=f"carrier_uas_auth{code}.xml",
                            calls=1, sets={"user": "sbc-out", "password": "carrier-password"})
    pbx = t.pbx_uac(calls=1, duration_ms=300)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    invites = requests(carrier.received(), "INVITE")
    cseqs = sorted({m.header("cseq") for m in invites})
    t.check(len(cseqs) == 2, f"the carrier gets the INVITE and the authenticated retry ({cseqs})")
    retry = [m for m in invites if m.header("cseq") == cseqs[-1]][0]
    hdr = "authorization" if code == 401 else "proxy-authorization"
    cred = retry.header(hdr)
    t.check(cred is not None, f"the retry carries {hdr}")
    t.check(digest_valid(cred, "INVITE", "sbc-out", "carrier-password"),
            f"its MD5 digest is right for sbc-out ({cred})")
    statuses = sorted({m.status for m in pbx.received() if m.is_response})
    t.check(code not in statuses, f"the PBX never sees the {code} ({statuses})")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=200)
    t.expect_channels_free()


@case(90)
def carrier_auth_401(t):
    _carrier_auth(t, 401)


@case(90)
def carrier_auth_407(t):
    _carrier_auth(t, 407)


@case(120)
def lnp(t):
    """RFC 4694. Routes: 1212 -> carrier-a, 1310 -> carrier-b; +12125550199
    is ported to routing number +13105550000 (+12125550142 is not ported).
    1. 12125550199: looked up, routed on the rn, sent with rn and npdi;
    2. 12125550142;rn=+13105550000;npdi: routed on the given rn;
    3. 12125550199;rn=+12125559999;npdi: a ported number with an rn already:
       no lookup (else it would go to carrier-b), routed on the given rn;
    4. 12125550199;npdi (no rn): no lookup, routed on the number, no rn added."""
    basic_config(t, second_carrier=True)
    t.sql("DELETE FROM routes")
    t.add_route("1212", t.carrier)
    t.add_route("1310", t.carrier_b)
    t.add_ported("+12125550199", "+13105550000")
    t.start_sbc()
    calls = [  # dialled, carrier, rn expected at the carrier (None: no rn)
        ("12125550199", "carrier-b", "13105550000"),
        ("12125550142;rn=+13105550000;npdi", "carrier-b", "13105550000"),
        ("12125550199;rn=+12125559999;npdi", "carrier-a", "12125559999"),
        ("12125550199;npdi", "carrier-a", None),
    ]
    ca = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=2, name="carrier_a", timeout=40)
    cb = t.carrier_uas(CARRIER2_IP, t.c2_port, calls=2, name="carrier_b", timeout=40)
    for i, (number, _, _) in enumerate(calls):
        pbx = t.pbx_uac(number=number, calls=1, name=f"pbx{i + 1}")
        t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(ca, 0, successful=2)
    t.expect_exit(cb, 0, successful=2)
    arrived = {}  # number part -> [(carrier, user part)] in arrival order
    for name, s in (("carrier-a", ca), ("carrier-b", cb)):
        for m in distinct_calls(s.received()):
            arrived.setdefault(m.when, (name, uri_user(m.request_uri)))
    seen = [arrived[k] for k in sorted(arrived)]
    log(f"   the carriers got, in order: {seen}")

    def params(user):
        return dict((p.split("=", 1) + [None])[:2] for p in user.split(";")[1:])

    t.check(len(seen) == len(calls), f"{len(calls)} calls arrived ({len(seen)})")
    for (number, carrier, rn), (got_carrier, user) in zip(calls, seen):
        p = params(user)
        got_rn = (p.get("rn") or "").lstrip("+") or None
        t.check(got_carrier == carrier and got_rn == rn and "npdi" in p,
                f"{number}: at {carrier} with rn={rn} and npdi (got {got_carrier}, {user})")
    cdrs = t.cdrs(expected=len(calls))
    t.check([c["out_trunk"] for c in cdrs] == [c[1] for c in calls],
            f"CDR trunks in order ({[c['out_trunk'] for c in cdrs]})")
    t.check([c["routing_number"].lstrip("+") or None for c in cdrs] == [c[2] for c in calls],
            f"CDRs record the routing numbers ({[c['routing_number'] for c in cdrs]})")
    # The number columns hold the dialled number alone (E.164, as the carrier
    # trunk formats it: with '+'), never the ";rn=...;npdi" of the Request-URI.
    want_out = ["+" + c[0].split(";")[0] for c in calls]
    t.check([c["callee_out"] for c in cdrs] == want_out,
            f"CDR callee_out is the dialled number only ({[c['callee_out'] for c in cdrs]})")
    t.check(all(";" not in (c["callee_in"] or "") for c in cdrs),
            f"CDR callee_in carries no parameters ({[c['callee_in'] for c in cdrs]})")
    t.expect_channels_free()


@case(150)
def topology_hiding(t):
    """Calls of several kinds; no PBX value reaches a carrier and no carrier
    value reaches the PBX, in any message."""
    basic_config(t)
    t.start_sbc()
    runs = []
    # 1. answered outbound call
    c = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1, name="c_answer")
    p = t.pbx_uac(calls=1, duration_ms=300, name="p_answer")
    runs += [p, c]
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    # 2. cancelled
    c = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_ring.xml", calls=1,
                      name="c_ring")
    p = t.pbx_uac(scenario="pbx_cancel.xml", calls=1, duration_ms=300, name="p_cancel")
    runs += [p, c]
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    # 3. busy
    c = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_reject.xml", calls=1,
                      name="c_busy", subst={"CODE": 486, "REASON": "Busy Here"})
    p = t.pbx_uac(scenario="pbx_uac_any.xml", calls=1, name="p_busy")
    runs += [p, c]
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    # 4. hold and resume
    c = t.carrier_uas(CARRIER1_IP, t.c1_port, scenario="carrier_uas_hold.xml", calls=1,
                      name="c_hold")
    p = t.pbx_uac(scenario="pbx_uac_hold.xml", calls=1, duration_ms=200, name="p_hold")
    runs += [p, c]
    t.expect_exit(p, 0, successful=1)
    t.expect_exit(c, 0, successful=1)
    # 5. inbound, answered by the PBX, hung up by the carrier
    p = t.pbx_uas(t.pbx_port, calls=1, name="p_inbound")
    c = t.carrier_uac(calls=1, duration_ms=300, name="c_inbound")
    runs += [p, c]
    t.expect_exit(c, 0, successful=1)
    t.expect_exit(p, 0, successful=1)

    pbx_runs = [s for s in runs if s.name.startswith("p_")]
    carrier_runs = [s for s in runs if s.name.startswith("c_")]
    at_carrier = [m for s in carrier_runs for m in s.received()]
    at_pbx = [m for s in pbx_runs for m in s.received()]
    pbx_values = PBX_SECRETS + [PBX_IP]
    carrier_values = CARRIER_SECRETS + [CARRIER1_IP]
    # The exact Call-IDs and tags each side used.
    for s in pbx_runs:
        for m in s.sent():
            pbx_values.append(m.call_id)
    for s in carrier_runs:
        for m in s.sent():
            carrier_values.append(m.call_id)
    pbx_values = sorted({v for v in pbx_values if v})
    carrier_values = sorted({v for v in carrier_values if v})
    # Both directions are checked before failing, so one run lists every leak.
    leaks = [t.expect_hidden(at_carrier, pbx_values, "PBX values at the carriers", fail=False),
             t.expect_hidden(at_pbx, carrier_values, "carrier values at the PBX", fail=False)]
    # Media is not anchored yet (no relay): say what c= carries, for the record.
    c_lines = sorted({ln for m in at_carrier for ln in m.body.split("\n") if ln.startswith("c=")})
    log(f"   note: c= lines the carriers saw: {c_lines}")
    t.expect_channels_free()
    leaks = [x for x in leaks if x]
    if leaks:
        raise TestFailure("topology hiding: " + "; ".join(x.split("\n")[0] for x in leaks))


@case(90)
def config_change(t):
    """While the PBX places 20 calls/s, the default route moves from carrier-a
    to carrier-b by one SQL UPDATE; the first call after the commit must go
    the new way within 1 s, and no call in progress fails."""
    basic_config(t, second_carrier=True)
    t.start_sbc()
    ca = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1000, name="carrier_a", timeout=40)
    cb = t.carrier_uas(CARRIER2_IP, t.c2_port, calls=1000, name="carrier_b", timeout=40)
    pbx = t.pbx_uac(calls=100, rate=20, duration_ms=200, timeout=40)
    time.sleep(2.0)
    before = time.time()
    t.sql(f"UPDATE routes SET trunk_id = {t.carrier_b} WHERE prefix = ''")
    committed = time.time()
    t.expect_exit(pbx, 0, successful=100)
    time.sleep(1.0)
    ca.kill()
    cb.kill()
    a_times = sorted(m.when for m in distinct_calls(ca.received()))
    b_times = sorted(m.when for m in distinct_calls(cb.received()))
    t.check(len(a_times) + len(b_times) == 100,
            f"all 100 calls reached a carrier ({len(a_times)} + {len(b_times)})")
    t.check(b_times != [], "carrier-b gets calls after the change")
    t.check(not b_times or b_times[0] >= before, "and none before it")
    delay = b_times[0] - committed if b_times else float("inf")
    t.check(delay <= 1.0, f"the first call to carrier-b comes {delay * 1000:.0f} ms after the commit")
    late = [x - committed for x in a_times if x > committed + 1.0]
    t.check(late == [], f"no call goes to carrier-a later than 1 s after the commit ({late})")
    t.cdrs(expected=100)
    t.expect_channels_free()


# ---------------------------------------------------------------------------
# transports and gateways by name


def listen_block(realm, transport, address, port, certs=None):
    """One more [[listen]] table for the sbc's TOML (start_sbc(extra=...))."""
    text = (f'\n[[listen]]\nrealm = "{realm}"\ntransport = "{transport}"\n'
            f'address = "{address}"\nport = {port}\n')
    if certs:
        text += f'certificate = "{certs["cert"]}"\nprivate_key = "{certs["key"]}"\n'
    return text


def via_sent_by(m):
    """("UDP"|"TCP"|"TLS", host, port) of a message's top Via."""
    via = (m.header_all("via") or [""])[0]
    mm = re.match(r"SIP/2\.0/(\w+)\s+\[?([^\]\s;:]+|[0-9a-fA-F:]+)\]?(?::(\d+))?", via)
    if not mm:
        return None
    return mm.group(1).upper(), mm.group(2), int(mm.group(3)) if mm.group(3) else None


def contact_transport(m):
    """The transport a Contact asks for: "tls" for sips: or transport=tls,
    "tcp", else "udp"."""
    c = (m.header("contact") or "").lower()
    if "<sips:" in c or c.startswith("sips:") or "transport=tls" in c:
        return "tls"
    return "tcp" if "transport=tcp" in c else "udp"


def first_200(msgs):
    return next((m for m in msgs if m.status == 200 and m.method == "INVITE"), None)


def expect_leg(t, what, request, want_via, want_contact, sbc_host, sbc_port=None):
    """The sbc's request on a leg: its Via and Contact name `want_*`
    (want_contact None: a request without Contact, e.g. BYE)."""
    t.check(request is not None, f"{what}: the request arrived")
    via = via_sent_by(request)
    t.check(via is not None and via[0] == want_via and via[1] == sbc_host
            and (sbc_port is None or via[2] == sbc_port),
            f"{what}: Via is SIP/2.0/{want_via} {sbc_host}:{sbc_port or '*'} ({via})")
    if want_contact is None:  # BYE and ACK carry no Contact
        return
    got = contact_transport(request)
    t.check(got == want_contact,
            f"{what}: Contact asks for {want_contact} ({request.header('contact')})")


@case(90)
def tcp_pbx(t):
    """A PBX on TCP (SIPp -t t1) calls a carrier on UDP: the A leg stays on
    the sbc's inside TCP listener, the B leg leaves on UDP as the carrier's
    gateway row says, each with its own Via and Contact."""
    basic_config(t)
    tcp_port = free_tcp_port(SBC_INSIDE_IP)
    t.start_sbc(extra=listen_block("inside", "tcp", SBC_INSIDE_IP, tcp_port))
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1)
    pbx = t.sipp("pbx", "pbx_uac.xml", PBX_IP, remote=(SBC_INSIDE_IP, tcp_port),
                 service="12125550123", cid_prefix="pbx-secret-", sets={"caller": "14155550100"},
                 media_ip=PBX_MEDIA_IP, calls=1, duration_ms=500, transport="tcp")
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    invite = distinct_calls(carrier.received())[0]
    expect_leg(t, "carrier INVITE", invite, "UDP", "udp", SBC_OUTSIDE_IP, t.outside[1])
    bye = (requests(carrier.received(), "BYE") or [None])[0]
    expect_leg(t, "carrier BYE", bye, "UDP", None, SBC_OUTSIDE_IP, t.outside[1])
    ok = first_200(pbx.received())
    t.check(ok is not None and contact_transport(ok) == "tcp"
            and f"{SBC_INSIDE_IP}:{tcp_port}" in (ok.header("contact") or ""),
            f"the PBX's 200 names the sbc's TCP listener ({ok and ok.header('contact')})")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, direction="outbound", sip_code=200, ended_by="caller",
               callee_out=e164ish("12125550123"))
    t.expect_channels_free()


@case(120)
def tcp_carrier(t):
    """A carrier on TCP. Outbound: the gateway row's transport (tcp) makes the
    sbc connect to the carrier over TCP from its outside TCP listener while
    the PBX stays on UDP. Inbound: the carrier calls over TCP, the PBX gets
    the call over UDP."""
    basic_config(t, carrier_ports={1: free_tcp_port(CARRIER1_IP)})
    t.sql(f"UPDATE trunk_gateways SET transport = 'tcp' WHERE trunk_id = {t.carrier}")
    tcp_port = free_tcp_port(SBC_OUTSIDE_IP)
    t.start_sbc(extra=listen_block("outside", "tcp", SBC_OUTSIDE_IP, tcp_port))
    # 1. PBX (UDP) -> carrier (TCP)
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=1, transport="tcp")
    pbx = t.pbx_uac(calls=1, duration_ms=500)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    invite = distinct_calls(carrier.received())[0]
    expect_leg(t, "outbound: carrier INVITE", invite, "TCP", "tcp", SBC_OUTSIDE_IP, tcp_port)
    ok = first_200(pbx.received())
    t.check(ok is not None and contact_transport(ok) == "udp"
            and f"{SBC_INSIDE_IP}:{t.inside[1]}" in (ok.header("contact") or ""),
            f"outbound: the PBX's 200 names the sbc's UDP listener ({ok and ok.header('contact')})")
    # 2. carrier (TCP) -> PBX (UDP)
    pbx_uas = t.pbx_uas(t.pbx_port, calls=1)
    call = t.sipp("carrier_uac", "carrier_uac.xml", CARRIER1_IP, remote=(SBC_OUTSIDE_IP, tcp_port),
                  service="+14155550100", cid_prefix="carrier-secret-",
                  sets={"caller": "+12125550123"}, media_ip="127.0.0.33", calls=1,
                  duration_ms=500, transport="tcp")
    t.expect_exit(call, 0, successful=1)
    t.expect_exit(pbx_uas, 0, successful=1)
    invite = distinct_calls(pbx_uas.received())[0]
    expect_leg(t, "inbound: PBX INVITE", invite, "UDP", "udp", SBC_INSIDE_IP, t.inside[1])
    ok = first_200(call.received())
    t.check(ok is not None and contact_transport(ok) == "tcp"
            and f"{SBC_OUTSIDE_IP}:{tcp_port}" in (ok.header("contact") or ""),
            f"inbound: the carrier's 200 names the sbc's TCP listener ({ok and ok.header('contact')})")
    cdrs = t.cdrs(expected=2)
    t.check([(c["direction"], c["sip_code"]) for c in cdrs]
            == [("outbound", 200), ("inbound", 200)], "two answered CDRs, out then in")
    t.expect_channels_free()


@case(90)
def tls_carrier(t):
    """A carrier gateway with transport tls (a Python TLS UAS: SIPp 3.6 has
    no TLS): the sbc opens TLS from its outside TLS listener, verifies the
    carrier's certificate for its address, and the INVITE and the PBX's BYE
    reach the carrier over it with a TLS Via and Contact; the PBX leg stays
    UDP."""
    basic_config(t, carrier_ports={1: free_tcp_port(CARRIER1_IP)})
    t.sql(f"UPDATE trunk_gateways SET transport = 'tls' WHERE trunk_id = {t.carrier}")
    uas = TlsUas(t.dir, CARRIER1_IP, t.c1_port)
    try:
        # No per-trunk CA in the node's TOML yet: the sbc trusts the
        # carrier's CA through OpenSSL's default verify path.
        os.environ["SSL_CERT_FILE"] = uas.ca_path
        sbc_certs = sbctest.make_certs(_mkdir(t.dir, "sbc-tls"), cn="sbc.test", ip=SBC_OUTSIDE_IP)
        tls_port = free_tcp_port(SBC_OUTSIDE_IP)
        t.start_sbc(extra=listen_block("outside", "tls", SBC_OUTSIDE_IP, tls_port, sbc_certs))
        pbx = t.pbx_uac(calls=1, duration_ms=500)
        t.expect_exit(pbx, 0, successful=1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not requests(uas.messages(), "BYE"):
            time.sleep(0.1)
    finally:
        uas.close()
    got = uas.messages()
    t.check(uas.errors == [], f"every TLS handshake succeeded ({uas.errors})")
    invite = (distinct_calls(got) or [None])[0]
    expect_leg(t, "carrier INVITE", invite, "TLS", "tls", SBC_OUTSIDE_IP, tls_port)
    t.check(invite.peer[0] == SBC_OUTSIDE_IP,
            f"the TLS connection comes from the sbc's outside address ({invite.peer})")
    t.check(len(requests(got, "ACK")) == 1, "the ACK arrives over TLS")
    bye = (requests(got, "BYE") or [None])[0]
    expect_leg(t, "carrier BYE", bye, "TLS", None, SBC_OUTSIDE_IP, tls_port)
    ok = first_200(pbx.received())
    t.check(ok is not None and contact_transport(ok) == "udp",
            f"the PBX's 200 names a UDP contact ({ok and ok.header('contact')})")
    t.expect_hidden(got, PBX_SECRETS + [PBX_IP], "PBX values at the TLS carrier")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=200, out_trunk="carrier-a",
               tried_gateways=lambda g: g == [f"{CARRIER1_IP}:{t.c1_port}"])
    t.expect_channels_free()


def _mkdir(base, name):
    path = os.path.join(base, name)
    os.makedirs(path, exist_ok=True)
    return path


@case(90)
def gateway_by_name(t):
    """trunk_gateways.host may be a DNS name: `localhost` (the carrier SIPp
    on 127.0.0.1) is resolved off the SIP thread and used; a name that never
    resolves (priority first) makes its gateway unusable: skipped, not tried
    and timed out."""
    basic_config(t)
    port = free_udp_port("127.0.0.1")
    t.sql(f"DELETE FROM trunk_gateways WHERE trunk_id = {t.carrier}")
    t.add_gateway(t.carrier, "no-such-gateway.invalid", 5060,
                  {"priority": 5, "options_ping": False})
    t.add_gateway(t.carrier, "localhost", port, {"priority": 10, "options_ping": False})
    t.start_sbc()
    time.sleep(1.0)  # the first resolution runs in the background
    carrier = t.carrier_uas("127.0.0.1", port, calls=1, name="carrier_localhost")
    pbx = t.pbx_uac(calls=1, duration_ms=300)
    t.expect_exit(pbx, 0, successful=1)
    t.expect_exit(carrier, 0, successful=1)
    invite = distinct_calls(carrier.received())[0]
    t.check(uri_user(invite.request_uri).split(";")[0] == "+12125550123",
            f"the carrier at localhost gets the call ({invite.request_uri})")
    cdr = t.cdrs(expected=1)[0]
    expect_cdr(t, cdr, sip_code=200, failover_attempts=0,
               tried_gateways=lambda g: g == [f"127.0.0.1:{port}"])
    with open(t.sbc.log_path, errors="replace") as f:
        log_text = f.read()
    t.check("no-such-gateway.invalid does not resolve" in log_text,
            "the unresolvable name is logged")
    t.expect_channels_free()


@case(150)
def carrier_register(t):
    """The sbc REGISTERs to a carrier (register_outbound), answers the 401
    with its outbound credentials, refreshes at half the granted expiry (10 s
    granted: every 5 s), and after a refused refresh (503) backs off (30 s,
    the OutboundRegistrar default) before it tries again, then is registered
    again."""
    basic_config(t, carrier_cols={"register_outbound": True, "register_expires": 60,
                                  "register_user": "sbc-trunk-7"})
    t.add_credentials(t.carrier, "outbound", "sbc-reg", "reg-password")
    registrar = UdpRegistrar(CARRIER1_IP, t.c1_port, grant=10)
    try:
        t.start_sbc()

        def wait_for(pred, limit, what):
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline:
                got = registrar.entries()
                if pred(got):
                    return got
                time.sleep(0.1)
            raise TestFailure(f"{what} (registrar saw {[(c, m.header('cseq')) for _, m, c in registrar.entries()]})")

        oks = lambda got: [e for e in got if e[2] == 200]  # noqa: E731
        got = wait_for(lambda g: len(oks(g)) >= 2, 20, "two successful REGISTERs within 20 s")
        first, second = oks(got)[:2]
        t.check(got[0][2] == 401, "the first REGISTER is challenged 401")
        cred = first[1].header("authorization")
        t.check(digest_valid(cred, "REGISTER", "sbc-reg", "reg-password"),
                f"the sbc answers with a valid MD5 digest for sbc-reg ({cred})")
        t.check(header_uri_user(first[1].header("to")) == "sbc-trunk-7",
                f"the AOR is the trunk's register_user ({first[1].header('to')})")
        t.check(CARRIER1_IP not in (first[1].header("contact") or "")
                and SBC_OUTSIDE_IP in (first[1].header("contact") or ""),
                f"the Contact is the sbc's outside address ({first[1].header('contact')})")
        gap = second[0] - first[0]
        t.check(4.0 <= gap <= 8.0, f"refreshed at half the granted 10 s ({gap:.1f} s later)")
        # Refuse the next refresh: the sbc backs off 30 s.
        registrar.set_answer(503)
        got = wait_for(lambda g: any(c == 503 for _, _, c in g), 15, "a refresh refused 503")
        refused_at = next(w for w, _, c in got if c == 503)
        registrar.set_answer(200)
        n_before = len(got)
        got = wait_for(lambda g: len(oks(g)) >= 3, 60, "registered again after the backoff")
        retry_at = got[n_before][0]
        waited = retry_at - refused_at
        t.check(27.0 <= waited <= 40.0,
                f"the next attempt waits the 30 s backoff ({waited:.1f} s after the 503)")
        t.check(not any(c == 503 for _, _, c in got[n_before:]), "and succeeds")
        code, body = t.http_get("/api/trunks/usage")
        data = json.loads(body) if code == 200 else {}
        trunks = data.get("trunks", []) if isinstance(data, dict) else data
        reg = next((x.get("outbound_registration") for x in trunks
                    if x.get("name") == "carrier-a"), None)
        t.check(reg is not None and reg.get("state") == "registered"
                and reg.get("granted_expires") == 10,
                f"/api/trunks/usage shows carrier-a registered for 10 s ({reg})")
    finally:
        registrar.close()


@case(60)
def node_stopped(t):
    """sbc_nodes (migration 0005): a stop mark left by a previous run is
    cleared at start, heartbeat_at moves while the node runs, and SIGTERM sets
    stopped_at and empties mgmt_address."""
    basic_config(t)
    node = f"calls-{t.name}"
    t.sql("INSERT INTO sbc_nodes (name, mgmt_address, started_at, heartbeat_at, stopped_at) "
          f"VALUES ({sql_literal(node)}, '', now() - interval '2 hours', "
          "now() - interval '1 hour', now() - interval '1 hour')")

    def row():
        rows = t.sql("SELECT mgmt_address, stopped_at IS NULL, extract(epoch FROM heartbeat_at), "
                     f"extract(epoch FROM started_at) FROM sbc_nodes WHERE name = {sql_literal(node)}")
        if not rows:
            return None
        mgmt, running, beat, started = rows[0]
        return mgmt, running == "t", float(beat), float(started)

    t.start_sbc()
    deadline = time.monotonic() + 5
    r = row()
    while time.monotonic() < deadline and not (r and r[1]):
        time.sleep(0.2)
        r = row()
    t.check(r is not None and r[1], f"stopped_at is cleared at start ({r})")
    t.check(r[0].endswith(f":{t.mgmt[1]}"), f"mgmt_address is the node's mgmt API ({r[0]})")
    t.check(r[3] > time.time() - 60, "started_at is this run's")
    first_beat = r[2]
    deadline = time.monotonic() + 12  # heartbeats every 5 s
    while time.monotonic() < deadline and r[2] <= first_beat:
        time.sleep(0.5)
        r = row()
    t.check(r[2] > first_beat and r[1],
            f"heartbeat_at moves on while it runs, stopped_at stays NULL ({r})")
    rc = t.sbc.stop(timeout=15)
    t.check(rc == 0, f"the sbc exits 0 on SIGTERM ({rc})")
    r = row()
    t.check(r is not None and not r[1] and r[0] == "",
            f"after SIGTERM: stopped_at set, mgmt_address empty ({r})")
    stopped = float(t.sql_value("SELECT extract(epoch FROM stopped_at) FROM sbc_nodes "
                                f"WHERE name = {sql_literal(node)}"))
    t.check(abs(stopped - time.time()) < 30, "stopped_at is now")


if __name__ == "__main__":
    sys.exit(cases_main(__doc__, CASES))
