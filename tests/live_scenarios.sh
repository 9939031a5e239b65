#!/bin/sh
# Every shipped scenario on the threads backend (issue 18): each variant
# listed below runs live (`run --backend threads --variant V --time-scale S`)
# and must hold its expectations, as it does on the virtual backend (the same
# command without --backend): the two verdicts agree. A variant that cannot
# hold live is listed with the reason, measured (docs/teaching.md, "What a
# live run cannot show"); a scenario missing from the list fails the test.
#
# A live run's timing is the host's: on a busy host a run is late, and a
# variant that failed is run once more at half the speed before it counts.
#
#   tests/live_scenarios.sh STORESIM
set -u
B=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
fail=0

# FILE VARIANT SCALE, or FILE VARIANT skip REASON
LIST="
q279798.yaml without_fix 1m=100ms
q279798.yaml race_without_fix 1m=10ms
q279798.yaml race_with_fix 1m=10ms
q279798.yaml with_fix skip its IMS queues stay below 10 (load 0.008) only if no thread is held up for more than a few virtual seconds: on a host with a load average of 10 to 19 they reached 16 to 28 at every scale tried, 1m=10ms to 1m=200ms (a stall of 60 ms of wall time at 1m=200ms); 7 once at 1m=100ms
kb898782.yaml without_fix 1m=50ms
kb898782.yaml with_fix 1m=50ms
kb941060.yaml without_fix 1h=100ms
kb941060.yaml with_fix skip local delivery's queue stays below 50 only when a delivery's host overhead (tens of microseconds a hand-off) is far below its virtual service time: measured 195 at 1h=100ms
kb922768.yaml * skip eight spinning store threads busy-loop on the host's cores (2 in CI): every other thread waits for a host core, so latencies and flush counts are the host's (measured mapi.latency.p95 1.3 s against < 200 ms at 1m=200ms)
kb924567.yaml * skip bounds of a few seconds on task exhaustion over 6 h need more wall time than a CI run has (measured with_fix local_delivery.queue.max 160 against < 50 at 1m=50ms)
baseline.yaml * skip 1 s bounds on 99th-percentile latencies over 6 h: the host's scheduling noise (milliseconds) is seconds of virtual time at any scale a CI run affords (measured owa.latency.p99 27 s at 1m=20ms)
perfmon-replay.yaml * skip replays 60,000 MAPI requests in 2 h: one hand-off each, more than the host's threads carry at a CI scale (measured 22,725 requests at 1m=50ms)
bad-day.yaml * skip the four mechanisms at once: inherits kb922768's busy loops and baseline's latency bounds
validation/burst.yaml * skip its expectations are exact to the nanosecond (constant service times, 1000 customers at one instant): a live run's jitter cannot match them
validation/md1.yaml * skip statistical (about 10^6 scheduling steps, 1.3 % tolerances): a live run long enough would take minutes
validation/mm1.yaml * skip statistical (about 10^6 scheduling steps, 2 % tolerances): a live run long enough would take minutes
validation/mmc.yaml * skip statistical (about 1.8 * 10^6 scheduling steps, 2 % tolerances): a live run long enough would take minutes
big-server.yaml * skip 600 requests a second, a thread spawn and hand-offs each: the host carries about a tenth of that live (measured mapi.completed 6,625 of the 54,000 its bound asks at 1m=1s)
"

listed() { echo "$LIST" | awk -v f="$1" '$1 == f { n++ } END { exit n == 0 }'; }

# every shipped scenario is in the list
for f in "$SRC"/scenarios/*.yaml "$SRC"/scenarios/validation/*.yaml; do
  rel=${f#"$SRC"/scenarios/}
  listed "$rel" || { echo "FAIL: $rel is not in tests/live_scenarios.sh's list"; fail=1; }
done

# double SCALE: V=W -> V=2W (the wall part in ms or s)
slower() {
  v=${1%%=*}
  w=${1#*=}
  case $w in
  *ms) echo "$v=$((${w%ms} * 2))ms" ;;
  *s) echo "$v=$((${w%s} * 2))s" ;;
  *) echo "$1" ;;
  esac
}

echo "$LIST" | while read -r file variant scale reason; do
  [ -n "$file" ] || continue
  if [ "$scale" = skip ]; then
    echo "skip  $file $variant: $reason"
    continue
  fi
  f="$SRC/scenarios/$file"
  "$B" run "$f" --variant "$variant" >/dev/null 2>&1
  vrc=$?
  start=$(date +%s)
  "$B" run "$f" --variant "$variant" --backend threads --time-scale "$scale" >"${TMPDIR:-/tmp}/live_scn.$$" 2>&1
  lrc=$?
  if [ $lrc != $vrc ]; then
    s2=$(slower "$scale")
    echo "retry $file $variant at $s2 (exit $lrc at $scale):"
    grep -A1 FAILED "${TMPDIR:-/tmp}/live_scn.$$"
    "$B" run "$f" --variant "$variant" --backend threads --time-scale "$s2" >"${TMPDIR:-/tmp}/live_scn.$$" 2>&1
    lrc=$?
    scale=$s2
  fi
  secs=$(($(date +%s) - start))
  if [ $lrc = $vrc ] && [ $lrc = 0 ] && grep -q "live run: not reproducible, no trace hash" "${TMPDIR:-/tmp}/live_scn.$$"; then
    echo "ok    $file $variant at $scale (${secs}s): expectations hold, as on the virtual backend"
  else
    echo "FAIL  $file $variant at $scale: exit $lrc live, $vrc virtual"
    cat "${TMPDIR:-/tmp}/live_scn.$$"
    echo 1 >"${TMPDIR:-/tmp}/live_scn.fail.$$"
  fi
done
rm -f "${TMPDIR:-/tmp}/live_scn.$$"
if [ -f "${TMPDIR:-/tmp}/live_scn.fail.$$" ]; then
  rm -f "${TMPDIR:-/tmp}/live_scn.fail.$$"
  fail=1
fi
exit $fail
