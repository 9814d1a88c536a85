#!/usr/bin/env python3
"""Per-socket UDP receive drops (the last column of /proc/net/udp{,6}), split
by port range, so that a benchmark step can say where packets were lost:
on the relay's sockets (it read too late) or on the generator's (it did).

  udp_drops.py save FILE              snapshot
  udp_drops.py diff FILE LO-HI ...    drops since the snapshot, per range
                                      (ranges as named LO-HI=name), rest = other
Prints one line: key=value per range.
"""
import json
import sys


def snapshot():
    drops = {}
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            port = int(f[1].rsplit(":", 1)[1], 16)
            drops[f"{path}|{port}|{f[9]}"] = int(f[-1])  # f[9] = inode
    return drops


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "save":
        with open(sys.argv[2], "w") as out:
            json.dump(snapshot(), out)
        return 0
    if len(sys.argv) >= 3 and sys.argv[1] == "diff":
        with open(sys.argv[2]) as inp:
            before = json.load(inp)
        ranges = []
        for spec in sys.argv[3:]:
            span, name = spec.split("=")
            lo, hi = span.split("-")
            ranges.append((int(lo), int(hi), name))
        totals = {name: 0 for _, _, name in ranges}
        totals["other"] = 0
        for key, value in snapshot().items():
            grown = value - before.get(key, 0)
            if grown <= 0:
                continue
            port = int(key.split("|")[1])
            name = next((n for lo, hi, n in ranges if lo <= port <= hi), "other")
            totals[name] += grown
        print(" ".join(f"{k}={v}" for k, v in totals.items()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
