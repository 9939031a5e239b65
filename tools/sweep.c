/*
 * `storesim sweep`: many runs of one scenario over seeds and schedules, on a
 * pthread worker pool, or as one shard of a sweep spread over machines.
 *
 * For each variant it prints how many runs deadlocked, hung, reported a
 * lock-order inversion or failed an expectation, and for the first
 * deadlocking (else hanging) run it writes a decision log, replays it, and
 * checks that the replay gives the same trace hash.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storesim/sweep.h"
#include "storesim_cli.h"
#include "sweep_map.h"

/* ---- options ------------------------------------------------------------------------------ */
/* sweep's options: the engine's own, and where its outputs go. */
typedef struct sweep_args {
  scn_sweep_opts_t o;
  cli_seeds_t seeds;
  const char *jsonl, *logdir, *csv, *shrink;
  cli_list_t sets, metrics; /* --set (axes of a map), --metric */
  int json;
} sweep_args_t;

static void sweep_init(void *p) {
  sweep_args_t *a = p;
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  a->o.sched.kind = SIM_SCHED_RANDOM;
  a->o.sched.depth = 2;
  a->o.jobs = nproc > 0 ? (int)nproc : 1;
  a->o.wall_limit = 600;
  a->seeds.from = 1;
  a->seeds.to = 100;
  a->logdir = "out";
}

static int parse_shard(const char *val, void *target, char *why, size_t nwhy) {
  scn_sweep_opts_t *o = target;
  unsigned si, sn;
  char tail;
  if (sscanf(val, "%u/%u%c", &si, &sn, &tail) != 2 || sn == 0 || si >= sn) {
    snprintf(why, nwhy, "expected I/N with 0 <= I < N");
    return -1;
  }
  o->shard = si;
  o->nshards = sn;
  return 0;
}

#define OFF(field) offsetof(sweep_args_t, field)
static const cli_opt_t opt_sched = {
    .name = "sched",
    .arg = "random|pct[:DEPTH[:STEPS]]|fifo",
    .help = "scheduler family; the seed of each run seeds it (default random)",
    .type = CLI_FN,
    .off = OFF(o),
    .parse = cli_parse_sweep_sched};
static const cli_opt_t opt_seeds = {.name = "seeds",
                                    .arg = "A-B|N",
                                    .help = "seeds A..B, or 1..N (default 1-100)",
                                    .type = CLI_SEEDS,
                                    .off = OFF(seeds)};
static const cli_opt_t opt_variant = {.name = "variant",
                                      .arg = "NAME",
                                      .help = "only this variant (default: all)",
                                      .type = CLI_STR,
                                      .off = OFF(o.variant)};
static const cli_opt_t opt_vary = {
    .name = "vary-world-seed",
    .help = "the seed is also the world seed (default for fifo; otherwise "
            "the world keeps the scenario's seed)",
    .type = CLI_FLAG,
    .off = OFF(o.vary_world_seed)};
static const cli_opt_t opt_jobs = {.name = "jobs",
                                   .arg = "N",
                                   .help = "worker processes (default: the number of cores)",
                                   .type = CLI_INT,
                                   .off = OFF(o.jobs),
                                   .min = 1,
                                   .max = 1024};
static const cli_opt_t opt_wall_limit = {
    .name = "wall-limit",
    .arg = "SECONDS",
    .help =
        "host time one run may take; a run over it is stopped and counted as crashed (default 600, "
        "0: none)",
    .type = CLI_SECONDS,
    .off = OFF(o.wall_limit)};
static const cli_opt_t opt_shard = {
    .name = "shard",
    .arg = "I/N",
    .help = "run only seed indexes i with i % N == I (0-based), to spread "
            "one sweep over N machines",
    .type = CLI_FN,
    .off = OFF(o),
    .parse = parse_shard};
static const cli_opt_t opt_jsonl = {.name = "jsonl",
                                    .arg = "FILE",
                                    .help = "one JSON record per run (shards concatenate)",
                                    .type = CLI_STR,
                                    .off = OFF(jsonl)};
static const cli_opt_t opt_log_dir = {
    .name = "log-dir",
    .arg = "DIR",
    .help = "where decision logs go (default out/, created if missing)",
    .type = CLI_STR,
    .off = OFF(logdir)};
static const cli_opt_t opt_set = {
    .name = "set",
    .arg = "KEY=VALUES",
    .help = "override a scenario key (repeatable). VALUES is one value, a list V1,V2,... "
            "(units allowed: 16MiB,32MiB) or an integer range A..B or A..B:STEP (1..8, "
            "1h..4h:1): several values make a parameter map, the cross product of every --set, "
            "each cell run on every seed",
    .type = CLI_LIST,
    .off = OFF(sets)};
static const cli_opt_t opt_metric = {
    .name = "metric",
    .arg = "METRIC.STAT",
    .help = "a statistic every run records (repeatable; e.g. tasks.exhausted_at.final): its "
            "median and range over the seeds are printed per variant (and per cell of a map); "
            "--jsonl and --csv have it",
    .type = CLI_LIST,
    .off = OFF(metrics)};
static const cli_opt_t opt_csv = {
    .name = "csv",
    .arg = "FILE",
    .help = "one CSV row per cell and variant: the cell's values, runs, runs held, each "
            "--metric's median, min, max, the worst seed and the command that replays it",
    .type = CLI_STR,
    .off = OFF(csv)};
static const cli_opt_t opt_shrink = {
    .name = "shrink",
    .arg = "DIR",
    .help = "shrink the first failing run (in seed order: an expectation, a deadlock, a hang, a "
            "spin, a crash) as `storesim shrink` does, into DIR (min.yaml, min.log, account.txt)",
    .type = CLI_STR,
    .off = OFF(shrink)};
static const cli_opt_t opt_json = {.name = "json",
                                   .help = "print the summary as one JSON object",
                                   .type = CLI_FLAG,
                                   .off = OFF(json)};

static int sweep_main(void *opts, char **args, size_t nargs);
static int merge_main(void *opts, char **args, size_t nargs);

const cli_cmd_t cli_cmd_sweep = {
    .name = "sweep",
    .args = "FILE",
    .summary = "many runs over seeds and schedules (--seeds A-B, --sched random|pct|fifo) on "
               "worker processes (--jobs N)",
    .about = "Runs FILE's variants once per seed on a pool of worker processes and counts, per "
             "variant, the runs that deadlocked, hung, reported a lock-order inversion or failed "
             "an expectation. The first deadlocking run gets a decision log, replayed to check "
             "it reproduces the run (same trace hash).\n"
             "\n"
             "With --set KEY=V1,V2,... or KEY=A..B it runs a parameter map instead: every cell "
             "of the cross product of the --set axes on every seed, all cells on one pool, and "
             "prints per variant one row per cell: the runs whose expectations held, the median "
             "and range of each --metric, and the first seed that did not hold (with the "
             "command that replays it). A cell's numbers are the same for any --jobs and "
             "--shard.\n"
             "\n"
             "Example:\n"
             "  storesim sweep scenarios/kb924567.yaml --sched fifo --seeds 1-20 \\\n"
             "      --set store.tasks=16,32,64,128 --set workload.moves.threads=1..8 \\\n"
             "      --metric tasks.exhausted_at.final --csv map.csv",
    .opts = (const cli_opt_t *const[]){&opt_sched, &opt_seeds, &opt_variant, &opt_vary, &opt_jobs,
                                       &opt_wall_limit, &opt_shard, &opt_set, &opt_metric,
                                       &opt_jsonl, &opt_csv, &opt_log_dir, &opt_shrink, &opt_json,
                                       NULL},
    .notes = "A run that crashes (or exceeds --wall-limit) ends only its worker process: it is "
             "counted in the 'crashed' column, the first one's replay command is printed, and "
             "the other runs go on.",
    .exit = "0 ok, 1 a variant named with_fix deadlocked, hung or failed an expectation in some "
            "run, 2 usage, input or output error, 3 internal error (a run crashed or exceeded "
            "--wall-limit), 130 interrupted.",
    .min_args = 1,
    .max_args = 1,
    .size = sizeof(sweep_args_t),
    .init = sweep_init,
    .run = sweep_main};

const cli_cmd_t cli_cmd_merge = {
    .name = "merge",
    .args = "FILE SHARD.jsonl...",
    .summary = "one sweep's result from the --jsonl files of its --shard I/N parts (job arrays)",
    .about =
        "Reads the --jsonl files written by `storesim sweep FILE --shard I/N --jsonl ...` for "
        "every I (each job of a job array, each machine) and prints the summary, and writes "
        "the --jsonl and --csv, that one `storesim sweep FILE` with the same options would "
        "have printed and written (give it the sweep's --seeds, --sched, --variant, --set, "
        "--metric and --vary-world-seed; --jobs only sets the worker count the header "
        "names). The first deadlocking run's decision log is written and replayed here. "
        "Every run of the sweep must be in exactly one file: a missing, repeated, "
        "interrupted or foreign shard is an error.\n"
        "\n"
        "Example (a Slurm job array of 8 shards, docs/scale.md):\n"
        "  storesim sweep scenarios/q279798.yaml --seeds 1-8000 \\\n"
        "      --shard $SLURM_ARRAY_TASK_ID/8 --jsonl shard-$SLURM_ARRAY_TASK_ID.jsonl\n"
        "  storesim merge scenarios/q279798.yaml shard-*.jsonl --seeds 1-8000 --jsonl all.jsonl",
    .opts = (const cli_opt_t *const[]){&opt_sched, &opt_seeds, &opt_variant, &opt_vary, &opt_jobs,
                                       &opt_set, &opt_metric, &opt_jsonl, &opt_csv, &opt_log_dir,
                                       &opt_json, NULL},
    .notes = "Only `storesim sweep` shards: explore and check --seeds have no --shard.",
    .exit = "as sweep's: 0 ok, 1 a variant named with_fix deadlocked, hung or failed an "
            "expectation in some run, 2 usage, input or output error (a shard missing, repeated, "
            "interrupted or of another sweep), 3 internal error (a run crashed).",
    .min_args = 2,
    .max_args = -1,
    .size = sizeof(sweep_args_t),
    .init = sweep_init,
    .run = merge_main};

/* ---- decision logs ---------------------------------------------------------------------------- */
/* Writes the decision log of `run` under dir (created if missing), named
 * after the scenario, variant and scheduler, and replays it. Returns 0 with
 * path and *same set, or -1 with errno set. */
static int write_log_and_replay(const scn_scenario_t *s,
                                const scn_sweep_opts_t *o,
                                const scn_sweep_run_t *run, const char *dir,
                                char *path, size_t npath, int *same) {
  char sched[96];
  scn_sweep_replay_t rp;
  *same = 0;
  if (cli_mkdirs(dir)) /* it says why */
    return errno = 0, -1;
  scn_sweep_sched_string(o, run->seed, sched, sizeof sched);
  snprintf(path, npath, "%s/%s-%s-%s.log", dir, s->id, s->variants[run->variant].name,
           sched);
  for (char *p = path + strlen(dir) + 1; *p; p++)
    if (*p == ':')
      *p = '-';
  cli_outfile_t of;
  scn_sweep_logio_t io;
  cli_logio_init(&io, &of);
  if (scn_sweep_replay(s, o, run, path, &io, &rp)) {
    errno = ENOMEM;
    return -1;
  }
  if (rp.log_failed) { /* cli_out_* said why */
    scn_sweep_replay_free(&rp);
    return errno = 0, -1;
  }
  *same = rp.same;
  scn_sweep_replay_free(&rp);
  return 0;
}

/* ---- the runs as JSON Lines (--jsonl) ------------------------------------------------------ */
/* Returns 0, or 2 when the file could not be written (said why). */
static int write_jsonl(const char *path, const cli_map_t *m, const scn_sweep_opts_t *o,
                       const scn_sweep_res_t *res, const char *file) {
  cli_outfile_t out;
  char sched[96];
  if (cli_out_open(&out, path)) return 2;
  for (size_t i = 0; i < res->nruns; i++) {
    const scn_sweep_run_t *r = &res->runs[i];
    const scn_scenario_t *s = m->cells[r->cell];
    if (!r->ran) continue;
    scn_sweep_sched_string(o, r->seed, sched, sizeof sched);
    fprintf(out.f,
            "{\"scenario\":\"%s\",\"variant\":\"%s\",\"seed\":%" PRIu64
            ",\"sched\":\"%s\",\"complete\":%s,\"passed\":%s,\"deadlock\":%d,"
            "\"hang\":%d,\"lock_order\":%d,\"spin\":%d,\"crashed\":%d,\"trace_hash\":\"%016" PRIx64
            "\"",
            s->id, s->variants[r->variant].name, r->seed, sched, r->complete ? "true" : "false",
            r->passed ? "true" : "false", r->deadlock, r->hang, r->lock_order, r->spin, r->crashed,
            r->trace_hash);
    if (r->error) {
      fputs(",\"error\":", out.f);
      cli_json_str(out.f, r->error);
    }
    if (r->failed) {
      fputs(",\"failed_expectation\":", out.f);
      cli_json_str(out.f, r->failed);
    }
    cli_map_jsonl_fields(out.f, m, o, file, r);
    fputs("}\n", out.f);
  }
  if (res->interrupted) /* the runs that finished, and a last line that says so */
    cli_out_mark_incomplete(&out, 0);
  return cli_out_close(&out, 1) ? 2 : 0;
}

/* ---- the summary ----------------------------------------------------------------------------- */
/* What one variant's row shows beyond its tally. */
typedef struct variant_row {
  const char *name;
  scn_sweep_tally_t t;
  const scn_sweep_run_t *first; /* first deadlocking, else hanging, run */
  char logpath[4096];
  int same, have_log;
  char crash_cmd[2048]; /* replays the first crash ("" none) */
} variant_row_t;

static void print_header(const scn_scenario_t *s, const scn_sweep_opts_t *o,
                         const scn_sweep_res_t *res, int json) {
  const char *family = o->sched.kind == SIM_SCHED_RANDOM ? "random"
                       : o->sched.kind == SIM_SCHED_PCT  ? "pct"
                                                    : "fifo";
  char fam[64];
  if (o->sched.kind == SIM_SCHED_PCT) snprintf(fam, sizeof fam, "pct (depth %" PRIu64 ")", o->sched.depth);
  else snprintf(fam, sizeof fam, "%s", family);
  if (json) {
    printf("{\"scenario\":\"%s\",\"scheduler\":\"%s\",\"seed_from\":%" PRIu64
           ",\"seed_to\":%" PRIu64 ",\"shard\":%u,\"nshards\":%u,\"interrupted\":%s,"
           "\"variants\":[",
           s->id, family, o->seed_from, o->seed_to, o->shard, o->nshards ? o->nshards : 1,
           res->interrupted ? "true" : "false");
    return;
  }
  printf("%s: seeds %" PRIu64 "-%" PRIu64 "%s, scheduler %s, %d worker%s%s\n", s->id, o->seed_from,
         o->seed_to, o->nshards > 1 ? " (this shard)" : "", fam, o->jobs, o->jobs == 1 ? "" : "s",
         res->interrupted ? " (INTERRUPTED: partial)" : "");
  printf("  %-16s %6s %9s %9s %6s %11s %8s %8s  %s\n", "variant", "runs", "deadlock", "fraction",
         "hang", "lock-order", "crashed", "failed", "first deadlocking seed");
}

static void print_metrics(const cli_map_t *m, const scn_sweep_res_t *res, size_t v, int json);

static void print_row_json(const variant_row_t *v, int nshown, const cli_map_t *m,
                           const scn_sweep_res_t *res, size_t vi) {
  const scn_sweep_tally_t *t = &v->t;
  double frac = (double)t->deadlock / (double)t->runs;
  printf("%s{\"name\":\"%s\",\"runs\":%" PRIu64 ",\"deadlock\":%" PRIu64
         ",\"deadlock_fraction\":%.6f,\"hang\":%" PRIu64 ",\"lock_order\":%" PRIu64
         ",\"spin\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"crashed\":%" PRIu64,
         nshown ? "," : "", v->name, t->runs, t->deadlock, frac, t->hang, t->lock_order, t->spin,
         t->failed, t->crashed);
  if (t->first_crash) {
    printf(",\"first_crash_seed\":%" PRIu64 ",\"first_crash\":", t->first_crash->seed);
    cli_json_str(stdout, t->first_crash->error);
    fputs(",\"first_crash_replay\":", stdout);
    cli_json_str(stdout, v->crash_cmd);
  }
  if (v->first)
    printf(",\"first_seed\":%" PRIu64 ",\"decision_log\":\"%s\",\"replay_same_hash\":%s",
           v->first->seed, v->have_log ? v->logpath : "", v->same ? "true" : "false");
  print_metrics(m, res, vi, 1);
  printf("}");
}

static void print_row_text(const variant_row_t *v, const scn_sweep_opts_t *o, const char *file) {
  const scn_sweep_tally_t *t = &v->t;
  double frac = (double)t->deadlock / (double)t->runs;
  char fs[32] = "-";
  if (v->first)
    snprintf(fs, sizeof fs, "%" PRIu64 "%s", v->first->seed, t->first_deadlock ? "" : " (hang)");
  printf("  %-16s %6" PRIu64 " %9" PRIu64 " %9.4f %6" PRIu64 " %11" PRIu64 " %8" PRIu64 " %8" PRIu64
         "  %s\n",
         v->name, t->runs, t->deadlock, frac, t->hang, t->lock_order, t->crashed, t->failed, fs);
  if (t->first_crash)
    printf("      first crash, seed %" PRIu64 ": %s\n      replay it with: %s\n",
           t->first_crash->seed, t->first_crash->error, v->crash_cmd);
  if (v->have_log) {
    char sched[96], seedopt[48] = "";
    scn_sweep_sched_string(o, v->first->seed, sched, sizeof sched);
    printf("      decision log of seed %" PRIu64 " (%s): %s; replay %s\n", v->first->seed, sched,
           v->logpath, v->same ? "reproduces it (same trace hash)" : "DIVERGED");
    if (o->vary_world_seed || o->sched.kind == SIM_SCHED_FIFO)
      snprintf(seedopt, sizeof seedopt, " --seed %" PRIu64, v->first->seed);
    printf("      storesim run %s --variant %s%s --sched replay:%s\n", file, v->name, seedopt,
           v->logpath);
  }
}

/* Fills row for variant vi: the tally, the first deadlock's decision log and
 * replay, the first crash's replay command. Returns the exit status it
 * calls for (0 none). */
static int variant_row(const scn_scenario_t *s, const scn_sweep_opts_t *o,
                       const scn_sweep_res_t *res, size_t vi, const char *file, const char *logdir,
                       variant_row_t *row) {
  int status = 0;
  const scn_variant_t *v = &s->variants[vi];
  scn_sweep_tally_t *t = &row->t;
  row->name = v->name;
  row->first = t->first_deadlock ? t->first_deadlock : t->first_hang;
  if (row->first && !res->interrupted) {
    if (write_log_and_replay(s, o, row->first, logdir, row->logpath, sizeof row->logpath,
                             &row->same) == 0) {
      row->have_log = 1;
    } else if (errno == ENOMEM) {
      fprintf(stderr, "storesim sweep: out of host memory\n");
      status = 3;
    } else {
      status = 2; /* cli_mkdirs or cli_out_* said why */
    }
  }
  if (!strcmp(v->name, "with_fix") && (t->deadlock || t->hang || t->failed) && !status) status = 1;
  if (t->crashed) status = 3;
  if (t->first_crash) {
    char sched[96];
    scn_sweep_sched_string(o, t->first_crash->seed, sched, sizeof sched);
    scn_crash_ctx_t c = {.id = s->id,
                         .file = file,
                         .variant = v->name,
                         .seed = o->vary_world_seed || o->sched.kind == SIM_SCHED_FIFO
                                     ? t->first_crash->seed
                                     : (uint64_t)v->world.seed,
                         .sched = sched};
    scn_crash_command(&c, row->crash_cmd, sizeof row->crash_cmd);
  }
  return status;
}

/* ---- the command ---------------------------------------------------------------------------- */
/* --metric without a map: each statistic's median and range per variant. */
static void print_metrics(const cli_map_t *m, const scn_sweep_res_t *res, size_t v, int json) {
  for (size_t k = 0; k < m->nmetrics; k++) {
    double med, lo, hi;
    size_t none, nv = cli_map_values(res, 0, v, k, &med, &lo, &hi, &none);
    if (json) {
      printf("%s", k ? "," : ",\"metrics\":{");
      cli_json_str(stdout, m->specs[k]);
      if (nv)
        printf(":{\"median\":%.10g,\"min\":%.10g,\"max\":%.10g,\"none\":%zu}", med, lo, hi, none);
      else printf(":{\"median\":null,\"min\":null,\"max\":null,\"none\":%zu}", none);
      if (k + 1 == m->nmetrics) printf("}");
      continue;
    }
    char a[48], b[48], c[48];
    cli_map_fmt(m, k, med, a, sizeof a);
    cli_map_fmt(m, k, lo, b, sizeof b);
    cli_map_fmt(m, k, hi, c, sizeof c);
    if (nv)
      printf("      %s: median %s, range %s..%s over %zu run%s", m->specs[k], a, b, c, nv,
             cli_s(nv));
    else printf("      %s: no value in any run", m->specs[k]);
    if (none) printf(" (%zu without a value: never happened or no sample)", none);
    printf("\n");
  }
}

/* The classic summary: one row per variant, decision logs of the first
 * deadlock. Returns the exit status. */
static int sweep_summary(const sweep_args_t *a, const cli_map_t *m, const scn_sweep_res_t *res,
                         const char *file) {
  const scn_scenario_t *s = m->cells[0];
  const scn_sweep_opts_t *o = &a->o;
  int status = 0, nshown = 0;
  print_header(s, o, res, a->json);
  for (size_t v = 0; v < s->nvariants; v++) {
    variant_row_t row = {0};
    scn_sweep_tally(res, v, &row.t);
    if (!row.t.runs) continue;
    int st = variant_row(s, o, res, v, file, a->logdir, &row);
    /* 3 wins; a failure of a log (2) does not hide a crash nor lower an error */
    if (st == 3 || (st == 2 && status < 2) || (st == 1 && !status)) status = st;
    if (a->json) {
      print_row_json(&row, nshown++, m, res, v);
    } else {
      print_row_text(&row, o, file);
      print_metrics(m, res, v, 0);
    }
  }
  if (a->json) printf("]}\n");
  return status;
}

/* sweep FILE, or merge FILE SHARD.jsonl... (the runs read from the shards'
 * --jsonl instead of run): the same outputs from the same result. */
static int sweep_or_merge(sweep_args_t *a, char **args, size_t nargs, const char *cmd) {
  scn_sweep_opts_t *o = &a->o;
  const char *file = args[0];
  int merge = nargs > 1;
  cli_map_t m;
  int rc, status;
  o->seed_from = a->seeds.from;
  o->seed_to = a->seeds.to;
  if (cli_dir_usable(a->logdir)) /* created when the first log is written */
    return 2;
  if ((rc = cli_map_parse(&m, &a->sets, &a->metrics)) || (rc = cli_map_load(&m, file))) {
    cli_map_free(&m);
    return rc;
  }
  if (m.map && a->json) {
    cli_map_free(&m);
    return cli_usage_error(cmd, "--json prints one variant row each; a parameter map is "
                                "written with --csv (one row per cell) or --jsonl");
  }
  const scn_scenario_t *s = m.cells[0];
  if (m.map) {
    o->cells = (const scn_scenario_t *const *)m.cells;
    o->ncells = m.ncells;
  }
  o->metrics = (const char *const *)m.names;
  o->stats = m.stats;
  o->nmetrics = m.nmetrics;
  o->pool = cli_mpi_pool();
  scn_interrupt_install();
  scn_sweep_res_t *res = NULL;
  char err[256];
  rc = merge ? scn_sweep_plan(s, o, &res, err, sizeof err) : scn_sweep(s, o, &res, err, sizeof err);
  if (rc) {
    fprintf(stderr, "storesim %s: %s\n", cmd, rc == SIM_ENOMEM ? "out of host memory" : err);
    cli_map_free(&m);
    return rc == SIM_ENOMEM ? 3 : 2;
  }
  if (merge && (rc = cli_merge_read(args + 1, nargs - 1, &m, o, res))) {
    scn_sweep_free(res);
    cli_map_free(&m);
    return rc;
  }
  status = a->jsonl ? write_jsonl(a->jsonl, &m, o, res, file) : 0;
  if (a->csv && cli_map_csv(a->csv, &m, o, res, file)) status = 2;
  int st;
  if (m.map) {
    printf("%s: %zu cells x seeds %" PRIu64 "-%" PRIu64 "%s, %d worker%s%s\n", s->id, m.ncells,
           o->seed_from, o->seed_to, o->nshards > 1 ? " (this shard)" : "", o->jobs,
           o->jobs == 1 ? "" : "s", res->interrupted ? " (INTERRUPTED: partial)" : "");
    st = cli_map_print(&m, o, res, file);
  } else {
    st = sweep_summary(a, &m, res, file);
  }
  if (st == 3 || (st == 2 && status < 2) || (st == 1 && !status)) status = st;
  if (a->shrink && !merge && !res->interrupted && !a->json) {
    const scn_sweep_run_t *f = cli_shrink_first_failure(res, SIZE_MAX);
    if (!f) {
      printf("sweep --shrink: no run failed: nothing to shrink\n");
    } else {
      st = cli_shrink_sweep_run(s, o, f, a->shrink, cmd);
      if (st == 130) res->interrupted = 1;
      else if (st == 3 || (st == 2 && status < 2)) status = st;
    }
  }
  int interrupted = res->interrupted;
  scn_sweep_free(res);
  cli_map_free(&m);
  return interrupted ? 130 : status;
}

static int sweep_main(void *opts, char **args, size_t nargs) {
  return sweep_or_merge(opts, args, nargs, "sweep");
}

static int merge_main(void *opts, char **args, size_t nargs) {
  return sweep_or_merge(opts, args, nargs, "merge");
}
