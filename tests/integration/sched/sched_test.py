#!/usr/bin/env python3
"""The SIP thread's scheduling ([node] sip_scheduling / sip_priority), on the
real sbc binary with its configuration in PostgreSQL and SIPp calls:

  default   no key: every thread of the sbc at the normal policy, the metric
            sbc_sip_thread_priority{policy="other"} 0, a call goes through;
  fifo      sip_scheduling = "fifo", sip_priority = 7: the SIP thread (the
            main thread, tid == pid) at SCHED_FIFO 7 with SCHED_RESET_ON_FORK,
            every other thread (mgmt, database pool, CDR writer, trace,
            configuration) at the normal policy, before and after calls; the
            metric fifo/7; calls go through; nothing refused in the log;
  refused   fifo configured without the right to it (CAP_SYS_NICE dropped
            from the bounding set, RLIMIT_RTPRIO 0): exactly one warning, every
            thread normal, the metric other/0, calls go through.

fifo and refused pass with a note where this machine refuses SCHED_FIFO to
the test itself. Python 3 standard library only; reuses calls/harness.py.

    sched_test.py --sbc BIN --migrate BIN --encrypt BIN --sipp BIN --psql BIN CASE
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "calls"))
sys.path.insert(0, os.path.join(HERE, ".."))
from harness import CARRIER1_IP, CallTest, case_registry, cases_main, log  # noqa: E402
from calls_test import basic_config  # noqa: E402
from sbctest import drop_rt_rights  # noqa: E402

SCHED_RESET_ON_FORK = 0x40000000
SCHED_NAMES = {os.SCHED_OTHER: "other", os.SCHED_FIFO: "fifo", os.SCHED_RR: "rr"}

cases, case = case_registry()


class SchedTest(CallTest):
    """A CallTest whose sbc config carries `node_extra` in its [node] table."""
    node_extra = ""

    def config_text(self, log_level="debug", extra=""):
        text = super().config_text(log_level, extra)
        return text.replace("[node]\n", "[node]\n" + self.node_extra, 1)


def threads_of(pid):
    """{tid: (comm, policy name, rt priority, reset_on_fork)} of every thread."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            raw = os.sched_getscheduler(int(tid))
            prio = os.sched_getparam(int(tid)).sched_priority
        except (FileNotFoundError, ProcessLookupError):
            continue
        policy = raw & ~SCHED_RESET_ON_FORK
        out[int(tid)] = (comm, SCHED_NAMES.get(policy, str(policy)), prio,
                         bool(raw & SCHED_RESET_ON_FORK))
    return out


def can_use_fifo():
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except OSError:
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


def calls_go_through(t, n=3):
    carrier = t.carrier_uas(CARRIER1_IP, t.c1_port, calls=n, name=f"carrier{len(t.sipps)}")
    pbx = t.pbx_uac(number="12125550123", calls=n, name=f"pbx{len(t.sipps)}")
    t.expect_exit(pbx, 0, successful=n)
    t.expect_exit(carrier, 0, successful=n)


def expect_all_normal(t, what):
    threads = threads_of(t.sbc.proc.pid)
    t.check(len(threads) >= 4 and all(th[1] == "other" for th in threads.values()),
            f"{what}: every thread at the normal policy ({threads})")


def priority_metric(t, policy):
    """sbc_sip_thread_priority{policy=...}, None when the series is absent."""
    return t.metrics().get(("sbc_sip_thread_priority", frozenset({("policy", policy)})))


def skip_without_fifo():
    if can_use_fifo():
        return False
    log("   note: no right to SCHED_FIFO on this machine: case skipped (passes)")
    return True


def refusals(t):
    with open(t.sbc.log_path, errors="replace") as f:
        return [ln for ln in f if "sip_scheduling" in ln and "refused" in ln]


@case(90)
def default(t):
    basic_config(t)
    t.start_sbc(log_level="info")
    expect_all_normal(t, "no sip_scheduling key")
    t.check(priority_metric(t, "other") == 0 and priority_metric(t, "fifo") is None,
            "sbc_sip_thread_priority{policy=\"other\"} reads 0, no fifo series")
    calls_go_through(t)
    t.check(not refusals(t), "nothing refused")


@case(90)
def fifo(t):
    if skip_without_fifo():
        return
    t.node_extra = 'sip_scheduling = "fifo"\nsip_priority = 7\n'
    basic_config(t)
    t.start_sbc(log_level="info")
    pid = t.sbc.proc.pid
    for when in ("at start", "after calls"):
        threads = threads_of(pid)
        sip = threads.get(pid)
        others = {tid: th for tid, th in threads.items() if tid != pid}
        t.check(sip is not None and sip[1:] == ("fifo", 7, True),
                f"{when}: the SIP thread (tid {pid}) at SCHED_FIFO 7, reset on fork ({sip})")
        t.check(len(others) >= 3 and all(th[1] == "other" for th in others.values()),
                f"{when}: every other thread at the normal policy ({others})")
        names = {th[0] for th in others.values()}
        t.check("sbc-mgmt" in names, f"{when}: the mgmt thread is among them ({sorted(names)})")
        if when == "at start":
            t.check(priority_metric(t, "fifo") == 7 and priority_metric(t, "other") is None,
                    "sbc_sip_thread_priority{policy=\"fifo\"} reads 7, no other series")
            calls_go_through(t)
    t.check(not refusals(t), "nothing refused when permitted")


@case(90)
def refused(t):
    if skip_without_fifo():
        return
    t.node_extra = 'sip_scheduling = "fifo"\nsip_priority = 5\n'
    basic_config(t)
    t.start_sbc(log_level="info", preexec_fn=drop_rt_rights)
    expect_all_normal(t, "fifo refused")
    t.check(priority_metric(t, "other") == 0 and priority_metric(t, "fifo") is None,
            "sbc_sip_thread_priority reads other/0, no fifo series")
    calls_go_through(t)
    lines = refusals(t)
    t.check(len(lines) == 1 and "level=warn" in lines[0],
            f"exactly one warning ({len(lines)}: {lines})")


if __name__ == "__main__":
    sys.exit(cases_main(__doc__, cases, SchedTest))
