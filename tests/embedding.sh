#!/bin/sh
# docs/embedding.md is true: its program, built against a fresh
# `cmake --install` of this build both with pkg-config and with
# find_package(storesim), runs and prints what the page says, the same on
# every run. Usage: tests/embedding.sh SOURCE_DIR BUILD_DIR SCRATCH_DIR
set -eu
src=$1 build=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir/app"
cmake --install "$build" --prefix "$dir/prefix" > "$dir/install.log"
doc="$src/docs/embedding.md"
awk '/^```c$/{f=1;next} /^```$/{f=0} f' "$doc" > "$dir/app/bank.c"
awk '/^```cmake$/{f=1;next} /^```$/{f=0} f' "$doc" > "$dir/app/CMakeLists.txt"
[ -s "$dir/app/bank.c" ] && [ -s "$dir/app/CMakeLists.txt" ] || {
  echo "embedding.sh: no C or CMake block in $doc" >&2; exit 1; }

# pkg-config, as the page says, from a prefix elsewhere (the .pc is relocatable)
PKG_CONFIG_PATH="$dir/prefix/lib/pkgconfig"
export PKG_CONFIG_PATH
cc -std=c11 -Wall -Wextra -Werror -O2 "$dir/app/bank.c" $(pkg-config --cflags --libs storesim) \
  -o "$dir/bank-pc"
rc=0; "$dir/bank-pc" > "$dir/out1" || rc=$?
[ "$rc" = 1 ] || { echo "embedding.sh: bank exited $rc, the page says 1 (a hang)" >&2; exit 1; }
for want in "storesim: LOCK-ORDER: possible circular locking dependency at t=1.005" \
            "storesim: DEADLOCK: wait-for cycle of 2 threads at t=1.006" \
            "auditor: no quiet moment, gave up at t=30.000 s" \
            "run: global hang" "3 reports; trace hash "; do
  grep -qF "$want" "$dir/out1" || {
    echo "embedding.sh: the output lacks '$want':" >&2; cat "$dir/out1" >&2; exit 1; }
done
"$dir/bank-pc" > "$dir/out2" || true
cmp "$dir/out1" "$dir/out2" || { echo "embedding.sh: two runs differ" >&2; exit 1; }

# find_package(storesim) and storesim::storesim
cmake -S "$dir/app" -B "$dir/app-build" -DCMAKE_PREFIX_PATH="$dir/prefix" > "$dir/cmake.log"
cmake --build "$dir/app-build" > "$dir/build.log"
"$dir/app-build/bank" > "$dir/out3" || true
cmp "$dir/out1" "$dir/out3" || { echo "embedding.sh: the CMake build prints otherwise" >&2; exit 1; }
echo "embedding.sh: ok ($(tail -1 "$dir/out1"))"
