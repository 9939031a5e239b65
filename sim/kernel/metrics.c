/*
 * Metrics: counters, gauges (with time-weighted means) and samples (with
 * percentiles), sampled into time series at a fixed virtual interval.
 * Metrics are found by name through an open-addressing table whose order is
 * never used for output: listings follow registration order.
 *
 * Derived metrics (sim_metric_derive) are gauges set only at sample
 * instants, from a source registered before them: so the sampling loop,
 * which follows registration order, has already seen the source when it
 * reaches one. Their summary is over their samples (count = samples taken).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"

static uint32_t name_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static void slots_rebuild(sim_world_t *w, size_t n) {
  free(w->metric_slots);
  w->metric_slots = sim__xcalloc(n, sizeof *w->metric_slots);
  w->nmetric_slots = n;
  for (size_t i = 0; i < w->nmetrics; i++) {
    size_t k = name_hash(w->metrics[i]->name) & (n - 1);
    while (w->metric_slots[k])
      k = (k + 1) & (n - 1);
    w->metric_slots[k] = (uint32_t)i + 1;
  }
}

sim_metric_t *sim_world_metric_find(const sim_world_t *w, const char *name) {
  if (!w->nmetric_slots)
    return NULL;
  size_t k = name_hash(name) & (w->nmetric_slots - 1);
  while (w->metric_slots[k]) {
    sim_metric_t *m = w->metrics[w->metric_slots[k] - 1];
    if (strcmp(m->name, name) == 0)
      return m;
    k = (k + 1) & (w->nmetric_slots - 1);
  }
  return NULL;
}

/* Registers a new metric named `name` (not yet one). */
static sim_metric_t *metric_new(sim_world_t *w, const char *name, sim_metric_kind_t kind,
                                const char *unit) {
  sim_metric_t *m = sim__xcalloc(1, sizeof *m);
  m->w = w;
  m->name = sim__xstrdup(name);
  m->unit = sim__xstrdup(unit ? unit : "");
  m->kind = kind;
  m->t0 = m->last_t = w->now;
  m->min = INFINITY;
  m->max = -INFINITY;
  m->sorted = true;
  if (w->nmetrics == w->capmetrics) {
    w->capmetrics = w->capmetrics ? 2 * w->capmetrics : 32;
    w->metrics = sim__xrealloc(w->metrics, w->capmetrics * sizeof *w->metrics);
  }
  w->metrics[w->nmetrics++] = m;
  if (2 * w->nmetrics > w->nmetric_slots)
    slots_rebuild(w, w->nmetric_slots ? 2 * w->nmetric_slots : 64);
  else {
    size_t k = name_hash(name) & (w->nmetric_slots - 1);
    while (w->metric_slots[k])
      k = (k + 1) & (w->nmetric_slots - 1);
    w->metric_slots[k] = (uint32_t)w->nmetrics;
  }
  /* A gauge or counter starts at 0: that is a value it takes. */
  if (kind != SIM_M_SAMPLE) {
    m->min = m->max = 0;
    m->count = 1;
    m->initial = kind == SIM_M_GAUGE;
  }
  return m;
}

/* ---- derived metrics ---- */

/* Whether name matches pat ("<x>" matches one segment without a dot); the
 * segment "<x>" matched in *seg, *nseg (NULL, 0: none). */
static int derive_match(const char *pat, const char *name, const char **seg, size_t *nseg) {
  *seg = NULL;
  *nseg = 0;
  while (*pat && *name) {
    if (*pat == '<') {
      const char *e = strchr(pat, '>');
      size_t n = strcspn(name, ".");
      if (!e || n == 0) return 0;
      *seg = name;
      *nseg = n;
      pat = e + 1;
      name += n;
    } else if (*pat++ != *name++) {
      return 0;
    }
  }
  return !*pat && !*name;
}

/* What a derivation takes the difference of: a counter's value (RATE), a
 * gauge's integral of value dt (MEAN). */
static double derive_level(const sim_metric_t *src, sim_derive_t how) {
  if (how == SIM_DERIVE_MEAN) return src->tw_acc + src->value * (double)(src->w->now - src->last_t);
  return src->value;
}

static void derive_apply(sim_world_t *w, sim_metric_t *src, const sim__derive_rule_t *r) {
  const char *seg;
  size_t nseg;
  if (src->src || !derive_match(r->pattern, src->name, &seg, &nseg)) return;
  char name[512];
  const char *lt = strchr(r->name, '<'), *gt = lt ? strchr(lt, '>') : NULL;
  if (lt && gt && seg)
    snprintf(name, sizeof name, "%.*s%.*s%s", (int)(lt - r->name), r->name, (int)nseg, seg, gt + 1);
  else snprintf(name, sizeof name, "%s", r->name);
  if (sim_world_metric_find(w, name))
    sim__die("sim_metric_derive: '%s' (from '%s') is already a metric", name, src->name);
  sim_metric_t *m = metric_new(w, name, SIM_M_GAUGE, r->unit);
  m->src = src;
  m->how = r->how;
  m->factor = r->factor;
  m->min = INFINITY; /* its values are its samples: none yet */
  m->max = -INFINITY;
  m->count = 0;
  m->initial = false;
  m->d_prev = derive_level(src, r->how);
  m->d_prev_t = w->now;
}

void sim_metric_derive(sim_world_t *w, const char *pattern, const char *name, sim_derive_t how,
                       double factor, const char *unit) {
  if (!pattern || !*pattern || !name || !*name)
    sim__die("sim_metric_derive: empty pattern or name");
  if (strchr(name, '<') && !strchr(pattern, '<'))
    sim__die("sim_metric_derive: '%s' has a placeholder and '%s' none", name, pattern);
  if (how != SIM_DERIVE_VALUE && how != SIM_DERIVE_RATE && how != SIM_DERIVE_MEAN)
    sim__die("sim_metric_derive: '%s': unknown derivation %d", name, (int)how);
  w->derive_rules =
      sim__xrealloc(w->derive_rules, (w->nderive_rules + 1) * sizeof *w->derive_rules);
  sim__derive_rule_t *r = &w->derive_rules[w->nderive_rules++];
  r->pattern = sim__xstrdup(pattern);
  r->name = sim__xstrdup(name);
  r->unit = sim__xstrdup(unit ? unit : "");
  r->how = how;
  r->factor = factor;
  for (size_t i = 0, n = w->nmetrics; i < n; i++) derive_apply(w, w->metrics[i], r);
}

const sim_metric_t *sim_metric_source(const sim_metric_t *m) { return m->src; }

/* A derived metric's value at a sample instant. */
static double derive_sample(sim_metric_t *m) {
  const sim_metric_t *src = m->src;
  sim_time_t now = m->w->now, dt = now - m->d_prev_t;
  double v = src->value;
  if (m->how != SIM_DERIVE_VALUE) {
    double level = derive_level(src, m->how);
    if (dt > 0) v = (level - m->d_prev) / (double)dt;
    if (m->how == SIM_DERIVE_RATE) v = dt > 0 ? v * (double)SIM_SEC : 0;
    m->d_prev = level;
  }
  m->d_prev_t = now;
  return v * m->factor;
}

sim_metric_t *sim_metric(sim_world_t *w, const char *name, sim_metric_kind_t kind,
                         const char *unit) {
  sim_metric_t *m = sim_world_metric_find(w, name);
  if (m) {
    if (m->kind != kind) sim__die("sim_metric: '%s' already registered with another kind", name);
    return m;
  }
  m = metric_new(w, name, kind, unit);
  for (size_t i = 0; i < w->nderive_rules; i++) derive_apply(w, m, &w->derive_rules[i]);
  return m;
}

static inline void advance(sim_metric_t *m) {
  sim_time_t now = m->w->now;
  m->tw_acc += m->value * (double)(now - m->last_t);
  m->last_t = now;
}

static inline void observe_value(sim_metric_t *m) {
  if (m->value < m->min)
    m->min = m->value;
  if (m->value > m->max)
    m->max = m->value;
  m->sum += m->value;
  m->count++;
}

void sim_counter_add(sim_metric_t *m, int64_t n) {
  advance(m);
  m->value += (double)n;
  observe_value(m);
}

void sim_gauge_set(sim_metric_t *m, double v) {
  if (m->initial) {
    m->initial = false;
    if (m->w->now == m->t0) {
      /* Set at the instant it was registered: this is its first value, the
       * registration 0 was never held and is not one of its values. */
      m->value = m->min = m->max = m->sum = v;
      m->count = 1;
      return;
    }
  }
  if (v == m->value)
    return;
  advance(m);
  m->value = v;
  observe_value(m);
}

void sim_gauge_add(sim_metric_t *m, double dv) { sim_gauge_set(m, m->value + dv); }

/* ---- the histogram of a sample metric past SIM__SAMPLES_EXACT values ---- */
/* log(g) for a = SIM__SKETCH_ALPHA = 0.005: log(1.005 / 0.995) */
static inline double sketch_log_gamma(void) { return 0.010000083334583179; }

/* Bucket of x > 0: ceil(log_g x), clamped to what an int32 holds. */
static int32_t sketch_index(double x) {
  double k = ceil(log(x) / sketch_log_gamma());
  if (k > 2e9) k = 2e9;
  if (k < -2e9) k = -2e9;
  return (int32_t)k;
}

static void side_add(sim__sketch_side_t *sd, int32_t i, uint64_t n) {
  if (sd->n == 0) {
    sd->c = sim__xcalloc(16, sizeof *sd->c);
    sd->lo = i - 8;
    sd->n = 16;
  } else if (i < sd->lo || i >= sd->lo + (int64_t)sd->n) {
    int64_t lo = i < sd->lo ? i : sd->lo;
    int64_t hi = i >= sd->lo + (int64_t)sd->n ? i + 1 : sd->lo + (int64_t)sd->n;
    int64_t want = hi - lo, cap = sd->n;
    while (cap < want) cap *= 2;
    /* grow towards the side that needed room */
    int64_t nlo = i < sd->lo ? hi - cap : lo;
    uint64_t *c = sim__xcalloc((size_t)cap, sizeof *c);
    memcpy(c + (sd->lo - nlo), sd->c, sd->n * sizeof *c);
    free(sd->c);
    sd->c = c;
    sd->lo = (int32_t)nlo;
    sd->n = (uint32_t)cap;
  }
  sd->c[i - sd->lo] += n;
}

static void sketch_add(sim__sketch_t *sk, double v, uint64_t n) {
  sk->total += n;
  if (v > 0) side_add(&sk->pos, sketch_index(v), n);
  else if (v < 0) side_add(&sk->neg, sketch_index(-v), n);
  else sk->zeros += n;
}

static double bucket_value(int32_t i) {
  double lg = sketch_log_gamma(), g = exp(lg);
  return 2 * exp(lg * i) / (g + 1);
}

/* The nearest-rank q-quantile, clamped to the exact [min, max]. */
static double sketch_quantile(const sim__sketch_t *sk, double q, double min, double max) {
  uint64_t k = (uint64_t)ceil(q * (double)sk->total), seen = 0;
  if (k == 0) k = 1;
  double v = max;
  int found = 0;
  for (uint32_t j = sk->neg.n; j-- > 0 && !found;) /* most negative first */
    if ((seen += sk->neg.c[j]) >= k) v = -bucket_value(sk->neg.lo + (int32_t)j), found = 1;
  if (!found && (seen += sk->zeros) >= k) v = 0, found = 1;
  for (uint32_t j = 0; j < sk->pos.n && !found; j++)
    if ((seen += sk->pos.c[j]) >= k) v = bucket_value(sk->pos.lo + (int32_t)j), found = 1;
  return v < min ? min : v > max ? max : v;
}

static void sketch_free(sim__sketch_t *sk) {
  if (!sk) return;
  free(sk->pos.c);
  free(sk->neg.c);
  free(sk);
}

/* The exact values so far move into a histogram. */
static void sketch_start(sim_metric_t *m) {
  m->sketch = sim__xcalloc(1, sizeof *m->sketch);
  for (size_t i = 0; i < m->nsamples; i++) sketch_add(m->sketch, m->samples[i], 1);
  free(m->samples);
  m->samples = NULL;
  m->nsamples = m->capsamples = 0;
}

void sim_sample_add(sim_metric_t *m, double v) {
  if (m->sketch) {
    sketch_add(m->sketch, v, 1);
  } else if (m->nsamples == SIM__SAMPLES_EXACT) {
    sketch_start(m);
    sketch_add(m->sketch, v, 1);
  } else {
    if (m->nsamples == m->capsamples) {
    m->capsamples = m->capsamples ? 2 * m->capsamples : 64;
      m->samples = sim__xrealloc(m->samples, m->capsamples * sizeof *m->samples);
    }
    m->samples[m->nsamples++] = v;
    m->sorted = false;
  }
  m->value = v;
  if (v < m->min)
    m->min = v;
  if (v > m->max)
    m->max = v;
  m->sum += v;
  m->count++;
  m->win_sum += v;
  m->win_n++;
}

double sim_metric_value(const sim_metric_t *m) { return m->value; }
size_t sim_world_nmetrics(const sim_world_t *w) { return w->nmetrics; }
sim_metric_t *sim_world_metric(const sim_world_t *w, size_t i) {
  return i < w->nmetrics ? w->metrics[i] : NULL;
}
const char *sim_metric_name(const sim_metric_t *m) { return m->name; }
const char *sim_metric_unit(const sim_metric_t *m) { return m->unit; }
sim_metric_kind_t sim_metric_kind(const sim_metric_t *m) { return m->kind; }
sim_time_t sim_world_sample_interval(const sim_world_t *w) {
  return w->o.sample_interval;
}
const double *sim_metric_series(const sim_metric_t *m, size_t *n) {
  *n = m->nseries;
  return m->series;
}

/* Sorts v[0..n) ascending, exactly like a comparison sort would for finite
 * values, by LSD radix passes over order-preserving keys (the IEEE bits, all
 * flipped for negatives, the sign flipped for the rest): O(n), where qsort
 * of 10^6 latencies dominated a run's summary. Digits are 16 bits (4 passes)
 * for large n and 8 bits (8 passes) below 2^16 values, where clearing a
 * 2^16-entry histogram four times would cost more than the values; a pass
 * whose digit is the same for every value is skipped. Returns the sorted
 * values: v itself below 64 values, else a new array (v is freed). */
static double *sort_doubles(double *v, size_t n) {
  if (n < 64) {
    for (size_t i = 1; i < n; i++)
      for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
        double x = v[j];
        v[j] = v[j - 1];
        v[j - 1] = x;
      }
    return v;
  }
  const int bits = n < 65536 ? 8 : 16;
  const size_t nb = (size_t)1 << bits;
  const uint64_t mask = nb - 1;
  uint64_t *a = sim__xmalloc(n * sizeof *a);
  for (size_t i = 0; i < n; i++) {
    uint64_t u;
    memcpy(&u, &v[i], sizeof u);
    a[i] = (u >> 63) ? ~u : u | 0x8000000000000000ull;
  }
  free(v); /* the keys hold the values: host memory peaks at 2n, not 3n */
  uint64_t *b = sim__xmalloc(n * sizeof *b);
  size_t *cnt = sim__xmalloc(nb * sizeof *cnt);
  for (int sh = 0; sh < 64; sh += bits) {
    memset(cnt, 0, nb * sizeof *cnt);
    for (size_t i = 0; i < n; i++) cnt[(a[i] >> sh) & mask]++;
    if (cnt[(a[0] >> sh) & mask] == n) continue; /* one digit for all: the order stays as it is */
    size_t sum = 0;
    for (size_t k = 0; k < nb; k++) {
      size_t c = cnt[k];
      cnt[k] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) b[cnt[(a[i] >> sh) & mask]++] = a[i];
    uint64_t *t = a;
    a = b;
    b = t;
  }
  double *out = (double *)(void *)b; /* same size and alignment; read a, write out */
  for (size_t i = 0; i < n; i++) {
    uint64_t u = (a[i] >> 63) ? a[i] & 0x7FFFFFFFFFFFFFFFull : ~a[i];
    memcpy(&out[i], &u, sizeof u);
  }
  free(a);
  free(cnt);
  return out;
}

static double pct(const double *v, size_t n, double q) {
  if (n == 0)
    return 0;
  /* nearest rank */
  size_t k = (size_t)ceil(q * (double)n);
  if (k == 0)
    k = 1;
  return v[k - 1];
}

void sim_metric_summarize(const sim_metric_t *mc, sim_metric_summary_t *s) {
  sim_metric_t *m = (sim_metric_t *)mc; /* sorting samples is a cache */
  memset(s, 0, sizeof *s);
  s->count = m->count;
  s->final = m->value;
  if (m->count == 0)
    return;
  s->min = m->min;
  s->max = m->max;
  s->mean = m->sum / (double)m->count;
  if (m->kind == SIM_M_SAMPLE) {
    s->p50 = sim_metric_quantile(m, 0.50);
    s->p95 = sim_metric_quantile(m, 0.95);
    s->p99 = sim_metric_quantile(m, 0.99);
    s->twmean = s->mean;
    s->final = m->value;
  } else if (m->src) {
    s->twmean = s->mean; /* equally spaced samples */
  } else {
    sim_time_t now = m->w->now;
    double acc = m->tw_acc + m->value * (double)(now - m->last_t);
    sim_time_t span = now - m->t0;
    s->twmean = span > 0 ? acc / (double)span : m->value;
  }
}

double sim_metric_quantile(const sim_metric_t *mc, double q) {
  sim_metric_t *m = (sim_metric_t *)mc; /* sorting samples is a cache */
  if (m->kind != SIM_M_SAMPLE || m->count == 0 || !(q > 0 && q <= 1)) return NAN;
  if (m->sketch) return sketch_quantile(m->sketch, q, m->min, m->max);
  if (!m->sorted) {
    m->samples = sort_doubles(m->samples, m->nsamples); /* may move them */
    if (m->nsamples >= 64) m->capsamples = m->nsamples;
    m->sorted = true;
  }
  return pct(m->samples, m->nsamples, q);
}

void sim__metrics_sample(sim_world_t *w) {
  for (size_t i = 0; i < w->nmetrics; i++) {
    sim_metric_t *m = w->metrics[i];
    double v = m->value;
    if (m->src) { /* after its source: what the source did up to now */
      v = m->value = derive_sample(m);
      observe_value(m);
    } else if (m->kind == SIM_M_SAMPLE) {
      /* mean of the values observed in this interval; the previous point
       * when there were none */
      if (m->win_n)
        v = m->win_sum / (double)m->win_n;
      else
        v = m->nseries ? m->series[m->nseries - 1] : 0;
      m->win_sum = 0;
      m->win_n = 0;
    }
    /* Metrics registered late get zeros for the intervals they missed. */
    while (m->nseries < w->nsamples_taken) {
      if (m->nseries == m->capseries) {
        m->capseries = m->capseries ? 2 * m->capseries : 256;
        m->series = sim__xrealloc(m->series, m->capseries * sizeof *m->series);
      }
      m->series[m->nseries++] = 0;
    }
    if (m->nseries == m->capseries) {
      m->capseries = m->capseries ? 2 * m->capseries : 256;
      m->series = sim__xrealloc(m->series, m->capseries * sizeof *m->series);
    }
    m->series[m->nseries++] = v;
  }
  w->nsamples_taken++;
}

void sim_world_memory(const sim_world_t *w, sim_world_mem_t *mem) {
  memset(mem, 0, sizeof *mem);
  mem->metrics = w->capmetrics * sizeof *w->metrics + w->nmetric_slots * sizeof *w->metric_slots +
                 w->nderive_rules * sizeof *w->derive_rules;
  for (size_t i = 0; i < w->nmetrics; i++) {
    const sim_metric_t *m = w->metrics[i];
    mem->metrics +=
        sizeof *m + strlen(m->name) + 1 + strlen(m->unit) + 1 + m->capsamples * sizeof *m->samples;
    if (m->sketch)
      mem->metrics += sizeof *m->sketch +
                      ((size_t)m->sketch->pos.n + m->sketch->neg.n) * sizeof *m->sketch->pos.c;
    mem->series += m->capseries * sizeof *m->series;
  }
  mem->trace = w->captrace * sizeof *w->trace + w->ntrace_all * sizeof *w->trace_all;
  mem->thread_names = w->captname * sizeof *w->tname;
}

void sim__metrics_free(sim_world_t *w) {
  for (size_t i = 0; i < w->nmetrics; i++) {
    sim_metric_t *m = w->metrics[i];
    free(m->name);
    free(m->unit);
    free(m->series);
    free(m->samples);
    sketch_free(m->sketch);
    free(m);
  }
  free(w->metrics);
  free(w->metric_slots);
  for (size_t i = 0; i < w->nderive_rules; i++) {
    free(w->derive_rules[i].pattern);
    free(w->derive_rules[i].name);
    free(w->derive_rules[i].unit);
  }
  free(w->derive_rules);
}
