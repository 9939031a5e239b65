#!/usr/bin/env bash
# The main job (the README's first command): installs what is missing, builds
# the release build, runs every scenario with both variants and prints the
# side-by-side summary, then the kernel's validation benchmark (M/M/c against
# Erlang C).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh release
status=0
if [ -x build/release/storesim ]; then
  build/release/storesim run scenarios/ "$@" || status=$?
fi
echo "== validation: M/M/c through the kernel against Erlang C"
build/release/storesim-bench mmc --lambda 9 --mu 1 --servers 10 --customers 1000000 --seed 1
exit $status
