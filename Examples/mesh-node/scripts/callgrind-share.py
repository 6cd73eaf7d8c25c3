#!/usr/bin/env python3
"""The library's share of a callgrind profile's instructions.

Usage: callgrind-share.py CALLGRIND_OUT

Library functions are those whose (mangled) name names the module MaculaMesh or MaculaMemory,
generic specializations over their types included. Prints:
- own: the instructions those functions executed themselves;
- runtime: the instructions of the calls they made into the Swift runtime and standard library
  (libswiftCore: retain/release, allocation, hashing) and libc (malloc, free), inclusive;
- both as a share of the profile's total.
Calls from library functions into anything else (the embedder's code it calls back, SwiftNIO,
the concurrency runtime that switches tasks) are not counted: their cost is the embedder's or the
scheduler's.
"""
import re
import sys

LIBRARY = re.compile(r"10MaculaMesh|12MaculaMemory")
RUNTIME_OBJECTS = re.compile(r"libswiftCore\.so|libc\.so|libc-")


def main(path):
    names = {"fn": {}, "fl": {}, "ob": {}}
    current_fn = current_ob = None
    call_target = call_ob = None
    pending_call = False
    total = own = runtime = 0
    events = None

    def resolve(kind, text):
        table = names["fn" if kind in ("fn", "cfn") else "fl" if kind in ("fl", "fi", "fe", "cfl", "cfi") else "ob"]
        m = re.match(r"\((\d+)\)(?: (.*))?", text)
        if not m:
            return text
        key, name = m.group(1), m.group(2)
        if name is not None:
            table[key] = name
        return table.get(key, "?")

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("events:"):
                events = line.split()[1:]
                continue
            if line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split()[1]))
                continue
            head, _, rest = line.partition("=")
            if head in ("ob", "fl", "fi", "fe", "fn", "cob", "cfl", "cfi", "cfn") and _:
                value = resolve(head, rest)
                if head == "fn":
                    current_fn = value
                elif head == "ob":
                    current_ob = value
                elif head == "cfn":
                    call_target = value
                elif head == "cob":
                    call_ob = value
                continue
            if head == "calls" and _:
                pending_call = True
                continue
            if line[0] in "0123456789+-*":
                fields = line.split()
                cost = int(fields[1]) if len(fields) > 1 else 0
                in_library = current_fn is not None and LIBRARY.search(current_fn) is not None
                if pending_call:
                    target_ob = call_ob if call_ob is not None else current_ob
                    if in_library and not LIBRARY.search(call_target or "") and RUNTIME_OBJECTS.search(target_ob or ""):
                        runtime += cost
                    pending_call = False
                    call_ob = None
                elif in_library:
                    own += cost
    if events and events[0] != "Ir":
        print(f"warning: first event is {events[0]}, not Ir", file=sys.stderr)
    share = lambda n: 100.0 * n / total if total else 0.0
    print(f"total instructions: {total:,}")
    print(f"library own:        {own:,} ({share(own):.2f} %)")
    print(f"library runtime:    {runtime:,} ({share(runtime):.2f} %)")
    print(f"library both:       {own + runtime:,} ({share(own + runtime):.2f} %)")


if __name__ == "__main__":
    main(sys.argv[1])
