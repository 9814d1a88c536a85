#!/usr/bin/env python3
"""TLS behaviour of the sbc binary as an operator sees it:
- a certificate renewed on disk is served to new connections after SIGHUP,
  while a connection opened before keeps working;
- a bad certificate file on SIGHUP keeps the old one (and the process);
- a listener with verify_client refuses clients without a certificate from
  its CA and accepts those with one;
- TLS 1.1 is refused.

usage: tls_test.py SBC_BINARY
"""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbcdb  # noqa: E402
import sbctest  # noqa: E402

failures = 0


def check(cond, what):
    global failures
    sbctest.log(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1


def issue(workdir, name, cn, client=False):
    """A certificate signed by the test CA in workdir (ca.pem/ca.key)."""
    def run(*args):
        subprocess.run(args, cwd=workdir, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
        "-keyout", f"{name}.key", "-out", f"{name}.csr")
    with open(os.path.join(workdir, f"{name}.cnf"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n" if client else
                "subjectAltName=IP:127.0.0.1,DNS:sbc.test\n")
    run("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", f"{name}.cnf", "-out", f"{name}.pem")
    return os.path.join(workdir, f"{name}.pem"), os.path.join(workdir, f"{name}.key")


def connect(port, ctx):
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="sbc.test")


def peer_cn(s):
    subject = dict(x[0] for x in s.getpeercert()["subject"])
    return subject.get("commonName")


def options_over(s, port):
    s.sendall(sbctest.options_request("127.0.0.1", port, "TLS"))
    msg = sbctest.StreamReader(s).read_message(time.monotonic() + 3)
    return sbctest.status_of(msg)


def wait_up(port, ctx, sbc):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sbc.alive():
        try:
            with connect(port, ctx) as s:
                if options_over(s, port) == 200:
                    return True
        except (OSError, ssl.SSLError):
            time.sleep(0.2)
    return False


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="tls-test-")
    certs = sbctest.make_certs(work)  # ca.pem, server.pem (CN sbc.test)
    live_cert = os.path.join(work, "live.pem")
    live_key = os.path.join(work, "live.key")
    shutil.copy(certs["cert"], live_cert)
    shutil.copy(certs["key"], live_key)
    port, mtls_port = sbctest.free_port(), sbctest.free_port()
    config = f"""
[node]
name = "tls-test"
log_level = "info"
[[listen]]
realm = "outside"
transport = "tls"
address = "127.0.0.1"
port = {port}
certificate = "{live_cert}"
private_key = "{live_key}"
[[listen]]
realm = "inside"
transport = "tls"
address = "127.0.0.1"
port = {mtls_port}
certificate = "{certs['cert']}"
private_key = "{certs['key']}"
ca = "{certs['ca']}"
verify_client = true
"""
    # The sbc answers only sources it knows: loopback is a carrier outside
    # and a PBX inside, in a database of this test's own.
    db = sbcdb.TestDb("tls_test").__enter__()
    config += db.toml_section(work)
    sbc = sbctest.Sbc(binary, work, config)
    try:
        db.wait_for_schema(sbc)
        db.add_trunk("tls-carrier", "carrier", "outside", "127.0.0.0/8")
        db.add_trunk("tls-pbx", "pbx", "inside", "127.0.0.0/8")
    except sbcdb.TestDbError as e:
        check(False, f"database set-up: {e}\n" + sbc.tail())
        sbc.stop()
        db.__exit__(None, None, None)
        return 1
    ctx = ssl.create_default_context(cafile=certs["ca"])
    client_cert, client_key = issue(work, "client", "pbx.test", client=True)
    mctx = ssl.create_default_context(cafile=certs["ca"])
    mctx.load_cert_chain(client_cert, client_key)
    try:
        if not wait_up(port, ctx, sbc):
            check(False, "sbc answers OPTIONS over TLS\n" + sbc.tail())
            return 1
        old = connect(port, ctx)
        check(peer_cn(old) == "sbc.test", "the first connection sees the original certificate")
        check(options_over(old, port) == 200, "OPTIONS over the first connection")

        # Renew: a new certificate (different CN) replaces the files on disk.
        new_cert, new_key = issue(work, "renewed", "sbc-renewed.test")
        shutil.copy(new_cert, live_cert)
        shutil.copy(new_key, live_key)
        sbc.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        with connect(port, ctx) as fresh:
            check(peer_cn(fresh) == "sbc-renewed.test",
                  "after SIGHUP a new connection sees the renewed certificate")
            check(options_over(fresh, port) == 200, "OPTIONS over the new connection")
        check(options_over(old, port) == 200,
              "the connection opened before SIGHUP still works")
        old.close()

        # A broken file on disk: SIGHUP must keep the current certificate.
        with open(live_cert, "w") as f:
            f.write("not a certificate\n")
        sbc.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        check(sbc.alive(), "the sbc survives SIGHUP with a broken certificate file")
        failed = [l for l in sbc.tail(200).splitlines() if "certificate reload failed" in l]
        check(any(live_cert in l for l in failed),
              "the failed reload is logged naming the file\n" + "\n".join(failed))
        with connect(port, ctx) as s:
            check(peer_cn(s) == "sbc-renewed.test", "a failed reload keeps the last good certificate")

        # Mutual TLS.
        try:
            with connect(mtls_port, ctx) as s:
                status = options_over(s, mtls_port)
        except (OSError, ssl.SSLError):
            status = None
        check(status is None, "verify_client refuses a client without a certificate")
        with connect(mtls_port, mctx) as s:
            check(options_over(s, mtls_port) == 200, "verify_client accepts a client certificate from its CA")

        # Old protocol versions.
        old_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old_ctx.check_hostname = False
        old_ctx.verify_mode = ssl.CERT_NONE
        try:
            old_ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            old_ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            old_ctx.set_ciphers("ALL:@SECLEVEL=0")
            with connect(port, old_ctx):
                refused = False
        except ssl.SSLError as e:
            # The client offered TLS 1.1 (it can: SECLEVEL=0); the server said no.
            refused = "NO_PROTOCOLS_AVAILABLE" not in str(e)
        except OSError:
            refused = True
        check(refused, "TLS 1.1 is refused")
        check(sbc.alive(), "the sbc is alive at the end")
    finally:
        code = sbc.stop()
        db.__exit__(None, None, None)
    check(code == 0, f"clean exit on SIGTERM (got {code})")
    if failures:
        sbctest.log("--- sbc log ---\n" + sbc.tail())
    total = 12
    sbctest.log(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
