#!/bin/sh
# `storesim run --perfmon` (tools/perfmon.c): the Performance Monitor CSV log
# of tests/golden/perfmon.yaml. Its header and first rows are pinned in
# tests/golden/perfmon-head.csv (byte for byte: quoted fields, CRLF, a start
# date that crosses 29 February); every file parses with python3's csv
# module as a PDH-CSV 4.0 log; one file per variant, or the one --variant
# names; bad uses exit 2 and write nothing.
# Usage: tests/perfmon.sh SOURCE_DIR STORESIM
set -eu
src=$1 bin=$2
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fx=$src/tests/golden/perfmon.yaml
fail() { echo "perfmon.sh: $*" >&2; exit 1; }

"$bin" run "$fx" --perfmon "$tmp/pm.csv" --perfmon-server MBX01 \
  --perfmon-start "2024-02-28 23:58:00" > /dev/null
[ -f "$tmp/pm.without_fix.csv" ] && [ -f "$tmp/pm.with_fix.csv" ] || fail "one file per variant"
[ ! -e "$tmp/pm.csv" ] || fail "pm.csv written beside the per-variant files"
head -n 4 "$tmp/pm.without_fix.csv" | cmp - "$src/tests/golden/perfmon-head.csv" ||
  fail "header and first rows differ from tests/golden/perfmon-head.csv"

$py - "$tmp/pm.without_fix.csv" "$tmp/pm.with_fix.csv" <<'PY'
import csv, sys
from datetime import datetime, timedelta
for path in sys.argv[1:]:
    raw = open(path, "rb").read()
    assert raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n"), "%s: CRLF" % path
    rows = list(csv.reader(open(path, newline="")))
    head, data = rows[0], rows[1:]
    assert head[0] == "(PDH-CSV 4.0) (Coordinated Universal Time)(0)", head[0]
    assert len(head) > 10, head
    for c in head[1:]:
        assert c.startswith("\\\\MBX01\\"), c
    for want in ("\\\\MBX01\\MSExchangeIS\\RPC Averaged Latency",
                 "\\\\MBX01\\MSExchangeIS\\RPC Requests",
                 "\\\\MBX01\\MSExchangeIS\\RPC Operations/sec",
                 "\\\\MBX01\\SMTP Server(_Total)\\Local Queue Length",
                 "\\\\MBX01\\Process(store)\\% Processor Time",
                 "\\\\MBX01\\Process(store)\\Private Bytes"):
        assert want in head, (path, want)
    assert len(data) == 5, "%s: %d rows, 5 sample intervals expected" % (path, len(data))
    t0 = datetime(2024, 2, 28, 23, 58)
    for i, r in enumerate(data):
        assert len(r) == len(head), (path, i)
        t = datetime.strptime(r[0], "%m/%d/%Y %H:%M:%S.%f")
        assert t == t0 + timedelta(minutes=i + 1), (path, r[0])
        for v in r[1:]:
            float(v)
    # every field is quoted, as Performance Monitor writes them
    for line in raw.decode().split("\r\n")[:-1]:
        assert line.startswith('"') and line.endswith('"') and '","' in line, line[:80]
print("perfmon.sh: %d files parse as PDH-CSV 4.0" % len(sys.argv[1:]))
PY

# the same run writes the same bytes: no wall clock
"$bin" run "$fx" --variant with_fix --perfmon "$tmp/a.csv" > /dev/null
"$bin" run "$fx" --variant with_fix --perfmon "$tmp/b.csv" > /dev/null
cmp "$tmp/a.csv" "$tmp/b.csv" || fail "two runs differ"
grep -q '"08/01/2006 00:01:00.000"' "$tmp/a.csv" || fail "default start is not 2006-08-01"
grep -q 'STORESIM' "$tmp/a.csv" || fail "default server is not STORESIM"
[ ! -e "$tmp/a.with_fix.csv" ] || fail "--variant: the file is FILE itself"

# bad uses: exit 2, nothing written
for args in "--perfmon -" "--perfmon $tmp/c.csv --perfmon-start 2024-02-30_00:00:00" \
            "--perfmon $tmp/c.csv --perfmon-start '2023-02-29 00:00:00'" \
            "--perfmon $tmp/c.csv --perfmon-server 'a b'"; do
  rc=0
  eval "\"\$bin\" run \"\$fx\" $args" > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || fail "$args: exit $rc, expected 2"
done
rc=0
"$bin" run "$fx" "$fx" --perfmon "$tmp/c.csv" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "two scenarios: exit $rc, expected 2"
ls "$tmp" | grep -q '^c' && fail "a refused run wrote a file"
echo "perfmon.sh: ok"
