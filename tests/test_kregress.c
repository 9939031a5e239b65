/*
 * Regression tests for kernel bugs found by the suites and fixed: each test
 * failed before its fix. (Kept apart so the bug they pin is easy to find.)
 */
#include <stdlib.h>
#include <unistd.h>

#include "ktest.h"

static sim_mutex_t *m;
static void worker(void *arg) {
  for (int i = 0; i < 3; i++) {
    sim_mutex_lock(m);
    sim_mutex_unlock(m);
  }
}

static uint64_t run2(const char *sched, const char *dlog, char *err,
                     size_t nerr, int *rc) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.sched = sched;
  o.decision_log = dlog;
  sim_world_t *w = kt_world_opts(&o);
  m = sim_mutex_create(w, "m");
  sim_thread_spawn(w, "a", NULL, worker, NULL);
  sim_thread_spawn(w, "b", NULL, worker, NULL);
  *rc = sim_world_run(w, SIM_TIME_MAX);
  uint64_t h = sim_world_trace_hash(w);
  if (err)
    snprintf(err, nerr, "%s", sim_world_last_error(w));
  sim_world_destroy(w);
  return h;
}

/* BUG 1 (fixed: a scheduling point is one decision):
 * replay of a random/pct decision log gave another trace hash.
 * world.c sim__sched_point: under random/pct a scheduling point that decides
 * to switch traces a "yield" record, and the scheduler then traces "run" for
 * the thread it picks -- even when it picks the same thread again. The
 * decision log has one line for that pick, identical to a "no switch" line,
 * and the replay branch of sim__sched_point switches without tracing "yield"
 * (and does not switch at all when the log names the current thread). The
 * interleaving is reproduced but the trace (hash) is not. */
Test(kbug, random_replay_same_hash) {
  int rc;
  uint64_t h1 = run2("random:7", "/tmp/storesim-kbug-dlog", NULL, 0, &rc);
  cr_assert_eq(rc, 0);
  uint64_t h2 = run2("replay:/tmp/storesim-kbug-dlog", NULL, NULL, 0, &rc);
  cr_assert_eq(rc, 0);
  unlink("/tmp/storesim-kbug-dlog");
  cr_assert_eq(h1, h2, "replay hash %016llx != recorded %016llx",
               (unsigned long long)h2, (unsigned long long)h1);
}

Test(kbug, pct_replay_same_hash) {
  int rc;
  uint64_t h1 = run2("pct:3:3:20", "/tmp/storesim-kbug-dlog2", NULL, 0, &rc);
  uint64_t h2 = run2("replay:/tmp/storesim-kbug-dlog2", NULL, NULL, 0, &rc);
  cr_assert_eq(rc, 0);
  unlink("/tmp/storesim-kbug-dlog2");
  cr_assert_eq(h1, h2, "replay hash %016llx != recorded %016llx",
               (unsigned long long)h2, (unsigned long long)h1);
}

/* BUG 2 (fixed): the divergence message numbers decisions one less than the log.
 * decision_write numbers a line with w->ndecisions after incrementing it
 * (1-based); replay_pick reports w->ndecisions before it is incremented
 * (0-based). Tampering the line numbered 1 of a fifo log gives "decision 0",
 * the line numbered 8 of a random:7 log "decision 7". (Before b89293b the
 * random/pct numbers also had gaps, and the message said "decision 5".) */
static void tamper_line(const char *path, unsigned long long want_n) {
  FILE *f = fopen(path, "r");
  char lines[200][256];
  int n = 0;
  while (n < 200 && fgets(lines[n], 256, f))
    n++;
  fclose(f);
  f = fopen(path, "w");
  int done = 0;
  for (int i = 0; i < n; i++) {
    unsigned long long k, id;
    char name[64], op[64];
    if (lines[i][0] != '#' &&
        sscanf(lines[i], "%llu T%llu %63s %63s", &k, &id, name, op) == 4 &&
        k == want_n) {
      fprintf(f, "%llu T%llu ghost %s\n", k, id, op);
      done = 1;
    } else {
      fputs(lines[i], f);
    }
  }
  fclose(f);
  cr_assert(done, "no decision line numbered %llu", want_n);
}

static void tampered(const char *sched, unsigned long long n) {
  int rc;
  char err[512], want[64];
  run2(sched, "/tmp/storesim-kbug-dlog3", NULL, 0, &rc);
  tamper_line("/tmp/storesim-kbug-dlog3", n);
  run2("replay:/tmp/storesim-kbug-dlog3", NULL, err, sizeof err, &rc);
  unlink("/tmp/storesim-kbug-dlog3");
  cr_assert_eq(rc, SIM_EREPLAY);
  snprintf(want, sizeof want, "at decision %llu ", n);
  kt_assert_contains(err, want);
}

Test(kbug, fifo_divergence_names_log_decision) { tampered("fifo", 1); }
Test(kbug, random_divergence_names_log_decision) { tampered("random:7", 8); }

/* BUG 3 (fixed): a stale timer (of a sleep canceled, or a timed wait satisfied,
 * before its deadline) still counts as a pending event: the run advances the
 * clock to it and the hang detector waits for it. Here a thread's timed
 * acquire is satisfied at 1 s (deadline 100 s), then it blocks forever on a
 * semaphore nobody releases: the hang exists from t=1 s, but it is detected,
 * and reported, at t=100 s. world.c sim_world_run: nreal_events counts WAKE
 * events whose token is stale; the run pops them only when the clock gets
 * there. */
static sim_sem_t *s1, *s2;
static void timed_then_stuck(void *arg) {
  cr_assert_eq(sim_sem_acquire_until(s1, 100 * SIM_SEC), 0);
  sim_sem_acquire(s2);
}
static void cb_release(sim_world_t *w, void *arg) { sim_sem_release(s1); }

Test(kbug, hang_reported_when_it_happens) {
  sim_world_t *w = kt_world(NULL);
  s1 = sim_sem_create(w, "s1", 0);
  s2 = sim_sem_create(w, "s2", 0);
  sim_thread_spawn(w, "t", NULL, timed_then_stuck, NULL);
  sim_at(w, SIM_SEC, cb_release, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EHANG);
  const sim_report_t *r = kt_report(w, SIM_R_HANG);
  cr_assert_not_null(r);
  cr_assert_eq(r->time, SIM_SEC, "hang reported at t=%lld ns, began at 1 s",
               (long long)r->time);
  kt_end(w, 1);
}

static void long_sleeper(void *arg) { sim_sleep(10 * SIM_SEC); }
static void cb_cancel(sim_world_t *w, void *arg) { sim_thread_cancel(arg); }

Test(kbug, stale_timer_does_not_move_the_clock) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_t *t = sim_thread_spawn(w, "s", NULL, long_sleeper, NULL);
  sim_at(w, SIM_SEC, cb_cancel, t);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_now(w), SIM_SEC,
               "all done at 1 s, but the clock ran to %lld ns",
               (long long)sim_now(w));
  kt_end(w, 0);
}

/* BUG 4 (fixed): with opts.sample_interval > 0, sim_world_run(w, SIM_TIME_MAX) never
 * returns once every thread has finished: world.c sim_world_run's "everything
 * finished" branch loops `while (heap[0].time <= until)` over SAMPLE events,
 * and each pushes the next one, so with until = SIM_TIME_MAX it samples
 * forever, appending to every metric's series until the host is out of
 * memory (sim__die abort), or to signed overflow of next_sample. The
 * address-space cap keeps this test from eating the machine. */
#include <sys/resource.h>
static void sleeps_5s(void *arg) { sim_sleep(5 * SIM_SEC); }

Test(kbug, sampled_run_to_time_max_returns, .timeout = 10.0) {
#if !defined(__SANITIZE_ADDRESS__) /* ASan needs its terabytes of shadow */
  struct rlimit rl = {.rlim_cur = 1ul << 30, .rlim_max = 1ul << 30};
  setrlimit(RLIMIT_AS, &rl);
#endif
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.sample_interval = SIM_SEC;
  o.stack_size = 64 * 1024;
  sim_world_t *w = kt_world_opts(&o);
  sim_thread_spawn(w, "t", NULL, sleeps_5s, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_now(w), 5 * SIM_SEC);
  kt_end(w, 0);
}

/* BUG 5 (fixed): sim_sleep(d) computes now + d without saturating: with d near
 * SIM_TIME_MAX ("sleep for ever") after t > 0 it is signed overflow --
 * UBSan aborts the asan preset at world.c sim_sleep -- and in release the
 * wrapped negative deadline pushes no timer at all, so the run reports a
 * HANG at t=1 ns instead of running the thread's clock to the end. */
static void sleep_forever(void *arg) {
  sim_sleep(1);
  sim_sleep(SIM_TIME_MAX);
}

Test(kbug, sleep_time_max_saturates) {
  sim_world_t *w = kt_world(NULL);
  sim_thread_spawn(w, "t", NULL, sleep_forever, NULL);
  int rc = sim_world_run(w, 10 * SIM_SEC);
  cr_assert_eq(rc, 0, "rc=%d (%s): a sleeping thread is not a hang", rc,
               sim_strerror(rc));
  cr_assert_eq(kt_nreports(w, SIM_R_HANG), 0);
  kt_end(w, 1);
}

/* MINOR 6: sim_proc_free(p, ptr) with ptr from another process q is not
 * detected: the block goes back to q's arena (jemalloc frees by address)
 * but p's tally drops -- here below zero, wrapping to 2^64 - 1024 -- and
 * q's tally keeps the bytes jemalloc no longer counts. STYLE.md: misuse
 * aborts naming the call; "arenas.lookup" gives the arena of ptr. */
#include <signal.h>
Test(kbug, free_into_wrong_process_aborts, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  sim_proc_t *a = sim_proc_create(w, "a", 0), *b = sim_proc_create(w, "b", 0);
  void *q = sim_proc_alloc(a, 1000);
  sim_proc_free(b, q);
  cr_log_error("b used %zu, a used %zu (jemalloc %zu)", sim_proc_mem_used(b),
               sim_proc_mem_used(a), sim_proc_mem_jemalloc(a));
}

/* MINOR 7: two threads joining one thread is not detected: the second
 * overwrites t->joiner, the first is never woken and the run ends in a HANG
 * instead of aborting at the second sim_thread_join. */
static sim_thread_t *target;
static void sleeper_child(void *arg) { sim_sleep(SIM_MS); }
static void joiner(void *arg) { sim_thread_join(target); }

Test(kbug, second_joiner_aborts, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  target = sim_thread_spawn_joinable(w, "child", NULL, sleeper_child, NULL);
  sim_thread_spawn(w, "j1", NULL, joiner, NULL);
  sim_thread_spawn(w, "j2", NULL, joiner, NULL);
  int rc = sim_world_run(w, SIM_TIME_MAX);
  cr_log_error("run returned %d (%s)", rc, sim_strerror(rc));
}

/* BUG 8 (found by test_kstress, fixed): a second joiner of a finished thread
 * was reported as a kernel bug. sim_thread_join checked for another joiner
 * before its scheduling point only; under random/pct the point may run the
 * other joiner, which joins and frees the thread, and the first then freed
 * the struct again: "thread T1 freed twice (kernel bug)" (before ce66125 the
 * free list was silently corrupted). The misuse is now named as such. */
static sim_sem_t *go;
static void quick_child(void *arg) {}
static void late_joiner(void *arg) {
  sim_sem_acquire(go); /* the child has finished by now */
  sim_thread_join(target);
}
static void release_both(sim_world_t *w, void *arg) { /* both joiners READY at once */
  sim_sem_release(go);
  sim_sem_release(go);
}

Test(kbug, two_joiners_across_a_scheduling_point_name_the_misuse) {
  int fd[2];
  cr_assert_eq(pipe(fd), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(fd[1], 2);
    sim_world_t *w = kt_world("random:2"); /* j1 switches to j2 at its join */
    go = sim_sem_create(w, "go", 0);
    sim_at(w, SIM_MS, release_both, NULL);
    target = sim_thread_spawn_joinable(w, "child", NULL, quick_child, NULL);
    sim_thread_spawn(w, "j1", NULL, late_joiner, NULL);
    sim_thread_spawn(w, "j2", NULL, late_joiner, NULL);
    sim_world_run(w, SIM_TIME_MAX);
    _exit(0);
  }
  close(fd[1]);
  char buf[1024];
  size_t k = 0;
  ssize_t n;
  while (k < sizeof buf - 1 && (n = read(fd[0], buf + k, sizeof buf - 1 - k)) > 0) k += (size_t)n;
  buf[k] = 0;
  close(fd[0]);
  int st;
  waitpid(pid, &st, 0);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "the second join aborts");
  cr_assert(strstr(buf, "was joined by another thread meanwhile"), "%s", buf);
}
