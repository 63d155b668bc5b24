#!/usr/bin/env python3
"""How a system's p99 follows its throughput under wrk's closed loop (issue 20).

With c connections always busy, each request's mean time is c / throughput
(Little's law); the p99 is that mean times the tail's shape. For each system
in raw bench/sync-peers.sh (or bench/sync-p99-ab.sh) outputs, per round: p99 / (c / req/s) (the shape),
and a least-squares fit p99 = a + b * (c / req/s), with the correlation.
Usage: bench/sync-p99-fit.py [-c 16] OUTPUT...
"""
import re
import statistics as st
import sys

args = sys.argv[1:]
conns = 16
if args[:1] == ["-c"]:
    conns, args = int(args[1]), args[2:]
if not args:
    sys.exit(__doc__)
rounds = {}  # system -> [(p99 ms, req/s)]
for path in args:
    system = p99 = None
    with open(path) as f:
        for line in f:
            m = re.match(r"round \d+ (\S+) .*99%=([\d.]+)(us|ms|s) .*Requests/sec:\s+([\d.]+)", line)
            if m:  # bench/sync-p99-ab.sh: one line a system and round
                p = float(m.group(2)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(3)]
                rounds.setdefault(m.group(1), []).append((p, float(m.group(4))))
                continue
            m = re.match(r"## round \d+ (\S+)", line)
            if m:
                system, p99 = m.group(1), None
                system = "weft" if system.startswith("weft") else system
                continue
            m = re.match(r"\s+99%\s+([\d.]+)(us|ms|s)\b", line)
            if m:
                p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
                continue
            m = re.match(r"Requests/sec:\s+([\d.]+)", line)
            if m and system and p99 is not None:
                rounds.setdefault(system, []).append((p99, float(m.group(1))))
for system, rs in sorted(rounds.items()):
    xs = [conns * 1e3 / rps for _, rps in rs]  # mean ms a request by Little's law
    ys = [p for p, _ in rs]
    shape = [y / x for x, y in zip(xs, ys)]
    line = f"{system:10} rounds {len(rs):2}  req/s median {st.median([r for _, r in rs]):7.0f}  p99 median {st.median(ys):6.2f} ms  p99/(c/req/s) median {st.median(shape):.2f} ({min(shape):.2f}-{max(shape):.2f})"
    if len(rs) > 2 and len(set(xs)) > 1:
        fit = st.linear_regression(xs, ys)
        line += f"  fit p99 = {fit.intercept:.2f} + {fit.slope:.2f} * c/(req/s), r = {st.correlation(xs, ys):.2f}"
    print(line)
