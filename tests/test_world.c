/*
 * Tests of the world: the virtual clock, event ordering by (time, sequence)
 * and its ties, sim_at callbacks, simulated threads (spawn, join, exit, yield,
 * sleep, names and ids, cancellation), the run-until contract, interrupts and
 * limits (max_threads, max_events, the stall limit max_instant_steps), world options and the random streams.
 *
 * Each test runs in its own process (Criterion) and ends with kt_end(), which
 * checks the number of live threads and destroys the world.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "ktest.h"

static _Atomic int stack_bad;

/* An ordered log of small integers, shared by the threads of one test. */
#define LOGMAX 256
static struct {
  long v[LOGMAX];
  sim_time_t t[LOGMAX];
  size_t n;
} lg;

static void log_at(sim_world_t *w, long v) {
  cr_assert_lt(lg.n, LOGMAX);
  lg.t[lg.n] = sim_now(w);
  lg.v[lg.n++] = v;
}

static sim_world_t *self_world(void) {
  return sim_thread_world(sim_self());
}

static void assert_log(const long *want, size_t n) {
  cr_assert_eq(lg.n, n, "log has %zu entries, expected %zu", lg.n, n);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(lg.v[i], want[i], "log[%zu] = %ld, expected %ld", i, lg.v[i],
                 want[i]);
}

/* ---- world creation and options ------------------------------------------ */

Test(world, create_defaults) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  cr_assert_eq(o.ncores, 2);
  cr_assert_eq(o.stack_size, 256 * 1024);
  cr_assert_eq(o.cpu_quantum, 10 * SIM_MS);
  cr_assert_null(o.sched);
  o.seed = 42;
  sim_world_t *w = kt_world_opts(&o);
  cr_assert_eq(sim_now(w), 0);
  cr_assert_eq(sim_world_seed(w), 42);
  cr_assert_eq(sim_world_steps(w), 0);
  cr_assert_eq(sim_world_live_threads(w), 0);
  cr_assert_eq(sim_world_nreports(w), 0);
  cr_assert_null(sim_self());
  kt_end(w, 0);
}

Test(world, create_null_opts_is_defaults) {
  sim_world_t *w = NULL;
  cr_assert_eq(sim_world_create(NULL, &w, NULL, 0), 0);
  cr_assert_eq(sim_cpu_cores(w), 2);
  kt_end(w, 0);
}

Test(world, create_rejects_bad_scheduler) {
  const char *bad[] = {"bogus", "random:", "random:x", "pct:1", "pct:1:0",
                       "pct:a:b", "replay:", "replay:/nonexistent/dlog"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    sim_world_opts_t o;
    sim_world_opts_init(&o);
    o.sched = bad[i];
    sim_world_t *w = (sim_world_t *)1;
    char err[256] = "";
    int rc = sim_world_create(&o, &w, err, sizeof err);
    cr_assert_eq(rc, SIM_EINVAL, "sched '%s' gave %d", bad[i], rc);
    cr_assert_null(w, "sched '%s': *out must be NULL on error", bad[i]);
    cr_assert_neq(err[0], 0, "sched '%s': an error message is expected",
                  bad[i]);
  }
  kt_leak_check(); /* the half-built worlds were freed */
}

Test(world, create_rejects_unwritable_decision_log) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.decision_log = "/nonexistent-dir/dlog";
  sim_world_t *w = (sim_world_t *)1;
  char err[256] = "";
  cr_assert_eq(sim_world_create(&o, &w, err, sizeof err), SIM_EINVAL);
  cr_assert_null(w);
  kt_assert_contains(err, "/nonexistent-dir/dlog");
  kt_leak_check();
}

Test(world, create_accepts_schedulers) {
  const char *good[] = {NULL, "", "fifo", "random:7", "pct:7:1", "pct:7:3",
                        "pct:7:3:50"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    sim_world_t *w = kt_world(good[i]);
    kt_end(w, 0);
  }
}

Test(world, create_rejects_bad_options) {
  sim_world_opts_t o;
  sim_world_t *w = (sim_world_t *)1;
  sim_world_opts_init(&o);
  o.ncores = 0;
  cr_assert_eq(sim_world_create(&o, &w, NULL, 0), SIM_EINVAL);
  cr_assert_null(w);
  sim_world_opts_init(&o);
  o.stack_size = 4096;
  cr_assert_eq(sim_world_create(&o, &w, NULL, 0), SIM_EINVAL);
  sim_world_opts_init(&o);
  o.cpu_quantum = 0;
  cr_assert_eq(sim_world_create(&o, &w, NULL, 0), SIM_EINVAL);
  sim_world_opts_init(&o);
  o.sample_interval = -1;
  cr_assert_eq(sim_world_create(&o, &w, NULL, 0), SIM_EINVAL);
  kt_leak_check();
}

Test(world, destroy_accepts_null) { sim_world_destroy(NULL); }

Test(world, strerror_table) {
  int codes[] = {SIM_OK,       SIM_ENOMEM,   SIM_EINVAL,    SIM_ETIMEDOUT,
                 SIM_ECANCELED, SIM_EDEADLK, SIM_EHANG,     SIM_ELIMIT,
                 SIM_EINTR,    SIM_EREPLAY,  SIM_EMEMLIMIT, SIM_EIO,
                 SIM_EBUSY};
  size_t n = sizeof codes / sizeof *codes;
  for (size_t i = 0; i < n; i++) {
    cr_assert_not_null(sim_strerror(codes[i]));
    cr_assert_str_neq(sim_strerror(codes[i]), "unknown error");
    for (size_t j = 0; j < i; j++)
      cr_assert_str_neq(sim_strerror(codes[i]), sim_strerror(codes[j]));
  }
  cr_assert_str_eq(sim_strerror(SIM_OK), "success");
  cr_assert_str_eq(sim_strerror(-999), "unknown error");
  cr_assert_str_eq(sim_strerror(1), "unknown error");
}

/* ---- the clock ----------------------------------------------------------- */

static void sleeper_steps(void *arg) {
  sim_world_t *w = self_world();
  cr_assert_eq(sim_sleep(5 * SIM_MS), 0);
  log_at(w, 1);
  cr_assert_eq(sim_sleep(0), 0);
  log_at(w, 2);
  cr_assert_eq(sim_sleep(SIM_SEC + 3), 0);
  log_at(w, 3);
  cr_assert_eq(sim_sleep_until(2 * SIM_SEC), 0);
  log_at(w, 4);
  /* A deadline already past wakes at once, without moving the clock back. */
  cr_assert_eq(sim_sleep_until(SIM_SEC), 0);
  log_at(w, 5);
}

Test(clock, sleep_advances_exactly) {
  sim_world_t *w = kt_world(NULL);
  cr_assert_not_null(sim_thread_spawn(w, "sleeper", NULL, sleeper_steps, NULL));
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 2, 3, 4, 5};
  assert_log(want, 5);
  cr_assert_eq(lg.t[0], 5 * SIM_MS);
  cr_assert_eq(lg.t[1], 5 * SIM_MS);
  cr_assert_eq(lg.t[2], 5 * SIM_MS + SIM_SEC + 3);
  cr_assert_eq(lg.t[3], 2 * SIM_SEC);
  cr_assert_eq(lg.t[4], 2 * SIM_SEC);
  /* Everything finished: with SIM_TIME_MAX the clock stays at the last event. */
  cr_assert_eq(sim_now(w), 2 * SIM_SEC);
  kt_end(w, 0);
}

Test(clock, units) {
  cr_assert_eq(SIM_US, 1000 * SIM_NS);
  cr_assert_eq(SIM_MS, 1000 * SIM_US);
  cr_assert_eq(SIM_SEC, 1000 * SIM_MS);
  cr_assert_eq(SIM_MIN, 60 * SIM_SEC);
  cr_assert_eq(SIM_HOUR, 60 * SIM_MIN);
  cr_assert_eq(SIM_DAY, 24 * SIM_HOUR);
  cr_assert_eq(sizeof(sim_time_t), 8);
}

static void sleep_until_10ms(void *arg) {
  cr_assert_eq(sim_sleep_until(10 * SIM_MS), 0);
  log_at(self_world(), 10);
  cr_assert_eq(sim_sleep_until(20 * SIM_MS), 0);
  log_at(self_world(), 20);
}

Test(clock, run_until_is_inclusive_and_resumable) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "s", NULL, sleep_until_10ms, NULL);
  cr_assert_eq(sim_world_run(w, 10 * SIM_MS - 1), 0);
  cr_assert_eq(lg.n, 0, "nothing may happen before 10 ms");
  cr_assert_eq(sim_now(w), 10 * SIM_MS - 1, "the clock stops at `until`");
  cr_assert_eq(sim_world_live_threads(w), 1);
  cr_assert_eq(sim_world_run(w, 10 * SIM_MS), 0);
  cr_assert_eq(lg.n, 1, "events at `until` itself are run");
  cr_assert_eq(lg.t[0], 10 * SIM_MS);
  cr_assert_eq(sim_now(w), 10 * SIM_MS);
  /* Running to an earlier time does nothing and does not move the clock. */
  cr_assert_eq(sim_world_run(w, 5 * SIM_MS), 0);
  cr_assert_eq(sim_now(w), 10 * SIM_MS);
  cr_assert_eq(lg.n, 1);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 2);
  cr_assert_eq(lg.t[1], 20 * SIM_MS);
  kt_end(w, 0);
}

Test(clock, empty_world_runs_to_until) {
  sim_world_t *w = kt_world(NULL);
  cr_assert_eq(sim_world_run(w, 7 * SIM_SEC), 0);
  cr_assert_eq(sim_now(w), 7 * SIM_SEC);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_now(w), 7 * SIM_SEC);
  kt_end(w, 0);
}

/* ---- events: (time, sequence) and ties ------------------------------------ */

static void cb_log(sim_world_t *w, void *arg) { log_at(w, (long)(intptr_t)arg); }

Test(events, callbacks_by_time_then_insertion) {
  sim_world_t *w = kt_world(NULL);
  sim_at(w, 30 * SIM_MS, cb_log, (void *)30);
  sim_at(w, 10 * SIM_MS, cb_log, (void *)11);
  sim_at(w, 20 * SIM_MS, cb_log, (void *)20);
  sim_at(w, 10 * SIM_MS, cb_log, (void *)12);
  sim_at(w, 0, cb_log, (void *)0);
  sim_at(w, 10 * SIM_MS, cb_log, (void *)13);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {0, 11, 12, 13, 20, 30};
  assert_log(want, 6);
  sim_time_t tw[] = {0, 10 * SIM_MS, 10 * SIM_MS, 10 * SIM_MS, 20 * SIM_MS,
                     30 * SIM_MS};
  for (size_t i = 0; i < 6; i++)
    cr_assert_eq(lg.t[i], tw[i], "callback %zu ran at %lld", i,
                 (long long)lg.t[i]);
  kt_end(w, 0);
}

/* Many callbacks at few distinct times, inserted in a scrambled order: the
 * heap must still deliver them by time, ties by insertion. */
static long many_prev_t = -1, many_prev_k = -1;
static size_t many_n;
static void cb_many(sim_world_t *w, void *arg) {
  long k = (long)(intptr_t)arg;
  long t = (long)sim_now(w);
  cr_assert_geq(t, many_prev_t);
  if (t == many_prev_t)
    cr_assert_gt(k, many_prev_k, "tie at t=%ld broken out of insertion order",
                 t);
  cr_assert_eq(t, (k * 7919) % 13, "callback %ld ran at the wrong time", k);
  many_prev_t = t;
  many_prev_k = k;
  many_n++;
}

Test(events, heap_order_many) {
  sim_world_t *w = kt_world(NULL);
  for (long k = 0; k < 5000; k++)
    sim_at(w, (k * 7919) % 13, cb_many, (void *)(intptr_t)k);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(many_n, 5000);
  kt_end(w, 0);
}

/* Threads that sleep and callbacks that schedule more callbacks, interleaved,
 * so that pops are followed by pushes at the same and later times, and the
 * run is cut by `until` and resumed: every event must come due exactly at
 * its time, in (time, order of scheduling). k numbers the events in the
 * order they were scheduled, which is the order of their sequence numbers. */
#define MIX_MAX 100000
static struct {
  long last_t, last_k, n, next_k;
  sim_time_t due[MIX_MAX];
  sim_rng_t rng;
} mix;

static void mix_note(sim_world_t *w, long k) {
  long t = (long)sim_now(w);
  cr_assert_eq(t, (long)mix.due[k], "event %ld came at %ld, due at %lld", k, t,
               (long long)mix.due[k]);
  cr_assert(t > mix.last_t || (t == mix.last_t && k > mix.last_k),
            "event (t=%ld, k=%ld) came after (t=%ld, k=%ld)", t, k, mix.last_t, mix.last_k);
  mix.last_t = t;
  mix.last_k = k;
  mix.n++;
}

static long mix_schedule(sim_world_t *w, sim_time_t d) {
  long k = mix.next_k++;
  cr_assert_lt(k, MIX_MAX);
  mix.due[k] = sim_now(w) + d;
  return k;
}

static void cb_mix(sim_world_t *w, void *arg) {
  mix_note(w, (long)(intptr_t)arg);
  for (int j = (int)sim_rng_below(&mix.rng, 3); j > 0 && mix.next_k < 20000; j--) {
    sim_time_t d = (sim_time_t)sim_rng_below(&mix.rng, 4) * 7;
    sim_at(w, sim_now(w) + d, cb_mix, (void *)(intptr_t)mix_schedule(w, d));
  }
}

static void mix_sleeper(void *arg) {
  (void)arg;
  sim_world_t *w = self_world();
  for (int i = 0; i < 300; i++) {
    sim_time_t d = (sim_time_t)sim_rng_below(&mix.rng, 4) * 7;
    long k = mix_schedule(w, d);
    sim_sleep(d);
    mix_note(w, k);
  }
}

Test(events, heap_order_with_pushes_after_pops) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.sample_interval = 5; /* sampling events in the heap too */
  o.stack_size = 64 * 1024;
  sim_world_t *w = kt_world_opts(&o);
  mix.last_t = mix.last_k = -1;
  sim_rng_init(&mix.rng, 7, "heap");
  for (int i = 0; i < 20; i++) sim_thread_spawn(w, "s", NULL, mix_sleeper, NULL);
  for (int i = 0; i < 20; i++) {
    sim_time_t d = (sim_time_t)sim_rng_below(&mix.rng, 30);
    sim_at(w, d, cb_mix, (void *)(intptr_t)mix_schedule(w, d));
  }
  sim_time_t until = 0;
  int rc;
  while ((rc = sim_world_run(w, until)) == 0 && until < 100000) {
    cr_assert_eq(sim_now(w), until);
    until += 13;
  }
  cr_assert_eq(rc, 0);
  cr_assert_gt(mix.n, 20 * 300);
  cr_assert_eq(mix.n, mix.next_k, "%ld events scheduled, %ld came", mix.next_k, mix.n);
  kt_end(w, 0);
}

static void cb_chain(sim_world_t *w, void *arg) {
  long k = (long)(intptr_t)arg;
  log_at(w, k);
  if (k < 3)
    sim_at(w, sim_now(w), cb_chain, (void *)(intptr_t)(k + 1));
}

Test(events, callback_at_now_runs_after_at_same_time) {
  sim_world_t *w = kt_world(NULL);
  sim_at(w, 5, cb_chain, (void *)1);
  sim_at(w, 5, cb_log, (void *)100);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 100, 2, 3};
  assert_log(want, 4);
  for (size_t i = 0; i < 4; i++)
    cr_assert_eq(lg.t[i], 5);
  kt_end(w, 0);
}

static void cb_past(sim_world_t *w, void *arg) { sim_at(w, sim_now(w) - 1, cb_log, NULL); }

Test(events, callback_in_the_past_is_misuse, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  sim_at(w, 10, cb_past, NULL);
  sim_world_run(w, SIM_TIME_MAX);
}

/* A thread's timer and a callback due at the same instant run in the order
 * they were scheduled. */
static void sleep_to_5ms_then_log(void *arg) {
  sim_world_t *w = self_world();
  long id = (long)(intptr_t)arg;
  sim_sleep_until(5 * SIM_MS);
  log_at(w, id);
}

static void schedule_cb_5ms(void *arg) {
  sim_world_t *w = self_world();
  sim_at(w, 5 * SIM_MS, cb_log, (void *)(intptr_t)99);
}

Test(events, tie_thread_timer_first) {
  sim_world_t *w = kt_world(NULL);
  /* The sleeper's timer is pushed when it runs, before the spawner's sim_at. */
  sim_thread_spawn(w, "sleeper", NULL, sleep_to_5ms_then_log, (void *)1);
  sim_thread_spawn(w, "scheduler", NULL, schedule_cb_5ms, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 99};
  assert_log(want, 2);
  cr_assert_eq(lg.t[0], 5 * SIM_MS);
  cr_assert_eq(lg.t[1], 5 * SIM_MS);
  kt_end(w, 0);
}

Test(events, tie_callback_first) {
  sim_world_t *w = kt_world(NULL);
  sim_at(w, 5 * SIM_MS, cb_log, (void *)99); /* scheduled before any timer */
  sim_thread_spawn(w, "sleeper", NULL, sleep_to_5ms_then_log, (void *)1);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {99, 1};
  assert_log(want, 2);
  kt_end(w, 0);
}

/* Sleepers due at one instant wake in the order they went to sleep, which
 * here is the reverse of their spawn order. */
static void staggered_sleeper(void *arg) {
  long i = (long)(intptr_t)arg;
  sim_sleep((5 - i) * SIM_MS);
  sim_sleep_until(100 * SIM_MS);
  log_at(self_world(), i);
}

Test(events, timer_ties_wake_in_sleep_order) {
  sim_world_t *w = kt_world(NULL);
  for (long i = 0; i < 5; i++)
    sim_thread_spawn(w, "s", NULL, staggered_sleeper, (void *)(intptr_t)i);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {4, 3, 2, 1, 0};
  assert_log(want, 5);
  for (size_t i = 0; i < 5; i++)
    cr_assert_eq(lg.t[i], 100 * SIM_MS);
  kt_end(w, 0);
}

/* ---- threads --------------------------------------------------------------- */

static void check_self(void *arg) {
  sim_thread_t *t = sim_self();
  cr_assert_not_null(t);
  cr_assert_eq(t, *(sim_thread_t **)arg, "sim_self is the spawned handle");
  cr_assert_eq(sim_thread_state(t), SIM_T_RUNNING);
  cr_assert_eq(sim_thread_proc(t), sim_world_default_proc(sim_thread_world(t)));
  log_at(sim_thread_world(t), (long)sim_thread_id(t));
}

Test(threads, ids_names_and_self) {
  sim_world_t *w = kt_world(NULL);
  static sim_thread_t *h[3];
  const char *names[] = {"alpha", "beta", "gamma"};
  for (int i = 0; i < 3; i++) {
    h[i] = sim_thread_spawn_joinable(w, names[i], NULL, check_self, &h[i]);
    cr_assert_not_null(h[i]);
    cr_assert_eq(sim_thread_id(h[i]), (uint64_t)i + 1, "ids count from 1");
    cr_assert_str_eq(sim_thread_name(h[i]), names[i]);
    cr_assert_eq(sim_thread_world(h[i]), w);
    cr_assert_eq(sim_thread_state(h[i]), SIM_T_READY);
  }
  cr_assert_eq(sim_world_live_threads(w), 3);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 2, 3};
  assert_log(want, 3); /* fifo: spawn order */
  for (int i = 0; i < 3; i++)
    cr_assert_eq(sim_thread_state(h[i]), SIM_T_DONE,
                 "joinable handles stay valid until joined");
  /* Without kept records, a finished thread's name is forgotten (a run of
   * days spawns billions of threads); a live one's is known. */
  cr_assert_str_eq(sim_world_thread_name(w, 2), "?");
  cr_assert_str_eq(sim_world_thread_name(w, 0), "scheduler");
  cr_assert_str_eq(sim_world_thread_name(w, 99), "?");
  cr_assert_eq(sim_world_steps(w), 3);
  kt_end(w, 0);
}

static void sleeper(void *arg) {
  (void)arg;
  sim_sleep(SIM_SEC);
}

/* With kept records (their readers name any thread), names are remembered
 * after the threads finish; without, the live threads' names are known and
 * those of the threads a report named. */
Test(threads, names_remembered_when_records_are_kept) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.keep_trace = 1;
  sim_world_t *w = kt_world_opts(&o);
  cr_assert_not_null(sim_thread_spawn(w, "alpha", NULL, sleeper, NULL));
  cr_assert_not_null(sim_thread_spawn(w, "beta", NULL, sleeper, NULL));
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_str_eq(sim_world_thread_name(w, 2), "beta");
  cr_assert_str_eq(sim_world_thread_name(w, 3), "?");
  kt_end(w, 0);

  w = kt_world(NULL);
  cr_assert_not_null(sim_thread_spawn(w, "alpha", NULL, sleeper, NULL));
  cr_assert_not_null(sim_thread_spawn(w, "beta", NULL, sleeper, NULL));
  cr_assert_not_null(sim_thread_spawn(w, "gamma", NULL, sleeper, NULL));
  cr_assert_str_eq(sim_world_thread_name(w, 2), "beta", "live");
  uint64_t named[] = {3};
  sim_world_file_report(w, "test", "gamma did it", named, 1);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_str_eq(sim_world_thread_name(w, 1), "?", "finished, never named");
  cr_assert_str_eq(sim_world_thread_name(w, 3), "gamma", "named in a report");
  kt_end(w, 0);
}

Test(threads, name_is_copied_and_defaulted) {
  sim_world_t *w = kt_world(NULL);
  char buf[16];
  strcpy(buf, "original");
  sim_thread_t *t = sim_thread_spawn_joinable(w, buf, NULL, check_self, &t);
  strcpy(buf, "clobbered");
  cr_assert_str_eq(sim_thread_name(t), "original");
  sim_thread_t *u = sim_thread_spawn_joinable(w, NULL, NULL, check_self, &u);
  cr_assert_str_eq(sim_thread_name(u), "thread");
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  kt_end(w, 0);
}

static void yielder(void *arg) {
  long id = (long)(intptr_t)arg;
  for (int i = 0; i < 3; i++) {
    log_at(self_world(), id);
    sim_yield();
  }
}

Test(threads, yield_round_robin) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "a", NULL, yielder, (void *)1);
  sim_thread_spawn(w, "b", NULL, yielder, (void *)2);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 2, 1, 2, 1, 2};
  assert_log(want, 6);
  cr_assert_eq(sim_now(w), 0, "yield takes no virtual time");
  kt_end(w, 0);
}

static void lone_yielder(void *arg) {
  uint64_t before = sim_world_steps(self_world());
  sim_yield();
  cr_assert_eq(sim_world_steps(self_world()), before,
               "a yield with nothing else READY does not switch");
  log_at(self_world(), 1);
}

Test(threads, yield_alone_returns_at_once) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "a", NULL, lone_yielder, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 1);
  kt_end(w, 0);
}

static void child_sleeps_7ms(void *arg) {
  sim_sleep(7 * SIM_MS);
  log_at(self_world(), 2);
}

static void exit_level2(int *depth) {
  ++*depth;
  sim_thread_exit();
}

static void nested_exit(int *depth) {
  ++*depth;
  exit_level2(depth);
}

static void child_exits(void *arg) {
  int depth = 0;
  log_at(self_world(), 3);
  nested_exit(&depth);
  cr_assert_fail("sim_thread_exit returned");
}

static void parent_joins(void *arg) {
  sim_world_t *w = self_world();
  sim_thread_t *c = sim_thread_spawn_joinable(w, "child", NULL,
                                              child_sleeps_7ms, NULL);
  log_at(w, 1);
  sim_thread_join(c);
  log_at(w, 4);
  cr_assert_eq(sim_now(w), 7 * SIM_MS);
  /* Joining a thread that already finished returns at once. */
  sim_thread_t *e = sim_thread_spawn_joinable(w, "exiter", NULL, child_exits,
                                              NULL);
  sim_sleep(SIM_MS);
  cr_assert_eq(sim_thread_state(e), SIM_T_DONE);
  sim_time_t t0 = sim_now(w);
  sim_thread_join(e);
  cr_assert_eq(sim_now(w), t0);
  log_at(w, 5);
}

Test(threads, join_and_exit) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "parent", NULL, parent_joins, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 2, 4, 3, 5};
  assert_log(want, 5);
  cr_assert_eq(sim_now(w), 8 * SIM_MS);
  kt_end(w, 0);
}

static void join_self(void *arg) { sim_thread_join(sim_self()); }

Test(threads, join_self_is_misuse, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn_joinable(w, "j", NULL, join_self, NULL);
  sim_world_run(w, SIM_TIME_MAX);
}

Test(threads, blocking_call_outside_a_thread_is_misuse, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  (void)w;
  sim_sleep(1);
}

static void spawned_by_callback(void *arg) { log_at(self_world(), 7); }
static void cb_spawn(sim_world_t *w, void *arg) {
  cr_assert_null(sim_self(), "callbacks run in scheduler context");
  cr_assert_not_null(sim_thread_spawn(w, "late", NULL, spawned_by_callback, NULL));
}

Test(threads, spawn_from_callback) {
  sim_world_t *w = kt_world(NULL);
  sim_at(w, 3 * SIM_MS, cb_spawn, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {7};
  assert_log(want, 1);
  cr_assert_eq(lg.t[0], 3 * SIM_MS);
  kt_end(w, 0);
}

static void nested_spawner(void *arg) {
  long depth = (long)(intptr_t)arg;
  log_at(self_world(), depth);
  if (depth < 4)
    sim_thread_spawn(self_world(), "nest", NULL, nested_spawner,
                     (void *)(intptr_t)(depth + 1));
}

Test(threads, spawn_from_thread) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "nest", NULL, nested_spawner, (void *)0);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {0, 1, 2, 3, 4};
  assert_log(want, 5);
  kt_end(w, 0);
}

static void short_lived(void *arg) {
  sim_rng_t r;
  sim_rng_init(&r, (uint64_t)(intptr_t)arg, "short");
  sim_sleep((sim_time_t)sim_rng_below(&r, 1000));
  lg.n++; /* counts finishers only */
}

Test(threads, thousands_of_threads_reuse_stacks) {
  sim_world_t *w = kt_world(NULL);
  for (long i = 0; i < 3000; i++)
    cr_assert_not_null(sim_thread_spawn(w, "s", NULL, short_lived,
                                        (void *)(intptr_t)i));
  cr_assert_eq(sim_world_live_threads(w), 3000);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 3000);
  /* A second wave after the first finished reuses structs and stacks. */
  for (long i = 0; i < 3000; i++)
    sim_thread_spawn(w, "s2", NULL, short_lived, (void *)(intptr_t)i);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 6000);
  kt_end(w, 0);
}

static void set_activity_then_sleep(void *arg) {
  sim_thread_set_activity(sim_self(), "delivery");
  cr_assert_str_eq(sim_thread_activity(sim_self()), "delivery");
  sim_sleep(SIM_SEC);
}

static void collect_ids(sim_thread_t *t, void *arg) {
  log_at(sim_thread_world(t), (long)sim_thread_id(t));
}

/* Stacks outlive their world in a process-wide cache (ctx.c) and serve the
 * next worlds, on any host thread: threads of later worlds, of two stack
 * sizes, fill a buffer on their stack, sleep, and find it intact. */
static void stack_user(void *arg) {
  volatile unsigned char buf[8192];
  unsigned seed = (unsigned)(uintptr_t)arg;
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(seed + i * 7);
  sim_sleep(1 + seed % 5);
  for (size_t i = 0; i < sizeof buf; i++)
    if (buf[i] != (unsigned char)(seed + i * 7)) stack_bad = 1;
}

static void *stack_churn(void *arg) {
  for (int round = 0; round < 30; round++) {
    sim_world_opts_t o;
    sim_world_opts_init(&o);
    o.stack_size = (round + (int)(intptr_t)arg) % 2 ? 64 * 1024 : 32 * 1024;
    sim_world_t *w = NULL;
    char err[256];
    if (sim_world_create(&o, &w, err, sizeof err) != 0) return "create";
    for (int i = 0; i < 100; i++)
      sim_thread_spawn(w, "u", NULL, stack_user, (void *)(intptr_t)(i + round));
    if (sim_world_run(w, SIM_TIME_MAX) != 0) return "run";
    sim_world_destroy(w);
  }
  return NULL;
}

Test(threads, stacks_reused_across_worlds_and_host_threads) {
  pthread_t th[3];
  for (int i = 0; i < 3; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, stack_churn, (void *)(intptr_t)i), 0);
  for (int i = 0; i < 3; i++) {
    void *r;
    pthread_join(th[i], &r);
    cr_assert_null(r, "host thread %d: %s", i, (const char *)r);
  }
  cr_assert_eq(stack_bad, 0, "a thread's stack changed under it");
}

/* The process-wide stack cache is bounded in bytes (ctx.c,
 * STACK_CACHE_BYTES): after 1024 threads each used 200 KiB of their
 * 256 KiB stacks, destroying the world gives most of it back. */
__attribute__((unused)) static void deep_stack(void *arg) {
  (void)arg;
  volatile char buf[200 * 1024];
  for (size_t i = 0; i < sizeof buf; i += 512) buf[i] = 1;
  sim_sleep(1);
}

Test(threads, stack_cache_keeps_bounded_memory) {
#ifndef KT_LSAN /* AddressSanitizer's fake stacks and shadow move RSS */
  long before = kt_rss_mib();
  sim_world_opts_t o;
  sim_world_opts_init(&o); /* default 256 KiB stacks */
  sim_world_t *w = kt_world_opts(&o);
  for (int i = 0; i < 1024; i++) sim_thread_spawn(w, "deep", NULL, deep_stack, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_geq(kt_rss_mib() - before, 180, "the stacks were used");
  kt_end(w, 0);
  long left = kt_rss_mib() - before;
  cr_assert_lt(left, 80, "%ld MiB of stacks still resident after the world was destroyed", left);
#endif
}

Test(threads, state_describe_and_foreach) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_t *a = sim_thread_spawn(w, "a", NULL, set_activity_then_sleep, NULL);
  sim_thread_t *b = sim_thread_spawn(w, "b", NULL, set_activity_then_sleep, NULL);
  char buf[128];
  sim_thread_describe(a, buf, sizeof buf);
  kt_assert_contains(buf, "ready");
  cr_assert_eq(sim_world_run(w, SIM_MS), 0);
  cr_assert_eq(sim_thread_state(a), SIM_T_BLOCKED);
  sim_thread_describe(b, buf, sizeof buf);
  kt_assert_contains(buf, "sleeping");
  kt_assert_contains(buf, "delivery");
  sim_thread_spawn(w, "c", NULL, set_activity_then_sleep, NULL);
  sim_world_foreach_thread(w, collect_ids, NULL);
  long want[] = {1, 2, 3};
  assert_log(want, 3);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  kt_end(w, 0);
}

/* ---- cancellation ------------------------------------------------------------ */

static void long_sleeper(void *arg) {
  sim_world_t *w = self_world();
  int rc = sim_sleep(10 * SIM_SEC);
  log_at(w, rc);
  cr_assert(sim_thread_canceled(sim_self()));
  sim_time_t t0 = sim_now(w);
  log_at(w, sim_sleep(SIM_SEC)); /* every later sleep is canceled at once */
  cr_assert_eq(sim_now(w), t0);
}

static void cb_cancel(sim_world_t *w, void *arg) {
  sim_thread_cancel((sim_thread_t *)arg);
}

Test(cancel, wakes_a_sleeper_at_cancel_time) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_t *t = sim_thread_spawn(w, "sleeper", NULL, long_sleeper, NULL);
  cr_assert_not(sim_thread_canceled(t));
  sim_at(w, SIM_SEC, cb_cancel, t);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ECANCELED, SIM_ECANCELED};
  assert_log(want, 2);
  cr_assert_eq(lg.t[0], SIM_SEC);
  cr_assert_eq(lg.t[1], SIM_SEC);
  kt_end(w, 0);
}

Test(cancel, before_first_run) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_t *t = sim_thread_spawn(w, "sleeper", NULL, long_sleeper, NULL);
  sim_thread_cancel(t);
  sim_thread_cancel(t); /* twice is harmless */
  cr_assert(sim_thread_canceled(t));
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ECANCELED, SIM_ECANCELED};
  assert_log(want, 2);
  cr_assert_eq(lg.t[0], 0);
  kt_end(w, 0);
}

static void cancel_target_then_log(void *arg) {
  sim_thread_t *c = arg;
  sim_sleep(SIM_MS);
  sim_thread_cancel(c); /* c is blocked in join: not interrupted */
  log_at(self_world(), 1);
}

static void canceled_joiner(void *arg) {
  sim_world_t *w = self_world();
  sim_thread_t *c = sim_thread_spawn_joinable(w, "child", NULL,
                                              child_sleeps_7ms, NULL);
  sim_thread_spawn(w, "canceler", NULL, cancel_target_then_log, sim_self());
  sim_thread_join(c);
  cr_assert_eq(sim_now(w), 7 * SIM_MS, "a join is not interrupted by cancel");
  cr_assert(sim_thread_canceled(sim_self()));
  log_at(w, 3);
}

Test(cancel, join_is_not_interrupted) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "joiner", NULL, canceled_joiner, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 2, 3};
  assert_log(want, 3);
  kt_end(w, 0);
}

static void quick(void *arg) {}

Test(cancel, finished_thread_is_a_no_op) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_t *t = sim_thread_spawn_joinable(w, "q", NULL, quick, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  uint64_t n = sim_world_trace_count(w);
  sim_thread_cancel(t);
  cr_assert_not(sim_thread_canceled(t));
  cr_assert_eq(sim_world_trace_count(w), n);
  kt_end(w, 0);
}

/* ---- run results: interrupt, hang, limits -------------------------------------- */

static void cb_interrupt(sim_world_t *w, void *arg) { sim_world_interrupt(w); }

static void ticker(void *arg) {
  for (int i = 0; i < 10; i++) {
    sim_sleep(SIM_MS);
    log_at(self_world(), i);
  }
}

Test(run, interrupt_stops_and_resumes) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "ticker", NULL, ticker, NULL);
  sim_at(w, 5 * SIM_MS, cb_interrupt, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EINTR);
  cr_assert_eq(sim_now(w), 5 * SIM_MS);
  /* The callback was scheduled at t=0, before the ticker's 5 ms wake (pushed
   * at 4 ms), so it ran first and the run stopped before the wake. */
  cr_assert_eq(lg.n, 4);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 10);
  cr_assert_eq(sim_now(w), 10 * SIM_MS);
  kt_end(w, 0);
}

/* An interrupt from inside a thread stops the run once that thread gives
 * the processor back; nothing else runs in between. */
static void interrupter(void *arg) {
  sim_sleep(2 * SIM_MS);
  sim_world_interrupt(self_world());
  log_at(self_world(), 100);
  sim_sleep(SIM_MS);
  log_at(self_world(), 101);
}

Test(run, interrupt_from_a_thread) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "ticker", NULL, ticker, NULL);
  sim_thread_spawn(w, "interrupter", NULL, interrupter, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EINTR);
  cr_assert_eq(sim_now(w), 2 * SIM_MS);
  /* The interrupter's 2 ms wake was queued (at 0) before the ticker's (at
   * 1 ms), so the ticker has logged only its 1 ms tick. */
  long want[] = {0, 100};
  assert_log(want, 2);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 12);
  kt_end(w, 0);
}

static void waits_forever(void *arg) {
  sim_sem_acquire((sim_sem_t *)arg);
  cr_assert_fail("nobody releases the semaphore");
}

Test(run, hang_returns_ehang_and_reports_once) {
  sim_world_t *w = kt_world(NULL);
  sim_sem_t *s = sim_sem_create(w, "never", 0);
  sim_thread_spawn(w, "waiter", NULL, waits_forever, s);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EHANG);
  cr_assert_eq(kt_nreports(w, SIM_R_HANG), 1);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EHANG);
  cr_assert_eq(kt_nreports(w, SIM_R_HANG), 1, "a hang is reported once");
  /* Destroying a world with a blocked thread frees it. */
  kt_end(w, 1);
}

static void spawn_until_refused(void *arg) {
  sim_world_t *w = self_world();
  long n = 0;
  while (sim_thread_spawn(w, "child", NULL, quick, NULL))
    n++;
  log_at(w, n);
}

Test(limits, max_threads_gives_elimit) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.max_threads = 4;
  o.stack_size = 64 * 1024;
  sim_world_t *w = kt_world_opts(&o);
  sim_thread_spawn(w, "parent", NULL, spawn_until_refused, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
  long want[] = {3}; /* the parent is one of the 4 live threads */
  assert_log(want, 1);
  kt_assert_contains(sim_world_last_error(w), "thread limit");
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT,
               "a tripped limit stays tripped");
  /* The children never ran; destroy frees them. */
  kt_end(w, 3);
}

Test(limits, max_threads_from_outside) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.max_threads = 2;
  sim_world_t *w = kt_world_opts(&o);
  cr_assert_not_null(sim_thread_spawn(w, "a", NULL, quick, NULL));
  cr_assert_not_null(sim_thread_spawn(w, "b", NULL, quick, NULL));
  cr_assert_null(sim_thread_spawn(w, "c", NULL, quick, NULL));
  cr_assert_eq(sim_world_live_threads(w), 2);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
  kt_end(w, 2);
}

static void forever_ticker(void *arg) {
  for (;;)
    sim_sleep(SIM_MS);
}

Test(limits, max_events_gives_elimit_deterministically) {
  sim_time_t first = -1;
  for (int rep = 0; rep < 2; rep++) {
    sim_world_opts_t o;
    sim_world_opts_init(&o);
    o.max_events = 100;
    sim_world_t *w = kt_world_opts(&o);
    sim_thread_spawn(w, "t", NULL, forever_ticker, NULL);
    cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
    kt_assert_contains(sim_world_last_error(w), "event limit");
    cr_assert_gt(sim_now(w), 0);
    cr_assert_leq(sim_now(w), 100 * SIM_MS);
    if (rep == 0)
      first = sim_now(w);
    else
      cr_assert_eq(sim_now(w), first);
    kt_end(w, 1);
  }
}

/* ---- the stall limit (max_instant_steps) ---- */
static void forever_yielder(void *arg) {
  for (;;) sim_yield();
}

Test(limits, stall_limit_stops_a_yield_livelock_with_a_clear_message) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  cr_assert_eq(o.max_instant_steps, SIM_DEFAULT_MAX_INSTANT_STEPS);
  o.max_instant_steps = 1000;
  sim_world_t *w = kt_world_opts(&o);
  sim_thread_spawn(w, "a", NULL, forever_yielder, NULL);
  sim_thread_spawn(w, "b", NULL, forever_yielder, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
  const char *e = sim_world_last_error(w);
  kt_assert_contains(e, "stall limit reached (limits.max_instant_steps = 1000)");
  kt_assert_contains(e, "t=0.000000000s");
  kt_assert_contains(e, "raise limits.max_instant_steps");
  cr_assert_geq(sim_world_steps(w), 1000);
  cr_assert_lt(sim_world_steps(w), 2000, "stopped within twice the limit");
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT, "a tripped limit stays tripped");
  kt_end(w, 2);
}

static sim_sem_t *ping, *pong;
static void pinger(void *arg) {
  sim_sleep(5 * SIM_MS);
  for (;;) {
    sim_sem_release(ping);
    sim_sem_acquire(pong);
  }
}
static void ponger(void *arg) {
  for (;;) {
    sim_sem_acquire(ping);
    sim_sem_release(pong);
  }
}
static void zero_sleeper(void *arg) {
  for (;;) sim_sleep(0);
}

Test(limits, stall_limit_stops_wakeups_and_zero_sleeps_at_one_instant) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.max_instant_steps = 500;
  sim_world_t *w = kt_world_opts(&o);
  ping = sim_sem_create(w, "ping", 0);
  pong = sim_sem_create(w, "pong", 0);
  sim_thread_spawn(w, "pinger", NULL, pinger, NULL);
  sim_thread_spawn(w, "ponger", NULL, ponger, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
  cr_assert_eq(sim_now(w), 5 * SIM_MS);
  kt_assert_contains(sim_world_last_error(w), "t=0.005000000s");
  kt_end(w, 2);

  w = kt_world_opts(&o); /* sleep(0) forever: events, not only switches, pile up */
  sim_thread_spawn(w, "z", NULL, zero_sleeper, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
  kt_assert_contains(sim_world_last_error(w), "stall limit");
  kt_end(w, 1);
}

static int nburst;
static void burst_customer(void *arg) {
  sim_sem_release(ping);
  sim_yield();
  sim_sleep(0);
  nburst++;
}
static void burst(sim_world_t *w, void *arg) {
  for (int i = 0; i < 20000; i++) sim_thread_spawn(w, "customer", NULL, burst_customer, NULL);
}
static void one_ns_ticker(void *arg) {
  for (int i = 0; i < 100000; i++) sim_sleep(1);
}

Test(limits, stall_limit_spares_a_burst_and_a_busy_clock) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.stack_size = 16 * 1024;
  sim_world_t *w = kt_world_opts(&o); /* 20,000 customers at one instant: 10^5 steps there */
  ping = sim_sem_create(w, "ping", 0);
  nburst = 0;
  sim_at(w, SIM_SEC, burst, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0, "%s", sim_world_last_error(w));
  cr_assert_eq(nburst, 20000);
  kt_end(w, 0);

  o.max_instant_steps = 10; /* time moves at every step: never a stall */
  w = kt_world_opts(&o);
  sim_thread_spawn(w, "tick", NULL, one_ns_ticker, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0, "%s", sim_world_last_error(w));
  kt_end(w, 0);

  o.max_instant_steps = 0; /* off */
  o.max_events = 100000;
  w = kt_world_opts(&o);
  sim_thread_spawn(w, "a", NULL, forever_yielder, NULL);
  sim_thread_spawn(w, "b", NULL, forever_yielder, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_ELIMIT);
  kt_assert_contains(sim_world_last_error(w), "event limit");
  kt_end(w, 2);
}

/* ---- random streams ------------------------------------------------------------- */

Test(rng, streams_are_deterministic_and_independent) {
  sim_rng_t a, b, c, d;
  sim_rng_init(&a, 1, "x");
  sim_rng_init(&b, 1, "x");
  sim_rng_init(&c, 1, "y");
  sim_rng_init(&d, 2, "x");
  int same_c = 0, same_d = 0;
  for (int i = 0; i < 100; i++) {
    uint64_t va = sim_rng_u64(&a);
    cr_assert_eq(va, sim_rng_u64(&b));
    same_c += va == sim_rng_u64(&c);
    same_d += va == sim_rng_u64(&d);
  }
  cr_assert_eq(same_c, 0);
  cr_assert_eq(same_d, 0);
}

Test(rng, ranges_and_means) {
  sim_rng_t r;
  sim_rng_init(&r, 3, "ranges");
  double sum = 0, sumn = 0, sumn2 = 0;
  const int n = 200000;
  long hist[7] = {0};
  for (int i = 0; i < n; i++) {
    double u = sim_rng_uniform(&r);
    cr_assert(u >= 0 && u < 1);
    uint64_t k = sim_rng_below(&r, 7);
    cr_assert_lt(k, 7);
    hist[k]++;
    sum += sim_rng_exp(&r, 2.5);
    double z = sim_rng_normal(&r);
    sumn += z;
    sumn2 += z * z;
  }
  /* Means within several standard errors (fixed seed: deterministic). */
  cr_assert_float_eq(sum / n, 2.5, 0.03);
  cr_assert_float_eq(sumn / n, 0.0, 0.01);
  cr_assert_float_eq(sumn2 / n, 1.0, 0.02);
  for (int k = 0; k < 7; k++)
    cr_assert_float_eq((double)hist[k] / n, 1.0 / 7, 0.005);
}

/* sim_rng_exp is a ziggurat sampler (util.c): its core, wedges and tail must
 * together give exactly the exponential distribution. 2*10^6 draws of mean 1:
 * F(X) = 1 - exp(-X) must be uniform (chi-square over 1000 equal bins, 999
 * degrees of freedom: mean 999, SD 44.7; the bound is 6 SD), the tail beyond
 * the base strip's R = 7.697 must hold its share exp(-R) with mean excess 1
 * (memorylessness), and the mean and second moment must be 1 and 2, each
 * within 5 standard errors. Fixed seed: deterministic. */
Test(rng, exp_matches_the_exponential_distribution) {
  sim_rng_t r;
  sim_rng_init(&r, 11, "exp");
  enum { N = 2000000, BINS = 1000 };
  static long bin[BINS];
  const double R = 7.69711747013104972;
  double sum = 0, sum2 = 0, tail_excess = 0;
  long tail = 0;
  for (int i = 0; i < N; i++) {
    double x = sim_rng_exp(&r, 1.0);
    cr_assert(x >= 0 && isfinite(x), "draw %d is %g", i, x);
    sum += x;
    sum2 += x * x;
    if (x > R) {
      tail++;
      tail_excess += x - R;
    }
    int k = (int)(-expm1(-x) * BINS);
    bin[k < BINS ? k : BINS - 1]++;
  }
  double chi2 = 0, e = (double)N / BINS;
  for (int k = 0; k < BINS; k++) chi2 += ((double)bin[k] - e) * ((double)bin[k] - e) / e;
  cr_assert_lt(chi2, 999 + 6 * 44.7, "chi-square %.1f over %d bins", chi2, BINS);
  double pt = exp(-R), et = N * pt;
  cr_assert_float_eq((double)tail, et, 5 * sqrt(et), "tail count %ld, expected %.0f", tail, et);
  cr_assert_float_eq(tail_excess / (double)tail, 1.0, 5 / sqrt((double)tail));
  cr_assert_float_eq(sum / N, 1.0, 5 * sqrt(1.0 / N));
  cr_assert_float_eq(sum2 / N, 2.0, 5 * sqrt(20.0 / N));
  /* a mean scales the draw */
  sim_rng_t a, b;
  sim_rng_init(&a, 5, "scale");
  sim_rng_init(&b, 5, "scale");
  for (int i = 0; i < 1000; i++) cr_assert_eq(sim_rng_exp(&a, 2.5), 2.5 * sim_rng_exp(&b, 1.0));
}

/* ---- hand-off: a thread that gives up the CPU runs the loop's next steps
 * itself and switches straight to the next thread (world.c, "switching").
 * These pin the cases where that path differs from going through the run
 * loop's context. */

/* A thread alone whose own timer is next picks itself: no switch at all. */
static void sleeps_zero_and_one(void *arg) {
  for (int i = 0; i < 1000; i++) {
    sim_sleep(0);
    sim_sleep(1);
  }
  log_at(self_world(), 1);
}

Test(handoff, thread_picks_itself) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "alone", NULL, sleeps_zero_and_one, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 1);
  cr_assert_eq(sim_now(w), 1000);
  cr_assert_eq(sim_world_steps(w), 2001, "one run, then one per wake");
  kt_end(w, 0);
}

/* Each thread spawns the next and finishes: every exit hands the CPU to a
 * thread that has never run, whose first act is to release the finished
 * thread's stack. 20,000 threads in a chain, at most two stacks in use. */
static void chain(void *arg) {
  long left = (long)(intptr_t)arg;
  if (left > 0) sim_thread_spawn(self_world(), "link", NULL, chain, (void *)(intptr_t)(left - 1));
  else log_at(self_world(), (long)sim_world_live_threads(self_world()));
}

Test(handoff, chain_of_exits_releases_stacks) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "link", NULL, chain, (void *)(intptr_t)20000);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 1);
  cr_assert_eq(lg.v[0], 1, "the last link is the only live thread");
  cr_assert_eq(sim_world_steps(w), 20001);
  kt_end(w, 0);
}

/* Callbacks still run on the run loop's stack, outside any thread, in
 * (time, seq) order with the timers the threads process themselves. */
static uintptr_t loop_stack;
static void cb_mark(sim_world_t *w, void *arg) {
  int here;
  cr_assert_null(sim_self());
  uintptr_t d =
      (uintptr_t)&here > loop_stack ? (uintptr_t)&here - loop_stack : loop_stack - (uintptr_t)&here;
  cr_assert_lt(d, 1u << 20, "callback ran %zu bytes from the loop's stack", (size_t)d);
  log_at(w, 'C');
}
static void wakes_at_1s(void *arg) {
  sim_sleep_until(SIM_SEC);
  log_at(self_world(), (long)(intptr_t)arg);
}
static void sleeps_then_spawns(void *arg) {
  sim_sleep(SIM_SEC / 2);
  sim_at(self_world(), SIM_SEC, cb_mark, NULL);
  sim_thread_spawn(self_world(), "B", NULL, wakes_at_1s, (void *)(intptr_t)'B');
}

Test(handoff, callbacks_on_the_loop_stack_in_order) {
  int here;
  loop_stack = (uintptr_t)&here;
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "A", NULL, wakes_at_1s, (void *)(intptr_t)'A');
  sim_thread_spawn(w, "S", NULL, sleeps_then_spawns, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  /* All three are due at 1 s. A's timer was queued first (at 0), so B,
   * giving up the CPU at 0.5 s, processes it and hands off to A; when A
   * finishes the callback (queued at 0.5 s) is next and goes back to the
   * run loop; B's timer was queued after the callback. */
  long want[] = {'A', 'C', 'B'};
  assert_log(want, 3);
  kt_end(w, 0);
}

/* Run-until holds on the thread's path too: a thread that keeps sleeping
 * never carries the clock past `until`. */
static void ticks_forever(void *arg) {
  for (;;) {
    sim_sleep(SIM_SEC);
    log_at(self_world(), 0);
  }
}

Test(handoff, until_stops_a_thread_that_keeps_sleeping) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "t", NULL, ticks_forever, NULL);
  cr_assert_eq(sim_world_run(w, 5 * SIM_SEC + SIM_SEC / 2), 0);
  cr_assert_eq(lg.n, 5);
  cr_assert_eq(sim_now(w), 5 * SIM_SEC + SIM_SEC / 2);
  cr_assert_eq(sim_world_run(w, 10 * SIM_SEC), 0);
  cr_assert_eq(lg.n, 10);
  kt_end(w, 1);
}

/* An interrupt raised by a thread while another is READY: the run stops
 * before the READY one runs, and it runs on the next sim_world_run. */
static void raises_interrupt(void *arg) {
  sim_thread_spawn(self_world(), "other", NULL, wakes_at_1s, (void *)(intptr_t)'O');
  sim_world_interrupt(self_world());
  log_at(self_world(), 'I');
}

Test(handoff, interrupt_with_a_thread_ready) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "i", NULL, raises_interrupt, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EINTR);
  cr_assert_eq(lg.n, 1);
  cr_assert_eq(sim_world_live_threads(w), 1);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {'I', 'O'};
  assert_log(want, 2);
  kt_end(w, 0);
}

/* Regression (issue 12): a thread that finishes while a stale timer of its
 * own is still in the heap (its timed wait ended early by a signal) pops
 * that timer itself, on its own stack, while it looks for the next thread.
 * The struct must survive until another context releases its stack: the
 * kernel freed it there and again in reap_dead, and two later spawns then
 * shared one struct (abort "a finished thread was resumed", or SIGSEGV). */
static sim_mutex_t *stale_m;
static sim_cond_t *stale_c;
static sim_thread_t *stale_kids[2];
static void stale_waiter(void *arg) {
  sim_mutex_lock(stale_m);
  int rc = sim_cond_timedwait(stale_c, stale_m, 10 * SIM_SEC); /* signalled at 1 s */
  sim_mutex_unlock(stale_m);
  log_at(self_world(), rc);
} /* finishes at 1 s; its timer at 10 s is stale */
static void stale_kid(void *arg) {
  sim_sleep(SIM_SEC);
  log_at(self_world(), (long)(intptr_t)arg);
}
static void stale_signaller(void *arg) {
  sim_sleep(SIM_SEC);
  sim_mutex_lock(stale_m);
  sim_cond_signal(stale_c);
  sim_mutex_unlock(stale_m);
  sim_sleep(19 * SIM_SEC); /* the waiter runs, finishes and pops its 10 s timer */
  stale_kids[0] = sim_thread_spawn(self_world(), "kid", NULL, stale_kid, (void *)(intptr_t)'a');
  stale_kids[1] = sim_thread_spawn(self_world(), "kid", NULL, stale_kid, (void *)(intptr_t)'b');
}

Test(handoff, finished_thread_pops_its_own_stale_timer) {
  sim_world_t *w = kt_world(NULL);
  stale_m = sim_mutex_create(w, "m");
  stale_c = sim_cond_create(w, "c");
  sim_thread_spawn(w, "waiter", NULL, stale_waiter, NULL);
  sim_thread_spawn(w, "signaller", NULL, stale_signaller, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_neq(stale_kids[0], stale_kids[1], "two live threads share one struct");
  long want[] = {0, 'a', 'b'};
  assert_log(want, 3);
  cr_assert_eq(sim_now(w), 21 * SIM_SEC);
  kt_end(w, 0);
}
