#!/usr/bin/env python3
"""The library's share of a node's CPU, from `perf script` output of cpu-clock samples taken with
frame-pointer call graphs (`perf record -e cpu-clock --call-graph fp`).

Usage: perf script -i perf.data | perf-share.py

Library code is every function whose mangled name names the module MaculaMesh or MaculaMemory
(generic specializations over their types included). A sample is the library's when its leaf is
library code ("own"), or when its leaf is in the Swift runtime or libc ("runtime": retain/release,
allocation, hashing) or in the concurrency runtime, libdispatch or the kernel ("scheduling": actor
hops, task switches) and the first frame above it that is in the program is library code.
"""
import re
import sys

LIBRARY = re.compile(r"10MaculaMesh|12MaculaMemory")
RUNTIME = re.compile(r"libswiftCore\.so|libc\.so|ld-linux|libm\.so|libstdc\+\+")
SCHEDULING = re.compile(r"libswift_Concurrency\.so|libdispatch\.so|kernel\.kallsyms|libpthread")


def classify(frames):
    """frames: [(symbol, object)], leaf first. Returns own, runtime, scheduling or None."""
    if not frames:
        return None
    symbol, obj = frames[0]
    if not (RUNTIME.search(obj) or SCHEDULING.search(obj)):
        return "own" if LIBRARY.search(symbol) else None
    kind = "runtime" if RUNTIME.search(obj) else "scheduling"
    for symbol, obj in frames[1:]:
        if RUNTIME.search(obj) or SCHEDULING.search(obj):
            continue
        return kind if LIBRARY.search(symbol) else None
    return None


def main():
    counts = {"own": 0, "runtime": 0, "scheduling": 0}
    total = 0
    frames = None
    frame = re.compile(r"^\s+[0-9a-f]+ (.+?)(?:\+0x[0-9a-f]+)? \((.*)\)$")
    for line in sys.stdin:
        if not line.strip():
            if frames is not None:
                total += 1
                kind = classify(frames)
                if kind:
                    counts[kind] += 1
            frames = None
            continue
        if not line[0].isspace():
            frames = []
            continue
        m = frame.match(line.rstrip("\n"))
        if m and frames is not None:
            frames.append((m.group(1), m.group(2)))
    if frames:
        total += 1
        kind = classify(frames)
        if kind:
            counts[kind] += 1
    share = lambda n: 100.0 * n / total if total else 0.0
    print(f"samples: {total}")
    for kind in ("own", "runtime", "scheduling"):
        print(f"library {kind:10} {counts[kind]:6} ({share(counts[kind]):.2f} %)")
    both = counts["own"] + counts["runtime"]
    print(f"library own + runtime   {both:6} ({share(both):.2f} %)")
    every = both + counts["scheduling"]
    print(f"library all three       {every:6} ({share(every):.2f} %)")


if __name__ == "__main__":
    main()
