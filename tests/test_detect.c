/*
 * The detector matrix. Each case is marked MUST REPORT or MUST NOT REPORT,
 * checking false negatives and false positives alike (lockdep's self-tests):
 *
 *   case                                         deadlock hang lock-order misuse spin
 *   AA relock                                    REPORT   REPORT    -      REPORT   -
 *   ABBA, concurrent                             REPORT   REPORT  REPORT     -      -
 *   three-lock cycle, concurrent                 REPORT   REPORT  REPORT     -      -
 *   double unlock                                  no       no      no     REPORT   -
 *   unlock by a non-owner                          no       no      no     REPORT   -
 *   destroy while held (thread / outside)          no       no      no     REPORT   -
 *   thread exits holding a lock                    no       no      no     REPORT   -
 *   ABBA in sequence (no deadlock)                 no       no    REPORT     no     -
 *   A->B, B->C, C->A in sequence                   no       no    REPORT     no     -
 *   inversion repeated                           one lock-order report per class pair
 *   consistent order, contended                    no       no      no       no     -
 *   failed trylock in reverse order                no       no      no       no     -
 *   waiting on a semaphore nobody releases         no     REPORT    no       no     -
 *   long sleep / timed wait                        no       no      no       no     -
 *   spinner: burns CPU, no progress                -        -       -        -   REPORT
 *   busy but progressing                           -        -       -        -     no
 *   issues requests without progress             -        -       -        -   REPORT
 *   idle thread without progress                   -        -       -        -     no
 *
 * Reports must name threads, locks and acquisition sites (file:line) and the
 * virtual time; sites are recorded with __LINE__ next to each call.
 */
#include "ktest.h"

static sim_mutex_t *A, *B, *C;
static sim_sem_t *sem;
static sim_cond_t *cv;

/* Locks m and records the line of the call in *line. */
#define LOCK_AT(m, line)                                                      \
  do {                                                                        \
    (line) = __LINE__;                                                        \
    sim_mutex_lock(m);                                                        \
  } while (0)

static int l_aa1, l_aa2, l_1a, l_1b, l_2b, l_2a, l_3c, l_3a, l_2c;

static sim_world_t *world_abc(const char *sched) {
  sim_world_t *w = kt_world(sched);
  A = sim_mutex_create(w, "A");
  B = sim_mutex_create(w, "B");
  C = sim_mutex_create(w, "C");
  return w;
}

static void assert_no_reports(const sim_world_t *w) {
  for (size_t i = 0; i < sim_world_nreports(w); i++)
    cr_assert_fail("unexpected report:\n%s", sim_world_report(w, i)->text);
}

/* ---- AA: MUST REPORT misuse and deadlock ---------------------------------- */

static void aa(void *arg) {
  LOCK_AT(A, l_aa1);
  LOCK_AT(A, l_aa2);
  cr_assert_fail("an AA relock blocks forever");
}

Test(detect, aa_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_t *t = sim_thread_spawn(w, "relocker", NULL, aa, NULL);
  uint64_t id = sim_thread_id(t);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EHANG);
  char site[512];
  const sim_report_t *r = kt_report(w, SIM_R_MISUSE);
  cr_assert_not_null(r, "AA must be reported as misuse");
  kt_assert_contains(r->text, "storesim: MISUSE:");
  kt_assert_contains(r->text, "(AA)");
  kt_assert_contains(r->text, "'relocker'");
  kt_assert_contains(r->text, KT_SITE(site, l_aa2));
  kt_assert_contains(r->text, KT_SITE(site, l_aa1)); /* where A was taken */
  cr_assert(kt_report_has_thread(r, id));
  cr_assert(kt_report_has_lock(r, "A"));
  r = kt_report(w, SIM_R_DEADLOCK);
  cr_assert_not_null(r, "AA must be reported as a deadlock of one thread");
  cr_assert_eq(r->nthreads, 1);
  kt_assert_contains(r->text, "storesim: DEADLOCK: wait-for cycle of 1 thread");
  cr_assert_eq(kt_nreports(w, SIM_R_HANG), 1);
  cr_assert_eq(kt_nreports(w, SIM_R_LOCK_ORDER), 0);
  kt_end(w, 1);
}

/* ---- ABBA concurrently: MUST REPORT deadlock ----------------------------- */

static void one_ab(void *arg) {
  LOCK_AT(A, l_1a);
  sim_sleep(SIM_MS);
  LOCK_AT(B, l_1b);
  cr_assert_fail("T1 must stay blocked");
}

static void two_ba(void *arg) {
  LOCK_AT(B, l_2b);
  sim_sleep(SIM_MS);
  LOCK_AT(A, l_2a);
  cr_assert_fail("T2 must stay blocked");
}

Test(detect, abba_deadlock_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_t *t1 = sim_thread_spawn(w, "one", NULL, one_ab, NULL);
  sim_thread_t *t2 = sim_thread_spawn(w, "two", NULL, two_ba, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EHANG,
               "a deadlocked run ends with a result that says so");
  cr_assert_eq(sim_now(w), SIM_MS);
  cr_assert_eq(kt_nreports(w, SIM_R_DEADLOCK), 1);
  const sim_report_t *r = kt_report(w, SIM_R_DEADLOCK);
  char site[512];
  cr_assert_eq(r->time, SIM_MS);
  cr_assert_eq(r->nthreads, 2);
  cr_assert(kt_report_has_thread(r, sim_thread_id(t1)));
  cr_assert(kt_report_has_thread(r, sim_thread_id(t2)));
  cr_assert(kt_report_has_lock(r, "A"));
  cr_assert(kt_report_has_lock(r, "B"));
  kt_assert_contains(r->text, "storesim: DEADLOCK: wait-for cycle of 2 threads "
                              "at t=0.001000000s");
  kt_assert_contains(r->text, "thread T2 'two' waits for 'A' at ");
  kt_assert_contains(r->text, KT_SITE(site, l_2a));
  kt_assert_contains(r->text, "held by T1 'one'");
  kt_assert_contains(r->text, "thread T1 'one' waits for 'B' at ");
  kt_assert_contains(r->text, KT_SITE(site, l_1b));
  kt_assert_contains(r->text, KT_SITE(site, l_1a)); /* held lock sites */
  kt_assert_contains(r->text, KT_SITE(site, l_2b));
  cr_assert_not_null(r->dot);
  kt_assert_contains(r->dot, "digraph");
  /* The order validator also saw the inversion; the hang closes the run. */
  cr_assert_eq(kt_nreports(w, SIM_R_LOCK_ORDER), 1);
  cr_assert_eq(kt_nreports(w, SIM_R_HANG), 1);
  const sim_report_t *h = kt_report(w, SIM_R_HANG);
  kt_assert_contains(h->text, "storesim: HANG:");
  kt_assert_contains(h->text, "blocked on mutex 'A' held by T1 'one'");
  kt_assert_contains(h->text, "blocked on mutex 'B' held by T2 'two'");
  cr_assert_eq(sim_thread_state(t1), SIM_T_BLOCKED);
  kt_end(w, 2);
}

/* ---- three-lock cycle: MUST REPORT ---------------------------------------- */

static void three_1(void *arg) {
  sim_mutex_lock(A);
  sim_sleep(SIM_MS);
  sim_mutex_lock(B);
}
static void three_2(void *arg) {
  sim_mutex_lock(B);
  sim_sleep(SIM_MS);
  LOCK_AT(C, l_2c);
}
static void three_3(void *arg) {
  LOCK_AT(C, l_3c);
  sim_sleep(SIM_MS);
  LOCK_AT(A, l_3a);
}

Test(detect, three_lock_cycle_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "t1", NULL, three_1, NULL);
  sim_thread_spawn(w, "t2", NULL, three_2, NULL);
  sim_thread_spawn(w, "t3", NULL, three_3, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EHANG);
  cr_assert_eq(kt_nreports(w, SIM_R_DEADLOCK), 1);
  const sim_report_t *r = kt_report(w, SIM_R_DEADLOCK);
  char site[512];
  cr_assert_eq(r->nthreads, 3);
  for (uint64_t id = 1; id <= 3; id++)
    cr_assert(kt_report_has_thread(r, id));
  cr_assert(kt_report_has_lock(r, "A") && kt_report_has_lock(r, "B") &&
            kt_report_has_lock(r, "C"));
  kt_assert_contains(r->text, "wait-for cycle of 3 threads");
  kt_assert_contains(r->text, KT_SITE(site, l_3a));
  kt_assert_contains(r->text, KT_SITE(site, l_2c));
  kt_assert_contains(r->text, KT_SITE(site, l_3c));
  /* The third edge closes the A->B->C->A cycle in the order graph. */
  cr_assert_eq(kt_nreports(w, SIM_R_LOCK_ORDER), 1);
  kt_end(w, 3);
}

/* ---- misuse: MUST REPORT, and the run goes on --------------------------------- */

static int l_du;
static void double_unlock(void *arg) {
  sim_mutex_lock(A);
  sim_mutex_unlock(A);
  l_du = __LINE__ + 1;
  sim_mutex_unlock(A);
  cr_assert_null(sim_mutex_owner(A));
  sim_mutex_lock(A); /* still usable */
  sim_mutex_unlock(A);
}

Test(detect, double_unlock_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "twice", NULL, double_unlock, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_world_nreports(w), 1);
  const sim_report_t *r = kt_report(w, SIM_R_MISUSE);
  char site[512];
  cr_assert_not_null(r);
  kt_assert_contains(r->text, "unlock of a mutex that is not locked");
  kt_assert_contains(r->text, "thread T1 'twice'");
  kt_assert_contains(r->text, KT_SITE(site, l_du));
  cr_assert(kt_report_has_lock(r, "A"));
  cr_assert_str_eq(r->name, "misuse");
  kt_end(w, 0);
}

static int l_owner, l_thief;
static void owner_holds(void *arg) {
  LOCK_AT(A, l_owner);
  sim_sleep(2 * SIM_MS);
  cr_assert_eq(sim_mutex_owner(A), sim_self(), "the bad unlock did nothing");
  sim_mutex_unlock(A);
}
static void thief_unlocks(void *arg) {
  sim_sleep(SIM_MS);
  l_thief = __LINE__ + 1;
  sim_mutex_unlock(A);
}

Test(detect, unlock_by_non_owner_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "owner", NULL, owner_holds, NULL);
  sim_thread_spawn(w, "thief", NULL, thief_unlocks, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_world_nreports(w), 1);
  const sim_report_t *r = kt_report(w, SIM_R_MISUSE);
  char site[512];
  cr_assert_not_null(r);
  cr_assert_eq(r->time, SIM_MS);
  kt_assert_contains(r->text, "unlock of a mutex held by another thread");
  kt_assert_contains(r->text, "thread T2 'thief'");
  kt_assert_contains(r->text, KT_SITE(site, l_thief));
  kt_assert_contains(r->text, "held by T1 'owner'");
  kt_assert_contains(r->text, KT_SITE(site, l_owner));
  kt_end(w, 0);
}

static int l_destroy;
static void destroy_own(void *arg) {
  sim_mutex_lock(A);
  l_destroy = __LINE__ + 1;
  sim_mutex_destroy(A);
  sim_mutex_unlock(A); /* still valid: freed with the world */
}

Test(detect, destroy_while_held_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "destroyer", NULL, destroy_own, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_world_nreports(w), 1);
  const sim_report_t *r = kt_report(w, SIM_R_MISUSE);
  char site[512];
  kt_assert_contains(r->text, "destroy of a mutex that is held");
  kt_assert_contains(r->text, "'destroyer'");
  kt_assert_contains(r->text, KT_SITE(site, l_destroy));
  cr_assert(kt_report_has_lock(r, "A"));
  kt_end(w, 0);
}

static void hold_forever(void *arg) {
  sim_mutex_lock(A);
  sim_sleep(SIM_HOUR);
  sim_mutex_unlock(A);
}

Test(detect, destroy_while_held_from_outside_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "holder", NULL, hold_forever, NULL);
  cr_assert_eq(sim_world_run(w, SIM_SEC), 0);
  sim_mutex_destroy(A);
  cr_assert_eq(kt_nreports(w, SIM_R_MISUSE), 1);
  const sim_report_t *r = kt_report(w, SIM_R_MISUSE);
  kt_assert_contains(r->text, "destroy of a mutex that is held");
  kt_assert_contains(r->text, "'holder'");
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_world_nreports(w), 1);
  kt_end(w, 0);
}

static void exit_holding(void *arg) { sim_mutex_lock(B); }

Test(detect, exit_holding_a_lock_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "leaver", NULL, exit_holding, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_world_nreports(w), 1);
  const sim_report_t *r = kt_report(w, SIM_R_MISUSE);
  kt_assert_contains(r->text, "exits while holding a lock");
  kt_assert_contains(r->text, "'leaver'");
  cr_assert(kt_report_has_lock(r, "B"));
  kt_end(w, 0);
}

/* ---- lock order without a deadlock: MUST REPORT ---------------------------------- */

static int l_s1a, l_s1b, l_s2b, l_s2a;
static void seq_ab(void *arg) {
  LOCK_AT(A, l_s1a);
  LOCK_AT(B, l_s1b);
  sim_mutex_unlock(B);
  sim_mutex_unlock(A);
}
static void seq_ba(void *arg) {
  sim_sleep(SIM_SEC); /* long after seq_ab finished: no deadlock possible */
  LOCK_AT(B, l_s2b);
  LOCK_AT(A, l_s2a);
  sim_mutex_unlock(A);
  sim_mutex_unlock(B);
}

Test(detect, inversion_without_deadlock_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "first", NULL, seq_ab, NULL);
  sim_thread_spawn(w, "second", NULL, seq_ba, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0, "this run did not deadlock");
  cr_assert_eq(kt_nreports(w, SIM_R_DEADLOCK), 0);
  cr_assert_eq(kt_nreports(w, SIM_R_HANG), 0);
  cr_assert_eq(kt_nreports(w, SIM_R_LOCK_ORDER), 1);
  cr_assert_eq(sim_world_nreports(w), 1);
  const sim_report_t *r = kt_report(w, SIM_R_LOCK_ORDER);
  char site[512];
  cr_assert_eq(r->time, SIM_SEC);
  cr_assert_str_eq(r->name, "lock-order");
  kt_assert_contains(r->text, "storesim: LOCK-ORDER: possible circular locking "
                              "dependency at t=1.000000000s");
  kt_assert_contains(r->text, "thread T2 'second' is trying to acquire lock 'A'");
  kt_assert_contains(r->text, KT_SITE(site, l_s2a));
  kt_assert_contains(r->text, "already holds lock 'B'");
  kt_assert_contains(r->text, KT_SITE(site, l_s2b));
  /* The earlier edge A -> B with its first-seen sites and thread. */
  kt_assert_contains(r->text, "thread T1 'first'");
  kt_assert_contains(r->text, KT_SITE(site, l_s1a));
  kt_assert_contains(r->text, KT_SITE(site, l_s1b));
  kt_assert_contains(r->text, "DEADLOCK possible");
  cr_assert(kt_report_has_thread(r, 1) && kt_report_has_thread(r, 2));
  cr_assert(kt_report_has_lock(r, "A") && kt_report_has_lock(r, "B"));
  kt_end(w, 0);
}

static void seq_lock2(sim_mutex_t *x, sim_mutex_t *y) {
  sim_mutex_lock(x);
  sim_mutex_lock(y);
  sim_mutex_unlock(y);
  sim_mutex_unlock(x);
}
static void seq_three(void *arg) {
  seq_lock2(A, B);
  sim_sleep(SIM_MS);
  seq_lock2(B, C);
  sim_sleep(SIM_MS);
  seq_lock2(C, A); /* closes A -> B -> C -> A */
}

Test(detect, three_class_inversion_without_deadlock_must_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "solo", NULL, seq_three, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(kt_nreports(w, SIM_R_LOCK_ORDER), 1);
  cr_assert_eq(sim_world_nreports(w), 1);
  const sim_report_t *r = kt_report(w, SIM_R_LOCK_ORDER);
  cr_assert_eq(r->time, 2 * SIM_MS);
  kt_assert_contains(r->text, "'A' -> 'B'");
  kt_assert_contains(r->text, "'B' -> 'C'");
  kt_end(w, 0);
}

static void seq_ba_twice(void *arg) {
  sim_sleep(SIM_SEC);
  for (int i = 0; i < 3; i++)
    seq_lock2(B, A);
}

Test(detect, inversion_reported_once_per_pair) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "first", NULL, seq_ab, NULL);
  sim_thread_spawn(w, "second", NULL, seq_ba_twice, NULL);
  sim_thread_spawn(w, "third", NULL, seq_ba_twice, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(kt_nreports(w, SIM_R_LOCK_ORDER), 1);
  cr_assert_eq(sim_world_nreports(w), 1);
  kt_end(w, 0);
}

/* Two locks of one class (same name) share a node: nesting them is no
 * inversion, whichever instance comes first. */
static sim_mutex_t *b1, *b2;
static void same_class(void *arg) {
  seq_lock2(b1, b2);
  seq_lock2(b2, b1);
}

Test(detect, same_class_nesting_must_not_report) {
  sim_world_t *w = world_abc(NULL);
  b1 = sim_mutex_create(w, "bucket");
  b2 = sim_mutex_create(w, "bucket");
  sim_thread_spawn(w, "t", NULL, same_class, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  assert_no_reports(w);
  kt_end(w, 0);
}

/* ---- consistent order: MUST NOT REPORT ----------------------------------------------- */

static void ordered_worker(void *arg) {
  for (int i = 0; i < 20; i++) {
    sim_mutex_lock(A);
    sim_sleep(SIM_MS);
    sim_mutex_lock(B);
    sim_sleep(SIM_MS);
    sim_mutex_lock(C);
    sim_yield();
    sim_mutex_unlock(C);
    sim_mutex_unlock(B);
    sim_mutex_unlock(A);
    sim_mutex_lock(B); /* a subset in the same order */
    sim_mutex_lock(C);
    sim_mutex_unlock(C);
    sim_mutex_unlock(B);
  }
}

Test(detect, consistent_order_must_not_report) {
  for (uint64_t seed = 1; seed <= 4; seed++) {
    char sched[32];
    snprintf(sched, sizeof sched, "random:%llu", (unsigned long long)seed);
    sim_world_t *w = world_abc(sched);
    for (int i = 0; i < 4; i++)
      sim_thread_spawn(w, "worker", NULL, ordered_worker, NULL);
    cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
    assert_no_reports(w);
    kt_end(w, 0);
  }
}

static void try_reverse(void *arg) {
  sim_sleep(SIM_MS);
  sim_mutex_lock(B);
  cr_assert_eq(sim_mutex_trylock(A), SIM_EBUSY); /* A is held: fails */
  sim_mutex_unlock(B);
}
static void hold_a_then_b(void *arg) {
  sim_mutex_lock(A);
  sim_sleep(5 * SIM_MS);
  sim_mutex_lock(B);
  sim_mutex_unlock(B);
  sim_mutex_unlock(A);
}

Test(detect, failed_trylock_in_reverse_must_not_report) {
  sim_world_t *w = world_abc(NULL);
  sim_thread_spawn(w, "ab", NULL, hold_a_then_b, NULL);
  sim_thread_spawn(w, "try", NULL, try_reverse, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  assert_no_reports(w);
  kt_end(w, 0);
}

/* Contention without a cycle: a waits for a mutex whose owner sleeps. */
static void contend_a(void *arg) {
  sim_mutex_lock(A);
  sim_sleep(SIM_MS);
  sim_mutex_unlock(A);
}

Test(detect, plain_contention_must_not_report) {
  sim_world_t *w = world_abc(NULL);
  for (int i = 0; i < 5; i++)
    sim_thread_spawn(w, "c", NULL, contend_a, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  assert_no_reports(w);
  cr_assert_eq(sim_now(w), 5 * SIM_MS);
  kt_end(w, 0);
}

/* ---- global hang: MUST REPORT ------------------------------------------------------- */

static int l_hang;
static void waits_sem(void *arg) {
  sim_thread_set_activity(sim_self(), "fetch");
  LOCK_AT(A, l_hang);
  sim_sem_acquire(sem);
}
static void waits_cond(void *arg) {
  sim_mutex_lock(B);
  sim_cond_wait(cv, B);
}

Test(detect, global_hang_must_report) {
  sim_world_t *w = world_abc(NULL);
  sem = sim_sem_create(w, "tokens", 0);
  cv = sim_cond_create(w, "ready");
  sim_thread_spawn(w, "fetcher", NULL, waits_sem, NULL);
  sim_thread_spawn(w, "waiter", NULL, waits_cond, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EHANG);
  cr_assert_eq(sim_world_nreports(w), 1, "a hang is not a deadlock");
  const sim_report_t *r = kt_report(w, SIM_R_HANG);
  char site[512];
  cr_assert_not_null(r);
  cr_assert_str_eq(r->name, "hang");
  cr_assert_eq(r->nthreads, 2);
  kt_assert_contains(r->text, "storesim: HANG: 2 threads blocked, nothing "
                              "runnable, no timer pending at t=0.000000000s");
  kt_assert_contains(r->text, "thread T1 'fetcher': waiting on semaphore "
                              "'tokens' (fetch)");
  kt_assert_contains(r->text, "holds 'A' acquired at ");
  kt_assert_contains(r->text, KT_SITE(site, l_hang));
  kt_assert_contains(r->text, "thread T2 'waiter': waiting on condition 'ready'");
  kt_end(w, 2);
}

static void sleeps_then_releases(void *arg) {
  sim_sleep(SIM_HOUR);
  sim_sem_release(sem);
}
static void timed_cond(void *arg) {
  sim_mutex_lock(B);
  cr_assert_eq(sim_cond_timedwait(cv, B, SIM_DAY), SIM_ETIMEDOUT);
  sim_mutex_unlock(B);
}

Test(detect, long_waits_with_timers_must_not_report) {
  sim_world_t *w = world_abc(NULL);
  sem = sim_sem_create(w, "tokens", 0);
  cv = sim_cond_create(w, "ready");
  sim_thread_spawn(w, "fetcher", NULL, waits_sem, NULL);
  sim_thread_spawn(w, "releaser", NULL, sleeps_then_releases, NULL);
  sim_thread_spawn(w, "timed", NULL, timed_cond, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  /* fetcher exits holding A: that misuse is the only report. */
  cr_assert_eq(sim_world_nreports(w), 1);
  cr_assert_eq(kt_nreports(w, SIM_R_MISUSE), 1);
  cr_assert_eq(sim_now(w), SIM_DAY);
  kt_end(w, 0);
}

/* ---- spins ------------------------------------------------------------------------- */

static sim_world_t *spin_world(void) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.spin_window = SIM_SEC;
  o.stack_size = 64 * 1024;
  return kt_world_opts(&o);
}

static void spinner(void *arg) {
  sim_thread_set_activity(sim_self(), "poll");
  for (int i = 0; i < 300; i++)
    sim_cpu_burn(10 * SIM_MS); /* 3 s of CPU, no progress */
}

static void progressing(void *arg) {
  for (int i = 0; i < 300; i++) {
    sim_cpu_burn(10 * SIM_MS);
    sim_progress();
  }
}

Test(detect, spinner_must_report) {
  sim_world_t *w = spin_world();
  sim_thread_t *t = sim_thread_spawn(w, "spinner", NULL, spinner, NULL);
  uint64_t id = sim_thread_id(t);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_world_nreports(w), 1, "one report per spell without "
                                         "progress");
  const sim_report_t *r = kt_report(w, SIM_R_SPIN);
  cr_assert_not_null(r);
  cr_assert_eq(r->time, SIM_SEC, "reported once a window has passed");
  cr_assert(kt_report_has_thread(r, id));
  kt_assert_contains(r->text, "storesim: SPIN: thread T1 'spinner' made no "
                              "progress for 1.000000000s at t=1.000000000s");
  kt_assert_contains(r->text, "(poll)");
  kt_end(w, 0);
}

Test(detect, busy_but_progressing_must_not_report) {
  sim_world_t *w = spin_world();
  sim_thread_spawn(w, "worker", NULL, progressing, NULL);
  sim_thread_spawn(w, "worker", NULL, progressing, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  assert_no_reports(w);
  cr_assert_eq(sim_now(w), 3 * SIM_SEC);
  kt_end(w, 0);
}

static void requester(void *arg) {
  for (int i = 0; i < 30; i++) {
    sim_request();
    sim_sleep(100 * SIM_MS);
  }
}

static void idler(void *arg) {
  for (int i = 0; i < 30; i++)
    sim_sleep(100 * SIM_MS);
}

Test(detect, requests_without_progress_must_report) {
  sim_world_t *w = spin_world();
  sim_thread_spawn(w, "retrier", NULL, requester, NULL);
  sim_thread_spawn(w, "idler", NULL, idler, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  cr_assert_eq(sim_world_nreports(w), 1, "the idle thread is not a spin");
  const sim_report_t *r = kt_report(w, SIM_R_SPIN);
  cr_assert_not_null(r);
  cr_assert(kt_report_has_thread(r, 1));
  kt_assert_contains(r->text, "'retrier'");
  kt_end(w, 0);
}

Test(detect, spin_window_zero_is_off) {
  sim_world_opts_t o;
  sim_world_opts_init(&o);
  o.spin_window = 0;
  sim_world_t *w = kt_world_opts(&o);
  sim_thread_spawn(w, "spinner", NULL, spinner, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), 0);
  assert_no_reports(w);
  kt_end(w, 0);
}

/* ---- the report list, hook and model reports ------------------------------------------ */

static size_t hook_calls;
static sim_report_kind_t hook_kinds[8];
static void on_report(const sim_report_t *r, void *arg) {
  cr_assert_eq(arg, (void *)&hook_calls);
  hook_kinds[hook_calls++] = r->kind;
}

Test(detect, reports_in_filing_order_with_hook) {
  sim_world_t *w = world_abc(NULL);
  sim_world_on_report(w, on_report, &hook_calls);
  sim_thread_spawn(w, "one", NULL, one_ab, NULL);
  sim_thread_spawn(w, "two", NULL, two_ba, NULL);
  cr_assert_eq(sim_world_run(w, SIM_TIME_MAX), SIM_EHANG);
  cr_assert_eq(hook_calls, 3);
  cr_assert_eq(sim_world_nreports(w), 3);
  /* The order edge is checked before the wait-for graph, then the hang. */
  sim_report_kind_t want[] = {SIM_R_LOCK_ORDER, SIM_R_DEADLOCK, SIM_R_HANG};
  for (size_t i = 0; i < 3; i++) {
    cr_assert_eq(hook_kinds[i], want[i]);
    cr_assert_eq(sim_world_report(w, i)->kind, want[i]);
  }
  cr_assert_null(sim_world_report(w, 3));
  kt_end(w, 2);
}

Test(detect, model_report_is_copied) {
  sim_world_t *w = kt_world(NULL);
  char name[16], text[64];
  uint64_t ids[2] = {4, 9};
  strcpy(name, "exhaustion");
  strcpy(text, "storesim: EXHAUSTION: tasks ran out\n");
  sim_world_file_report(w, name, text, ids, 2);
  memset(name, 'x', sizeof name - 1);
  memset(text, 'x', sizeof text - 1);
  ids[0] = ids[1] = 0;
  const sim_report_t *r = sim_world_report(w, 0);
  cr_assert_eq(r->kind, SIM_R_MODEL);
  cr_assert_str_eq(r->name, "exhaustion");
  kt_assert_contains(r->text, "EXHAUSTION: tasks ran out");
  cr_assert_eq(r->nthreads, 2);
  cr_assert_eq(r->threads[0], 4);
  cr_assert_eq(r->threads[1], 9);
  sim_world_file_report(w, "shutdown", "bye", NULL, 0);
  cr_assert_eq(sim_world_nreports(w), 2);
  cr_assert_str_eq(sim_report_kind_name(SIM_R_DEADLOCK), "deadlock");
  cr_assert_str_eq(sim_report_kind_name(SIM_R_SPIN), "spin");
  kt_end(w, 0);
}
