#!/usr/bin/env python3
"""A real Prometheus server scrapes the sbc (and the media relay and the
console when given) during SIPp calls; its HTTP API must show what happened.

    prometheus_test.py --sbc BIN --migrate BIN --encrypt BIN --prometheus BIN
                       [--relay BIN --relay-config FILE] [--admin BIN --admin-config FILE]
                       [--calls N]

Prometheus runs with deploy/prometheus/prometheus.yml and alerts.yml as
shipped (copied to a temporary folder), with three changes only: a 1 s scrape
(and timeout) and evaluation interval, its own private port as its self-scrape target, and
target files (targets/*.yml, file_sd) naming the processes started here.

Checks, through /api/v1/query, /api/v1/targets and /api/v1/rules:
  - every target is up (up == 1), one per process started;
  - sum(sbc_calls_total) rose by exactly N after N answered calls, all of them
    answered, and the setup-time histogram counted N answers;
  - the INVITEs received and sent by the B2BUA and the transport counters
    moved; channel limit and usage series are there and back to 0;
  - the issue 6 families are there: calls by outbound trunk, TLS handshakes by
    direction and result, rejections with reason acl (an OPTIONS from an
    unknown address), the configuration's load time, the drain flag; the
    relay's network loss, leg jitter/loss histograms and port pool usage;
  - the relay's and the console's run-time log level (PUT /api/log-level on
    the relay; the console's admin-only /api/v1/log-level refuses anonymous);
  - every rule of alerts.yml is loaded and evaluates without error.

Needs SBC_TEST_DSN (ctest sets it; tests/pg). SBC_CALLS_KEEP=1 keeps the work
directory. Python 3 standard library only.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "calls"))
sys.path.insert(0, os.path.join(HERE, ".."))
import sbctest  # noqa: E402
from harness import (CARRIER1_IP, PBX_IP, CallTest, TestFailure, Tools,  # noqa: E402
                     free_udp_port, log, log_tail, stop_process)
from harness import tool_parser  # noqa: E402

PROM_DIR = os.path.join(REPO, "deploy", "prometheus")


class Prometheus:
    """A Prometheus server of our own: private port, data in the work dir."""

    def __init__(self, binary, workdir, targets):
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(os.path.join(self.dir, "targets"), exist_ok=True)
        self.port = sbctest.free_port("127.0.0.1")
        with open(os.path.join(PROM_DIR, "prometheus.yml")) as f:
            config = f.read()
        for old, new in (("scrape_interval: 15s", "scrape_interval: 1s"),
                         ("scrape_timeout: 5s", "scrape_timeout: 1s"),
                         ("evaluation_interval: 15s", "evaluation_interval: 1s"),
                         ('"127.0.0.1:9090"', f'"127.0.0.1:{self.port}"')):
            if old not in config:
                raise TestFailure(f"deploy/prometheus/prometheus.yml no longer has {old!r}: "
                                  "update the test")
            config = config.replace(old, new)
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write(config)
        shutil.copy(os.path.join(PROM_DIR, "alerts.yml"), self.dir)
        # targets: {job: [(address, labels)]}; file_sd's JSON form is valid YAML.
        for job in ("sbc", "media-relay", "sbc-admin"):
            entries = [{"targets": [addr], "labels": labels}
                       for addr, labels in targets.get(job, [])]
            with open(os.path.join(self.dir, "targets", f"{job}.yml"), "w") as f:
                json.dump(entries, f)
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={os.path.join(self.dir, 'prometheus.yml')}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.dir)

    def get(self, path, params=None, timeout=5):
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        return sbctest.http_request("GET", url, timeout=timeout)

    def wait_ready(self, limit=30.0):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure(f"prometheus exited ({self.proc.returncode}): {self.tail()}")
            code, _ = self.get("/-/ready", timeout=1)
            if code == 200:
                return
            time.sleep(0.2)
        raise TestFailure(f"prometheus not ready after {limit:.0f} s: {self.tail()}")

    def api(self, path, params=None):
        code, body = self.get(path, params)
        if code != 200:
            raise TestFailure(f"prometheus {path} answered {code}: {body[:300]}")
        data = json.loads(body)
        if data.get("status") != "success":
            raise TestFailure(f"prometheus {path}: {body[:300]}")
        return data["data"]

    def query(self, expr):
        """[(labels, value)] of an instant vector query."""
        data = self.api("/api/v1/query", {"query": expr})
        if data.get("resultType") != "vector":
            raise TestFailure(f"{expr}: a {data.get('resultType')}, not a vector")
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def scalar(self, expr):
        """The value of a query expected to give at most one series (None: none)."""
        rows = self.query(expr)
        if len(rows) > 1:
            raise TestFailure(f"{expr}: {len(rows)} series, one expected")
        return rows[0][1] if rows else None

    def wait_value(self, expr, want, limit=20.0):
        """Polls `expr` until it equals `want`; returns the last value seen."""
        deadline = time.monotonic() + limit
        got = None
        while time.monotonic() < deadline:
            got = self.scalar(expr)
            if got == want:
                return got
            time.sleep(0.25)
        return got

    def tail(self, n=20):
        return log_tail(self.log_path, n)

    def stop(self):
        stop_process(self.proc, self.log)


class Helper:
    """Another process of ours (media-relay, sbc-admin) started from a config
    template: @NAME@ placeholders replaced, its metrics address returned."""

    def __init__(self, name, binary, template, workdir, values, extra_args=()):
        with open(template) as f:
            text = f.read()
        for k, v in values.items():
            text = text.replace(f"@{k}@", str(v))
        self.config = os.path.join(workdir, f"{name}.toml")
        with open(self.config, "w") as f:
            f.write(text)
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([os.path.abspath(binary), *extra_args, "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=workdir)
        self.name = name

    def stop(self):
        stop_process(self.proc, self.log)


# What `top -H` / `ps -L` show an operator: each process keeps its own name on
# its main thread (scripts find it with pgrep -x) and names its other threads.
EXPECTED_THREADS = {"sbc": {"sbc", "sbc-mgmt", "sbc-cdr", "sbc-config"},
                    "media-relay": {"media-relay", "relay-w0"},
                    "sbc-admin": {"sbc-admin", "db-pool", "admin-auth"}}


def thread_names(pid):
    names = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.add(f.read().strip())
        except OSError:
            pass  # the thread ended meanwhile
    return names


def check_thread_names(processes):
    deadline = time.monotonic() + 10  # the helpers may still be starting
    for name, pid in processes:
        while True:
            names = thread_names(pid)
            missing = EXPECTED_THREADS[name] - names
            if not missing:
                break
            if time.monotonic() > deadline:
                raise TestFailure(f"{name}: threads {sorted(names)} lack {sorted(missing)}")
            time.sleep(0.2)
        log(f"   {name} threads: {', '.join(sorted(names))}")


def run(t, args):
    calls = args.calls
    t.pbx_port = free_udp_port(PBX_IP)
    t.c1_port = free_udp_port(CARRIER1_IP)
    t.add_trunk("pbx-a", "pbx", acl=["127.0.0.2/32"], max_calls=20,
                gateways=[(PBX_IP, t.pbx_port, {"options_ping": False})])
    carrier = t.add_trunk("carrier-a", "carrier", acl=["127.0.0.3/32"], max_calls=30,
                          gateways=[(CARRIER1_IP, t.c1_port, {"options_ping": False})])
    t.add_route("", carrier)
    t.start_sbc(log_level="info")

    helpers = []
    targets = {"sbc": [(f"{t.mgmt[0]}:{t.mgmt[1]}", {"node": f"calls-{t.name}"})]}
    try:
        for job, binary, template in (("media-relay", args.relay, args.relay_config),
                                      ("sbc-admin", args.admin, args.admin_config)):
            if not binary:
                continue
            if not os.access(binary, os.X_OK):
                raise TestFailure(f"{job}: {binary} is not built (cmake --build ... --target {job})")
            port = sbctest.free_port("127.0.0.1")
            # An RTP range of its own, so that parallel tests do not collide.
            rtp_min = 40000 + 2 * (os.getpid() % 5000) // 100 * 100
            values = {"METRICS_PORT": port, "WORKDIR": t.dir, "DSN": t.dsn,
                      "CONTROL_PORT": sbctest.free_port("127.0.0.1"),
                      "SECRET_KEY_FILE": t.key_path, "RTP_MIN": rtp_min,
                      "RTP_MAX": rtp_min + 199}
            helpers.append(Helper(job, binary, template, t.dir, values))
            target = {"node": job, "__scheme__": "http"}
            targets[job] = [(f"127.0.0.1:{port}", target)]
            log(f"   {job} started, metrics on 127.0.0.1:{port}")

        check_thread_names([("sbc", t.sbc.proc.pid)] + [(h.name, h.proc.pid) for h in helpers])
        prom = Prometheus(args.prometheus, t.dir, targets)
        try:
            check_prometheus(t, prom, calls, targets)
        except TestFailure:
            log("---- prometheus log ----")
            log(prom.tail())
            for h in helpers:
                log(f"---- {h.name} log ----")
                with open(h.log_path, errors="replace") as f:
                    log("".join(f.readlines()[-30:]))
            raise
        finally:
            prom.stop()
    finally:
        for h in helpers:
            h.stop()


def check_prometheus(t, prom, calls, targets):
    prom.wait_ready()
    log(f"   prometheus ready on 127.0.0.1:{prom.port}")
    expected_targets = sum(len(v) for v in targets.values()) + 1  # + itself

    # Every target scraped and up.
    deadline = time.monotonic() + 20
    up = []
    while time.monotonic() < deadline:
        up = prom.query("up")
        if len(up) == expected_targets and all(v == 1 for _, v in up):
            break
        time.sleep(0.25)
    t.check(len(up) == expected_targets and all(v == 1 for _, v in up),
            f"up == 1 for all {expected_targets} targets "
            f"({sorted((m.get('job'), m.get('instance'), v) for m, v in up)})")
    active = prom.api("/api/v1/targets")["activeTargets"]
    t.check(all(a["health"] == "up" for a in active),
            "/api/v1/targets: every active target healthy "
            f"({[(a['labels'].get('job'), a['health'], a.get('lastError')) for a in active]})")
    t.check(all(a["labels"].get("node") for a in active if a["labels"].get("job") != "prometheus"),
            "the targets carry their node label")

    # The relay's and the console's own series (what the dashboard draws).
    if "media-relay" in targets:
        ports = prom.wait_value('sum(relay_ports_total{job="media-relay"}) > bool 0', 1.0)
        t.check(ports == 1, "the relay reports its port pool (relay_ports_total > 0)")
    if "sbc-admin" in targets:
        scrapes = prom.wait_value('sum(http_requests_total{job="sbc-admin"}) > bool 0', 1.0)
        t.check(scrapes == 1, "the console counts its requests (http_requests_total > 0)")

    # Series the dashboard and alerts rely on are there before any call.
    limit = prom.wait_value('sbc_trunk_channel_limit{trunk="pbx-a"}', 20)
    t.check(limit == 20, f"sbc_trunk_channel_limit{{trunk=\"pbx-a\"}} = 20 (got {limit})")
    # The node's sbc_nodes heartbeat (every 5 s) is exported, so that the
    # heartbeat alert has something to watch.
    age = prom.scalar("time() - max(sbc_node_heartbeat_timestamp_seconds)")
    t.check(age is not None and -2 <= age <= 30,
            f"sbc_node_heartbeat_timestamp_seconds is recent (age {age} s)")
    before = prom.scalar("sum(sbc_calls_total)") or 0.0
    invites_before = prom.scalar('sum(sbc_sip_messages_total{method="INVITE",direction="in"})') or 0
    log(f"   before the calls: sbc_calls_total {before}, INVITEs in {invites_before}")

    uas = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=calls)
    uac = t.pbx_uac(number="12125550123", calls=calls, rate=5, duration_ms=300)
    t.expect_exit(uac, 0, successful=calls)
    t.expect_exit(uas, 0, successful=calls)

    got = prom.wait_value("sum(sbc_calls_total) - " + repr(before), float(calls))
    t.check(got == calls, f"sum(sbc_calls_total) rose by exactly {calls} (by {got})")
    answered = prom.scalar('sum(sbc_calls_total{result="answered",trunk="pbx-a",'
                           'direction="outbound"})')
    t.check(answered == calls, f"all {calls} counted answered, outbound, on pbx-a ({answered})")
    setup = prom.scalar('sum(sbc_call_setup_seconds_count{stage="answer"})')
    t.check(setup == calls, f"the setup-time histogram counted {calls} answers ({setup})")
    # The sampler copies engine counters every second: wait for one more copy.
    inv = prom.wait_value('sum(sbc_sip_messages_total{method="INVITE",direction="in"}) - '
                          + repr(invites_before), float(calls))
    t.check(inv == calls, f"{calls} INVITEs received by the B2BUA ({inv})")
    out = prom.scalar('sum(sbc_sip_messages_total{method="INVITE",direction="out"})')
    t.check(out is not None and out >= calls, f"at least {calls} INVITEs sent ({out})")
    udp_in = prom.scalar('sbc_transport_messages_total{protocol="udp",direction="in"}')
    t.check(udp_in is not None and udp_in >= 4 * calls,
            f"the UDP transport counted the calls' messages ({udp_in})")
    in_use = prom.wait_value("sum(sbc_trunk_channels_in_use)", 0.0)
    t.check(in_use == 0, f"no channel in use afterwards ({in_use})")
    rate = prom.wait_value('sum(rate(sbc_calls_total[1m])) > bool 0', 1.0)
    t.check(rate == 1, "rate(sbc_calls_total[1m]) (what the dashboard draws) is above 0")

    check_issue6_families(t, prom, calls, targets)

    # Alert rules: every rule of alerts.yml loaded and evaluating cleanly.
    with open(os.path.join(PROM_DIR, "alerts.yml")) as f:
        want = set(re.findall(r"^\s*- alert:\s*(\w+)", f.read(), re.M))
    deadline = time.monotonic() + 15
    rules = []
    while time.monotonic() < deadline:
        groups = prom.api("/api/v1/rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if rules and all(r.get("health") == "ok" for r in rules):
            break
        time.sleep(0.25)
    names = {r["name"] for r in rules if r.get("type") == "alerting"}
    t.check(want and names == want, f"all {len(want)} alert rules loaded ({sorted(names ^ want)} "
            "differ)")
    bad = [(r["name"], r.get("health"), r.get("lastError")) for r in rules
           if r.get("health") != "ok"]
    t.check(not bad, f"every rule evaluates without error ({bad})")
    firing = [a["labels"] for a in prom.api("/api/v1/alerts")["alerts"]
              if a["labels"].get("severity") == "critical"]
    t.check(not firing, f"no critical alert on a healthy test system ({firing})")


def check_issue6_families(t, prom, calls, targets):
    """The series issue 6 added, after the calls."""
    by_out = prom.scalar('sum(sbc_calls_total{outbound_trunk="carrier-a",result="answered"})')
    t.check(by_out == calls, f"sbc_calls_total counts the {calls} calls on outbound_trunk "
            f"carrier-a ({by_out})")
    tls = prom.scalar("count(sbc_tls_handshakes_total)")
    t.check(tls == 4, f"sbc_tls_handshakes_total: inbound/outbound x ok/failed series ({tls})")
    # An OPTIONS from an address no trunk's ACL admits: dropped, counted as acl.
    acl_before = prom.scalar('sum(sbc_rejections_total{reason="acl"})')
    t.check(acl_before is not None, "sbc_rejections_total{reason=\"acl\"} exists")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.5", 0))
        s.sendto(sbctest.options_request(t.inside[0], t.inside[1], local=s.getsockname()),
                 t.inside)
    acl = prom.wait_value(f'sum(sbc_rejections_total{{reason="acl"}}) - {acl_before!r}', 1.0)
    t.check(acl == 1, f"a request from an unknown address counts as an acl rejection ({acl})")
    loaded = prom.scalar("time() - max(sbc_config_loaded_timestamp_seconds)")
    t.check(loaded is not None and -2 <= loaded <= 600,
            f"sbc_config_loaded_timestamp_seconds is the load time ({loaded} s ago)")
    draining = prom.scalar("max(sbc_draining)")
    t.check(draining == 0, f"sbc_draining is 0 on a node taking calls ({draining})")
    if "media-relay" in targets:
        n = prom.scalar('count(relay_rtp_lost_packets_total{job="media-relay"})')
        t.check(n == 2, f"relay_rtp_lost_packets_total per leg kind (rtp, srtp) ({n})")
        n = prom.scalar('count(relay_leg_jitter_seconds_count{job="media-relay"})')
        t.check(n == 2, f"relay_leg_jitter_seconds per leg kind ({n})")
        n = prom.scalar('count(relay_leg_loss_ratio_bucket{job="media-relay",le="+Inf"})')
        t.check(n == 2, f"relay_leg_loss_ratio per leg kind ({n})")
        used = prom.scalar('sum(relay_ports_in_use{job="media-relay"})')
        t.check(used == 0, f"relay_ports_in_use is 0 without sessions ({used})")
        relay = targets["media-relay"][0][0]
        code, body = sbctest.http_request("PUT", f"http://{relay}/api/log-level", {"level": "debug"})
        t.check(code == 200 and '"previous"' in body,
                f"the relay's PUT /api/log-level answers 200 ({code} {body[:200]})")
        code, body = sbctest.http_request("GET", f"http://{relay}/api/log-level")
        t.check(code == 200 and '"debug"' in body, f"the relay now logs at debug ({body[:100]})")
        code, _ = sbctest.http_request("PUT", f"http://{relay}/api/log-level", {"level": "bogus"})
        t.check(code == 400, f"the relay refuses an unknown level ({code})")
        sbctest.http_request("PUT", f"http://{relay}/api/log-level", {"level": "info"})
    if "sbc-admin" in targets:
        admin = targets["sbc-admin"][0][0]
        code, _ = sbctest.http_request("PUT", f"http://{admin}/api/v1/log-level", {"level": "debug"})
        t.check(code in (401, 403), f"the console's log level is not for anonymous callers ({code})")


def main():
    ap = tool_parser(__doc__)
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--relay")
    ap.add_argument("--relay-config", help="TOML template (@METRICS_PORT@, @CONTROL_PORT@, ...)")
    ap.add_argument("--admin")
    ap.add_argument("--admin-config", help="TOML template (@METRICS_PORT@, @DSN@, ...)")
    ap.add_argument("--calls", type=int, default=10)
    a = ap.parse_args()
    tools = Tools.from_args(a)
    started = time.monotonic()
    try:
        with CallTest("prometheus", tools) as t:
            run(t, a)
    except TestFailure as e:
        log(f"FAIL {e}")
        return 1
    log(f"== prometheus: passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
