#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz (scenario loader, --set
# overrides, expectation expressions), one after another, at low priority.
#
#   tools/fuzz.sh [SECONDS] [HARNESS...]   fuzz each for SECONDS (default 60),
#                                           growing build/fuzz/corpus/HARNESS
#   tools/fuzz.sh --runs N [HARNESS...]     each for exactly N inputs from a fresh
#                                           corpus and a fixed seed (tools/test.sh)
#
# HARNESS: load, set, expr (default: all three). Seeds: every shipped scenario
# and tests/bad/ (load), the expectations of the shipped scenarios (expr), and
# the hostile cases of tests/fuzz/corpus/HARNESS; dictionaries
# tests/fuzz/HARNESS.dict. A crash, a sanitizer report, a leak or a
# timeout leaves its input in build/fuzz/artifacts/ and makes this script exit
# 1 after the other harnesses ran; it prints executions and coverage (edges)
# per harness. Builds the `fuzz` preset (clang, ASan+UBSan) first.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=time secs=60 runs=0
if [ "${1:-}" = "--runs" ]; then
  mode=runs runs=${2:?--runs needs a number}
  shift 2
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(load set expr)

cmake --preset fuzz >/dev/null
nice cmake --build --preset fuzz -j 2 >&2

out=build/fuzz
seeds=$out/seeds
rm -rf "$seeds"
mkdir -p "$seeds/load" "$seeds/expr" "$out/artifacts"
cp scenarios/*.yaml scenarios/validation/*.yaml "$seeds/load/" 2>/dev/null || true
for f in tests/bad/*.yaml; do cp "$f" "$seeds/load/bad_$(basename "$f")"; done
# One seed per expectation string of the shipped scenarios (quoted items).
n=0
for f in scenarios/*.yaml scenarios/validation/*.yaml; do
  [ -f "$f" ] || continue
  sed -n '/^expect:/,$p' "$f" | grep -o '"[^"]*"' | tr -d '"' | while IFS= read -r x; do
    printf '%s' "$x" >"$seeds/expr/$(basename "$f" .yaml)_$((n++))"
  done
done

declare -A maxlen=([load]=8192 [set]=512 [expr]=512)
status=0
for h in "${harnesses[@]}"; do
  bin=$out/fuzz_$h
  [ -x "$bin" ] || { echo "fuzz.sh: no harness '$h' (load, set, expr)" >&2; exit 2; }
  if [ "$mode" = runs ]; then
    corpus=$(mktemp -d)
    limit=(-runs="$runs" -seed=1)
  else
    corpus=$out/corpus/$h
    mkdir -p "$corpus"
    limit=(-max_total_time="$secs")
  fi
  dirs=("$corpus" "tests/fuzz/corpus/$h")
  [ -d "$seeds/$h" ] && dirs+=("$seeds/$h")
  log=$out/fuzz_$h.log
  echo "== fuzz_$h (${limit[*]})"
  if nice "$bin" "${limit[@]}" -dict="tests/fuzz/$h.dict" -max_len="${maxlen[$h]}" \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$out/artifacts/${h}-" "${dirs[@]}" >"$log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]*' | tail -1 || true)
    ft=$(grep -E '^#[0-9]+' "$log" | grep -o 'ft: [0-9]*' | tail -1 || true)
    echo "fuzz_$h: ok: ${execs:-?} executions, ${cov:-cov: ?} edges, ${ft:-ft: ?} features"
  else
    grep -E 'ERROR|SUMMARY|Test unit written|fuzz_' "$log" | head -20 || true
    echo "fuzz_$h: FAILED (log: $log)"
    status=1
  fi
  [ "$mode" = runs ] && rm -rf "$corpus"
done
exit $status
