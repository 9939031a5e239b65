#!/bin/sh
# Wall time of the shipped scenarios on the threads backend (issue 18), one
# run each, with the verdict: a live run's time is its duration at the scale
# plus what the host adds (thread creation, late timers, a busy host).
#
#   bench/live_time.sh [STORESIM]
#       every variant of every shipped scenario at the scale (and with the
#       arguments) tests/live_scenarios.list gives it: what the test suite runs
#   bench/live_time.sh STORESIM SCALE [SCENARIO...]
#       whole scenarios (every variant, `check`) at one scale, default all
B=${1:-build/release/storesim}
SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -le 1 ]; then
  grep -v '^#' "$SRC/tests/live_scenarios.list" | while read -r file variant scale extra; do
    [ -n "$file" ] || continue
    s0=$(date +%s%N)
    # shellcheck disable=SC2086 # extra: more arguments, split on purpose
    out=$("$B" run "$SRC/scenarios/$file" --variant "$variant" $extra --backend threads \
      --time-scale "$scale" 2>&1 | grep -E '^(PASS|FAIL|ERROR|STOP) ' | sed 's/  */ /g')
    s1=$(date +%s%N)
    echo "$file $variant scale=$scale $extra wall_s=$(echo "$s0 $s1" | awk '{printf "%.1f", ($2 - $1) / 1e9}') $out"
  done
  exit 0
fi
S=$2
shift 2
[ $# -gt 0 ] || set -- "$SRC"/scenarios/*.yaml "$SRC"/scenarios/validation/*.yaml
for f in "$@"; do
  out=$( { /usr/bin/time -f "wall_s=%e cpu_s=%U+%S" "$B" check "$f" --backend threads --time-scale "$S" | head -1; } 2>&1)
  echo "$f scale=$S $(echo "$out" | grep -o 'wall_s=.*') $(echo "$out" | grep -oE '^(PASS|FAIL|ERROR)')"
done
