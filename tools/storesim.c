/*
 * storesim: the command line.
 *
 *   storesim run FILE...            side-by-side table of the variants
 *   storesim check [DIR|FILE...]    one line per scenario, "N passed, N failed"
 *   storesim validate FILE...       load and validate only
 *   storesim list [DIR|FILE...]     id, title, source article
 *   storesim schema [--json|--markdown|--metrics-markdown]
 *   storesim sweep FILE [options]   (tools/sweep.c)
 *   storesim explore [options] FILE (tools/explore.c, on the same sweep engine)
 *
 * Exit status: 0 ok, 1 an expectation failed, 2 usage, input or output
 * error, 3 internal error, 130 interrupted (SIGINT, SIGTERM, SIGHUP; what was
 * measured is printed). Output files and standard output: tools/outfile.c
 * (whole or absent, or marked incomplete when interrupted; every write
 * checked, in cli_out_close and cli_exit).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storesim/scenario.h"
#include "storesim_cli.h"
#include "report_cli.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3, EXIT_INTR = 130 };

static const char usage_main[] =
    "usage: storesim COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Reproduces in simulation how a mail server's information store fails,\n"
    "without and with the fix, from scenario files (YAML, see docs/scenarios.md).\n"
    "\n"
    "commands:\n"
    "  run FILE...              run scenarios; print a side-by-side table of the variants\n"
    "  check [DIR|FILE...]      run every scenario (default: scenarios/), one line each,\n"
    "                           then 'N passed, N failed'\n"
    "  validate FILE...         check scenario files without running them\n"
    "  list [DIR|FILE...]       id, title and source article of each scenario\n"
    "  schema [--json|--markdown|--metrics-markdown]  JSON Schema or Markdown reference of the "
    "format\n"
    "  report FILE... -o F.html self-contained HTML report: plots of every variant over\n"
    "                           time, verdicts, expectations, detector reports, graphs\n"
    "  trace FILE... -o F.json  thread timelines in the Chrome/Perfetto trace format\n"
    "  explain FILE...          what happened in each variant, in sentences\n"
    "  sweep FILE [--seeds A-B] [--sched random|pct|fifo] [--jobs N]\n"
    "                           many runs over seeds/schedules on worker threads\n"
    "  explore FILE             count deadlocks of a scenario over many random/PCT schedules\n"
    "\n"
    "  storesim COMMAND --help  options of a command\n"
    "\n"
    "exit status: 0 ok, 1 an expectation failed, 2 usage, input or output error,\n"
    "             3 internal error, 130 interrupted (Ctrl-C, SIGTERM, SIGHUP)\n";

static const char usage_run[] =
    "usage: storesim run [OPTIONS] FILE...\n"
    "\n"
    "Runs each scenario's variants (each in a fresh world from the same seed) and\n"
    "prints, per scenario, the variants side by side: metrics, every expectation\n"
    "with its measured value and pass/fail, detector findings and a verdict.\n"
    "\n"
    "options:\n"
    "  --variant NAME     run only this variant\n"
    "  --seed N           root seed instead of the scenario's\n"
    "  --sched POLICY     fifo (default), random:SEED, pct:SEED:DEPTH[:STEPS], replay:FILE\n"
    "  --duration D       virtual time to run instead of the scenario's (e.g. 2h)\n"
    "  --set KEY=VALUE    override a scenario key, validated like the file (repeatable);\n"
    "                     VARIANT:KEY=VALUE changes one variant only\n"
    "  --trace FILE       every trace record as JSON Lines\n"
    "  --metrics FILE     metric time series as CSV (scenario,variant,time_s,metric,value)\n"
    "  --json             one JSON object per scenario on stdout (see docs/scenarios.md)\n"
    "  --jobs N           run up to N variants at the same time, one host thread each\n"
    "                     (default: the number of CPUs; results are the same for any N;\n"
    "                     with --trace the variants run one after another)\n"
    "\n"
    "A FILE '-' is read from standard input; an output FILE '-' is standard output.\n"
    "Output files are replaced whole when complete (docs/scenarios.md, \"Output files\").\n"
    "\n"
    "exit status: 0 all expectations passed, 1 an expectation failed,\n"
    "             2 usage, input or output error, 3 internal error, 130 interrupted\n";

static const char usage_check[] =
    "usage: storesim check [OPTIONS] [DIR|FILE...]\n"
    "\n"
    "Runs every scenario (*.yaml, *.yml; directories are searched recursively;\n"
    "default: scenarios/) and every variant, and prints one line per scenario,\n"
    "then 'N passed, N failed'. A scenario passes when every variant ran to the\n"
    "end and every expectation holds (reproduced without fix, absent with fix).\n"
    "\n"
    "options: --seed N, --sched POLICY, --duration D, --set KEY=VALUE, --jobs N (as for run)\n"
    "  --seeds A-B | N    run every variant on each world seed A..B (or 1..N), on\n"
    "                     worker processes (--jobs), and print per scenario and\n"
    "                     variant the fraction of seeds whose expectations hold,\n"
    "                     the failing seeds and the command that replays the first.\n"
    "                     A scenario passes when every variant holds on at least\n"
    "                     its seed_fraction (default 1: every seed). A run that\n"
    "                     crashes is counted, and the others go on.\n"
    "  --wall-limit S     with --seeds: host seconds one run may take (default 600)\n"
    "\n"
    "exit status: 0 all passed, 1 a scenario failed, 2 an input error, 3 internal error\n";

static const char usage_validate[] =
    "usage: storesim validate [--set KEY=VALUE]... FILE...\n"
    "\n"
    "Loads and validates scenario files without running them: YAML syntax, keys,\n"
    "types, units, ranges, faults, fixes, variants and expectation syntax. Each\n"
    "variant's model is built (virtual time 0 only) and expectations naming a\n"
    "metric it has not registered get a warning; the run checks them for real.\n"
    "\n"
    "exit status: 0 all valid, 2 an error was found\n";

static const char usage_list[] =
    "usage: storesim list [DIR|FILE...]\n"
    "\n"
    "Prints id, title and source article of each scenario (default: scenarios/).\n"
    "\n"
    "exit status: 0 ok, 2 a file could not be read\n";

static const char usage_schema[] =
    "usage: storesim schema [--json|--markdown|--metrics-markdown]\n"
    "\n"
    "Prints the scenario format generated from the parameter tables of the\n"
    "scenario layer and of every model: a JSON Schema (--json, the default;\n"
    "committed as scenarios/schema.json) or a Markdown reference (--markdown,\n"
    "the reference part of docs/scenarios.md). --metrics-markdown prints\n"
    "docs/metrics.md from the models' metric and plot descriptions.\n";

/* ---- options ---------------------------------------------------------------------- */
typedef struct cli {
  scn_run_opts_t run;
  const char **sets;
  size_t nsets;
  const char *trace_path, *metrics_path;
  const char *seeds, *wall_limit; /* check --seeds, --wall-limit */
  int json, markdown, metrics_markdown, help;
  const char **args;
  size_t nargs;
} cli_t;

static int usage_error(const char *cmd, const char *fmt, const char *a) {
  fprintf(stderr, "storesim %s: ", cmd);
  fprintf(stderr, fmt, a);
  fprintf(stderr, "\n(storesim %s --help for usage)\n", cmd);
  return EXIT_USAGE;
}

/* Parses argv of a command. `allowed` lists the options it accepts. */
static int parse_opts(const char *cmd, int argc, char **argv, const char *allowed, cli_t *c) {
  char err[300] = "";
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  c->run.jobs = ncpu > 0 ? (int)ncpu : 1; /* variants at once; --jobs overrides */
  c->sets = calloc((size_t)argc + 1, sizeof *c->sets);
  c->args = calloc((size_t)argc + 1, sizeof *c->args);
  if (!c->sets || !c->args) return EXIT_INTERNAL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    char name[64];
    if (!strcmp(a, "--")) {
      while (++i < argc) c->args[c->nargs++] = argv[i];
      break;
    }
    if (a[0] != '-' || !a[1]) {
      c->args[c->nargs++] = a;
      continue;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      c->help = 1;
      continue;
    }
    if (strncmp(a, "--", 2)) return usage_error(cmd, "unknown option '%s'", a);
    const char *eq = strchr(a, '=');
    size_t nl = eq ? (size_t)(eq - a) : strlen(a);
    if (nl >= sizeof name) return usage_error(cmd, "unknown option '%s'", a);
    memcpy(name, a, nl);
    name[nl] = 0;
    char key[70];
    snprintf(key, sizeof key, " %s ", name + 2);
    if (!strstr(allowed, key)) return usage_error(cmd, "unknown option '%s'", name);
    int flag = !strcmp(name, "--json") || !strcmp(name, "--markdown") ||
               !strcmp(name, "--metrics-markdown");
    if (!flag) {
      if (eq) val = eq + 1;
      else if (i + 1 < argc) val = argv[++i];
      else return usage_error(cmd, "option '%s' needs a value", name);
    } else if (eq) {
      return usage_error(cmd, "option '%s' takes no value", name);
    }
    if (!strcmp(name, "--json")) c->json = 1;
    else if (!strcmp(name, "--markdown")) c->markdown = 1;
    else if (!strcmp(name, "--metrics-markdown")) c->metrics_markdown = 1;
    else if (!strcmp(name, "--variant")) c->run.variant = val;
    else if (!strcmp(name, "--sched")) c->run.sched = val;
    else if (!strcmp(name, "--trace")) c->trace_path = val;
    else if (!strcmp(name, "--metrics")) c->metrics_path = val;
    else if (!strcmp(name, "--set")) c->sets[c->nsets++] = val;
    else if (!strcmp(name, "--seeds")) c->seeds = val;
    else if (!strcmp(name, "--wall-limit")) c->wall_limit = val;
    else if (!strcmp(name, "--seed")) {
      int64_t v;
      if (scn_parse_int(val, &v, err, sizeof err) || v < 0)
        return usage_error(cmd, "--seed: expected a non-negative integer, got '%s'", val);
      c->run.have_seed = 1;
      c->run.seed = (uint64_t)v;
    } else if (!strcmp(name, "--jobs")) {
      int64_t v;
      if (scn_parse_int(val, &v, err, sizeof err) || v < 1 || v > 1024)
        return usage_error(cmd, "--jobs: expected an integer from 1 to 1024, got '%s'", val);
      c->run.jobs = (int)v;
    } else if (!strcmp(name, "--duration")) {
      if (cli_parse_duration_opt(cmd, val, &c->run.duration)) return EXIT_USAGE;
    }
  }
  return EXIT_OK;
}

static void cli_free(cli_t *c) {
  free(c->sets);
  free(c->args);
}

/* ---- file discovery ---------------------------------------------------------------- */
typedef struct files {
  char **v;
  size_t n, cap;
} files_t;

static int files_add(files_t *f, const char *path) {
  if (f->n == f->cap) {
    size_t nc = f->cap ? f->cap * 2 : 16;
    char **t = realloc(f->v, nc * sizeof *t);
    if (!t) return -1;
    f->v = t;
    f->cap = nc;
  }
  if (!(f->v[f->n] = strdup(path))) return -1;
  f->n++;
  return 0;
}

static void files_free(files_t *f) {
  for (size_t i = 0; i < f->n; i++) free(f->v[i]);
  free(f->v);
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_yaml(const char *name) {
  size_t n = strlen(name);
  return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* Adds the scenario files under dir, sorted, recursively (depth-limited). */
static int scan_dir(files_t *f, const char *dir, int depth) {
  DIR *d = opendir(dir);
  files_t here = {0};
  struct dirent *e;
  if (!d) return -1;
  while ((e = readdir(d))) {
    char p[4096];
    struct stat st;
    if (e->d_name[0] == '.') continue;
    size_t dl = strlen(dir);
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
    if (!stat(here.v[i], &st) && S_ISDIR(st.st_mode)) scan_dir(f, here.v[i], depth + 1);
    else files_add(f, here.v[i]);
  }
  files_free(&here);
  return 0;
}

static int collect(files_t *f, const char **args, size_t nargs, const char *def) {
  const char *one[1] = {def};
  if (nargs == 0) args = one, nargs = 1;
  for (size_t i = 0; i < nargs; i++) {
    struct stat st;
    if (!stat(args[i], &st) && S_ISDIR(st.st_mode)) {
      size_t before = f->n;
      if (scan_dir(f, args[i], 0)) {
        fprintf(stderr, "%s: error: cannot read directory: %s\n", args[i], strerror(errno));
        return -1;
      }
      if (f->n == before) {
        fprintf(stderr, "%s: error: no scenario files (*.yaml, *.yml) in this directory\n", args[i]);
        return -1;
      }
    } else if (files_add(f, args[i])) {
      return -1;
    }
  }
  return 0;
}

/* ---- whole output files --------------------------------------------------------------- */
/* ---- run --------------------------------------------------------------------------------- */
static int status_to_exit(int status) { return status; }

static int cmd_run(int argc, char **argv) {
  cli_t c = {0};
  files_t files = {0};
  cli_outfile_t trace = {0}, metrics = {0};
  int rc = parse_opts("run", argc, argv,
                      " variant seed sched duration set trace metrics json jobs ", &c);
  int worst = EXIT_OK, interrupted = 0;
  if (rc) goto done;
  if (c.help) {
    fputs(usage_run, stdout);
    goto done;
  }
  if (c.nargs == 0) {
    rc = usage_error("run", "no scenario file given%s", "");
    goto done;
  }
  if (collect(&files, c.args, c.nargs, NULL)) {
    rc = EXIT_USAGE;
    goto done;
  }
  if (cli_out_open(&trace, c.trace_path) || cli_out_open(&metrics, c.metrics_path)) {
    rc = EXIT_USAGE;
    goto done;
  }
  if (metrics.f) fputs("scenario,variant,time_s,metric,value\n", metrics.f);
  c.run.trace = trace.f;
  c.run.keep_series = metrics.f != NULL;
  cli_progress_attach(&c.run);
  scn_interrupt_install();
  for (size_t i = 0; i < files.n && !scn_interrupted(); i++) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_load_opts_t lo = {c.sets, c.nsets};
    scn_diag_init(&diag);
    int lrc = scn_load(files.v[i], &lo, &s, &diag);
    if (lrc) {
      fputs(diag.text ? diag.text : "", stderr);
      scn_diag_free(&diag);
      worst = lrc == SIM_ENOMEM ? EXIT_INTERNAL : (worst > EXIT_USAGE ? worst : EXIT_USAGE);
      continue;
    }
    scn_diag_free(&diag);
    scn_result_t *r = scn_run(s, &c.run);
    if (!r) {
      fprintf(stderr, "%s: error: out of host memory\n", files.v[i]);
      worst = EXIT_INTERNAL;
      scn_scenario_free(s);
      continue;
    }
    if (r->diag.text) fputs(r->diag.text, stderr);
    if (c.json) cli_print_json(stdout, r);
    else cli_print_table(stdout, r, i > 0);
    if (metrics.f) cli_print_csv(metrics.f, r);
    fflush(stdout);
    if (r->status > worst) worst = status_to_exit(r->status);
    if (r->interrupted) interrupted = 1;
    scn_result_free(r);
    scn_scenario_free(s);
  }
  if (scn_interrupted()) interrupted = 1;
  if (interrupted) { /* partial outputs say so in their last line */
    cli_out_mark_incomplete(&trace, 0);
    cli_out_mark_incomplete(&metrics, 1);
  }
  if (cli_out_close(&trace, 1) | cli_out_close(&metrics, 1)) worst = worst > EXIT_USAGE ? worst : EXIT_USAGE;
  rc = interrupted ? EXIT_INTR : worst;
done:
  if (rc) {
    cli_out_close(&trace, 0);
    cli_out_close(&metrics, 0);
  }
  files_free(&files);
  cli_free(&c);
  return rc;
}

/* ---- check ---------------------------------------------------------------------------------- */
/* check --seeds: the options that make sense with it, then the sweeps. */
static int check_seeds(const cli_t *c, const files_t *files) {
  cli_seeds_opts_t co = {
      .from = 1, .to = 0, .duration = c->run.duration, .jobs = c->run.jobs, .wall_limit = 600};
  if (!c->seeds) return usage_error("check", "%s needs --seeds", "--wall-limit");
  if (c->run.have_seed || c->run.sched)
    return usage_error("check", "%s: --seeds runs fifo on each world seed",
                       c->run.have_seed ? "--seed" : "--sched");
  if (cli_parse_seeds(c->seeds, &co.from, &co.to) || co.to - co.from >= 100000000ull)
    return usage_error("check", "--seeds %s: expected A-B (A <= B, at most 10^8 seeds) or N",
                       c->seeds);
  if (c->wall_limit && cli_parse_seconds(c->wall_limit, &co.wall_limit))
    return usage_error("check", "--wall-limit %s: expected seconds, 0 to 1e9", c->wall_limit);
  scn_load_opts_t lo = {c->sets, c->nsets};
  return cli_check_seeds(files->v, files->n, &lo, &co);
}

static int cmd_check(int argc, char **argv) {
  cli_t c = {0};
  files_t files = {0};
  int rc = parse_opts("check", argc, argv, " seed seeds sched duration set jobs wall-limit ", &c);
  cli_progress_attach(&c.run);
  int npass = 0, nfail = 0, worst = EXIT_OK;
  if (rc) goto done;
  if (c.help) {
    fputs(usage_check, stdout);
    goto done;
  }
  if (collect(&files, c.args, c.nargs, "scenarios")) {
    rc = EXIT_USAGE;
    goto done;
  }
  if (c.seeds || c.wall_limit) {
    rc = check_seeds(&c, &files);
    goto done;
  }
  scn_interrupt_install();
  for (size_t i = 0; i < files.n && !scn_interrupted(); i++) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_load_opts_t lo = {c.sets, c.nsets};
    char verdict[200];
    scn_diag_init(&diag);
    if (scn_load(files.v[i], &lo, &s, &diag)) {
      fputs(diag.text ? diag.text : "", stderr);
      printf("ERROR %s: invalid scenario (%d error%s)\n", files.v[i], diag.nerrors,
             diag.nerrors == 1 ? "" : "s");
      scn_diag_free(&diag);
      nfail++;
      if (worst < EXIT_USAGE) worst = EXIT_USAGE;
      continue;
    }
    scn_diag_free(&diag);
    scn_result_t *r = scn_run(s, &c.run);
    if (!r) {
      printf("ERROR %s: out of host memory\n", files.v[i]);
      nfail++;
      worst = EXIT_INTERNAL;
      scn_scenario_free(s);
      continue;
    }
    if (r->diag.text) fputs(r->diag.text, stderr);
    scn_verdict_text(r, verdict, sizeof verdict);
    int ok = r->status == 0 && r->reproduced_without_fix == 1 && r->absent_with_fix == 1 &&
             !r->interrupted;
    int np = 0, nx = 0;
    for (size_t v = 0; v < r->nvariants; v++) {
      np += r->variants[v].npass;
      nx += (int)r->variants[v].nexpects;
    }
    printf("%s  %-28s %s (%d/%d expectations)  [%s]\n", ok ? "PASS " : r->status >= 2 ? "ERROR" : "FAIL ",
           s->id, verdict, np, nx, files.v[i]);
    if (!ok) {
      for (size_t v = 0; v < r->nvariants; v++)
        for (size_t x = 0; x < r->variants[v].nexpects; x++) {
          const scn_expect_res_t *e = &r->variants[v].expects[x];
          if (e->status == SCN_X_PASS) continue;
          printf("        %s: %s  ->  %s: %s\n", r->variants[v].v->name, e->x->text,
                 e->status == SCN_X_FAIL ? "failed" : "error", e->detail ? e->detail : "");
        }
    }
    if (ok) npass++;
    else nfail++;
    int st = r->status ? r->status : (ok ? 0 : 1);
    if (st > worst) worst = st;
    scn_result_free(r);
    scn_scenario_free(s);
    fflush(stdout);
  }
  printf("%d passed, %d failed\n", npass, nfail);
  rc = scn_interrupted() ? EXIT_INTR : (nfail && worst == 0 ? EXIT_FAIL : worst);
done:
  files_free(&files);
  cli_free(&c);
  return rc;
}

/* ---- validate / list ------------------------------------------------------------------------ */
static int cmd_validate(int argc, char **argv) {
  cli_t c = {0};
  files_t files = {0};
  int rc = parse_opts("validate", argc, argv, " set ", &c);
  if (rc) goto done;
  if (c.help) {
    fputs(usage_validate, stdout);
    goto done;
  }
  if (c.nargs == 0) {
    rc = usage_error("validate", "no scenario file given%s", "");
    goto done;
  }
  if (collect(&files, c.args, c.nargs, NULL)) {
    rc = EXIT_USAGE;
    goto done;
  }
  for (size_t i = 0; i < files.n; i++) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_load_opts_t lo = {c.sets, c.nsets};
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
        printf("%s: ok (%s, model %s, %zu variants, %zu faults, %zu expectations%s)\n", s->file,
               s->id, s->model->name, s->nvariants, s->nfaults, nx,
               probe.nwarnings ? ", see the warnings" : "");
      scn_diag_free(&probe);
    }
    scn_diag_free(&diag);
    scn_scenario_free(s);
  }
done:
  files_free(&files);
  cli_free(&c);
  return rc;
}

static int cmd_list(int argc, char **argv) {
  cli_t c = {0};
  files_t files = {0};
  int rc = parse_opts("list", argc, argv, " ", &c);
  if (rc) goto done;
  if (c.help) {
    fputs(usage_list, stdout);
    goto done;
  }
  if (collect(&files, c.args, c.nargs, "scenarios")) {
    rc = EXIT_USAGE;
    goto done;
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
done:
  files_free(&files);
  cli_free(&c);
  return rc;
}

static int cmd_schema(int argc, char **argv) {
  cli_t c = {0};
  int rc = parse_opts("schema", argc, argv, " json markdown metrics-markdown ", &c);
  if (rc) goto done;
  if (c.help) fputs(usage_schema, stdout);
  else if (c.nargs) rc = usage_error("schema", "unexpected argument '%s'", c.args[0]);
  else if (c.markdown) cli_print_markdown(stdout);
  else if (c.metrics_markdown) {
    size_t nm;
    const sim_model_t *const *models = scn_models(&nm);
    scn_metrics_markdown(stdout, models, nm);
  } else cli_print_schema(stdout);
done:
  cli_free(&c);
  return rc;
}

static int dispatch(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_main, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (argc > 2 && strcmp(argv[2], "help")) {
      char *sub[] = {argv[0], argv[2], "--help", NULL};
      return dispatch(3, sub);
    }
    fputs(usage_main, stdout);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "--version")) {
    puts("storesim 0.1.0");
    return EXIT_OK;
  }
  if (!strcmp(cmd, "run")) return cmd_run(argc - 2, argv + 2);
  if (!strcmp(cmd, "check")) return cmd_check(argc - 2, argv + 2);
  if (!strcmp(cmd, "validate")) return cmd_validate(argc - 2, argv + 2);
  if (!strcmp(cmd, "list")) return cmd_list(argc - 2, argv + 2);
  if (!strcmp(cmd, "schema")) return cmd_schema(argc - 2, argv + 2);
  if (!strcmp(cmd, "sweep")) return cmd_sweep(argc - 2, argv + 2);
  if (!strcmp(cmd, "report")) return cmd_report(argc - 2, argv + 2); /* tools/report_cmds.c */
  if (!strcmp(cmd, "trace")) return cmd_trace(argc - 2, argv + 2);
  if (!strcmp(cmd, "explain")) return cmd_explain(argc - 2, argv + 2);
  if (!strcmp(cmd, "explore")) return cmd_explore(argc - 2, argv + 2);
  static const char *const cmds[] = {"run",  "check",  "validate", "list",    "schema", "sweep",
                                     "help", "report", "trace",    "explain", "explore"};
  char sug[200];
  if (scn_suggest(cmd, cmds, sizeof cmds / sizeof *cmds, 0, sug, sizeof sug))
    fprintf(stderr, "storesim: unknown command '%s' (did you mean %s?)\n", cmd, sug);
  else
    fprintf(stderr, "storesim: unknown command '%s'\n", cmd);
  fputs("(storesim --help lists the commands)\n", stderr);
  return EXIT_USAGE;
}

int main(int argc, char **argv) {
  scn_crash_install(argc, argv);
  cli_stdio_init();
  return cli_exit(dispatch(argc, argv)); /* every command's stdout checked here */
}
