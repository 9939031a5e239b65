#!/usr/bin/env bash
# The big server's cost (issue 19, points 2 and 4), scenarios/big-server.yaml:
#
#  1. one simulated hour (--duration 1h, variant without_fix, one run at a
#     time): wall and CPU seconds, requests simulated (SMTP messages arrived
#     + MAPI RPCs + OWA requests issued, from --json) and requests per wall
#     and per CPU second, peak RSS;
#  2. the same hour at 1x, 2x and 4x the request rates: the cost per request
#     should not grow with the count (cpu_per_request_us about constant,
#     cpu_ratio about equal to requests_ratio);
#  3. sweep throughput, runs per second of `storesim sweep` (short runs of the
#     scenario, seeds 1..N) on 1 and 2 workers (--jobs), and, when the binary
#     was built with MPI and mpirun exists, on 1, 2 and 4 ranks of one worker
#     each (mpirun --oversubscribe), with the parallel efficiency
#     (runs/s over n x runs/s of one).
#
# Every figure is the median of R runs (default 3); the load average before
# and after each part is printed, because the machine is shared and the wall
# figures move with it (CPU seconds move less). Release build assumed:
#   cmake --preset release && cmake --build --preset release
# Usage: bench/big_server.sh [RUNS]
#   STORESIM=path/to/storesim   the binary (default build/release/storesim)
#   STORESIM_MPI_BIN=path       an MPI build for part 3 (default: STORESIM)
#   HOUR=1h SWEEP_SEEDS=40 SWEEP_DURATION=20s PARTS="1 2 3"
# Prints key=value lines (see bench/README.md). Exit 2 on usage errors.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${STORESIM:-build/release/storesim}
mpibin=${STORESIM_MPI_BIN:-$bin}
runs=${1:-3}
hour=${HOUR:-1h}
seeds=${SWEEP_SEEDS:-40}
sdur=${SWEEP_DURATION:-20s}
parts=${PARTS:-1 2 3}
scn=scenarios/big-server.yaml
[ -x "$bin" ] || { echo "no $bin: build the release preset first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
case $runs in '' | *[!0-9]* | 0) echo "usage: bench/big_server.sh [RUNS]" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

med() { sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
load() { cut -d' ' -f1 /proc/loadavg; }

# requests FILE.json: SMTP messages arrived + MAPI RPCs + OWA requests issued
requests() {
  python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["variants"][0]["metrics"]
print(int(sum(m[k]["final"] for k in ("smtp.arrived", "mapi.requests", "owa.requests"))))' "$1"
}

# hour SCALE: R runs of one simulated hour at SCALE x the scenario's rates;
# prints the medians and leaves them in $tmp/last
hour() {
  local k=$1 out=$tmp/hour.$1
  : > "$out"
  local sets=(--set "workload.smtp.rate=$((50 * k))/s" --set "workload.mapi.rate=$((500 * k))/s"
              --set "workload.owa.rate=$((50 * k))/s")
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$bin" run "$scn" --variant without_fix --jobs 1 \
      --duration "$hour" "${sets[@]}" --json > "$tmp/run.json" || true
    # the last line: /usr/bin/time writes "Command exited with non-zero
    # status" first when an expectation fails (at 4x some bounds do)
    echo "$(tail -n 1 "$tmp/t") $(requests "$tmp/run.json")" >> "$out"
  done
  local wall cpu rss n
  wall=$(awk '{print $1}' "$out" | med)
  cpu=$(awk '{print $2 + $3}' "$out" | med)
  rss=$(awk '{print $4}' "$out" | med)
  n=$(awk '{print $5}' "$out" | med)
  echo "$wall $cpu $n" > "$tmp/last.$k"
  awk -v k="$k" -v w="$wall" -v c="$cpu" -v n="$n" -v r="$rss" -v h="$hour" -v R="$runs" 'BEGIN {
    printf "part=hour scale=%sx duration=%s runs=%s requests=%d wall_median_s=%s cpu_median_s=%s requests_per_wall_s=%.0f requests_per_cpu_s=%.0f cpu_per_request_us=%.3f peak_rss_mib=%.1f\n",
      k, h, R, n, w, c, n / w, n / c, 1e6 * c / n, r / 1024 }'
}

if [[ " $parts " == *" 1 "* || " $parts " == *" 2 "* ]]; then
  echo "load_before=$(load)"
  hour 1
  if [[ " $parts " == *" 2 "* ]]; then
    hour 2
    hour 4
    read -r w1 c1 n1 < "$tmp/last.1"
    for k in 2 4; do
      read -r w c n < "$tmp/last.$k"
      awk -v k="$k" -v w="$w" -v c="$c" -v n="$n" -v w1="$w1" -v c1="$c1" -v n1="$n1" 'BEGIN {
        printf "part=linear scale=%sx requests_ratio=%.2f wall_ratio=%.2f cpu_ratio=%.2f\n",
          k, n / n1, w / w1, c / c1 }'
    done
  fi
  echo "load_after=$(load)"
fi

# sweep LABEL N CMD...: R timed sweeps; prints runs/s (seeds / median wall)
sweep() {
  local label=$1 n=$2; shift 2
  local out=$tmp/sweep
  : > "$out"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e" -o "$tmp/t" "$@" > /dev/null 2>&1 || true
    tail -n 1 "$tmp/t" >> "$out"
  done
  local wall
  wall=$(med < "$out")
  echo "$wall" > "$tmp/sweep.$label.$n"
  awk -v l="$label" -v n="$n" -v w="$wall" -v s="$seeds" 'BEGIN {
    printf "part=sweep by=%s n=%s seeds=%s wall_median_s=%s runs_per_s=%.2f\n", l, n, s, w, s / w }'
}
eff() {
  local label=$1 n=$2
  local w1 wn
  w1=$(cat "$tmp/sweep.$label.1")
  wn=$(cat "$tmp/sweep.$label.$n")
  awk -v l="$label" -v n="$n" -v w1="$w1" -v wn="$wn" 'BEGIN {
    printf "part=efficiency by=%s n=%s speedup=%.2f efficiency=%.2f\n", l, n, w1 / wn, w1 / wn / n }'
}

if [[ " $parts " == *" 3 "* ]]; then
  echo "load_before=$(load) cores=$(nproc)"
  common=(sweep "$scn" --sched fifo --seeds "1-$seeds" --variant without_fix --set "duration=$sdur")
  for j in 1 2; do sweep jobs "$j" "$bin" "${common[@]}" --jobs "$j"; done
  eff jobs 2
  # Open MPI refuses to start as root unless told (containers, CI)
  [ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  if command -v mpirun > /dev/null && ldd "$mpibin" 2>/dev/null | grep -q libmpi; then
    for r in 1 2 4; do
      sweep ranks "$r" mpirun --oversubscribe -n "$r" "$mpibin" "${common[@]}" --jobs 1
    done
    eff ranks 2
    eff ranks 4
  else
    echo "part=sweep by=ranks skipped=\"no mpirun or $mpibin not built with MPI (-DSTORESIM_MPI=ON)\""
  fi
  echo "load_after=$(load)"
fi
