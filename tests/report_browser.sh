#!/bin/sh
# Browser test of the HTML report (registered with ctest when chromium is
# found; tools/setup.sh installs it): writes the report of every shipped
# scenario with the build's storesim, then opens it in headless Chromium
# (tools/check-report-browser.py), which fails on any console error, on a
# plot without data lines, on a variant without data drawn as a line or left
# out of the legend, on identical variants not told apart ("same as" and
# markers) and on a wait-for graph without nodes. The shipped scenarios
# have both kinds of variant (kb922768's with_fix has no broken download to
# sample, q279798's variants share most counters), so the minimums make the
# checks count. The page and its screenshots stay in OUTDIR as test
# artefacts.
# Usage: tests/report_browser.sh STORESIM OUTDIR
set -eu
storesim=$1
out=$2
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
rc=0
cd "$src" # scenario paths in the page are relative, as a user would type them
"$storesim" report scenarios -o "$out/report.html" --dot "$out/dot" || rc=$?
if [ "$rc" -ge 2 ] || [ ! -s "$out/report.html" ]; then
  echo "report_browser: storesim report failed (exit $rc)" >&2
  exit 1
fi
python3 "$src/tools/check-report-browser.py" "$out/report.html" \
  --screenshot-dir "$out" --min-plots 30 --min-graphs 1 --min-same 10 --min-none 3
