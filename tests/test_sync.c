/*
 * Tests of the synchronisation objects: mutex (ownership, FIFO hand-off,
 * trylock), condition variable (signal, broadcast, timed wait in virtual
 * time), counting semaphore (FIFO, deadlines, release from callbacks) and
 * how cancellation interacts with each.
 *
 * All times are virtual and asserted exactly. Each test ends with kt_end().
 */
#include <signal.h>

#include "ktest.h"

#define LOGMAX 256
static struct {
  long v[LOGMAX];
  sim_time_t t[LOGMAX];
  size_t n;
} lg;

static sim_world_t *W(void) { return sim_thread_world(sim_self()); }

static void log_at(long v) {
  cr_assert_lt(lg.n, LOGMAX);
  lg.t[lg.n] = sim_now(W());
  lg.v[lg.n++] = v;
}

static void cb_log(sim_world_t *w, void *arg) {
  lg.t[lg.n] = sim_now(w);
  lg.v[lg.n++] = (long)(intptr_t)arg;
}

static void assert_log(const long *want, size_t n) {
  cr_assert_eq(lg.n, n, "log has %zu entries, expected %zu", lg.n, n);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(lg.v[i], want[i], "log[%zu] = %ld, expected %ld", i, lg.v[i],
                 want[i]);
}

/* Objects shared by the threads of one test. */
static sim_mutex_t *m;
static sim_cond_t *cv;
static sim_sem_t *sem;
static int shared;

/* ---- mutex ----------------------------------------------------------------- */

static void holder_10ms(void *arg) {
  sim_mutex_lock(m);
  cr_assert(sim_mutex_held(m));
  cr_assert_eq(sim_mutex_owner(m), sim_self());
  log_at(0);
  sim_sleep(10 * SIM_MS);
  sim_mutex_unlock(m);
  cr_assert_not(sim_mutex_held(m), "after unlock the caller does not hold m");
}

static void waiter_k(void *arg) {
  long k = (long)(intptr_t)arg;
  sim_sleep(k * SIM_MS); /* arrive at k ms, in order 1, 2, 3 */
  sim_mutex_lock(m);
  cr_assert_eq(sim_mutex_owner(m), sim_self());
  log_at(k);
  sim_sleep(SIM_MS);
  sim_mutex_unlock(m);
}

Test(mutex, handoff_is_fifo_at_release_time) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cr_assert_str_eq(sim_mutex_name(m), "m");
  cr_assert_null(sim_mutex_owner(m));
  cr_assert_not(sim_mutex_held(m), "outside a thread nothing is held");
  sim_thread_spawn(w, "holder", NULL, holder_10ms, NULL);
  /* Spawned in reverse order of arrival, to show order is by arrival. */
  for (long k = 3; k >= 1; k--)
    sim_thread_spawn(w, "waiter", NULL, waiter_k, (void *)(intptr_t)k);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {0, 1, 2, 3};
  assert_log(want, 4);
  cr_assert_eq(lg.t[0], 0);
  cr_assert_eq(lg.t[1], 10 * SIM_MS, "hand-off at the holder's unlock");
  cr_assert_eq(lg.t[2], 11 * SIM_MS);
  cr_assert_eq(lg.t[3], 12 * SIM_MS);
  cr_assert_null(sim_mutex_owner(m));
  cr_assert_eq(sim_world_nreports(w), 0);
  sim_mutex_destroy(m);
  cr_assert_eq(sim_world_nreports(w), 0, "destroying a free mutex is fine");
  kt_end(w, 0);
}

/* Hand-off means a thread that arrives after the unlock cannot barge in. */
static void releaser_then_relocker(void *arg) {
  sim_mutex_lock(m);
  sim_sleep(SIM_MS); /* the waiter queues */
  sim_mutex_unlock(m);
  cr_assert_eq(sim_mutex_trylock(m), SIM_EBUSY,
               "the mutex was handed to the waiter at unlock");
  sim_mutex_lock(m); /* queues behind */
  log_at(2);
  sim_mutex_unlock(m);
}

static void early_waiter(void *arg) {
  sim_mutex_lock(m);
  log_at(1);
  sim_mutex_unlock(m);
}

Test(mutex, unlock_hands_over_no_barging) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  sim_thread_spawn(w, "a", NULL, releaser_then_relocker, NULL);
  sim_thread_spawn(w, "b", NULL, early_waiter, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 2};
  assert_log(want, 2);
  cr_assert_eq(sim_world_nreports(w), 0);
  kt_end(w, 0);
}

static void trylocker(void *arg) {
  cr_assert_eq(sim_mutex_trylock(m), 0);
  cr_assert(sim_mutex_held(m));
  sim_sleep(5 * SIM_MS);
  sim_mutex_unlock(m);
}

static void trylock_contender(void *arg) {
  sim_sleep(SIM_MS);
  sim_time_t t0 = sim_now(W());
  cr_assert_eq(sim_mutex_trylock(m), SIM_EBUSY);
  cr_assert_eq(sim_now(W()), t0, "trylock never blocks");
  cr_assert_not(sim_mutex_held(m));
  sim_sleep(5 * SIM_MS);
  cr_assert_eq(sim_mutex_trylock(m), 0);
  sim_mutex_unlock(m);
  log_at(1);
}

Test(mutex, trylock) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  sim_thread_spawn(w, "a", NULL, trylocker, NULL);
  sim_thread_spawn(w, "b", NULL, trylock_contender, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 1);
  cr_assert_eq(sim_world_nreports(w), 0);
  kt_end(w, 0);
}

/* Mutual exclusion under a scheduler that switches at every lock: the
 * read-sleep-write critical section never loses an update. */
static void incrementer(void *arg) {
  for (int i = 0; i < 50; i++) {
    sim_mutex_lock(m);
    int v = shared;
    sim_yield();
    shared = v + 1;
    sim_mutex_unlock(m);
  }
}

Test(mutex, mutual_exclusion_under_random_schedules) {
  for (uint64_t seed = 1; seed <= 5; seed++) {
    char sched[32];
    snprintf(sched, sizeof sched, "random:%llu", (unsigned long long)seed);
    sim_world_t *w = kt_world(sched);
    m = sim_mutex_create(w, "m");
    shared = 0;
    for (int i = 0; i < 4; i++)
      sim_thread_spawn(w, "inc", NULL, incrementer, NULL);
    cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
    cr_assert_eq(shared, 200, "seed %llu lost updates",
                 (unsigned long long)seed);
    kt_end(w, 0);
  }
}

static void many_locks(void *arg) {
  sim_mutex_t **ms = arg;
  for (int i = 0; i < 8; i++)
    sim_mutex_lock(ms[i]);
  for (int i = 7; i >= 0; i--)
    sim_mutex_unlock(ms[i]);
  /* Unlock out of acquisition order is allowed. */
  for (int i = 0; i < 8; i++)
    sim_mutex_lock(ms[i]);
  for (int i = 0; i < 8; i++)
    sim_mutex_unlock(ms[i]);
  log_at(1);
}

Test(mutex, nested_locks_any_unlock_order) {
  sim_world_t *w = kt_world(NULL);
  static sim_mutex_t *ms[8];
  for (int i = 0; i < 8; i++) {
    char name[8];
    snprintf(name, sizeof name, "L%d", i);
    ms[i] = sim_mutex_create(w, name);
  }
  sim_thread_spawn(w, "t", NULL, many_locks, ms);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(lg.n, 1);
  cr_assert_eq(sim_world_nreports(w), 0);
  kt_end(w, 0);
}

/* ---- condition variable --------------------------------------------------------- */

static void cond_waiter(void *arg) {
  long k = (long)(intptr_t)arg;
  sim_sleep(k * SIM_MS); /* queue in order of k */
  sim_mutex_lock(m);
  int rc = sim_cond_wait(cv, m);
  cr_assert_eq(rc, 0);
  cr_assert(sim_mutex_held(m), "m is held again after the wait");
  log_at(k);
  sim_mutex_unlock(m);
}

static void cond_signaler(void *arg) {
  sim_sleep(10 * SIM_MS);
  sim_mutex_lock(m);
  sim_cond_signal(cv);
  sim_mutex_unlock(m);
  sim_sleep(10 * SIM_MS);
  sim_mutex_lock(m);
  sim_cond_broadcast(cv);
  sim_mutex_unlock(m);
  sim_sleep(10 * SIM_MS);
  sim_mutex_lock(m);
  sim_cond_signal(cv); /* nobody waits: lost, as with pthreads */
  sim_cond_broadcast(cv);
  sim_mutex_unlock(m);
}

Test(cond, signal_wakes_first_broadcast_wakes_all) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cv = sim_cond_create(w, "cv");
  for (long k = 1; k <= 3; k++)
    sim_thread_spawn(w, "waiter", NULL, cond_waiter, (void *)(intptr_t)k);
  sim_thread_spawn(w, "signaler", NULL, cond_signaler, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 2, 3};
  assert_log(want, 3);
  cr_assert_eq(lg.t[0], 10 * SIM_MS, "signal wakes the first waiter only");
  cr_assert_eq(lg.t[1], 20 * SIM_MS);
  cr_assert_eq(lg.t[2], 20 * SIM_MS, "broadcast wakes the rest, FIFO");
  cr_assert_eq(sim_world_nreports(w), 0);
  sim_cond_destroy(cv);
  kt_end(w, 0);
}

static void timed_waiter(void *arg) {
  sim_time_t deadline = (sim_time_t)(intptr_t)arg;
  sim_mutex_lock(m);
  int rc = sim_cond_timedwait(cv, m, deadline);
  cr_assert(sim_mutex_held(m));
  log_at(rc);
  sim_mutex_unlock(m);
}

Test(cond, timedwait_times_out_exactly_at_deadline) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cv = sim_cond_create(w, "cv");
  sim_thread_spawn(w, "w", NULL, timed_waiter,
                   (void *)(intptr_t)(1500 * SIM_MS + 7));
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ETIMEDOUT};
  assert_log(want, 1);
  cr_assert_eq(lg.t[0], 1500 * SIM_MS + 7);
  kt_end(w, 0);
}

static void cb_signal(sim_world_t *w, void *arg) { sim_cond_signal(cv); }

Test(cond, timedwait_signaled_before_deadline) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cv = sim_cond_create(w, "cv");
  sim_thread_spawn(w, "w", NULL, timed_waiter, (void *)(intptr_t)SIM_SEC);
  sim_at(w, 300 * SIM_MS, cb_signal, NULL); /* signal from a callback */
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {0};
  assert_log(want, 1);
  cr_assert_eq(lg.t[0], 300 * SIM_MS);
  kt_end(w, 0);
}

Test(cond, timedwait_past_deadline_times_out_now) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cv = sim_cond_create(w, "cv");
  sim_at(w, 5 * SIM_MS, cb_log, (void *)100);
  sim_thread_spawn(w, "w", NULL, timed_waiter, (void *)(intptr_t)0);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ETIMEDOUT, 100};
  assert_log(want, 2);
  cr_assert_eq(lg.t[0], 0);
  kt_end(w, 0);
}

/* A timed-out waiter must get the mutex back even when another thread holds
 * it at the deadline: it returns when the holder lets go. */
static void holds_m_from_1_to_9ms(void *arg) {
  sim_sleep(SIM_MS);
  sim_mutex_lock(m);
  sim_sleep(8 * SIM_MS);
  sim_mutex_unlock(m);
}

Test(cond, timedwait_reacquires_held_mutex) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cv = sim_cond_create(w, "cv");
  sim_thread_spawn(w, "w", NULL, timed_waiter, (void *)(intptr_t)(5 * SIM_MS));
  sim_thread_spawn(w, "h", NULL, holds_m_from_1_to_9ms, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ETIMEDOUT};
  assert_log(want, 1);
  cr_assert_eq(lg.t[0], 9 * SIM_MS);
  cr_assert_eq(sim_world_nreports(w), 0);
  kt_end(w, 0);
}

/* A producer/consumer queue on one mutex and two conditions. */
static int q_n, q_produced, q_consumed;
static sim_cond_t *not_full, *not_empty;

static void producer(void *arg) {
  for (int i = 0; i < 100; i++) {
    sim_mutex_lock(m);
    while (q_n == 3)
      sim_cond_wait(not_full, m);
    q_n++;
    q_produced++;
    sim_cond_signal(not_empty);
    sim_mutex_unlock(m);
    sim_sleep(SIM_MS);
  }
}

static void consumer(void *arg) {
  for (int i = 0; i < 100; i++) {
    sim_mutex_lock(m);
    while (q_n == 0)
      sim_cond_wait(not_empty, m);
    q_n--;
    q_consumed++;
    sim_cond_signal(not_full);
    sim_mutex_unlock(m);
    sim_sleep(3 * SIM_MS);
  }
}

Test(cond, bounded_queue) {
  sim_world_t *w = kt_world("random:11");
  m = sim_mutex_create(w, "q");
  not_full = sim_cond_create(w, "not_full");
  not_empty = sim_cond_create(w, "not_empty");
  sim_thread_spawn(w, "producer", NULL, producer, NULL);
  sim_thread_spawn(w, "consumer", NULL, consumer, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(q_produced, 100);
  cr_assert_eq(q_consumed, 100);
  cr_assert_eq(q_n, 0);
  /* The consumer is the bottleneck: 100 items at 3 ms each, the first at 0. */
  cr_assert_eq(sim_now(w), 300 * SIM_MS);
  kt_end(w, 0);
}

static void cond_wait_without_mutex(void *arg) { sim_cond_wait(cv, m); }

Test(cond, wait_without_holding_is_misuse, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cv = sim_cond_create(w, "cv");
  sim_thread_spawn(w, "w", NULL, cond_wait_without_mutex, NULL);
  sim_world_run(w, SIM_TIME_MAX);
}

/* ---- semaphore ------------------------------------------------------------------- */

static void sem_taker(void *arg) {
  long k = (long)(intptr_t)arg;
  sim_sleep(k * SIM_MS);
  cr_assert_eq(sim_sem_acquire(sem), 0);
  log_at(k);
}

static void cb_release(sim_world_t *w, void *arg) { sim_sem_release(sem); }

Test(sem, counts_and_fifo_wakeups) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 2);
  cr_assert_eq(sim_sem_value(sem), 2);
  for (long k = 4; k >= 1; k--)
    sim_thread_spawn(w, "taker", NULL, sem_taker, (void *)(intptr_t)k);
  sim_at(w, 10 * SIM_MS, cb_release, NULL);
  sim_at(w, 20 * SIM_MS, cb_release, NULL);
  sim_at(w, 30 * SIM_MS, cb_release, NULL);
  cr_assert_eq(sim_world_run(w, 5 * SIM_MS), 0);
  cr_assert_eq(sim_sem_value(sem), 0);
  cr_assert_eq(sim_sem_waiters(sem), 2);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {1, 2, 3, 4};
  assert_log(want, 4);
  cr_assert_eq(lg.t[0], 1 * SIM_MS);
  cr_assert_eq(lg.t[1], 2 * SIM_MS);
  cr_assert_eq(lg.t[2], 10 * SIM_MS, "release hands the unit to waiter 3");
  cr_assert_eq(lg.t[3], 20 * SIM_MS);
  cr_assert_eq(sim_sem_value(sem), 1, "the last release had no waiter");
  cr_assert_eq(sim_sem_waiters(sem), 0);
  sim_sem_destroy(sem);
  kt_end(w, 0);
}

static void sem_deadline_taker(void *arg) {
  sim_time_t deadline = (sim_time_t)(intptr_t)arg;
  int rc = sim_sem_acquire_until(sem, deadline);
  log_at(rc);
}

Test(sem, acquire_until_times_out_exactly) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 0);
  sim_thread_spawn(w, "t", NULL, sem_deadline_taker,
                   (void *)(intptr_t)(250 * SIM_MS + 1));
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ETIMEDOUT};
  assert_log(want, 1);
  cr_assert_eq(lg.t[0], 250 * SIM_MS + 1);
  cr_assert_eq(sim_sem_value(sem), 0);
  cr_assert_eq(sim_sem_waiters(sem), 0, "a timed-out waiter leaves the queue");
  /* A later release is not lost to the departed waiter. */
  sim_sem_release(sem);
  cr_assert_eq(sim_sem_value(sem), 1);
  kt_end(w, 0);
}

Test(sem, acquire_until_released_in_time) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 0);
  sim_thread_spawn(w, "t", NULL, sem_deadline_taker, (void *)(intptr_t)SIM_SEC);
  sim_at(w, 400 * SIM_MS, cb_release, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {0};
  assert_log(want, 1);
  cr_assert_eq(lg.t[0], 400 * SIM_MS);
  cr_assert_eq(sim_sem_value(sem), 0);
  kt_end(w, 0);
}

/* A release at the very instant of the deadline: the event scheduled first
 * wins. Here the release was scheduled (at t=0) before the waiter's timer. */
Test(sem, release_at_deadline_scheduled_first_wins) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 0);
  sim_at(w, 100 * SIM_MS, cb_release, NULL);
  sim_thread_spawn(w, "t", NULL, sem_deadline_taker,
                   (void *)(intptr_t)(100 * SIM_MS));
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {0};
  assert_log(want, 1);
  cr_assert_eq(sim_sem_value(sem), 0);
  kt_end(w, 0);
}

static void sem_past_deadline(void *arg) {
  sim_sleep(SIM_MS);
  sim_time_t t0 = sim_now(W());
  log_at(sim_sem_acquire_until(sem, t0));  /* deadline == now: no wait */
  log_at(sim_sem_acquire_until(sem, 0));   /* in the past */
  cr_assert_eq(sim_now(W()), t0);
  log_at(sim_sem_tryacquire(sem));
  sim_sem_release(sem);
  log_at(sim_sem_acquire_until(sem, 0));   /* a unit is free: no deadline check */
}

Test(sem, past_deadline_and_tryacquire) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 0);
  sim_thread_spawn(w, "t", NULL, sem_past_deadline, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ETIMEDOUT, SIM_ETIMEDOUT, SIM_EBUSY, 0};
  assert_log(want, 4);
  cr_assert_eq(sim_sem_value(sem), 0);
  kt_end(w, 0);
}

Test(sem, tryacquire_from_outside) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 1);
  cr_assert_eq(sim_sem_tryacquire(sem), 0);
  cr_assert_eq(sim_sem_tryacquire(sem), SIM_EBUSY);
  sim_sem_release(sem);
  sim_sem_release(sem);
  cr_assert_eq(sim_sem_value(sem), 2);
  kt_end(w, 0);
}

Test(sem, negative_initial_value_is_misuse, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  sim_sem_create(w, "s", -1);
}

/* ---- cancellation ------------------------------------------------------------------ */

static void cancel_cb(sim_world_t *w, void *arg) {
  sim_thread_cancel((sim_thread_t *)arg);
}

static void sem_taker_1ms_rc(void *arg) {
  sim_sleep(SIM_MS);
  log_at(sim_sem_acquire(sem));
}

Test(cancel, sem_waiter_leaves_queue) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 0);
  sim_thread_t *a = sim_thread_spawn(w, "a", NULL, sem_taker_1ms_rc, NULL);
  sim_thread_spawn(w, "b", NULL, sem_taker, (void *)2);
  sim_at(w, 5 * SIM_MS, cancel_cb, a);
  sim_at(w, 6 * SIM_MS, cb_release, NULL);
  cr_assert_eq(sim_world_run(w, 5 * SIM_MS), 0);
  cr_assert_eq(sim_sem_waiters(sem), 1, "the canceled waiter left the queue");
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ECANCELED, 2};
  assert_log(want, 2);
  cr_assert_eq(lg.t[0], 5 * SIM_MS);
  cr_assert_eq(lg.t[1], 6 * SIM_MS, "the unit went to b, not to a");
  cr_assert_eq(sim_sem_value(sem), 0);
  kt_end(w, 0);
}

static void sem_taker_rc(void *arg) {
  log_at(sim_sem_acquire(sem));
  log_at(sim_sem_acquire(sem)); /* canceled threads fail at once */
  log_at(sim_sem_acquire_until(sem, SIM_SEC));
}

Test(cancel, sem_acquire_returns_ecanceled) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 0);
  sim_thread_t *a = sim_thread_spawn(w, "a", NULL, sem_taker_rc, NULL);
  sim_at(w, 5 * SIM_MS, cancel_cb, a);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ECANCELED, SIM_ECANCELED, SIM_ECANCELED};
  assert_log(want, 3);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(lg.t[i], 5 * SIM_MS);
  kt_end(w, 0);
}

static void cond_waiter_rc(void *arg) {
  sim_mutex_lock(m);
  int rc = sim_cond_timedwait(cv, m, 10 * SIM_SEC);
  cr_assert(sim_mutex_held(m), "m is held after a canceled wait");
  log_at(rc);
  log_at(sim_cond_wait(cv, m)); /* canceled: returns at once, m still held */
  cr_assert(sim_mutex_held(m));
  sim_mutex_unlock(m);
}

Test(cancel, cond_wait_returns_ecanceled_with_mutex) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cv = sim_cond_create(w, "cv");
  sim_thread_t *a = sim_thread_spawn(w, "a", NULL, cond_waiter_rc, NULL);
  sim_at(w, 2 * SIM_MS, cancel_cb, a);
  sim_at(w, 3 * SIM_MS, cb_signal, NULL); /* nobody left to wake */
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {SIM_ECANCELED, SIM_ECANCELED};
  assert_log(want, 2);
  cr_assert_eq(lg.t[0], 2 * SIM_MS);
  cr_assert_eq(lg.t[1], 2 * SIM_MS);
  cr_assert_eq(sim_world_nreports(w), 0);
  kt_end(w, 0);
}

static void canceled_mutex_waiter(void *arg) {
  sim_sleep(SIM_MS);
  sim_mutex_lock(m); /* blocks until the holder unlocks at 10 ms */
  cr_assert(sim_thread_canceled(sim_self()));
  cr_assert(sim_mutex_held(m), "a mutex wait is not interrupted");
  log_at(1);
  sim_mutex_unlock(m);
}

Test(cancel, mutex_wait_is_not_interrupted) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  sim_thread_spawn(w, "holder", NULL, holder_10ms, NULL);
  sim_thread_t *a = sim_thread_spawn(w, "a", NULL, canceled_mutex_waiter, NULL);
  sim_at(w, 5 * SIM_MS, cancel_cb, a);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  long want[] = {0, 1};
  assert_log(want, 2);
  cr_assert_eq(lg.t[1], 10 * SIM_MS);
  kt_end(w, 0);
}

/* ---- misuse that aborts ------------------------------------------------------------ */

static void cond_waits_forever(void *arg) {
  sim_mutex_lock(m);
  sim_cond_wait(cv, m);
}

Test(misuse, cond_destroy_with_waiters_aborts, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  m = sim_mutex_create(w, "m");
  cv = sim_cond_create(w, "cv");
  sim_thread_spawn(w, "w", NULL, cond_waits_forever, NULL);
  sim_world_run(w, SIM_TIME_MAX);
  sim_cond_destroy(cv);
}

Test(misuse, sem_destroy_with_waiters_aborts, .signal = SIGABRT) {
  sim_world_t *w = kt_world(NULL);
  sem = sim_sem_create(w, "s", 0);
  sim_thread_spawn(w, "t", NULL, sem_taker, (void *)1);
  sim_world_run(w, SIM_TIME_MAX);
  sim_sem_destroy(sem);
}

Test(misuse, destroy_accepts_null) {
  sim_world_t *w = kt_world(NULL);
  sim_mutex_destroy(NULL);
  sim_cond_destroy(NULL);
  sim_sem_destroy(NULL);
  cr_assert_eq(sim_world_nreports(w), 0);
  kt_end(w, 0);
}
