/*
 * Parameter maps (`storesim sweep --set KEY=V1,V2 --set KEY=A..B --metric
 * M.STAT`, tools/sweep_map.c): the cells are the cross product, each cell's
 * numbers come from its own runs (the same for any worker count; shards
 * concatenate to the whole), --csv has one row per cell and variant, and bad
 * axes or metrics are usage errors before anything runs. Runs the storesim
 * binary of the build on kb924567's without_fix variant (its exhaustion
 * time is the mechanism's arithmetic: 16 and 32 tasks run out soon after the
 * moves start at 0:30:00; 64 tasks outlast the scenario's moves).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define BIN STORESIM_BINARY_DIR "/storesim"
#define KB STORESIM_SOURCE_DIR "/scenarios/kb924567.yaml"
#define MAP " sweep " KB " --sched fifo --seeds 1-2 --variant without_fix"

static char out[1 << 18];
static char dir[256];

#define sh(...) kt_shf(out, sizeof out, __VA_ARGS__)

static void mkscratch(void) { kt_scratch(dir, sizeof dir, "test_sweep_map"); }
static void rmscratch(void) { kt_unscratch(dir); }

TestSuite(map, .init = mkscratch, .fini = rmscratch);

static size_t lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

Test(map, cells_are_the_cross_product_with_their_numbers) {
  cr_assert_eq(sh("'%s'" MAP " --set store.tasks=16,64 --set workload.moves.threads=4..8:4 "
                  "--metric tasks.exhausted_at.final --jobs 2 --csv '%s/m.csv'",
                  BIN, dir),
               0, "%s", out);
  cr_assert(strstr(out, "kb924567: 4 cells x seeds 1-2"), "%s", out);
  /* 16 tasks: exhausted after the moves start (0:30:00), on both seeds */
  cr_assert(strstr(out, "\n  16          4                             2/2  0:3"), "%s", out);
  /* 64 tasks: never exhausted, so the variant's expectations do not hold */
  cr_assert(strstr(out, "\n  64          8                             0/2  no value in 2"), "%s",
            out);
  cr_assert(strstr(out, "replay the first cell's first failing seed: storesim run " KB
                        " --variant without_fix --seed 1 --set store.tasks=64 --set "
                        "workload.moves.threads=4"),
            "%s", out);
  /* the CSV: a header and one row per cell */
  cr_assert_eq(sh("cat '%s/m.csv'", dir), 0);
  cr_assert_eq(lines(out), 5, "%s", out);
  cr_assert(!strncmp(out,
                     "store.tasks,workload.moves.threads,variant,runs,held,fraction_held,"
                     "tasks.exhausted_at.final.median,tasks.exhausted_at.final.min,"
                     "tasks.exhausted_at.final.max,tasks.exhausted_at.final.none,worst_seed,"
                     "replay\n",
                     150),
            "%s", out);
  cr_assert(strstr(out, "\n64,8,without_fix,2,0,0.000000,,,,2,1,storesim run "), "%s", out);
}

Test(map, the_same_numbers_for_any_worker_count_and_shard) {
  const char *args = " --set store.tasks=16,32 --metric tasks.exhausted_at.final";
  cr_assert_eq(sh("'%s'" MAP "%s --jobs 1 --csv '%s/j1.csv' --jsonl '%s/j1.jsonl' >/dev/null", BIN,
                  args, dir, dir),
               0, "%s", out);
  cr_assert_eq(sh("'%s'" MAP "%s --jobs 2 --csv '%s/j2.csv' >/dev/null", BIN, args, dir), 0, "%s",
               out);
  cr_assert_eq(sh("cmp '%s/j1.csv' '%s/j2.csv'", dir, dir), 0, "%s", out);
  for (int k = 0; k < 2; k++)
    cr_assert_eq(sh("'%s'" MAP "%s --shard %d/2 --jobs 2 --jsonl '%s/s%d.jsonl' >/dev/null", BIN,
                    args, k, dir, k),
                 0, "%s", out);
  cr_assert_eq(sh("cat '%s/s0.jsonl' '%s/s1.jsonl' | sort > '%s/s.sorted' && sort '%s/j1.jsonl' "
                  "| cmp - '%s/s.sorted'",
                  dir, dir, dir, dir, dir),
               0, "%s", out);
  cr_assert_eq(sh("head -1 '%s/j1.jsonl'", dir), 0);
  cr_assert(strstr(out, "\"cell\":{\"store.tasks\":\"16\"},\"values\":{\"tasks.exhausted_at."
                        "final\":18"),
            "%s", out);
}

Test(map, bad_axes_and_metrics_are_usage_errors_before_any_run) {
  static const struct {
    const char *args, *says;
  } bad[] = {
      {"--set store.tasks=16,abc", "store.tasks: expected an integer, got 'abc'"},
      {"--set store.tasks=5..1", "storesim sweep: --set store.tasks=5..1: empty range 5..1"},
      {"--set store.tasks=1..4:0", "the STEP of A..B:STEP must be a whole number > 0"},
      {"--set store.tasks=1h..4", "integers with the same unit on both ends"},
      {"--set store.tasks=16,,32", "an empty value in the list"},
      {"--set store.tasks", "expected KEY=VALUE, KEY=V1,V2,... or KEY=A..B"},
      {"--set store.taks=16,32", "store.taks"},
      {"--metric tasks.exhausted.final", "model store has no metric 'tasks.exhausted'"},
      {"--metric tasks.exhausted_at", "expected METRIC.STAT, STAT one of min, max"},
      {"--metric tasks.exhausted_at.p99", "percentiles exist for sample metrics only"},
      {"--set store.tasks=16,32 --json", "a parameter map is written with --csv"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_eq(sh("'%s'" MAP " %s --jsonl '%s/never.jsonl' 2>&1", BIN, bad[i].args, dir), 2,
                 "%s: %s", bad[i].args, out);
    cr_assert(strstr(out, bad[i].says), "%s: %s", bad[i].args, out);
    cr_assert_neq(access(dir, F_OK), -1);
    char p[300];
    snprintf(p, sizeof p, "%s/never.jsonl", dir);
    cr_assert_eq(access(p, F_OK), -1, "%s: an output was written", bad[i].args);
  }
}

/* Without a map, --metric adds each statistic's median and range to the
 * variant's row, and one --set value is a plain override. */
Test(map, metrics_without_a_map) {
  cr_assert_eq(sh("'%s'" MAP " --set store.tasks=20 --metric tasks.exhausted_at.final --json", BIN),
               0, "%s", out);
  cr_assert(strstr(out, ",\"metrics\":{\"tasks.exhausted_at.final\":{\"median\":18"), "%s", out);
  cr_assert_eq(sh("'%s'" MAP " --metric tasks.exhausted_at.final", BIN), 0, "%s", out);
  cr_assert(strstr(out, "      tasks.exhausted_at.final: median 0:3"), "%s", out);
  cr_assert(strstr(out, " over 2 runs\n"), "%s", out);
}

/* report of a map's --jsonl: one page, a heatmap per variant for two axes,
 * every failing cell linked to its replay command; a sweep without a map is
 * refused with its position. */
Test(map, report_draws_the_map) {
  cr_assert_eq(sh("'%s'" MAP " --set store.tasks=16,64 --set workload.moves.threads=4,8 "
                  "--metric tasks.exhausted_at.final --jsonl '%s/m.jsonl' >/dev/null",
                  BIN, dir),
               0, "%s", out);
  cr_assert_eq(sh("'%s' report '%s/m.jsonl' -o '%s/m.html' 2>&1", BIN, dir, dir), 0, "%s", out);
  cr_assert_eq(sh("cat '%s/m.html'", dir), 0);
  cr_assert(strstr(out, "<h2>kb924567: without_fix</h2>"), "%s", out);
  cr_assert(strstr(out, "<th>store.tasks \\ workload.moves.threads</th><th>4</th><th>8</th>"), "%s",
            out);
  cr_assert(strstr(out, "<b>2/2</b><br>18"), "%s", out); /* 16 tasks: exhausted at 0:31 */
  cr_assert(strstr(out, "<b>0/2</b><br>-<br><a href=\"#r"), "%s", out);
  cr_assert(strstr(out, ", seed 1: <code>storesim run " KB " --variant without_fix --seed 1 --set "
                        "store.tasks=64 --set workload.moves.threads=4</code>"),
            "%s", out);
  /* one axis: a gnuplot plot inline */
  cr_assert_eq(sh("'%s'" MAP " --set store.tasks=16,64 --jsonl '%s/m1.jsonl' >/dev/null", BIN, dir),
               0, "%s", out);
  cr_assert_eq(sh("'%s' report '%s/m1.jsonl' -o '%s/m1.html' 2>&1", BIN, dir, dir), 0, "%s", out);
  cr_assert_eq(sh("grep -c '<svg' '%s/m1.html'", dir), 0, "%s", out);
  /* not a map */
  cr_assert_eq(sh("'%s'" MAP " --jsonl '%s/plain.jsonl' >/dev/null", BIN, dir), 0, "%s", out);
  cr_assert_eq(sh("'%s' report '%s/plain.jsonl' -o '%s/p.html' 2>&1", BIN, dir, dir), 2, "%s", out);
  cr_assert(strstr(out, "/plain.jsonl:1:1: error: a run without \"cell\": not a parameter map"),
            "%s", out);
  cr_assert_eq(sh("test -e '%s/p.html'", dir), 1);
}
