#!/usr/bin/env bash
# Time of `storesim report` against `storesim run` on the same scenario (issue
# 16.4: the report within 2x of the run). Each round runs `run` then `report`
# once, one after the other, so that a burst of load hits both; prints the
# medians of wall time and of CPU time (user + sys of the process and of the
# gnuplot and dot it waits for) over the rounds and their ratios. Release
# build assumed:
#   cmake --preset release && cmake --build --preset release
# Usage: bench/report_time.sh [RUNS [SCENARIO [STORESIM OPTION...]]]
#        (default 5 rounds of scenarios/kb941060.yaml, 120 h of virtual time)
#        STORESIM=path/to/storesim MAX_RATIO=2 bench/report_time.sh
# e.g.   bench/report_time.sh 5 scenarios/kb924567.yaml --duration 24h
# Prints "scenario=NAME runs=R run_wall_median_s=... report_wall_median_s=...
# wall_ratio=... run_cpu_median_s=... report_cpu_median_s=... cpu_ratio=...".
# Exit 0, or 1 when the wall ratio is above MAX_RATIO (default 2), 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${STORESIM:-build/release/storesim}
runs=${1:-5}
scn=${2:-scenarios/kb941060.yaml}
shift $(($# > 2 ? 2 : $#))
max=${MAX_RATIO:-2}
[ -x "$bin" ] || { echo "no $bin: build the release preset first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
[ -f "$scn" ] || { echo "no scenario $scn" >&2; exit 2; }
med() { sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for _ in $(seq "$runs"); do
  # exit 1 (an expectation failed) still times a whole run; 2 and 3 do not
  /usr/bin/time -f "%e %U %S" -a -o "$tmp/run" "$bin" run "$@" "$scn" > /dev/null || [ $? -eq 1 ]
  /usr/bin/time -f "%e %U %S" -a -o "$tmp/report" "$bin" report "$@" "$scn" -o "$tmp/r.html" \
    > /dev/null 2>&1 || [ $? -eq 1 ]
done
rw=$(awk '{print $1}' "$tmp/run" | med)
pw=$(awk '{print $1}' "$tmp/report" | med)
rc=$(awk '{print $2 + $3}' "$tmp/run" | med)
pc=$(awk '{print $2 + $3}' "$tmp/report" | med)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
printf 'scenario=%s runs=%s run_wall_median_s=%s report_wall_median_s=%s wall_ratio=%s run_cpu_median_s=%s report_cpu_median_s=%s cpu_ratio=%s load=%s\n' \
  "$(basename "$scn" .yaml)${*:+ ($*)}" "$runs" "$rw" "$pw" "$(ratio "$pw" "$rw")" "$rc" "$pc" \
  "$(ratio "$pc" "$rc")" "$(cut -d' ' -f1 /proc/loadavg)"
awk -v a="$pw" -v b="$rw" -v m="$max" 'BEGIN {exit (b > 0 && a / b > m) ? 1 : 0}' || {
  echo "report takes more than ${max}x the run" >&2
  exit 1
}
