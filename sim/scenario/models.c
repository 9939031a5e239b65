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
#include <stdlib.h>
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
    {"proc.<name>.cpu_cores",
     SIM_M_GAUGE,
     "",
     "cores the simulated process <name> uses now",
     {"\\Process(<name>)\\% Processor Time", SIM_DERIVE_MEAN, 100, "%",
      "percent of one core over the interval, as Performance Monitor shows a process: 200 % on "
      "2 busy cores"}},
    {"proc.<name>.mem_bytes",
     SIM_M_GAUGE,
     "B",
     "bytes allocated in the process's jemalloc arena",
     {"\\Process(<name>)\\Private Bytes", SIM_DERIVE_VALUE, 1, "B",
      "the arena's bytes: allocations, not the pages a real heap commits around them"}},
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

static const sim_metric_desc_t *counter_desc(const sim_metric_desc_t *src);

const sim_metric_desc_t *scn_metric_desc(const sim_model_t *m, const char *name) {
  if (scn_is_counter(name)) {
    const sim_metric_desc_t *src = scn_counter_metric(m, name);
    return src ? counter_desc(src) : NULL;
  }
  for (size_t i = 0; m && m->parts && m->parts[i]; i++) {
    const sim_metric_desc_t *d = part_metric(m->parts[i], name);
    if (d) return d;
  }
  return part_metric(&world_part, name);
}

/* ---- Performance Monitor counters ---------------------------------------------------- */

/* The parts of m (NULL-ended), then the world part, into out[]; returns how many. */
static size_t all_parts(const sim_model_t *m, const sim_model_part_t **out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; m && m->parts && m->parts[i] && n + 1 < max; i++) out[n++] = m->parts[i];
  out[n++] = &world_part;
  return n;
}

void scn_counters_attach(sim_world_t *w, const sim_model_t *m) {
  const sim_model_part_t *parts[128];
  size_t np = all_parts(m, parts, 128);
  for (size_t i = 0; i < np; i++)
    for (const sim_metric_desc_t *d = parts[i]->metrics; d && d->name; d++)
      if (d->counter.path)
        sim_metric_derive(w, d->name, d->counter.path, d->counter.how, d->counter.factor,
                          d->counter.unit);
}

/* Whether counter path `name` is `pat` with its "<x>" (if any) filled in by
 * a non-empty instance without the character that follows "<x>" in pat. */
static int counter_match(const char *pat, const char *name) {
  const char *lt = strchr(pat, '<'), *gt = lt ? strchr(lt, '>') : NULL;
  if (!lt || !gt) return !strcmp(pat, name);
  size_t pre = (size_t)(lt - pat);
  if (strncmp(pat, name, pre)) return 0;
  const char *inst = name + pre, *end = gt[1] ? strchr(inst, gt[1]) : inst + strlen(inst);
  return end && end > inst && !strcmp(end, gt + 1);
}

/* The description of a counter as a metric of its own (a gauge in the
 * counter's unit), made once per metric row that declares it and kept for
 * the life of the process (rows are static, or live as long as their model). */
typedef struct counter_entry {
  const sim_metric_desc_t *src;
  sim_metric_desc_t d;
  char doc[512];
} counter_entry_t;
static counter_entry_t **centries;
static size_t ncentries;
static pthread_mutex_t centries_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *derive_words(sim_derive_t how);

static const sim_metric_desc_t *counter_desc(const sim_metric_desc_t *src) {
  const sim_metric_desc_t *r = NULL;
  pthread_mutex_lock(&centries_lock);
  for (size_t i = 0; i < ncentries && !r; i++)
    if (centries[i]->src == src) r = &centries[i]->d;
  if (!r) {
    counter_entry_t *e = calloc(1, sizeof *e);
    counter_entry_t **v = realloc(centries, (ncentries + 1) * sizeof *v);
    if (v) centries = v;
    if (e && v) {
      e->src = src;
      snprintf(e->doc, sizeof e->doc, "Performance Monitor counter of `%s`: its %s%s%s", src->name,
               derive_words(src->counter.how), src->counter.doc ? "; " : "",
               src->counter.doc ? src->counter.doc : "");
      e->d = (sim_metric_desc_t){src->counter.path, SIM_M_GAUGE,
                                 src->counter.unit ? src->counter.unit : "", e->doc};
      centries[ncentries++] = e;
      r = &e->d;
    } else {
      free(e);
    }
  }
  pthread_mutex_unlock(&centries_lock);
  return r;
}

const sim_metric_desc_t *scn_counter_metric(const sim_model_t *m, const char *counter) {
  const sim_model_part_t *parts[128];
  size_t np = all_parts(m, parts, 128);
  for (size_t i = 0; i < np; i++)
    for (const sim_metric_desc_t *d = parts[i]->metrics; d && d->name; d++)
      if (d->counter.path && counter_match(d->counter.path, counter)) return d;
  return NULL;
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
    for (const sim_metric_desc_t *d = p->metrics; d->name; d++) {
      fprintf(f, "| `%s` | %s | %s | %s", d->name, kind_word(d->kind), d->unit ? d->unit : "",
              d->doc ? d->doc : "");
      if (d->counter.path) fprintf(f, "; Performance Monitor: `%s`", d->counter.path);
      fprintf(f, " |\n");
    }
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

static const char *derive_words(sim_derive_t how) {
  return how == SIM_DERIVE_RATE   ? "increase per second over each sample interval"
         : how == SIM_DERIVE_MEAN ? "time-weighted mean over each sample interval"
                                  : "value at each sample instant";
}

typedef struct counter_row {
  const sim_metric_desc_t *d;
  const char *model;
} counter_row_t;

static int by_counter(const void *a, const void *b) {
  return strcmp(((const counter_row_t *)a)->d->counter.path,
                ((const counter_row_t *)b)->d->counter.path);
}
static int by_metric(const void *a, const void *b) {
  return strcmp(((const counter_row_t *)a)->d->name, ((const counter_row_t *)b)->d->name);
}

/* The counters of every model's metrics, both ways. */
static void md_counters(FILE *f, const sim_model_t *const *ms, size_t n) {
  counter_row_t rows[256];
  size_t nr = 0;
  for (size_t m = 0; m <= n; m++) {
    const sim_model_part_t *parts[128];
    size_t np = all_parts(m < n ? ms[m] : NULL, parts, 128);
    for (size_t i = m < n ? 0 : np - 1; i < np; i++) /* the world part once, last */
      for (const sim_metric_desc_t *d = parts[i]->metrics; d && d->name; d++)
        if (d->counter.path && nr < 256 && (m == n || parts[i] != &world_part))
          rows[nr++] = (counter_row_t){d, m < n ? ms[m]->name : "every model"};
  }
  fprintf(f, "\n# Performance Monitor counters\n\n"
             "Every metric below that stands for a Performance Monitor counter is recorded in\n"
             "every run a second time, under the counter's path without the machine\n"
             "(`\\Object\\Counter`, `\\Object(Instance)\\Counter`; a multi-instance object\n"
             "of one SMTP virtual server or one mailbox store as `_Total`, a process by its\n"
             "name), sampled the way Performance Monitor samples the counter: at each\n"
             "sample interval, the metric's value then, its increase per second over the\n"
             "interval (a `/sec` counter), or its mean over the interval (`%% Processor\n"
             "Time`: percent of one core, so 200 %% on two busy cores). The recorded\n"
             "series holds one value per interval and the statistics are over those\n"
             "values (`count` is the number of samples; `twmean` equals `mean`).\n\n"
             "Name a counter wherever a metric name is accepted: in expectations quote it\n"
             "(`'\\MSExchangeIS\\RPC Averaged Latency'.max < 50ms`; in a YAML\n"
             "double-quoted string write each backslash twice); `storesim run --json`,\n"
             "`--metrics` and `-v` list it; `storesim run --perfmon FILE.csv` writes every\n"
             "counter as a Performance Monitor CSV log. Counters engineers read that the\n"
             "model has no metric for are listed in docs/store-model.md.\n\n"
             "## Counter to metric\n\n"
             "| counter | unit | sampled as | metric | model | notes |\n"
             "| --- | --- | --- | --- | --- | --- |\n");
  qsort(rows, nr, sizeof *rows, by_counter);
  for (size_t i = 0; i < nr; i++) {
    const sim_metric_desc_t *d = rows[i].d;
    char factor[64] = "";
    if (d->counter.factor > 0 && d->counter.factor < 1)
      snprintf(factor, sizeof factor, " / %.10g", 1 / d->counter.factor);
    else if (d->counter.factor != 1) snprintf(factor, sizeof factor, " x %.10g", d->counter.factor);
    fprintf(f, "| `%s` | %s | %s%s | `%s` | %s | %s |\n", d->counter.path,
            d->counter.unit ? d->counter.unit : "", derive_words(d->counter.how), factor, d->name,
            rows[i].model, d->counter.doc ? d->counter.doc : "");
  }
  fprintf(f, "\n## Metric to counter\n\n| metric | counter |\n| --- | --- |\n");
  qsort(rows, nr, sizeof *rows, by_metric);
  for (size_t i = 0; i < nr; i++)
    fprintf(f, "| `%s` | `%s` |\n", rows[i].d->name, rows[i].d->counter.path);
}

/* ---- parameters as Markdown (storesim schema --markdown) ---------------------------- */

/* " (store.version 2003 only)" when row `i` of table `tab` of model m (NULL:
 * none) exists in some of m's versions only (sim_model_t.*_versions). */
static void version_note(const sim_model_t *m, const uint32_t *tab, size_t i, char *buf, size_t n) {
  buf[0] = 0;
  if (!m || !m->versions || !tab) return;
  uint32_t all = 0;
  for (int k = 0; m->versions[k] && k < 32; k++) all |= UINT32_C(1) << k;
  if ((tab[i] & all) == all) return;
  snprintf(buf, n, " (%s", m->version_param);
  for (int k = 0; m->versions[k] && k < 32; k++)
    if (tab[i] & (UINT32_C(1) << k)) {
      size_t l = strlen(buf);
      snprintf(buf + l, n - l, " %s", m->versions[k]);
    }
  size_t l = strlen(buf);
  snprintf(buf + l, n - l, " only)");
}

static void md_table(FILE *f, const sim_param_t *tab, const sim_model_t *m) {
  fprintf(f, "| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
  for (const sim_param_t *p = tab; p && p->path; p++) {
    char lo[64], hi[64], range[160], note[160];
    version_note(m, m ? m->param_versions : NULL, (size_t)(p - tab), note, sizeof note);
    if (m && m->version_param && !strcmp(p->path, m->version_param)) {
      snprintf(range, sizeof range, "%s", m->versions[0]);
      for (int k = 1; m->versions[k] && k < 32; k++) {
        size_t l = strlen(range);
        snprintf(range + l, sizeof range - l, " or %s", m->versions[k]);
      }
    } else if (p->min != 0 || p->max != 0) {
      scn_param_format_base(p, p->min, lo, sizeof lo);
      scn_param_format_base(p, p->max, hi, sizeof hi);
      if (p->max >= 9e17) snprintf(range, sizeof range, ">= %s", lo);
      else snprintf(range, sizeof range, "%s .. %s", lo, hi);
    } else snprintf(range, sizeof range, "-");
    fprintf(f, "| `%s` | %s | %s%s%s | %s | %s%s%s |\n", p->path, scn_ptype_name(p->type),
            p->def ? "`" : "", p->def ? p->def : "**required**", p->def ? "`" : "", range,
            p->doc ? p->doc : "", note,
            p->shrinkable ? " Shrinkable (`storesim shrink`)." : "");
  }
}

void scn_params_md_table(FILE *f, const sim_param_t *tab) { md_table(f, tab, NULL); }

int scn_params_markdown(FILE *f, const sim_model_t *const *ms, size_t nm) {
  for (size_t m = 0; m < nm; m++) {
    const sim_model_t *mo = ms[m];
    fprintf(f, "\n### Model `%s`\n\n%s\n\n", mo->name, mo->doc ? mo->doc : "");
    md_table(f, mo->params, mo);
    fprintf(f, "\nFaults (`faults: [{at: DURATION, action: NAME}]`):\n\n");
    if (!mo->faults || !mo->faults[0].name) fprintf(f, "none\n");
    else {
      fprintf(f, "| action | meaning |\n|---|---|\n");
      for (const sim_fault_kind_t *fk = mo->faults; fk->name; fk++) {
        char note[160];
        version_note(mo, mo->fault_versions, (size_t)(fk - mo->faults), note, sizeof note);
        fprintf(f, "| `%s` | %s%s |\n", fk->name, fk->doc ? fk->doc : "", note);
      }
    }
    fprintf(f, "\nFixes (`variants: {NAME: {fixes: [...]}}`): ");
    if (!mo->fixes || !mo->fixes[0]) fprintf(f, "none\n");
    else {
      for (const char *const *fx = mo->fixes; *fx; fx++) {
        char note[160];
        version_note(mo, mo->fix_versions, (size_t)(fx - mo->fixes), note, sizeof note);
        fprintf(f, "%s`%s`%s", fx == mo->fixes ? "" : ", ", *fx, note);
      }
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
             "What a run keeps of a metric, whatever its length: the summary (`count`\n"
             "is the number of updates, not of values kept; min, max, mean and the\n"
             "time-weighted mean are updated at every change) and one point per\n"
             "`sample_interval` for its time series (8 bytes a metric an interval: a\n"
             "gauge's or counter's value at the instant, a sample metric's mean over\n"
             "the interval). A sample metric's percentiles are exact up to 65,536\n"
             "values, then come from a histogram of logarithmic buckets (the DDSketch\n"
             "idea), within 0.5 %% of the exact value for every quantile. No output\n"
             "keeps every change of a metric: for a finer series set a shorter\n"
             "interval (`--set sample_interval=1s`); every change of the model is in\n"
             "the trace (`storesim run --trace FILE`, `storesim trace`). See\n"
             "docs/scale.md for the memory of long runs.\n\n"
             "The HTML report draws, after the metrics a scenario's expectations name,\n"
             "the plots each part lists below. The Performance Monitor counters these\n"
             "metrics stand for are listed both ways at the end (\"Performance Monitor\n"
             "counters\"); docs/store-model.md describes the reports.\n");
  for (size_t m = 0; m < n; m++) {
    fprintf(f, "\n# Model `%s`\n\n%s\n", ms[m]->name, ms[m]->doc ? ms[m]->doc : "");
    for (size_t i = 0; ms[m]->parts && ms[m]->parts[i]; i++) md_part(f, ms[m]->parts[i]);
  }
  fprintf(f, "\n# Every model\n");
  md_part(f, &world_part);
  md_counters(f, ms, n);
  return ferror(f) ? -1 : 0;
}
