/*
 * Exhaustive search over schedules (storesim explore --dfs: sim/kernel/dfs.c,
 * sim/scenario/dfs.c, docs/exhaustive.md).
 *
 * A toy model of two threads, run by the scenario layer:
 *   - lock order: thread 0 takes toy.a then toy.b; thread 1 toy.b then toy.a
 *     (toy.a then toy.b with the fix "lockorder"). One preemption, at thread
 *     0's scheduling point before toy.b, deadlocks; none never does.
 *   - independent (toy.independent): thread i takes and releases its own
 *     mutex toy.steps times. Counted by hand below.
 * Then q279798's race variants, small (docs/exhaustive.md's commands): the
 * search finds the deadlock without the fix, and every schedule with up to
 * 3 preemptions is clean with it; the failing log replays to the same hash.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storesim/alloc.h"
#include "storesim/exhaust.h"
#include "storesim/param.h"
#include "storesim/scenario.h"
#include "storesim/sync.h"

/* ---- the toy model ---- */
typedef struct toy_cfg {
  int64_t steps;
  int independent;
} toy_cfg_t;

typedef struct toy {
  toy_cfg_t cfg;
  int fixed;
  sim_mutex_t *a, *b;
  sim_metric_t *done;
} toy_t;

static void toy_thread(toy_t *t, int me) {
  if (t->cfg.independent) {
    sim_mutex_t *m = me ? t->b : t->a;
    for (int64_t i = 0; i < t->cfg.steps; i++) {
      sim_mutex_lock(m);
      sim_mutex_unlock(m);
    }
  } else {
    sim_mutex_t *first = me && !t->fixed ? t->b : t->a;
    sim_mutex_t *second = first == t->a ? t->b : t->a;
    sim_mutex_lock(first);
    sim_mutex_lock(second);
    sim_mutex_unlock(second);
    sim_mutex_unlock(first);
  }
  sim_counter_add(t->done, 1);
}
static void toy_t0(void *arg) { toy_thread(arg, 0); }
static void toy_t1(void *arg) { toy_thread(arg, 1); }

static void *toy_create(const sim_model_t *m, sim_world_t *w, const void *cfg, uint64_t fixes,
                        const sim_fault_t *faults, size_t nfaults, char *err, size_t nerr) {
  (void)m, (void)faults, (void)nfaults, (void)err, (void)nerr;
  toy_t *t = calloc(1, sizeof *t);
  t->cfg = *(const toy_cfg_t *)cfg;
  t->fixed = (fixes & 1) != 0;
  t->a = sim_mutex_create(w, "toy.a");
  t->b = sim_mutex_create(w, "toy.b");
  t->done = sim_metric(w, "toy.done", SIM_M_COUNTER, "");
  sim_thread_spawn(w, "toy-0", NULL, toy_t0, t);
  sim_thread_spawn(w, "toy-1", NULL, toy_t1, t);
  return t;
}
static void toy_finish(void *inst) { (void)inst; }
static void toy_destroy(void *inst) { free(inst); }

static const sim_param_t toy_params[] = {
    {"toy.steps", SIM_P_INT, offsetof(toy_cfg_t, steps), 1, 100, "1", "iterations per thread"},
    {"toy.independent", SIM_P_BOOL, offsetof(toy_cfg_t, independent), 0, 1, "false",
     "each thread its own mutex"},
    {NULL, 0, 0, 0, 0, NULL, NULL}};
static const sim_metric_desc_t toy_metrics[] = {
    {"toy.done", SIM_M_COUNTER, "", "threads that finished"}, {NULL, 0, NULL, NULL}};
static const sim_model_part_t toy_part = {
    .name = "toy", .title = "two threads", .metrics = toy_metrics};
static const sim_model_part_t *const toy_parts[] = {&toy_part, NULL};
static const char *const toy_fixes[] = {"lockorder", NULL};
static const sim_fault_kind_t toy_faults[] = {{NULL, NULL}};
static const sim_model_t toy_model = {.name = "dfstoy",
                                      .doc = "two threads and two mutexes",
                                      .params = toy_params,
                                      .faults = toy_faults,
                                      .fixes = toy_fixes,
                                      .parts = toy_parts,
                                      .config_size = sizeof(toy_cfg_t),
                                      .create = toy_create,
                                      .finish = toy_finish,
                                      .destroy = toy_destroy};

static const char toy_yaml[] =
    "id: dfstoy\n"
    "title: two threads, two mutexes\n"
    "source: tests/test_dfs.c\n"
    "duration: 1s\n"
    "variants:\n"
    "  without_fix: { fixes: [] }\n"
    "  with_fix: { fixes: [lockorder] }\n"
    "  indep1: { fixes: [], set: { toy.independent: true } }\n"
    "  indep2: { fixes: [], set: { toy.independent: true, toy.steps: 2 } }\n"
    "expect:\n"
    "  without_fix: [ \"toy.done.final == 2\" ]\n"
    "  with_fix: [ \"toy.done.final == 2\" ]\n"
    "  indep1: [ \"toy.done.final == 2\" ]\n"
    "  indep2: [ \"toy.done.final == 2\" ]\n";

static scn_scenario_t *toy_load(void) {
  scn_diag_t d;
  scn_scenario_t *s = NULL;
  scn_diag_init(&d);
  int rc =
      scn_load_buffer_model(&toy_model, "dfstoy.yaml", toy_yaml, strlen(toy_yaml), NULL, &s, &d);
  cr_assert_eq(rc, 0, "%s", d.text ? d.text : "");
  scn_diag_free(&d);
  return s;
}

static scn_dfs_res_t search(const scn_scenario_t *s, const char *v, uint64_t k, int reduce) {
  scn_dfs_opts_t o = {.variant = v, .max_preemptions = k, .no_reduction = !reduce};
  scn_dfs_res_t r;
  char err[256];
  cr_assert_eq(scn_dfs(s, &o, &r, err, sizeof err), 0, "%s", err);
  cr_assert_neq(r.outcome, SCN_DFS_ERROR, "%s: %s", v, r.error ? r.error : "");
  return r;
}

/* The failing schedule's log, written and replayed: the same trace hash. */
static void check_log(const scn_scenario_t *s, const char *v, uint64_t k, const scn_dfs_res_t *r) {
  char dir[] = "/tmp/test_dfs.XXXXXX", path[256];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/fail.log", dir);
  scn_dfs_opts_t o = {.variant = v, .max_preemptions = k};
  scn_sweep_replay_t rp;
  cr_assert_eq(scn_dfs_log(s, &o, r, path, NULL, &rp), 0);
  cr_assert(rp.same, "%s: recorded %016llx, replayed %016llx, searched %016llx", v,
            (unsigned long long)rp.rec.trace_hash, (unsigned long long)rp.rep.trace_hash,
            (unsigned long long)r->fail_hash);
  cr_assert(rp.rep.deadlock || strstr(r->fail_what, "deadlock") == NULL);
  scn_sweep_replay_free(&rp);
  remove(path);
  rmdir(dir);
}

Test(dfs, lock_order_needs_one_preemption) {
  scn_scenario_t *s = toy_load();
  /* K = 0: each thread runs to its end, in either order: 2 schedules */
  scn_dfs_res_t r = search(s, "without_fix", 0, 1);
  cr_assert_eq(r.outcome, SCN_DFS_DONE);
  cr_assert_eq(r.schedules, 2);
  scn_dfs_res_free(&r);
  /* K = 1: thread 0 preempted holding toy.a deadlocks */
  r = search(s, "without_fix", 1, 1);
  cr_assert_eq(r.outcome, SCN_DFS_FAILED);
  cr_assert_not_null(strstr(r.fail_what, "deadlock"), "%s", r.fail_what);
  cr_assert_eq(r.fail_preemptions, 1);
  check_log(s, "without_fix", 1, &r);
  scn_dfs_res_free(&r);
  /* the same without the reduction */
  r = search(s, "without_fix", 1, 0);
  cr_assert_eq(r.outcome, SCN_DFS_FAILED);
  scn_dfs_res_free(&r);
  scn_scenario_free(s);
}

Test(dfs, fixed_lock_order_is_clean) {
  scn_scenario_t *s = toy_load();
  for (uint64_t k = 0; k <= 4; k++)
    for (int red = 0; red < 2; red++) {
      scn_dfs_res_t r = search(s, "with_fix", k, red);
      cr_assert_eq(r.outcome, SCN_DFS_DONE, "K=%llu: %s", (unsigned long long)k,
                   r.fail_what ? r.fail_what : "");
      cr_assert_gt(r.schedules, 0);
      scn_dfs_res_free(&r);
    }
  scn_scenario_free(s);
}

/* Two threads of n iterations each (lock, unlock of its own mutex): a
 * thread's run is 2n + 1 steps (start to its first lock, then lock..unlock
 * and unlock..next lock alternately, the last one to its exit), with a
 * decision between any two while the other thread is READY. So:
 *   unbounded, no reduction: every interleaving, C(4n + 2, 2n + 1);
 *   K = 0: who goes first, 2;
 *   K = 1: who goes first, times (no switch, or a switch at one of its 2n
 *          scheduling points, after which the other must run to its end):
 *          2 (1 + 2n);
 *   unbounded, sleep sets: the steps are independent except the two exits
 *          (thread exit is one object), so one schedule per exit order: 2. */
Test(dfs, hand_count_independent_steps) {
  scn_scenario_t *s = toy_load();
  static const struct {
    const char *v;
    uint64_t k;
    int reduce;
    uint64_t n;
  } c[] = {{"indep1", 1000, 0, 20}, {"indep2", 1000, 0, 252}, {"indep1", 0, 0, 2},
           {"indep2", 0, 0, 2},     {"indep1", 1, 0, 6},      {"indep2", 1, 0, 10},
           {"indep1", 1000, 1, 2},  {"indep2", 1000, 1, 2}};
  for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
    scn_dfs_res_t r = search(s, c[i].v, c[i].k, c[i].reduce);
    cr_assert_eq(r.outcome, SCN_DFS_DONE);
    cr_expect_eq(r.schedules, c[i].n, "%s K=%llu %s: %llu schedules, hand count %llu", c[i].v,
                 (unsigned long long)c[i].k, c[i].reduce ? "sleep sets" : "no reduction",
                 (unsigned long long)r.schedules, (unsigned long long)c[i].n);
    scn_dfs_res_free(&r);
  }
  /* the reduction never runs more schedules than the plain search */
  for (uint64_t k = 0; k <= 3; k++) {
    scn_dfs_res_t a = search(s, "indep2", k, 0), b = search(s, "indep2", k, 1);
    cr_expect_leq(b.schedules, a.schedules, "K=%llu", (unsigned long long)k);
    scn_dfs_res_free(&a);
    scn_dfs_res_free(&b);
  }
  scn_scenario_free(s);
}

/* A budget stops the search: partial, says how much is left. */
Test(dfs, budget_is_partial) {
  scn_scenario_t *s = toy_load();
  scn_dfs_opts_t o = {
      .variant = "indep2", .max_preemptions = 1000, .no_reduction = 1, .max_schedules = 10};
  scn_dfs_res_t r;
  char err[256];
  cr_assert_eq(scn_dfs(s, &o, &r, err, sizeof err), 0);
  cr_assert_eq(r.outcome, SCN_DFS_BUDGET);
  cr_assert_eq(r.runs, 10);
  cr_assert_gt(r.left, 0);
  scn_dfs_res_free(&r);
  scn_scenario_free(s);
}

/* ---- q279798's race, small (docs/exhaustive.md) ---- */
/* Two store tasks, one IMS inbound and one POP3 thread: one inbound and one
 * outbound conversion at t = 2 s; the decisions from 1 s on are searched
 * (the start-up at t = 0 is fifo's), runs of 2.1 s. */
static scn_scenario_t *q279798_small(void) {
  static const char *const sets[] = {"race_without_fix:store.tasks=2",
                                     "race_without_fix:store.imail.ims_threads=1",
                                     "race_without_fix:store.imail.protocol_threads=1",
                                     "race_with_fix:store.tasks=2",
                                     "race_with_fix:store.imail.ims_threads=1",
                                     "race_with_fix:store.imail.protocol_threads=1"};
  scn_load_opts_t lo = {.sets = sets, .nsets = sizeof sets / sizeof *sets};
  scn_diag_t d;
  scn_scenario_t *s = NULL;
  scn_diag_init(&d);
  int rc = scn_load(STORESIM_SOURCE_DIR "/scenarios/q279798.yaml", &lo, &s, &d);
  cr_assert_eq(rc, 0, "%s", d.text ? d.text : "");
  scn_diag_free(&d);
  return s;
}

static scn_dfs_res_t q_search(const scn_scenario_t *s, const char *v, uint64_t k) {
  scn_dfs_opts_t o = {
      .variant = v, .max_preemptions = k, .duration = 2100 * SIM_MS, .from = SIM_SEC};
  scn_dfs_res_t r;
  char err[256];
  cr_assert_eq(scn_dfs(s, &o, &r, err, sizeof err), 0, "%s", err);
  return r;
}

Test(dfs, q279798_race_without_fix_deadlocks, .timeout = 300) {
  scn_scenario_t *s = q279798_small();
  scn_dfs_res_t r = q_search(s, "race_without_fix", 0);
  cr_assert_eq(r.outcome, SCN_DFS_DONE,
               "fifo's order and its 22 free variations do not interleave");
  cr_assert_eq(r.schedules, 23);
  scn_dfs_res_free(&r);
  r = q_search(s, "race_without_fix", 1);
  cr_assert_eq(r.outcome, SCN_DFS_FAILED);
  cr_assert_not_null(strstr(r.fail_what, "deadlock"), "%s", r.fail_what);
  cr_assert_eq(r.fail_preemptions, 1);
  /* the log replays it: same hash, the same deadlock */
  char dir[] = "/tmp/test_dfs.XXXXXX", path[256];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/q.log", dir);
  scn_dfs_opts_t o = {.variant = "race_without_fix",
                      .max_preemptions = 1,
                      .duration = 2100 * SIM_MS,
                      .from = SIM_SEC};
  scn_sweep_replay_t rp;
  cr_assert_eq(scn_dfs_log(s, &o, &r, path, NULL, &rp), 0);
  cr_assert(rp.same && rp.rep.deadlock, "replay %016llx, search %016llx",
            (unsigned long long)rp.rep.trace_hash, (unsigned long long)r.fail_hash);
  scn_sweep_replay_free(&rp);
  remove(path);
  rmdir(dir);
  scn_dfs_res_free(&r);
  scn_scenario_free(s);
}

/* Every schedule with up to 3 preemptions is clean with the fix. The counts
 * are docs/exhaustive.md's: a change of the model changes them (update the
 * page with the command there). */
Test(dfs, q279798_race_with_fix_clean_at_k3, .timeout = 900) {
  scn_scenario_t *s = q279798_small();
  static const uint64_t n[] = {23, 710, 9339, 72088};
  for (uint64_t k = 0; k <= 3; k++) {
    scn_dfs_res_t r = q_search(s, "race_with_fix", k);
    cr_assert_eq(r.outcome, SCN_DFS_DONE, "K=%llu: %s", (unsigned long long)k,
                 r.fail_what ? r.fail_what : "");
    cr_expect_eq(r.schedules, n[k], "K=%llu: %llu schedules (docs/exhaustive.md: %llu)",
                 (unsigned long long)k, (unsigned long long)r.schedules, (unsigned long long)n[k]);
    scn_dfs_res_free(&r);
  }
  scn_scenario_free(s);
}
