"""Summarise bench/authz.sh's wrk output (stdin) as a Markdown table:
medians over rounds of req/s, p50 and p99, and each case's p50 and
throughput against its group's baseline measured in the same round."""
import re
import statistics
import sys
from collections import defaultdict

UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}
BASE = {"flow": "flow-open", "hook": "hook-open", "read": "read-open", "write": "write-noaudit"}


def ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * UNIT[m.group(2)]


runs = defaultdict(dict)  # (round, case) -> {rps, p50, p99}
order = []
cur = None
for line in sys.stdin:
    m = re.match(r"## round (\d+) (\S+)", line)
    if m:
        cur = (int(m.group(1)), m.group(2))
        if cur[1] not in order:
            order.append(cur[1])
        continue
    if cur is None:
        continue
    f = line.split()
    if line.startswith("Requests/sec:"):
        runs[cur]["rps"] = float(f[1])
    elif len(f) == 2 and f[0] in ("50%", "99%"):
        runs[cur]["p" + f[0][:2]] = ms(f[1])

rounds = sorted({r for r, _ in runs})
print("| case | req/s (median of %d) | p50 ms | p99 ms | p50 / baseline | req/s / baseline |" % len(rounds))
print("|---|---|---|---|---|---|")
for c in order:
    vals = [runs[(r, c)] for r in rounds if (r, c) in runs]
    base = BASE[c.split("-")[0]]
    p50r = [runs[(r, c)]["p50"] / runs[(r, base)]["p50"] for r in rounds if (r, c) in runs and (r, base) in runs]
    rpsr = [runs[(r, c)]["rps"] / runs[(r, base)]["rps"] for r in rounds if (r, c) in runs and (r, base) in runs]
    med = lambda k: statistics.median(v[k] for v in vals)
    print("| %s | %s | %.2f | %.2f | %s | %s |" % (
        c, f"{med('rps'):,.0f}", med("p50"), med("p99"),
        "—" if c == base else "**%.2f×**" % statistics.median(p50r),
        "—" if c == base else "%.2f×" % statistics.median(rpsr)))
