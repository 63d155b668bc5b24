#!/usr/bin/env python3
"""Summarise bench/sync-peers.sh output: req/s per round, the median, p50/p99
of the median round, and each system's throughput against Weft's in the same
round (median of the per-round ratios). Usage: sync-peers-summary.py FILE"""
import re, statistics, sys

runs = {}  # name -> list of (round, rps, p50ms, p99ms, non2xx)
cur = None
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
for line in open(sys.argv[1]):
    m = re.match(r"## round (\d+) (\S+)", line)
    if m:
        cur = {"round": int(m.group(1)), "name": m.group(2), "non2xx": 0}
        runs.setdefault(cur["name"], []).append(cur)
        continue
    if cur is None:
        continue
    m = re.match(r"\s+(50|99)%\s+([\d.]+)(us|ms|s)", line)
    if m:
        cur["p" + m.group(1)] = ms(m.group(2), m.group(3))
    m = re.match(r"Requests/sec:\s+([\d.]+)", line)
    if m:
        cur["rps"] = float(m.group(1))
    m = re.match(r"\s+(\d+) requests in", line)
    if m:
        cur["reqs"] = int(m.group(1))
    m = re.match(r"cpu ticks: (\d+) at (\d+)/s", line)
    if m:
        cur["cpu_us"] = int(m.group(1)) * 1e6 / int(m.group(2)) / cur["reqs"]
    m = re.match(r"rss peak KiB \(total anon file shmem\): (\d+) (\d+) (\d+) (\d+)", line)
    if m:
        cur["rss"] = [int(x) / 1024 for x in m.groups()]
    m = re.match(r"\s+Non-2xx or 3xx responses: (\d+)", line)
    if m:
        cur["non2xx"] = int(m.group(1))

print("| system | req/s per round | median | p50 / p99 ms (median round) | CPU µs per request, per round (median) | non-2xx |")
print("|---|---|---|---|---|---|")
med = {}
for name, rs in runs.items():
    rs[:] = [r for r in rs if "rps" in r]
    if not rs:
        continue
    rps = [r["rps"] for r in rs]
    m = statistics.median(rps)
    mr = sorted(rs, key=lambda r: r["rps"])[len(rs) // 2]
    med[name] = mr
    cpu = [r["cpu_us"] for r in rs if "cpu_us" in r]
    cpus = f"{' · '.join(f'{v:.0f}' for v in cpu)} ({statistics.median(cpu):.0f})" if cpu else "-"
    print(f"| {name} | {' · '.join(f'{v:,.0f}' for v in rps)} | {m:,.0f} | {mr['p50']:.2f} / {mr['p99']:.2f} | {cpus} | {sum(r['non2xx'] for r in rs)} |")
if any("rss" in r for rs in runs.values() for r in rs):
    print()
    print("| system | peak RSS MiB per round | median | anonymous / file-backed MiB at the median round's peak |")
    print("|---|---|---|---|")
    for name, rs in runs.items():
        rr = [r for r in rs if "rss" in r]
        if not rr:
            continue
        mr = sorted(rr, key=lambda r: r["rss"][0])[len(rr) // 2]
        peaks = " · ".join(f"{r['rss'][0]:.0f}" for r in rr)
        print(f"| {name} | {peaks} | {mr['rss'][0]:.0f} | {mr['rss'][1]:.0f} / {mr['rss'][2]:.0f} |")
print()
for w in [n for n in runs if n.startswith("weft")]:
    by_round = {r["round"]: r for r in runs[w]}
    for other in [n for n in runs if n != w]:
        ratios = [by_round[r["round"]]["rps"] / r["rps"] for r in runs[other] if r["round"] in by_round]
        p99 = [by_round[r["round"]]["p99"] - r["p99"] for r in runs[other] if r["round"] in by_round]
        if not ratios:
            continue
        cpu = [r["cpu_us"] / by_round[r["round"]]["cpu_us"] for r in runs[other]
               if r["round"] in by_round and "cpu_us" in r and "cpu_us" in by_round[r["round"]]]
        cpus = f"; requests per CPU-second {' · '.join(f'{x:.2f}' for x in cpu)} (median {statistics.median(cpu):.2f}×)" if cpu else ""
        rss = [by_round[r["round"]]["rss"][0] / r["rss"][0] for r in runs[other]
               if r["round"] in by_round and "rss" in r and "rss" in by_round[r["round"]]]
        if rss:
            cpus += f"; peak RSS {' · '.join(f'{x:.2f}' for x in rss)} (median {statistics.median(rss):.2f}×)"
        print(f"{w} / {other}: throughput {' · '.join(f'{x:.2f}' for x in ratios)} (median {statistics.median(ratios):.2f}×); "
              f"p99 difference {' · '.join(f'{x:+.1f}' for x in p99)} ms (median {statistics.median(p99):+.1f}){cpus}")
