#!/bin/sh
# Every shipped scenario on the threads backend (issue 18): every variant of
# every scenario runs live (`run --backend threads --variant V --time-scale
# S`, at the scale tests/live_scenarios.list gives) and on the virtual backend (the same command
# without --backend), and the two verdicts must agree: the same exit status
# and the same verdict ("reproduced without fix", "absent with fix").
# Expectations that cannot hold live are marked `not_live` in the scenario,
# each with its reason, measured (docs/scenarios.md, "Expectations that
# cannot hold on real threads"): a live run shows them and does not judge
# them. The runs are listed in tests/live_scenarios.list; a scenario or
# variant missing from it fails the test.
#
# A live run's timing is the host's: on a busy host a run is late, and a
# variant that failed is run once more at half the speed before it counts.
#
#   tests/live_scenarios.sh STORESIM [FILE...]   (FILE: only these, as listed)
set -u
B=$1
shift
if [ ! -x "$B" ]; then
  echo "FAIL: $B is not built (tools/setup.sh release builds it)"
  exit 1
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
fail=0

# the list: FILE VARIANT SCALE [more arguments of the live run]
LIST=$(grep -v '^#' "$SRC/tests/live_scenarios.list")

listed() { echo "$LIST" | awk -v f="$1" -v v="$2" '$1 == f && $2 == v { n++ } END { exit n == 0 }'; }

# every shipped scenario is in the list, with every variant it declares
# (their names from the JSON of a run of no length)
for f in "$SRC"/scenarios/*.yaml "$SRC"/scenarios/validation/*.yaml; do
  rel=${f#"$SRC"/scenarios/}
  vs=$("$B" run "$f" --duration 1ms --json 2>/dev/null | grep -o '"name":"[^"]*","fixes"' |
    sed 's/"name":"\([^"]*\)".*/\1/')
  [ -n "$vs" ] || { echo "FAIL: $rel: no variants from \`storesim run --json\`"; fail=1; }
  for v in $vs; do
    listed "$rel" "$v" || { echo "FAIL: $rel $v is not in tests/live_scenarios.list"; fail=1; }
  done
done

# only the files named on the command line, if any
if [ $# -gt 0 ]; then
  LIST=$(echo "$LIST" | awk -v only=" $* " 'index(only, " " $1 " ") > 0')
fi

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

# The verdict of a run's output: the summary line without its counts
# ("PASS   q279798      without fix: reproduced; with fix: not checked").
verdict() { grep -E '^(PASS|FAIL|ERROR|STOP) ' "$1" | sed 's/ (.*expectations*)$//'; }

T=${TMPDIR:-/tmp}/live_scn.$$
mkdir -p "$T"
n=0
echo "$LIST" | while read -r file variant scale extra; do
  [ -n "$file" ] || continue
  f="$SRC/scenarios/$file"
  "$B" run "$f" --variant "$variant" >"$T/virtual" 2>&1
  vrc=$?
  start=$(date +%s)
  # shellcheck disable=SC2086 # extra: more arguments, split on purpose
  "$B" run "$f" --variant "$variant" $extra --backend threads --time-scale "$scale" >"$T/live" 2>&1
  lrc=$?
  if [ $lrc != $vrc ] || [ "$(verdict "$T/live")" != "$(verdict "$T/virtual")" ]; then
    s2=$(slower "$scale")
    echo "retry $file $variant at $s2 (exit $lrc at $scale):"
    grep -A1 FAILED "$T/live"
    # shellcheck disable=SC2086
    "$B" run "$f" --variant "$variant" $extra --backend threads --time-scale "$s2" >"$T/live" 2>&1
    lrc=$?
    scale=$s2
  fi
  secs=$(($(date +%s) - start))
  nl=$(grep -c "^    $variant: .*(measured" "$T/live")
  if [ $lrc = $vrc ] && [ $lrc = 0 ] && [ "$(verdict "$T/live")" = "$(verdict "$T/virtual")" ] &&
    grep -q "live run: not reproducible, no trace hash" "$T/live"; then
    echo "ok    $file $variant at $scale $extra (${secs}s): $(verdict "$T/live" | sed 's/^PASS *[^ ]* *//'), as on the virtual backend ($nl not_live)"
  else
    echo "FAIL  $file $variant at $scale $extra: exit $lrc live, $vrc virtual"
    echo "  virtual: $(verdict "$T/virtual")"
    echo "  live:    $(verdict "$T/live")"
    cat "$T/live"
    echo 1 >"$T/failed"
  fi
done
if [ -f "$T/failed" ]; then fail=1; fi
rm -rf "$T"
exit $fail
