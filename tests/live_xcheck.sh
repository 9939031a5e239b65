#!/bin/sh
# Cross-checks of the threads backend by tools that know nothing of storesim
# (issue 18): the same model on real pthreads, judged by ThreadSanitizer and
# Valgrind.
#
#   tests/live_xcheck.sh tsan STORESIM_TSAN   Q279798's race variants under a
#       ThreadSanitizer build: `lock-order-inversion` without the fix,
#       nothing at all with it.
#   tests/live_xcheck.sh helgrind STORESIM    the same under
#       `valgrind --tool=helgrind`: "lock order ... violated" without the
#       fix, 0 errors with it.
#   tests/live_xcheck.sh leak STORESIM        KB898782 (20 minutes, before
#       any restart) under `valgrind --leak-check=full`: blocks allocated by
#       the MAPI program's OpenMsgStore definitely lost without the fix (one
#       call's every few seconds), none with it but the call in flight at the
#       end.
#
# Exit 77 (ctest SKIP_RETURN_CODE) only when the tool itself is missing: no
# ThreadSanitizer build at STORESIM_TSAN, no valgrind (tools/setup.sh
# installs it).
set -u
mode=$1
B=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
Q="$SRC/scenarios/q279798.yaml"
KB="$SRC/scenarios/kb898782.yaml"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# run NAME CMD...: its output (stdout and stderr) in $W/NAME.out
run() {
  name=$1
  shift
  "$@" >"$W/$name.out" 2>&1
  echo $? >"$W/$name.rc"
}

# skips the test (77) when valgrind is missing
need_valgrind() {
  if ! command -v valgrind >/dev/null; then
    echo "SKIP: valgrind is not installed (tools/setup.sh installs it)"
    exit 77
  fi
}

case $mode in
tsan)
  if [ ! -x "$B" ]; then
    echo "SKIP: no ThreadSanitizer build at $B (cmake --preset tsan && cmake --build --preset tsan --target storesim)"
    exit 77
  fi
  for v in race_without_fix race_with_fix; do
    TSAN_OPTIONS="detect_deadlocks=1 second_deadlock_stack=1 exitcode=66 suppressions=$SRC/tests/tsan.supp" \
      run "$v" "$B" run "$Q" --backend threads --variant "$v" --duration 1m
  done
  grep -q "WARNING: ThreadSanitizer: lock-order-inversion" "$W/race_without_fix.out" ||
    bad "race_without_fix: no lock-order-inversion from ThreadSanitizer"
  if grep -q "WARNING: ThreadSanitizer" "$W/race_with_fix.out" || [ "$(cat "$W/race_with_fix.rc")" != 0 ]; then
    bad "race_with_fix: ThreadSanitizer reported (or the run failed):"
    cat "$W/race_with_fix.out"
  fi
  ;;
helgrind)
  need_valgrind
  # A slower clock: Helgrind runs the threads one at a time, tens of times
  # slower than natively.
  for v in race_without_fix race_with_fix; do
    run "$v" valgrind --tool=helgrind --error-exitcode=9 "$B" run "$Q" --backend threads \
      --variant "$v" --duration 1m --time-scale 1m=3s
  done
  grep -q "lock order \".*\" violated" "$W/race_without_fix.out" ||
    bad "race_without_fix: Helgrind saw no lock order violation"
  # and nothing else: every error it reports is a lock order one
  if grep -Eq "dubious|Possible data race|unlocked a not-locked|still holds" "$W/race_without_fix.out"; then
    bad "race_without_fix: Helgrind reported more than the lock order violation:"
    cat "$W/race_without_fix.out"
  fi
  if ! grep -q "ERROR SUMMARY: 0 errors" "$W/race_with_fix.out"; then
    bad "race_with_fix: Helgrind reported errors:"
    cat "$W/race_with_fix.out"
  fi
  ;;
leak)
  need_valgrind
  for v in without_fix with_fix; do
    run "$v" valgrind --leak-check=full --show-leak-kinds=definite "$B" run "$KB" \
      --backend threads --variant "$v" --duration 20m --time-scale 1m=100ms
  done
  # blocks definitely lost whose stack is the program's OpenMsgStore. With
  # the fix only the call in flight when the run ends can be there (its
  # thread leaves mid-call, and the arena's reset frees its blocks behind
  # Memcheck's back): one call, its object and its pieces; without it one
  # call's pieces every few seconds of virtual time (about 190 in 20 min).
  lost() { awk '/definitely lost in loss record/ { rec = 1; n = $5; gsub(",", "", n); next }
                rec && /open_msg_store/ { total += n; rec = 0 }
                /^==[0-9]+== *$/ { rec = 0 }
                END { print total + 0 }' "$W/$1.out"; }
  nw=$(lost without_fix)
  nf=$(lost with_fix)
  echo "OpenMsgStore blocks definitely lost: $nw without the fix, $nf with it"
  [ "$nw" -ge 20 ] || bad "without_fix: valgrind found $nw OpenMsgStore blocks definitely lost (< 20)"
  if [ "$nf" -gt 2 ]; then
    bad "with_fix: valgrind found $nf OpenMsgStore blocks definitely lost (more than one call in flight):"
    cat "$W/with_fix.out"
  fi
  ;;
*)
  echo "usage: $0 tsan|helgrind|leak STORESIM" >&2
  exit 2
  ;;
esac
if [ $fail = 0 ]; then
  echo "ok: $mode"
else
  for f in "$W"/*.out; do echo "== $f"; tail -40 "$f"; done
fi
exit $fail
