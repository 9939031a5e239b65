/*
 * storesim shrink (tools/shrink.c) and the lenient replay it uses
 * (sim/kernel/sched.c): the shipped evidence of docs/shrinking.md.
 *
 *  - q279798's race without the fix, from the PCT schedule explore finds
 *    first (pct:29:2:52): the shrunk run deadlocks on the same two IMAIL
 *    sections with two store tasks, whose four lock operations (each takes
 *    one section and blocks on the other) are the whole failure, and
 *    min.yaml with min.log replays it;
 *  - kb924567: the fewest moves that exhaust 32 tasks is 32 once the
 *    background work is shrunk away (every pending flush and every active
 *    copy holds a task), and 31 do not;
 *  - exit statuses, and a lenient log whose deviation names no candidate
 *    is the fifo run.
 * Runs the storesim binary of the build.
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
#define Q SRC "/scenarios/q279798.yaml"
#define KB SRC "/scenarios/kb924567.yaml"

static char out[1 << 18];

#define sh(...) kt_shf(out, sizeof out, __VA_ARGS__)

static char dir[256];
static void mkscratch(void) { kt_scratch(dir, sizeof dir, "test_shrink"); }
static void rmscratch(void) { kt_unscratch(dir); }

TestSuite(shrink, .init = mkscratch, .fini = rmscratch);

/* The number after "<what>: <from> -> " in an account line, or -1. */
static long after_arrow(const char *text, const char *what) {
  const char *p = strstr(text, what);
  if (!p) return -1;
  p = strstr(p, "-> ");
  return p ? strtol(p + 3, NULL, 10) : -1;
}

Test(shrink, q279798_race_to_two_threads_and_four_lock_operations, .timeout = 240) {
  cr_assert_eq(sh("'%s' shrink " Q " --variant race_without_fix --sched pct:29:2:52 "
                  "--duration 10s -o '%s/q' 2>&1",
                  BIN, dir),
               0, "%s", out);
  cr_assert(strstr(out, "failure: deadlock on imail.cs_charset,imail.cs_content"), "%s", out);
  /* two store tasks, one lock operation pair each */
  cr_assert_eq(after_arrow(out, "store.tasks:"), 2, "%s", out);
  cr_assert(strstr(out, "the failure's locks: 4 lock operations by 2 threads"), "%s", out);
  /* fewer deviations from fifo than PCT made, and not none: fifo does not
   * interleave the two conversions */
  long devs = after_arrow(out, "schedule:");
  cr_assert(devs >= 1 && devs <= 3, "%s", out);
  cr_assert(strstr(out, "duration: 10s -> 2s"), "%s", out);
  /* the account file says the same */
  char acc[1 << 14];
  cr_assert_eq(kt_shf(acc, sizeof acc, "cat '%s/q/account.txt'", dir), 0);
  cr_assert(strstr(out, acc), "account.txt:\n%s\nprinted:\n%s", acc, out);

  /* min.yaml is a valid scenario, and with min.log it deadlocks the same way */
  cr_assert_eq(sh("'%s' validate '%s/q/min.yaml' 2>&1", BIN, dir), 0, "%s", out);
  cr_assert_eq(sh("'%s' run '%s/q/min.yaml' --variant race_without_fix --sched "
                  "replay:'%s/q/min.log' -v 2>&1",
                  BIN, dir, dir),
               1, "%s", out);
  cr_assert(strstr(out, "DEADLOCK: wait-for cycle of 2 threads at t=2.000000000s"), "%s", out);
  sh("'%s' explain '%s/q/min.yaml' --variant race_without_fix --sched replay:'%s/q/min.log' 2>&1",
     BIN, dir, dir);
  cr_assert(strstr(out, "Deadlock: store-task-") && strstr(out, "mutex imail.cs_content") &&
                strstr(out, "mutex imail.cs_charset"),
            "%s", out);
  /* min.dev, the deviations alone (a lenient log), gives the same run */
  cr_assert_eq(sh("'%s' run '%s/q/min.yaml' --variant race_without_fix --sched "
                  "replay:'%s/q/min.dev' -v 2>&1",
                  BIN, dir, dir),
               1, "%s", out);
  cr_assert(strstr(out, "DEADLOCK: wait-for cycle of 2 threads at t=2.000000000s"), "%s", out);
  /* ... and not without it: the schedule is the cause */
  sh("'%s' run '%s/q/min.yaml' --variant race_without_fix -v 2>&1", BIN, dir);
  cr_assert_null(strstr(out, "DEADLOCK"), "%s", out);
}

Test(shrink, kb924567_fewest_moves_that_exhaust_the_tasks, .timeout = 240) {
  cr_assert_eq(sh("'%s' shrink " KB " --variant without_fix --expect 'tasks.free_low.final > 0' "
                  "--keep store.tasks -o '%s/kb' 2>&1",
                  BIN, dir),
               0, "%s", out);
  /* the arithmetic: every pending flush and every active copy holds a task,
   * background work (SMTP, OWA, MAPI) the rest; with the background shrunk
   * away, the moves alone must hold all 32 tasks: 32 mailboxes */
  cr_assert_eq(after_arrow(out, "workload.smtp.rate:"), 0, "%s", out);
  cr_assert_eq(after_arrow(out, "workload.owa.rate:"), 0, "%s", out);
  cr_assert_eq(after_arrow(out, "workload.mapi.rate:"), 0, "%s", out);
  cr_assert_eq(after_arrow(out, "workload.moves.count:"), 32, "%s", out);
  cr_assert_null(strstr(out, "store.tasks:"), "--keep store.tasks: %s", out);
  /* min.yaml fails that way at its default seed under fifo ... */
  cr_assert_eq(sh("'%s' run '%s/kb/min.yaml' --variant without_fix -v 2>&1", BIN, dir), 1, "%s",
               out);
  cr_assert(strstr(out, "FAILED without_fix: tasks.free_low.final > 0"), "%s", out);
  /* ... and so does min.log replayed */
  cr_assert_eq(sh("'%s' run '%s/kb/min.yaml' --variant without_fix --sched replay:'%s/kb/min.log' "
                  "-v 2>&1",
                  BIN, dir, dir),
               1, "%s", out);
  cr_assert(strstr(out, "FAILED without_fix: tasks.free_low.final > 0"), "%s", out);
  /* one mailbox fewer leaves a task free: 32 is the smallest */
  cr_assert_eq(sh("'%s' run '%s/kb/min.yaml' --variant without_fix "
                  "--set without_fix:workload.moves.count=31 -v 2>&1",
                  BIN, dir),
               1, "%s", out);
  cr_assert_null(strstr(out, "FAILED without_fix: tasks.free_low.final > 0"), "%s", out);
}

/* sweep --shrink: the first failing run in seed order, given to the same
 * shrink (seed 29 of pct:2:52 is explore's first PCT deadlock). */
Test(shrink, sweep_shrinks_its_first_failing_run, .timeout = 240) {
  cr_assert_eq(sh("'%s' sweep " Q " --variant race_without_fix --sched pct:2:52 --seeds 28-30 "
                  "--set race_without_fix:duration=10s --log-dir '%s/logs' --shrink '%s/sw' "
                  "--jobs 2 2>&1",
                  BIN, dir, dir),
               0, "%s", out);
  cr_assert(strstr(out, "sweep --shrink: the first failing run, variant race_without_fix, seed 1, "
                        "pct:29:2:52"),
            "%s", out);
  cr_assert_eq(after_arrow(out, "store.tasks:"), 2, "%s", out);
  cr_assert(strstr(out, "the failure's locks: 4 lock operations by 2 threads"), "%s", out);
  char p[512];
  snprintf(p, sizeof p, "%s/sw/min.log", dir);
  cr_assert_eq(access(p, F_OK), 0, "%s", out);
}

Test(shrink, exit_statuses) {
  /* the race with the fix under fifo does not fail: 1, nothing written */
  cr_assert_eq(
      sh("'%s' shrink " Q " --variant race_with_fix --duration 10s -o '%s/none' 2>&1", BIN, dir), 1,
      "%s", out);
  cr_assert(strstr(out, "does not fail"), "%s", out);
  char p[512];
  snprintf(p, sizeof p, "%s/none", dir);
  cr_assert_neq(access(p, F_OK), 0, "%s was written", p);
  /* usage and input errors: 2 */
  cr_assert_eq(sh("'%s' shrink " Q " 2>&1", BIN), 2, "%s", out);
  cr_assert(strstr(out, "--variant"), "%s", out);
  cr_assert_eq(sh("'%s' shrink " Q " --variant nosuch 2>&1", BIN), 2, "%s", out);
  cr_assert(strstr(out, "no variant 'nosuch'"), "%s", out);
  cr_assert_eq(sh("'%s' shrink " Q " --variant race_without_fix --keep store.version 2>&1", BIN), 2,
               "%s", out);
  cr_assert(strstr(out, "not a shrinkable parameter"), "%s", out);
  cr_assert_eq(sh("'%s' shrink %s/nosuch.yaml --variant x 2>&1", BIN, dir), 2, "%s", out);
}

/* A lenient log ("# storesim deviations v1") takes fifo's choice wherever
 * it lists none and skips a deviation whose thread is not a candidate: a
 * log of deviations that never match is the fifo run, and a plain log
 * diverges where the lenient one goes on. */
Test(shrink, lenient_replay_skips_what_does_not_match) {
  char fifo[64], len[64];
  FILE *f;
  char path[512];
  snprintf(path, sizeof path, "%s/x.dev", dir);
  f = fopen(path, "w");
  cr_assert(f);
  fprintf(f, "# storesim deviations v1\n@3 T99 no-such-thread run\n"
             "store-task-0 start 1 no-such-thread start\n");
  fclose(f);
  cr_assert_eq(
      sh("'%s' run " Q " --variant race_without_fix --duration 10s --json 2>/dev/null", BIN), 0,
      "%s", out);
  char *h = strstr(out, "\"trace_hash\":\"");
  while (h && !strncmp(h + 14, "0000000000000000", 16)) h = strstr(h + 1, "\"trace_hash\":\"");
  cr_assert(h, "%s", out);
  snprintf(fifo, sizeof fifo, "%.16s", h + 14);
  cr_assert_eq(sh("'%s' run " Q " --variant race_without_fix --duration 10s --sched replay:'%s' "
                  "--json 2>/dev/null",
                  BIN, path),
               0, "%s", out);
  h = strstr(out, "\"trace_hash\":\"");
  while (h && !strncmp(h + 14, "0000000000000000", 16)) h = strstr(h + 1, "\"trace_hash\":\"");
  cr_assert(h, "%s", out);
  snprintf(len, sizeof len, "%.16s", h + 14);
  cr_assert_str_eq(len, fifo);
  /* the same lines under a plain replay's header: it diverges (exit 2) */
  f = fopen(path, "w");
  cr_assert(f);
  fprintf(f, "# storesim decision log v1 policy=random:1 seed=1\n1 T99 no-such-thread run\n");
  fclose(f);
  cr_assert_eq(sh("'%s' run " Q " --variant race_without_fix --duration 10s --sched replay:'%s' "
                  "2>&1",
                  BIN, path),
               2, "%s", out);
  cr_assert(strstr(out, "replay diverged"), "%s", out);
}
