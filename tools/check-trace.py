#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check a FERRY_TRACE file: strict JSON in Chrome trace-event form, events
well formed, the expected categories present. Optionally runs the program
that writes it first.

    check-trace.py TRACE.json CAT[,CAT...] [-- PROGRAM ARGS...]

Categories that only the user-space driver records (migration, fault,
eviction) are not required when FERRY_BACKEND=kernel: there ferry.ko moves
the pages and the trace shows the requests. Prints a count per category.
"""
import collections
import json
import os
import subprocess
import tempfile
import sys

KNOWN = {"kernel", "copy", "prefetch", "migration", "fault", "eviction", "command", "thrashing"}
UDRIVER_ONLY = {"migration", "fault", "eviction", "thrashing"}
ARGS = {
    "kernel": {"work_items", "work_dim"},
    "copy": {"addr", "bytes"},
    "prefetch": {"addr", "bytes", "target", "flags"},
    "migration": {"addr", "pages", "bytes", "cause"},
    "fault": {"faults", "host_faults", "device_faults", "blocks"},
    "eviction": {"addr", "pages", "bytes"},
    "command": {"command_type", "status"},
    "thrashing": {"addr", "pages", "action"},
}


def fail(msg):
    print(f"check-trace: FAILED: {msg}")
    sys.exit(1)


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    path, want = argv[1], set(argv[2].split(","))
    if "--" in argv:
        cmd = argv[argv.index("--") + 1:]
        if not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
            # a read-only build tree (the kdriver guest shares it read-only)
            path = os.path.join(tempfile.gettempdir(), os.path.basename(path))
        env = dict(os.environ, FERRY_TRACE=path)
        if os.path.exists(path):
            os.unlink(path)
        r = subprocess.run(cmd, env=env)
        if r.returncode != 0:
            fail(f"{' '.join(cmd)} exited with {r.returncode}")
    if not want <= KNOWN:
        fail(f"unknown categories {sorted(want - KNOWN)}")
    if os.environ.get("FERRY_BACKEND") == "kernel":
        want -= UDRIVER_ONLY
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        fail("no traceEvents list")
    other = doc.get("otherData", {})
    cats = collections.Counter()
    procs, threads = {}, 0
    for e in doc["traceEvents"]:
        ph = e.get("ph")
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            fail(f"event without integer pid/tid: {e}")
        if ph == "M":
            if e.get("name") == "process_name":
                procs[e["pid"]] = e["args"]["name"]
            elif e.get("name") == "thread_name":
                threads += 1
            else:
                fail(f"unknown metadata event {e}")
            continue
        if ph != "X":
            fail(f"unexpected phase {ph!r}: {e}")
        cat = e.get("cat")
        if cat not in KNOWN:
            fail(f"unknown category {cat!r}: {e}")
        for k in ("ts", "dur"):
            if not isinstance(e.get(k), (int, float)) or e[k] < 0:
                fail(f"bad {k}: {e}")
        if not isinstance(e.get("name"), str) or not e["name"]:
            fail(f"event without a name: {e}")
        missing = ARGS[cat] - set(e.get("args", {}))
        if missing:
            fail(f"{cat} event without {sorted(missing)}: {e}")
        if cat == "migration" and e["args"]["bytes"] != 4096 * e["args"]["pages"]:
            fail(f"migration bytes != 4096 * pages: {e}")
        cats[cat] += 1
    lacking = sorted(c for c in want if not cats[c])
    print(f"check-trace: {path}: {sum(cats.values())} events "
          f"({', '.join(f'{c} {n}' for c, n in sorted(cats.items()))}), "
          f"{len(procs)} processes ({', '.join(sorted(procs.values()))}), "
          f"{threads} named threads, dropped {other.get('dropped')}")
    if lacking:
        fail(f"no {', '.join(lacking)} event")
    if not any("libferry" in n for n in procs.values()):
        fail("the application process is not named")
    if not any(n.startswith("ferry-device") for n in procs.values()):
        fail("no ferry-device process in the trace")
    if other.get("dropped"):
        fail(f"{other['dropped']} events dropped")
    print("check-trace: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
