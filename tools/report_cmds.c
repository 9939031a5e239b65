/*
 * storesim command line: report, trace and explain, and the progress line.
 *
 *   storesim report FILE... -o report.html   self-contained HTML page
 *   storesim trace FILE... -o trace.json     Chrome/Perfetto trace events
 *   storesim explain FILE...                 the causal chain in sentences
 *
 * Each runs every variant of each scenario like `storesim run` (same --seed,
 * --sched, --duration, --set, --variant), keeping what its output needs:
 * metric series and, through scn_run_opts_t.world_done, the trace records
 * of each world before it is destroyed. Output files are written to a
 * temporary file beside the target and renamed when whole (tools/outfile.c);
 * an interrupted command leaves the old file as it was.
 *
 * Exit status as for run: 0 ok, 1 an expectation failed (the output is still
 * written), 2 usage, input or output error (including gnuplot or dot missing
 * for report), 3 internal error, 130 interrupted.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report_cli.h"
#include "storesim/report.h"
#include "storesim/scenario.h"
#include "storesim_cli.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3, EXIT_INTR = 130 };

static const char usage_report[] =
    "usage: storesim report [OPTIONS] FILE... -o report.html\n"
    "\n"
    "Runs each scenario's variants and writes one self-contained HTML page (no\n"
    "network needed to open it): per scenario the verdict, every expectation with\n"
    "its measured value, plots of the key metrics with all variants overlaid on one\n"
    "virtual time axis (fault times marked), detector reports with their wait-for\n"
    "graphs, and the explanation (as `storesim explain`). Needs gnuplot and\n"
    "Graphviz dot (Debian: gnuplot-nox graphviz; tools/setup.sh installs them).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the page to write (required)\n"
    "  --dot DIR          also write each wait-for graph (deadlock, hang) as DOT there\n"
    "  --variant NAME, --seed N, --sched POLICY, --duration D, --set KEY=VALUE  as for run\n"
    "\n"
    "exit status: 0 all expectations passed, 1 an expectation failed (the page is\n"
    "             written), 2 usage, input or output error, 3 internal error,\n"
    "             130 interrupted\n";

static const char usage_trace[] =
    "usage: storesim trace [OPTIONS] FILE... -o trace.json\n"
    "\n"
    "Runs each scenario's variants and writes the thread timelines in the Chrome\n"
    "trace event format (open it in https://ui.perfetto.dev or chrome://tracing):\n"
    "one process per variant, one track per simulated thread with spans for\n"
    "running, blocked (on what) and holding each lock, instant events for model\n"
    "events and detector reports, counter tracks for every sampled metric.\n"
    "Timestamps are virtual microseconds.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE      the JSON file to write (required)\n"
    "  --trace-format perfetto  the format (the only one; accepted for symmetry)\n"
    "  --dot DIR              also write each wait-for graph as DOT there\n"
    "  --variant NAME, --seed N, --sched POLICY, --duration D, --set KEY=VALUE  as for run\n";

static const char usage_explain[] =
    "usage: storesim explain [OPTIONS] FILE...\n"
    "\n"
    "Runs each scenario's variants and tells what happened in each, in sentences\n"
    "with virtual timestamps (h:mm:ss): faults, metrics that reached 0 or passed a\n"
    "bound an expectation names, what the threads were waiting on then, model\n"
    "events, long waits, detector reports; and for each other variant, which of\n"
    "the without-fix findings did not happen and what was measured instead. Built\n"
    "from the trace and the metrics, not from per-scenario text.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  write there instead of stdout\n"
    "  --dot DIR          also write each wait-for graph as DOT there\n"
    "  --variant NAME, --seed N, --sched POLICY, --duration D, --set KEY=VALUE  as for run\n";

typedef struct opts {
  scn_run_opts_t run;
  const char **sets;
  size_t nsets;
  const char *output, *dot_dir;
  const char **args;
  size_t nargs;
  int help;
} opts_t;

static int usage_error(const char *cmd, const char *fmt, const char *a) {
  fprintf(stderr, "storesim %s: ", cmd);
  fprintf(stderr, fmt, a);
  fprintf(stderr, "\n(storesim %s --help for usage)\n", cmd);
  return EXIT_USAGE;
}

static int parse(const char *cmd, int argc, char **argv, opts_t *o) {
  char err[300] = "";
  memset(o, 0, sizeof *o);
  o->sets = calloc((size_t)argc + 1, sizeof *o->sets);
  o->args = calloc((size_t)argc + 1, sizeof *o->args);
  if (!o->sets || !o->args) return EXIT_INTERNAL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      o->help = 1;
      continue;
    }
    if (a[0] != '-' || !a[1]) {
      o->args[o->nargs++] = a;
      continue;
    }
    char name[64];
    const char *eq = strchr(a, '='), *val;
    size_t nl = eq ? (size_t)(eq - a) : strlen(a);
    if (nl >= sizeof name) return usage_error(cmd, "unknown option '%s'", a);
    memcpy(name, a, nl);
    name[nl] = 0;
    static const char *const known[] = {"-o",  "--output",   "--dot",         "--variant",
                                        "--seed", "--sched", "--duration", "--set",
                                        "--trace-format"};
    int ok = 0;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= !strcmp(name, known[k]);
    if (!ok || (!strcmp(name, "--trace-format") && strcmp(cmd, "trace")))
      return usage_error(cmd, "unknown option '%s'", name);
    if (eq) val = eq + 1;
    else if (i + 1 < argc) val = argv[++i];
    else return usage_error(cmd, "option '%s' needs a value", name);
    if (!strcmp(name, "-o") || !strcmp(name, "--output")) o->output = val;
    else if (!strcmp(name, "--dot")) o->dot_dir = val;
    else if (!strcmp(name, "--variant")) o->run.variant = val;
    else if (!strcmp(name, "--sched")) {
      if (sim_sched_parse(val, &o->run.sched, err, sizeof err)) return usage_error(cmd, "%s", err);
    } else if (!strcmp(name, "--set")) o->sets[o->nsets++] = val;
    else if (!strcmp(name, "--trace-format")) {
      if (strcmp(val, "perfetto") && strcmp(val, "chrome"))
        return usage_error(cmd, "--trace-format: unknown format '%s' (known: perfetto)", val);
    } else if (!strcmp(name, "--seed")) {
      int64_t v;
      if (scn_parse_int(val, &v, err, sizeof err) || v < 0)
        return usage_error(cmd, "--seed: expected a non-negative integer, got '%s'", val);
      o->run.have_seed = 1;
      o->run.seed = (uint64_t)v;
    } else if (!strcmp(name, "--duration")) {
      if (cli_parse_duration_opt(cmd, val, &o->run.duration)) return EXIT_USAGE;
    }
  }
  return EXIT_OK;
}

static void opts_free(opts_t *o) {
  free(o->sets);
  free(o->args);
}

/* ---- progress ------------------------------------------------------------------------------ */
typedef struct progress {
  const scn_variant_t *v;
  double start, last;
  int shown;
} progress_t;

static progress_t g_progress; /* one display per process: stderr is one terminal */
static double g_progress_delay = 1.0; /* seconds before the line appears */

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *arg, const scn_scenario_t *s, const scn_variant_t *v, sim_time_t now,
                        sim_time_t duration, uint64_t steps, int done) {
  progress_t *p = arg;
  double t = wall();
  if (p->v != v) {
    p->v = v;
    p->start = t;
    p->last = 0;
  }
  if (done) {
    if (p->shown) fputs("\r\033[K", stderr);
    p->shown = 0;
    p->v = NULL;
    return;
  }
  double el = t - p->start;
  if (el < g_progress_delay || (p->shown && t - p->last < 0.2)) return;
  p->last = t;
  char a[48], b[48];
  scn_format_duration(now, a, sizeof a);
  scn_format_duration(duration, b, sizeof b);
  double rate = el > 1e-6 ? (double)steps / el : 0;
  double eta = now > 0 ? el * (double)(duration - now) / (double)now : 0;
  fprintf(stderr, "\r\033[K%s/%s: t=%s of %s (%.0f%%), %.3g events/s, ETA %.0fs", s->id, v->name, a,
          b, duration > 0 ? 100.0 * (double)now / (double)duration : 100.0, rate, eta);
  fflush(stderr);
  p->shown = 1;
}

void cli_progress_attach(scn_run_opts_t *o) {
  if (!isatty(STDERR_FILENO)) return;
  /* STORESIM_PROGRESS_DELAY=SECONDS changes the 1 s threshold (tests use 0) */
  const char *d = getenv("STORESIM_PROGRESS_DELAY");
  if (d && *d) g_progress_delay = atof(d);
  o->progress = on_progress;
  o->progress_arg = &g_progress;
}

/* ---- whole output files ----------------------------------------------------------------------- */
/* An interrupted report, trace or explain -o writes no file. */
static void not_written(const char *cmd, const char *path) {
  fprintf(stderr, "storesim %s: %s: not written (interrupted; an old file is left as it was)\n",
          cmd, path);
}
/* ---- running with the world hook ---------------------------------------------------------------- */
typedef struct hook {
  const scn_scenario_t *s;
  report_facts_t **facts; /* parallel to s->variants, or NULL */
  report_perfetto_t *perf;
  int pid;
  int err; /* 1 out of memory, 2 the trace could not be written (said at close) */
} hook_t;

static void on_world(sim_world_t *w, const scn_variant_t *v, struct scn_variant_res *vr, void *arg) {
  hook_t *h = arg;
  size_t i = (size_t)(v - h->s->variants);
  if (h->facts && i < h->s->nvariants) {
    h->facts[i] = report_facts_collect(w, vr);
    if (!h->facts[i]) h->err = 1;
  }
  if (h->perf) {
    char label[300];
    snprintf(label, sizeof label, "%s / %s", h->s->id, v->name);
    int rc = report_perfetto_world(h->perf, w, ++h->pid, label);
    if (rc && !h->err) h->err = rc == SIM_EIO ? 2 : 1;
  }
}

static int write_dots(const char *dir, const scn_result_t *r) {
  if (!dir) return 0;
  if (cli_mkdirs(dir)) return -1;
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    for (size_t k = 0; k < vr->nreports; k++) {
      if (!vr->reports[k].dot) continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s.%s.%zu.%s.dot", dir, r->s->id, vr->v->name, k + 1,
               vr->reports[k].kind);
      cli_outfile_t o;
      if (cli_out_open(&o, path)) return -1;
      fputs(vr->reports[k].dot, o.f);
      if (cli_out_close(&o, 1)) return -1;
      fprintf(stderr, "storesim: wait-for graph written to %s\n", path);
    }
  }
  return 0;
}

/* ---- scenario files: FILE or DIR (recursive, sorted, *.yaml *.yml) ------------------------------ */
typedef struct files {
  char **v;
  size_t n, cap;
} files_t;

static int files_add(files_t *f, const char *p) {
  if (f->n == f->cap) {
    size_t nc = f->cap ? 2 * f->cap : 16;
    char **v = realloc(f->v, nc * sizeof *v);
    if (!v) return -1;
    f->v = v;
    f->cap = nc;
  }
  if (!(f->v[f->n] = strdup(p))) return -1;
  f->n++;
  return 0;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_yaml(const char *n) {
  size_t l = strlen(n);
  return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

static int scan(files_t *out, const char *dir, int depth) {
  DIR *d = opendir(dir);
  files_t here = {0};
  struct dirent *e;
  if (!d) return -1;
  while ((e = readdir(d))) {
    char p[4096];
    struct stat st;
    size_t dl = strlen(dir);
    if (e->d_name[0] == '.') continue;
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    snprintf(p, sizeof p, "%.*s/%s", (int)dl, dir, e->d_name);
    if (stat(p, &st)) continue;
    if ((S_ISDIR(st.st_mode) && depth < 8) || (S_ISREG(st.st_mode) && is_yaml(e->d_name)))
      if (files_add(&here, p)) break;
  }
  closedir(d);
  if (here.n) qsort(here.v, here.n, sizeof *here.v, str_cmp);
  for (size_t i = 0; i < here.n; i++) {
    struct stat st;
    if (!stat(here.v[i], &st) && S_ISDIR(st.st_mode)) scan(out, here.v[i], depth + 1);
    else files_add(out, here.v[i]);
    free(here.v[i]);
  }
  free(here.v);
  return 0;
}

static int expand(files_t *out, const char *const *args, size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (!stat(args[i], &st) && S_ISDIR(st.st_mode)) {
      size_t before = out->n;
      if (scan(out, args[i], 0) || out->n == before) {
        fprintf(stderr, "%s: error: no scenario files (*.yaml, *.yml) in this directory\n", args[i]);
        return -1;
      }
    } else if (files_add(out, args[i])) {
      return -1;
    }
  }
  return 0;
}

enum { WANT_FACTS = 1, WANT_PERFETTO = 2 };

typedef int (*per_result_fn)(void *arg, const scn_result_t *r, report_facts_t *const *facts);

/* Loads and runs each file, calling fn with each result; returns the exit status. */
static int run_all(opts_t *o, int want, report_perfetto_t *perf, per_result_fn fn, void *arg) {
  int worst = EXIT_OK, interrupted = 0;
  hook_t h = {0};
  files_t files = {0};
  if (expand(&files, o->args, o->nargs)) {
    for (size_t i = 0; i < files.n; i++) free(files.v[i]);
    free(files.v);
    return EXIT_USAGE;
  }
  h.perf = perf;
  o->run.keep_series = 1;
  o->run.keep_trace = 1;
  o->run.world_done = on_world;
  o->run.world_done_arg = &h;
  cli_progress_attach(&o->run);
  scn_interrupt_install();
  for (size_t i = 0; i < files.n && !scn_interrupted(); i++) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_load_opts_t lo = {o->sets, o->nsets};
    scn_diag_init(&diag);
    int lrc = scn_load(files.v[i], &lo, &s, &diag);
    if (lrc) {
      fputs(diag.text ? diag.text : "", stderr);
      scn_diag_free(&diag);
      worst = lrc == SIM_ENOMEM ? EXIT_INTERNAL : (worst > EXIT_USAGE ? worst : EXIT_USAGE);
      continue;
    }
    scn_diag_free(&diag);
    h.s = s;
    h.err = 0;
    h.facts = want & WANT_FACTS ? calloc(s->nvariants ? s->nvariants : 1, sizeof *h.facts) : NULL;
    scn_result_t *r = scn_run(s, &o->run);
    if (!r || h.err == 1 || ((want & WANT_FACTS) && !h.facts)) {
      fprintf(stderr, "%s: error: out of host memory\n", files.v[i]);
      worst = EXIT_INTERNAL;
    } else {
      if (r->diag.text) fputs(r->diag.text, stderr);
      if (h.err == 2) worst = worst > EXIT_USAGE ? worst : EXIT_USAGE;
      if (write_dots(o->dot_dir, r)) worst = worst > EXIT_USAGE ? worst : EXIT_USAGE;
      int frc = fn ? fn(arg, r, h.facts) : 0;
      if (frc > worst) worst = frc;
      if (r->status > worst) worst = r->status;
      if (r->interrupted) interrupted = 1;
    }
    for (size_t k = 0; h.facts && k < s->nvariants; k++) report_facts_free(h.facts[k]);
    free(h.facts);
    h.facts = NULL;
    scn_result_free(r);
    scn_scenario_free(s);
  }
  for (size_t i = 0; i < files.n; i++) free(files.v[i]);
  free(files.v);
  if (scn_interrupted()) interrupted = 1;
  return interrupted ? EXIT_INTR : worst;
}

/* ---- report ------------------------------------------------------------------------------------ */
typedef struct html_out {
  report_html_t *h;
  int n; /* scenarios added */
} html_out_t;

static int add_html(void *arg, const scn_result_t *r, report_facts_t *const *facts) {
  char err[600];
  html_out_t *o = arg;
  o->n++;
  if (report_html_add(o->h, r, facts, err, sizeof err)) {
    fprintf(stderr, "storesim report: error: %s\n", err);
    return EXIT_INTERNAL;
  }
  return 0;
}

int cmd_report(int argc, char **argv) {
  opts_t o;
  char err[600];
  int rc = parse("report", argc, argv, &o);
  if (rc) goto done;
  if (o.help) {
    fputs(usage_report, stdout);
    goto done;
  }
  if (!o.nargs) {
    rc = usage_error("report", "no scenario file given%s", "");
    goto done;
  }
  if (!o.output) {
    rc = usage_error("report", "no output file given (-o report.html)%s", "");
    goto done;
  }
  if (report_html_tools_check(err, sizeof err)) {
    fprintf(stderr, "storesim report: error: %s\n", err);
    rc = EXIT_USAGE;
    goto done;
  }
  report_html_t *h = report_html_begin("storesim report", err, sizeof err);
  if (!h) {
    fprintf(stderr, "storesim report: error: %s\n", err);
    rc = EXIT_INTERNAL;
    goto done;
  }
  html_out_t ho = {h, 0};
  rc = run_all(&o, WANT_FACTS, NULL, add_html, &ho);
  if (rc == EXIT_INTR || rc == EXIT_INTERNAL || ho.n == 0) { /* nothing to show: no page */
    report_html_end(h, NULL);
    if (rc == EXIT_INTR) not_written("report", o.output);
    goto done;
  }
  cli_outfile_t out;
  if (cli_out_open(&out, o.output)) {
    report_html_end(h, NULL);
    rc = EXIT_USAGE;
    goto done;
  }
  int wrc = report_html_end(h, out.f);
  if (cli_out_close(&out, wrc == 0)) { /* the message names the file */
    rc = rc > EXIT_USAGE ? rc : EXIT_USAGE;
    goto done;
  }
  if (wrc) {
    rc = EXIT_INTERNAL;
    goto done;
  }
  fprintf(stderr, "storesim report: wrote %s (%d scenario%s)\n", o.output, ho.n, ho.n == 1 ? "" : "s");
done:
  opts_free(&o);
  return rc;
}

/* ---- trace ------------------------------------------------------------------------------------- */
int cmd_trace(int argc, char **argv) {
  opts_t o;
  int rc = parse("trace", argc, argv, &o);
  if (rc) goto done;
  if (o.help) {
    fputs(usage_trace, stdout);
    goto done;
  }
  if (!o.nargs) {
    rc = usage_error("trace", "no scenario file given%s", "");
    goto done;
  }
  if (!o.output) {
    rc = usage_error("trace", "no output file given (-o trace.json)%s", "");
    goto done;
  }
  cli_outfile_t out;
  if (cli_out_open(&out, o.output)) {
    rc = EXIT_USAGE;
    goto done;
  }
  report_perfetto_t *p = report_perfetto_begin(out.f);
  if (!p) {
    cli_out_close(&out, 0);
    rc = EXIT_INTERNAL;
    goto done;
  }
  rc = run_all(&o, WANT_PERFETTO, p, NULL, NULL);
  int prc = report_perfetto_end(p);
  int keep = prc == 0 && rc != EXIT_INTR && rc != EXIT_INTERNAL, replaced = out.tmp[0] != 0;
  if (cli_out_close(&out, keep)) rc = rc > EXIT_USAGE ? rc : EXIT_USAGE; /* it names the file */
  else if (prc) rc = EXIT_INTERNAL;
  else if (replaced && rc == EXIT_INTR) not_written("trace", o.output);
  else if (keep) fprintf(stderr, "storesim trace: wrote %s (open it in https://ui.perfetto.dev)\n", o.output);
done:
  opts_free(&o);
  return rc;
}

/* ---- explain ----------------------------------------------------------------------------------- */
typedef struct explain_out {
  FILE *f;
  int n;
} explain_out_t;

static int print_explain(void *arg, const scn_result_t *r, report_facts_t *const *facts) {
  explain_out_t *e = arg;
  if (e->n++) fputc('\n', e->f);
  int rc = report_explain(e->f, r, facts);
  /* a write error is reported where the stream is closed (cli_out_close, cli_exit) */
  return rc == SIM_EIO ? EXIT_USAGE : rc ? EXIT_INTERNAL : 0;
}

int cmd_explain(int argc, char **argv) {
  opts_t o;
  int rc = parse("explain", argc, argv, &o);
  cli_outfile_t out = {0};
  if (rc) goto done;
  if (o.help) {
    fputs(usage_explain, stdout);
    goto done;
  }
  if (!o.nargs) {
    rc = usage_error("explain", "no scenario file given%s", "");
    goto done;
  }
  if (o.output && cli_out_open(&out, o.output)) {
    rc = EXIT_USAGE;
    goto done;
  }
  explain_out_t e = {o.output ? out.f : stdout, 0};
  rc = run_all(&o, WANT_FACTS, NULL, print_explain, &e);
  int replaced = out.tmp[0] != 0; /* a file renamed into place, not one written in place */
  if (o.output && cli_out_close(&out, rc != EXIT_INTR && rc != EXIT_INTERNAL))
    rc = rc > EXIT_USAGE ? rc : EXIT_USAGE;
  else if (replaced && rc == EXIT_INTR) not_written("explain", o.output);
done:
  opts_free(&o);
  return rc;
}
