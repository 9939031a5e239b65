/*
 * Limits hold and say so (issue 13): every run-time limit and every bound on
 * input stops with a message naming it (and how to raise it) and exit 2,
 * never a crash, a silent default or a run without end. Driven through the
 * storesim binary. (limits.wall_time and the crash paths: test_crash.c;
 * limits.max_instant_steps: test_world.c and test_runner.c.)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define BIN STORESIM_BINARY_DIR "/storesim"

static char out[65536];

static int sh(const char *script) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "B='%s'; { %s; } 2>&1", BIN, script);
  return kt_sh(cmd, out, sizeof out);
}

/* Each test in a directory of its own with a short queue scenario q.yaml. */
static void setup(void) {
  static char dir[] = "/tmp/storesim-test-limits-XXXXXX";
  cr_assert(mkdtemp(dir));
  cr_assert_eq(chdir(dir), 0);
  FILE *f = fopen("q.yaml", "w");
  cr_assert(f);
  fprintf(
      f,
      "id: q\ntitle: t\nmodel: queue\nduration: 1h\n"
      "arrivals: { interarrival: exp(1s) }\nservice: { time: exp(0.5s) }\nqueue: { workers: 1 }\n"
      "variants: { without_fix: {}, with_fix: {} }\n");
  fclose(f);
}

Test(limits, duration_on_the_command_line_has_the_file_range, .init = setup) {
  cr_assert_eq(sh("$B run q.yaml --duration 36500d"), 2, "%s", out);
  cr_assert(strstr(out, "--duration 36500d: at most 3650d"), "%s", out);
  cr_assert_eq(sh("$B explore --duration 36500d q.yaml"), 2, "%s", out);
  cr_assert_eq(sh("$B run q.yaml --duration 0.4ns"), 2, "%s", out);
  cr_assert(strstr(out, "--duration 0.4ns: must be more than 0"), "%s", out);
}

Test(limits, pct_scheduler_strings_are_checked, .init = setup) {
  const char *bad[] = {"pct:1:-1", "pct:1:2xyz", "pct:1:100000000",
                       "pct:1:0",  "pct:1:2:0",  "pct:1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char s[256];
    snprintf(s, sizeof s, "$B run q.yaml --duration 1m --sched %s", bad[i]);
    cr_assert_eq(sh(s), 2, "%s: %s", bad[i], out);
    cr_assert(strstr(out, "bad scheduler"), "%s: %s", bad[i], out);
  }
  cr_assert_eq(sh("$B run q.yaml --duration 1m --sched pct:1:3:500 >/dev/null"), 0, "%s", out);
  cr_assert_eq(sh("$B sweep q.yaml --sched pct:2xyz --seeds 1-2"), 2, "%s", out);
  cr_assert_eq(sh("$B sweep q.yaml --sched pct:1001 --seeds 1-2"), 2, "%s", out);
}

Test(limits, variants_are_capped, .init = setup) {
  FILE *f = fopen("many.yaml", "w");
  cr_assert(f);
  fprintf(
      f,
      "id: many\ntitle: t\nmodel: queue\nduration: 1h\n"
      "arrivals: { interarrival: exp(1s) }\nservice: { time: exp(0.5s) }\nqueue: { workers: 1 }\n"
      "variants:\n  without_fix: {}\n  with_fix: {}\n");
  for (int i = 0; i < 70; i++) fprintf(f, "  v%d: {}\n", i);
  fclose(f);
  cr_assert_eq(sh("$B validate many.yaml"), 2, "%s", out);
  cr_assert(strstr(out, "many.yaml:73:3: error: variants: at most 64 in one scenario"), "%s", out);
}

Test(limits, host_memory_guard_says_which_limit, .init = setup) {
  cr_assert_eq(sh("$B run q.yaml --set limits.host_memory=1MiB >/dev/null"), 2, "%s", out);
  cr_assert(strstr(out, "host memory guard: storesim uses"), "%s", out);
  cr_assert(strstr(out, "--set limits.host_memory=SIZE"), "%s", out);
}

Test(limits, thread_and_event_limits_say_which, .init = setup) {
  cr_assert_eq(sh("$B run q.yaml --set limits.max_events=1000 >/dev/null"), 2, "%s", out);
  cr_assert(strstr(out, "event limit reached (1000 scheduling events)"), "%s", out);
  cr_assert_eq(sh("$B run q.yaml --set limits.max_threads=3 --set 'arrivals.interarrival=exp(1ms)' "
                  ">/dev/null"),
               2, "%s", out);
  cr_assert(strstr(out, "live thread limit reached (3 threads)"), "%s", out);
}
