#!/usr/bin/env python3
"""Per-trunk TLS client profiles and gateways given by DNS name (issue 3).

The carrier is a Python TLS UAS on 127.0.0.3 (SIPp 3.6 has no TLS) that
requires a client certificate from its own client CA. The carrier trunk
names its gateway "carrier.test", which the sbc's [dns] hosts map resolves
to 127.0.0.3, and carries the TLS profile under test (client certificate
and key, CA file, verification, the gateway's server name). A second
gateway on UDP (SIPp) takes the call when the TLS one fails.

Cases:
  good            the call reaches the TLS carrier: our client certificate is
                  accepted, SNI is the gateway's name, the Request-URI and To
                  carry the name, not the address;
  wrong_ca        the trunk's CA file is another CA: the handshake fails, the
                  call fails over to the UDP gateway and the failure is counted;
  wrong_sni       the gateway's tls_server_name is not in the certificate:
                  the same;
  no_client_cert  no client certificate: the carrier refuses the handshake;
                  the same;
  register_by_name  the outbound registrar is given by name: the REGISTER
                  reaches its address with the name in the Request-URI and To;
  broken_profile  the trunk's client certificate files do not exist yet: the
                  error is logged with trunk, gateway and file, the broken
                  profile shows in the metrics, the call fails over; once the
                  files exist, the next configuration change (NOTIFY) picks
                  them up and the next call goes over TLS.

usage: trunk_tls_test.py --sbc SBC --migrate M --encrypt E [--sipp S --psql P] CASE
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "calls"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import (CARRIER1_IP, PBX_IP, SBC_OUTSIDE_IP, TestFailure, TlsUas, Tools,  # noqa: E402
                     UdpRegistrar, free_tcp_port, free_udp_port, run_case, tool_parser)
import sbctest  # noqa: E402

CARRIER_NAME = "carrier.test"


def _mkdir(base, name):
    path = os.path.join(base, name)
    os.makedirs(path, exist_ok=True)
    return path


def dns_block(name, address):
    return f'\n[dns]\nhosts = {{ "{name}" = "{address}" }}\n'


def tls_listen_block(t):
    certs = sbctest.make_certs(_mkdir(t.dir, "sbc-tls"), cn="sbc.test", ip=SBC_OUTSIDE_IP)
    port = free_tcp_port(SBC_OUTSIDE_IP)
    return (f'\n[[listen]]\nrealm = "outside"\ntransport = "tls"\naddress = "{SBC_OUTSIDE_IP}"\n'
            f'port = {port}\ncertificate = "{certs["cert"]}"\nprivate_key = "{certs["key"]}"\n')


def wait_for_bye(uas, limit=5.0):
    """Until the TLS carrier has received the call's BYE (or `limit` s), so
    that its transcript holds the whole call."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not any(
            m.method == "BYE" for m in uas.messages() if not m.is_response):
        time.sleep(0.1)


def tls_call(t, variant):
    # Our client identity, from a CA only the carrier trusts.
    client = sbctest.make_certs(_mkdir(t.dir, "client"), cn="sbc-client.test", ip=SBC_OUTSIDE_IP)
    other_ca = sbctest.make_certs(_mkdir(t.dir, "other-ca"), cn="other.test")["ca"]
    tls_port = free_tcp_port(CARRIER1_IP)
    uas = TlsUas(t.dir, CARRIER1_IP, tls_port, client_ca=client["ca"])
    udp_port = free_udp_port(CARRIER1_IP)
    try:
        cols = {"tls_ca_file": other_ca if variant == "wrong_ca" else uas.ca_path}
        if variant != "no_client_cert":
            cols.update(tls_client_cert=client["cert"], tls_client_key=client["key"])
        gw_tls = {"transport": "tls", "priority": 10, "options_ping": False,
                  "tls_server_name": "wrong.test" if variant == "wrong_sni" else ""}
        gw_udp = {"transport": "udp", "priority": 20, "options_ping": False}
        pbx = t.add_trunk("pbx-a", "pbx", acl=["127.0.0.2/32"],
                          gateways=[(PBX_IP, free_udp_port(PBX_IP), {"options_ping": False})])
        carrier = t.add_trunk("carrier-tls", "carrier", acl=["127.0.0.3/32"],
                              gateways=[(CARRIER_NAME, tls_port, gw_tls),
                                        (CARRIER1_IP, udp_port, gw_udp)], **cols)
        t.add_route("", carrier)
        t.add_did("+14155550100", pbx)
        t.start_sbc(extra=tls_listen_block(t) + dns_block(CARRIER_NAME, CARRIER1_IP))
        fallback = None
        if variant != "good":
            fallback = t.carrier_uas(CARRIER1_IP, udp_port, calls=1).wait_bound()
        call = t.pbx_uac(calls=1, duration_ms=500)
        t.expect_exit(call, 0, successful=1)
        if fallback is not None:
            t.expect_exit(fallback, 0, successful=1)
        else:
            wait_for_bye(uas)
    finally:
        uas.close()
    got = [m for m in uas.messages() if not m.is_response]
    cdr = t.cdrs(expected=1)[0]
    tried = cdr.get("tried_gateways") or []
    if variant == "good":
        t.check(uas.errors == [], f"the carrier accepted our handshake ({uas.errors})")
        t.check(uas.client_cns == ["sbc-client.test"],
                f"the carrier saw the trunk's client certificate ({uas.client_cns})")
        t.check(uas.sni == [CARRIER_NAME], f"SNI is the gateway's name ({uas.sni})")
        invites = [m for m in got if m.method == "INVITE"]
        t.check(len(invites) >= 1, "the INVITE arrived over TLS")
        if invites:
            inv = invites[0]
            t.check(f"@{CARRIER_NAME}:{tls_port}" in inv.request_uri,
                    f"the Request-URI carries the gateway's name ({inv.request_uri})")
            t.check(f"@{CARRIER_NAME}" in (inv.header("to") or ""),
                    f"To carries the gateway's name ({inv.header('to')})")
            t.check(CARRIER1_IP not in inv.request_uri,
                    "the resolved address is not in the Request-URI")
        t.check(any(m.method == "BYE" for m in got), "the BYE arrived over TLS")
        t.check(cdr.get("sip_code") == 200 and len(tried) == 1, f"one gateway tried ({tried})")
        t.check(t.metric("sbc_tls_handshakes_total", direction="outbound", result="ok") >= 1,
                "an outbound handshake counted ok")
    else:
        t.check(got == [], f"nothing reached the TLS carrier ({[m.method for m in got]})")
        t.check(cdr.get("sip_code") == 200 and len(tried) == 2
                and tried[1] == f"{CARRIER1_IP}:{udp_port}",
                f"the call failed over to the UDP gateway ({tried})")
        t.check(cdr.get("failover_attempts") == 1,
                f"one failover in the CDR ({cdr.get('failover_attempts')})")
        if variant == "no_client_cert":
            # TLS 1.3: the client's side of the handshake completes before the
            # server checks the certificate, so only the carrier sees it fail
            # (the sbc fails over on the lost connection / failover timeout).
            t.check(any("certificate" in e.lower() for e in uas.errors),
                    f"the carrier refused the handshake for want of a certificate ({uas.errors})")
        else:
            failed = t.metric("sbc_tls_handshakes_total", direction="outbound", result="failed")
            t.check(failed >= 1, f"the failed outbound handshake is counted ({failed})")
            reason = "untrusted" if variant == "wrong_ca" else "name_mismatch"
            n = t.metric("sbc_tls_client_handshake_failures_total", reason=reason)
            t.check(n >= 1, f"the failure is counted with reason {reason} ({n})")
            warnings = [line for line in sbc_log(t).splitlines()
                        if "level=warning" in line and "TLS handshake with" in line]
            t.check(len(warnings) >= 1 and f"{CARRIER1_IP}:{tls_port}" in warnings[0]
                    and f"({reason})" in warnings[0]
                    and f"'{'wrong.test' if variant == 'wrong_sni' else CARRIER_NAME}'" in warnings[0]
                    and "certificate" in warnings[0],
                    f"one warning names the destination, profile and reason ({warnings})")
    t.expect_channels_free()


def sbc_log(t):
    t.sbc.log.flush()
    with open(t.sbc.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def wait_metric(t, name, want, limit=5.0, **labels):
    deadline = time.monotonic() + limit
    value = t.metric(name, **labels)
    while value != want and time.monotonic() < deadline:
        time.sleep(0.2)
        value = t.metric(name, **labels)
    return value


def case_broken_profile(t):
    client = sbctest.make_certs(_mkdir(t.dir, "client"), cn="sbc-client.test", ip=SBC_OUTSIDE_IP)
    late = os.path.join(t.dir, "late")  # created only later
    cert, key = os.path.join(late, "client.crt"), os.path.join(late, "client.key")
    tls_port = free_tcp_port(CARRIER1_IP)
    uas = TlsUas(t.dir, CARRIER1_IP, tls_port, client_ca=client["ca"])
    udp_port = free_udp_port(CARRIER1_IP)
    try:
        pbx = t.add_trunk("pbx-a", "pbx", acl=["127.0.0.2/32"],
                          gateways=[(PBX_IP, free_udp_port(PBX_IP), {"options_ping": False})])
        carrier = t.add_trunk(
            "carrier-tls", "carrier", acl=["127.0.0.3/32"],
            gateways=[(CARRIER_NAME, tls_port, {"transport": "tls", "priority": 10,
                                                "options_ping": False}),
                      (CARRIER1_IP, udp_port, {"transport": "udp", "priority": 20,
                                               "options_ping": False})],
            tls_ca_file=uas.ca_path, tls_client_cert=cert, tls_client_key=key)
        t.add_route("", carrier)
        t.add_did("+14155550100", pbx)
        t.start_sbc(extra=tls_listen_block(t) + dns_block(CARRIER_NAME, CARRIER1_IP))
        broken = wait_metric(t, "sbc_tls_client_profiles_broken", 1)
        t.check(broken == 1, f"the broken profile shows in the metrics ({broken})")
        errors = [line for line in sbc_log(t).splitlines()
                  if "level=error" in line and "TLS client profile of trunk 'carrier-tls'" in line]
        t.check(len(errors) == 1 and f"{CARRIER_NAME}:{tls_port}" in errors[0] and cert in errors[0],
                f"one error names the trunk, the gateway and the file ({errors})")
        fallback = t.carrier_uas(CARRIER1_IP, udp_port, calls=1).wait_bound()
        t.expect_exit(t.pbx_uac(calls=1, duration_ms=200), 0, successful=1)
        t.expect_exit(fallback, 0, successful=1)
        t.check(not uas.messages(), "nothing went over TLS with the broken profile")

        os.makedirs(late)
        shutil.copy(client["cert"], cert)
        shutil.copy(client["key"], key)
        t.sql(f"UPDATE trunks SET tls_verify = true WHERE id = {carrier}")  # a NOTIFY
        broken = wait_metric(t, "sbc_tls_client_profiles_broken", 0)
        t.check(broken == 0, f"the fixed profile is picked up at the next snapshot ({broken})")
        t.expect_exit(t.pbx_uac(calls=1, duration_ms=200), 0, successful=1)
        wait_for_bye(uas)
    finally:
        uas.close()
    t.check(any(m.method == "INVITE" for m in uas.messages() if not m.is_response),
            "the second call went over TLS")
    t.check(uas.client_cns == ["sbc-client.test"],
            f"with the trunk's client certificate ({uas.client_cns})")
    t.check(t.metric("sbc_tls_client_profile_errors_total") >= 1, "the failed load is counted")
    t.expect_channels_free()


def case_register_by_name(t):
    port = free_udp_port(CARRIER1_IP)
    registrar = UdpRegistrar(CARRIER1_IP, port, grant=60)
    try:
        carrier = t.add_trunk("carrier-reg", "carrier", acl=["127.0.0.3/32"],
                              gateways=[("registrar.test", port, {"options_ping": False})],
                              register_outbound=True, register_user="4155550000",
                              register_expires=60)
        t.add_credentials(carrier, "outbound", "acct", "pw")
        t.start_sbc(extra=dns_block("registrar.test", CARRIER1_IP))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(c == 200 for _, _, c in registrar.entries()):
            time.sleep(0.1)
    finally:
        registrar.close()
    entries = registrar.entries()
    t.check(any(c == 200 for _, _, c in entries),
            f"the REGISTER reached the registrar's address and was granted ({len(entries)} seen)")
    if entries:
        m = entries[0][1]
        t.check(m.request_uri == f"sip:registrar.test:{port}",
                f"the Request-URI carries the registrar's name ({m.request_uri})")
        t.check(f"@registrar.test:{port}" in (m.header("to") or ""),
                f"To carries the registrar's name ({m.header('to')})")
    deadline = time.monotonic() + 5
    up = 0
    while time.monotonic() < deadline and up != 1:
        up = t.metric("sbc_outbound_registration_up", trunk="carrier-reg")
        time.sleep(0.2)
    t.check(up == 1, f"the registration is up in the metrics ({up})")


CASES = {
    "good": lambda t: tls_call(t, "good"),
    "wrong_ca": lambda t: tls_call(t, "wrong_ca"),
    "wrong_sni": lambda t: tls_call(t, "wrong_sni"),
    "no_client_cert": lambda t: tls_call(t, "no_client_cert"),
    "register_by_name": case_register_by_name,
    "broken_profile": case_broken_profile,
}


def main():
    ap = tool_parser(__doc__)
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    return run_case(CASES[a.case], Tools.from_args(a), "trunk_tls_" + a.case)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"FAIL {e}")
        sys.exit(1)
