#!/usr/bin/env bash
# Time of each store scenario (all its variants in one `storesim check`) and of
# `storesim check scenarios/`: median of R runs of wall time and of CPU time
# (user + sys; the CPU figure does not move when other jobs share the machine,
# the wall figure does). Release build assumed:
#   cmake --preset release && cmake --build --preset release
# Usage: bench/store_scenarios.sh [RUNS]          (default 5)
#        STORESIM=path/to/storesim bench/store_scenarios.sh
# Prints per scenario: "scenario=NAME runs=R wall_median_s=... cpu_median_s=...".
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${STORESIM:-build/release/storesim}
runs=${1:-5}
[ -x "$bin" ] || { echo "no $bin: build the release preset first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
med() { sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
bench() {
  local name=$1; shift
  local out; out=$(mktemp)
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S" -a -o "$out" "$bin" check "$@" > /dev/null
  done
  printf 'scenario=%s runs=%s wall_median_s=%s cpu_median_s=%s\n' "$name" "$runs" \
    "$(awk '{print $1}' "$out" | med)" "$(awk '{print $2 + $3}' "$out" | med)"
  rm -f "$out"
}
for f in scenarios/baseline.yaml scenarios/kb924567.yaml scenarios/kb941060.yaml; do
  [ -f "$f" ] && bench "$(basename "$f" .yaml)" "$f"
done
bench "ALL(scenarios/)" scenarios/
