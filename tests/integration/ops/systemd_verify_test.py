#!/usr/bin/env python3
"""deploy/systemd/*.service: `systemd-analyze verify` accepts them without a
single warning, and each holds the hardening docs/OPERATIONS.md promises.

    systemd_verify_test.py [--systemd-analyze BIN] [--bin NAME=PATH ...]

The units name /usr/local/bin/<program>; verify wants an executable there, so
the copies checked point at the build's binaries (--bin), or at /bin/true for
a program not built in this tree (its unit is then checked for syntax only).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEMD_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "deploy", "systemd"))
UNITS = {"sbc.service": "sbc", "media-relay.service": "media-relay",
         "sbc-admin.service": "sbc-admin"}
# Where a capability is granted: only the console binds a port under 1024 (443).
CAP_UNITS = {"sbc-admin.service"}
REQUIRED = ["User=sbc", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
            "Restart=on-failure", "EnvironmentFile=-/etc/default/edge-sbc"]

failures = []


def check(cond, what):
    print(("   ok   " if cond else "   FAIL ") + what)
    if not cond:
        failures.append(what)


def directives(text):
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", ";", "["))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--systemd-analyze", default=shutil.which("systemd-analyze"))
    ap.add_argument("--bin", action="append", default=[], help="NAME=PATH")
    a = ap.parse_args()
    bins = dict(b.split("=", 1) for b in a.bin)

    check(os.path.isfile(os.path.join(SYSTEMD_DIR, "edge-sbc.env")),
          "deploy/systemd/edge-sbc.env (the EnvironmentFile) exists")
    env = open(os.path.join(SYSTEMD_DIR, "edge-sbc.env")).read()
    for var in ("SBC_CONFIG", "RELAY_CONFIG", "ADMIN_CONFIG"):
        check(re.search(rf"^{var}=/", env, re.M) is not None, f"edge-sbc.env sets {var}")

    work = tempfile.mkdtemp(prefix="sbc-systemd-")
    try:
        for unit, program in UNITS.items():
            with open(os.path.join(SYSTEMD_DIR, unit)) as f:
                text = f.read()
            d = directives(text)
            for want in REQUIRED:
                check(want in d, f"{unit}: {want}")
            caps = [x for x in d if x.startswith(("AmbientCapabilities=",
                                                   "CapabilityBoundingSet="))]
            if unit in CAP_UNITS:
                check(caps == ["CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                               "AmbientCapabilities=CAP_NET_BIND_SERVICE"],
                      f"{unit}: CAP_NET_BIND_SERVICE and nothing else ({caps})")
            else:
                check(sorted(caps) == ["AmbientCapabilities=", "CapabilityBoundingSet="],
                      f"{unit}: no capability at all ({caps})")
            exec_start = f"/usr/local/bin/{program} "
            check(f"ExecStart={exec_start}" in text, f"{unit}: runs {exec_start.strip()}")
            target = bins.get(program, "/bin/true")
            if not os.access(target, os.X_OK):
                target = "/bin/true"
            if target == "/bin/true":
                print(f"   note {unit}: {program} not built here, verified against /bin/true")
            # The drain helper the sbc unit stops with (ExecStop): the repo's copy.
            drain = os.path.normpath(os.path.join(SYSTEMD_DIR, "..", "sbc-drain.sh"))
            if "/usr/local/bin/sbc-drain " in text:
                check(os.access(drain, os.X_OK), f"{unit}: deploy/sbc-drain.sh is executable")
            with open(os.path.join(work, unit), "w") as f:
                f.write(text.replace(exec_start, target + " ")
                        .replace("/usr/local/bin/sbc-drain ", drain + " "))
        if not a.systemd_analyze:
            print("   skip systemd-analyze not found: syntax not verified")
        else:
            paths = [os.path.join(work, u) for u in UNITS]
            r = subprocess.run([a.systemd_analyze, "verify", *paths],
                               capture_output=True, text=True, timeout=60)
            out = (r.stdout + r.stderr).strip()
            # Complaints about units outside ours (the host's own) are not ours.
            ours = [line for line in out.splitlines() if any(u in line for u in UNITS)]
            check(r.returncode == 0 and not ours,
                  f"systemd-analyze verify: rc {r.returncode}, no warning on our units"
                  + (f"\n{out}" if out else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"FAIL {len(failures)} check(s)")
        return 1
    print("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
