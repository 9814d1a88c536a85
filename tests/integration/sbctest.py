"""Helpers shared by the integration tests: free ports, throwaway TLS
certificates, starting and stopping the sbc binary, minimal SIP I/O."""
import fcntl
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

STATUS_RE = re.compile(rb"^SIP/2\.0 (\d{3}) ")


# Free ports: a port picked here and bound later by another process (the
# sbc, SIPp) could be taken in between. Two things close that window:
#  - ports come from below the kernel's ephemeral range, so no socket bound
#    to port 0 (mgmt listeners, outgoing connections, other tools) can get
#    one, in a slice of their own per build directory (derived from its
#    PostgreSQL test port) so that parallel runs of several build directories
#    never pick the same ports;
#  - each port handed out is reserved with a lock file held until this
#    process exits, so concurrent tests of one build directory skip it.
_PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "sbc-test-ports")
_PORT_SLICES = 40
_held_ports = {}  # port -> open lock file (the flock lasts as long as the process)


def _port_slice():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    first = 10000
    size = (ephemeral_low - first) // _PORT_SLICES
    if size < 100:
        return None  # an unusual range: fall back to ephemeral ports
    m = re.search(r"\bport=(\d+)", os.environ.get("SBC_TEST_DSN", ""))
    slot = (int(m.group(1)) if m else os.getpid()) % _PORT_SLICES
    return first + slot * size, first + (slot + 1) * size


def _reserve(port):
    os.makedirs(_PORT_LOCK_DIR, exist_ok=True)
    f = open(os.path.join(_PORT_LOCK_DIR, str(port)), "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return False
    _held_ports[port] = f
    return True


def _release(port):
    f = _held_ports.pop(port, None)
    if f is not None:
        f.close()


def _bindable(host, port, kinds):
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    """A port free for both UDP and TCP on host (the sbc binds both),
    reserved for this process (see above)."""
    other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
    span = _port_slice()
    if span is not None:
        lo, hi = span
        start = random.randrange(lo, hi)
        for i in range(hi - lo):
            port = lo + (start - lo + i) % (hi - lo)
            if port in _held_ports or not _reserve(port):
                continue
            if _bindable(host, port, (kind, other)):
                return port
            _release(port)
    for _ in range(50):
        s = socket.socket(socket.AF_INET, kind)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        if _bindable(host, port, (other,)):
            return port
    raise RuntimeError("no free port")


def free_port_block(host="127.0.0.1", count=4, kind=socket.SOCK_DGRAM):
    """The first of count consecutive ports free on host, all reserved for
    this process: SIPp's -mp binds its media port and the next three (RTCP,
    video RTP and RTCP), so reserving one port alone lets another test take
    the others."""
    span = _port_slice()
    if span is None:
        return free_port(host, kind)
    lo, hi = span
    blocks = (hi - lo) // count
    start = random.randrange(blocks)
    for i in range(blocks):
        first = lo + ((start + i) % blocks) * count
        ports = range(first, first + count)
        taken = []
        for port in ports:
            if port in _held_ports or not _reserve(port):
                break
            taken.append(port)
        if len(taken) == count and all(_bindable(host, p, (kind,)) for p in ports):
            return first
        for port in taken:
            _release(port)
    raise RuntimeError(f"no {count} consecutive free ports")


def make_certs(workdir, cn="sbc.test", ip="127.0.0.1"):
    """A throwaway CA and a server certificate for ip, signed by it."""
    def run(*args):
        subprocess.run(args, cwd=workdir, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
        "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(workdir, "ext.cnf"), "w") as f:
        f.write(f"subjectAltName=IP:{ip},DNS:{cn}\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem")
    return {k: os.path.join(workdir, v) for k, v in
            (("ca", "ca.pem"), ("cert", "server.pem"), ("key", "server.key"))}


class Sbc:
    """Runs the sbc binary with a config text; stderr goes to a log file."""

    def __init__(self, binary, workdir, config_text, preexec_fn=None):
        self.workdir = workdir
        self.config_path = os.path.join(workdir, "sbc.toml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(workdir, "sbc.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "--config", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=preexec_fn)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM, then the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def tail(self, n=40):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode(errors="replace")


def drop_rt_rights():
    """A preexec_fn: in the child before exec, no CAP_SYS_NICE (out of the
    bounding set, so root's exec does not get it back) and RLIMIT_RTPRIO 0,
    so a real-time scheduling request is refused."""
    import ctypes
    import resource
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_sys_nice = 24, 23
    if libc.prctl(pr_capbset_drop, cap_sys_nice, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
    resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))


def http_request(method, url, body=None, timeout=5):
    """(status, text) of one HTTP request; `body`, when given, is sent as
    JSON. An error status is an answer like any other; (None, "") when
    nothing answered (refused, reset, timed out)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError, TimeoutError):
        return None, ""


def options_request(target_host, target_port, transport="UDP", local=("127.0.0.1", 0),
                    branch=None, call_id=None):
    branch = branch or "z9hG4bK-%x" % int(time.time() * 1e6)
    call_id = call_id or "ping-%x@test" % int(time.time() * 1e6)
    return (f"OPTIONS sip:{target_host}:{target_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} {local[0]}:{local[1]};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:probe@{local[0]}>;tag=probe1\r\n"
            f"To: <sip:{target_host}:{target_port}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: 1 OPTIONS\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def status_of(data):
    m = STATUS_RE.match(data or b"")
    return int(m.group(1)) if m else None


class StreamReader:
    """Reads whole SIP messages from a stream socket (Content-Length framing)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    def read_message(self, deadline):
        while True:
            while self.buf.startswith(b"\r\n"):
                self.buf = self.buf[2:]
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.buf[:head_end]
                m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
                length = int(m.group(1)) if m else 0
                total = head_end + 4 + length
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return msg
            if self.closed:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                return None
            except (ConnectionResetError, ssl.SSLError, OSError):
                self.closed = True
                continue
            if not chunk:
                self.closed = True
            self.buf += chunk


def log(*args):
    print(*args, flush=True)
    sys.stdout.flush()


def run_main(run_fn, workdir_prefix, logs=("admin.log",), errors=(Exception,), tail=40):
    """A test's main(): run_fn(workdir) in a fresh temporary folder, removed
    afterwards. Prints PASS and returns 0, or, on one of `errors`, prints
    FAIL with the error and the last `tail` lines of each of `logs` (files
    in that folder) and returns 1; other exceptions propagate."""
    workdir = tempfile.mkdtemp(prefix=workdir_prefix)
    try:
        run_fn(workdir)
    except errors as e:
        log(f"FAIL: {e!r}")
        for name in logs:
            path = os.path.join(workdir, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    log(f"---- {name} (tail)\n" + "".join(f.readlines()[-tail:]))
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    log("PASS")
    return 0
