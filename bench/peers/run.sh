#!/usr/bin/env bash
# bench/peers/run.sh: storesim against its peers on one M/M/c model, in one command.
#
# Installs what is missing (Debian packages, needs root or sudo), builds storesim in
# release and the C peers under build/peers/, then runs, one after the other (never
# two at once: the machine is small and shared):
#   storesim  build/release/storesim-bench mmc ...   one simulated thread per customer
#   simpy     bench/peers/mmc_simpy.py               SimPy 2, a Process per customer
#   simgrid   bench/peers/mmc_simgrid.c              SimGrid 3.32, an actor per customer,
#                                                    default configuration
#   simgrid-64k  the same with --cfg=contexts/stack-size:64 (SimGrid's default 8 MiB
#                actor stacks cost it about 4x; this is the peer at its best)
# in RUNS rounds (round i runs each model once with seed SEED+i, so a burst of load on
# the shared machine hits every model of that round), and prints every result line,
# the median customers/s of each model, and the ratios storesim/peer: the ratio of the
# medians and the median of the per-round ratios.
#
# Agreement with Erlang C.  At lambda=9, mu=1, c=10 (rho=0.9) the waiting time is
# strongly autocorrelated: the standard deviation of one run's mean wait is about
# 27.5/sqrt(kept customers) relative (6.5 % at 2*10^5 customers, 2.9 % at 10^6), and
# of p_wait about 3.8/sqrt(kept customers) absolute.  A fixed "within 3 %" band would
# reject correct simulators often, so the tolerances follow N:
#   - sd_w, sd_p: the spread of mean_wait and p_wait over 100 runs of the plain
#     recursion build/peers/mmc_ref (bench/peers/mmc_ref.c) at the same lambda, mu, c,
#     scaled to the peer's customer count;
#   - each run:           |x - erlang_c| <= max(Z * sd, floor)
#   - the mean of the runs: |mean - erlang_c| <= max(Z * sd / sqrt(RUNS), floor)
#   with Z = 4 (about 6 in 100000 two-sided per check) and floors of 3 % of the Erlang C
#   wait and 0.01 in probability (issue 2's figures: the check never asks for more).
# Erlang C is computed here (awk, Erlang B recursion) and must match the value each
# peer prints.  Exact checks besides: the SimGrid peer draws the same numbers as
# mmc_ref, so its mean_wait and p_wait must equal mmc_ref's for the same seed (to the
# printed 1e-6), on every run; SimPy does the same in one extra, untimed run with
# --rng xoshiro (the timed runs use Python's own generator, as a SimPy user would).
#
# Exit status: 0 all agree; 1 a peer disagrees with Erlang C (or SimGrid with the
# recursion); 2 usage; 3 something could not be installed, built or run (including
# storesim-bench missing, unless --peers-only).
#
# Options (environment variables in brackets):
#   --lambda L [LAMBDA=9]  --mu M [MU=1]  --servers C [SERVERS=10]
#   --runs R [RUNS=5]      --seed S [SEED=1]
#   --storesim-customers N [N_STORESIM=1000000]   --simpy-customers N [N_SIMPY=200000]
#   --simgrid-customers N  [N_SIMGRID=50000]
#   --peers-only   skip storesim (its build and its run)
#   --no-install   never call apt-get
#   --no-simgrid-64k   skip the tuned SimGrid run
#   [PYTHON=/usr/bin/python3]  the interpreter that has Debian's SimPy 2
#   [STORESIM_BENCH=path]      use this storesim-bench and skip the cmake build
set -euo pipefail

LAMBDA=${LAMBDA:-9} MU=${MU:-1} SERVERS=${SERVERS:-10} RUNS=${RUNS:-5} SEED=${SEED:-1}
N_STORESIM=${N_STORESIM:-1000000} N_SIMPY=${N_SIMPY:-200000} N_SIMGRID=${N_SIMGRID:-50000}
PYTHON=${PYTHON:-/usr/bin/python3}
PEERS_ONLY=0 INSTALL=1 SIMGRID_64K=1
Z=4 REF_REPS=100

die() { echo "run.sh: $*" >&2; exit 3; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; }

# The value of option $1, which must be there ($2 is what follows it).
val() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "run.sh: $1 needs a value (try --help)" >&2; exit 2; }; }

while [ $# -gt 0 ]; do
  case "$1" in
    --lambda) val "$@"; LAMBDA=$2; shift 2 ;;
    --mu) val "$@"; MU=$2; shift 2 ;;
    --servers) val "$@"; SERVERS=$2; shift 2 ;;
    --runs) val "$@"; RUNS=$2; shift 2 ;;
    --seed) val "$@"; SEED=$2; shift 2 ;;
    --storesim-customers) val "$@"; N_STORESIM=$2; shift 2 ;;
    --simpy-customers) val "$@"; N_SIMPY=$2; shift 2 ;;
    --simgrid-customers) val "$@"; N_SIMGRID=$2; shift 2 ;;
    --peers-only) PEERS_ONLY=1; shift ;;
    --no-install) INSTALL=0; shift ;;
    --no-simgrid-64k) SIMGRID_64K=0; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
for v in RUNS SEED SERVERS N_STORESIM N_SIMPY N_SIMGRID; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a whole number, not '${!v}'" >&2; exit 2; }
done
[ "$RUNS" -ge 1 ] || { echo "run.sh: --runs must be >= 1" >&2; exit 2; }
awk -v l="$LAMBDA" -v m="$MU" -v c="$SERVERS" \
  'BEGIN { exit !(l+0 > 0 && m+0 > 0 && c+0 >= 1 && l+0 < c*m) }' ||
  { echo "run.sh: need lambda > 0, mu > 0, servers >= 1 and lambda < servers*mu" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
OUT=build/peers
mkdir -p "$OUT"

# ---- 1. install what is missing ----
PKGS=(python3-simpy libsimgrid-dev cmake gcc pkg-config libjemalloc-dev libyaml-dev libcriterion-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$INSTALL" = 1 ] || die "missing packages: ${missing[*]} (and --no-install was given)"
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing packages: ${missing[*]}; run as root or install sudo"
    SUDO=sudo
  fi
  echo "== installing: ${missing[*]}"
  $SUDO apt-get update -q || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
fi
"$PYTHON" -c 'import SimPy.Simulation' 2>/dev/null ||
  die "$PYTHON cannot import SimPy 2 (Debian python3-simpy); set PYTHON= to the system python3"

# ---- 2. build ----
echo "== building the C peers into $OUT/"
CFLAGS_PEER=(-O2 -std=c11 -Wall -Wextra)
gcc "${CFLAGS_PEER[@]}" -o "$OUT/mmc_ref" bench/peers/mmc_ref.c -lm || die "building mmc_ref failed"
# shellcheck disable=SC2046
gcc "${CFLAGS_PEER[@]}" -DMMC_PLATFORM="\"$ROOT/bench/peers/mmc_platform.xml\"" \
  -o "$OUT/mmc_simgrid" bench/peers/mmc_simgrid.c $(pkg-config --cflags --libs simgrid) -lm ||
  die "building mmc_simgrid failed (is libsimgrid-dev installed?)"

STORESIM_WHY=
if [ "$PEERS_ONLY" = 0 ]; then
  if [ -n "${STORESIM_BENCH:-}" ]; then
    echo "== using STORESIM_BENCH=$STORESIM_BENCH (no build)"
  else
    STORESIM_BENCH=build/release/storesim-bench
    echo "== building storesim (release preset); log in $OUT/storesim-build.log"
    if ! { cmake --preset release && cmake --build --preset release -j "$(nproc)"; } \
        >"$OUT/storesim-build.log" 2>&1; then
      tail -n 15 "$OUT/storesim-build.log" >&2
      STORESIM_WHY="the release build failed (see $OUT/storesim-build.log)"
    fi
  fi
  if [ -z "$STORESIM_WHY" ] && [ ! -x "$STORESIM_BENCH" ]; then
    STORESIM_WHY="$STORESIM_BENCH does not exist (bench/bench.c not written yet?)"
  fi
  if [ -z "$STORESIM_WHY" ] &&
     ! "$STORESIM_BENCH" mmc --lambda "$LAMBDA" --mu "$MU" --servers "$SERVERS" \
         --customers 1000 --seed 1 2>/dev/null | grep -q 'customers_per_s='; then
    STORESIM_WHY="'$STORESIM_BENCH mmc' does not run or prints no customers_per_s= yet"
  fi
  [ -z "$STORESIM_WHY" ] ||
    echo "run.sh: storesim-bench unavailable: $STORESIM_WHY; running the peers alone" >&2
fi

# ---- 3. theory and tolerances ----
# Erlang C through the Erlang B recursion: "p_wait mean_wait".
read -r EC_P EC_W < <(awk -v l="$LAMBDA" -v m="$MU" -v c="$SERVERS" 'BEGIN {
  a = l / m; b = 1; for (k = 1; k <= c; k++) b = a * b / (k + a * b)
  p = b / (1 - (a / c) * (1 - b)); printf "%.9f %.9f\n", p, p / (c * m - l) }')
printf '== M/M/c lambda=%s mu=%s c=%s (rho=%s); Erlang C: p_wait=%.6f mean_wait=%.6f\n' \
  "$LAMBDA" "$MU" "$SERVERS" "$(awk -v l="$LAMBDA" -v m="$MU" -v c="$SERVERS" \
  'BEGIN{printf "%.3f", l/(m*c)}')" "$EC_P" "$EC_W"

field() { # field NAME LINE: the value of NAME= in LINE
  sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}

# tolerances N -> "tol_w tol_p tol_w_mean tol_p_mean"
tolerances() {
  local line sd_w sd_p
  line=$("$OUT/mmc_ref" --lambda "$LAMBDA" --mu "$MU" --servers "$SERVERS" \
           --customers "$1" --seed 1000000 --reps "$REF_REPS") || die "mmc_ref failed"
  sd_w=$(field sd_mean_wait "$line"); sd_p=$(field sd_p_wait "$line")
  awk -v z="$Z" -v r="$RUNS" -v sw="$sd_w" -v sp="$sd_p" -v ew="$EC_W" 'BEGIN {
    fw = 0.03 * ew; fp = 0.01
    tw = z * sw; tp = z * sp; mw = z * sw / sqrt(r); mp = z * sp / sqrt(r)
    printf "%.6f %.6f %.6f %.6f\n", (tw > fw ? tw : fw), (tp > fp ? tp : fp),
                                    (mw > fw ? mw : fw), (mp > fp ? mp : fp) }'
}

# same_as_ref N SEED LINE: true if LINE's mean_wait and p_wait equal mmc_ref's for
# the same customers and seed (to the 6 printed decimals, one unit of slack).
same_as_ref() {
  local ref
  ref=$("$OUT/mmc_ref" --lambda "$LAMBDA" --mu "$MU" --servers "$SERVERS" \
          --customers "$1" --seed "$2") || die "mmc_ref failed"
  awk -v a="$(field mean_wait "$3")" -v b="$(field mean_wait "$ref")" \
      -v c="$(field p_wait "$3")" -v d="$(field p_wait "$ref")" \
      'BEGIN { exit !(a != "" && c != "" && (a - b)^2 < 4e-12 && (c - d)^2 < 4e-12) }'
}

# ---- 4. run ----
# Rounds: round i runs every model once with seed SEED+i, one after the other. On a
# shared machine a burst of load then hits all models of a round alike, so besides
# each model's median the summary gives the median over rounds of storesim/peer.
MMC=(--lambda "$LAMBDA" --mu "$MU" --servers "$SERVERS")
MODELS=()
[ "$PEERS_ONLY" = 0 ] && [ -z "$STORESIM_WHY" ] && MODELS+=(storesim)
MODELS+=(simpy simgrid)
[ "$SIMGRID_64K" = 1 ] && MODELS+=(simgrid-64k)

customers_of() {
  case $1 in
    storesim) echo "$N_STORESIM" ;;
    simpy) echo "$N_SIMPY" ;;
    simgrid*) echo "$N_SIMGRID" ;;
  esac
}

# run_model NAME SEED: run one model once; its stdout is the model's.
run_model() {
  case $1 in
    storesim) "$STORESIM_BENCH" mmc "${MMC[@]}" --customers "$N_STORESIM" --seed "$2" ;;
    simpy) "$PYTHON" bench/peers/mmc_simpy.py "${MMC[@]}" --customers "$N_SIMPY" --seed "$2" ;;
    simgrid) "$OUT/mmc_simgrid" "${MMC[@]}" --customers "$N_SIMGRID" --seed "$2" ;;
    simgrid-64k) "$OUT/mmc_simgrid" "${MMC[@]}" --customers "$N_SIMGRID" --seed "$2" \
                   --cfg=contexts/stack-size:64 --log=xbt_cfg.thresh:warning ;;
  esac
}

median() { # the median of the numbers on stdin, one a line
  sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

FAIL=0
declare -A TW TP MTW MTP RATES CPU_RATES SUM_W SUM_P RATE_NOW RATIOS MEDIAN CPU_MEDIAN
for m in "${MODELS[@]}"; do
  read -r "TW[$m]" "TP[$m]" "MTW[$m]" "MTP[$m]" < <(tolerances "$(customers_of "$m")")
  printf '== %-11s %8s customers x %s runs; tolerance per run: mean_wait +-%.4f, p_wait +-%.4f\n' \
    "$m" "$(customers_of "$m")" "$RUNS" "${TW[$m]}" "${TP[$m]}"
  RATES[$m]="" CPU_RATES[$m]="" SUM_W[$m]=0 SUM_P[$m]=0 RATIOS[$m]=""
done
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

for ((i = 0; i < RUNS; i++)); do
  seed=$((SEED + i))
  echo "== round $((i + 1))/$RUNS, seed $seed"
  for m in "${MODELS[@]}"; do
    n=$(customers_of "$m")
    # bash's `time` gives the process's user+sys, for models that print no cpu_s=.
    if ! { TIMEFORMAT='%U %S'; time run_model "$m" "$seed" >"$OUT/$m.out" 2>"$OUT/$m.stderr"; } \
         2>"$OUT/$m.time" ||
       ! line=$(grep 'customers_per_s=' "$OUT/$m.out" | tail -n 1) || [ -z "$line" ]; then
      cat "$OUT/$m.stderr" >&2
      die "$m (seed $seed) failed or printed no result line"
    fi
    cpu=$(field cpu_s "$line")
    [ -n "$cpu" ] || cpu=$(awk '{ print $1 + $2 }' "$OUT/$m.time")
    CPU_RATES[$m]+="$(awk -v n="$n" -v c="$cpu" 'BEGIN { print n / c }')"$'\n'
    w=$(field mean_wait "$line"); p=$(field p_wait "$line")
    ok=$(awk -v w="$w" -v p="$p" -v ew="$EC_W" -v ep="$EC_P" -v tw="${TW[$m]}" -v tp="${TP[$m]}" \
           -v pw="$(field erlang_c_wait "$line")" -v pp="$(field erlang_c_p "$line")" 'BEGIN {
      d = w - ew; e = p - ep; s = ""
      if (d < 0) d = -d; if (e < 0) e = -e
      if (w == "" || d > tw) s = s sprintf(" mean_wait off by %.4f > %.4f;", d, tw)
      if (p == "" || e > tp) s = s sprintf(" p_wait off by %.4f > %.4f;", e, tp)
      if (pw == "" || (pw - ew > 1e-5 || ew - pw > 1e-5) || (pp - ep > 1e-5 || ep - pp > 1e-5))
        s = s sprintf(" its Erlang C (%s, %s) differs from run.sh (%.6f, %.6f);", pp, pw, ep, ew)
      print (s == "" ? "ok" : "DISAGREES:" s) }')
    if [[ $m == simgrid* ]] && ! same_as_ref "$n" "$seed" "$line"; then
      ok="DISAGREES: differs from mmc_ref --seed $seed"
    fi
    printf '  %-11s %s  [%s]\n' "$m" "$line" "$ok"
    [ "$ok" = ok ] || FAIL=1
    RATE_NOW[$m]=$(field customers_per_s "$line")
    RATES[$m]+="${RATE_NOW[$m]}"$'\n'
    SUM_W[$m]=$(awk -v a="${SUM_W[$m]}" -v b="$w" 'BEGIN { print a + b }')
    SUM_P[$m]=$(awk -v a="${SUM_P[$m]}" -v b="$p" 'BEGIN { print a + b }')
  done
  if [ -n "${RATE_NOW[storesim]:-}" ]; then
    for m in "${MODELS[@]}"; do
      [ "$m" = storesim ] || RATIOS[$m]+="$(awk -v a="${RATE_NOW[storesim]}" \
        -v b="${RATE_NOW[$m]}" 'BEGIN { print a / b }')"$'\n'
    done
  fi
done
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== agreement of the mean over $RUNS runs with Erlang C"
for m in "${MODELS[@]}"; do
  ok=$(awk -v r="$RUNS" -v sw="${SUM_W[$m]}" -v sp="${SUM_P[$m]}" -v ew="$EC_W" -v ep="$EC_P" \
         -v tw="${MTW[$m]}" -v tp="${MTP[$m]}" 'BEGIN {
    w = sw / r; p = sp / r; d = w - ew; e = p - ep; if (d < 0) d = -d; if (e < 0) e = -e
    printf "mean_wait=%.6f (+-%.4f) p_wait=%.6f (+-%.4f) ", w, tw, p, tp
    print ((d <= tw && e <= tp) ? "[ok]" : "[DISAGREES]") }')
  printf '  %-11s %s\n' "$m" "$ok"
  [[ $ok == *"[ok]" ]] || FAIL=1
  MEDIAN[$m]=$(printf '%s' "${RATES[$m]}" | median)
  CPU_MEDIAN[$m]=$(printf '%s' "${CPU_RATES[$m]}" | median)
done
# Untimed: SimPy on mmc_ref's random streams must give mmc_ref's numbers exactly.
line=$("$PYTHON" bench/peers/mmc_simpy.py "${MMC[@]}" --customers "$N_SIMPY" --seed "$SEED" \
         --rng xoshiro) || die "mmc_simpy.py --rng xoshiro failed"
if same_as_ref "$N_SIMPY" "$SEED" "$line"; then
  echo "  exact: mmc_simpy.py --rng xoshiro --seed $SEED equals mmc_ref [ok]"
else
  echo "  exact: mmc_simpy.py --rng xoshiro --seed $SEED: $line"
  echo "    differs from mmc_ref --seed $SEED [DISAGREES]"
  FAIL=1
fi
echo "  exact: every simgrid run equals mmc_ref with its seed (see [ok] above)"
# The plain recursion: what the arithmetic alone costs (no simulator can beat it).
BOUND=$("$OUT/mmc_ref" "${MMC[@]}" --customers "$N_STORESIM" --seed "$SEED")

# ---- 5. summary ----
echo "== summary: median customers/s over $RUNS runs; $(nproc) cores," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "  (per wall-clock second, the headline; per CPU second, less sensitive to other load:"
echo "   CPU time of each model's timed span, as it prints it in cpu_s=)"
printf '  %-12s %14s %14s\n' model wall cpu
for m in "${MODELS[@]}"; do
  printf '  %-12s %14.0f %14.0f\n' "$m" "${MEDIAN[$m]}" "${CPU_MEDIAN[$m]}"
done
printf '  %-12s %14.0f %14s   (mmc_ref: the recursion alone, one run of %s customers)\n' \
  "bound" "$(field customers_per_s "$BOUND")" "" "$N_STORESIM"
if [ -n "${MEDIAN[storesim]:-}" ]; then
  for m in "${MODELS[@]}"; do
    [ "$m" = storesim ] && continue
    awk -v a="${MEDIAN[storesim]}" -v b="${MEDIAN[$m]}" -v n="$m" \
        -v ca="${CPU_MEDIAN[storesim]}" -v cb="${CPU_MEDIAN[$m]}" \
        -v r="$(printf '%s' "${RATIOS[$m]}" | median)" 'BEGIN {
      printf "  ratio storesim/%-12s wall %7.1fx (median of per-round ratios %.1fx), cpu %7.1fx\n",
             n, a / b, r, ca / cb }'
  done
else
  echo "  ratios storesim/peer: unavailable (${STORESIM_WHY:-storesim skipped by --peers-only})"
fi

# This script keeps one core busy; more than that means a neighbour shared the CPU.
if awk -v a="$LOAD_BEFORE" -v b="$LOAD_AFTER" 'BEGIN { exit !(a > 1 || b > 2) }'; then
  echo "  WARNING: the machine was busy (load average $LOAD_BEFORE before, $LOAD_AFTER after," \
       "$(nproc) cores): wall and even CPU figures are depressed unevenly; quote figures" \
       "from a quiet machine only"
fi

if [ "$FAIL" != 0 ]; then
  echo "run.sh: FAIL: a peer disagrees with Erlang C (see DISAGREES above)" >&2
  exit 1
fi
if [ "$PEERS_ONLY" = 0 ] && [ -n "$STORESIM_WHY" ]; then
  echo "run.sh: incomplete: storesim-bench unavailable: $STORESIM_WHY" >&2
  exit 3
fi
echo "run.sh: all results agree with Erlang C"
