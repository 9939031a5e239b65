#!/usr/bin/env bash
# The main job (the README's first command): installs what is missing, builds
# the release build, runs every scenario with both variants and prints the
# side-by-side summary, then the kernel's validation benchmark (M/M/c against
# Erlang C), then writes the HTML report of every scenario to out/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh release
status=0
if [ -x build/release/storesim ]; then
  build/release/storesim run scenarios/ "$@" || status=$?
fi
echo "== validation: M/M/c through the kernel against Erlang C"
# erlang_c_check=ok: control-variate mean wait within 3 % and P(wait) within
# 0.01 of Erlang C, measured service and inter-arrival times as specified
# (bench/mmc_stats.h); exit status 1 otherwise.
vstatus=0
build/release/storesim-bench mmc --lambda 9 --mu 1 --servers 10 --customers 1000000 --seed 1 --check ||
  vstatus=$?
[ "$status" -eq 0 ] && status=$vstatus
if [ -x build/release/storesim ]; then
  echo "== HTML report: plots of every scenario, both variants over time"
  mkdir -p out
  rstatus=0
  build/release/storesim report scenarios/ -o out/report.html --dot out/dot || rstatus=$?
  if [ -s out/report.html ] && [ "$rstatus" -lt 2 ]; then
    echo "== open $(pwd)/out/report.html in a browser (one self-contained file)"
  elif [ "$status" -eq 0 ]; then
    status=$rstatus
  fi
fi
exit $status
