/*
 * storesim: the command line, and its command table (`commands` below): run,
 * check, validate, list and schema are here; report, trace and explain in
 * tools/report_cmds.c; sweep and explore in tools/sweep.c and
 * tools/explore.c, on the same sweep engine. Each command is one cli_cmd_t
 * row (tools/cli.h) from which its parsing, its --help, `storesim --help`
 * and the man page (`storesim --man`, docs/storesim.1) are made.
 *
 * Exit status: 0 ok, 1 an expectation failed, 2 usage, input or output
 * error, 3 internal error, 130 interrupted (SIGINT, SIGTERM, SIGHUP; what was
 * measured is printed). Output files and standard output: tools/outfile.c
 * (whole or absent, or marked incomplete when interrupted; every write
 * checked, in cli_out_close and cli_exit).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/scenario.h"
#include "storesim_cli.h"
#include "report_cli.h"
#include "storesim_version.h"

/* ---- the commands' texts and options ------------------------------------------------- */
#define RUN_OFF(field) offsetof(cli_run_args_t, field)
static const cli_opt_t opt_trace = {.name = "trace",
                                    .arg = "FILE",
                                    .help = "every trace record as JSON Lines",
                                    .type = CLI_STR,
                                    .off = RUN_OFF(trace_path)};
static const cli_opt_t opt_metrics = {
    .name = "metrics",
    .arg = "FILE",
    .help = "metric time series as CSV (scenario,variant,time_s,metric,value)",
    .type = CLI_STR,
    .off = RUN_OFF(metrics_path)};
static const cli_opt_t opt_perfmon = {
    .name = "perfmon",
    .arg = "FILE",
    .help = "the Performance Monitor counters (docs/metrics.md) as a Performance Monitor CSV log "
            "(PDH-CSV 4.0: one \"\\\\SERVER\\Object(Instance)\\Counter\" column each, one row "
            "per sample interval) that Perfmon, relog and PAL open; one scenario; with several "
            "variants one file per variant, FILE with .VARIANT before its extension (out.csv -> "
            "out.without_fix.csv, out.with_fix.csv), or --variant for one",
    .type = CLI_STR,
    .off = RUN_OFF(perfmon_path)};
static const cli_opt_t opt_perfmon_server = {
    .name = "perfmon-server",
    .arg = "NAME",
    .help = "the computer name of --perfmon's counter paths (default " CLI_PERFMON_SERVER ")",
    .type = CLI_FN,
    .parse = cli_parse_perfmon_server,
    .off = RUN_OFF(perfmon_server)};
static const cli_opt_t opt_perfmon_start = {
    .name = "perfmon-start",
    .arg = "DATE",
    .help = "the date and time (UTC) virtual time 0 is mapped onto in --perfmon's timestamps, "
            "\"YYYY-MM-DD HH:MM:SS\" (default \"2006-08-01 00:00:00\"; never the wall clock)",
    .type = CLI_FN,
    .parse = cli_parse_perfmon_start,
    .off = RUN_OFF(perfmon_start)};
static const cli_opt_t opt_verbose = {
    .name = "verbose",
    .abbr = 'v',
    .help = "the full table: every metric of every variant (min, max, means, percentiles), every "
            "expectation, every detector report",
    .type = CLI_FLAG,
    .off = RUN_OFF(verbose)};
static const cli_opt_t opt_json = {
    .name = "json",
    .help = "one JSON object per scenario on stdout (see docs/scenarios.md)",
    .type = CLI_FLAG,
    .off = RUN_OFF(json)};
static const cli_opt_t opt_seeds = {
    .name = "seeds",
    .arg = "A-B|N",
    .help =
        "run every variant on each world seed A..B (or 1..N), on worker processes (--jobs), and "
        "print "
        "per scenario and variant the fraction of seeds whose expectations hold, the failing seeds "
        "and the command that replays the first. A scenario passes when every variant holds on at "
        "least its seed_fraction (default 1: every seed). A run that crashes is counted, and the "
        "others go on.",
    .type = CLI_SEEDS,
    .off = RUN_OFF(seeds),
    .min = 0,
    .max = 100000000};
static const cli_opt_t opt_wall_limit = {
    .name = "wall-limit",
    .arg = "S",
    .help = "with --seeds: host seconds one run may take (default 600)",
    .type = CLI_SECONDS,
    .off = RUN_OFF(wall_limit)};
static const cli_opt_t opt_schema_json = {
    .name = "json",
    .help = "a JSON Schema (the default; committed as scenarios/schema.json)",
    .type = CLI_FLAG,
    .off = RUN_OFF(json)};
static const cli_opt_t opt_schema_markdown = {
    .name = "markdown",
    .help = "a Markdown reference (the reference part of docs/scenarios.md)",
    .type = CLI_FLAG,
    .off = RUN_OFF(markdown)};
static const cli_opt_t opt_schema_metrics_markdown = {
    .name = "metrics-markdown",
    .help = "docs/metrics.md: every model's metrics and plots, from their descriptions",
    .type = CLI_FLAG,
    .off = RUN_OFF(metrics_markdown)};

static int cmd_run(void *, char **, size_t);
static int cmd_check(void *, char **, size_t);
static int cmd_validate(void *, char **, size_t);
static int cmd_list(void *, char **, size_t);
static int cmd_schema(void *, char **, size_t);

static const cli_cmd_t cli_cmd_run = {
    .name = "run",
    .args = "FILE...",
    .summary = "run scenarios; print the verdict and the key symptoms of each variant",
    .about = "Runs each scenario's variants (each in a fresh world from the same seed) and prints, "
             "per scenario, a short answer that fits the terminal: each variant's expectations "
             "held and detector headlines, the key symptoms side by side (the metrics the "
             "expectations name), what failed, and the verdict; after several scenarios one line "
             "each and a total. -v prints the full table of every metric instead.",
    .opts = (const cli_opt_t *const[]){&cli_opt_variant, &cli_opt_seed, &cli_opt_sched,
                                       &cli_opt_duration, &cli_opt_set, &opt_trace, &opt_metrics,
                                       &opt_perfmon, &opt_perfmon_server, &opt_perfmon_start,
                                       &opt_json, &opt_verbose, &cli_opt_jobs, &cli_opt_backend,
                                       &cli_opt_time_scale, &cli_opt_hold, NULL},
    .notes = "A FILE '-' is read from standard input; an output FILE '-' is standard output. "
             "Output files are replaced whole when complete (docs/scenarios.md, \"Output "
             "files\"). A --perfmon log is written only for a variant that ran to its end, and "
             "not at all when the run is interrupted; '-' takes one variant.",
    .exit = "0 all expectations passed, 1 an expectation failed, 2 usage, input or output "
            "error, 3 internal error, 130 interrupted",
    .min_args = 1,
    .max_args = -1,
    .size = sizeof(cli_run_args_t),
    .init = cli_run_args_init,
    .run = cmd_run};

static const cli_cmd_t cli_cmd_check = {
    .name = "check",
    .args = "[DIR|FILE...]",
    .summary = "run every scenario (default: scenarios/), one line each, then 'N passed, N "
               "failed'",
    .about = "Runs every scenario (*.yaml, *.yml; directories are searched recursively; "
             "default: scenarios/) and every variant, and prints one line per scenario, then 'N "
             "passed, N failed'. A scenario passes when every variant ran to the end and every "
             "expectation holds (reproduced without fix, absent with fix).",
    .opts = (const cli_opt_t *const[]){&cli_opt_seed, &cli_opt_sched, &cli_opt_duration,
                                       &cli_opt_set, &cli_opt_jobs, &opt_seeds, &opt_wall_limit,
                                       &cli_opt_backend, &cli_opt_time_scale, NULL},
    .exit = "0 all passed, 1 a scenario failed, 2 an input error, 3 internal error",
    .max_args = -1,
    .size = sizeof(cli_run_args_t),
    .init = cli_run_args_init,
    .run = cmd_check};

static const cli_cmd_t cli_cmd_validate = {
    .name = "validate",
    .args = "FILE...",
    .summary = "check scenario files without running them",
    .about = "Loads and validates scenario files without running them: YAML syntax, keys, "
             "types, units, ranges, faults, fixes, variants and expectation syntax. Each "
             "variant's model is built (virtual time 0 only) and expectations naming a metric it "
             "has not registered get a warning; the run checks them for real.",
    .opts = (const cli_opt_t *const[]){&cli_opt_set, NULL},
    .exit = "0 all valid, 2 an error was found",
    .min_args = 1,
    .max_args = -1,
    .size = sizeof(cli_run_args_t),
    .init = cli_run_args_init,
    .run = cmd_validate};

static const cli_cmd_t cli_cmd_list = {
    .name = "list",
    .args = "[DIR|FILE...]",
    .summary = "id, title and source article of each scenario",
    .about = "Prints id, title and source article of each scenario (default: scenarios/).",
    .exit = "0 ok, 2 a file could not be read",
    .max_args = -1,
    .size = sizeof(cli_run_args_t),
    .run = cmd_list};

static const cli_cmd_t cli_cmd_schema = {
    .name = "schema",
    .args = "",
    .summary = "JSON Schema (--json) or Markdown reference (--markdown) of the format",
    .about = "Prints the scenario format generated from the parameter tables of the scenario "
             "layer and of every model: a JSON Schema (--json, the default; committed as "
             "scenarios/schema.json) or a Markdown reference (--markdown, the reference part of "
             "docs/scenarios.md); or, with --metrics-markdown, docs/metrics.md from the models' "
             "metric and plot descriptions.",
    .opts = (const cli_opt_t *const[]){&opt_schema_json, &opt_schema_markdown,
                                       &opt_schema_metrics_markdown, NULL},
    .exit = "0 ok",
    .size = sizeof(cli_run_args_t),
    .run = cmd_schema};

/* The command table: dispatch, `storesim --help` and the man page, in this order. */
static const cli_cmd_t *const commands[] = {&cli_cmd_run,
                                            &cli_cmd_check,
                                            &cli_cmd_validate,
                                            &cli_cmd_list,
                                            &cli_cmd_schema,
                                            &cli_cmd_report,
                                            &cli_cmd_trace,
                                            &cli_cmd_explain,
                                            &cli_cmd_sweep,
                                            &cli_cmd_merge,
                                            &cli_cmd_explore,
                                            &cli_cmd_shrink,
                                            &cli_cmd_diff,
                                            NULL};

static const cli_prog_t prog = {
    .name = "storesim",
    .version = STORESIM_VERSION,
    .tagline = "reproduce how a mail server's information store fails, without and with the fix",
    .about = "Reproduces in simulation how a mail server's information store fails, without and "
             "with the fix, from scenario files (YAML, see docs/scenarios.md).",
    .cmds = commands,
    .exit = "0 ok, 1 an expectation failed, 2 usage, input or output error, 3 internal error, "
            "130 interrupted (Ctrl-C, SIGTERM, SIGHUP; what was measured is printed)",
    .see_also = "docs/scenarios.md (the scenario format, outputs and exit statuses), "
                "docs/store-model.md (the model), docs/metrics.md (every metric), README.md."};

/* ---- run --------------------------------------------------------------------------------- */
/* run --perfmon: one log per variant that ran to its end, each whole or not
 * at all. Returns 0, or EXIT_USAGE having said why on stderr. */
static int write_perfmon(const cli_run_args_t *c, const scn_result_t *r) {
  int rc = 0, one = c->run.variant != NULL || r->nvariants == 1;
  for (size_t i = 0; i < r->nvariants; i++) {
    const scn_variant_res_t *vr = &r->variants[i];
    char path[4096];
    if (!vr->ran) continue; /* not selected */
    if (cli_perfmon_path(c->perfmon_path, vr->v->name, one, path, sizeof path)) {
      fprintf(stderr, "%s: error: path too long\n", c->perfmon_path);
      rc = EXIT_USAGE;
      continue;
    }
    if (vr->incomplete) {
      fprintf(stderr, "%s: error: not written: variant %s did not run to its end\n", path,
              vr->v->name);
      rc = EXIT_USAGE;
      continue;
    }
    cli_outfile_t o = {0};
    if (cli_out_open(&o, path)) {
      rc = EXIT_USAGE;
      continue;
    }
    cli_print_perfmon(o.f, vr, c->perfmon_server, c->perfmon_start);
    if (cli_out_close(&o, 1)) rc = EXIT_USAGE;
  }
  return rc;
}

static int cmd_run(void *opts, char **args, size_t nargs) {
  cli_run_args_t *c = opts;
  cli_files_t files = {0};
  cli_outfile_t trace = {0}, metrics = {0};
  int rc = EXIT_OK, worst = EXIT_OK, interrupted = 0;
  cli_style_t style = cli_style_for(stdout);
  char **lines = NULL;
  size_t nlines = 0, npassed = 0;
  if (cli_backend_check("run", c)) return EXIT_USAGE;
  if (cli_files_collect(&files, args, nargs, NULL)) {
    rc = EXIT_USAGE;
    goto done;
  }
  if (cli_out_open(&trace, c->trace_path) || cli_out_open(&metrics, c->metrics_path)) {
    rc = EXIT_USAGE;
    goto done;
  }
  if (c->perfmon_path && files.n != 1) {
    rc = cli_usage_error("run", "--perfmon writes the log of one scenario (%zu given)", files.n);
    goto done;
  }
  if (metrics.f) fputs("scenario,variant,time_s,metric,value\n", metrics.f);
  c->run.trace = trace.f;
  c->run.keep_series = metrics.f != NULL || c->perfmon_path != NULL;
  cli_progress_attach(&c->run);
  scn_interrupt_install();
  for (size_t i = 0; i < files.n && !scn_interrupted(); i++) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_load_opts_t lo = {c->sets.v, c->sets.n};
    scn_diag_init(&diag);
    int lrc = scn_load(files.v[i], &lo, &s, &diag);
    if (lrc) {
      fputs(diag.text ? diag.text : "", stderr);
      scn_diag_free(&diag);
      worst = lrc == SIM_ENOMEM ? EXIT_INTERNAL : (worst > EXIT_USAGE ? worst : EXIT_USAGE);
      continue;
    }
    scn_diag_free(&diag);
    if (c->perfmon_path && !strcmp(c->perfmon_path, "-") && !c->run.variant && s->nvariants > 1) {
      rc = cli_usage_error("run",
                           "--perfmon -: standard output takes one variant's log (%s has %zu): "
                           "add --variant NAME, or give a FILE (one per variant)",
                           files.v[i], s->nvariants);
      scn_scenario_free(s);
      goto done;
    }
    scn_result_t *r = scn_run(s, &c->run);
    if (!r) {
      fprintf(stderr, "%s: error: out of host memory\n", files.v[i]);
      worst = EXIT_INTERNAL;
      scn_scenario_free(s);
      continue;
    }
    if (r->diag.text) fputs(r->diag.text, stderr);
    if (c->json) cli_print_json(stdout, r);
    else if (c->verbose) cli_print_table(stdout, r, i > 0);
    else cli_print_summary(stdout, r, &style, i > 0);
    if (files.n > 1 && !c->json) {
      char line[512];
      cli_summary_line(r, &style, line, sizeof line);
      lines = realloc(lines, (nlines + 1) * sizeof *lines);
      if (lines) lines[nlines++] = strdup(line);
      npassed += cli_scenario_ok(r);
    }
    if (metrics.f) cli_print_csv(metrics.f, r);
    fflush(stdout);
    if (c->perfmon_path && !r->interrupted && !scn_interrupted()) {
      int prc = write_perfmon(c, r);
      if (prc > worst) worst = prc;
    }
    if (r->status > worst) worst = r->status;
    if (r->interrupted) interrupted = 1;
    scn_result_free(r);
    scn_scenario_free(s);
  }
  if (nlines > 1) { /* several scenarios: one line each, and the total */
    printf("\nsummary\n");
    for (size_t i = 0; i < nlines; i++) printf("%s\n", lines[i] ? lines[i] : "");
    printf("%zu passed, %zu failed\n", npassed, nlines - npassed);
  }
  for (size_t i = 0; i < nlines; i++) free(lines[i]);
  free(lines);
  if (scn_interrupted()) interrupted = 1;
  if (interrupted) { /* partial outputs say so in their last line */
    cli_out_mark_incomplete(&trace, 0);
    cli_out_mark_incomplete(&metrics, 1);
  }
  if (cli_out_close(&trace, 1) | cli_out_close(&metrics, 1))
    worst = worst > EXIT_USAGE ? worst : EXIT_USAGE;
  rc = interrupted ? EXIT_INTR : worst;
done:
  if (rc) {
    cli_out_close(&trace, 0);
    cli_out_close(&metrics, 0);
  }
  cli_files_free(&files);
  return rc;
}

/* ---- check ---------------------------------------------------------------------------------- */
/* check --seeds: the options that make sense with it, then the sweeps. */
static int check_seeds(const cli_run_args_t *c, const cli_files_t *files) {
  cli_seeds_opts_t co = {.from = c->seeds.from,
                         .to = c->seeds.to,
                         .duration = c->run.duration,
                         .jobs = c->run.jobs,
                         .wall_limit = c->wall_limit < 0 ? 600 : c->wall_limit};
  if (!c->seeds.given) return cli_usage_error("check", "--wall-limit needs --seeds");
  if (c->run.have_seed || c->run.sched.kind != SIM_SCHED_FIFO)
    return cli_usage_error("check", "%s: --seeds runs fifo on each world seed",
                           c->run.have_seed ? "--seed" : "--sched");
  scn_load_opts_t lo = {c->sets.v, c->sets.n};
  return cli_check_seeds(files->v, files->n, &lo, &co);
}

/* One scenario's line (and its failures); returns its exit status. */
static int check_one(const cli_run_args_t *c, const char *file, int *ok) {
  scn_diag_t diag;
  scn_scenario_t *s = NULL;
  scn_load_opts_t lo = {c->sets.v, c->sets.n};
  char verdict[200];
  *ok = 0;
  scn_diag_init(&diag);
  if (scn_load(file, &lo, &s, &diag)) {
    fputs(diag.text ? diag.text : "", stderr);
    printf("ERROR %s: invalid scenario (%d error%s)\n", file, diag.nerrors,
           diag.nerrors == 1 ? "" : "s");
    scn_diag_free(&diag);
    return EXIT_USAGE;
  }
  scn_diag_free(&diag);
  scn_result_t *r = scn_run(s, &c->run);
  if (!r) {
    printf("ERROR %s: out of host memory\n", file);
    scn_scenario_free(s);
    return EXIT_INTERNAL;
  }
  if (r->diag.text) fputs(r->diag.text, stderr);
  scn_verdict_text(r, verdict, sizeof verdict);
  *ok = r->status == 0 && r->reproduced_without_fix == 1 && r->absent_with_fix == 1 &&
        !r->interrupted;
  int np = 0, nx = 0;
  for (size_t v = 0; v < r->nvariants; v++) {
    np += r->variants[v].npass;
    nx += (int)scn_variant_judged(&r->variants[v]);
  }
  printf("%s  %-28s %s (%d/%d expectation%s)  [%s]\n",
         *ok              ? "PASS "
         : r->status >= 2 ? "ERROR"
                          : "FAIL ",
         s->id, verdict, np, nx, cli_s((size_t)nx), file);
  for (size_t v = 0; !*ok && v < r->nvariants; v++)
    for (size_t x = 0; x < r->variants[v].nexpects; x++) {
      const scn_expect_res_t *e = &r->variants[v].expects[x];
      if (!scn_expect_failed(e)) continue;
      printf("        %s: %s  ->  %s: %s\n", r->variants[v].v->name, e->x->text,
             e->status == SCN_X_FAIL ? "failed" : "error", e->detail ? e->detail : "");
    }
  int st = r->status ? r->status : (*ok ? 0 : 1);
  scn_result_free(r);
  scn_scenario_free(s);
  fflush(stdout);
  return st;
}

static int cmd_check(void *opts, char **args, size_t nargs) {
  cli_run_args_t *c = opts;
  cli_files_t files = {0};
  int rc, npass = 0, nfail = 0, worst = EXIT_OK;
  cli_progress_attach(&c->run);
  if (cli_backend_check("check", c)) return EXIT_USAGE;
  if (cli_files_collect(&files, args, nargs, "scenarios")) {
    rc = EXIT_USAGE;
    goto done;
  }
  if (c->seeds.given || c->wall_limit >= 0) {
    rc = check_seeds(c, &files);
    goto done;
  }
  scn_interrupt_install();
  for (size_t i = 0; i < files.n && !scn_interrupted(); i++) {
    int ok, st = check_one(c, files.v[i], &ok);
    if (ok) npass++;
    else nfail++;
    if (st > worst) worst = st;
  }
  printf("%d passed, %d failed\n", npass, nfail);
  rc = scn_interrupted() ? EXIT_INTR : (nfail && worst == 0 ? EXIT_FAIL : worst);
done:
  cli_files_free(&files);
  return rc;
}

/* ---- validate / list / schema ------------------------------------------------------------------ */
static int cmd_validate(void *opts, char **args, size_t nargs) {
  cli_run_args_t *c = opts;
  cli_files_t files = {0};
  int rc = EXIT_OK;
  if (cli_files_collect(&files, args, nargs, NULL)) {
    cli_files_free(&files);
    return EXIT_USAGE;
  }
  for (size_t i = 0; i < files.n; i++) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_load_opts_t lo = {c->sets.v, c->sets.n};
    scn_diag_init(&diag);
    if (scn_load(files.v[i], &lo, &s, &diag)) {
      fputs(diag.text ? diag.text : "", stderr);
      rc = EXIT_USAGE;
    } else {
      size_t nx = 0;
      scn_diag_t probe;
      scn_diag_init(&probe);
      if (scn_probe_metrics(s, &probe)) rc = EXIT_USAGE;
      if (probe.text) fputs(probe.text, stderr);
      for (size_t v = 0; v < s->nvariants; v++) nx += s->variants[v].nexpects;
      if (!probe.nerrors)
        printf("%s: ok (%s, model %s, %zu variant%s, %zu fault%s, %zu expectation%s%s)\n",
               s->file, s->id, s->model->name, s->nvariants, cli_s(s->nvariants), s->nfaults,
               cli_s(s->nfaults), nx, cli_s(nx),
               probe.nwarnings ? ", see the warnings" : "");
      scn_diag_free(&probe);
    }
    scn_diag_free(&diag);
    scn_scenario_free(s);
  }
  cli_files_free(&files);
  return rc;
}

static int cmd_list(void *opts, char **args, size_t nargs) {
  cli_files_t files = {0};
  int rc = EXIT_OK;
  (void)opts;
  if (cli_files_collect(&files, args, nargs, "scenarios")) {
    cli_files_free(&files);
    return EXIT_USAGE;
  }
  for (size_t i = 0; i < files.n; i++) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_diag_init(&diag);
    if (scn_load(files.v[i], NULL, &s, &diag)) {
      fputs(diag.text ? diag.text : "", stderr);
      rc = EXIT_USAGE;
    } else {
      printf("%-24s %-12s %s  [%s]\n", s->id, s->source ? s->source : "-", s->title, files.v[i]);
    }
    scn_diag_free(&diag);
    scn_scenario_free(s);
  }
  cli_files_free(&files);
  return rc;
}

static int cmd_schema(void *opts, char **args, size_t nargs) {
  const cli_run_args_t *c = opts;
  (void)args, (void)nargs;
  if (c->markdown) {
    cli_print_markdown(stdout);
  } else if (c->metrics_markdown) {
    size_t nm;
    const sim_model_t *const *models = scn_models(&nm);
    scn_metrics_markdown(stdout, models, nm);
  } else {
    cli_print_schema(stdout);
  }
  return EXIT_OK;
}

/* ---- dispatch ---------------------------------------------------------------------------------- */
static int dispatch(int argc, char **argv) {
  if (argc < 2) {
    cli_help_prog(stderr, &prog);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (argc > 2 && strcmp(argv[2], "help")) {
      char *sub[] = {argv[0], argv[2], "--help", NULL};
      return dispatch(3, sub);
    }
    cli_help_prog(stdout, &prog);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "--version")) {
    printf("%s %s (git %s)\n", prog.name, prog.version, STORESIM_GIT_REVISION);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "--completion")) {
    if (argc != 3 || strcmp(argv[2], "bash")) {
      fputs("storesim: --completion takes one shell: bash\n", stderr);
      return EXIT_USAGE;
    }
    cli_completion_bash(stdout, &prog);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "--man")) {
    cli_man(stdout, &prog);
    return EXIT_OK;
  }
  const char *names[64];
  size_t n = 0;
  for (const cli_cmd_t *const *c = commands; *c; c++) {
    if (!strcmp(cmd, (*c)->name)) return cli_run(*c, argc - 2, argv + 2);
    if (n < 63) names[n++] = (*c)->name;
  }
  names[n++] = "help";
  char sug[200];
  if (scn_suggest(cmd, names, n, 0, sug, sizeof sug))
    fprintf(stderr, "storesim: unknown command '%s' (did you mean %s?)\n", cmd, sug);
  else
    fprintf(stderr, "storesim: unknown command '%s'\n", cmd);
  fputs("(storesim --help lists the commands)\n", stderr);
  return EXIT_USAGE;
}

int main(int argc, char **argv) {
  int status;
  if (cli_mpi_start(&argc, &argv, &status)) return status; /* an MPI rank > 0 */
  scn_crash_install(argc, argv);
  cli_stdio_init();
  /* every command's stdout checked here */
  return cli_mpi_finish(cli_exit(dispatch(argc, argv)));
}
