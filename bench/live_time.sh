#!/bin/sh
# Wall time of every shipped scenario on the threads backend (issue 18), one
# run each at the given scale (default the backend's, 1m=10ms), with the
# scenario's verdict: a live run's time is its duration at the scale plus
# what the host adds (thread creation, late timers, a busy host).
#
#   bench/live_time.sh [STORESIM [SCALE [SCENARIO...]]]
B=${1:-build/release/storesim}
S=${2:-1m=10ms}
shift 2 2>/dev/null
[ $# -gt 0 ] || set -- scenarios/*.yaml scenarios/validation/*.yaml
for f in "$@"; do
  out=$( { /usr/bin/time -f "wall_s=%e cpu_s=%U+%S" "$B" check "$f" --backend threads --time-scale "$S" | head -1; } 2>&1)
  echo "$f scale=$S $(echo "$out" | grep -o 'wall_s=.*') $(echo "$out" | grep -oE '^(PASS|FAIL|ERROR)')"
done
