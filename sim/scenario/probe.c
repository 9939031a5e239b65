/*
 * storesim scenario layer: metric-name probe for `storesim validate`.
 *
 * Builds each variant's world and model, runs it to virtual time 0 (what
 * models register at start-up), and warns about expectation metrics that do
 * not exist by then, with the nearest registered names. It is a hint, not a
 * verdict: a model may register a metric on first use, and the runner checks
 * again after the real run. Nothing here changes the scenario.
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
} probe_t;

static int check_metric(void *arg, int kind, const char *name, scn_stat_t stat, int pos) {
  probe_t *p = arg;
  char sug[400] = "";
  (void)stat;
  if (kind != SCN_REF_METRIC || sim_world_metric_find(p->w, name)) return 0;
  scn_suggest(name, p->names, p->nnames, 1, sug, sizeof sug);
  scn_diag_warning(p->diag, p->s->file, p->x->line, p->x->col + pos,
                   "expect (%s): no metric '%s' is registered at the start of the run "
                   "(nearest: %s); it is checked again after the run",
                   p->v->name, name, sug[0] ? sug : "none");
  return 0;
}

int scn_probe_metrics(const scn_scenario_t *s, scn_diag_t *diag) {
  int rc = 0;
  for (size_t i = 0; i < s->nvariants; i++) {
    const scn_variant_t *v = &s->variants[i];
    sim_world_opts_t wo;
    sim_world_t *w = NULL;
    void *inst = NULL;
    char err[512] = "";
    probe_t p = {s, v, NULL, NULL, NULL, 0, diag};
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
      scn_expr_visit(v->expects[k].expr, check_metric, &p);
    }
  next:
    free(p.names);
    if (inst) s->model->destroy(inst);
    sim_world_destroy(w);
  }
  return rc;
}
