/*
 * storesim explain: the story of each variant as a support engineer tells it.
 *
 * Built from results only, generically: no scenario, metric or event name
 * appears in this file; the words come from the model's glossary
 * (sim_model_t.names: "store task threads", "the IMAIL charset lock"), the
 * internal name in parentheses the first time it is told, or the internal
 * name alone when the glossary has none.
 *
 * Findings are departures from the healthy state. The healthy state of a
 * variant is its fixed counterpart ("X_without_fix" -> "X_with_fix",
 * otherwise "with_fix"); a variant that is its own healthy state (with_fix)
 * or has none is compared with its own early part (report_facts_t.early:
 * the first hour, at most half the run). Against that baseline B a variant's
 * findings, told in time order, are:
 *
 *   fault      a timed fault of the scenario
 *   zero       a gauge that was > 0 reaches 0 where B's stays above 0; then
 *              what threads were blocked on, the rows that depart from B
 *   nonzero    a counter counts where B's stays 0 (or far less)
 *   threshold  a gauge passes the bound an expectation "M.max > X" names
 *              where B's stays below it
 *   peak       a gauge peaks at twice B's peak or more
 *   event      a model event kind absent or much rarer in B
 *   wait       an object threads wait on in far greater numbers or far
 *              longer than in B; threads parked on an object from the start
 *              that never crowd it further (idle workers) are never told
 *   cycle      a mutex wait-for cycle: who holds which lock and waits for
 *              which, held by whom
 *   report     a detector report B does not file (or files differently)
 *
 * Figures are those `storesim run` shows: peaks, lows and finals are the
 * metric's statistics (scn_metric_stat), not sample scans; the series only
 * dates a change (the sample by which it happened). Every time and duration
 * is h:mm:ss (report__fmt_time); detector banners are retold with their
 * times rewritten so.
 *
 * For every variant other than the reference (named "without_fix", else the
 * first), a "compared with" section checks each of the reference's findings:
 * whether it happened here too, or what was measured instead.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "storesim/metrics.h"

enum { F_FAULT, F_ZERO, F_NONZERO, F_THRESH, F_PEAK, F_EVENT, F_WAIT, F_REPORT, F_SNAP, F_CYCLE };

typedef struct finding {
  int type;
  sim_time_t t;
  int seq;
  const char *name; /* metric, event kind, wait object, report kind */
  double value;     /* threshold (metric unit) for F_THRESH */
  int op_ge;        /* F_THRESH: >= rather than > */
  char *text;       /* with name marks (mark()) */
} finding_t;

typedef struct flist {
  finding_t *v;
  size_t n, cap;
} flist_t;

typedef struct names {
  const char **v;
  size_t n, cap;
} names_t;

typedef struct ctx {
  const scn_result_t *r;
  report_facts_t *const *facts;
  const sim_model_t *model;
  names_t shown; /* internal names already told in parentheses */
  char **own;    /* strings shown holds */
  size_t nown;
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

/* ---- names people use ------------------------------------------------------------------ */
/* The glossary's name for internal name `in` of sort `what` ("thread",
 * "mutex", "metric", ...), or NULL. A name numbered per instance
 * ("download.window.618") is looked up as its family ("download.window.*"). */
static const char *people(const ctx_t *c, const char *what, const char *in) {
  const sim_name_desc_t *t = c->model ? c->model->names : NULL;
  size_t wl = strlen(what), l = strlen(in), k = l;
  while (k > 0 && isdigit((unsigned char)in[k - 1])) k--;
  for (; t && t->internal; t++) {
    const char *x = t->internal;
    if (strncmp(x, what, wl) || x[wl] != ':') continue;
    x += wl + 1;
    if (!strcmp(x, in)) return t->people;
    size_t xl = strlen(x);
    if (k < l && xl == k + 1 && x[k] == '*' && !strncmp(x, in, k)) return t->people;
    if (xl > 2 && !strcmp(x + xl - 2, ".*") && !strncmp(x, in, xl - 1) &&
        !strcmp(in + xl - 2, ".*"))
      return t->people;
  }
  return NULL;
}

/* Writes the name of `in` for a finding's text: the people's name marked so
 * that emit() adds "(in)" the first time only; `in` alone without one. */
static const char *mark(const ctx_t *c, const char *what, const char *in, char *buf, size_t n) {
  const char *p = people(c, what, in);
  if (p) snprintf(buf, n, "\001%s\002%s\003", p, in);
  else snprintf(buf, n, "%s", in);
  return buf;
}

/* A thread family of thread `name`: "store-task-19" -> "store-task". */
static void family(const char *name, char *out, size_t n) {
  size_t l = strlen(name);
  while (l > 0 && isdigit((unsigned char)name[l - 1])) l--;
  while (l > 0 && (name[l - 1] == '-' || name[l - 1] == '_' || name[l - 1] == '.')) l--;
  if (l == 0) l = strlen(name);
  snprintf(out, n, "%.*s", (int)l, name);
}

/* "store task threads" for a family, marked. */
static const char *threads_of(const ctx_t *c, const char *fam, char *buf, size_t n) {
  const char *p = people(c, "thread", fam);
  if (p) snprintf(buf, n, "%s", p);
  else snprintf(buf, n, "%s threads", fam);
  return buf;
}

/* What a wait fact waits for ("cond mta.flush.done"), marked. */
static const char *waited(const ctx_t *c, const char *what, char *buf, size_t n) {
  const char *sp = strchr(what, ' ');
  char kind[16];
  if (!sp || (size_t)(sp - what) >= sizeof kind || !strcmp(what, "a CPU core")) {
    snprintf(buf, n, "%s", what);
    return buf;
  }
  snprintf(kind, sizeof kind, "%.*s", (int)(sp - what), what);
  if (!strcmp(kind, "thread")) {
    snprintf(buf, n, "%s", what);
    return buf;
  }
  const char *p = people(c, kind, sp + 1);
  if (p) snprintf(buf, n, "\001%s\002%s\003", p, what);
  else snprintf(buf, n, "%s", what);
  return buf;
}

static int shown(ctx_t *c, const char *in) {
  for (size_t i = 0; i < c->shown.n; i++)
    if (!strcmp(c->shown.v[i], in)) return 1;
  char *d = strdup(in);
  char **o = d ? realloc(c->own, (c->nown + 1) * sizeof *o) : NULL;
  const char **v = o ? realloc(c->shown.v, (c->shown.n + 1) * sizeof *v) : NULL;
  if (o) c->own = o;
  if (!v) {
    free(d);
    c->oom = 1;
    return 1;
  }
  c->own[c->nown++] = d;
  c->shown.v = v;
  c->shown.v[c->shown.n++] = d;
  return 0;
}

/* Writes text with its name marks resolved: "people (internal)" the first
 * time internal is told in this explanation, "people" afterwards. */
static void emit(ctx_t *c, FILE *out, const char *text) {
  const char *p = text;
  while (*p) {
    const char *a = strchr(p, '\001');
    if (!a) {
      fputs(p, out);
      break;
    }
    fwrite(p, 1, (size_t)(a - p), out);
    const char *b = strchr(a, '\002'), *e = b ? strchr(b, '\003') : NULL;
    if (a == text && b && b > a + 1) { /* a sentence starts with a capital */
      fputc(toupper((unsigned char)a[1]), out);
      a++;
    }
    if (!b || !e) {
      fputs(a + 1, out);
      break;
    }
    fwrite(a + 1, 1, (size_t)(b - a - 1), out);
    char in[256];
    snprintf(in, sizeof in, "%.*s", (int)(e - b - 1), b + 1);
    if (!shown(c, in)) fprintf(out, " (%s)", in);
    p = e + 1;
  }
}

/* Text with marks reduced to the people's names (for comparisons). */
static void plain(const char *text, char *out, size_t n) {
  size_t o = 0;
  int skip = 0;
  for (const char *p = text; *p && o + 1 < n; p++) {
    if (*p == '\001') continue;
    if (*p == '\002') skip = 1;
    else if (*p == '\003') skip = 0;
    else if (!skip) out[o++] = *p;
  }
  out[o] = 0;
}

/* A detector banner retold: "storesim: DEADLOCK: " dropped, " at t=12.3s"
 * dropped (the finding has its time), durations ("5m00.000s", "2.5s",
 * "1h02m03s") rewritten as h:mm:ss. */
static void retell_banner(const char *text, char *out, size_t n) {
  size_t bl = strcspn(text, "\n");
  char b[1024];
  snprintf(b, sizeof b, "%.*s", (int)(bl < sizeof b - 1 ? bl : sizeof b - 1), text);
  const char *p = b;
  if (!strncmp(p, "storesim: ", 10)) p += 10;
  const char *colon = strstr(p, ": ");
  if (colon) {
    int upper = 1;
    for (const char *q = p; q < colon; q++)
      upper &= isupper((unsigned char)*q) || *q == '-' || *q == ' ';
    if (upper) p = colon + 2;
  }
  size_t o = 0;
  while (*p && o + 1 < n) {
    if (!strncmp(p, " at t=", 6)) { /* skip " at t=<number>s" */
      const char *q = p + 6;
      while (*q && (isdigit((unsigned char)*q) || *q == '.')) q++;
      if (*q == 's') {
        p = q + 1;
        continue;
      }
    }
    if (isdigit((unsigned char)*p) && (p == b || !isalnum((unsigned char)p[-1]))) {
      /* a duration token: [Nh][Nm]N[.N](s|ms) */
      const char *q = p;
      double h = 0, m = 0, s = -1;
      int ok = 0;
      for (;;) {
        char *end;
        double v = strtod(q, &end);
        if (end == q) break;
        if (*end == 'h') h = v, q = end + 1;
        else if (*end == 'm' && end[1] == 's') {
          s = v / 1000, q = end + 2, ok = 1;
          break;
        } else if (*end == 'm') m = v, q = end + 1;
        else if (*end == 's') {
          s = v, q = end + 1, ok = 1;
          break;
        } else break;
      }
      if (ok && !isalnum((unsigned char)*q)) {
        char hb[48];
        double ns = (h * 3600 + m * 60 + s) * 1e9;
        report__fmt_dur((sim_time_t)llround(ns), hb, sizeof hb);
        o += (size_t)snprintf(out + o, n - o, "%s", hb);
        if (o >= n) o = n - 1;
        p = q;
        continue;
      }
    }
    out[o++] = *p++;
  }
  out[o] = 0;
}
/* ---- which metrics ---------------------------------------------------------------------- */
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

/* ---- series and statistics ------------------------------------------------------------ */
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

static double st(const scn_metric_res_t *m, scn_stat_t s) { return scn_metric_stat(m, s); }

/* ---- the healthy state ------------------------------------------------------------------ */
/* What a variant is compared with: another variant (its fixed counterpart) or
 * its own early part (self: series up to sample upto_i, waits before
 * facts->early). */
typedef struct base {
  const scn_variant_res_t *vr;
  const report_facts_t *f;
  int self;
  size_t upto_i;
  char name[96]; /* "with_fix", "its first 1:00:00" */
} base_t;

/* A baseline statistic of metric name (min, max or final); NAN if unknown. */
static double bstat(const base_t *b, const char *name, scn_stat_t s) {
  const scn_metric_res_t *m = report__metric(b->vr, name);
  if (!m) return NAN;
  if (!b->self) return st(m, s);
  if (!m->nseries) return NAN;
  size_t n = b->upto_i + 1 < m->nseries ? b->upto_i + 1 : m->nseries;
  double lo = m->series[0], hi = m->series[0];
  for (size_t i = 1; i < n; i++) {
    if (m->series[i] < lo) lo = m->series[i];
    if (m->series[i] > hi) hi = m->series[i];
  }
  return s == SCN_ST_MIN ? lo : s == SCN_ST_MAX ? hi : m->series[n - 1];
}

static int variant_index(const scn_result_t *r, const char *name) {
  for (size_t i = 0; i < r->nvariants; i++)
    if (r->variants[i].ran && !strcmp(r->variants[i].v->name, name)) return (int)i;
  return -1;
}

/* The fixed counterpart of variant vi, or -1 (then it is its own baseline). */
static int healthy_of(const scn_result_t *r, int vi) {
  const char *n = r->variants[vi].v->name;
  const char *w = strstr(n, "without_fix");
  if (w) {
    char alt[160];
    snprintf(alt, sizeof alt, "%.*swith_fix%s", (int)(w - n), n, w + 11);
    int k = variant_index(r, alt);
    if (k >= 0) return k;
  }
  if (strstr(n, "with_fix")) return -1;
  int k = variant_index(r, "with_fix");
  return k == vi ? -1 : k;
}

static void base_for(const ctx_t *c, int vi, base_t *b) {
  const scn_result_t *r = c->r;
  int h = healthy_of(r, vi);
  memset(b, 0, sizeof *b);
  if (h >= 0) {
    b->vr = &r->variants[h];
    b->f = c->facts ? c->facts[h] : NULL;
    snprintf(b->name, sizeof b->name, "%s", b->vr->v->name);
    return;
  }
  const scn_variant_res_t *vr = &r->variants[vi];
  sim_time_t early = vr->end_time / 2 < SIM_HOUR ? vr->end_time / 2 : SIM_HOUR;
  char t[48];
  b->vr = vr;
  b->f = c->facts ? c->facts[vi] : NULL;
  b->self = 1;
  b->upto_i = vr->sample_interval > 0 && early >= vr->sample_interval
                  ? (size_t)(early / vr->sample_interval) - 1
                  : 0;
  report__fmt_time(early, t, sizeof t);
  snprintf(b->name, sizeof b->name, "its first %s", t);
}

/* ---- findings of one variant against its baseline -------------------------------------- */
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

typedef struct ranked {
  const report_wait_fact_t *w;
  double excess;
} ranked_t;

static int cmp_ranked(const void *a, const void *b) {
  const ranked_t *x = a, *y = b;
  if (x->excess != y->excess) return x->excess > y->excess ? -1 : 1;
  return strcmp(x->w->what, y->w->what);
}

typedef struct focus {
  ctx_t *c;
  flist_t *out;
  const scn_variant_res_t *vr;
  const report_facts_t *f;
  const base_t *b;
} focus_t;

/* Whether threads waiting on w depart from the baseline: never for threads
 * parked there from the start that never crowd it further (idle workers). */
static int wait_departs(const focus_t *x, const report_wait_fact_t *w) {
  if (w->peak <= w->start_count || w->longest < SIM_SEC) return 0;
  size_t peak0;
  sim_time_t long0;
  if (x->b->self) {
    peak0 = w->early_peak;
    long0 = w->early_longest;
  } else if (x->b->f) {
    const report_wait_fact_t *bw = find_wait(x->b->f, w->what);
    peak0 = bw ? bw->peak : 0;
    long0 = bw ? bw->longest : 0;
  } else {
    return w->longest >= x->vr->end_time / 100;
  }
  /* as many threads wait there in health: the pool's resting place, however
   * long a quiet spell makes one wait */
  if (w->peak <= peak0) return 0;
  return w->peak >= 2 * peak0 + 2 || (w->longest >= 4 * long0 && w->longest >= SIM_MIN);
}

static void find_faults(const focus_t *x) {
  const scn_scenario_t *s = x->c->r->s;
  char a[96], nb[300], line[1200];
  for (size_t i = 0; i < s->nfaults; i++) {
    if (s->faults[i].at > x->vr->end_time) continue;
    const char *fn = s->model->faults ? s->model->faults[s->faults[i].kind].name : "fault";
    const char *p = people(x->c, "fault", fn);
    if (p) snprintf(nb, sizeof nb, "The scenario's fault: %s\001\002%s\003", p, fn);
    else snprintf(nb, sizeof nb, "The scenario's fault %s happens", fn);
    if (s->faults[i].timeout > 0) {
      report__fmt_dur(s->faults[i].timeout, a, sizeof a);
      snprintf(line, sizeof line, "%s, with a timeout of %s.", nb, a);
    } else {
      snprintf(line, sizeof line, "%s.", nb);
    }
    add(x->c, x->out, F_FAULT, s->faults[i].at, fn, 0, 0, line);
  }
}

/* Against its own early part, what follows a scenario fault is the fault's
 * doing (the fault is told): 1 if one happened at or before t. */
static int after_fault(const focus_t *x, sim_time_t t) {
  const scn_scenario_t *s = x->c->r->s;
  if (!x->b->self) return 0;
  for (size_t i = 0; i < s->nfaults; i++)
    if (s->faults[i].at <= t) return 1;
  return 0;
}

static int stamp_metric(const ctx_t *c, const char *name) {
  size_t nl = strlen(name);
  return (nl > 3 && !strcmp(name + nl - 3, "_at")) || scn_metric_never(c->r->s->model, name);
}

/* Gauge m reaches 0 (from > 0) where the baseline never does. */
static int zero_departs(const focus_t *x, const scn_metric_res_t *m) {
  /* dated by the series: a gauge's statistics also count the 0 it has before
   * its first value is set */
  if (zero_at(m) < 0) return 0;
  double b0 = bstat(x->b, m->name, SCN_ST_MIN);
  return isnan(b0) || b0 > 0;
}

static int count_departs(const focus_t *x, const scn_metric_res_t *m) {
  if (m->kind != SIM_M_COUNTER || !(st(m, SCN_ST_FINAL) > 0)) return 0;
  double b0 = bstat(x->b, m->name, SCN_ST_FINAL);
  if (x->b->self) return !(b0 > 0);
  return isnan(b0) || b0 == 0 || st(m, SCN_ST_FINAL) >= 2 * b0;
}

static int peak_departs(const focus_t *x, const scn_metric_res_t *m) {
  if (m->kind != SIM_M_GAUGE || stamp_metric(x->c, m->name)) return 0;
  double pk = st(m, SCN_ST_MAX), b0 = bstat(x->b, m->name, SCN_ST_MAX);
  double first = m->nseries ? m->series[0] : 0;
  if (!(pk > 0) || !(pk > first)) return 0;
  if (x->b->self) { /* against its own early part: clear growth, not drift or noise */
    int mono = 1, unitless = !m->unit[0];
    for (size_t i = 1; i < m->nseries && mono; i++) mono = m->series[i] >= m->series[i - 1];
    if (mono || isnan(b0)) return 0; /* a level that only grows counts, it does not peak */
    return unitless ? pk >= 4 * b0 + 4 : b0 > 0 && pk >= 4 * b0;
  }
  return isnan(b0) || !(b0 > 0) || pk >= 2 * b0 + 1e-9;
}

static size_t pick_metrics(const focus_t *x, names_t *ms) {
  const scn_variant_res_t *vr = x->vr;
  expect_metrics(x->c, vr, ms);
  size_t extra_c = 0, extra_z = 0;
  for (size_t i = 0; i < vr->nmetrics; i++) {
    const scn_metric_res_t *m = &vr->metrics[i];
    if (!m->nseries) continue;
    if (count_departs(x, m) && extra_c < 6) {
      size_t n0 = ms->n;
      names_add(x->c, ms, m->name);
      extra_c += ms->n > n0;
    } else if (zero_departs(x, m) && extra_z < 4) {
      size_t n0 = ms->n;
      names_add(x->c, ms, m->name);
      extra_z += ms->n > n0;
    }
  }
  return ms->n;
}

static void find_snaps(const focus_t *x, const scn_metric_res_t *m, sim_time_t at) {
  const report_facts_t *f = x->f;
  char line[1400], g[160], wb[300];
  for (size_t si = 0; f && si < f->nsnaps; si++) {
    const report_snap_t *sn = &f->snaps[si];
    if (strcmp(sn->metric, m->name) || !sn->nrows) continue;
    int told = 0;
    for (size_t q = 0; q < x->out->n; q++)
      told |= x->out->v[q].type == F_SNAP && x->out->v[q].t == at;
    if (told) continue;
    size_t o = (size_t)snprintf(line, sizeof line, "Then"), nrow = 0;
    for (size_t q = 0; q < sn->nrows && o < sizeof line; q++) {
      const report_wait_fact_t *w = find_wait(f, sn->rows[q].what);
      if (!w || !wait_departs(x, w)) continue; /* idle, running, or as healthy */
      o += (size_t)snprintf(line + o, sizeof line - o, "%s %zu of %zu %s wait for %s",
                            nrow ? ";" : ":", sn->rows[q].count, sn->rows[q].group_live,
                            threads_of(x->c, sn->rows[q].group, g, sizeof g),
                            waited(x->c, sn->rows[q].what, wb, sizeof wb));
      nrow++;
    }
    if (!nrow) continue;
    if (o < sizeof line) snprintf(line + o, sizeof line - o, ".");
    add(x->c, x->out, F_SNAP, at, m->name, 0, 0, line);
  }
}

static void find_zero(const focus_t *x, const scn_metric_res_t *m) {
  char a[96], tt[48], nb[300], line[1200];
  if (!zero_departs(x, m)) return;
  long z = zero_at(m);
  mark(x->c, "metric", m->name, nb, sizeof nb);
  report__fmt_value(m, m->series[0], a, sizeof a);
  sim_time_t at = report__sample_time(x->vr, (size_t)z);
  if (after_fault(x, at)) return;
  long back = -1;
  for (size_t i = (size_t)z; i < m->nseries; i++)
    if (m->series[i] > 0) {
      back = (long)i;
      break;
    }
  if (back >= 0) {
    report__fmt_time(report__sample_time(x->vr, (size_t)back), tt, sizeof tt);
    snprintf(line, sizeof line, "%s reached 0 (%s at the start) until %s.", nb, a, tt);
  } else {
    snprintf(line, sizeof line, "%s reached 0 (%s at the start) and stayed there.", nb, a);
  }
  add(x->c, x->out, F_ZERO, at, m->name, 0, 0, line);
  find_snaps(x, m, at);
}

static void find_count(const focus_t *x, const scn_metric_res_t *m) {
  char a[96], b[96], nb[300], line[1200];
  if (!count_departs(x, m)) return;
  long i0 = first_above(m, x->b->self ? bstat(x->b, m->name, SCN_ST_FINAL) : 0, 0);
  if (i0 < 0 || after_fault(x, report__sample_time(x->vr, (size_t)i0))) return;
  report__fmt_value(m, st(m, SCN_ST_FINAL), a, sizeof a);
  double b0 = bstat(x->b, m->name, SCN_ST_FINAL);
  mark(x->c, "metric", m->name, nb, sizeof nb);
  if (x->b->self) snprintf(line, sizeof line, "%s: %s by the end (none in %s).", nb, a, x->b->name);
  else if (isnan(b0) || b0 == 0)
    snprintf(line, sizeof line, "%s: %s by the end (none in %s).", nb, a, x->b->name);
  else {
    report__fmt_value(m, b0, b, sizeof b);
    snprintf(line, sizeof line, "%s: %s by the end (%s in %s).", nb, a, b, x->b->name);
  }
  add(x->c, x->out, F_NONZERO, report__sample_time(x->vr, (size_t)i0), m->name, 0, 0, line);
}

static void find_peak(const focus_t *x, const scn_metric_res_t *m) {
  char a[96], b[96], tt[48], nb[300], line[1200];
  if (!peak_departs(x, m)) return;
  long pk = argmax(m);
  if (pk < 0 || after_fault(x, report__sample_time(x->vr, (size_t)pk))) return;
  double b0 = bstat(x->b, m->name, SCN_ST_MAX);
  report__fmt_value(m, st(m, SCN_ST_MAX), a, sizeof a);
  report__fmt_time(report__sample_time(x->vr, (size_t)pk), tt, sizeof tt);
  mark(x->c, "metric", m->name, nb, sizeof nb);
  if (isnan(b0)) {
    snprintf(line, sizeof line, "%s peaked at %s (the samples are highest at %s).", nb, a, tt);
  } else {
    report__fmt_value(m, b0, b, sizeof b);
    snprintf(line, sizeof line,
             "%s peaked at %s (the samples are highest at %s; at most %s in %s).", nb, a, tt, b,
             x->b->name);
  }
  add(x->c, x->out, F_PEAK, report__sample_time(x->vr, (size_t)pk), m->name, 0, 0, line);
}

static void find_metrics(const focus_t *x) {
  names_t ms = {0};
  pick_metrics(x, &ms);
  for (size_t k = 0; k < ms.n; k++) {
    const scn_metric_res_t *m = report__metric(x->vr, ms.v[k]);
    if (!m || !m->nseries) continue;
    find_zero(x, m);
    find_count(x, m);
    find_peak(x, m);
  }
  free(ms.v);
}

static void find_thresholds(const focus_t *x) {
  const scn_variant_res_t *vr = x->vr;
  char a[96], b[96], nb[300], line[1200];
  for (size_t k = 0; k < vr->v->nexpects; k++) {
    const scn_metric_res_t *m;
    double th;
    int ge;
    if (!parse_thresh(vr, vr->v->expects[k].text, &m, &th, &ge)) continue;
    long i = first_above(m, th, ge);
    if (i < 0) continue;
    double b0 = bstat(x->b, m->name, SCN_ST_MAX);
    if (!isnan(b0) && (ge ? b0 >= th : b0 > th)) continue; /* healthy too */
    report__fmt_value(m, th, a, sizeof a);
    report__fmt_value(m, st(m, SCN_ST_MAX), b, sizeof b);
    mark(x->c, "metric", m->name, nb, sizeof nb);
    snprintf(line, sizeof line, "%s passed %s, the expectations' bound (at most %s).", nb, a, b);
    add(x->c, x->out, F_THRESH, report__sample_time(vr, (size_t)i), m->name, th, ge, line);
  }
}

static void find_events(const focus_t *x) {
  const report_facts_t *f = x->f, *bf = x->b->f;
  char tt[48], nb[300], line[1200];
  size_t nev = 0;
  for (size_t i = 0; f && i < f->nevents && nev < 10; i++) {
    const report_ev_fact_t *e = &f->events[i];
    const report_ev_fact_t *be = x->b->self ? NULL : find_event(bf, e->kind);
    if (x->b->self ? e->first < f->early : (bf && be && e->count < 2 * be->count)) continue;
    if ((!x->b->self && !bf) || after_fault(x, e->first)) continue;
    mark(x->c, "event", e->kind, nb, sizeof nb);
    char other[160];
    if (be) snprintf(other, sizeof other, "%llu in %s", (unsigned long long)be->count, x->b->name);
    else snprintf(other, sizeof other, "none in %s", x->b->name);
    report__fmt_time(e->last, tt, sizeof tt);
    if (e->count == 1)
      snprintf(line, sizeof line, "One %s, by thread %s (%s).", nb, e->thread, other);
    else
      snprintf(line, sizeof line, "The first %s, by thread %s; %llu in all, the last at %s (%s).",
               nb, e->thread, (unsigned long long)e->count, tt, other);
    add(x->c, x->out, F_EVENT, e->first, e->kind, 0, 0, line);
    nev++;
  }
}

static void tell_wait(const focus_t *x, const report_wait_fact_t *w) {
  const report_wait_fact_t *bw = x->b->self ? NULL : find_wait(x->b->f, w->what);
  char a[96], b[96], t2[48], g[160], fam[128], wb[300], line[1400], cmp[300] = "", hold[200] = "";
  static const char *const how[] = {"until woken", "until its timeout", "still waiting at the end"};
  report__fmt_dur(w->longest, a, sizeof a);
  report__fmt_time(w->peak_at, t2, sizeof t2);
  family(w->longest_thread ? w->longest_thread : "?", fam, sizeof fam);
  if (x->b->self) {
    report__fmt_dur(w->early_longest, b, sizeof b);
    snprintf(cmp, sizeof cmp, " In %s: at most %zu at once, the longest %s.", x->b->name,
             w->early_peak, b);
  } else if (bw) {
    report__fmt_dur(bw->longest, b, sizeof b);
    snprintf(cmp, sizeof cmp, " In %s: at most %zu at once, the longest %s.", x->b->name, bw->peak,
             b);
  } else if (x->b->f) {
    snprintf(cmp, sizeof cmp, " In %s nothing waited for it.", x->b->name);
  }
  if (w->longest_holder) snprintf(hold, sizeof hold, ", held by %s", w->longest_holder);
  snprintf(line, sizeof line,
           "%s waited for %s%s: up to %zu at once (first at %s); the longest wait, %s's, lasted "
           "%s, %s.%s",
           threads_of(x->c, fam, g, sizeof g), waited(x->c, w->what, wb, sizeof wb), hold, w->peak,
           t2, w->longest_thread ? w->longest_thread : "?", a, how[w->longest_end], cmp);
  line[0] = (char)toupper((unsigned char)line[0]);
  add(x->c, x->out, F_WAIT, w->longest_from, w->what, 0, 0, line);
}

static int find_waits(const focus_t *x) {
  const report_facts_t *f = x->f;
  if (!f || !f->nwaits) return 0;
  ranked_t *ws = malloc(f->nwaits * sizeof *ws);
  size_t nw = 0;
  if (!ws) {
    x->c->oom = 1;
    return -1;
  }
  for (size_t i = 0; i < f->nwaits; i++) {
    const report_wait_fact_t *w = &f->waits[i];
    if (!wait_departs(x, w)) continue;
    const report_wait_fact_t *bw = x->b->self ? NULL : find_wait(x->b->f, w->what);
    double excess = w->thread_seconds - (bw ? bw->thread_seconds : 0);
    if (excess <= 0) continue;
    ws[nw++] = (ranked_t){w, excess};
  }
  if (nw) qsort(ws, nw, sizeof *ws, cmp_ranked);
  for (size_t i = 0; i < nw && i < 4; i++) tell_wait(x, ws[i].w);
  free(ws);
  return 0;
}

/* The mutex wait-for cycle: who holds which lock and waits for which. */
static void find_cycle(const focus_t *x) {
  const report_facts_t *f = x->f;
  if (!f || !f->cycle.n || (!x->b->self && x->b->f && x->b->f->cycle.n)) return;
  const report_cycle_t *cy = &f->cycle;
  char line[2000], h[300], wnt[300];
  size_t n = cy->n, o;
  o = (size_t)snprintf(line, sizeof line, "Deadlock: ");
  for (size_t i = 0; i < n && o < sizeof line; i++) {
    size_t j = (i + 1) % n;
    char lk[320];
    snprintf(lk, sizeof lk, "mutex %s", cy->held[i]);
    waited(x->c, lk, h, sizeof h);
    snprintf(lk, sizeof lk, "mutex %s", cy->held[j]);
    waited(x->c, lk, wnt, sizeof wnt);
    if (i == 0)
      o += (size_t)snprintf(line + o, sizeof line - o, "%s holds %s and waits for %s, held by %s",
                            cy->thread[i], h, wnt, cy->thread[j]);
    else
      o += (size_t)snprintf(line + o, sizeof line - o, ", which waits for %s, held by %s", wnt,
                            cy->thread[j]);
  }
  if (o < sizeof line)
    snprintf(line + o, sizeof line - o,
             ". Neither can go on; whatever needs either lock waits behind them.");
  add(x->c, x->out, F_CYCLE, cy->at, "cycle", 0, 0, line);
}

/* Words of a banner without digits: two reports say the same thing when equal. */
static void banner_words(const char *text, char *out, size_t n) {
  size_t o = 0, bl = strcspn(text, "\n");
  for (size_t i = 0; i < bl && o + 1 < n; i++)
    if (!isdigit((unsigned char)text[i]) && text[i] != '.' && text[i] != ':') out[o++] = text[i];
  out[o] = 0;
}

static int base_has_report(const focus_t *x, const scn_report_res_t *rp) {
  const scn_variant_res_t *b = x->b->vr;
  char w1[1024], w2[1024];
  banner_words(rp->text, w1, sizeof w1);
  for (size_t k = 0; k < b->nreports; k++) {
    if (strcmp(b->reports[k].kind, rp->kind)) continue;
    if (x->b->self && b->reports[k].time >= (x->f ? x->f->early : 0)) continue;
    banner_words(b->reports[k].text, w2, sizeof w2);
    if (!strcmp(w1, w2)) return 1;
  }
  return 0;
}

static void find_reports(const focus_t *x) {
  const scn_variant_res_t *vr = x->vr;
  char line[1600], ban[1024], nb[300];
  for (size_t i = 0; i < vr->nreports; i++) {
    const scn_report_res_t *rp = &vr->reports[i];
    int seen = 0;
    size_t more = 0;
    for (size_t k = 0; k < i; k++) seen |= !strcmp(vr->reports[k].kind, rp->kind);
    if (seen || base_has_report(x, rp)) continue;
    for (size_t k = i + 1; k < vr->nreports; k++) more += !strcmp(vr->reports[k].kind, rp->kind);
    retell_banner(rp->text, ban, sizeof ban);
    mark(x->c, "report", rp->kind, nb, sizeof nb);
    char more_s[64] = "";
    if (more) snprintf(more_s, sizeof more_s, " (%zu more later)", more);
    snprintf(line, sizeof line, "Report of %s%s: %s.", nb, more_s, ban);
    add(x->c, x->out, F_REPORT, rp->time, rp->kind, 0, 0, line);
  }
}

static void findings(ctx_t *c, int vi, const base_t *b, flist_t *out) {
  focus_t x = {
      .c = c,
      .out = out,
      .vr = &c->r->variants[vi],
      .f = c->facts ? c->facts[vi] : NULL,
      .b = b,
  };
  find_faults(&x);
  find_metrics(&x);
  find_thresholds(&x);
  find_events(&x);
  if (find_waits(&x)) return;
  find_cycle(&x);
  find_reports(&x);
}

/* ---- comparison with the reference ------------------------------------------------------------ */
static void compare(ctx_t *c, FILE *out, int vi, int ri, const flist_t *rf) {
  const scn_result_t *r = c->r;
  const scn_variant_res_t *vr = &r->variants[vi], *rr = &r->variants[ri];
  const report_facts_t *f = c->facts ? c->facts[vi] : NULL;
  const report_facts_t *rfa = c->facts ? c->facts[ri] : NULL;
  const char *rn = rr->v->name;
  char a[96], b[96], tt[48], t2[48], nb[300], wb[300], line[1600];
  fprintf(out, "  Compared with %s:\n", rn);
  size_t n = 0;
  for (size_t i = 0; i < rf->n; i++) {
    const finding_t *x = &rf->v[i];
    const scn_metric_res_t *m = NULL, *rm = NULL;
    if (x->type == F_ZERO || x->type == F_NONZERO || x->type == F_THRESH || x->type == F_PEAK) {
      m = report__metric(vr, x->name);
      rm = report__metric(rr, x->name);
      if (!m || !rm || !m->nseries) continue;
      mark(c, "metric", x->name, nb, sizeof nb);
    }
    report__fmt_time(x->t, tt, sizeof tt);
    line[0] = 0;
    switch (x->type) {
    case F_ZERO: {
      long z = zero_at(m);
      if (z >= 0) {
        report__fmt_time(report__sample_time(vr, (size_t)z), t2, sizeof t2);
        snprintf(line, sizeof line, "%s reached 0 here too, by %s (by %s in %s).", nb, t2, tt, rn);
      } else if (0) {
        snprintf(line, sizeof line, "%s reached 0 here too.", nb);
      } else {
        double lo = st(m, SCN_ST_MIN);
        if (!(lo > 0)) { /* the statistic counts the 0 before the first value: the samples' */
          lo = m->series[0];
          for (size_t k = 1; k < m->nseries; k++)
            if (m->series[k] < lo) lo = m->series[k];
        }
        report__fmt_value(m, lo, a, sizeof a);
        snprintf(line, sizeof line, "%s never reached 0: at least %s (in %s by %s).", nb, a, rn,
                 tt);
      }
      break;
    }
    case F_NONZERO:
      report__fmt_value(rm, st(rm, SCN_ST_FINAL), b, sizeof b);
      if (!(st(m, SCN_ST_FINAL) > 0)) {
        snprintf(line, sizeof line, "%s: none (%s in %s, from %s).", nb, b, rn, tt);
      } else {
        report__fmt_value(m, st(m, SCN_ST_FINAL), a, sizeof a);
        snprintf(line, sizeof line, "%s: %s here too (%s in %s).", nb, a, b, rn);
      }
      break;
    case F_THRESH: {
      long i2 = first_above(m, x->value, x->op_ge);
      report__fmt_value(m, x->value, b, sizeof b);
      if (i2 >= 0) {
        report__fmt_time(report__sample_time(vr, (size_t)i2), t2, sizeof t2);
        snprintf(line, sizeof line, "%s passed %s here too, by %s.", nb, b, t2);
      } else {
        report__fmt_value(m, st(m, SCN_ST_MAX), a, sizeof a);
        snprintf(line, sizeof line, "%s stayed below %s: at most %s (in %s passed by %s).", nb, b,
                 a, rn, tt);
      }
      break;
    }
    case F_PEAK:
      report__fmt_value(m, st(m, SCN_ST_MAX), a, sizeof a);
      report__fmt_value(rm, st(rm, SCN_ST_MAX), b, sizeof b);
      snprintf(line, sizeof line, "%s peaked at %s (%s in %s).", nb, a, b, rn);
      break;
    case F_EVENT: {
      if (!f) break;
      const report_ev_fact_t *e = find_event(f, x->name), *re = find_event(rfa, x->name);
      mark(c, "event", x->name, nb, sizeof nb);
      if (!e)
        snprintf(line, sizeof line, "no %s (%llu in %s, the first at %s).", nb,
                 (unsigned long long)(re ? re->count : 0), rn, tt);
      else
        snprintf(line, sizeof line, "%s: %llu (%llu in %s).", nb, (unsigned long long)e->count,
                 (unsigned long long)(re ? re->count : 0), rn);
      break;
    }
    case F_WAIT: {
      if (!f) break;
      const report_wait_fact_t *w = find_wait(f, x->name), *rw = find_wait(rfa, x->name);
      waited(c, x->name, wb, sizeof wb);
      if (rw) report__fmt_dur(rw->longest, b, sizeof b);
      if (!w) {
        snprintf(line, sizeof line,
                 "nothing waited for %s (in %s up to %zu at once, for up to %s).", wb, rn,
                 rw ? rw->peak : 0, rw ? b : "?");
      } else {
        report__fmt_dur(w->longest, a, sizeof a);
        snprintf(
            line, sizeof line,
            "waits for %s: at most %zu at once, the longest %s (in %s: %zu at once, up to %s).", wb,
            w->peak, a, rn, rw ? rw->peak : 0, rw ? b : "?");
      }
      break;
    }
    case F_CYCLE:
      if (!f) break;
      if (f->cycle.n) snprintf(line, sizeof line, "a deadlock here too, at %s.", tt);
      else
        snprintf(line, sizeof line,
                 "no deadlock: no thread holds one lock while waiting for another held by a thread "
                 "that waits for the first.");
      break;
    case F_REPORT: {
      size_t k, cnt = 0;
      for (k = 0; k < vr->nreports; k++) cnt += !strcmp(vr->reports[k].kind, x->name);
      mark(c, "report", x->name, nb, sizeof nb);
      if (!cnt) snprintf(line, sizeof line, "no report of %s (in %s one at %s).", nb, rn, tt);
      else
        snprintf(line, sizeof line, "%zu report%s of %s here too.", cnt, cnt == 1 ? "" : "s", nb);
      break;
    }
    default:
      break;
    }
    if (!line[0]) continue;
    line[0] = (char)toupper((unsigned char)line[0]);
    fputs("  - ", out);
    emit(c, out, line);
    fputc('\n', out);
    n++;
  }
  if (!n) fprintf(out, "  - nothing %s showed could be looked for here.\n", rn);
}

static int sorted_findings(ctx_t *c, const flist_t *l, finding_t **out) {
  *out = NULL;
  if (!l->n) return 0;
  *out = malloc(l->n * sizeof **out);
  if (!*out) {
    c->oom = 1;
    return -1;
  }
  memcpy(*out, l->v, l->n * sizeof **out);
  qsort(*out, l->n, sizeof **out, cmp_finding);
  return 0;
}

static void ctx_free(ctx_t *c) {
  for (size_t i = 0; i < c->nown; i++) free(c->own[i]);
  free(c->own);
  free(c->shown.v);
}

int report_explain(FILE *out, const scn_result_t *r, report_facts_t *const *facts) {
  ctx_t c = {.r = r, .facts = facts, .model = r->s->model};
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
      report__fmt_time(r->variants[i].sample_interval, tt, sizeof tt);
      fprintf(
          out,
          "Times are h:mm:ss of virtual time. Each variant is told against its healthy state; a "
          "metric's time is the sample (one every %s) by which it changed, its peaks, lows and "
          "counts are the figures `storesim run` shows.\n",
          tt);
      break;
    }
  base_t rb;
  if (ref >= 0) {
    base_for(&c, ref, &rb);
    findings(&c, ref, &rb, &rf);
  }
  for (size_t vi = 0; vi < r->nvariants; vi++) {
    const scn_variant_res_t *vr = &r->variants[vi];
    if (!vr->ran) continue;
    flist_t l = {0};
    base_t b;
    base_for(&c, (int)vi, &b);
    scn_fixes_text(s, vr->v, ", ", "none", fx, sizeof fx);
    fprintf(out, "\n-- %s (fixes: %s)%s%s\n", vr->v->name, fx, vr->v->description ? ": " : "",
            vr->v->description ? vr->v->description : "");
    if ((int)vi == ref) l = rf;
    else findings(&c, (int)vi, &b, &l);
    finding_t *sorted;
    if (l.n && !sorted_findings(&c, &l, &sorted)) {
      fprintf(out, "  What departs from %s%s:\n", b.name, b.self ? "" : ", the healthy state");
      for (size_t i = 0; i < l.n; i++) {
        report__fmt_time(sorted[i].t, tt, sizeof tt);
        fprintf(out, "  %8s  ", tt);
        emit(&c, out, sorted[i].text);
        fputc('\n', out);
      }
      free(sorted);
    } else if (!l.n) {
      fprintf(out,
              "  Nothing departs from %s: no metric the expectations name reaches 0, a bound or "
              "twice its level there, no thread waits longer or in greater numbers, and no "
              "detector reports anything new.\n",
              b.name);
    }
    report__fmt_time(vr->end_time, tt, sizeof tt);
    if (vr->incomplete)
      fprintf(out, "  %8s  The run stops early: %s.\n", tt, vr->error ? vr->error : "incomplete");
    else if (vr->run_rc == SIM_EHANG)
      fprintf(out, "  %8s  The run ends in a hang: threads are blocked and nothing can run.\n", tt);
    else fprintf(out, "  %8s  The run ends.\n", tt);
    if ((int)vi != ref && ref >= 0) compare(&c, out, (int)vi, ref, &rf);
    fprintf(out, "  Expectations: %d of %zu hold", vr->npass, scn_variant_judged(vr));
    if (vr->nnot_live)
      fprintf(out, " (%d more not judged: they cannot hold on the threads backend)", vr->nnot_live);
    if (vr->nfail + vr->nerror) {
      fprintf(out, "; not holding:");
      for (size_t k = 0; k < vr->nexpects; k++)
        if (scn_expect_failed(&vr->expects[k]))
          fprintf(out, " [%s -> %s]", vr->expects[k].x->text,
                  vr->expects[k].detail ? vr->expects[k].detail : "");
    }
    fprintf(out, ".\n");
    if ((int)vi != ref) flist_free(&l);
  }
  flist_free(&rf);
  ctx_free(&c);
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
  case F_ZERO: return st(m, SCN_ST_MIN) <= 0;
  case F_NONZERO: return st(m, SCN_ST_FINAL) > 0;
  case F_THRESH: return x->op_ge ? st(m, SCN_ST_MAX) >= x->value : st(m, SCN_ST_MAX) > x->value;
  case F_REPORT:
    for (size_t k = 0; k < vr->nreports; k++)
      if (!strcmp(vr->reports[k].kind, x->name)) return 1;
    return 0;
  case F_EVENT: return f ? find_event(f, x->name) != NULL : -1;
  case F_CYCLE: return f ? f->cycle.n > 0 : -1;
  default: return -1;
  }
}

static int brief_rank(int type) {
  switch (type) {
  case F_REPORT:
  case F_CYCLE: return 0;
  case F_ZERO: return 1;
  case F_THRESH: return 2;
  case F_EVENT: return 3;
  case F_NONZERO: return 4;
  default: return 9;
  }
}

int report_explain_brief(FILE *out, const scn_result_t *r, report_facts_t *const *facts) {
  ctx_t c = {.r = r, .facts = facts, .model = r->s->model};
  int ref = report__ref_variant(r);
  flist_t rf = {0};
  char tt[48], plainb[1600];
  if (ref < 0) return 0;
  base_t b;
  base_for(&c, ref, &b);
  findings(&c, ref, &b, &rf);
  size_t pick[6], np = 0;
  int ci = healthy_of(r, ref);
  for (int rank = 0; rank <= 4 && np < 6; rank++)
    for (size_t i = 0; i < rf.n && np < 6; i++) {
      const finding_t *x = &rf.v[i];
      if (brief_rank(x->type) != rank) continue;
      if (ci >= 0 && happened(&c, ci, x) == 1) continue; /* only what tells them apart */
      int dup = 0;
      for (size_t k = 0; k < np; k++) dup |= !strcmp(rf.v[pick[k]].name, x->name);
      if (!dup) pick[np++] = i;
    }
  for (size_t a = 1; a < np; a++)
    for (size_t k = a; k > 0 && cmp_finding(&rf.v[pick[k - 1]], &rf.v[pick[k]]) > 0; k--) {
      size_t t = pick[k];
      pick[k] = pick[k - 1];
      pick[k - 1] = t;
    }
  fprintf(out, "%s:\n", r->variants[ref].v->name);
  if (!np) fprintf(out, "  nothing out of the ordinary.\n");
  for (size_t k = 0; k < np; k++) {
    report__fmt_time(rf.v[pick[k]].t, tt, sizeof tt);
    fprintf(out, "  %s  ", tt);
    emit(&c, out, rf.v[pick[k]].text);
    fputc('\n', out);
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
        if (happened(&c, (int)vi, &rf.v[pick[k]]) == 1) {
          const char *p = rf.v[pick[k]].type == F_CYCLE ? "deadlock" : rf.v[pick[k]].name;
          plain(p, plainb, sizeof plainb);
          fprintf(out, " %s", plainb);
        }
      fprintf(out, ")");
    }
    fprintf(out, ".\n");
  }
  flist_free(&rf);
  ctx_free(&c);
  if (fflush(out) || ferror(out)) return SIM_EIO;
  return c.oom ? SIM_ENOMEM : 0;
}
