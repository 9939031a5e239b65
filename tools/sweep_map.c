/*
 * `storesim sweep --set KEY=V1,V2 --set KEY=A..B`: parameter maps.
 *
 * Each --set is an axis: a list of values (units allowed: 16MiB,32MiB), an
 * integer range A..B or A..B:STEP (a unit after each end: 1h..4h), or one
 * value (a fixed override). The cells are the cross product, the first axis
 * varying slowest; each cell is the scenario file loaded with that cell's
 * values (validated like the file; every cell is loaded before any runs).
 * The sweep engine runs every (cell, seed, variant) on one worker pool and
 * records the statistics --metric names; this file prints, per variant and
 * cell, the fraction of seeds whose expectations hold, the median and range
 * of each statistic over the seeds, and the seed that replays the cell's
 * worst run (its first seed that did not hold); and writes --csv (one row
 * per cell) and the map's part of --jsonl (the cell's values and statistics
 * of each run). A cell's numbers depend on its runs only, so they are the
 * same for any worker count and shard.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/alloc.h"
#include "sweep_map.h"

/* Most cells of one map. */
#define MAP_MAX_CELLS 100000

static void axis_free(cli_axis_t *a) {
  for (size_t i = 0; i < a->n; i++) free(a->vals[i]);
  free(a->vals);
  free(a->key);
}

void cli_map_free(cli_map_t *m) {
  for (size_t i = 0; i < m->naxes; i++) axis_free(&m->axes[i]);
  free(m->axes);
  for (size_t c = 0; c < m->ncells; c++) {
    if (m->cells) scn_scenario_free(m->cells[c]);
    if (m->sets) {
      for (size_t i = 0; i < m->naxes; i++) free(m->sets[c * m->naxes + i]);
    }
  }
  free(m->cells);
  free(m->sets);
  for (size_t i = 0; i < m->nmetrics; i++) free(m->names[i]);
  free(m->names);
  free(m->specs);
  free(m->stats);
  free(m->units);
  memset(m, 0, sizeof *m);
}

static int axis_add(cli_axis_t *a, const char *v, size_t len) {
  char **t = realloc(a->vals, (a->n + 1) * sizeof *t);
  if (!t) return -1;
  a->vals = t;
  if (!(a->vals[a->n] = strndup(v, len))) return -1;
  a->n++;
  return 0;
}

/* "A..B" or "A..B:STEP", integers with the same unit after each end (or
 * none). Returns 1 and fills the axis, 0 when val is not a range, -1 on a
 * range that is wrong (why set). */
static int parse_range(cli_axis_t *a, const char *val, char *why, size_t nwhy) {
  const char *dots = strstr(val, "..");
  if (!dots) return 0;
  char *end;
  errno = 0;
  long long from = strtoll(val, &end, 10);
  if (end == val || errno) return 0;
  size_t ulen = (size_t)(dots - end); /* the unit after A */
  const char *b = dots + 2;
  long long to = strtoll(b, &end, 10);
  if (end == b || errno) return 0;
  if (strncmp(end, val + (dots - val) - ulen, ulen) || (end[ulen] && end[ulen] != ':')) {
    snprintf(why, nwhy, "a range is A..B or A..B:STEP, integers with the same unit on both ends");
    return -1;
  }
  long long step = 1;
  if (end[ulen] == ':') {
    char *e2;
    step = strtoll(end + ulen + 1, &e2, 10);
    if (*e2 || step <= 0) {
      snprintf(why, nwhy, "the STEP of A..B:STEP must be a whole number > 0");
      return -1;
    }
  }
  if (to < from) {
    snprintf(why, nwhy, "empty range %lld..%lld", from, to);
    return -1;
  }
  if ((to - from) / step >= MAP_MAX_CELLS) {
    snprintf(why, nwhy, "a range of more than %d values", MAP_MAX_CELLS);
    return -1;
  }
  for (long long x = from; x <= to; x += step) {
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%lld%.*s", x, (int)ulen, val + (dots - val) - ulen);
    if (axis_add(a, buf, (size_t)n)) return -2;
  }
  return 1;
}

/* One --set into an axis. Returns 0 or an exit status (said why). */
static int parse_axis(cli_axis_t *a, const char *set) {
  const char *eq = strchr(set, '=');
  char why[160];
  if (!eq || eq == set)
    return cli_usage_error("sweep", "--set %s: expected KEY=VALUE, KEY=V1,V2,... or KEY=A..B", set);
  if (!(a->key = strndup(set, (size_t)(eq - set)))) return EXIT_INTERNAL;
  const char *val = eq + 1;
  int rc = parse_range(a, val, why, sizeof why);
  if (rc == -2) return EXIT_INTERNAL;
  if (rc < 0) return cli_usage_error("sweep", "--set %s: %s", set, why);
  if (rc == 1) return 0;
  for (const char *p = val;;) { /* a list (or one value) */
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (!len) return cli_usage_error("sweep", "--set %s: an empty value in the list", set);
    if (axis_add(a, p, len)) return EXIT_INTERNAL;
    if (!c) break;
    p = c + 1;
  }
  return 0;
}

/* "name.stat" of --metric into m. Returns 0 or an exit status (said why). */
static int parse_metric(cli_map_t *m, const char *spec) {
  const char *dot = strrchr(spec, '.');
  for (int st = 0; dot && st < SCN_ST__N; st++)
    if (!strcmp(dot + 1, scn_stat_name((scn_stat_t)st))) {
      m->specs[m->nmetrics] = spec;
      m->stats[m->nmetrics] = (scn_stat_t)st;
      if (!(m->names[m->nmetrics++] = strndup(spec, (size_t)(dot - spec)))) return EXIT_INTERNAL;
      return 0;
    }
  char names[200] = "";
  for (int st = 0; st < SCN_ST__N; st++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", st ? ", " : "",
             scn_stat_name((scn_stat_t)st));
  return cli_usage_error("sweep", "--metric %s: expected METRIC.STAT, STAT one of %s", spec, names);
}

int cli_map_parse(cli_map_t *m, const cli_list_t *sets, const cli_list_t *metrics) {
  memset(m, 0, sizeof *m);
  m->axes = calloc(sets->n + 1, sizeof *m->axes);
  m->specs = calloc(metrics->n + 1, sizeof *m->specs);
  m->names = calloc(metrics->n + 1, sizeof *m->names);
  m->stats = calloc(metrics->n + 1, sizeof *m->stats);
  m->units = calloc(metrics->n + 1, sizeof *m->units);
  if (!m->axes || !m->specs || !m->names || !m->stats || !m->units) return EXIT_INTERNAL;
  m->ncells = 1;
  for (size_t i = 0; i < sets->n; i++) {
    int rc = parse_axis(&m->axes[m->naxes++], sets->v[i]);
    if (rc) return rc;
    if (m->ncells * m->axes[i].n > MAP_MAX_CELLS)
      return cli_usage_error("sweep", "the map has more than %d cells", MAP_MAX_CELLS);
    m->ncells *= m->axes[i].n;
    m->map |= m->axes[i].n > 1;
  }
  for (size_t i = 0; i < metrics->n; i++) {
    int rc = parse_metric(m, metrics->v[i]);
    if (rc) return rc;
  }
  return 0;
}

int cli_map_load(cli_map_t *m, const char *file) {
  size_t len = 0;
  char *text = cli_read_file(file, &len);
  if (!text) return EXIT_USAGE; /* it said why */
  m->cells = calloc(m->ncells, sizeof *m->cells);
  m->sets = calloc(m->ncells * (m->naxes ? m->naxes : 1), sizeof *m->sets);
  const char **v = calloc(m->naxes + 1, sizeof *v);
  int rc = m->cells && m->sets && v ? EXIT_OK : EXIT_INTERNAL;
  for (size_t c = 0; c < m->ncells && !rc; c++) {
    size_t rest = c;
    for (size_t i = m->naxes; i-- > 0;) { /* the first axis varies slowest */
      const cli_axis_t *a = &m->axes[i];
      const char *val = a->vals[rest % a->n];
      rest /= a->n;
      size_t n = strlen(a->key) + strlen(val) + 2;
      char *s = malloc(n);
      if (!s) {
        rc = EXIT_INTERNAL;
        break;
      }
      snprintf(s, n, "%s=%s", a->key, val);
      m->sets[c * m->naxes + i] = s;
      v[i] = s;
    }
    if (rc) break;
    scn_load_opts_t lo = {v, m->naxes};
    scn_diag_t diag;
    scn_diag_init(&diag);
    int lrc =
        scn_load_buffer(strcmp(file, "-") ? file : "<stdin>", text, len, &lo, &m->cells[c], &diag);
    if (lrc) {
      fputs(diag.text ? diag.text : "", stderr);
      rc = lrc == SIM_ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
    }
    scn_diag_free(&diag);
  }
  free(v);
  free(text);
  if (rc) return rc;
  /* every --metric: a metric the model describes, a statistic its kind has */
  const scn_scenario_t *s = m->cells[0];
  for (size_t i = 0; i < m->nmetrics; i++) {
    char err[300];
    const sim_metric_desc_t *d = scn_metric_desc(s->model, m->names[i]);
    if (!d)
      return cli_usage_error("sweep",
                             "--metric %s: model %s has no metric '%s' (every metric: "
                             "docs/metrics.md)",
                             m->specs[i], s->model->name, m->names[i]);
    if (scn_stat_check(m->names[i], d->kind, m->stats[i], err, sizeof err))
      return cli_usage_error("sweep", "--metric %s: %s", m->specs[i], err);
    m->units[i] = d->unit ? d->unit : "";
  }
  return EXIT_OK;
}

/* ---- a cell's numbers ------------------------------------------------------------------------ */
void cli_map_cell(const scn_sweep_res_t *res, size_t cell, size_t variant, cli_cell_stat_t *cs) {
  memset(cs, 0, sizeof *cs);
  for (size_t i = 0; i < res->nruns; i++) {
    const scn_sweep_run_t *r = &res->runs[i];
    if (r->cell != cell || r->variant != variant || !r->ran) continue;
    cs->runs++;
    int held = r->passed && !r->crashed && !r->deadlock && !r->hang && !r->error;
    cs->held += held;
    if (!held && !cs->worst) cs->worst = r; /* runs are in seed order */
  }
}

static int dcmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void cli_median_range(double *v, size_t n, double *med, double *lo, double *hi) {
  *med = *lo = *hi = NAN;
  if (!n) return;
  qsort(v, n, sizeof *v, dcmp);
  *lo = v[0];
  *hi = v[n - 1];
  *med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

size_t cli_map_values(const scn_sweep_res_t *res, size_t cell, size_t variant, size_t k,
                      double *med, double *lo, double *hi, size_t *nnone) {
  size_t n = 0, cap = 0;
  double *v = NULL;
  *nnone = 0;
  *med = *lo = *hi = NAN;
  for (size_t i = 0; i < res->nruns; i++) {
    const scn_sweep_run_t *r = &res->runs[i];
    if (r->cell != cell || r->variant != variant || !r->ran) continue;
    double x = r->values ? r->values[k] : NAN;
    if (isnan(x)) {
      (*nnone)++;
      continue;
    }
    if (n == cap) {
      double *t = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
      if (!t) break;
      v = t;
    }
    v[n++] = x;
  }
  cli_median_range(v, n, med, lo, hi);
  free(v);
  return n;
}

void cli_map_fmt(const cli_map_t *m, size_t k, double v, char *buf, size_t n) {
  if (isnan(v)) {
    snprintf(buf, n, "-");
    return;
  }
  scn_qty_t q = {0};
  double scale = 1;
  if (m->stats[k] != SCN_ST_COUNT) scn_unit_dim(m->units[k], &q.t, &q.b, &scale);
  q.v = v * scale;
  if (q.t == 1 && q.b == 0 && fabs(q.v) >= 60) { /* times: h:mm:ss, as run prints them */
    long long s = llround(fabs(q.v));
    snprintf(buf, n, "%s%lld:%02lld:%02lld", q.v < 0 ? "-" : "", s / 3600, s / 60 % 60, s % 60);
  } else if (q.t == 0 && q.b == 0) {
    if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.4g", v);
    if (m->stats[k] != SCN_ST_COUNT && !strcmp(m->units[k], "%"))
      snprintf(buf + strlen(buf), n - strlen(buf), "%%");
  } else {
    scn_qty_format(q, buf, n);
  }
}

void cli_map_replay_cmd(const cli_map_t *m, const scn_sweep_opts_t *o, const char *file,
                        const scn_sweep_run_t *r, char *buf, size_t n) {
  const scn_scenario_t *s = m->cells[r->cell];
  size_t at =
      (size_t)snprintf(buf, n, "storesim run %s --variant %s", file, s->variants[r->variant].name);
  if (o->vary_world_seed || !sim_sched_seeded(&o->sched))
    at += (size_t)snprintf(buf + at, at < n ? n - at : 0, " --seed %" PRIu64, r->seed);
  if (o->sched.kind != SIM_SCHED_FIFO) {
    char sched[96];
    scn_sweep_sched_string(o, r->seed, sched, sizeof sched);
    at += (size_t)snprintf(buf + at, at < n ? n - at : 0, " --sched %s", sched);
  }
  for (size_t i = 0; i < m->naxes && at < n; i++)
    at += (size_t)snprintf(buf + at, n - at, " --set %s", m->sets[r->cell * m->naxes + i]);
  if (o->duration && at < n) {
    char d[64];
    scn_qty_format((scn_qty_t){(double)o->duration / 1e9, 1, 0}, d, sizeof d);
    snprintf(buf + at, n - at, " --duration %s", d);
  }
}

/* ---- the map on the console --------------------------------------------------------------------- */
static const char *cell_val(const cli_map_t *m, size_t c, size_t i) {
  const char *s = m->sets[c * m->naxes + i];
  return strchr(s, '=') + 1;
}

int cli_map_print(const cli_map_t *m, const scn_sweep_opts_t *o, const scn_sweep_res_t *res,
                  const char *file) {
  const scn_scenario_t *s = m->cells[0];
  int status = 0;
  int w[64];
  size_t na = m->naxes < 64 ? m->naxes : 64;
  for (size_t i = 0; i < na; i++) { /* each axis column: its key or its widest value */
    w[i] = (int)strlen(m->axes[i].key);
    for (size_t j = 0; j < m->axes[i].n; j++)
      if ((int)strlen(m->axes[i].vals[j]) > w[i]) w[i] = (int)strlen(m->axes[i].vals[j]);
  }
  if (m->nmetrics)
    printf("(each statistic: the median over the seeds [min..max]; \"no value\": the event never "
           "happened or nothing was sampled)\n");
  for (size_t v = 0; v < s->nvariants; v++) {
    if (o->variant && strcmp(o->variant, s->variants[v].name)) continue;
    const scn_sweep_run_t *first_worst = NULL;
    printf("\nvariant %s\n ", s->variants[v].name);
    for (size_t i = 0; i < na; i++) printf(" %-*s", w[i], m->axes[i].key);
    printf("  %9s", "held");
    for (size_t k = 0; k < m->nmetrics; k++)
      printf("  %-*s", (int)strlen(m->specs[k]) + 19, m->specs[k]);
    printf("  %s\n", "first failing seed");
    for (size_t c = 0; c < m->ncells; c++) {
      cli_cell_stat_t cs;
      char held[32];
      cli_map_cell(res, c, v, &cs);
      if (!cs.runs) continue;
      printf(" ");
      for (size_t i = 0; i < na; i++) printf(" %-*s", w[i], cell_val(m, c, i));
      snprintf(held, sizeof held, "%" PRIu64 "/%" PRIu64, cs.held, cs.runs);
      printf("  %9s", held);
      for (size_t k = 0; k < m->nmetrics; k++) {
        double med, lo, hi;
        size_t none, nv = cli_map_values(res, c, v, k, &med, &lo, &hi, &none);
        char a[48], b[48], d[48], cellt[200];
        if (!nv) {
          snprintf(cellt, sizeof cellt, "no value in %zu", none); /* never, or no sample */
        } else {
          cli_map_fmt(m, k, med, a, sizeof a);
          cli_map_fmt(m, k, lo, b, sizeof b);
          cli_map_fmt(m, k, hi, d, sizeof d);
          snprintf(cellt, sizeof cellt, "%s [%s..%s]", a, b, d);
          if (none)
            snprintf(cellt + strlen(cellt), sizeof cellt - strlen(cellt), " +%zu no value", none);
        }
        printf("  %-*s", (int)strlen(m->specs[k]) + 19, cellt);
      }
      if (cs.worst) printf("  %" PRIu64 "\n", cs.worst->seed);
      else printf("  -\n");
      if (cs.worst && !first_worst) first_worst = cs.worst;
      if (cs.worst && !strcmp(s->variants[v].name, "with_fix")) status = 1;
    }
    if (first_worst) {
      char cmd[4096];
      cli_map_replay_cmd(m, o, file, first_worst, cmd, sizeof cmd);
      printf("  replay the first cell's first failing seed: %s\n", cmd);
    }
  }
  return status;
}

/* ---- --csv: one row per cell ---------------------------------------------------------------- */
static void csv_str(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void csv_num(FILE *f, double v) {
  if (isnan(v)) return; /* an empty field: no value */
  fprintf(f, "%.10g", v);
}

int cli_map_csv(const char *path, const cli_map_t *m, const scn_sweep_opts_t *o,
                const scn_sweep_res_t *res, const char *file) {
  cli_outfile_t out;
  const scn_scenario_t *s = m->cells[0];
  if (cli_out_open(&out, path)) return 2;
  for (size_t i = 0; i < m->naxes; i++) {
    csv_str(out.f, m->axes[i].key);
    fputc(',', out.f);
  }
  fputs("variant,runs,held,fraction_held", out.f);
  for (size_t k = 0; k < m->nmetrics; k++)
    fprintf(out.f, ",%s.median,%s.min,%s.max,%s.none", m->specs[k], m->specs[k], m->specs[k],
            m->specs[k]);
  fputs(",worst_seed,replay\n", out.f);
  for (size_t c = 0; c < m->ncells; c++)
    for (size_t v = 0; v < s->nvariants; v++) {
      cli_cell_stat_t cs;
      cli_map_cell(res, c, v, &cs);
      if (!cs.runs) continue;
      for (size_t i = 0; i < m->naxes; i++) {
        csv_str(out.f, cell_val(m, c, i));
        fputc(',', out.f);
      }
      csv_str(out.f, s->variants[v].name);
      fprintf(out.f, ",%" PRIu64 ",%" PRIu64 ",%.6f", cs.runs, cs.held,
              (double)cs.held / (double)cs.runs);
      for (size_t k = 0; k < m->nmetrics; k++) {
        double med, lo, hi;
        size_t none;
        cli_map_values(res, c, v, k, &med, &lo, &hi, &none);
        fputc(',', out.f);
        csv_num(out.f, med);
        fputc(',', out.f);
        csv_num(out.f, lo);
        fputc(',', out.f);
        csv_num(out.f, hi);
        fprintf(out.f, ",%zu", none);
      }
      if (cs.worst) {
        char cmd[4096];
        cli_map_replay_cmd(m, o, file, cs.worst, cmd, sizeof cmd);
        fprintf(out.f, ",%" PRIu64 ",", cs.worst->seed);
        csv_str(out.f, cmd);
      } else {
        fputs(",,", out.f);
      }
      fputc('\n', out.f);
    }
  if (res->interrupted) cli_out_mark_incomplete(&out, 1);
  return cli_out_close(&out, 1) ? 2 : 0;
}

const char *cli_num_exact(double x, char *buf, size_t n) {
  for (int prec = 10; prec <= 17; prec++) { /* short, unless more digits are needed */
    snprintf(buf, n, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) break;
  }
  return buf;
}

void cli_map_jsonl_fields(FILE *f, const cli_map_t *m, const scn_sweep_opts_t *o, const char *file,
                          const scn_sweep_run_t *r) {
  char cmd[4096], num[40];
  if (m->naxes) {
    fputs(",\"cell\":{", f);
    for (size_t i = 0; i < m->naxes; i++) {
      if (i) fputc(',', f);
      cli_json_str(f, m->axes[i].key);
      fputc(':', f);
      cli_json_str(f, cell_val(m, r->cell, i));
    }
    fputc('}', f);
  }
  if (m->nmetrics) {
    fputs(",\"values\":{", f);
    for (size_t k = 0; k < m->nmetrics; k++) {
      double x = r->values ? r->values[k] : NAN;
      if (k) fputc(',', f);
      cli_json_str(f, m->specs[k]);
      if (isnan(x)) fputs(":null", f);
      else fprintf(f, ":%s", cli_num_exact(x, num, sizeof num));
    }
    fputc('}', f);
  }
  cli_map_replay_cmd(m, o, file, r, cmd, sizeof cmd);
  fputs(",\"replay\":", f);
  cli_json_str(f, cmd);
}
