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
  cr_assert(strstr(out, "event limit reached (1000 scheduling events;"), "%s", out);
  cr_assert_eq(sh("$B run q.yaml --set limits.max_threads=3 --set 'arrivals.interarrival=exp(1ms)' "
                  ">/dev/null"),
               2, "%s", out);
  cr_assert(strstr(out, "live thread limit reached (3 threads;"), "%s", out);
}

/* ---- the kernel's side: a stopping world starts nothing more ---- */

typedef struct burst {
  sim_world_t *w;
  int n, interrupt_after, spawned;
} burst_t;

static void idle_thread(void *arg) { (void)arg; }

static void burst_cb(sim_world_t *w, void *arg) {
  burst_t *b = arg;
  for (int i = 0; i < b->n; i++) {
    if (i == b->interrupt_after) sim_world_interrupt(w); /* as the SIGINT handler does */
    b->spawned += sim_thread_spawn(w, "customer", NULL, idle_thread, NULL) != NULL;
  }
}

Test(limits_kernel, an_interrupt_ends_a_burst_of_spawns_at_once) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  sim_world_t *w = kt_world_opts(&o);
  burst_t b = {w, 100000, 1000, 0};
  sim_at(w, 5, burst_cb, &b);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EINTR);
  cr_assert_eq(b.spawned, 1000, "spawned %d threads after the interrupt", b.spawned - 1000);
  /* the world lost spawns: it cannot go on as if it had not */
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EINTR);
  kt_end(w, 1000);
}

typedef struct gcount {
  int calls, fire_at;
} gcount_t;

static int count_guard(void *arg, char *msg, size_t n) {
  gcount_t *g = arg;
  if (++g->calls != g->fire_at) return 0;
  snprintf(msg, n, "test guard fired at call %d", g->calls);
  return 1;
}

Test(limits_kernel, a_tripped_guard_refuses_every_later_spawn) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  gcount_t g = {0, 2};
  o.guard = count_guard;
  o.guard_arg = &g;
  o.guard_every = 100;
  o.guard_steps = 1u << 30;
  sim_world_t *w = kt_world_opts(&o);
  burst_t b = {w, 100000, -1, 0};
  sim_at(w, 5, burst_cb, &b);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
  /* spawn 100 asks (fine), spawn 200 asks (fires): 199 threads, no more */
  cr_assert_eq(b.spawned, 199);
  cr_assert_eq(g.calls, 2, "the guard was asked again after it fired");
  cr_assert_str_eq(sim_world_last_error(w), "test guard fired at call 2");
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
  kt_end(w, 199);
}

static void yielder(void *arg) {
  int n = *(int *)arg;
  for (int i = 0; i < n; i++) sim_yield();
}

/* A run that allocates on every step and spawns nothing is watched too. */
Test(limits_kernel, the_guard_runs_every_guard_steps_scheduling_steps) {
  static int n = 100000;
  for (int fire = 0; fire <= 1; fire++) {
    sim_world_opts_t o;
    sim_world_opts_init(&o);
    gcount_t g = {0, fire ? 5 : -1};
    o.guard = count_guard;
    o.guard_arg = &g;
    o.guard_steps = 1000;
    sim_world_t *w = kt_world_opts(&o);
    cr_assert_not_null(sim_thread_spawn(w, "a", NULL, yielder, &n));
    cr_assert_not_null(sim_thread_spawn(w, "b", NULL, yielder, &n));
    int rc = sim_world_run(w, SIM_TIME_MAX);
    uint64_t steps = sim_world_steps(w);
    if (!fire) {
      cr_assert_eq(rc, 0);
      cr_assert_geq(steps, 200000u);
      cr_assert(g.calls >= (int)(steps / 1000) - 1 && g.calls <= (int)(steps / 1000) + 2,
                "%d guard calls in %llu steps", g.calls, (unsigned long long)steps);
      kt_end(w, 0);
    } else {
      cr_assert_eq(rc, SIM_ELIMIT);
      cr_assert(steps >= 4900 && steps <= 5100, "stopped after %llu steps", (unsigned long long)steps);
      kt_end(w, 2);
    }
  }
}

/* A live-thread or event limit says which limit and how to raise it. */
Test(limits, event_limit_is_bounded_by_default, .init = setup) {
  cr_assert_eq(sh("$B schema --markdown | grep '`limits.max_events`'"), 0, "%s", out);
  cr_assert(strstr(out, "`1000000000`"), "%s", out);
  cr_assert_eq(sh("$B run q.yaml --set limits.max_events=1000 >/dev/null"), 2, "%s", out);
  cr_assert(strstr(out, "--set limits.max_events=N"), "%s", out);
  cr_assert_null(strstr(out, "no sample was taken"), "a stopped run's undefined values are no "
                                                     "second error: %s", out);
}
