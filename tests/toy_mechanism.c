/*
 * A toy mechanism, built from docs/adding-a-mechanism.md and nothing else:
 * the proof that a new mechanism is one file plus one table row. It is not
 * in the shipped model; tests/test_toy_mechanism.c passes &toy_mech to
 * store_model_build as its one extra row. The page quotes this file's
 * sections between the "doc:" markers, and the test checks that every quote
 * is still here, character for character.
 *
 * The story (made up, as "KBTOY"): a toy client sends a job to the store
 * every exp(workload.toy.hold) on average; the job waits
 * workload.toy.hold for a reply nobody needs, holding its store task the
 * whole time. The fix "kbtoy" drops the wait, so the job returns at once.
 * The symptom is measured, not set: toy.job_time is the virtual time each
 * job really held its task.
 *
 * Locking: t->lock guards the metric; the client is the only thread that
 * draws from t->rng. No state lives in the store arena, so a restart needs
 * no down/up hooks.
 */
#include <stdio.h>
#include <stdlib.h>

#include "storesim/alloc.h"
#include "../sim/store/store_int.h"

/* The one table row: the test passes &toy_mech to store_model_build. */
extern const store_mech_t toy_mech;

/* doc:config */
typedef struct toy_config {
  sim_time_t hold; /* workload.toy.hold */
} toy_config_t;
/* end */

/* doc:state */
typedef struct toy {
  store_t *s;
  const toy_config_t *cfg;
  store_kind_t kind;
  sim_mutex_t *lock;
  sim_rng_t rng;
  sim_metric_t *m_job_time;
} toy_t;
/* end */

/* doc:work */
/* Runs on a store task. Without the fix it waits for the reply that never
 * matters; SIM_ECANCELED (the store goes down) ends it at once. */
static int toy_job(store_t *s, void *arg, int64_t val) {
  toy_t *t = arg;
  sim_time_t t0 = sim_now(s->w);
  if (!store_mech_has_fix(s, &toy_mech) && sim_sleep(t->cfg->hold) != 0) return STORE_EDOWN;
  sim_mutex_lock(t->lock);
  sim_sample_add(t->m_job_time, (double)(sim_now(s->w) - t0) / (double)SIM_SEC);
  sim_mutex_unlock(t->lock);
  return 0;
}

/* The toy client: one job after another, exp(hold) apart. */
static void toy_client(void *arg) {
  toy_t *t = arg;
  for (;;) {
    sim_time_t gap = (sim_time_t)sim_rng_exp(&t->rng, (double)t->cfg->hold);
    if (sim_sleep(gap) != 0) return;
    if (store_call(t->s, t->kind, toy_job, t, 0, SIM_TIME_MAX, 0) == STORE_EDOWN &&
        sim_sleep(SIM_MIN) != 0)
      return;
  }
}
/* end */

/* doc:init */
static void toy_destroy(void *self) { free(self); }

static const store_component_t toy_component = {.name = "toy", .destroy = toy_destroy};

static int toy_init(store_t *s, char *err, size_t nerr) {
  toy_t *t = sim_calloc(1, sizeof *t);
  if (!t) {
    if (err) snprintf(err, nerr, "out of host memory");
    return SIM_ENOMEM;
  }
  t->s = s;
  t->cfg = store_mech_config(s, &toy_mech);
  t->kind = store_kind(s, "toy");
  t->lock = sim_mutex_create(s->w, "toy.lock");
  store_rng(s, &t->rng, "store.toy");
  t->m_job_time = sim_metric(s->w, "toy.job_time", SIM_M_SAMPLE, "s");
  store_component_add(s, &toy_component, t);
  sim_thread_spawn(s->w, "toy-client", NULL, toy_client, t);
  return 0;
}
/* end */

/* doc:descriptor */
static const sim_param_t toy_params[] = {
    {"workload.toy.hold", SIM_P_DURATION, offsetof(toy_config_t, hold), 0, STORE_TMAX, "2s",
     "How long a toy job waits for its reply (without the kbtoy fix), holding a store task."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t toy_metrics[] = {
    {"toy.job_time", SIM_M_SAMPLE, "s", "virtual time a toy job held its store task"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t toy_plots[] = {
    {"Toy jobs on store tasks", {"tasks.busy.toy", "toy.job_time"}}, {NULL, {NULL}}};

static const char *const toy_kinds[] = {"toy", NULL};

const store_mech_t toy_mech = {
    .part = {.name = "toy",
             .title = "KBTOY: a job that waits for a reply nobody needs",
             .file = "tests/toy_mechanism.c",
             .fix = "kbtoy",
             .fix_doc = "The job no longer waits for the reply.",
             .metrics = toy_metrics,
             .plots = toy_plots},
    .params = toy_params,
    .config_size = sizeof(toy_config_t),
    .kinds = toy_kinds,
    .init = toy_init,
};
/* end */
