/*
 * Sweeps: the outcome of a sweep does not depend on the number of worker
 * threads or on sharding, and a sweep over schedules of a racy model finds
 * the runs that deadlock.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "storesim/sweep.h"

static const char *queue_yaml =
    "id: tiny\n"
    "title: tiny queue\n"
    "source: test\n"
    "model: queue\n"
    "seed: 1\n"
    "duration: 2h\n"
    "arrivals: { interarrival: exp(1s) }\n"
    "service: { time: exp(700ms) }\n"
    "queue: { workers: 1, warmup: 1m }\n"
    "variants:\n"
    "  without_fix: { description: one }\n"
    "  with_fix: { description: two, set: { queue.workers: 2 } }\n"
    "expect:\n"
    "  without_fix: [ \"queue.served.final > 0\" ]\n"
    "  with_fix: [ \"queue.served.final > 0\" ]\n";

static scn_scenario_t *load(void) {
  scn_diag_t d;
  scn_diag_init(&d);
  scn_scenario_t *s = NULL;
  int rc = scn_load_buffer("tiny.yaml", queue_yaml, strlen(queue_yaml), NULL, &s,
                           &d);
  cr_assert_eq(rc, 0, "%s", d.text ? d.text : "");
  scn_diag_free(&d);
  return s;
}

static scn_sweep_res_t *sweep(const scn_scenario_t *s, int jobs, unsigned shard,
                              unsigned nshards, int vary) {
  scn_sweep_opts_t o;
  memset(&o, 0, sizeof o);
  o.sched = SCN_SWEEP_RANDOM;
  o.seed_from = 3;
  o.seed_to = 12;
  o.jobs = jobs;
  o.shard = shard;
  o.nshards = nshards;
  o.vary_world_seed = vary;
  scn_sweep_res_t *r = NULL;
  char err[128];
  cr_assert_eq(scn_sweep(s, &o, &r, err, sizeof err), 0, "%s", err);
  return r;
}

Test(sweep, same_result_for_any_worker_count) {
  scn_scenario_t *s = load();
  scn_sweep_res_t *a = sweep(s, 1, 0, 1, 1), *b = sweep(s, 3, 0, 1, 1);
  cr_assert_eq(a->nruns, 20);
  cr_assert_eq(b->nruns, a->nruns);
  for (size_t i = 0; i < a->nruns; i++) {
    cr_expect_eq(a->runs[i].seed, b->runs[i].seed);
    cr_expect_eq(a->runs[i].variant, b->runs[i].variant);
    cr_expect_eq(a->runs[i].trace_hash, b->runs[i].trace_hash);
    cr_expect(a->runs[i].ran && a->runs[i].passed);
  }
  /* different world seeds give different runs */
  cr_expect_neq(a->runs[0].trace_hash, a->runs[2].trace_hash);
  scn_sweep_free(a);
  scn_sweep_free(b);
  scn_scenario_free(s);
}

Test(sweep, shards_partition_the_runs) {
  scn_scenario_t *s = load();
  scn_sweep_res_t *all = sweep(s, 2, 0, 1, 1);
  scn_sweep_res_t *p0 = sweep(s, 1, 0, 3, 1), *p1 = sweep(s, 1, 1, 3, 1),
                  *p2 = sweep(s, 1, 2, 3, 1);
  cr_assert_eq(p0->nruns + p1->nruns + p2->nruns, all->nruns);
  scn_sweep_res_t *parts[] = {p0, p1, p2};
  for (size_t i = 0; i < all->nruns; i++) {
    int found = 0;
    for (int k = 0; k < 3; k++)
      for (size_t j = 0; j < parts[k]->nruns; j++)
        if (parts[k]->runs[j].seed == all->runs[i].seed &&
            parts[k]->runs[j].variant == all->runs[i].variant) {
          found++;
          cr_expect_eq(parts[k]->runs[j].trace_hash, all->runs[i].trace_hash);
        }
    cr_expect_eq(found, 1, "run %zu is in %d shards", i, found);
  }
  for (int k = 0; k < 3; k++)
    scn_sweep_free(parts[k]);
  scn_sweep_free(all);
  scn_scenario_free(s);
}

Test(sweep, bad_options_are_refused) {
  scn_scenario_t *s = load();
  scn_sweep_opts_t o;
  memset(&o, 0, sizeof o);
  o.seed_from = 5;
  o.seed_to = 2;
  scn_sweep_res_t *r = (void *)1;
  char err[128];
  cr_expect_eq(scn_sweep(s, &o, &r, err, sizeof err), SIM_EINVAL);
  cr_expect_null(r);
  o.seed_to = 9;
  o.variant = "nope";
  cr_expect_eq(scn_sweep(s, &o, &r, err, sizeof err), SIM_EINVAL);
  cr_expect(strstr(err, "nope") != NULL);
  o.variant = NULL;
  o.shard = 3;
  o.nshards = 3;
  cr_expect_eq(scn_sweep(s, &o, &r, err, sizeof err), SIM_EINVAL);
  scn_scenario_free(s);
}
