/*
 * storesim store: workload from a Performance Monitor capture
 * (workload.from_perfmon).
 *
 * A support engineer has the customer's Perfmon log, not a rate. Given
 * `workload.from_perfmon: {file: capture.csv, map: {smtp: ..., mapi: ...,
 * owa: ...}}` the arrival rate of each mapped stream follows the named
 * counter of the log, interval by interval, instead of its
 * workload.<stream>.rate:
 *
 *   - the file is Performance Monitor's CSV log (PDH-CSV 4.0, as Perfmon
 *     and relog write it; shared DOMAIN.md): a header of counter paths
 *     "\\SERVER\Object(Instance)\Counter", then one row per sample, a
 *     timestamp "MM/DD/YYYY HH:MM:SS.mmm" and one quoted field per counter
 *     (empty or " ": no value). It is read with libcsv (Debian libcsv-dev).
 *   - A counter is named with or without its "\\SERVER" prefix, in any case;
 *     it must match one column.
 *   - Virtual time 0 is the first sample's timestamp. A /sec counter in row k
 *     is the average over the interval that ends at row k, so it drives the
 *     interval (t[k-1], t[k]]; a row without a value keeps the interval
 *     before it; after the last row nothing more arrives (run the scenario
 *     for the capture's length). workload.from_perfmon.scale.<stream>
 *     multiplies it (default 1: one simulated request per counted event).
 *   - Within an interval arrivals are Poisson at that rate; at a boundary
 *     the next gap is drawn afresh at the new rate (exact for a piecewise
 *     constant rate, by the exponential's lack of memory).
 *
 * The driven rate is recorded as capture.<stream>.rate (a gauge) so reports
 * show what the run was given beside what it did. Without a file nothing of
 * this mechanism exists (no thread, no metric): every other scenario keeps
 * its trace hash.
 */
#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "storesim/alloc.h"
#include "store_int.h"

/* The capture's keys, in store_config_t (perfmon_*). */
typedef struct capture_cfg {
  const char *file;
  const char *const *map;
  const double *scale;
} capture_cfg_t;

static const char *const stream_names[STORE_NSTREAMS] = {"smtp", "mapi", "owa"};

/* One stream's rate over time: rate[k] over [at[k], at[k+1]), k < n - 1. */
struct store_profile {
  sim_time_t *at; /* n boundaries, at[0] = 0 */
  double *rate;   /* n - 1 rates, per second */
  size_t n;
};

/* ---- reading the log ---------------------------------------------------------------------- */
typedef struct reader {
  char **cells; /* the current row's fields */
  size_t ncells, cap;
  char ***rows; /* every row */
  size_t *rowlen, nrows, caprows;
  int oom;
} reader_t;

static void on_field(void *s, size_t len, void *data) {
  reader_t *r = data;
  if (r->oom) return;
  if (r->ncells == r->cap) {
    size_t nc = r->cap ? 2 * r->cap : 16;
    char **t = realloc(r->cells, nc * sizeof *t);
    if (!t) {
      r->oom = 1;
      return;
    }
    r->cells = t;
    r->cap = nc;
  }
  char *c = malloc(len + 1);
  if (!c) {
    r->oom = 1;
    return;
  }
  memcpy(c, s, len);
  c[len] = 0;
  r->cells[r->ncells++] = c;
}

static void on_row(int ch, void *data) {
  reader_t *r = data;
  (void)ch;
  if (r->oom) return;
  if (r->nrows == r->caprows) {
    size_t nc = r->caprows ? 2 * r->caprows : 64;
    char ***t = realloc(r->rows, nc * sizeof *t);
    size_t *l = realloc(r->rowlen, nc * sizeof *l);
    if (t) r->rows = t;
    if (l) r->rowlen = l;
    if (!t || !l) {
      r->oom = 1;
      return;
    }
    r->caprows = nc;
  }
  r->rows[r->nrows] = r->cells;
  r->rowlen[r->nrows++] = r->ncells;
  r->cells = NULL;
  r->ncells = r->cap = 0;
}

static void reader_free(reader_t *r) {
  for (size_t i = 0; i < r->nrows; i++) {
    for (size_t j = 0; j < r->rowlen[i]; j++) free(r->rows[i][j]);
    free(r->rows[i]);
  }
  for (size_t j = 0; j < r->ncells; j++) free(r->cells[j]);
  free(r->cells);
  free(r->rows);
  free(r->rowlen);
}

/* "MM/DD/YYYY HH:MM:SS.mmm" into ns since 1970 (UTC, as the log's zone). */
static int parse_stamp(const char *s, int64_t *ns) {
  int mo, d, y, h, mi;
  double sec;
  char tail;
  if (sscanf(s, "%d/%d/%d %d:%d:%lf%c", &mo, &d, &y, &h, &mi, &sec, &tail) != 6) return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1601 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      !(sec >= 0 && sec < 61))
    return -1;
  /* days from civil (H. Hinnant's algorithm) */
  int64_t yy = y - (mo <= 2);
  int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  int64_t yoe = yy - era * 400;
  int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  *ns = ((days * 86400 + h * 3600 + mi * 60) * (int64_t)1000000000) + llround(sec * 1e9);
  return 0;
}

/* A counter path without its "\\SERVER" (the machine it was captured on). */
static const char *strip_server(const char *c) {
  const char *p = c[0] == '\\' && c[1] == '\\' ? strchr(c + 2, '\\') : NULL;
  return p ? p : c;
}

/* Whether header cell `col` names counter `want` (with or without \\SERVER). */
static int counter_matches(const char *col, const char *want) {
  return !strcasecmp(col, want) || !strcasecmp(strip_server(col), strip_server(want));
}

/* Builds stream k's profile from column col of the rows. */
static int build_profile(const reader_t *r, const int64_t *stamps, size_t col, double scale,
                         struct store_profile *p, const char *file, char *err, size_t nerr) {
  size_t n = r->nrows - 1; /* samples */
  p->at = sim_calloc(n, sizeof *p->at);
  p->rate = sim_calloc(n, sizeof *p->rate);
  if (!p->at || !p->rate) return SIM_ENOMEM;
  p->n = n;
  double last = 0;
  for (size_t i = 0; i < n; i++) {
    p->at[i] = stamps[i] - stamps[0];
    if (i == 0) continue; /* the first row ends no interval */
    const char *v = col < r->rowlen[i + 1] ? r->rows[i + 1][col] : "";
    if (strspn(v, " ") == strlen(v)) { /* no value: the interval before */
      p->rate[i - 1] = last;
      continue;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (*end || errno || !isfinite(x) || x < 0) {
      snprintf(err, nerr, "%s:%zu:%zu: error: '%s' is not a rate (a number >= 0)", file, i + 2,
               col + 1, v);
      return SIM_EINVAL;
    }
    p->rate[i - 1] = last = x * scale;
  }
  return 0;
}

static int load_capture(const capture_cfg_t *cc, struct store_profile *prof, int *have, char *err,
                        size_t nerr) {
  FILE *f = fopen(cc->file, "rb");
  if (!f) {
    snprintf(err, nerr, "%s: error: cannot read: %s", cc->file, strerror(errno));
    return SIM_EINVAL;
  }
  struct csv_parser csv;
  reader_t r = {0};
  int rc = 0;
  if (csv_init(&csv, CSV_APPEND_NULL) != 0) {
    fclose(f);
    return SIM_ENOMEM;
  }
  char buf[65536];
  size_t got;
  while (!rc && (got = fread(buf, 1, sizeof buf, f)) > 0)
    if (csv_parse(&csv, buf, got, on_field, on_row, &r) != got) rc = SIM_EINVAL;
  if (!rc) csv_fini(&csv, on_field, on_row, &r);
  if (rc)
    snprintf(err, nerr, "%s: error: not a CSV file: %s", cc->file, csv_strerror(csv_error(&csv)));
  csv_free(&csv);
  fclose(f);
  if (r.oom) rc = SIM_ENOMEM;
  int64_t *stamps = NULL;
  if (!rc && (r.nrows < 3 || r.rowlen[0] < 2 || strncmp(r.rows[0][0], "(PDH-CSV", 8))) {
    snprintf(err, nerr,
             "%s:1:1: error: not a Performance Monitor CSV log (a \"(PDH-CSV 4.0) ...\" header "
             "and at least two samples; `relog file.blg -f csv -o file.csv` converts a binary "
             "log)",
             cc->file);
    rc = SIM_EINVAL;
  }
  if (!rc && !(stamps = sim_calloc(r.nrows, sizeof *stamps))) rc = SIM_ENOMEM;
  for (size_t i = 1; !rc && i < r.nrows; i++) {
    if (parse_stamp(r.rowlen[i] ? r.rows[i][0] : "", &stamps[i - 1])) {
      snprintf(err, nerr, "%s:%zu:1: error: '%s' is not a sample time MM/DD/YYYY HH:MM:SS.mmm",
               cc->file, i + 1, r.rowlen[i] ? r.rows[i][0] : "");
      rc = SIM_EINVAL;
    } else if (i > 1 && stamps[i - 1] <= stamps[i - 2]) {
      snprintf(err, nerr, "%s:%zu:1: error: the sample times must increase ('%s' after '%s')",
               cc->file, i + 1, r.rows[i][0], r.rows[i - 1][0]);
      rc = SIM_EINVAL;
    }
  }
  for (int k = 0; !rc && k < STORE_NSTREAMS; k++) {
    if (!cc->map[k] || !*cc->map[k]) continue;
    size_t col = 0, nmatch = 0;
    for (size_t j = 1; j < r.rowlen[0]; j++)
      if (counter_matches(r.rows[0][j], cc->map[k])) col = j, nmatch++;
    if (nmatch != 1) {
      snprintf(err, nerr,
               "%s:1:1: error: workload.from_perfmon.map.%s: counter '%s' %s (a counter path "
               "such as \\MSExchangeIS\\RPC Operations/sec, with or without \\\\SERVER)",
               cc->file, stream_names[k], cc->map[k],
               nmatch ? "names several columns" : "is not a column of this log");
      rc = SIM_EINVAL;
      break;
    }
    rc = build_profile(&r, stamps, col, cc->scale[k], &prof[k], cc->file, err, nerr);
    have[k] = !rc;
  }
  free(stamps);
  reader_free(&r);
  return rc;
}

/* ---- the store's side ----------------------------------------------------------------------- */
typedef struct capture {
  store_t *s;
  struct store_profile prof[STORE_NSTREAMS];
  int have[STORE_NSTREAMS];
  sim_metric_t *m_rate[STORE_NSTREAMS];
} capture_t;

static void capture_destroy(void *self) {
  capture_t *c = self;
  for (int k = 0; k < STORE_NSTREAMS; k++) free(c->prof[k].at), free(c->prof[k].rate);
  free(c);
}

static const store_component_t capture_component = {.name = "capture", .destroy = capture_destroy};

/* Sets capture.<stream>.rate at every boundary of the log. */
static void rate_main(void *arg) {
  capture_t *c = arg;
  size_t i[STORE_NSTREAMS] = {0};
  for (;;) {
    sim_time_t next = SIM_TIME_MAX;
    for (int k = 0; k < STORE_NSTREAMS; k++) {
      if (!c->have[k] || i[k] >= c->prof[k].n) continue;
      if (c->prof[k].at[i[k]] <= sim_now(c->s->w)) {
        sim_gauge_set(c->m_rate[k], i[k] + 1 < c->prof[k].n ? c->prof[k].rate[i[k]] : 0);
        i[k]++;
      }
      if (i[k] < c->prof[k].n && c->prof[k].at[i[k]] < next) next = c->prof[k].at[i[k]];
    }
    if (next == SIM_TIME_MAX || sim_sleep_until(next) != 0) return;
  }
}

static int capture_init(store_t *s, char *err, size_t nerr) {
  const capture_cfg_t ccv = {s->cfg->perfmon_file, (const char *const *)s->cfg->perfmon_map,
                             s->cfg->perfmon_scale};
  const capture_cfg_t *cc = &ccv;
  int any = 0;
  for (int k = 0; k < STORE_NSTREAMS; k++) any |= cc->map[k] && *cc->map[k];
  if (!cc->file || !*cc->file) {
    if (any) {
      snprintf(err, nerr, "workload.from_perfmon.map needs workload.from_perfmon.file");
      return SIM_EINVAL;
    }
    return 0;
  }
  if (!any) {
    snprintf(err, nerr,
             "workload.from_perfmon.file needs a counter in workload.from_perfmon.map "
             "(smtp, mapi or owa)");
    return SIM_EINVAL;
  }
  capture_t *c = sim_calloc(1, sizeof *c);
  if (!c) return SIM_ENOMEM;
  c->s = s;
  int rc = load_capture(cc, c->prof, c->have, err, nerr);
  if (rc) {
    capture_destroy(c);
    return rc;
  }
  for (int k = 0; k < STORE_NSTREAMS; k++) {
    if (!c->have[k]) continue;
    char name[64];
    snprintf(name, sizeof name, "capture.%s.rate", stream_names[k]);
    c->m_rate[k] = sim_metric(s->w, name, SIM_M_GAUGE, "/s");
    s->profile[k] = &c->prof[k];
  }
  store_component_add(s, &capture_component, c);
  sim_thread_spawn(s->w, "capture-rates", store_proc(s), rate_main, c);
  return 0;
}

sim_time_t store_arrival_gap(const store_t *s, int stream, double rate, sim_rng_t *rng,
                             sim_time_t from) {
  const struct store_profile *p = stream >= 0 ? s->profile[stream] : NULL;
  if (!p) return rate > 0 ? (sim_time_t)sim_rng_exp(rng, 1e9 / rate) : -1;
  sim_time_t t = from;
  size_t lo = 0, hi = p->n; /* the interval holding t: at[k] <= t < at[k + 1] */
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (p->at[mid] <= t) lo = mid;
    else hi = mid;
  }
  for (size_t k = lo; k + 1 < p->n; k++) {
    if (t < p->at[k]) t = p->at[k];
    if (p->rate[k] > 0) {
      double d = sim_rng_exp(rng, 1e9 / p->rate[k]);
      if ((double)t + d < (double)p->at[k + 1]) return t + (sim_time_t)d - from;
    }
    t = p->at[k + 1]; /* a new rate from the boundary on */
  }
  return -1; /* after the log: nothing more arrives */
}

int store_arrival_driven(const store_t *s, int stream) { return s->profile[stream] != NULL; }

/* ---- the descriptor ----------------------------------------------------------------------- */
#define CC(f) STORE_CFG(perfmon_##f)

static const sim_param_t capture_params[] = {
    {"workload.from_perfmon.file", SIM_P_FILE, CC(file), 0, 0, "",
     "A Performance Monitor CSV log (PDH-CSV 4.0) whose counters drive the arrival rates of the "
     "streams named in workload.from_perfmon.map, interval by interval (a path relative to the "
     "scenario file); empty: none."},
    {"workload.from_perfmon.map.smtp", SIM_P_STRING, CC(map[STORE_STREAM_SMTP]), 0, 0, "",
     "The counter that gives SMTP messages per second, e.g. \\SMTP Server(_Total)\\Messages "
     "Received/sec; it replaces workload.smtp.rate."},
    {"workload.from_perfmon.map.mapi", SIM_P_STRING, CC(map[STORE_STREAM_MAPI]), 0, 0, "",
     "The counter that gives MAPI RPCs per second, e.g. \\MSExchangeIS\\RPC Operations/sec; it "
     "replaces workload.mapi.rate."},
    {"workload.from_perfmon.map.owa", SIM_P_STRING, CC(map[STORE_STREAM_OWA]), 0, 0, "",
     "The counter that gives OWA requests per second; it replaces workload.owa.rate."},
    {"workload.from_perfmon.scale.smtp", SIM_P_FLOAT, CC(scale[STORE_STREAM_SMTP]), 0, 1e6, "1",
     "Simulated messages per counted one."},
    {"workload.from_perfmon.scale.mapi", SIM_P_FLOAT, CC(scale[STORE_STREAM_MAPI]), 0, 1e6, "1",
     "Simulated RPCs per counted operation (an Outlook RPC carries one or more operations)."},
    {"workload.from_perfmon.scale.owa", SIM_P_FLOAT, CC(scale[STORE_STREAM_OWA]), 0, 1e6, "1",
     "Simulated OWA requests per counted one."},
    {NULL, 0, 0, 0, 0, NULL, NULL}};

static const sim_metric_desc_t capture_metrics[] = {
    {"capture.<stream>.rate", SIM_M_GAUGE, "/s",
     "the arrival rate the capture gives the stream (smtp, mapi, owa) now"},
    {NULL, 0, NULL, NULL}};

static const sim_plot_desc_t capture_plots[] = {
    {.title = "Arrival rates from the Performance Monitor capture",
     .metrics = {"capture.smtp.rate", "capture.mapi.rate", "capture.owa.rate"}},
    {0}};

const store_mech_t store_capture_mech = {
    .part = {.name = "capture",
             .title = "Workload from a Performance Monitor capture",
             .file = "sim/store/capture.c",
             .metrics = capture_metrics,
             .plots = capture_plots},
    .params = capture_params,
    .init = capture_init,
};
