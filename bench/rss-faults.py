#!/usr/bin/env python3
"""What maps the executable's pages into a process (issue 20, BENCHMARKS.md §55).

Reads `perf script -F addr,ip,sym` output of `perf record -e page-faults -c 1
-d -g` (every page fault, with its address and call chain) and the binary,
and counts the faults on the binary's own mappings by region (text, rodata,
the parts of pclntab, data) and by cause (the runtime's start, each module's
package initialisers, each start-up step of `weft serve`, stack growth, the
GC, the rest). The kernel maps a 64 KiB window of the page cache around each
fault on a file mapping (fault-around), so each fault here stands for up to
64 KiB of file-backed RSS, and the faults say who made it resident.

Usage: bench/rss-faults.py BINARY PERF_SCRIPT_OUTPUT [TOP]
"""
import collections
import re
import struct
import subprocess
import sys


def sections(exe):
    out = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True, check=True).stdout
    secs = {}
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m:
            secs[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16))
    return secs


def regions(exe):
    """(start, end, name) of the binary's mapped regions, pclntab split by table."""
    secs = sections(exe)
    out = []
    for name in (".text", ".rodata", ".typelink", ".itablink", ".noptrdata", ".data"):
        if name in secs:
            va, _, size = secs[name]
            out.append((va, va + size, name.lstrip(".")))
    va, off, size = secs[".gopclntab"]
    with open(exe, "rb") as f:
        f.seek(off + 8)
        hdr = struct.unpack("<8Q", f.read(64))
    # nfunc, nfiles, textStart, funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset
    parts = [("pclntab:funcnames", hdr[3]), ("pclntab:cu+files", hdr[4]), ("pclntab:pctab", hdr[6]), ("pclntab:functab", hdr[7]), ("", size)]
    for (n, o), (_, o2) in zip(parts, parts[1:]):
        out.append((va + o, va + o2, n))
    return sorted(out)


def parse(path):
    samples, cur = [], None
    for line in open(path, errors="replace"):
        if not line.strip():
            if cur:
                samples.append(cur)
            cur = None
            continue
        try:
            if not line.startswith("\t") and cur is None:
                cur = {"addr": int(line.split(None, 1)[0], 16), "chain": []}
                continue
            p = line.strip().split(None, 1)
            if cur is not None:
                cur["chain"].append((int(p[0], 16), p[1] if len(p) > 1 else "?"))
        except ValueError:
            pass
    if cur:
        samples.append(cur)
    return samples


def module(sym):
    sym = sym.split(" ")[0]
    i = sym.rfind("/")
    j = sym.find(".", i + 1)
    parts = (sym[:j] if j > 0 else sym).split("/")
    if len(parts) >= 3 and parts[:2] == ["github.com", "weftio"]:
        return "weft/" + "/".join(parts[3:4])
    if "." in parts[0]:
        return "/".join(parts[:3] if parts[0] in ("github.com", "golang.org") else parts[:2])
    return "std " + parts[0]


INIT = re.compile(r"\.init(\.\d+)?$|\.init\.func\d+")


def cause(chain):
    names = [n for ip, n in chain if ip < 0x7F0000000000]
    inits = [n for n in names if INIT.search(n)]
    if inits:
        return "init " + module(inits[0])
    if "runtime.newstack" in names:
        return "stack growth (copystack)"
    if "runtime.gcBgMarkWorker" in names or "runtime.gcDrain" in names:
        return "GC"
    if "main.main" in names:
        i = names.index("main.main")
        step = names[i - 4] if i >= 4 else names[0]
        return "serve " + step.split("(")[0]
    if names and names[-1].startswith("runtime.rt0_go"):
        return "runtime start " + (names[-2] if len(names) > 1 else "")
    if any(n.startswith("net/http.(*conn).serve") for n in names):
        return "request path"
    return "other " + (names[-2] if len(names) > 1 else (names[0] if names else "?"))


def main():
    exe, path = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    regs = regions(exe)
    lo, hi = regs[0][0], max(r[1] for r in regs)

    def region(a):
        for s, e, n in regs:
            if s <= a < e:
                return n
        return "other"

    faults = [s for s in parse(path) if lo <= s["addr"] < hi]
    print(f"{len(faults)} faults on {exe}'s mappings (each maps up to 64 KiB: {len(faults) * 64 / 1024:.1f} MiB)")
    print("by region:")
    for n, c in collections.Counter(region(s["addr"]) for s in faults).most_common():
        print(f"  {c:5d} {c * 64 / 1024:6.2f} MiB  {n}")
    print("by cause:")
    by = collections.Counter(cause(s["chain"]) for s in faults)
    for n, c in by.most_common(top):
        print(f"  {c:5d} {c * 64 / 1024:6.2f} MiB  {n}")
    rest = sum(c for _, c in by.most_common()[top:])
    inits = sum(c for n, c in by.items() if n.startswith("init "))
    print(f"  {rest:5d} {rest * 64 / 1024:6.2f} MiB  (the rest)")
    print(f"package initialisers in all: {inits} faults, {inits * 64 / 1024:.2f} MiB")


if __name__ == "__main__":
    main()
