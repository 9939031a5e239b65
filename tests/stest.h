/*
 * Helpers shared by the store model's Criterion suites (tests/test_store.c,
 * tests/test_mechanisms.c), on top of the kernel's tests/ktest.h.
 *
 * A store test builds its world, creates the model with st_model_new(), runs,
 * reads metrics with st_metric() and ends with st_end(), which finishes and
 * destroys the model and the world and (under AddressSanitizer) checks for
 * leaks, including the host memory of threads still blocked when the world
 * goes. Scenario tests run a file of scenarios/ with st_check_scenario()
 * against the suite's table of golden trace hashes.
 * Nothing here keeps state between tests.
 */
#ifndef STORESIM_TESTS_STEST_H
#define STORESIM_TESTS_STEST_H

#include <stdio.h>
#include <string.h>

#include "ktest.h"
#include "storesim/param.h"
#include "storesim/store.h"

#if defined(__has_include)
#if __has_include("storesim/scenario.h")
#include "storesim/scenario.h"
#define HAVE_SCENARIO 1
#endif
#endif

/* The defaults of the store model's parameter table: what a scenario that
 * sets nothing gets. Distributions are constant or exponential, so nothing
 * needs freeing. */
static inline void st_config_init(store_config_t *c) {
  char err[300] = "";
  memset(c, 0, sizeof *c);
  cr_assert_eq(store_model()->config_size, sizeof *c,
               "a built-in mechanism has a config of its own");
  cr_assert_eq(scn_params_defaults(store_model()->params, c, err, sizeof err), 0, "%s", err);
}

/* The default configuration with no generated SMTP, OWA or MAPI load and no
 * mailbox moves; the other loads are off by default. */
static inline void st_quiet_config(store_config_t *c) {
  st_config_init(c);
  c->smtp_rate = 0;
  c->smtp_malformed_rate = 0;
  c->owa_rate = 0;
  c->mapi_rate = 0;
  c->moves_count = 0;
}

/* Creates the store model in w; the test fails if it cannot. */
static inline void *st_model_new(sim_world_t *w, const store_config_t *c, uint64_t fixes,
                                 const sim_fault_t *f, size_t nf) {
  char err[256] = "";
  void *inst = store_model()->create(store_model(), w, c, fixes, f, nf, err, sizeof err);
  cr_assert_not_null(inst, "store model create: %s", err);
  return inst;
}

/* Current value of metric `name`; the test fails if there is none. */
static inline double st_metric(sim_world_t *w, const char *name) {
  sim_metric_t *m = sim_world_metric_find(w, name);
  cr_assert_not_null(m, "no metric '%s'", name);
  return sim_metric_value(m);
}

/* The first report the model filed under `name` ("exhaustion", "restart",
 * "shutdown"), or NULL. */
static inline const sim_report_t *st_model_report(const sim_world_t *w, const char *name) {
  for (size_t i = 0; i < sim_world_nreports(w); i++) {
    const sim_report_t *r = sim_world_report(w, i);
    if (r->kind == SIM_R_MODEL && !strcmp(r->name, name)) return r;
  }
  return NULL;
}

/* Ends a store test: finishes the model (again is harmless), destroys it
 * and the world, then checks for leaks. Threads may still be blocked (a
 * deadlock, a stuck task): destroying the world frees them. */
static inline void st_end(sim_world_t *w, void *inst) {
  store_model()->finish(inst);
  store_model()->destroy(inst);
  sim_world_destroy(w);
  kt_leak_check();
}

/* Fails the test unless every metric registered in w is named, in
 * backquotes, in docs/metrics.md (the kernel's own proc.* and cpu.* metrics
 * excepted; tasks.busy.<kind> is documented once), and more than
 * `min_checked` metrics were checked. */
static inline void st_assert_metrics_documented(sim_world_t *w, int min_checked) {
  char path[512];
  snprintf(path, sizeof path, "%s/docs/metrics.md", STORESIM_SOURCE_DIR);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "cannot open %s", path);
  static char doc[1 << 20];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  doc[n] = 0;
  fclose(f);
  int missing = 0, checked = 0;
  for (size_t i = 0; i < sim_world_nmetrics(w); i++) {
    const char *name = sim_metric_name(sim_world_metric(w, i));
    if (!strncmp(name, "proc.", 5) || !strncmp(name, "cpu.", 4) ||
        !strncmp(name, "tasks.busy.", 11))
      continue;
    char quoted[256];
    snprintf(quoted, sizeof quoted, "`%s`", name);
    checked++;
    if (!strstr(doc, quoted)) {
      cr_log_error("metric %s is not in docs/metrics.md", name);
      missing++;
    }
  }
  cr_assert_eq(missing, 0, "%d metrics undocumented", missing);
  cr_assert_gt(checked, min_checked, "only %d metrics checked", checked);
}

#ifdef HAVE_SCENARIO
/* Trace hash of one variant for its scenario's default seed (fifo): the
 * rows of tests/store*_golden.inc. A change means the way the bug shows up
 * changed: look at the run, then update the value on purpose. */
typedef struct st_golden {
  const char *file, *variant;
  uint64_t hash;
} st_golden_t;

/* Loads and runs scenarios/<name>; fails the test unless every expectation
 * of every variant passes and each variant's trace hash is the one in
 * goldens[0 .. ngoldens) (a variant with no row fails too, naming its hash),
 * then checks for leaks. */
static inline void st_check_scenario(const char *name, const st_golden_t *goldens,
                                     size_t ngoldens) {
  char path[512];
  snprintf(path, sizeof path, "%s/scenarios/%s", STORESIM_SOURCE_DIR, name);
  scn_scenario_t *sc = NULL;
  scn_diag_t d;
  scn_diag_init(&d);
  int rc = scn_load(path, NULL, &sc, &d);
  cr_assert_eq(rc, 0, "%s", d.text ? d.text : "load failed");
  scn_run_opts_t o;
  memset(&o, 0, sizeof o);
  o.quiet = 1;
  scn_result_t *r = scn_run(sc, &o);
  cr_assert_not_null(r);
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *v = &r->variants[i];
    for (size_t k = 0; k < v->nexpects; k++)
      cr_expect_eq(v->expects[k].status, SCN_X_PASS, "%s/%s: %s -> %s", name, v->v->name,
                   v->expects[k].x->text, v->expects[k].detail ? v->expects[k].detail : "");
    int found = 0;
    for (size_t g = 0; g < ngoldens; g++) {
      if (strcmp(goldens[g].file, name) || strcmp(goldens[g].variant, v->v->name)) continue;
      found = 1;
      cr_expect_eq(v->trace_hash, goldens[g].hash, "%s/%s: trace hash %016llx, golden %016llx",
                   name, v->v->name, (unsigned long long)v->trace_hash,
                   (unsigned long long)goldens[g].hash);
    }
    cr_expect(found, "%s/%s: no golden hash (it is %016llx)", name, v->v->name,
              (unsigned long long)v->trace_hash);
  }
  cr_assert_eq(r->status, 0, "%s: status %d", name, r->status);
  scn_result_free(r);
  scn_scenario_free(sc);
  scn_diag_free(&d);
  kt_leak_check();
}

/* Loads scenarios/<name> with the overrides sets[0 .. nsets) ("key=value",
 * as --set) and runs it; fails the test unless every expectation of every
 * variant passes (no golden hash: the run is not the shipped one). For
 * expectations that must follow the parameters, not the shipped numbers. */
static inline void st_check_scenario_set(const char *name, const char *const *sets, size_t nsets) {
  char path[512];
  snprintf(path, sizeof path, "%s/scenarios/%s", STORESIM_SOURCE_DIR, name);
  scn_scenario_t *sc = NULL;
  scn_diag_t d;
  scn_diag_init(&d);
  scn_load_opts_t lo = {sets, nsets};
  int rc = scn_load(path, &lo, &sc, &d);
  cr_assert_eq(rc, 0, "%s", d.text ? d.text : "load failed");
  scn_run_opts_t o;
  memset(&o, 0, sizeof o);
  o.quiet = 1;
  scn_result_t *r = scn_run(sc, &o);
  cr_assert_not_null(r);
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *v = &r->variants[i];
    for (size_t k = 0; k < v->nexpects; k++)
      cr_expect_eq(v->expects[k].status, SCN_X_PASS, "%s/%s with %s: %s -> %s", name, v->v->name,
                   nsets ? sets[0] : "", v->expects[k].x->text,
                   v->expects[k].detail ? v->expects[k].detail : "");
  }
  cr_assert_eq(r->status, 0, "%s: status %d", name, r->status);
  scn_result_free(r);
  scn_scenario_free(sc);
  scn_diag_free(&d);
  kt_leak_check();
}
#endif

#endif
