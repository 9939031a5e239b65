#!/bin/sh
# Sweeps spread over MPI ranks and sweeps merged from shards print and write
# exactly what one process prints and writes (docs/scale.md).
#
#   tests/mpi.sh mpi STORESIM MPIRUN WORKDIR   `mpirun -n 4` (oversubscribed on
#       one machine) against one process: sweep (plain, and a parameter map
#       with --metric), check --seeds, explore; then a rank that stops
#       answering (STORESIM_TEST_MPI_RANK=2:stop) has its batch reassigned and
#       the output is still the same.
#   tests/mpi.sh merge STORESIM WORKDIR   storesim merge of 3 --shard files
#       against one process (no MPI needed).
#
# Short on purpose (CI has 2 cores): a few dozen one-hour runs of kb924567.
set -eu
mode=$1
B=$2
case $mode in
mpi) MPIRUN=$3; W=$4 ;;
merge) W=$3 ;;
*) echo "usage: $0 mpi|merge ..." >&2; exit 2 ;;
esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
KB="$SRC/scenarios/kb924567.yaml"
Q="$SRC/scenarios/q279798.yaml"
rm -rf "$W"
mkdir -p "$W/one" "$W/ranks"
fail=0

# same NAME: the two runs' stdout (and any other files named) must be equal;
# sorted JSONL when the name ends in .jsonl
same() {
  name=$1
  shift
  for f in "$@"; do
    a="$W/one/$f" b="$W/ranks/$f"
    case $f in
    *.jsonl) sort "$a" >"$a.sorted"; sort "$b" >"$b.sorted"; a="$a.sorted" b="$b.sorted" ;;
    esac
    if ! cmp -s "$a" "$b"; then
      echo "FAIL $name: $f differs"
      diff "$a" "$b" | head -20
      fail=1
      return
    fi
  done
  echo "ok   $name"
}

# one NAME ARGS...: the command in W/one as one process, in W/ranks under
# mpirun -n 4 (stdout to NAME.out, stderr to NAME.err; exit status to NAME.rc)
one_and_ranks() {
  name=$1
  shift
  (cd "$W/one" && { rc=0; "$B" "$@" >"$name.out" 2>"$name.err" || rc=$?; echo $rc >"$name.rc"; })
  (cd "$W/ranks" && { rc=0; STORESIM_MPI_STATS=1 "$MPIRUN" --allow-run-as-root --oversubscribe \
      -n 4 -x STORESIM_MPI_STATS -x STORESIM_TEST_MPI_RANK "$B" "$@" >"$name.out" \
      2>"$name.err" || rc=$?; echo $rc >"$name.rc"; })
}

# spread NAME: more than one rank ran runs (STORESIM_MPI_STATS lines)
spread() {
  if ! grep -q "runs per rank" "$W/ranks/$1.err"; then
    echo "FAIL $1: the sweep did not go to the ranks"; cat "$W/ranks/$1.err"; fail=1; return
  fi
  n=$(grep "runs per rank" "$W/ranks/$1.err" | head -1 | tr ' ' '\n' | grep -c '^[0-9]*:[1-9]' || true)
  if [ "$n" -lt 2 ]; then
    echo "FAIL $1: only $n rank ran runs"; grep "runs per rank" "$W/ranks/$1.err"; fail=1
  fi
}

if [ "$mode" = merge ]; then
  O="--variant with_fix --set duration=1h --seeds 1-12 --jobs 2"
  (cd "$W/one" && "$B" sweep "$KB" $O --jsonl all.jsonl >sweep.out)
  for i in 0 1 2; do
    (cd "$W/ranks" && "$B" sweep "$KB" $O --shard $i/3 --jsonl s$i.jsonl >/dev/null)
  done
  (cd "$W/ranks" && "$B" merge "$KB" s2.jsonl s0.jsonl s1.jsonl $O --jsonl all.jsonl >sweep.out)
  same "merge of 3 shards (sweep)" sweep.out all.jsonl
  cmp -s "$W/one/all.jsonl" "$W/ranks/all.jsonl" || { echo "FAIL merge: --jsonl not byte-identical"; fail=1; }
  # a parameter map with --metric, and a deadlocking variant (decision log, replayed)
  M="--set duration=1h --set store.tasks=16,64 --seeds 1-6 --jobs 2 --metric tasks.exhausted_at.final"
  (cd "$W/one" && "$B" sweep "$KB" $M --jsonl map.jsonl --csv map.csv >map.out)
  for i in 0 1; do (cd "$W/ranks" && "$B" sweep "$KB" $M --shard $i/2 --jsonl m$i.jsonl >/dev/null); done
  (cd "$W/ranks" && "$B" merge "$KB" m0.jsonl m1.jsonl $M --jsonl map.jsonl --csv map.csv >map.out)
  same "merge of 2 shards (map, --metric, --csv)" map.out map.jsonl map.csv
  D="--variant race_without_fix --seeds 1-12 --jobs 2"
  (cd "$W/one" && "$B" sweep "$Q" $D --jsonl dl.jsonl >dl.out || true)
  for i in 0 1; do (cd "$W/ranks" && "$B" sweep "$Q" $D --shard $i/2 --jsonl d$i.jsonl >/dev/null || true); done
  (cd "$W/ranks" && "$B" merge "$Q" d0.jsonl d1.jsonl $D --jsonl dl.jsonl >dl.out || true)
  same "merge of 2 shards (deadlocks, decision log replayed)" dl.out dl.jsonl
  grep -q "reproduces it" "$W/ranks/dl.out" || { echo "FAIL merge: no replayed decision log"; cat "$W/ranks/dl.out"; fail=1; }
  # a shard missing, a shard twice: errors (exit 2), nothing printed
  for args in "m0.jsonl" "m0.jsonl m1.jsonl m1.jsonl"; do
    rc=0
    (cd "$W/ranks" && "$B" merge "$KB" $args $M >bad.out 2>bad.err) || rc=$?
    if [ "$rc" != 2 ] || [ -s "$W/ranks/bad.out" ]; then
      echo "FAIL merge $args: exit $rc (expected 2, no output)"; cat "$W/ranks/bad.err"; fail=1
    else
      echo "ok   merge $args: refused ($(head -1 "$W/ranks/bad.err"))"
    fi
  done
  exit $fail
fi

O="--variant with_fix --set duration=1h --seeds 1-24 --jobs 1"
one_and_ranks sweep sweep "$KB" $O --jsonl runs.jsonl
same "sweep" sweep.out sweep.rc runs.jsonl
cmp -s "$W/one/runs.jsonl" "$W/ranks/runs.jsonl" ||
  { echo "FAIL sweep: --jsonl not in the same order"; fail=1; }
spread sweep

M="--set duration=1h --set store.tasks=16,64 --seeds 1-6 --jobs 1 --metric tasks.exhausted_at.final"
one_and_ranks map sweep "$KB" $M --jsonl map.jsonl --csv map.csv
same "sweep, parameter map with --metric" map.out map.rc map.jsonl map.csv
spread map

one_and_ranks check check "$KB" "$SRC/scenarios/baseline.yaml" --seeds 1-8 --jobs 1 --set duration=1h
same "check --seeds" check.out check.rc
spread check

one_and_ranks explore explore --variant race_without_fix --random 12 --pct 12 --jobs 1 --log-dir logs "$Q"
same "explore (decision logs replayed)" explore.out explore.rc
spread explore

# rank 2 stops (SIGSTOP) at its first batch: after its deadline
# ((ceil(runs / jobs) + 1) x --wall-limit + 5 s) rank 0 says so, gives the
# batch to another rank, and the output is the same
export STORESIM_TEST_MPI_RANK=2:stop
one_and_ranks stopped sweep "$KB" $O --wall-limit 1 --jsonl stopped.jsonl
unset STORESIM_TEST_MPI_RANK
same "sweep with a rank that stops answering" stopped.out stopped.jsonl
if grep -q "rank 2 stopped answering; its batch of runs [0-9]*-[0-9]* was given to rank [13]" \
     "$W/ranks/stopped.err"; then
  echo "ok   the stopped rank was reported and its batch reassigned"
else
  echo "FAIL the stopped rank was not reported"; cat "$W/ranks/stopped.err"; fail=1
fi
exit $fail
