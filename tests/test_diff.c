/*
 * storesim diff (tools/diff.c): two runs compared, same or different, with
 * what changed; and the "never" of a metric that says an event did not
 * happen, in expectations' details and the JSON output. Runs the storesim
 * binary of the build on short runs of the shipped scenarios.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define BIN STORESIM_BINARY_DIR "/storesim"
#define SRC STORESIM_SOURCE_DIR

static char out[1 << 18];

#define sh(...) kt_shf(out, sizeof out, __VA_ARGS__)

/* A scratch directory of this test, removed at the end. */
static char dir[256];
static void mkscratch(void) { kt_scratch(dir, sizeof dir, "test_diff"); }
static void rmscratch(void) { kt_unscratch(dir); }

TestSuite(diff, .init = mkscratch, .fini = rmscratch);

/* kb924567: 6 h of virtual time, about a second of host time in a debug build */
#define KB SRC "/scenarios/kb924567.yaml"

Test(diff, the_same_run_twice_is_the_same) {
  cr_assert_eq(sh("'%s' diff " KB " " SRC "/scenarios/kb924567.yaml", BIN), 0, "%s", out);
  cr_assert(strstr(out, "same: 1 scenario, 3 variants, identical trace hashes"), "%s", out);
  /* JSON outputs, and a JSON output against a run made here */
  cr_assert_eq(sh("'%s' run " KB " --json > '%s/a.json'", BIN, dir), 0, "%s", out);
  cr_assert_eq(sh("'%s' diff '%s/a.json' '%s/a.json'", BIN, dir, dir), 0, "%s", out);
  cr_assert_eq(sh("'%s' diff '%s/a.json' " KB, BIN, dir), 0, "%s", out);
}

Test(diff, a_change_is_named_and_exits_1) {
  cr_assert_eq(sh("'%s' diff " KB " " SRC "/scenarios/kb924567.yaml --b-set store.tasks=64", BIN),
               1, "%s", out);
  cr_assert(strstr(out, "B: " SRC "/scenarios/kb924567.yaml (run here, store.tasks=64)"), "%s",
            out);
  /* 64 tasks outlast the 8 move threads' 40 minutes: the verdict and the
   * expectations that showed the exhaustion change */
  cr_assert(strstr(out, "  verdict: reproduced without fix; absent with fix -> NOT reproduced"),
            "%s", out);
  cr_assert(strstr(out, "    expectation tasks.free_low.final == 0: pass (0 == 0) -> fail ("), "%s",
            out);
  cr_assert(strstr(out, "    tasks.total.max: 32 -> 64 (+100%)"), "%s", out);
  /* both traces are at hand: where they part (the 33rd spawn: store-task-32) */
  cr_assert(strstr(out, "    traces part at record 33 of the variant (virtual time 0:00:00"), "%s",
            out);
  cr_assert(strstr(out, "\"obj\":\"store-task-32\""), "%s", out);
  cr_assert(strstr(out, "\ndifferent: "), "%s", out);
}

Test(diff, tolerances_and_ignore_hash_compare_outcomes_only) {
  /* two seeds: different traces, the same verdicts */
  cr_assert_eq(sh("'%s' run " KB " --variant with_fix --json > '%s/a.json'", BIN, dir), 0);
  cr_assert_eq(sh("'%s' run " KB " --variant with_fix --seed 9 --json > '%s/b.json'", BIN, dir), 0);
  cr_assert_eq(sh("'%s' diff '%s/a.json' '%s/b.json'", BIN, dir, dir), 1, "%s", out);
  cr_assert(strstr(out, "    trace hash: "), "%s", out);
  /* with --ignore-hash and a tolerance wide enough nothing counts */
  cr_assert_eq(sh("'%s' diff '%s/a.json' '%s/b.json' --ignore-hash --rel 1", BIN, dir, dir), 0,
               "%s", out);
  cr_assert(strstr(out, "(not counted: --ignore-hash)"), "%s", out);
  cr_assert(strstr(out, "same: 1 scenario, 3 variants, outcomes within tolerance"), "%s", out);
  /* --abs alone, too wide to let any statistic differ (bytes are the largest) */
  cr_assert_eq(sh("'%s' diff '%s/a.json' '%s/b.json' --ignore-hash --abs 1e12", BIN, dir, dir), 0,
               "%s", out);
  /* traces written by run --trace, handed to diff next to the JSON outputs */
  cr_assert_eq(sh("'%s' run " KB " --variant with_fix --trace '%s/a.jsonl' > /dev/null", BIN, dir),
               0);
  cr_assert_eq(
      sh("'%s' run " KB " --variant with_fix --seed 9 --trace '%s/b.jsonl' > /dev/null", BIN, dir),
      0);
  cr_assert_eq(sh("'%s' diff '%s/a.json' '%s/b.json' --trace-a '%s/a.jsonl' --trace-b "
                  "'%s/b.jsonl'",
                  BIN, dir, dir, dir, dir),
               1, "%s", out);
  cr_assert(strstr(out, "    traces part at record "), "%s", out);
  cr_assert_eq(
      sh("'%s' diff '%s/a.json' '%s/b.json' --trace-a '%s/a.jsonl' 2>&1", BIN, dir, dir, dir), 2,
      "%s", out);
  cr_assert(strstr(out, "--trace-a and --trace-b go together"), "%s", out);
  /* --json: one object CI can read */
  cr_assert_eq(sh("'%s' diff '%s/a.json' '%s/b.json' --json | python3 -c 'import json,sys; "
                  "d=json.load(sys.stdin); assert d[\"same\"] is False and d[\"differences\"] > "
                  "0; assert any(c[\"kind\"]==\"trace_hash\" for c in d[\"changes\"])'",
                  BIN, dir, dir),
               0, "%s", out);
}

Test(diff, bad_input_is_exit_2_with_a_position) {
  FILE *f;
  char p[300];
  snprintf(p, sizeof p, "%s/bad.json", dir);
  cr_assert((f = fopen(p, "w")));
  fputs("{\"format_version\":2,\n  \"x\": [1,\n", f);
  fclose(f);
  cr_assert_eq(sh("'%s' diff '%s' '%s' 2>&1", BIN, p, p), 2, "%s", out);
  cr_assert(strstr(out, "/bad.json:3:"), "%s", out);
  cr_assert(strstr(out, "error: not JSON"), "%s", out);
  cr_assert_eq(sh("'%s' diff '%s/none.json' '%s' 2>&1", BIN, dir, p), 2, "%s", out);
  cr_assert(strstr(out, "none.json: error: cannot read: No such file"), "%s", out);
  cr_assert_eq(sh("'%s' diff '%s' 2>&1", BIN, p), 2, "%s", out);
  cr_assert(strstr(out, "storesim diff: expected 2 arguments, A B; got 1"), "%s", out);
  /* not a run's output; an older format */
  cr_assert((f = fopen(p, "w")));
  fputs("{\"a\":1}\n", f);
  fclose(f);
  cr_assert_eq(sh("'%s' diff '%s' '%s' 2>&1", BIN, p, p), 2, "%s", out);
  cr_assert(strstr(out, "bad.json:1:1: error: not the output of `storesim run --json`"), "%s", out);
  cr_assert((f = fopen(p, "w")));
  fputs("{\"format_version\":1,\"scenario\":{},\"variants\":[]}\n", f);
  fclose(f);
  cr_assert_eq(sh("'%s' diff '%s' '%s' 2>&1", BIN, p, p), 2, "%s", out);
  cr_assert(strstr(out, "format_version is another; this storesim reads 2"), "%s", out);
  /* per-side options need a scenario file on that side */
  cr_assert_eq(sh("'%s' diff '%s' " KB " --a-set store.tasks=3 2>&1", BIN, p), 2, "%s", out);
  cr_assert(strstr(out, "--a-set and --a-seed need A to be a scenario file"), "%s", out);
  cr_assert_eq(sh("'%s' diff '%s' '%s' --rel -1 2>&1", BIN, p, p), 2, "%s", out);
}

/* A time metric whose -1 means the event never happened reads "never", in
 * a comparison and in JSON (null, "never"), and a -1 used in arithmetic says
 * so beside the numbers. */
Test(diff, never_is_said_never_not_minus_one) {
  cr_assert_eq(sh("'%s' run " SRC "/scenarios/kb924567.yaml --variant without_fix --set "
                  "store.tasks=64 --json",
                  BIN),
               1, "%s", out);
  cr_assert(strstr(out, "{\"expression\":\"tasks.exhausted_at.final > 0\",\"measured\":null,"
                        "\"measured_text\":\"never\",\"detail\":\"never > 0s\""),
            "%s", out);
  cr_assert(strstr(out, "(tasks.exhausted_at.final is never: counted as -1s)"), "%s", out);
  cr_assert(!strstr(out, "-1s >"), "%s", out);
}
