#!/usr/bin/env python3
"""Checks a Chrome/Perfetto trace event file written by storesim.

Rules checked: the file is well-formed JSON with a traceEvents list; every
event has ph, pid, tid and (but for metadata) a numeric ts >= 0; timestamps
are monotonic per track (pid, tid) in file order; complete events have
dur >= 0 and never overlap on one thread track; every async begin "b" has a
matching end "e" (same cat, id and pid) after it, and vice versa; counter
events carry numeric args.

Usage: check-trace.py FILE [--expect-threads N] [--expect-counters N]
Exit 0 when valid, 1 with one line per problem otherwise, 2 on usage errors.
"""
import json
import sys


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    path = argv[1]
    want_threads = want_counters = 0
    args = argv[2:]
    while args:
        opt = args.pop(0)
        if opt in ("--expect-threads", "--expect-counters") and args:
            val = int(args.pop(0))
            if opt == "--expect-threads":
                want_threads = val
            else:
                want_counters = val
        else:
            print(f"check-trace: unknown option {opt}", file=sys.stderr)
            return 2
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: not valid JSON: {e}")
        return 1
    evs = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not isinstance(evs, list):
        print(f"{path}: no traceEvents list")
        return 1
    problems = []
    last_ts = {}
    last_x_end = {}
    open_async = {}
    threads = set()
    counters = set()
    for i, e in enumerate(evs):
        ph = e.get("ph")
        if ph is None or "pid" not in e or "tid" not in e:
            problems.append(f"event {i}: missing ph/pid/tid")
            continue
        track = (e["pid"], e["tid"])
        if ph == "M":
            if e.get("name") == "thread_name":
                threads.add(track)
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            problems.append(f"event {i}: bad ts {ts!r}")
            continue
        if ts < last_ts.get(track, 0):
            problems.append(f"event {i}: ts {ts} goes back on track {track}")
        last_ts[track] = ts
        if ph == "X":
            dur = e.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                problems.append(f"event {i}: bad dur {dur!r}")
                continue
            # ts and dur carry ns (0.001 us); their float sum is only exact to
            # a few 1e-9 us at hours of virtual time, so allow half a ns
            if ts < last_x_end.get(track, 0) - 5e-4:
                problems.append(f"event {i}: span overlaps the previous one on {track}")
            last_x_end[track] = ts + dur
        elif ph in ("b", "e"):
            key = (e["pid"], e.get("cat"), e.get("id"))
            if ph == "b":
                if key in open_async:
                    problems.append(f"event {i}: async {key} begins twice")
                open_async[key] = i
            else:
                if key not in open_async:
                    problems.append(f"event {i}: async end {key} without begin")
                open_async.pop(key, None)
        elif ph == "C":
            a = e.get("args", {})
            if not a or not all(isinstance(v, (int, float)) for v in a.values()):
                problems.append(f"event {i}: counter without numeric args")
            counters.add((e["pid"], e.get("name")))
        elif ph not in ("i", "I"):
            problems.append(f"event {i}: unexpected phase {ph!r}")
    for key, i in open_async.items():
        problems.append(f"event {i}: async {key} never ends")
    if want_threads and len(threads) < want_threads:
        problems.append(f"only {len(threads)} thread tracks, expected >= {want_threads}")
    if want_counters and len(counters) < want_counters:
        problems.append(f"only {len(counters)} counter tracks, expected >= {want_counters}")
    for p in problems[:50]:
        print(f"{path}: {p}")
    if not problems:
        print(f"{path}: ok: {len(evs)} events, {len(threads)} thread tracks, "
              f"{len(counters)} counter tracks")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
