/*
 * storesim explain: the causal chain of each variant in sentences.
 *
 * Built from results only, generically: no scenario, metric or event name
 * appears in this file. For variant V the story is a time-ordered list of
 * findings, each a sentence with a virtual timestamp:
 *
 *   fault      a timed fault of the scenario (store_shutdown at 1:50:00)
 *   zero       a sampled gauge that was > 0 reached 0 (and when it recovered)
 *   nonzero    a counter that stayed 0 in the contrast variant rose above 0
 *   threshold  a gauge passed the bound an expectation "M.max > X" names
 *   peak       a gauge whose peak is far from the contrast variant's
 *   event      a model event kind (trace) absent or much rarer in the contrast
 *   wait       an object threads waited on far longer or in far greater
 *              numbers than in the contrast (trace)
 *   report     a detector report (banner line)
 * and, right after a "zero" finding, what the threads were blocked on then.
 *
 * Which metrics are told: those the scenario's expectations name, plus
 * counters and gauges that differ in kind between V and its contrast. The
 * contrast of the reference variant (named "without_fix", else the first) is
 * "with_fix" if present, else the next variant; every other variant's
 * contrast is the reference, and for those a "compared with" section checks
 * each of the reference's findings: whether it happened here too, or what
 * was measured instead.
 *
 * Series are sampled, so a time read from a series means "by that sample".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "storesim/metrics.h"

enum { F_FAULT, F_ZERO, F_NONZERO, F_THRESH, F_PEAK, F_EVENT, F_WAIT, F_REPORT, F_SNAP };

typedef struct finding {
  int type;
  sim_time_t t;
  int seq;
  const char *name;   /* metric, event kind, wait object, report kind */
  double value;       /* threshold (metric unit) for F_THRESH */
  int op_ge;          /* F_THRESH: >= rather than > */
  char *text;
} finding_t;

typedef struct flist {
  finding_t *v;
  size_t n, cap;
} flist_t;

typedef struct ctx {
  const scn_result_t *r;
  report_facts_t *const *facts;
  int oom;
} ctx_t;

static void add(ctx_t *c, flist_t *l, int type, sim_time_t t, const char *name, double value,
                int op_ge, const char *text) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 32;
    finding_t *v = realloc(l->v, nc * sizeof *v);
    if (!v) {
      c->oom = 1;
      return;
    }
    l->v = v;
    l->cap = nc;
  }
  char *d = strdup(text);
  if (!d) {
    c->oom = 1;
    return;
  }
  l->v[l->n] = (finding_t){type, t, (int)l->n, name, value, op_ge, d};
  l->n++;
}

static void flist_free(flist_t *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i].text);
  free(l->v);
}

static int cmp_finding(const void *a, const void *b) {
  const finding_t *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->seq - y->seq;
}

/* ---- series helpers ------------------------------------------------------------------- */
/* First sample index where the gauge is <= 0 after starting > 0; -1 if none. */
static long zero_at(const scn_metric_res_t *m) {
  if (m->kind != SIM_M_GAUGE || m->nseries < 2 || !(m->series[0] > 0)) return -1;
  for (size_t i = 1; i < m->nseries; i++)
    if (m->series[i] <= 0) return (long)i;
  return -1;
}

static long first_above(const scn_metric_res_t *m, double x, int ge) {
  for (size_t i = 0; i < m->nseries; i++)
    if (ge ? m->series[i] >= x : m->series[i] > x) return (long)i;
  return -1;
}

static long argmax(const scn_metric_res_t *m) {
  long k = -1;
  for (size_t i = 0; i < m->nseries; i++)
    if (k < 0 || m->series[i] > m->series[k]) k = (long)i;
  return k;
}

static double smin(const scn_metric_res_t *m) {
  double v = INFINITY;
  for (size_t i = 0; i < m->nseries; i++)
    if (m->series[i] < v) v = m->series[i];
  return v;
}

/* ---- which metrics ---------------------------------------------------------------------- */
typedef struct names {
  const char **v;
  size_t n, cap;
} names_t;

static void names_add(ctx_t *c, names_t *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->v[i], name)) return;
  if (s->n == s->cap) {
    size_t nc = s->cap ? 2 * s->cap : 32;
    const char **v = realloc(s->v, nc * sizeof *v);
    if (!v) {
      c->oom = 1;
      return;
    }
    s->v = v;
    s->cap = nc;
  }
  s->v[s->n++] = name;
}

typedef struct visit {
  ctx_t *c;
  names_t *names;
  const scn_variant_res_t *vr;
} visit_t;

static int on_ref(void *arg, int kind, const char *name, scn_stat_t stat, int pos) {
  visit_t *v = arg;
  (void)stat;
  (void)pos;
  if (kind != SCN_REF_METRIC) return 0;
  const scn_metric_res_t *m = report__metric(v->vr, name);
  if (m) names_add(v->c, v->names, m->name);
  return 0;
}

/* Expectation-named metrics of every variant, in order of appearance. */
static void expect_metrics(ctx_t *c, const scn_variant_res_t *vr, names_t *out) {
  const scn_scenario_t *s = c->r->s;
  visit_t v = {c, out, vr};
  for (size_t i = 0; i < s->nvariants; i++)
    for (size_t k = 0; k < s->variants[i].nexpects; k++)
      if (s->variants[i].expects[k].expr) scn_expr_visit(s->variants[i].expects[k].expr, on_ref, &v);
}

/* ---- thresholds from expectations "M.max > X" ------------------------------------------------ */
static int no_metric(void *arg, const char *name, scn_stat_t stat, scn_qty_t *q, char *err,
                     size_t nerr) {
  (void)arg, (void)name, (void)stat, (void)q;
  snprintf(err, nerr, "-");
  return -1;
}
static int no_param(void *arg, const char *path, scn_qty_t *q, char *err, size_t nerr) {
  (void)arg, (void)path, (void)q;
  snprintf(err, nerr, "-");
  return -1;
}

/* If text is "METRIC.max > X" or ">=" with a constant X, returns 1 with the
 * metric and X in the metric's unit. */
static int parse_thresh(const scn_variant_res_t *vr, const char *text, const scn_metric_res_t **mo,
                        double *x, int *ge) {
  const char *op = strchr(text, '>');
  if (!op) return 0;
  char lhs[200];
  size_t n = (size_t)(op - text);
  if (n >= sizeof lhs) return 0;
  memcpy(lhs, text, n);
  while (n > 0 && lhs[n - 1] == ' ') n--;
  lhs[n] = 0;
  const char *l = lhs;
  while (*l == ' ') l++;
  size_t ll = strlen(l);
  if (ll < 5 || strcmp(l + ll - 4, ".max")) return 0;
  char name[200];
  snprintf(name, sizeof name, "%.*s", (int)(ll - 4), l);
  const scn_metric_res_t *m = report__metric(vr, name);
  if (!m || m->kind != SIM_M_GAUGE || !m->nseries) return 0;
  *ge = op[1] == '=';
  const char *rhs = op + (*ge ? 2 : 1);
  scn_expr_t *e = NULL;
  char err[200];
  int pos;
  if (scn_expr_parse(rhs, &e, err, sizeof err, &pos)) return 0;
  scn_eval_env_t env = {.metric = no_metric, .param = no_param};
  int truth;
  scn_qty_t q;
  char det[200];
  int rc = scn_expr_eval(e, &env, &truth, &q, det, sizeof det, err, sizeof err);
  scn_expr_free(e);
  if (rc || !isfinite(q.v)) return 0;
  int t, b;
  double scale;
  scn_unit_dim(m->unit, &t, &b, &scale);
  if ((q.t || q.b) && (t != q.t || b != q.b)) return 0;
  *x = (q.t || q.b) && scale ? q.v / scale : q.v;
  *mo = m;
  return 1;
}

/* ---- findings of one variant against its contrast ---------------------------------------------- */
static const report_ev_fact_t *find_event(const report_facts_t *f, const char *kind) {
  for (size_t i = 0; f && i < f->nevents; i++)
    if (!strcmp(f->events[i].kind, kind)) return &f->events[i];
  return NULL;
}

static const report_wait_fact_t *find_wait(const report_facts_t *f, const char *what) {
  for (size_t i = 0; f && i < f->nwaits; i++)
    if (!strcmp(f->waits[i].what, what)) return &f->waits[i];
  return NULL;
}

/* A wait ranked by the blocked time it adds over the contrast variant. */
typedef struct ranked {
  const report_wait_fact_t *w;
  double excess;
} ranked_t;

static int cmp_ranked(const void *a, const void *b) {
  const ranked_t *x = a, *y = b;
  if (x->excess != y->excess) return x->excess > y->excess ? -1 : 1;
  return strcmp(x->w->what, y->w->what);
}

static const char *variant_name(const scn_result_t *r, int i) {
  return i >= 0 ? r->variants[i].v->name : "";
}

/* The variant whose findings are being made, and what it is contrasted with. */
typedef struct focus {
  ctx_t *c;
  flist_t *out;                 /* the findings so far */
  const scn_variant_res_t *vr;  /* the variant */
  const scn_variant_res_t *cr;  /* its contrast, or NULL */
  const report_facts_t *f, *cf; /* their trace facts, or NULL */
  const char *cname;            /* the contrast's name, or "" */
} focus_t;

/* The scenario's faults injected before the variant ended. */
static void find_faults(const focus_t *x) {
  const scn_scenario_t *s = x->c->r->s;
  char a[96], line[1200];
  for (size_t i = 0; i < s->nfaults; i++) {
    if (s->faults[i].at > x->vr->end_time) continue;
    const char *fn = s->model->faults ? s->model->faults[s->faults[i].kind].name : "fault";
    if (s->faults[i].timeout > 0) {
      report__fmt_dur(s->faults[i].timeout, a, sizeof a);
      snprintf(line, sizeof line, "The scenario's fault %s happens (timeout %s).", fn, a);
    } else {
      snprintf(line, sizeof line, "The scenario's fault %s happens.", fn);
    }
    add(x->c, x->out, F_FAULT, s->faults[i].at, fn, 0, 0, line);
  }
}

/* The metrics to look at: those expectations name, then up to 6 counters and
 * 4 gauges that count or reach 0 only in this variant. Returns how many
 * metrics of ms may be told as "starts to count". */
static size_t pick_metrics(const focus_t *x, names_t *ms) {
  const scn_variant_res_t *vr = x->vr, *cr = x->cr;
  expect_metrics(x->c, vr, ms);
  size_t nexp = ms->n, extra_c = 0, extra_z = 0;
  for (size_t i = 0; cr && i < vr->nmetrics; i++) {
    const scn_metric_res_t *m = &vr->metrics[i], *cm = report__metric(cr, m->name);
    if (!cm) continue;
    if (m->kind == SIM_M_COUNTER && m->sum.final > 0 && cm->sum.final == 0 && extra_c < 6) {
      names_add(x->c, ms, m->name);
      extra_c++;
    } else if (m->kind == SIM_M_GAUGE && zero_at(m) >= 0 && zero_at(cm) < 0 && extra_z < 4) {
      names_add(x->c, ms, m->name);
      extra_z++;
    }
  }
  return nexp + extra_c + extra_z;
}

/* What the threads were doing when m reached 0 at sample z (time tt), once per snapshot. */
static void find_snaps(const focus_t *x, const scn_metric_res_t *m, long z, const char *tt) {
  const report_facts_t *f = x->f;
  flist_t *out = x->out;
  char line[1200];
  for (size_t si = 0; f && si < f->nsnaps; si++) {
    const report_snap_t *sn = &f->snaps[si];
    if (strcmp(sn->metric, m->name) || !sn->nrows) continue;
    int told = 0;
    for (size_t q = 0; q < out->n; q++) told |= out->v[q].type == F_SNAP && out->v[q].t == sn->at;
    if (told) continue;
    size_t o = (size_t)snprintf(line, sizeof line, "At that moment (%s):", tt);
    for (size_t q = 0; q < sn->nrows && o < sizeof line; q++)
      o += (size_t)snprintf(
          line + o, sizeof line - o, "%s %zu of %zu %s threads %s %s", q ? ";" : "",
          sn->rows[q].count, sn->rows[q].group_live, sn->rows[q].group,
          strcmp(sn->rows[q].what, "running on a CPU") ? "were waiting on" : "were",
          sn->rows[q].what);
    if (o < sizeof line) snprintf(line + o, sizeof line - o, ".");
    add(x->c, out, F_SNAP, report__sample_time(x->vr, (size_t)z), m->name, 0, 0, line);
  }
}

/* Metric m reaching 0 (and coming back or not), with the snapshots taken then. */
static void find_zero(const focus_t *x, const scn_metric_res_t *m) {
  const scn_variant_res_t *vr = x->vr;
  char a[96], tt[48], t2[48], line[1200];
  long z = zero_at(m);
  if (z < 0) return;
  report__fmt_value(m, m->series[0], a, sizeof a);
  report__fmt_time(report__sample_time(vr, (size_t)z), tt, sizeof tt);
  long back = -1;
  for (size_t i = (size_t)z; i < m->nseries; i++)
    if (m->series[i] > 0) {
      back = (long)i;
      break;
    }
  if (back >= 0) {
    report__fmt_time(report__sample_time(vr, (size_t)back), t2, sizeof t2);
    snprintf(line, sizeof line, "%s reaches 0 (it was %s at the start); it is above 0 again by %s.",
             m->name, a, t2);
  } else {
    snprintf(line, sizeof line, "%s reaches 0 (it was %s at the start) and stays there to the end.",
             m->name, a);
  }
  add(x->c, x->out, F_ZERO, report__sample_time(vr, (size_t)z), m->name, 0, 0, line);
  find_snaps(x, m, z, tt);
}

/* Counter m starting to count where its contrast cm counts far less (or not at all). */
static void find_count(const focus_t *x, const scn_metric_res_t *m, const scn_metric_res_t *cm) {
  char a[96], b[96], line[1200];
  if (m->kind != SIM_M_COUNTER || m->sum.final <= 0) return;
  int differs = !cm || cm->sum.final == 0 || m->sum.final >= 2 * cm->sum.final;
  long i0 = first_above(m, 0, 0);
  if (!differs || i0 < 0) return;
  report__fmt_value(m, m->sum.final, a, sizeof a);
  if (cm) report__fmt_value(cm, cm->sum.final, b, sizeof b);
  if (cm)
    snprintf(line, sizeof line, "%s starts to count (%s by the end; %s in %s).", m->name, a, b,
             x->cname);
  else snprintf(line, sizeof line, "%s starts to count (%s by the end).", m->name, a);
  add(x->c, x->out, F_NONZERO, report__sample_time(x->vr, (size_t)i0), m->name, 0, 0, line);
}

/* Gauge m peaking well above its start (or above its contrast cm's peak). */
static void find_peak(const focus_t *x, const scn_metric_res_t *m, const scn_metric_res_t *cm) {
  char a[96], b[96], line[1200];
  size_t nl = strlen(m->name);
  int stamp = nl > 3 && !strcmp(m->name + nl - 3, "_at"); /* a time stamp, not a level */
  if (m->kind != SIM_M_GAUGE || stamp) return;
  long pk = argmax(m);
  double first = m->series[0], peak = pk >= 0 ? m->series[pk] : 0;
  double cpeak = cm && cm->nseries ? cm->series[argmax(cm)] : NAN;
  int notable = peak > 0 &&
                (cm ? (!(cpeak > 0) || peak >= 2 * cpeak + 1e-9) : peak >= 2 * fabs(first) + 1e-9);
  if (!notable || pk <= 0) return;
  report__fmt_value(m, first, a, sizeof a);
  report__fmt_value(m, peak, b, sizeof b);
  char fin[96], cp[96];
  report__fmt_value(m, m->series[m->nseries - 1], fin, sizeof fin);
  if (cm) report__fmt_value(cm, cpeak, cp, sizeof cp);
  if (cm)
    snprintf(line, sizeof line,
             "%s peaks at %s (from %s at the start; %s at the end; at most %s in %s).", m->name, b,
             a, fin, cp, x->cname);
  else
    snprintf(line, sizeof line, "%s peaks at %s (from %s at the start; %s at the end).", m->name, b,
             a, fin);
  add(x->c, x->out, F_PEAK, report__sample_time(x->vr, (size_t)pk), m->name, 0, 0, line);
}

/* Metrics: reaching 0, starting to count, peaking. */
static void find_metrics(const focus_t *x) {
  names_t ms = {0};
  size_t ncount = pick_metrics(x, &ms);
  for (size_t k = 0; k < ms.n; k++) {
    const scn_metric_res_t *m = report__metric(x->vr, ms.v[k]);
    const scn_metric_res_t *cm = x->cr ? report__metric(x->cr, ms.v[k]) : NULL;
    if (!m || !m->nseries) continue;
    find_zero(x, m);
    if (k < ncount) find_count(x, m, cm);
    find_peak(x, m, cm);
  }
  free(ms.v);
}

/* Thresholds named by this variant's expectations ("M.max > X"), when first passed. */
static void find_thresholds(const focus_t *x) {
  const scn_variant_res_t *vr = x->vr;
  char a[96], b[96], line[1200];
  for (size_t k = 0; k < vr->v->nexpects; k++) {
    const scn_metric_res_t *m;
    double th;
    int ge;
    if (!parse_thresh(vr, vr->v->expects[k].text, &m, &th, &ge)) continue;
    long i = first_above(m, th, ge);
    if (i < 0) continue;
    report__fmt_value(m, th, a, sizeof a);
    report__fmt_value(m, m->series[i], b, sizeof b);
    snprintf(line, sizeof line, "%s passes %s (%s at this sample).", m->name, a, b);
    add(x->c, x->out, F_THRESH, report__sample_time(vr, (size_t)i), m->name, th, ge, line);
  }
}

/* Model events from the trace (at most 10) that the contrast has far fewer of. */
static void find_events(const focus_t *x) {
  const report_facts_t *f = x->f, *cf = x->cf;
  const char *cname = x->cname;
  char tt[48], line[1200];
  size_t nev = 0;
  for (size_t i = 0; f && i < f->nevents && nev < 10; i++) {
    const report_ev_fact_t *e = &f->events[i];
    const report_ev_fact_t *ce = find_event(cf, e->kind);
    if (cf && ce && e->count < 2 * ce->count) continue;
    report__fmt_time(e->last, tt, sizeof tt);
    if (e->count == 1)
      snprintf(line, sizeof line, "Model event %s%s%s (thread %s)%s%s%s.", e->kind, e->obj[0] ? " on " : "",
               e->obj, e->thread, cf && !ce ? "; it never happens in " : "", cf && !ce ? cname : "",
               "");
    else
      snprintf(line, sizeof line, "First model event %s%s%s (thread %s); %llu in all, the last at %s%s%s%s.",
               e->kind, e->obj[0] ? " on " : "", e->obj, e->thread, (unsigned long long)e->count, tt,
               cf ? "; " : "", cf ? (ce ? "far fewer in " : "none in ") : "", cf ? cname : "");
    add(x->c, x->out, F_EVENT, e->first, e->kind, 0, 0, line);
    nev++;
  }
}

/* Tells one of the longest waits, with the contrast's figures for the same object. */
static void tell_wait(const focus_t *x, const report_wait_fact_t *w) {
  const report_facts_t *cf = x->cf;
  const report_wait_fact_t *cw = find_wait(cf, w->what);
  char a[96], b[96], t2[48], line[1200];
  report__fmt_dur(w->longest, a, sizeof a);
  report__fmt_time(w->peak_at, t2, sizeof t2);
  static const char *const how[] = {"until woken", "until its timer fired",
                                    "still waiting when the run ended"};
  char cmp[200] = "";
  if (cf && cw) {
    report__fmt_dur(cw->longest, b, sizeof b);
    snprintf(cmp, sizeof cmp, " (in %s: at most %zu at once, the longest wait %s)", x->cname,
             cw->peak, b);
  } else if (cf) {
    snprintf(cmp, sizeof cmp, " (in %s nothing waits on it)", x->cname);
  }
  snprintf(line, sizeof line,
           "%s begins the longest wait on %s: %s, %s. Up to %zu thread%s wait%s on it at once "
           "(first at %s)%s.",
           w->longest_thread ? w->longest_thread : "?", w->what, a, how[w->longest_end], w->peak,
           w->peak == 1 ? "" : "s", w->peak == 1 ? "s" : "", t2, cmp);
  add(x->c, x->out, F_WAIT, w->longest_from, w->what, 0, 0, line);
}

/* Waits from the trace: the 4 that add the most blocked time over the
 * contrast. Returns -1 (and sets c->oom) when out of memory, else 0. */
static int find_waits(const focus_t *x) {
  const report_facts_t *f = x->f, *cf = x->cf;
  if (!f || !f->nwaits) return 0;
  ranked_t *ws = malloc(f->nwaits * sizeof *ws);
  size_t nw = 0;
  if (!ws) {
    x->c->oom = 1;
    return -1;
  }
  for (size_t i = 0; i < f->nwaits; i++) {
    const report_wait_fact_t *w = &f->waits[i], *cw = find_wait(cf, w->what);
    if (w->longest < SIM_SEC) continue;
    if (cf && cw && w->longest < 4 * cw->longest && w->peak < 2 * cw->peak + 2) continue;
    if (!cf && w->longest < x->vr->end_time / 100) continue;
    double excess = w->thread_seconds - (cw ? cw->thread_seconds : 0);
    if (excess <= 0) continue;
    ws[nw++] = (ranked_t){w, excess};
  }
  if (nw) qsort(ws, nw, sizeof *ws, cmp_ranked);
  for (size_t i = 0; i < nw && i < 4; i++) tell_wait(x, ws[i].w);
  free(ws);
  return 0;
}

/* Detector reports, the first of each kind with how many more followed. */
static void find_reports(const focus_t *x) {
  const scn_variant_res_t *vr = x->vr;
  char line[1200];
  for (size_t i = 0; i < vr->nreports; i++) {
    const scn_report_res_t *rp = &vr->reports[i];
    int seen = 0;
    size_t more = 0;
    for (size_t k = 0; k < i; k++) seen |= !strcmp(vr->reports[k].kind, rp->kind);
    if (seen) continue;
    for (size_t k = i + 1; k < vr->nreports; k++) more += !strcmp(vr->reports[k].kind, rp->kind);
    const char *banner = rp->text;
    size_t bl = strcspn(banner, "\n");
    if (!strncmp(banner, "storesim: ", 10)) banner += 10, bl -= 10;
    char more_s[64] = "";
    if (more) snprintf(more_s, sizeof more_s, " (%zu more later)", more);
    snprintf(line, sizeof line, "Detector report '%s'%s: %.*s", rp->kind, more_s, (int)bl, banner);
    add(x->c, x->out, F_REPORT, rp->time, rp->kind, 0, 0, line);
  }
}

/* Appends to out the findings of variant vi against contrast ci (-1: none). */
static void findings(ctx_t *c, int vi, int ci, flist_t *out) {
  const scn_result_t *r = c->r;
  focus_t x = {
      .c = c,
      .out = out,
      .vr = &r->variants[vi],
      .cr = ci >= 0 ? &r->variants[ci] : NULL,
      .f = c->facts ? c->facts[vi] : NULL,
      .cf = c->facts && ci >= 0 ? c->facts[ci] : NULL,
      .cname = variant_name(r, ci),
  };
  find_faults(&x);
  find_metrics(&x);
  find_thresholds(&x);
  find_events(&x);
  if (find_waits(&x)) return;
  find_reports(&x);
}

/* ---- comparison with the reference ------------------------------------------------------------ */
static void compare(ctx_t *c, FILE *out, int vi, int ri, const flist_t *rf) {
  const scn_result_t *r = c->r;
  const scn_variant_res_t *vr = &r->variants[vi], *rr = &r->variants[ri];
  const report_facts_t *f = c->facts ? c->facts[vi] : NULL;
  const char *rn = rr->v->name;
  char a[96], b[96], tt[48], t2[48];
  fprintf(out, "  Compared with %s:\n", rn);
  size_t n = 0;
  for (size_t i = 0; i < rf->n; i++) {
    const finding_t *x = &rf->v[i];
    const scn_metric_res_t *m = NULL, *rm = NULL;
    if (x->type == F_ZERO || x->type == F_NONZERO || x->type == F_THRESH || x->type == F_PEAK) {
      m = report__metric(vr, x->name);
      rm = report__metric(rr, x->name);
      if (!m || !rm || !m->nseries) continue;
    }
    report__fmt_time(x->t, tt, sizeof tt);
    switch (x->type) {
    case F_ZERO: {
      long z = zero_at(m);
      if (z >= 0) {
        report__fmt_time(report__sample_time(vr, (size_t)z), t2, sizeof t2);
        fprintf(out, "  - %s reaches 0 here too, by %s (%s in %s).\n", x->name, t2, tt, rn);
      } else {
        report__fmt_value(m, smin(m), a, sizeof a);
        fprintf(out, "  - %s never reaches 0: its lowest sample is %s (in %s it reached 0 by %s).\n",
                x->name, a, rn, tt);
      }
      n++;
      break;
    }
    case F_NONZERO:
      report__fmt_value(rm, rm->sum.final, b, sizeof b);
      if (m->sum.final == 0)
        fprintf(out, "  - %s stays 0 (%s in %s, from %s).\n", x->name, b, rn, tt);
      else {
        report__fmt_value(m, m->sum.final, a, sizeof a);
        fprintf(out, "  - %s counts here too: %s (%s in %s).\n", x->name, a, b, rn);
      }
      n++;
      break;
    case F_THRESH: {
      long i2 = first_above(m, x->value, x->op_ge);
      report__fmt_value(m, x->value, b, sizeof b);
      if (i2 >= 0) {
        report__fmt_time(report__sample_time(vr, (size_t)i2), t2, sizeof t2);
        fprintf(out, "  - %s passes %s here too, by %s.\n", x->name, b, t2);
      } else {
        long pk = argmax(m);
        report__fmt_value(m, pk >= 0 ? m->series[pk] : 0, a, sizeof a);
        fprintf(out, "  - %s stays below %s: at most %s (in %s it passed %s by %s).\n", x->name, b,
                a, rn, b, tt);
      }
      n++;
      break;
    }
    case F_PEAK: {
      long pk = argmax(m), rpk = argmax(rm);
      report__fmt_value(m, pk >= 0 ? m->series[pk] : 0, a, sizeof a);
      report__fmt_value(rm, rpk >= 0 ? rm->series[rpk] : 0, b, sizeof b);
      fprintf(out, "  - %s peaks at %s (%s in %s).\n", x->name, a, b, rn);
      n++;
      break;
    }
    case F_EVENT: {
      const report_ev_fact_t *e = find_event(f, x->name);
      const report_ev_fact_t *re = find_event(c->facts ? c->facts[ri] : NULL, x->name);
      if (!f) break;
      if (!e)
        fprintf(out, "  - no %s event happens (%llu in %s, the first at %s).\n", x->name,
                (unsigned long long)(re ? re->count : 0), rn, tt);
      else
        fprintf(out, "  - %s happens %llu time%s (%llu in %s).\n", x->name,
                (unsigned long long)e->count, e->count == 1 ? "" : "s",
                (unsigned long long)(re ? re->count : 0), rn);
      n++;
      break;
    }
    case F_WAIT: {
      const report_wait_fact_t *w = find_wait(f, x->name);
      const report_wait_fact_t *rw = find_wait(c->facts ? c->facts[ri] : NULL, x->name);
      if (!f) break;
      if (rw) report__fmt_dur(rw->longest, b, sizeof b);
      if (!w) {
        fprintf(out, "  - no thread waits on %s (in %s up to %zu at once, for up to %s).\n", x->name,
                rn, rw ? rw->peak : 0, rw ? b : "?");
      } else {
        report__fmt_dur(w->longest, a, sizeof a);
        fprintf(out, "  - waits on %s: at most %zu at once, the longest %s (in %s: %zu at once, up to %s).\n",
                x->name, w->peak, a, rn, rw ? rw->peak : 0, rw ? b : "?");
      }
      n++;
      break;
    }
    case F_REPORT: {
      size_t k, cnt = 0;
      for (k = 0; k < vr->nreports; k++) cnt += !strcmp(vr->reports[k].kind, x->name);
      if (!cnt)
        fprintf(out, "  - no %s report is filed (in %s one was, at %s).\n", x->name, rn, tt);
      else
        fprintf(out, "  - %zu %s report%s filed here too.\n", cnt, x->name, cnt == 1 ? " is" : "s are");
      n++;
      break;
    }
    default:
      break;
    }
  }
  if (!n) fprintf(out, "  - nothing %s found was looked for here.\n", rn);
}

static int contrast_of(const scn_result_t *r, int vi, int ref) {
  if (vi != ref) return ref;
  for (size_t i = 0; i < r->nvariants; i++)
    if ((int)i != ref && r->variants[i].ran && !strcmp(r->variants[i].v->name, "with_fix"))
      return (int)i;
  for (size_t i = 0; i < r->nvariants; i++)
    if ((int)i != ref && r->variants[i].ran) return (int)i;
  return -1;
}

/* What each metric the findings name measures, as the model describes it:
 * one line per metric, in the order they were first told. */
static void glossary(FILE *out, const sim_model_t *m, const finding_t *f, size_t n) {
  int first = 1;
  for (size_t i = 0; i < n; i++) {
    if (f[i].type != F_ZERO && f[i].type != F_NONZERO && f[i].type != F_THRESH &&
        f[i].type != F_PEAK)
      continue;
    int seen = 0;
    for (size_t k = 0; k < i && !seen; k++)
      seen = (f[k].type == F_ZERO || f[k].type == F_NONZERO || f[k].type == F_THRESH ||
              f[k].type == F_PEAK) &&
             !strcmp(f[k].name, f[i].name);
    const sim_metric_desc_t *d = seen ? NULL : scn_metric_desc(m, f[i].name);
    if (!d || !d->doc) continue;
    if (first) fprintf(out, "  Where %s: %s", f[i].name, d->doc);
    else fprintf(out, "; %s: %s", f[i].name, d->doc);
    first = 0;
  }
  if (!first) fprintf(out, ".\n");
}

int report_explain(FILE *out, const scn_result_t *r, report_facts_t *const *facts) {
  ctx_t c = {r, facts, 0};
  const scn_scenario_t *s = r->s;
  int ref = report__ref_variant(r);
  char verdict[300], tt[48], fx[300];
  flist_t rf = {0};
  scn_verdict_text(r, verdict, sizeof verdict);
  fprintf(out, "== %s: %s%s%s%s\n", s->id, s->title, s->source ? " [" : "", s->source ? s->source : "",
          s->source ? "]" : "");
  fprintf(out, "Verdict: %s.\n", verdict);
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].ran) {
      report__fmt_dur(r->variants[i].sample_interval, tt, sizeof tt);
      fprintf(out, "Times of metric findings are sample times (every %s): the change happened by then.\n",
              tt);
      break;
    }
  if (ref >= 0) findings(&c, ref, contrast_of(r, ref, ref), &rf);
  for (size_t vi = 0; vi < r->nvariants; vi++) {
    const scn_variant_res_t *vr = &r->variants[vi];
    if (!vr->ran) continue;
    flist_t l = {0};
    scn_fixes_text(s, vr->v, ", ", "none", fx, sizeof fx);
    fprintf(out, "\n-- %s (fixes: %s)%s%s\n", vr->v->name, fx, vr->v->description ? ": " : "",
            vr->v->description ? vr->v->description : "");
    if ((int)vi == ref) {
      l = rf;
    } else {
      findings(&c, (int)vi, contrast_of(r, (int)vi, ref), &l);
    }
    if (l.n) {
      finding_t *sorted = malloc(l.n * sizeof *sorted);
      if (!sorted) {
        c.oom = 1;
      } else {
        memcpy(sorted, l.v, l.n * sizeof *sorted);
        qsort(sorted, l.n, sizeof *sorted, cmp_finding);
        for (size_t i = 0; i < l.n; i++) {
          report__fmt_time(sorted[i].t, tt, sizeof tt);
          fprintf(out, "  %10s  %s\n", tt, sorted[i].text);
        }
        glossary(out, s->model, sorted, l.n);
        free(sorted);
      }
    } else {
      fprintf(out, "  Nothing out of the ordinary: no metric named by the expectations reaches 0 or "
                   "a bound, and no detector files a report.\n");
    }
    report__fmt_time(vr->end_time, tt, sizeof tt);
    if (vr->incomplete)
      fprintf(out, "  %10s  The run stops early: %s.\n", tt, vr->error ? vr->error : "incomplete");
    else if (vr->run_rc == SIM_EHANG)
      fprintf(out, "  %10s  The run ends in a hang: threads are blocked and nothing can run.\n", tt);
    else
      fprintf(out, "  %10s  The run ends.\n", tt);
    if ((int)vi != ref && ref >= 0) compare(&c, out, (int)vi, ref, &rf);
    fprintf(out, "  Expectations: %d of %zu hold", vr->npass, vr->nexpects);
    if (vr->nfail + vr->nerror) {
      fprintf(out, "; not holding:");
      for (size_t k = 0; k < vr->nexpects; k++)
        if (vr->expects[k].status != SCN_X_PASS)
          fprintf(out, " [%s -> %s]", vr->expects[k].x->text,
                  vr->expects[k].detail ? vr->expects[k].detail : "");
    }
    fprintf(out, ".\n");
    if ((int)vi != ref) flist_free(&l);
  }
  flist_free(&rf);
  if (fflush(out) || ferror(out)) return SIM_EIO;
  return c.oom ? SIM_ENOMEM : 0;
}

/* ---- the brief: the reference's key findings, and which did not happen elsewhere ---- */
/* 1 if finding x of the reference variant happened in variant vi too, 0 if
 * not, -1 if it cannot be told (no trace facts, no such metric). */
static int happened(ctx_t *c, int vi, const finding_t *x) {
  const scn_variant_res_t *vr = &c->r->variants[vi];
  const report_facts_t *f = c->facts ? c->facts[vi] : NULL;
  const scn_metric_res_t *m = NULL;
  if (x->type == F_ZERO || x->type == F_NONZERO || x->type == F_THRESH) {
    m = report__metric(vr, x->name);
    if (!m || !m->nseries) return -1;
  }
  switch (x->type) {
  case F_ZERO: return zero_at(m) >= 0;
  case F_NONZERO: return m->sum.final > 0;
  case F_THRESH: return first_above(m, x->value, x->op_ge) >= 0;
  case F_REPORT:
    for (size_t k = 0; k < vr->nreports; k++)
      if (!strcmp(vr->reports[k].kind, x->name)) return 1;
    return 0;
  case F_EVENT: return f ? find_event(f, x->name) != NULL : -1;
  default: return -1;
  }
}

static int brief_rank(int type) {
  switch (type) {
  case F_REPORT: return 0;
  case F_ZERO: return 1;
  case F_THRESH: return 2;
  case F_EVENT: return 3;
  case F_NONZERO: return 4;
  default: return 9;
  }
}

int report_explain_brief(FILE *out, const scn_result_t *r, report_facts_t *const *facts) {
  ctx_t c = {r, facts, 0};
  int ref = report__ref_variant(r);
  flist_t rf = {0};
  char tt[48];
  if (ref < 0) return 0;
  findings(&c, ref, contrast_of(r, ref, ref), &rf);
  /* the most telling findings that the contrast variant does not share: reports, metrics reaching 0 or a bound, then
   * model events and counters; at most 6, told in time order */
  size_t pick[6], np = 0;
  int ci = contrast_of(r, ref, ref);
  for (int rank = 0; rank <= 4 && np < 6; rank++)
    for (size_t i = 0; i < rf.n && np < 6; i++) {
      const finding_t *x = &rf.v[i];
      if (brief_rank(x->type) != rank) continue;
      if (ci >= 0 && happened(&c, ci, x) == 1) continue; /* only what tells them apart */
      int dup = 0; /* one line per report kind or metric */
      for (size_t k = 0; k < np; k++) dup |= !strcmp(rf.v[pick[k]].name, x->name);
      if (!dup) pick[np++] = i;
    }
  for (size_t a = 1; a < np; a++) /* insertion sort by (time, seq) */
    for (size_t b = a; b > 0 && cmp_finding(&rf.v[pick[b - 1]], &rf.v[pick[b]]) > 0; b--) {
      size_t t = pick[b];
      pick[b] = pick[b - 1];
      pick[b - 1] = t;
    }
  fprintf(out, "%s:\n", r->variants[ref].v->name);
  if (!np) fprintf(out, "  nothing out of the ordinary.\n");
  for (size_t k = 0; k < np; k++) {
    report__fmt_time(rf.v[pick[k]].t, tt, sizeof tt);
    fprintf(out, "  %s  %s\n", tt, rf.v[pick[k]].text);
  }
  for (size_t vi = 0; vi < r->nvariants; vi++) {
    if ((int)vi == ref || !r->variants[vi].ran || !np) continue;
    size_t absent = 0, told = 0;
    for (size_t k = 0; k < np; k++) {
      int h = happened(&c, (int)vi, &rf.v[pick[k]]);
      if (h >= 0) told++;
      if (h == 0) absent++;
    }
    if (absent == told)
      fprintf(out, "%s: none of these %zu happened", r->variants[vi].v->name, told);
    else
      fprintf(out, "%s: %zu of these %zu did not happen", r->variants[vi].v->name, absent, told);
    if (absent < told) {
      fprintf(out, " (happened:");
      for (size_t k = 0; k < np; k++)
        if (happened(&c, (int)vi, &rf.v[pick[k]]) == 1) fprintf(out, " %s", rf.v[pick[k]].name);
      fprintf(out, ")");
    }
    fprintf(out, ".\n");
  }
  flist_free(&rf);
  if (fflush(out) || ferror(out)) return SIM_EIO;
  return c.oom ? SIM_ENOMEM : 0;
}
