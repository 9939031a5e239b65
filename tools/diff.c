/*
 * storesim diff A B: what changed between two runs.
 *
 * A and B are each a run's JSON output (`storesim run --json`, one object per
 * scenario) or a scenario file, run on the spot with the command's options
 * (--set, --seed, ... for both sides; --a-set, --b-set, --a-seed, --b-seed
 * for one). Scenarios are matched by id (two files of one scenario each are
 * matched whatever their ids), variants by name, expectations by their text.
 *
 * One comparison pass makes a list of changes (diff_change_t): the verdict,
 * a variant's run status, its trace hash, each expectation whose outcome
 * changed, each metric statistic that moved beyond the tolerance (--rel,
 * --abs: |a-b| <= abs or <= rel*max(|a|,|b|) is the same), what one side has
 * and the other lacks, and the first trace record where two variants' traces
 * part (when both traces are at hand: runs made here, or --trace-a/--trace-b
 * next to JSON outputs). The text and the --json renderings print that list.
 *
 * Exit status: 0 the same, 1 different (CI pins the fix logic's behaviour
 * with it), 2 usage or input error, 3 internal error, 130 interrupted.
 * JSON is read with jansson (Debian's libjansson-dev).
 */
/* open_memstream and getline: _GNU_SOURCE comes from the build */
#include <ctype.h>
#include <errno.h>
#include <csv.h>
#include <jansson.h>
#include <strings.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim_cli.h"

/* ---- options ---------------------------------------------------------------------------------- */
typedef struct diff_args {
  cli_run_args_t c; /* first: the shared rows (--variant, --seed, ...) have its offsets */
  cli_list_t aset, bset;
  scn_run_opts_t aseed, bseed; /* only seed and have_seed are used */
  double rel, abs;
  int ignore_hash, verbose, json;
  const char *trace_a, *trace_b;
} diff_args_t;

#define DIFF_OFF(field) offsetof(diff_args_t, field)

static int parse_tol(const char *val, void *target, char *why, size_t nwhy) {
  char *end;
  errno = 0;
  double d = strtod(val, &end);
  if (!*val || *end || errno || !isfinite(d) || d < 0) {
    snprintf(why, nwhy, "expected a number >= 0");
    return -1;
  }
  *(double *)target = d;
  return 0;
}

static int parse_side_seed(const char *val, void *target, char *why, size_t nwhy) {
  scn_run_opts_t *r = target;
  if (cli_parse_u64(val, 0, UINT64_MAX, &r->seed, why, nwhy)) return -1;
  r->have_seed = 1;
  return 0;
}

static const cli_opt_t opt_rel = {
    .name = "rel",
    .arg = "X",
    .help = "relative tolerance of a metric statistic: a and b are the same when |a-b| <= "
            "X*max(|a|,|b|) (default 0)",
    .type = CLI_FN,
    .parse = parse_tol,
    .off = DIFF_OFF(rel)};
static const cli_opt_t opt_abs = {
    .name = "abs",
    .arg = "X",
    .help =
        "absolute tolerance, in the metric's unit as the JSON output gives it: the same when |a-b| "
        "<= X (default 0)",
    .type = CLI_FN,
    .parse = parse_tol,
    .off = DIFF_OFF(abs)};
static const cli_opt_t opt_ignore_hash = {
    .name = "ignore-hash",
    .help = "report differing trace hashes but do not count them: compare outcomes only "
            "(verdicts, expectations, run status, metrics within the tolerance)",
    .type = CLI_FLAG,
    .off = DIFF_OFF(ignore_hash)};
static const cli_opt_t opt_aset = {.name = "a-set",
                                   .arg = "KEY=VALUE",
                                   .help = "like --set, for a scenario file A only (repeatable)",
                                   .type = CLI_LIST,
                                   .off = DIFF_OFF(aset)};
static const cli_opt_t opt_bset = {.name = "b-set",
                                   .arg = "KEY=VALUE",
                                   .help = "like --set, for a scenario file B only (repeatable)",
                                   .type = CLI_LIST,
                                   .off = DIFF_OFF(bset)};
static const cli_opt_t opt_aseed = {.name = "a-seed",
                                    .arg = "N",
                                    .help = "root seed of A's run (a scenario file)",
                                    .type = CLI_FN,
                                    .parse = parse_side_seed,
                                    .off = DIFF_OFF(aseed)};
static const cli_opt_t opt_bseed = {.name = "b-seed",
                                    .arg = "N",
                                    .help = "root seed of B's run (a scenario file)",
                                    .type = CLI_FN,
                                    .parse = parse_side_seed,
                                    .off = DIFF_OFF(bseed)};
static const cli_opt_t opt_trace_a = {
    .name = "trace-a",
    .arg = "FILE",
    .help = "A's trace (`run --trace FILE`, JSON Lines), to find the first record where the "
            "traces part",
    .type = CLI_STR,
    .off = DIFF_OFF(trace_a)};
static const cli_opt_t opt_trace_b = {.name = "trace-b",
                                      .arg = "FILE",
                                      .help = "B's trace, as --trace-a",
                                      .type = CLI_STR,
                                      .off = DIFF_OFF(trace_b)};
static const cli_opt_t opt_verbose = {
    .name = "verbose",
    .abbr = 'v',
    .help = "every changed metric statistic (default: the first 12 of each variant)",
    .type = CLI_FLAG,
    .off = DIFF_OFF(verbose)};
static const cli_opt_t opt_json = {
    .name = "json",
    .help = "the changes as one JSON object on stdout: {\"same\":..., \"changes\":[...]}",
    .type = CLI_FLAG,
    .off = DIFF_OFF(json)};

static void diff_init(void *p) {
  diff_args_t *a = p;
  cli_run_args_init(&a->c);
}

static int cmd_diff(void *opts, char **args, size_t nargs);

const cli_cmd_t cli_cmd_diff = {
    .name = "diff",
    .args = "A B",
    .summary = "compare two runs: trace hashes, verdicts, expectations, metrics, the first "
               "diverging trace record",
    .about =
        "Compares two runs. A and B are each the JSON output of `storesim run --json` (one "
        "object per scenario) or a scenario file, which is run here with the options given "
        "(--set, --seed, --sched, --duration and --variant for both; --a-set, --b-set, "
        "--a-seed, --b-seed for one side). Scenarios are matched by id, variants by name, "
        "expectations by their text.\n"
        "\n"
        "It prints, per scenario and variant: the verdict and run status when they changed, "
        "the trace hashes when they differ, each expectation whose outcome changed, each "
        "metric statistic that moved beyond the tolerance (--rel, --abs), metrics, variants "
        "and scenarios only one side has, and the first trace record where the two traces "
        "part, when both traces are at hand (runs made here, or --trace-a and --trace-b with "
        "JSON inputs). The last line says same or different.\n"
        "\n"
        "Examples:\n"
        "  storesim diff old.json new.json                 # pin a run in CI\n"
        "  storesim diff scenarios/kb924567.yaml scenarios/kb924567.yaml --b-set store.tasks=64\n"
        "  storesim diff a.json b.json --ignore-hash --rel 0.05",
    .opts =
        (const cli_opt_t *const[]){&opt_rel, &opt_abs, &opt_ignore_hash, &cli_opt_variant,
                                   &cli_opt_seed, &cli_opt_sched, &cli_opt_duration, &cli_opt_set,
                                   &opt_aset, &opt_bset, &opt_aseed, &opt_bseed, &opt_trace_a,
                                   &opt_trace_b, &opt_json, &opt_verbose, &cli_opt_jobs, NULL},
    .notes = "Differences that count: a verdict, a run status (complete, hang, error), an "
             "expectation's outcome, a metric statistic beyond the tolerance, something only one "
             "side has, and, unless --ignore-hash, a trace hash. The default tolerance is 0: "
             "the virtual backend is deterministic, so the same build, scenario and seed give "
             "identical numbers.",
    .exit = "0 the same, 1 different, 2 usage or input error, 3 internal error, 130 "
            "interrupted",
    .min_args = 2,
    .max_args = 2,
    .size = sizeof(diff_args_t),
    .init = diff_init,
    .run = cmd_diff};

/* ---- one side: its runs (JSON objects) and its trace ------------------------------------------- */
typedef struct side {
  const char *path;
  char label; /* 'A' or 'B' */
  json_t **runs;
  size_t nruns;
  FILE *trace; /* NULL: none at hand */
  int own_trace;
  char how[512]; /* "run here, seed 7, store.tasks=64", or "" for a JSON output */
} side_t;

static int side_add(side_t *s, json_t *run) {
  json_t **t = realloc(s->runs, (s->nruns + 1) * sizeof *t);
  if (!t) return -1;
  s->runs = t;
  s->runs[s->nruns++] = run;
  return 0;
}

static void side_free(side_t *s) {
  for (size_t i = 0; i < s->nruns; i++) json_decref(s->runs[i]);
  free(s->runs);
  if (s->trace && s->own_trace) fclose(s->trace);
}

static int is_scenario_path(const char *p) {
  size_t n = strlen(p);
  return (n > 5 && !strcmp(p + n - 5, ".yaml")) || (n > 4 && !strcmp(p + n - 4, ".yml"));
}

/* Every JSON object of text (run --json: one per scenario, one per line). */
static int parse_runs(side_t *s, const char *text, size_t len, const char *name) {
  size_t off = 0, line = 1;
  for (;;) {
    while (off < len && isspace((unsigned char)text[off])) line += text[off++] == '\n';
    if (off >= len) break;
    json_error_t e;
    json_t *j = json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK, &e);
    if (!j) {
      fprintf(stderr, "%s:%zu:%d: error: not JSON: %s\n", name, line + (size_t)e.line - 1,
              e.column > 0 ? e.column : 1, e.text);
      return -1;
    }
    json_t *fv = json_object_get(j, "format_version");
    if (!json_is_object(j) || !json_is_object(json_object_get(j, "scenario")) ||
        !json_is_array(json_object_get(j, "variants"))) {
      fprintf(stderr, "%s:%zu:1: error: not the output of `storesim run --json`\n", name, line);
      json_decref(j);
      return -1;
    }
    if (!json_is_integer(fv) || json_integer_value(fv) != atoi(CLI_JSON_FORMAT_VERSION)) {
      fprintf(stderr,
              "%s:%zu:1: error: JSON format_version %s; this storesim reads %s (run the "
              "scenario again with this storesim)\n",
              name, line, json_is_integer(fv) ? "is another" : "is missing",
              CLI_JSON_FORMAT_VERSION);
      json_decref(j);
      return -1;
    }
    for (size_t k = 0; k < (size_t)e.position; k++) line += text[off + k] == '\n';
    off += e.position;
    if (side_add(s, j)) {
      json_decref(j);
      return -2;
    }
  }
  if (!s->nruns) {
    fprintf(stderr, "%s: error: no run in this file (expected `storesim run --json` output)\n",
            name);
    return -1;
  }
  return 0;
}

/* A JSON output file (or "-"). Returns 0, or an exit status having said why. */
static int side_read_json(side_t *s) {
  size_t len = 0;
  char *text = cli_read_file(s->path, &len);
  if (!text) return EXIT_USAGE; /* it said why */
  int rc = parse_runs(s, text, len, strcmp(s->path, "-") ? s->path : "<stdin>");
  free(text);
  return rc == -2 ? EXIT_INTERNAL : rc ? EXIT_USAGE : EXIT_OK;
}

/* A scenario file run here, its JSON output kept in memory, its trace in a
 * temporary file. */
static int side_run(side_t *s, const diff_args_t *a, const cli_list_t *sets,
                    const scn_run_opts_t *seed) {
  const char **v = calloc(a->c.sets.n + sets->n + 1, sizeof *v);
  if (!v) return EXIT_INTERNAL;
  if (a->c.sets.n) memcpy(v, a->c.sets.v, a->c.sets.n * sizeof *v); /* NULL when none */
  if (sets->n) memcpy(v + a->c.sets.n, sets->v, sets->n * sizeof *v);
  scn_load_opts_t lo = {v, a->c.sets.n + sets->n};
  scn_diag_t diag;
  scn_scenario_t *sc = NULL;
  scn_diag_init(&diag);
  int lrc = scn_load(s->path, &lo, &sc, &diag);
  free(v);
  if (lrc) {
    fputs(diag.text ? diag.text : "", stderr);
    scn_diag_free(&diag);
    return lrc == SIM_ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
  }
  scn_diag_free(&diag);
  scn_run_opts_t ro = a->c.run;
  if (seed->have_seed) ro.seed = seed->seed, ro.have_seed = 1;
  size_t o = (size_t)snprintf(s->how, sizeof s->how, " (run here");
  if (ro.have_seed && o < sizeof s->how)
    o +=
        (size_t)snprintf(s->how + o, sizeof s->how - o, ", seed %llu", (unsigned long long)ro.seed);
  for (size_t i = 0; i < sets->n && o < sizeof s->how; i++)
    o += (size_t)snprintf(s->how + o, sizeof s->how - o, ", %s", sets->v[i]);
  if (o < sizeof s->how) snprintf(s->how + o, sizeof s->how - o, ")");
  s->trace = tmpfile();
  s->own_trace = 1;
  ro.trace = s->trace; /* may be NULL: no temporary file, no trace comparison */
  scn_result_t *r = scn_run(sc, &ro);
  if (!r) {
    scn_scenario_free(sc);
    return EXIT_INTERNAL;
  }
  if (r->diag.text) fputs(r->diag.text, stderr);
  char *buf = NULL;
  size_t len = 0;
  FILE *ms = open_memstream(&buf, &len);
  int rc = EXIT_INTERNAL;
  if (ms) {
    cli_print_json(ms, r);
    if (!fclose(ms)) rc = parse_runs(s, buf, len, s->path) ? EXIT_INTERNAL : EXIT_OK;
  }
  free(buf);
  if (r->interrupted) rc = EXIT_INTR;
  scn_result_free(r);
  scn_scenario_free(sc);
  if (s->trace && (fflush(s->trace) || ferror(s->trace))) { /* a full /tmp: no comparison */
    fclose(s->trace);
    s->trace = NULL;
  }
  return rc;
}

/* ---- the changes -------------------------------------------------------------------------------- */
typedef enum {
  CH_ONLY,    /* a scenario, variant or metric only one side has */
  CH_VERDICT, /* the scenario's verdict */
  CH_STATUS,  /* a variant's run status (complete, hang, error) */
  CH_HASH,    /* a variant's trace hash */
  CH_EXPECT,  /* an expectation's outcome */
  CH_METRIC,  /* a metric statistic beyond the tolerance */
  CH_TRACE,   /* the first trace record where the traces part */
  CH_INFO,    /* said, not counted (a hash difference under --ignore-hash) */
} ch_kind_t;

static const char *const ch_names[] = {"only",        "verdict", "status", "trace_hash",
                                       "expectation", "metric",  "trace",  "info"};

typedef struct change {
  ch_kind_t kind;
  char *scenario, *variant, *name; /* name: what changed (metric.stat, expression, ...) */
  char *a, *b;                     /* the two values as text ("" absent) */
  double da, db;                   /* metrics: the numbers (NAN: null) */
  long long record;                /* CH_TRACE: the record's number in the variant */
} change_t;

typedef struct diff {
  change_t *v;
  size_t n, cap;
  const diff_args_t *a;
  int oom;
  size_t nscen, nvar, nsame_hash;
} diff_t;

static char *xstrdup(diff_t *d, const char *s) {
  char *p = strdup(s ? s : "");
  if (!p) d->oom = 1;
  return p;
}

static change_t *add(diff_t *d, ch_kind_t k, const char *scen, const char *var, const char *name,
                     const char *a, const char *b) {
  if (d->n == d->cap) {
    size_t nc = d->cap ? d->cap * 2 : 32;
    change_t *t = realloc(d->v, nc * sizeof *t);
    if (!t) {
      d->oom = 1;
      return NULL;
    }
    d->v = t;
    d->cap = nc;
  }
  change_t *c = &d->v[d->n++];
  *c = (change_t){.kind = k, .da = NAN, .db = NAN, .record = -1};
  c->scenario = xstrdup(d, scen);
  c->variant = xstrdup(d, var);
  c->name = xstrdup(d, name);
  c->a = xstrdup(d, a);
  c->b = xstrdup(d, b);
  return c;
}

static void diff_free(diff_t *d) {
  for (size_t i = 0; i < d->n; i++) {
    change_t *c = &d->v[i];
    free(c->scenario), free(c->variant), free(c->name), free(c->a), free(c->b);
  }
  free(d->v);
}

static const char *jstr(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

/* A JSON value as short text: true, 12, 0.25, "text", null. */
static void jtext(json_t *v, char *buf, size_t n) {
  if (!v) snprintf(buf, n, "absent");
  else if (json_is_string(v)) snprintf(buf, n, "%s", json_string_value(v));
  else if (json_is_integer(v)) snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_real(v)) snprintf(buf, n, "%.10g", json_real_value(v));
  else if (json_is_true(v)) snprintf(buf, n, "true");
  else if (json_is_false(v)) snprintf(buf, n, "false");
  else if (json_is_null(v)) snprintf(buf, n, "null");
  else {
    char *s = json_dumps(v, JSON_COMPACT);
    snprintf(buf, n, "%s", s ? s : "?");
    free(s);
  }
}

static json_t *find_by(json_t *arr, const char *key, const char *val) {
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) if (!strcmp(jstr(e, key), val)) return e;
  return NULL;
}

static int beyond(const diff_args_t *a, double x, double y) {
  if (isnan(x) || isnan(y)) return isnan(x) != isnan(y);
  double d = fabs(x - y), m = fmax(fabs(x), fabs(y));
  return !(d <= a->abs || d <= a->rel * m);
}

static void cmp_metrics(diff_t *d, const char *scen, const char *var, json_t *ma, json_t *mb) {
  const char *key;
  json_t *va;
  json_object_foreach(ma, key, va) {
    json_t *vb = json_object_get(mb, key);
    if (!vb) {
      add(d, CH_ONLY, scen, var, key, "metric", "");
      continue;
    }
    const char *unit = jstr(va, "unit");
    const char *stat;
    json_t *sa;
    json_object_foreach(va, stat, sa) {
      if (!strcmp(stat, "kind") || !strcmp(stat, "unit")) continue;
      json_t *sb = json_object_get(vb, stat);
      char name[256], ta[64], tb[64];
      snprintf(name, sizeof name, "%s.%s", key, stat);
      int na = json_is_number(sa), nb = json_is_number(sb);
      double xa = na ? json_number_value(sa) : NAN, xb = nb ? json_number_value(sb) : NAN;
      if ((na || json_is_null(sa)) && (nb || json_is_null(sb))) {
        if (!beyond(d->a, xa, xb)) continue;
      } else if (json_equal(sa, sb)) {
        continue;
      }
      jtext(sa, ta, sizeof ta);
      jtext(sb, tb, sizeof tb);
      if (na) snprintf(ta, sizeof ta, "%.6g", xa);
      if (nb) snprintf(tb, sizeof tb, "%.6g", xb);
      if (*unit && strcmp(stat, "count")) { /* a count is of samples, whatever the unit */
        if (na) snprintf(ta + strlen(ta), sizeof ta - strlen(ta), " %s", unit);
        if (nb) snprintf(tb + strlen(tb), sizeof tb - strlen(tb), " %s", unit);
      }
      change_t *c = add(d, CH_METRIC, scen, var, name, ta, tb);
      if (c) c->da = xa, c->db = xb;
    }
  }
  json_object_foreach(mb, key, va) if (!json_object_get(ma, key))
      add(d, CH_ONLY, scen, var, key, "", "metric");
}

static void cmp_expects(diff_t *d, const char *scen, const char *var, json_t *ea, json_t *eb) {
  size_t i;
  json_t *x;
  json_array_foreach(ea, i, x) {
    const char *expr = jstr(x, "expression");
    json_t *y = find_by(eb, "expression", expr);
    if (!y) {
      add(d, CH_ONLY, scen, var, expr, "expectation", "");
      continue;
    }
    if (!strcmp(jstr(x, "status"), jstr(y, "status"))) continue;
    char ta[200], tb[200];
    snprintf(ta, sizeof ta, "%s (%s)", jstr(x, "status"), jstr(x, "detail"));
    snprintf(tb, sizeof tb, "%s (%s)", jstr(y, "status"), jstr(y, "detail"));
    add(d, CH_EXPECT, scen, var, expr, ta, tb);
  }
  json_array_foreach(eb, i, x) if (!find_by(ea, "expression", jstr(x, "expression")))
      add(d, CH_ONLY, scen, var, jstr(x, "expression"), "", "expectation");
}

static void cmp_status(diff_t *d, const char *scen, const char *var, json_t *va, json_t *vb) {
  static const char *const keys[] = {"ran", "complete", "hang", "error", "end_time_s"};
  for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
    json_t *x = json_object_get(va, keys[k]), *y = json_object_get(vb, keys[k]);
    if (json_equal(x, y) || (!x && !y)) continue;
    char ta[200], tb[200];
    jtext(x, ta, sizeof ta);
    jtext(y, tb, sizeof tb);
    add(d, CH_STATUS, scen, var, keys[k], ta, tb);
  }
}

/* ---- traces: the first record where two variants' traces part ---------------------------------- */
/* Where each (run, variant) header line of a trace is followed by its records. */
typedef struct tindex {
  char **run, **variant;
  long *off;
  size_t n;
} tindex_t;

static void tindex_free(tindex_t *t) {
  for (size_t i = 0; i < t->n; i++) free(t->run[i]), free(t->variant[i]);
  free(t->run), free(t->variant), free(t->off);
  memset(t, 0, sizeof *t);
}

static int is_header(const char *line) { return !strncmp(line, "{\"run\":", 7); }

static int tindex_build(FILE *f, tindex_t *t) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  rewind(f);
  while ((len = getline(&line, &cap, f)) > 0) {
    if (!is_header(line)) continue;
    json_t *h = json_loads(line, 0, NULL);
    if (!h) continue;
    size_t n = t->n + 1;
    char **r = realloc(t->run, n * sizeof *r), **v = r ? realloc(t->variant, n * sizeof *v) : NULL;
    if (r) t->run = r;
    if (v) t->variant = v;
    long *o = v ? realloc(t->off, n * sizeof *o) : NULL;
    if (!o) {
      json_decref(h);
      free(line);
      return -1;
    }
    t->off = o;
    t->run[t->n] = strdup(jstr(h, "run"));
    t->variant[t->n] = strdup(jstr(h, "variant"));
    t->off[t->n] = ftell(f);
    t->n++;
    json_decref(h);
  }
  free(line);
  return 0;
}

static long tindex_find(const tindex_t *t, const char *run, const char *var) {
  for (size_t i = 0; i < t->n; i++)
    if (t->run[i] && t->variant[i] && !strcmp(t->run[i], run) && !strcmp(t->variant[i], var))
      return t->off[i];
  return -1;
}

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
}

/* Reads the variant's next record into *line; 0 at its end (EOF or the next header). */
static int next_record(FILE *f, char **line, size_t *cap) {
  ssize_t len = getline(line, cap, f);
  if (len <= 0 || is_header(*line)) return 0;
  chomp(*line);
  return 1;
}

static void cmp_trace(diff_t *d, const char *scen, const char *var, FILE *fa, FILE *fb,
                      const tindex_t *ia, const tindex_t *ib) {
  long oa = tindex_find(ia, scen, var), ob = tindex_find(ib, scen, var);
  if (oa < 0 || ob < 0 || fseek(fa, oa, SEEK_SET) || fseek(fb, ob, SEEK_SET)) return;
  char *la = NULL, *lb = NULL;
  size_t ca = 0, cb = 0;
  long long rec = 0;
  for (;;) {
    int ga = next_record(fa, &la, &ca), gb = next_record(fb, &lb, &cb);
    rec++;
    if (!ga && !gb) break;
    if (ga && gb && !strcmp(la, lb)) continue;
    change_t *c = add(d, CH_TRACE, scen, var, "first diverging record", ga ? la : "(end of trace)",
                      gb ? lb : "(end of trace)");
    if (c) c->record = rec;
    break;
  }
  free(la);
  free(lb);
}

/* ---- scenarios and variants -------------------------------------------------------------------- */
typedef struct traces {
  FILE *fa, *fb;
  tindex_t ia, ib;
} traces_t;

static void cmp_variant(diff_t *d, const char *scen, json_t *va, json_t *vb, traces_t *tr) {
  const char *var = jstr(va, "name");
  d->nvar++;
  cmp_status(d, scen, var, va, vb);
  const char *ha = jstr(va, "trace_hash"), *hb = jstr(vb, "trace_hash");
  if (strcmp(ha, hb))
    add(d, d->a->ignore_hash ? CH_INFO : CH_HASH, scen, var, "trace hash", ha, hb);
  else d->nsame_hash++;
  if (strcmp(ha, hb) && tr->fa && tr->fb) cmp_trace(d, scen, var, tr->fa, tr->fb, &tr->ia, &tr->ib);
  cmp_expects(d, scen, var, json_object_get(va, "expectations"),
              json_object_get(vb, "expectations"));
  cmp_metrics(d, scen, var, json_object_get(va, "metrics"), json_object_get(vb, "metrics"));
}

static void cmp_scenario(diff_t *d, json_t *ra, json_t *rb, traces_t *tr) {
  const char *scen = jstr(json_object_get(ra, "scenario"), "id");
  d->nscen++;
  const char *ta = jstr(json_object_get(ra, "verdict"), "text");
  const char *tb = jstr(json_object_get(rb, "verdict"), "text");
  if (strcmp(ta, tb)) add(d, CH_VERDICT, scen, "", "verdict", ta, tb);
  json_t *xa = json_object_get(ra, "variants"), *xb = json_object_get(rb, "variants");
  size_t i;
  json_t *va;
  json_array_foreach(xa, i, va) {
    json_t *vb = find_by(xb, "name", jstr(va, "name"));
    if (vb) cmp_variant(d, scen, va, vb, tr);
    else add(d, CH_ONLY, scen, jstr(va, "name"), "variant", "variant", "");
  }
  json_array_foreach(xb, i, va) if (!find_by(xa, "name", jstr(va, "name")))
      add(d, CH_ONLY, scen, jstr(va, "name"), "variant", "", "variant");
}

static json_t *find_run(const side_t *s, const char *id) {
  for (size_t i = 0; i < s->nruns; i++)
    if (!strcmp(jstr(json_object_get(s->runs[i], "scenario"), "id"), id)) return s->runs[i];
  return NULL;
}

static void cmp_sides(diff_t *d, const side_t *a, const side_t *b, traces_t *tr) {
  if (a->nruns == 1 && b->nruns == 1) { /* one each: compared whatever their ids */
    cmp_scenario(d, a->runs[0], b->runs[0], tr);
    return;
  }
  for (size_t i = 0; i < a->nruns; i++) {
    const char *id = jstr(json_object_get(a->runs[i], "scenario"), "id");
    json_t *rb = find_run(b, id);
    if (rb) cmp_scenario(d, a->runs[i], rb, tr);
    else add(d, CH_ONLY, id, "", "scenario", "scenario", "");
  }
  for (size_t i = 0; i < b->nruns; i++) {
    const char *id = jstr(json_object_get(b->runs[i], "scenario"), "id");
    if (!find_run(a, id)) add(d, CH_ONLY, id, "", "scenario", "", "scenario");
  }
}

/* ---- renderings ---------------------------------------------------------------------------------- */
static size_t counted(const diff_t *d) {
  size_t n = 0;
  for (size_t i = 0; i < d->n; i++) n += d->v[i].kind != CH_INFO && d->v[i].kind != CH_TRACE;
  return n;
}

/* One record of a trace, cut to fit a line. */
static void print_record(const char *tag, const char *rec) {
  size_t n = strlen(rec);
  printf("      %s %.*s%s\n", tag, n > 200 ? 200 : (int)n, rec, n > 200 ? "..." : "");
}

static void print_text(const diff_t *d, const side_t *a, const side_t *b) {
  const char *scen = NULL, *var = NULL;
  size_t shown = 0, hidden = 0;
  printf("A: %s%s\nB: %s%s\n", a->path, a->how, b->path, b->how);
  for (size_t i = 0; i < d->n; i++) {
    const change_t *c = &d->v[i];
    if (!scen || strcmp(scen, c->scenario)) {
      printf("scenario %s\n", c->scenario);
      scen = c->scenario;
      var = NULL;
    }
    if (*c->variant && (!var || strcmp(var, c->variant))) {
      if (hidden) printf("    ... and %zu more metric statistics (-v lists every one)\n", hidden);
      printf("  variant %s\n", c->variant);
      var = c->variant;
      shown = hidden = 0;
    }
    const char *ind = *c->variant ? "    " : "  ";
    switch (c->kind) {
    case CH_ONLY:
      printf("%s%s %s only in %s\n", ind, *c->a ? c->a : c->b, c->name, *c->a ? "A" : "B");
      break;
    case CH_METRIC:
      if (!d->a->verbose && shown >= 12) {
        hidden++;
        break;
      }
      shown++;
      if (!isnan(c->da) && !isnan(c->db) && c->da != 0)
        printf("%s%s: %s -> %s (%+.3g%%)\n", ind, c->name, c->a, c->b,
               100 * (c->db - c->da) / fabs(c->da));
      else printf("%s%s: %s -> %s\n", ind, c->name, c->a, c->b);
      break;
    case CH_TRACE: {
      char when[64] = "";
      json_t *r = json_loads(c->a, 0, NULL);
      if (!r) r = json_loads(c->b, 0, NULL);
      if (json_is_integer(json_object_get(r, "t"))) {
        long long t = json_integer_value(json_object_get(r, "t"));
        long long sec = t / 1000000000;
        snprintf(when, sizeof when, " (virtual time %lld:%02lld:%02lld.%09lld)", sec / 3600,
                 sec / 60 % 60, sec % 60, t % 1000000000);
      }
      json_decref(r);
      printf("%straces part at record %lld of the variant%s:\n", ind, c->record, when);
      print_record("A:", c->a);
      print_record("B:", c->b);
      break;
    }
    case CH_INFO:
      printf("%s%s: %s -> %s (not counted: --ignore-hash)\n", ind, c->name, c->a, c->b);
      break;
    case CH_EXPECT: printf("%sexpectation %s: %s -> %s\n", ind, c->name, c->a, c->b); break;
    default: printf("%s%s: %s -> %s\n", ind, c->name, c->a, c->b);
    }
  }
  if (hidden) printf("    ... and %zu more metric statistics (-v lists every one)\n", hidden);
  size_t n = counted(d);
  if (!n)
    printf("same: %zu scenario%s, %zu variant%s%s\n", d->nscen, cli_s(d->nscen), d->nvar,
           cli_s(d->nvar),
           d->nsame_hash == d->nvar ? ", identical trace hashes" : ", outcomes within tolerance");
  else printf("different: %zu difference%s\n", n, cli_s(n));
}

static int print_json(const diff_t *d, const side_t *a, const side_t *b) {
  json_t *o = json_object(), *arr = json_array();
  if (!o || !arr) return -1;
  json_object_set_new(o, "format_version", json_integer(1));
  json_object_set_new(o, "a", json_string(a->path));
  json_object_set_new(o, "b", json_string(b->path));
  json_object_set_new(o, "same", json_boolean(counted(d) == 0));
  json_object_set_new(o, "differences", json_integer((json_int_t)counted(d)));
  for (size_t i = 0; i < d->n; i++) {
    const change_t *c = &d->v[i];
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "kind", ch_names[c->kind],
                          "scenario", c->scenario, "variant", c->variant, "name", c->name, "a",
                          c->a, "b", c->b, "counted", c->kind != CH_INFO && c->kind != CH_TRACE);
    if (!e) continue;
    if (c->kind == CH_METRIC) {
      json_object_set_new(e, "a_value", isnan(c->da) ? json_null() : json_real(c->da));
      json_object_set_new(e, "b_value", isnan(c->db) ? json_null() : json_real(c->db));
    }
    if (c->kind == CH_TRACE) json_object_set_new(e, "record", json_integer(c->record));
    json_array_append_new(arr, e);
  }
  json_object_set_new(o, "changes", arr);
  int rc = json_dumpf(o, stdout, JSON_COMPACT);
  putchar('\n');
  json_decref(o);
  return rc;
}

/* ---- two Performance Monitor CSV logs (a capture and a run's --perfmon) ---------------- */
/* One log: its counters (paths without \\SERVER) and their values by row. */
typedef struct pdh {
  char **names;  /* column j >= 1's counter, without the machine */
  double **vals; /* vals[j][row], NAN: no value */
  size_t ncols, nrows, caprows;
  size_t row, col; /* where the parser is */
  int oom;
  char stamp[64];
} pdh_t;

static void pdh_field(void *f, size_t len, void *data) {
  pdh_t *p = data;
  char *s = f;
  if (p->oom) return;
  if (p->row == 0) { /* the header */
    if (p->col > 0) {
      char **t = realloc(p->names, (p->col + 1) * sizeof *t);
      if (!t) {
        p->oom = 1;
        return;
      }
      p->names = t;
      const char *c = s;
      if (len > 2 && c[0] == '\\' && c[1] == '\\' && memchr(c + 2, '\\', len - 2))
        c = memchr(c + 2, '\\', len - 2);
      p->names[p->col] = strndup(c, len - (size_t)(c - s));
      p->ncols = p->col + 1;
    }
  } else if (p->col > 0 && p->col < p->ncols) {
    if (p->nrows + 1 > p->caprows) {
      size_t nc = p->caprows ? 2 * p->caprows : 256;
      for (size_t j = 1; j < p->ncols; j++) {
        double *t = realloc(p->vals[j], nc * sizeof *t);
        if (!t) {
          p->oom = 1;
          return;
        }
        p->vals[j] = t;
      }
      p->caprows = nc;
    }
    char buf[64], *end;
    snprintf(buf, sizeof buf, "%.*s", (int)(len < 63 ? len : 63), s);
    double x = strtod(buf, &end);
    p->vals[p->col][p->nrows] = end == buf || strspn(end, " ") != strlen(end) ? NAN : x;
  } else if (p->col == 0) {
    snprintf(p->stamp, sizeof p->stamp, "%.*s", (int)(len < 63 ? len : 63), s);
  }
  p->col++;
}

static void pdh_row(int c, void *data) {
  pdh_t *p = data;
  (void)c;
  if (p->oom) return;
  if (p->row == 0) {
    p->vals = calloc(p->ncols ? p->ncols : 1, sizeof *p->vals);
    if (!p->vals) p->oom = 1;
  } else {
    for (size_t j = p->col; j < p->ncols && p->vals && p->nrows < p->caprows; j++)
      p->vals[j][p->nrows] = NAN; /* a short row */
    p->nrows++;
  }
  p->row++;
  p->col = 0;
}

static void pdh_free(pdh_t *p) {
  for (size_t j = 1; j < p->ncols; j++) {
    free(p->names ? p->names[j] : NULL);
    free(p->vals ? p->vals[j] : NULL);
  }
  free(p->names);
  free(p->vals);
}

static int pdh_read(const char *path, pdh_t *p) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(errno));
    return EXIT_USAGE;
  }
  struct csv_parser csv;
  char buf[65536];
  size_t got;
  int bad = 0;
  if (csv_init(&csv, CSV_APPEND_NULL)) {
    fclose(f);
    return EXIT_INTERNAL;
  }
  while (!bad && (got = fread(buf, 1, sizeof buf, f)) > 0) {
    if (!p->row && !p->col && strncmp(buf, "\"(PDH-CSV", 9)) bad = 1;
    else if (csv_parse(&csv, buf, got, pdh_field, pdh_row, p) != got) bad = 2;
  }
  if (!bad) csv_fini(&csv, pdh_field, pdh_row, p);
  csv_free(&csv);
  fclose(f);
  if (p->oom) return EXIT_INTERNAL;
  if (bad || p->ncols < 2 || p->nrows < 1) {
    fprintf(stderr,
            "%s:1:1: error: not a Performance Monitor CSV log (a \"(PDH-CSV 4.0) ...\" header, "
            "counter columns and samples)\n",
            path);
    return EXIT_USAGE;
  }
  return 0;
}

/* Mean and max of a column over its values. */
static size_t col_stats(const pdh_t *p, size_t j, double *mean, double *max) {
  size_t n = 0;
  double sum = 0;
  *max = NAN;
  for (size_t i = 0; i < p->nrows; i++) {
    double x = p->vals[j][i];
    if (isnan(x)) continue;
    sum += x;
    if (isnan(*max) || x > *max) *max = x;
    n++;
  }
  *mean = n ? sum / (double)n : NAN;
  return n;
}

/* Counters both logs have, compared by their mean and peak over the
 * samples. Returns the exit status. */
static int perfmon_diff(const diff_args_t *a, const char *pa, const char *pb) {
  pdh_t A = {0}, B = {0};
  int rc = pdh_read(pa, &A);
  if (!rc) rc = pdh_read(pb, &B);
  if (rc) {
    pdh_free(&A);
    pdh_free(&B);
    return rc;
  }
  size_t ncommon = 0, ndiff = 0;
  json_t *arr = a->json ? json_array() : NULL;
  if (!a->json)
    printf("A: %s (%zu samples)\nB: %s (%zu samples)\n%-52s %12s %12s %8s %12s %12s\n", pa, A.nrows,
           pb, B.nrows, "counter (mean and peak over the samples)", "mean A", "mean B", "diff",
           "peak A", "peak B");
  for (size_t j = 1; j < A.ncols; j++) {
    size_t k = 1;
    while (k < B.ncols && strcasecmp(A.names[j], B.names[k])) k++;
    if (k == B.ncols) continue;
    double ma, xa, mb, xb;
    size_t na = col_stats(&A, j, &ma, &xa), nb = col_stats(&B, k, &mb, &xb);
    if (!na || !nb) continue;
    ncommon++;
    int moved = beyond(a, ma, mb) || beyond(a, xa, xb);
    ndiff += moved;
    if (arr) {
      json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:f, s:f, s:b}", "counter", A.names[j],
                                           "mean_a", ma, "mean_b", mb, "peak_a", xa, "peak_b", xb,
                                           "different", moved));
      continue;
    }
    char d[32] = "";
    if (ma != 0) snprintf(d, sizeof d, "%+.1f%%", 100 * (mb - ma) / fabs(ma));
    printf("%-52s %12.6g %12.6g %8s %12.6g %12.6g%s\n", A.names[j], ma, mb, d, xa, xb,
           moved ? "  *" : "");
  }
  if (arr) {
    json_t *o = json_pack("{s:i, s:s, s:s, s:b, s:I, s:I, s:o}", "format_version", 1, "a", pa, "b",
                          pb, "same", ncommon && !ndiff, "counters", (json_int_t)ncommon,
                          "differences", (json_int_t)ndiff, "changes", arr);
    if (o) json_dumpf(o, stdout, JSON_COMPACT), putchar('\n');
    json_decref(o);
  } else if (!ncommon) {
    printf("no counter in common\n");
  } else if (ndiff) {
    printf("different: %zu of %zu counter%s beyond the tolerance (*)\n", ndiff, ncommon,
           cli_s(ncommon));
  } else {
    printf("same: %zu counter%s within the tolerance\n", ncommon, cli_s(ncommon));
  }
  pdh_free(&A);
  pdh_free(&B);
  return ncommon && !ndiff ? EXIT_OK : EXIT_FAIL;
}

static int is_csv(const char *p) {
  size_t n = strlen(p);
  return n > 4 && !strcasecmp(p + n - 4, ".csv");
}

/* ---- the command --------------------------------------------------------------------------------- */
static int side_load(side_t *s, const diff_args_t *a, const cli_list_t *sets,
                     const scn_run_opts_t *seed, const char *trace) {
  int scen = is_scenario_path(s->path);
  if (!scen && (sets->n || seed->have_seed))
    return cli_usage_error("diff", "--%c-set and --%c-seed need %c to be a scenario file, not %s",
                           s->label + 32, s->label + 32, s->label, s->path);
  if (scen && trace)
    return cli_usage_error("diff", "--trace-%c: %c is a scenario file; its trace is made here",
                           s->label + 32, s->label);
  if (scen) return side_run(s, a, sets, seed);
  if (trace) {
    s->trace = fopen(trace, "r");
    s->own_trace = 1;
    if (!s->trace) {
      fprintf(stderr, "%s: error: cannot read: %s\n", trace, strerror(errno));
      return EXIT_USAGE;
    }
  }
  return side_read_json(s);
}

static int cmd_diff(void *opts, char **args, size_t nargs) {
  diff_args_t *a = opts;
  side_t sa = {.path = args[0], .label = 'A'}, sb = {.path = args[1], .label = 'B'};
  diff_t d = {.a = a};
  traces_t tr = {0};
  int rc;
  (void)nargs;
  if (is_csv(sa.path) || is_csv(sb.path)) {
    if (!is_csv(sa.path) || !is_csv(sb.path))
      return cli_usage_error("diff", "a Performance Monitor log (.csv) is compared with another "
                                     "one (a capture, or a run's --perfmon)");
    return perfmon_diff(a, sa.path, sb.path);
  }
  if (!is_scenario_path(sa.path) && !is_scenario_path(sb.path) &&
      (a->c.sets.n || a->c.run.have_seed || a->c.run.variant || a->c.run.duration ||
       a->c.run.sched.kind != SIM_SCHED_FIFO)) {
    rc = cli_usage_error("diff", "--set, --seed, --sched, --duration and --variant apply to "
                                 "scenario files; A and B are both run outputs");
    goto done;
  }
  if (!!a->trace_a != !!a->trace_b) {
    rc = cli_usage_error("diff", "--trace-a and --trace-b go together");
    goto done;
  }
  scn_interrupt_install();
  if ((rc = side_load(&sa, a, &a->aset, &a->aseed, a->trace_a)) ||
      (rc = side_load(&sb, a, &a->bset, &a->bseed, a->trace_b)))
    goto done;
  tr.fa = sa.trace;
  tr.fb = sb.trace;
  if (tr.fa && tr.fb && (tindex_build(tr.fa, &tr.ia) || tindex_build(tr.fb, &tr.ib))) {
    rc = EXIT_INTERNAL;
    goto done;
  }
  cmp_sides(&d, &sa, &sb, &tr);
  if (d.oom) {
    fputs("storesim diff: out of host memory\n", stderr);
    rc = EXIT_INTERNAL;
    goto done;
  }
  if (a->json) {
    if (print_json(&d, &sa, &sb)) {
      rc = EXIT_INTERNAL;
      goto done;
    }
  } else {
    print_text(&d, &sa, &sb);
  }
  rc = counted(&d) ? EXIT_FAIL : EXIT_OK;
done:
  tindex_free(&tr.ia);
  tindex_free(&tr.ib);
  diff_free(&d);
  side_free(&sa);
  side_free(&sb);
  return rc;
}
