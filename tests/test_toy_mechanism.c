/*
 * The toy mechanism of docs/adding-a-mechanism.md (tests/toy_mechanism.c)
 * as the page promises: one new file plus one table row (the `extra` row
 * given to store_model_build, so the shipped model is unchanged). Checked:
 *   - the row assembles; its parameter, fix, metric and plot appear where the
 *     page says (the model's tables, `schema --markdown`, docs/metrics.md's
 *     generator, the model's parts for the HTML report);
 *   - a scenario using it loads (scn_load_buffer_model) and runs: its metric
 *     is in the results with its unit and description, and its fix turns
 *     the symptom off (each variant's expectations pass, on 300 seeds);
 *   - the page's code quotes are the file's sections, character for character;
 *   - the shipped model knows nothing of the toy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktest.h"
#include "storesim/scenario.h"
#include "../sim/store/store_int.h"

extern const store_mech_t toy_mech;

/* The scenario of the page (docs/adding-a-mechanism.md, "The scenario"). */
static const char toy_yaml[] =
    "id: kbtoy\n"
    "title: A toy job holds a store task for nothing\n"
    "source: docs/adding-a-mechanism.md\n"
    "model: store\n"
    "duration: 10m\n"
    "workload:\n"
    "  toy: { hold: 2s }\n"
    "variants:\n"
    "  without_fix: { fixes: [] }\n"
    "  with_fix: { fixes: [kbtoy] }\n"
    "# Without the fix each job waits hold = 2 s on its task, so every\n"
    "# toy.job_time is exactly 2 s (a virtual sleep is exact). Jobs come\n"
    "# exp(2 s) apart after the previous one: a cycle of 4 s on average,\n"
    "# 150 jobs in 10 min (sd about 6); with the fix a cycle of 2 s, 300.\n"
    "# A bound of 100 is 8 sd away from 150.\n"
    "expect:\n"
    "  without_fix:\n"
    "    - \"toy.job_time.min >= $workload.toy.hold\"\n"
    "    - \"toy.job_time.count >= 100\"\n"
    "  with_fix:\n"
    "    - \"toy.job_time.max == 0\"\n"
    "    - \"toy.job_time.count >= 100\"\n";

static sim_model_t *toy_model(void) {
  static const store_mech_t *const extra[] = {&toy_mech, NULL};
  char err[256] = "";
  sim_model_t *m = store_model_build(extra, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  return m;
}

static char *slurp(const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", STORESIM_SOURCE_DIR, rel);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  cr_assert_not_null(s);
  cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = 0;
  fclose(f);
  return s;
}

/* What a generator writes for model m, as one string (free it). */
static char *markdown(int (*gen)(FILE *, const sim_model_t *const *, size_t), sim_model_t *m) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  const sim_model_t *const ms[] = {m};
  cr_assert_eq(gen(f, ms, 1), 0);
  fclose(f);
  return buf;
}

Test(toy, the_row_appears_where_the_page_says) {
  sim_model_t *m = toy_model();
  int param = 0, fix = 0, kind = 0;
  for (const sim_param_t *p = m->params; p->path; p++)
    param += !strcmp(p->path, "workload.toy.hold");
  for (const char *const *fx = m->fixes; *fx; fx++) fix += !strcmp(*fx, "kbtoy");
  const store_assembly_t *as = m->impl;
  for (int k = 0; k < store__nkinds(as); k++) kind += !strcmp(store__kind_name(as, k), "toy");
  cr_expect_eq(param, 1);
  cr_expect_eq(fix, 1);
  cr_expect_eq(kind, 1);

  /* storesim schema --markdown: the parameter, its default and doc; the fix */
  char *md = markdown(scn_params_markdown, m);
  cr_expect_not_null(strstr(md, "| `workload.toy.hold` | duration | `2s` |"), "%s", md);
  cr_expect_not_null(strstr(md, "How long a toy job waits for its reply"));
  cr_expect_not_null(strstr(md, "`kbtoy`"));
  free(md);

  /* docs/metrics.md's generator: the part, its metric with unit and doc, the plot */
  md = markdown(scn_metrics_markdown, m);
  cr_expect_not_null(strstr(md, "KBTOY: a job that waits for a reply nobody needs"), "%s", md);
  cr_expect_not_null(strstr(md, "`toy.job_time`"));
  cr_expect_not_null(strstr(md, "virtual time a toy job held its store task"));
  cr_expect_not_null(strstr(md, "Toy jobs on store tasks"));
  free(md);

  /* the HTML report draws the plots of the model's parts */
  const sim_plot_desc_t *plot = NULL;
  for (size_t i = 0; m->parts[i]; i++)
    if (!strcmp(m->parts[i]->name, "toy")) plot = m->parts[i]->plots;
  cr_assert_not_null(plot);
  cr_expect_str_eq(plot->title, "Toy jobs on store tasks");
  cr_expect_str_eq(plot->metrics[0], "tasks.busy.toy");

  /* explain and the reports describe a metric through scn_metric_desc */
  const sim_metric_desc_t *d = scn_metric_desc(m, "toy.job_time");
  cr_assert_not_null(d);
  cr_expect_str_eq(d->unit, "s");
  store_model_free(m);
}

/* Runs the page's scenario at `seed` (0: the file's); returns the result. */
static scn_result_t *run_toy(sim_model_t *m, uint64_t seed, scn_scenario_t **sc) {
  scn_diag_t d;
  scn_diag_init(&d);
  int rc = scn_load_buffer_model(m, "kbtoy.yaml", toy_yaml, strlen(toy_yaml), NULL, sc, &d);
  cr_assert_eq(rc, 0, "%s", d.text ? d.text : "load failed");
  scn_diag_free(&d);
  scn_run_opts_t o;
  memset(&o, 0, sizeof o);
  o.quiet = 1;
  o.have_seed = seed != 0;
  o.seed = seed;
  scn_result_t *r = scn_run(*sc, &o);
  cr_assert_not_null(r);
  return r;
}

static const scn_metric_res_t *metric(const scn_variant_res_t *v, const char *name) {
  for (size_t i = 0; i < v->nmetrics; i++)
    if (!strcmp(v->metrics[i].name, name)) return &v->metrics[i];
  return NULL;
}

Test(toy, the_fix_turns_the_symptom_off, .timeout = 120) {
  sim_model_t *m = toy_model();
  scn_scenario_t *sc = NULL;
  scn_result_t *r = run_toy(m, 0, &sc);
  cr_assert_eq(r->status, 0, "%s", r->diag.text ? r->diag.text : "");
  cr_assert_eq(r->nvariants, 2);
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *v = &r->variants[i];
    cr_expect_eq(v->nfail + v->nerror, 0, "%s", v->v->name);
    const scn_metric_res_t *jt = metric(v, "toy.job_time");
    cr_assert_not_null(jt, "%s: no toy.job_time", v->v->name);
    cr_expect_str_eq(jt->unit, "s");
    cr_expect_not_null(metric(v, "tasks.busy.toy"), "%s: no tasks.busy.toy", v->v->name);
    int fixed = !strcmp(v->v->name, "with_fix");
    cr_expect_float_eq(jt->sum.max, fixed ? 0.0 : 2.0, 1e-12, "%s", v->v->name);
  }
  cr_expect_eq(r->reproduced_without_fix, 1);
  cr_expect_eq(r->absent_with_fix, 1);
  scn_result_free(r);
  scn_scenario_free(sc);
  store_model_free(m);
}

/* `storesim check FILE --seeds 1-300`, as the page asks of every scenario. */
Test(toy, expectations_hold_on_300_seeds, .timeout = 300) {
  sim_model_t *m = toy_model();
  for (uint64_t seed = 1; seed <= 300; seed++) {
    scn_scenario_t *sc = NULL;
    scn_result_t *r = run_toy(m, seed, &sc);
    cr_expect_eq(r->status, 0, "seed %llu", (unsigned long long)seed);
    scn_result_free(r);
    scn_scenario_free(sc);
  }
  store_model_free(m);
}

/* Every ```c block of the page that follows "<!-- toy:NAME -->" is the
 * section "/" "* doc:NAME *" "/" ... "/" "* end *" "/" of the toy file. */
Test(toy, the_page_quotes_the_file) {
  char *page = slurp("docs/adding-a-mechanism.md");
  char *src = slurp("tests/toy_mechanism.c");
  int nquotes = 0;
  for (char *p = strstr(page, "<!-- toy:"); p; p = strstr(p + 1, "<!-- toy:")) {
    char name[64];
    cr_assert_eq(sscanf(p, "<!-- toy:%63[a-z] -->", name), 1);
    char *code = strstr(p, "```c\n");
    cr_assert_not_null(code);
    code += 5;
    char *end = strstr(code, "```");
    cr_assert_not_null(end);
    char marker[96];
    snprintf(marker, sizeof marker, "/* doc:%s */\n", name);
    char *sec = strstr(src, marker);
    cr_assert_not_null(sec, "tests/toy_mechanism.c has no section '%s'", name);
    sec += strlen(marker);
    char *send = strstr(sec, "/* end */");
    cr_assert_not_null(send);
    cr_expect((size_t)(end - code) == (size_t)(send - sec) &&
                  !memcmp(code, sec, (size_t)(end - code)),
              "docs/adding-a-mechanism.md's quote '%s' differs from tests/toy_mechanism.c", name);
    nquotes++;
  }
  cr_expect_geq(nquotes, 4, "the page quotes the toy file");
  free(page);
  free(src);
}

Test(toy, the_shipped_model_is_unchanged) {
  const sim_model_t *m = store_model();
  for (const sim_param_t *p = m->params; p->path; p++)
    cr_expect_neq(strcmp(p->path, "workload.toy.hold"), 0);
  for (size_t i = 0; m->parts[i]; i++) cr_expect_neq(strcmp(m->parts[i]->name, "toy"), 0);
}
