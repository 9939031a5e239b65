#!/usr/bin/env bash
# How long each run limit takes to stop a run that would not end by itself,
# and how much host memory the run had taken when it did (issue 13). One line
# per case: "case=NAME rc=EXIT wall_s=SECONDS peak_rss_mib=MIB" and the first
# line of what storesim said. Release build assumed:
#   cmake --preset release && cmake --build --preset release
# Usage: bench/limits.sh [--quick]     (--quick skips the two slow cases
#        STORESIM=path/to/storesim      that take about 30 and 60 s)
# Needs /usr/bin/time (apt-get install time). Peaks of about 4 GiB: run it on a
# machine with 8 GiB or more.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${STORESIM:-build/release/storesim}")
quick=0
case "${1:-}" in
--quick) quick=1 ;;
"") ;;
-h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "usage: bench/limits.sh [--quick]" >&2; exit 2 ;;
esac
[ -x "$bin" ] || { echo "no $bin: build the release preset first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
burst=$(realpath scenarios/validation/burst.yaml)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
# A queue whose customers arrive every nanosecond and take no time: events
# without end, at a virtual clock that barely moves.
cat > events.yaml <<'EOF'
id: events
title: events without end
model: queue
duration: 3650d
arrivals: { interarrival: exp(1ns) }
service: { time: const(0s) }
variants: { without_fix: {}, with_fix: {} }
EOF

# case NAME storesim-arguments...
run_case() {
  local name=$1; shift
  local rc=0
  /usr/bin/time -f "%e %M" -o time.txt "$bin" "$@" > /dev/null 2> err.txt || rc=$?
  read -r wall kib < <(tail -1 time.txt)
  printf 'case=%s rc=%s wall_s=%s peak_rss_mib=%d\n  %s\n' "$name" "$rc" "$wall" \
    $((kib / 1024)) "$(grep -m1 -v '^Command exited' err.txt | cut -c1-200)"
}

# case NAME SECONDS storesim-arguments...: Ctrl-C after SECONDS; wall_s is
# from the signal to the exit.
int_case() {
  local name=$1 after=$2; shift 2
  "$bin" "$@" > /dev/null 2> err.txt &
  local pid=$! rc=0
  sleep "$after"
  local t0; t0=$(date +%s.%N)
  kill -INT "$pid"
  wait "$pid" || rc=$?
  local t1; t1=$(date +%s.%N)
  printf 'case=%s rc=%s wall_s=%.3f (signal to exit)\n' "$name" "$rc" \
    "$(echo "$t1 - $t0" | bc)"
}

q="--variant without_fix"
run_case host_memory_1GiB_events run events.yaml $q --set limits.host_memory=1GiB
run_case wall_time_2s run events.yaml $q --set limits.wall_time=2s
run_case max_events_1e8 run events.yaml $q --set limits.max_events=100000000
run_case burst_1e7_default_threads run "$burst" $q --set burst.count=10000000
run_case burst_2e5_host_memory_64MiB run "$burst" $q --set burst.count=200000 \
  --set limits.max_threads=10000000 --set limits.host_memory=64MiB
int_case ctrl_c_5s_into_burst_1e7 5 run "$burst" $q --set burst.count=10000000 \
  --set limits.max_threads=10000000
if [ "$quick" = 0 ]; then
  run_case burst_1e7_max_threads_1e7 run "$burst" $q --set burst.count=10000000 \
    --set limits.max_threads=10000000
  run_case max_events_default run events.yaml $q
fi
