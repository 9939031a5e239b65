/*
 * storesim scenario layer: metric-name probe for `storesim validate`.
 *
 * Builds each variant's world and model, runs it to virtual time 0 (what
 * models register at start-up), and checks every expectation of every
 * variant, all in one pass, each error at its position: a metric must be
 * registered by then or described by the model (sim_model_part_t: every
 * metric a model may register later), with the nearest names otherwise; and
 * the expression, evaluated on stand-in values in each metric's unit, must
 * be well-formed in its units (a duration compared with a bare number, a
 * percentile of a counter) - what the run would otherwise say only at its
 * end. Nothing here changes the scenario.
 */
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "storesim/metrics.h"
#include "storesim/scenario.h"

typedef struct probe {
  const scn_scenario_t *s;
  const scn_variant_t *v;
  const scn_expect_t *x;
  sim_world_t *w;
  const char **names;
  size_t nnames;
  scn_diag_t *diag;
  int nerr; /* errors said for this expectation */
} probe_t;

/* What validate knows of a metric: registered at the start of the run, or
 * described by the model (every metric a model can register is). */
static int metric_known(const probe_t *p, const char *name, sim_metric_kind_t *kind,
                        const char **unit) {
  const sim_metric_t *m = sim_world_metric_find(p->w, name);
  if (m) {
    *kind = sim_metric_kind(m);
    *unit = sim_metric_unit(m);
    return 1;
  }
  const sim_metric_desc_t *d = scn_metric_desc(p->s->model, name);
  if (!d) return 0;
  *kind = d->kind;
  *unit = d->unit ? d->unit : "";
  return 1;
}

static int check_metric(void *arg, int kind, const char *name, scn_stat_t stat, int pos) {
  probe_t *p = arg;
  char sug[400] = "";
  sim_metric_kind_t k;
  const char *unit;
  (void)stat;
  if (kind != SCN_REF_METRIC || metric_known(p, name, &k, &unit)) return 0;
  scn_suggest(name, p->names, p->nnames, 1, sug, sizeof sug);
  scn_diag_error(p->diag, p->s->file, p->x->line, p->x->col + pos,
                 "expect (%s): unknown metric '%s': the model neither registers nor describes it "
                 "(nearest: %s; every metric: docs/metrics.md)",
                 p->v->name, name, sug[0] ? sug : "none");
  p->nerr++;
  return 0;
}

/* ---- the expectation evaluated on stand-in values: its units must agree ---- */
static int dry_metric(void *arg, const char *name, scn_stat_t stat, scn_qty_t *q, char *err,
                      size_t nerr) {
  const probe_t *p = arg;
  sim_metric_kind_t kind;
  const char *unit;
  if (!metric_known(p, name, &kind, &unit)) {
    snprintf(err, nerr, "unknown metric '%s'", name); /* said by check_metric */
    return -1;
  }
  if (scn_stat_check(name, kind, stat, err, nerr)) return -1;
  double scale = 1;
  q->t = q->b = 0;
  if (stat != SCN_ST_COUNT) scn_unit_dim(unit, &q->t, &q->b, &scale);
  q->v = 1.5 * scale; /* any positive value: only the units are judged */
  return 0;
}

static int dry_param(void *arg, const char *path, scn_qty_t *q, char *err, size_t nerr) {
  const probe_t *p = arg;
  return scn_param_qty(p->s, p->v, &p->v->world, path, q, err, nerr);
}

/* Errors of an expression that depend on the values (a stand-in 1.5 may
 * divide by zero where the run would not): not validate's to judge. */
static int value_dependent(const char *err) {
  static const char *const words[] = {"division by zero", "negative", "<= 0", "must be >=",
                                      "unknown metric"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strstr(err, words[i])) return 1;
  return 0;
}

static void dry_eval(probe_t *p) {
  scn_eval_env_t env = {.metric = dry_metric, .param = dry_param, .arg = p, .units_only = 1};
  int truth;
  scn_qty_t measured;
  char detail[512], err[600];
  if (!scn_expr_eval(p->x->expr, &env, &truth, &measured, detail, sizeof detail, err, sizeof err))
    return;
  if (value_dependent(err)) return;
  scn_diag_error(p->diag, p->s->file, p->x->line, p->x->col, "expect (%s): %s", p->v->name, err);
  p->nerr++;
}

int scn_probe_metrics(const scn_scenario_t *s, scn_diag_t *diag) {
  int rc = 0;
  for (size_t i = 0; i < s->nvariants; i++) {
    const scn_variant_t *v = &s->variants[i];
    sim_world_opts_t wo;
    sim_world_t *w = NULL;
    void *inst = NULL;
    char err[512] = "";
    probe_t p = {s, v, NULL, NULL, NULL, 0, diag, 0};
    if (v->nexpects == 0) continue;
    sim_world_opts_init(&wo);
    wo.seed = (uint64_t)v->world.seed;
    wo.ncores = (int)v->world.cores;
    wo.stack_size = (size_t)v->world.stack_size;
    wo.machine_mem_limit = (size_t)v->world.machine_memory;
    wo.cpu_quantum = v->world.cpu_quantum;
    wo.spin_window = v->world.spin_window;
    wo.max_threads = (uint64_t)v->world.max_threads;
    wo.max_events = (uint64_t)v->world.max_events;
    wo.max_instant_steps = (uint64_t)v->world.max_instant_steps;
    if (sim_world_create(&wo, &w, err, sizeof err)) {
      scn_diag_error(diag, s->file, 0, 0, "variant %s: cannot create the world: %s", v->name, err);
      rc = SIM_EINVAL;
      continue;
    }
    scn_counters_attach(w, s->model);
    inst = s->model->create(s->model, w, v->cfg, v->fixes, s->faults, s->nfaults, err, sizeof err);
    if (!inst) {
      scn_diag_error(diag, s->file, 0, 0, "variant %s: model '%s' cannot start: %s", v->name,
                     s->model->name, err[0] ? err : "no reason given");
      rc = SIM_EINVAL;
      goto next;
    }
    scn_detect_t detect;
    scn_detect_attach(w, &detect);
    sim_world_run(w, 0);
    p.w = w;
    p.nnames = sim_world_nmetrics(w);
    p.names = sim_calloc(p.nnames + 1, sizeof *p.names);
    if (!p.names) goto next;
    for (size_t k = 0; k < p.nnames; k++) p.names[k] = sim_metric_name(sim_world_metric(w, k));
    for (size_t k = 0; k < v->nexpects; k++) {
      p.x = &v->expects[k];
      p.nerr = 0;
      scn_expr_visit(v->expects[k].expr, check_metric, &p);
      if (!p.nerr) dry_eval(&p);
      if (p.nerr) rc = SIM_EINVAL;
    }
  next:
    free(p.names);
    if (inst) s->model->destroy(inst);
    sim_world_destroy(w);
  }
  return rc;
}
