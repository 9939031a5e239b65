#!/bin/sh
# `storesim run --json` of every shipped scenario (30 minutes of virtual time
# each, and a variant stopped by a limit) validates against
# scenarios/run-output.schema.json, with Debian's python3-jsonschema
# (tools/setup.sh installs it). Usage: tests/run_output_schema.sh SOURCE_DIR STORESIM
set -eu
src=$1 bin=$2
py=/usr/bin/python3
$py -c 'import jsonschema' || { echo "run_output_schema.sh: needs python3-jsonschema" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for f in "$src"/scenarios/*.yaml "$src"/scenarios/validation/*.yaml; do
  "$bin" run --json --duration 30m "$f" >> "$out" 2>/dev/null || [ $? -le 2 ]
done
# a run stopped by a limit: incomplete variants, undefined statistics
"$bin" run --json --set limits.max_events=2000 "$src/scenarios/validation/mm1.yaml" >> "$out" \
  2>/dev/null || [ $? -eq 2 ]
$py - "$src/scenarios/run-output.schema.json" "$out" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
n = 0
for line in open(sys.argv[2]):
    doc = json.loads(line)
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    if errs:
        for e in errs[:5]:
            print("run_output_schema.sh: %s: %s at %s" % (doc.get("scenario", {}).get("id"), e.message,
                  "/".join(map(str, e.path))), file=sys.stderr)
        sys.exit(1)
    n += 1
if n < 12:
    print("run_output_schema.sh: only %d objects" % n, file=sys.stderr)
    sys.exit(1)
print("run_output_schema.sh: %d objects valid" % n)
PY
