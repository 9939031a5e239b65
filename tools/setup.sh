#!/usr/bin/env bash
# Installs what storesim needs on Debian 12 (as root; only missing packages),
# then configures and builds the given CMake presets (default: release).
# Usage: tools/setup.sh [preset...]
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config libjemalloc-dev libcriterion-dev
      libyaml-dev libjansson-dev libcsv-dev gnuplot-nox graphviz python3 python3-jsonschema chromium clang
      libclang-rt-14-dev # libFuzzer and the sanitizer runtimes of clang (tools/fuzz.sh)
      openmpi-bin libopenmpi-dev # sweeps over MPI ranks (docs/scale.md; optional at build time)
      valgrind) # the threads backend's cross-checks: Helgrind, leak check (tests/live_xcheck.sh)
[ -n "${STORESIM_EXTRA_PKGS:-}" ] && read -r -a extra <<<"$STORESIM_EXTRA_PKGS" && PKGS+=("${extra[@]}")

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "storesim setup: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 2
  fi
  echo "storesim setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release)
for p in "${presets[@]}"; do
  cmake --preset "$p" >/dev/null
  cmake --build --preset "$p" -j "$(nproc)" >&2
done
