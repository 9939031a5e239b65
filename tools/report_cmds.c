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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report_cli.h"
#include "storesim/report.h"
#include "storesim/scenario.h"
#include "storesim_cli.h"

#define RUN_OFF(field) offsetof(cli_run_args_t, field)
static const cli_opt_t opt_output_report = {.name = "output",
                                            .abbr = 'o',
                                            .arg = "FILE",
                                            .help = "the page to write (required)",
                                            .type = CLI_STR,
                                            .off = RUN_OFF(output)};
static const cli_opt_t opt_output_trace = {.name = "output",
                                           .abbr = 'o',
                                           .arg = "FILE",
                                           .help = "the JSON file to write (required)",
                                           .type = CLI_STR,
                                           .off = RUN_OFF(output)};
static const cli_opt_t opt_output_explain = {.name = "output",
                                             .abbr = 'o',
                                             .arg = "FILE",
                                             .help = "write there instead of stdout",
                                             .type = CLI_STR,
                                             .off = RUN_OFF(output)};
static const cli_opt_t opt_dot = {
    .name = "dot",
    .arg = "DIR",
    .help = "also write each wait-for graph (deadlock, hang) as DOT there",
    .type = CLI_STR,
    .off = RUN_OFF(dot_dir)};

static int parse_trace_format(const char *val, void *target, char *why, size_t nwhy) {
  (void)target;
  if (!strcmp(val, "perfetto") || !strcmp(val, "chrome")) return 0;
  snprintf(why, nwhy, "unknown format (known: perfetto)");
  return -1;
}
static const cli_opt_t opt_trace_format = {.name = "trace-format",
                                           .arg = "perfetto",
                                           .help =
                                               "the format (the only one; accepted for symmetry)",
                                           .type = CLI_FN,
                                           .parse = parse_trace_format};

static int cmd_report(void *, char **, size_t);
static int cmd_trace(void *, char **, size_t);
static int cmd_explain(void *, char **, size_t);

#define RUN_LIKE                                                                                   \
  &cli_opt_variant, &cli_opt_seed, &cli_opt_sched, &cli_opt_duration, &cli_opt_set,                \
      &cli_opt_backend, &cli_opt_time_scale

const cli_cmd_t cli_cmd_report = {
    .name = "report",
    .args = "FILE... -o report.html",
    .summary = "self-contained HTML report: plots of every variant over time, verdicts, "
               "expectations, detector reports, graphs",
    .about = "Runs each scenario's variants and writes one self-contained HTML page (no network "
             "needed to open it): per scenario the verdict, every expectation with its measured "
             "value, plots of the key metrics with all variants overlaid on one virtual time "
             "axis (fault times marked), detector reports with their wait-for graphs, and the "
             "explanation (as `storesim explain`). Needs gnuplot and Graphviz dot (Debian: "
             "gnuplot-nox graphviz; tools/setup.sh installs them).\n"
             "\n"
             "Given one MAP.jsonl (the --jsonl of `storesim sweep --set KEY=V1,V2 ...`) it draws "
             "the parameter map instead: per variant a heatmap of the fraction of seeds whose "
             "expectations held (two axes or more; one table per value of the others) or lines "
             "over the axis (one axis), the median of each recorded --metric, and every cell "
             "that did not hold linked to the command that replays its first failing seed.",
    .opts = (const cli_opt_t *const[]){&opt_output_report, &opt_dot, RUN_LIKE, NULL},
    .exit = "0 all expectations passed, 1 an expectation failed (the page is written), 2 usage, "
            "input or output error, 3 internal error, 130 interrupted",
    .min_args = 1,
    .max_args = -1,
    .size = sizeof(cli_run_args_t),
    .init = cli_run_args_init,
    .run = cmd_report};

const cli_cmd_t cli_cmd_trace = {
    .name = "trace",
    .args = "FILE... -o trace.json",
    .summary = "thread timelines in the Chrome/Perfetto trace format",
    .about = "Runs each scenario's variants and writes the thread timelines in the Chrome trace "
             "event format (open it in https://ui.perfetto.dev or chrome://tracing): one process "
             "per variant, one track per simulated thread with spans for running, blocked (on "
             "what) and holding each lock, instant events for model events and detector "
             "reports, counter tracks for every sampled metric. Timestamps are virtual "
             "microseconds.",
    .opts =
        (const cli_opt_t *const[]){&opt_output_trace, &opt_trace_format, &opt_dot, RUN_LIKE, NULL},
    .exit = "as for report",
    .min_args = 1,
    .max_args = -1,
    .size = sizeof(cli_run_args_t),
    .init = cli_run_args_init,
    .run = cmd_trace};

const cli_cmd_t cli_cmd_explain = {
    .name = "explain",
    .args = "FILE...",
    .summary = "what happened in each variant, in sentences",
    .about = "Runs each scenario's variants and tells what happened in each, in sentences with "
             "virtual timestamps (h:mm:ss): faults, metrics that reached 0 or passed a bound an "
             "expectation names, what the threads were waiting on then, model events, long "
             "waits, detector reports; and for each other variant, which of the without-fix "
             "findings did not happen and what was measured instead. Built from the trace and "
             "the metrics, not from per-scenario text.",
    .opts = (const cli_opt_t *const[]){&opt_output_explain, &opt_dot, RUN_LIKE, NULL},
    .exit = "as for report",
    .min_args = 1,
    .max_args = -1,
    .size = sizeof(cli_run_args_t),
    .init = cli_run_args_init,
    .run = cmd_explain};

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

enum { WANT_FACTS = 1, WANT_PERFETTO = 2 };

typedef int (*per_result_fn)(void *arg, const scn_result_t *r, report_facts_t *const *facts);

/* Loads and runs each file, calling fn with each result; returns the exit status. */
static int run_all(cli_run_args_t *o, char **args, size_t nargs, int want, report_perfetto_t *perf,
                   per_result_fn fn, void *arg) {
  int worst = EXIT_OK, interrupted = 0;
  hook_t h = {0};
  cli_files_t files = {0};
  if (cli_files_collect(&files, args, nargs, NULL)) {
    cli_files_free(&files);
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
    scn_load_opts_t lo = {o->sets.v, o->sets.n};
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
  cli_files_free(&files);
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

static int cmd_report(void *opts, char **args, size_t nargs) {
  cli_run_args_t *o = opts;
  char err[600];
  int rc;
  if (!o->output) return cli_usage_error("report", "no output file given (-o report.html)");
  if (cli_backend_check("report", o)) return EXIT_USAGE;
  size_t njsonl = 0; /* a parameter map's runs (sweep --set ... --jsonl): its own page */
  for (size_t i = 0; i < nargs; i++) {
    size_t n = strlen(args[i]);
    njsonl += n > 6 && !strcmp(args[i] + n - 6, ".jsonl");
  }
  if (njsonl && (njsonl != 1 || nargs != 1))
    return cli_usage_error("report", "a parameter map's page is made from one sweep --jsonl "
                                     "file, alone");
  if (njsonl) return cli_map_report(args[0], o->output);
  if (report_html_tools_check(err, sizeof err)) {
    fprintf(stderr, "storesim report: error: %s\n", err);
    return EXIT_USAGE;
  }
  report_html_t *h = report_html_begin("storesim report", err, sizeof err);
  if (!h) {
    fprintf(stderr, "storesim report: error: %s\n", err);
    return EXIT_INTERNAL;
  }
  html_out_t ho = {h, 0};
  rc = run_all(o, args, nargs, WANT_FACTS, NULL, add_html, &ho);
  if (rc == EXIT_INTR || rc == EXIT_INTERNAL || ho.n == 0) { /* nothing to show: no page */
    report_html_end(h, NULL);
    if (rc == EXIT_INTR) not_written("report", o->output);
    return rc;
  }
  cli_outfile_t out;
  if (cli_out_open(&out, o->output)) {
    report_html_end(h, NULL);
    return EXIT_USAGE;
  }
  int wrc = report_html_end(h, out.f);
  if (cli_out_close(&out, wrc == 0)) /* the message names the file */
    return rc > EXIT_USAGE ? rc : EXIT_USAGE;
  if (wrc) return EXIT_INTERNAL;
  fprintf(stderr, "storesim report: wrote %s (%d scenario%s)\n", o->output, ho.n,
          ho.n == 1 ? "" : "s");
  return rc;
}

/* ---- trace ------------------------------------------------------------------------------------- */
static int cmd_trace(void *opts, char **args, size_t nargs) {
  cli_run_args_t *o = opts;
  int rc;
  if (!o->output) return cli_usage_error("trace", "no output file given (-o trace.json)");
  if (cli_backend_check("trace", o)) return EXIT_USAGE;
  cli_outfile_t out;
  if (cli_out_open(&out, o->output)) return EXIT_USAGE;
  report_perfetto_t *p = report_perfetto_begin(out.f);
  if (!p) {
    cli_out_close(&out, 0);
    return EXIT_INTERNAL;
  }
  rc = run_all(o, args, nargs, WANT_PERFETTO, p, NULL, NULL);
  int prc = report_perfetto_end(p);
  int keep = prc == 0 && rc != EXIT_INTR && rc != EXIT_INTERNAL, replaced = out.tmp[0] != 0;
  if (cli_out_close(&out, keep)) rc = rc > EXIT_USAGE ? rc : EXIT_USAGE; /* it names the file */
  else if (prc) rc = EXIT_INTERNAL;
  else if (replaced && rc == EXIT_INTR) not_written("trace", o->output);
  else if (keep)
    fprintf(stderr, "storesim trace: wrote %s (open it in https://ui.perfetto.dev)\n", o->output);
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

static int cmd_explain(void *opts, char **args, size_t nargs) {
  cli_run_args_t *o = opts;
  cli_outfile_t out = {0};
  if (cli_backend_check("explain", o)) return EXIT_USAGE;
  if (o->output && cli_out_open(&out, o->output)) return EXIT_USAGE;
  explain_out_t e = {o->output ? out.f : stdout, 0};
  int rc = run_all(o, args, nargs, WANT_FACTS, NULL, print_explain, &e);
  int replaced = out.tmp[0] != 0; /* a file renamed into place, not one written in place */
  if (o->output && cli_out_close(&out, rc != EXIT_INTR && rc != EXIT_INTERNAL))
    rc = rc > EXIT_USAGE ? rc : EXIT_USAGE;
  else if (replaced && rc == EXIT_INTR) not_written("explain", o->output);
  return rc;
}
