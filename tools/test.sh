#!/usr/bin/env bash
# The whole test suite (the README's test command; .ci/run calls exactly this):
# installs what is missing, builds the debug and the address+undefined
# sanitizer builds with warnings as errors, runs every Criterion suite in
# both, and runs every shipped scenario under `storesim check`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh debug asan
status=0
echo "== ctest (debug)"
ctest --preset debug -j 2 || status=1
echo "== ctest (address+undefined sanitizers)"
ASAN_OPTIONS=detect_leaks=1 ctest --preset asan -j 2 || status=1
if [ -x build/debug/storesim ]; then
  echo "== storesim check scenarios/"
  build/debug/storesim check scenarios/ || status=1
fi
exit $status
