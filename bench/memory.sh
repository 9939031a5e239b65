#!/usr/bin/env bash
# Resident memory of one run against its simulated length (issue 19.4): it
# should stay flat, memory being bounded by the model, not by the run's
# length. Runs the big server (scenarios/big-server.yaml when it exists, else
# the baseline store at 50 messages/s, 500 MAPI RPCs/s and 50 OWA requests/s
# with 512 tasks) once per duration and prints the maximum resident set size
# (/usr/bin/time %M) with the wall time. Release build assumed:
#   cmake --preset release && cmake --build --preset release
# Usage: bench/memory.sh [DURATION...]   (default 1h 2h 4h 8h 24h)
#        STORESIM=path/to/storesim bench/memory.sh 1h 7d
# Prints one line a duration: "duration=1h sim_days=0.042 max_rss_mib=75.1
# wall_s=9.8 requests=... trace_hash=...". Exit 0, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${STORESIM:-build/release/storesim}
[ -x "$bin" ] || { echo "no $bin: build the release preset first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
[ $# -gt 0 ] || set -- 1h 2h 4h 8h 24h
if [ -f scenarios/big-server.yaml ]; then
  scn=(scenarios/big-server.yaml)
else
  scn=(scenarios/baseline.yaml --variant without_fix --set workload.smtp.rate=50/s
       --set workload.mapi.rate=500/s --set workload.owa.rate=50/s --set store.tasks=512)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in "$@"; do
  # exit 1 (an expectation failed) still measures a whole run
  /usr/bin/time -f "%M %e" -o "$tmp/time" "$bin" run "${scn[@]}" --jobs 1 --duration "$d" --json \
    > "$tmp/out.json" || [ $? -eq 1 ]
  # the last line: /usr/bin/time writes "Command exited with non-zero status 1" first
  read -r kb wall < <(tail -n 1 "$tmp/time")
  python3 - "$d" "$kb" "$wall" "$tmp/out.json" <<'PY'
import json, sys
d, kb, wall, path = sys.argv[1:]
r = json.load(open(path))
v = [x for x in r["variants"] if x.get("ran")][0]
m = v["metrics"]
req = sum(int(m[k]["final"]) for k in ("mapi.completed", "owa.completed", "local_delivery.delivered") if k in m)
print("duration=%s sim_days=%.3f max_rss_mib=%.1f wall_s=%s requests=%d trace_hash=%s"
      % (d, v["end_time_s"] / 86400, int(kb) / 1024, wall, req, v["trace_hash"]))
PY
done
