/*
 * storesim scenario layer: the one table of models this build knows, what
 * every run publishes whatever its model, and the metric descriptions the
 * reports and docs/metrics.md read.
 *
 * The queueing model is always there; the store model joins when its header
 * exists (so the scenario layer can be built without it). Each model is
 * reached through its accessor (the store assembles itself from its
 * mechanism table on first use); the table below is filled once.
 */
#include <pthread.h>
#include <string.h>

#include "storesim/qmodel.h"
#include "storesim/scenario.h"
#if defined(__has_include)
#if __has_include("storesim/store.h")
#include "storesim/store.h"
#define SCN_HAVE_STORE 1
#endif
#endif

static const sim_model_t *models[2];
static size_t nmodels;
static pthread_once_t models_once = PTHREAD_ONCE_INIT;

static void models_init(void) {
#ifdef SCN_HAVE_STORE
  models[nmodels++] = store_model();
#endif
  models[nmodels++] = &queue_model;
}

const sim_model_t *const *scn_models(size_t *n) {
  pthread_once(&models_once, models_init);
  *n = nmodels;
  return models;
}

const sim_model_t *scn_model_find(const char *name) {
  size_t n;
  const sim_model_t *const *m = scn_models(&n);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(m[i]->name, name)) return m[i];
  return NULL;
}

/* ---- what every run publishes ------------------------------------------------------ */

static const sim_metric_desc_t world_metrics[] = {
    {"cpu.busy_cores", SIM_M_GAUGE, "cores", "simulated cores busy burning CPU"},
    {"cpu.runq", SIM_M_GAUGE, "", "threads waiting for a simulated core"},
    {"proc.<name>.cpu_cores", SIM_M_GAUGE, "", "cores the simulated process <name> uses now"},
    {"proc.<name>.mem_bytes", SIM_M_GAUGE, "B", "bytes allocated in the process's jemalloc arena"},
    {"proc.<name>.alloc_failures", SIM_M_COUNTER, "",
     "allocations the process's memory limit (or the machine's) refused"},
    {"detect.deadlocks", SIM_M_GAUGE, "", "wait-for cycles the kernel reported so far"},
    {"detect.hangs", SIM_M_GAUGE, "", "global hangs reported (nothing runnable, no timer)"},
    {"detect.lock_order", SIM_M_GAUGE, "", "lockdep-style lock-order inversions reported"},
    {"detect.misuse", SIM_M_GAUGE, "",
     "API misuse reports (double unlock, destroy while held, ...)"},
    {"detect.spins", SIM_M_GAUGE, "", "threads reported spinning (requests without progress)"},
    {"detect.model_reports", SIM_M_GAUGE, "",
     "reports the model filed (exhaustion, shutdown, restart)"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t world_plots[] = {
    {"busy simulated cores", {"cpu.busy_cores"}},
    {"memory per simulated process", {"proc.<name>.mem_bytes"}},
    {NULL, {NULL}}};

static const sim_model_part_t world_part = {
    .name = "world",
    .title = "Every run: the kernel and the detectors",
    .file = "sim/kernel/proc.c, sim/scenario/runner.c",
    .metrics = world_metrics,
    .plots = world_plots,
};

const sim_model_part_t *scn_world_part(void) { return &world_part; }

int scn_metric_name_match(const char *pat, const char *name) {
  while (*pat && *name) {
    if (*pat == '<') {
      const char *e = strchr(pat, '>');
      if (!e) return 0;
      size_t n = strcspn(name, ".");
      if (n == 0) return 0;
      pat = e + 1;
      name += n;
    } else if (*pat++ != *name++) {
      return 0;
    }
  }
  return !*pat && !*name;
}

static const sim_metric_desc_t *part_metric(const sim_model_part_t *p, const char *name) {
  for (const sim_metric_desc_t *d = p->metrics; d && d->name; d++)
    if (scn_metric_name_match(d->name, name)) return d;
  return NULL;
}

const sim_metric_desc_t *scn_metric_desc(const sim_model_t *m, const char *name) {
  for (size_t i = 0; m && m->parts && m->parts[i]; i++) {
    const sim_metric_desc_t *d = part_metric(m->parts[i], name);
    if (d) return d;
  }
  return part_metric(&world_part, name);
}

int scn_param_qty(const scn_scenario_t *s, const scn_variant_t *v, const scn_world_cfg_t *w,
                  const char *path, scn_qty_t *q, char *err, size_t nerr) {
  const sim_param_t *tabs[2] = {scn_world_params(), s->model->params};
  const void *bases[2] = {w, v->cfg};
  for (int k = 0; k < 2; k++)
    for (const sim_param_t *p = tabs[k]; p && p->path; p++)
      if (!strcmp(p->path, path)) {
        q->v = scn_param_number(p, (const char *)bases[k] + p->offset, &q->t, &q->b);
        return 0;
      }
  snprintf(err, nerr, "unknown parameter '$%s'", path);
  return -1;
}

int scn_metric_never(const sim_model_t *m, const char *name) {
  for (size_t i = 0; m && m->parts && m->parts[i]; i++)
    for (const char *const *n = m->parts[i]->never; n && *n; n++)
      if (!strcmp(*n, name)) return 1;
  return 0;
}

static const sim_metric_states_t *part_states(const sim_model_part_t *p, const char *name) {
  for (const sim_metric_states_t *st = p->states; st && st->metric; st++)
    if (!strcmp(st->metric, name)) return st;
  return NULL;
}

const sim_metric_states_t *scn_metric_states(const sim_model_t *m, const char *name) {
  for (size_t i = 0; m && m->parts && m->parts[i]; i++) {
    const sim_metric_states_t *st = part_states(m->parts[i], name);
    if (st) return st;
  }
  return part_states(&world_part, name);
}

/* ---- docs/metrics.md ----------------------------------------------------------------- */

static const char *kind_word(sim_metric_kind_t k) {
  return k == SIM_M_COUNTER ? "counter" : k == SIM_M_GAUGE ? "gauge" : "sample";
}

static void md_part(FILE *f, const sim_model_part_t *p) {
  fprintf(f, "\n## %s\n\n", p->title ? p->title : p->name);
  if (p->file) fprintf(f, "In `%s`.", p->file);
  if (p->fix) fprintf(f, " Fix `%s`: %s", p->fix, p->fix_doc ? p->fix_doc : "");
  fprintf(f, "\n\n");
  if (p->metrics && p->metrics[0].name) {
    fprintf(f, "| metric | kind | unit | meaning |\n| --- | --- | --- | --- |\n");
    for (const sim_metric_desc_t *d = p->metrics; d->name; d++)
      fprintf(f, "| `%s` | %s | %s | %s |\n", d->name, kind_word(d->kind), d->unit ? d->unit : "",
              d->doc ? d->doc : "");
  } else {
    fprintf(f, "No metrics of its own.\n");
  }
  if (p->plots && p->plots[0].title) {
    fprintf(f, "\nPlots in the HTML report:");
    for (const sim_plot_desc_t *pl = p->plots; pl->title; pl++) {
      fprintf(f, "%s %s (", pl == p->plots ? "" : ";", pl->title);
      for (int k = 0; k < SIM_PLOT_MAX_METRICS && pl->metrics[k]; k++)
        fprintf(f, "%s`%s`", k ? ", " : "", pl->metrics[k]);
      fprintf(f, ")");
    }
    fprintf(f, ".\n");
  }
}

/* ---- parameters as Markdown (storesim schema --markdown) ---------------------------- */

void scn_params_md_table(FILE *f, const sim_param_t *tab) {
  fprintf(f, "| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
  for (const sim_param_t *p = tab; p && p->path; p++) {
    char lo[64], hi[64], range[160];
    if (p->min != 0 || p->max != 0) {
      scn_param_format_base(p, p->min, lo, sizeof lo);
      scn_param_format_base(p, p->max, hi, sizeof hi);
      if (p->max >= 9e17) snprintf(range, sizeof range, ">= %s", lo);
      else snprintf(range, sizeof range, "%s .. %s", lo, hi);
    } else snprintf(range, sizeof range, "-");
    fprintf(f, "| `%s` | %s | %s%s%s | %s | %s |\n", p->path, scn_ptype_name(p->type),
            p->def ? "`" : "", p->def ? p->def : "**required**", p->def ? "`" : "", range,
            p->doc ? p->doc : "");
  }
}

int scn_params_markdown(FILE *f, const sim_model_t *const *ms, size_t nm) {
  for (size_t m = 0; m < nm; m++) {
    const sim_model_t *mo = ms[m];
    fprintf(f, "\n### Model `%s`\n\n%s\n\n", mo->name, mo->doc ? mo->doc : "");
    scn_params_md_table(f, mo->params);
    fprintf(f, "\nFaults (`faults: [{at: DURATION, action: NAME}]`):\n\n");
    if (!mo->faults || !mo->faults[0].name) fprintf(f, "none\n");
    else {
      fprintf(f, "| action | meaning |\n|---|---|\n");
      for (const sim_fault_kind_t *fk = mo->faults; fk->name; fk++)
        fprintf(f, "| `%s` | %s |\n", fk->name, fk->doc ? fk->doc : "");
    }
    fprintf(f, "\nFixes (`variants: {NAME: {fixes: [...]}}`): ");
    if (!mo->fixes || !mo->fixes[0]) fprintf(f, "none\n");
    else {
      for (const char *const *fx = mo->fixes; *fx; fx++)
        fprintf(f, "%s`%s`", fx == mo->fixes ? "" : ", ", *fx);
      fprintf(f, "\n");
    }
  }
  return ferror(f) ? -1 : 0;
}

int scn_metrics_markdown(FILE *f, const sim_model_t *const *ms, size_t n) {
  fprintf(f, "<!-- generated by `storesim schema --metrics-markdown` from the models' "
             "descriptors; do not edit by hand -->\n"
             "# Metrics\n\n"
             "Every metric a run publishes, its unit and what it means, part by part\n"
             "of each model. Metric kinds: **counter** (monotonic), **gauge** (goes up\n"
             "and down; the kernel keeps its time-weighted mean) and **sample** (one\n"
             "value per observation, with percentiles). In expectations write\n"
             "`metric.stat` with a stat among `min max mean twmean final p50 p95 p99\n"
             "count`; values are converted to SI units (a metric in `ms` compares with\n"
             "`1s`, one in `s` with `$store.transit_flush_timeout`). A name with a part\n"
             "in angle brackets (`tasks.busy.<kind>`) is a family of metrics.\n\n"
             "Note on gauges: the kernel counts the value 0 a gauge holds when it is\n"
             "registered, so `gauge.min` of a gauge that starts positive is 0. For \"the\n"
             "lowest value while the store ran\" use the model's own low-water marks\n"
             "(`tasks.free_low`), and use `.final` for values set once\n"
             "(`tasks.exhausted_at`, `cache.full_at`).\n\n"
             "The HTML report draws, after the metrics a scenario's expectations name,\n"
             "the plots each part lists below. See docs/store-model.md for the\n"
             "Performance Monitor counters these metrics stand for, and the reports.\n");
  for (size_t m = 0; m < n; m++) {
    fprintf(f, "\n# Model `%s`\n\n%s\n", ms[m]->name, ms[m]->doc ? ms[m]->doc : "");
    for (size_t i = 0; ms[m]->parts && ms[m]->parts[i]; i++) md_part(f, ms[m]->parts[i]);
  }
  fprintf(f, "\n# Every model\n");
  md_part(f, &world_part);
  return ferror(f) ? -1 : 0;
}
