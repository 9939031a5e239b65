/*
 * storesim explore: runs variants of one scenario under many schedules and
 * counts the ones that deadlock (the Q279798 exploration).
 *
 * For each selected variant and each scheduler (random:SEED for seeds
 * first..first+N-1, pct:SEED:DEPTH:STEPS likewise) the variant runs in a
 * fresh world exactly as `storesim run` would (same seed, config, fixes and
 * faults; only the schedule differs), and the run's detector reports are
 * read: a wait-for cycle (deadlock) and lock-order inversions. Printed per
 * variant and scheduler: the fraction of schedules that deadlocked, the
 * fraction in which the lock-order validator reported (deadlock or not), and
 * the first deadlocking seed. That seed is then run once more writing its
 * decision log (DIR/<id>.<variant>.<sched>-<seed>.log), and the log is
 * replayed (replay:FILE) to check that it gives the same trace hash and
 * deadlock.
 *
 * The runs, the first deadlock in seed order and the record-and-replay are
 * the sweep engine's (scn_sweep, scn_sweep_tally, scn_sweep_replay in
 * sim/scenario/sweep.c), one sweep per variant and scheduler, so the output
 * does not depend on the number of workers. What is explore's own: the table
 * of several schedulers per variant, PCT's STEPS from a fifo run of the
 * variant, and the lock-order reports of schedules that did not deadlock.
 *
 * Exit status: 0 ok, 2 usage or input error (or a run that could not run to
 * its end), 3 internal error (a replay that does not reproduce), 130
 * interrupted (SIGINT, SIGTERM, SIGHUP: the schedules run so far are
 * counted and printed, marked INTERRUPTED).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storesim/exhaust.h"
#include "storesim/scenario.h"
#include "storesim/sweep.h"
#include "storesim_cli.h"

/* ---- options ------------------------------------------------------------------------------ */
typedef struct explore_args {
  cli_list_t variants, sets;
  int dfs, no_reduction;
  uint64_t preemptions, max_schedules;
  sim_time_t from;
  uint64_t nrandom, npct, depth, first, pct_steps;
  sim_time_t duration;
  int jobs;
  double wall_limit;
  const char *logdir, *shrink;
} explore_args_t;

static void explore_init(void *p) {
  explore_args_t *a = p;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  a->nrandom = a->npct = 1000;
  a->depth = 2;
  a->first = 1;
  a->jobs = ncpu <= 0 ? 1 : ncpu > 1024 ? 1024 : (int)ncpu;
  a->wall_limit = 600;
  a->logdir = ".";
  a->preemptions = UINT64_MAX; /* not given: 2 with --dfs */
}

#define OFF(field) offsetof(explore_args_t, field)
static const cli_opt_t opt_variant = {
    .name = "variant",
    .arg = "NAME",
    .help = "explore this variant (repeatable; default: every variant)",
    .type = CLI_LIST,
    .off = OFF(variants),
    .max = 64};
static const cli_opt_t opt_random = {
    .name = "random",
    .arg = "N",
    .help = "schedules random:SEED for N seeds (default 1000; 0: none)",
    .type = CLI_U64,
    .off = OFF(nrandom),
    .min = 0,
    .max = UINT64_MAX};
static const cli_opt_t opt_pct = {
    .name = "pct",
    .arg = "N",
    .help = "schedules pct:SEED:DEPTH for N seeds (default 1000; 0: none)",
    .type = CLI_U64,
    .off = OFF(npct),
    .min = 0,
    .max = UINT64_MAX};
static const cli_opt_t opt_depth = {.name = "depth",
                                    .arg = "D",
                                    .help = "PCT bug depth (default 2)",
                                    .type = CLI_U64,
                                    .off = OFF(depth),
                                    .min = 1,
                                    .max = 64};
static const cli_opt_t opt_pct_steps = {.name = "pct-steps",
                                        .arg = "K",
                                        .help = "PCT run length for its change points (default: "
                                                "twice the scheduling steps of a fifo run of "
                                                "the variant)",
                                        .type = CLI_U64,
                                        .off = OFF(pct_steps),
                                        .min = 1,
                                        .max = UINT64_MAX};
static const cli_opt_t opt_duration = {
    .name = "duration",
    .arg = "D",
    .help = "virtual time of each run (default: the scenario's; faults after it do not happen)",
    .type = CLI_DURATION,
    .off = OFF(duration)};
static const cli_opt_t opt_first_seed = {.name = "first-seed",
                                         .arg = "S",
                                         .help = "first schedule seed (default 1)",
                                         .type = CLI_U64,
                                         .off = OFF(first),
                                         .min = 0,
                                         .max = UINT64_MAX};
static const cli_opt_t opt_jobs = {.name = "jobs",
                                   .arg = "J",
                                   .help = "worker processes (default: online CPUs)",
                                   .type = CLI_INT,
                                   .off = OFF(jobs),
                                   .min = 1,
                                   .max = 1024};
static const cli_opt_t opt_wall_limit = {.name = "wall-limit",
                                         .arg = "S",
                                         .help =
                                             "host seconds one run may take (default 600; 0: none)",
                                         .type = CLI_SECONDS,
                                         .off = OFF(wall_limit)};
static const cli_opt_t opt_log_dir = {.name = "log-dir",
                                      .arg = "DIR",
                                      .help =
                                          "where decision logs go (default: .; created if missing)",
                                      .type = CLI_STR,
                                      .off = OFF(logdir)};

static const cli_opt_t opt_set = {.name = "set",
                                  .arg = "KEY=VALUE",
                                  .help = "override a scenario key (repeatable)",
                                  .type = CLI_LIST,
                                  .off = OFF(sets)};
static const cli_opt_t opt_dfs = {
    .name = "dfs",
    .help = "exhaustive search instead: every schedule of each variant up to --preemptions, "
            "with sleep sets (docs/exhaustive.md)",
    .type = CLI_FLAG,
    .off = OFF(dfs)};
static const cli_opt_t opt_preemptions = {.name = "preemptions",
                                          .arg = "K",
                                          .help = "--dfs: the preemption bound (default 2)",
                                          .type = CLI_U64,
                                          .off = OFF(preemptions),
                                          .min = 0,
                                          .max = 1000000};
static const cli_opt_t opt_max_schedules = {
    .name = "max-schedules",
    .arg = "N",
    .help = "--dfs: stop after N runs per variant (default 0: no limit)",
    .type = CLI_U64,
    .off = OFF(max_schedules),
    .min = 0,
    .max = UINT64_MAX};
static const cli_opt_t opt_from = {
    .name = "from",
    .arg = "T",
    .help = "--dfs: search only the decisions from virtual time T on; earlier ones are "
            "fifo's (default: all)",
    .type = CLI_DURATION,
    .off = OFF(from)};
static const cli_opt_t opt_no_reduction = {
    .name = "no-reduction",
    .help = "--dfs: no sleep sets: run every schedule within the bound",
    .type = CLI_FLAG,
    .off = OFF(no_reduction)};
static const cli_opt_t opt_shrink = {
    .name = "shrink",
    .arg = "DIR",
    .help = "shrink the first failing schedule found (variants in order, random before PCT, in "
            "seed order: the same for any --jobs) as `storesim shrink` does, into DIR",
    .type = CLI_STR,
    .off = OFF(shrink)};

static int explore_main(void *opts, char **args, size_t nargs);

const cli_cmd_t cli_cmd_explore = {
    .name = "explore",
    .args = "FILE",
    .summary = "count deadlocks of a scenario over many random/PCT schedules, or search every "
               "schedule (--dfs)",
    .about = "Runs variants of a scenario under many random and PCT schedules and reports, per "
             "variant and scheduler, the fraction of schedules that deadlock (a wait-for cycle), "
             "the fraction the lock-order validator reports on, and the first deadlocking seed "
             "with a decision log that replays it. With --dfs it instead enumerates every "
             "schedule of each variant with at most --preemptions preemptions (CHESS's "
             "preemption bounding; sleep sets skip schedules that differ only in the order of "
             "independent steps) and prints either the number of schedules, none failing, or "
             "the first failing one (a deadlock, a hang, a failed expectation) as a decision "
             "log that storesim run --sched replay:LOG replays.",
    .opts =
        (const cli_opt_t *const[]){&opt_variant, &opt_random, &opt_pct, &opt_depth, &opt_pct_steps,
                                   &opt_duration, &opt_first_seed, &opt_jobs, &opt_wall_limit,
                                   &opt_log_dir, &opt_set, &opt_dfs, &opt_preemptions,
                                   &opt_max_schedules, &opt_from, &opt_no_reduction, &opt_shrink, NULL},
    .notes = "example (the Q279798 exploration, 1,000 seeds of each scheduler):\n"
             "  storesim explore --variant race_without_fix --variant race_with_fix \\\n"
             "      --duration 10s --log-dir out scenarios/q279798.yaml\n"
             "\n"
             "A run that crashes, exceeds a limit or --wall-limit is counted and the first one's "
             "replay command printed; the other schedules still run.\n"
             "\n"
             "example (exhaustive, docs/exhaustive.md):\n"
             "  storesim explore --dfs --preemptions 3 --variant dfs_race_with_fix \\\n"
             "      scenarios/q279798.yaml\n"
             "\n"
             "With --dfs the runs are made one after another in this process (--jobs does not "
             "apply) and --wall-limit bounds the whole search of a variant; a search stopped by "
             "it, by --max-schedules or by Ctrl-C says how far it got and proves nothing.",
    .exit = "0 ok, 2 usage, input or output error (or a run stopped by a limit), 3 a run crashed "
            "or a decision log did not replay, 130 interrupted (the schedules run so far are "
            "printed); --dfs: 0 no failure in any schedule within the bound, 1 a failing "
            "schedule found, 4 the search stopped at --max-schedules or --wall-limit before "
            "the end",
    .min_args = 1,
    .max_args = 1,
    .size = sizeof(explore_args_t),
    .init = explore_init,
    .run = explore_main};

/* ---- exploring ------------------------------------------------------------------------------ */
/* What one exploration asks for, the same for every variant and scheduler. */
typedef struct explore {
  const scn_scenario_t *s;
  uint64_t depth, pct_steps; /* pct_steps 0: from a fifo run of each variant */
  uint64_t first;            /* first schedule seed */
  sim_time_t duration;       /* 0: the scenario's */
  int jobs;
  double wall_limit; /* host seconds per run (0: none) */
  const char *logdir;
  const char *shrink; /* --shrink DIR, or NULL */
  int shrunk;         /* the first failure was shrunk (or tried) */
} explore_t;

/* Prints why run could not run to its end (the sweep engine's reason). */
static void run_error(const scn_scenario_t *s, const scn_sweep_opts_t *o,
                      const scn_sweep_run_t *run, int with_sched) {
  const char *v = s->variants[run->variant].name;
  char sched[96];
  scn_sweep_sched_string(o, run->seed, sched, sizeof sched);
  if (!run->error) fprintf(stderr, "%s: error: variant %s: out of host memory\n", s->file, v);
  else if (!run->ran) /* the runner's whole message: file, variant, reason */
    fprintf(stderr, "%s\n", run->error);
  else if (with_sched)
    fprintf(stderr, "%s: error: variant %s: %s: %s\n", s->file, v, sched, run->error);
  else fprintf(stderr, "%s: error: variant %s: %s\n", s->file, v, run->error);
}

/* Runs the sweep o into *res. Returns 0, or prints why not and returns the
 * exit status: 2 (bad options, such as too many seeds) or 3 (host OOM). */
static int sweep(const scn_scenario_t *s, const scn_sweep_opts_t *o, scn_sweep_res_t **res) {
  char err[256];
  int rc = scn_sweep(s, o, res, err, sizeof err);
  if (rc) fprintf(stderr, "storesim explore: %s\n", rc == SIM_ENOMEM ? "out of host memory" : err);
  return rc == 0 ? 0 : rc == SIM_ENOMEM ? 3 : 2;
}

/* PCT's STEPS for variant vi: twice the scheduling steps of a fifo run of it
 * (at least 10). Returns 0 and *steps, or prints why not and returns the
 * exit status (2, 3). */
static int pct_steps_of(explore_t *x, size_t vi, uint64_t *steps) {
  const scn_variant_t *v = &x->s->variants[vi];
  /* A fifo sweep sets the world seed to its seed: the variant's own. */
  scn_sweep_opts_t o = {.variant = v->name,
                        .sched = {.kind = SIM_SCHED_FIFO},
                        .seed_from = (uint64_t)v->world.seed,
                        .seed_to = (uint64_t)v->world.seed,
                        .duration = x->duration,
                        .jobs = 1,
                        .pool = cli_mpi_pool()};
  scn_sweep_res_t *res;
  int rc = sweep(x->s, &o, &res);
  if (rc) return rc;
  const scn_sweep_run_t *f = &res->runs[0];
  if (scn_interrupted()) {
    rc = 130;
  } else if (!f->complete) {
    run_error(x->s, &o, f, 0);
    rc = 2;
  } else {
    *steps = 2 * f->steps > 10 ? 2 * f->steps : 10;
  }
  scn_sweep_free(res);
  return rc;
}

/* Explores variant vi under one scheduler family (n seeds); prints one line.
 * Returns 0, 2 (input error, or a run that could not run to its end) or 3
 * (the replay did not reproduce, host OOM). */
static int explore_one(explore_t *x, size_t vi, int pct, uint64_t n) {
  const scn_scenario_t *s = x->s;
  const scn_variant_t *v = &s->variants[vi];
  uint64_t pct_steps = x->pct_steps;
  int rc;
  if (pct && pct_steps == 0 && (rc = pct_steps_of(x, vi, &pct_steps))) return rc;
  if (n - 1 > UINT64_MAX - x->first) {
    fprintf(stderr,
            "storesim explore: %" PRIu64 " seeds from seed %" PRIu64 " go past the largest seed\n",
            n, x->first);
    return 2;
  }
  scn_sweep_opts_t o = {.variant = v->name,
                        .sched = {.kind = pct ? SIM_SCHED_PCT : SIM_SCHED_RANDOM,
                                  .depth = x->depth,
                                  .steps = pct_steps},
                        .seed_from = x->first,
                        .seed_to = x->first + (n - 1),
                        .duration = x->duration,
                        .jobs = x->jobs,
                        .wall_limit = x->wall_limit,
                        .pool = cli_mpi_pool()};
  scn_sweep_res_t *res;
  if ((rc = sweep(s, &o, &res))) return rc;
  scn_sweep_tally_t t;
  scn_sweep_tally(res, vi, &t);
  if (res->interrupted) n = t.runs; /* what ran so far; no replay */
  double dn = n ? (double)n : 1;    /* interrupted before any schedule ran: 0 of 0 */
  /* A run that crashed, hit a limit or could not run is a result: it is
   * counted and the first one named with its replay command; the other
   * schedules still count. */
  uint64_t nerr = 0;
  for (size_t i = 0; i < res->nruns; i++) nerr += res->runs[i].error != NULL;
  if (t.first_error && !res->interrupted) {
    char sched[96], cmd[2048];
    run_error(s, &o, t.first_error, 1);
    scn_sweep_sched_string(&o, t.first_error->seed, sched, sizeof sched);
    scn_crash_ctx_t c = {.id = s->id,
                         .file = s->file,
                         .variant = v->name,
                         .seed = (uint64_t)v->world.seed,
                         .sched = sched,
                         .duration = x->duration};
    scn_crash_command(&c, cmd, sizeof cmd);
    fprintf(stderr,
            "%s: %" PRIu64 " of %" PRIu64 " runs of variant %s did not run to their end "
            "(%" PRIu64 " crashed); replay the first with: %s\n",
            s->file, nerr, n, v->name, t.crashed, cmd);
    rc = t.crashed ? 3 : 2;
  }
  char famd[64];
  if (pct)
    snprintf(famd, sizeof famd, "pct(d=%d,k=%llu)", (int)x->depth, (unsigned long long)pct_steps);
  else
    snprintf(famd, sizeof famd, "random");
  printf("%-18s %-16s %5zu schedules  deadlock %5zu (%.4f)  lock-order %5zu (%.4f, "
         "%zu without deadlock)",
         v->name, famd, (size_t)n, (size_t)t.deadlock, (double)t.deadlock / dn,
         (size_t)t.lock_order, (double)t.lock_order / dn, (size_t)t.lock_order_only);
  const scn_sweep_run_t *dl = t.first_deadlock;
  if (res->interrupted) {
    printf("  (INTERRUPTED: partial)\n");
    rc = 130;
  } else if (!dl) {
    printf("  first deadlock: none\n");
  } else if (cli_mkdirs(x->logdir)) {
    printf("  first deadlock: %" PRIu64 "\n", dl->seed);
    rc = 2;
  } else {
    char sched[96], path[1024];
    scn_sweep_sched_string(&o, dl->seed, sched, sizeof sched);
    snprintf(path, sizeof path, "%s/%s.%s.%s-%llu.log", x->logdir, s->id, v->name,
             pct ? "pct" : "random", (unsigned long long)dl->seed);
    scn_sweep_replay_t rp;
    cli_outfile_t of;
    scn_sweep_logio_t io;
    cli_logio_init(&io, &of);
    if (scn_sweep_replay(s, &o, dl, path, &io, &rp)) {
      fprintf(stderr, "storesim explore: out of host memory\n");
      scn_sweep_free(res);
      return 3;
    }
    if (rp.log_failed) { /* cli_out_* said why */
      printf("  first deadlock: %" PRIu64 " (no decision log)\n", dl->seed);
      scn_sweep_replay_free(&rp);
      fflush(stdout);
      scn_sweep_free(res);
      return 2;
    }
    const scn_sweep_run_t *rec = &rp.rec, *rep = &rp.rep;
    /* The replay must give the same run: the same trace hash, hence the same
     * cycle (same threads at the same virtual time, checked too). */
    int same = rp.same && rec->complete && rep->complete && rec->deadlock && rep->deadlock &&
               rep->deadlock_time == rec->deadlock_time &&
               !memcmp(rep->deadlock_threads, rec->deadlock_threads, sizeof rec->deadlock_threads);
    printf("  first deadlock: %s at t=%.9fs, cycle T%llu/T%llu; decision log %s (replay %s)\n",
           sched, (double)rec->deadlock_time / 1e9, (unsigned long long)rec->deadlock_threads[0],
           (unsigned long long)rec->deadlock_threads[1], path,
           same ? "reproduces it, same trace hash" : "DOES NOT reproduce it");
    if (!same) {
      const scn_sweep_run_t *bad = rec->error ? rec : rep->error ? rep : NULL;
      if (bad && !bad->ran) /* the runner's whole message */
        fprintf(stderr, "%s\n", bad->error);
      else if (bad) fprintf(stderr, "%s: error: %s\n", path, bad->error);
      rc = 3;
    }
    scn_sweep_replay_free(&rp);
  }
  fflush(stdout);
  const scn_sweep_run_t *f;
  if (x->shrink && !x->shrunk && !res->interrupted && (f = cli_shrink_first_failure(res, vi))) {
    x->shrunk = 1;
    int st = cli_shrink_sweep_run(s, &o, f, x->shrink, "explore");
    if (st > rc) rc = st;
  }
  scn_sweep_free(res);
  return rc;
}

/* ---- --dfs: the exhaustive search ------------------------------------------------------------ */
/* Searches variant vi; prints its lines. Returns the exit status for it: 0
 * clean, 1 a failing schedule, 4 a bound hit, 130 interrupted, 2 an error
 * (3: a log that does not replay, host OOM). */
static int explore_dfs(const explore_args_t *a, const scn_scenario_t *s, size_t vi) {
  const scn_variant_t *v = &s->variants[vi];
  scn_dfs_opts_t o = {.variant = v->name,
                      .duration = a->duration,
                      .max_preemptions = a->preemptions,
                      .max_schedules = a->max_schedules,
                      .wall_limit = a->wall_limit,
                      .no_reduction = a->no_reduction,
                      .from = a->from};
  scn_dfs_res_t r;
  char err[256];
  if (scn_dfs(s, &o, &r, err, sizeof err)) {
    fprintf(stderr, "storesim explore: %s\n", err);
    return 3;
  }
  char red[96];
  if (a->no_reduction) snprintf(red, sizeof red, "no reduction");
  else snprintf(red, sizeof red, "%" PRIu64 " runs pruned by sleep sets", r.pruned);
  int rc = 0;
  switch (r.outcome) {
  case SCN_DFS_DONE:
    printf("%-18s dfs  no failure in any of %" PRIu64 " schedules with <= %" PRIu64
           " preemptions (%s; %" PRIu64 " decisions at most; %.1fs)\n",
           v->name, r.schedules, a->preemptions, red, r.max_decisions, r.seconds);
    break;
  case SCN_DFS_BUDGET:
  case SCN_DFS_INTERRUPTED:
    printf("%-18s dfs  %s: no failure in the %" PRIu64
           " schedules explored (%s) of at least %" PRIu64 " with <= %" PRIu64
           " preemptions: NOT exhaustive\n",
           v->name,
           r.outcome == SCN_DFS_INTERRUPTED                 ? "INTERRUPTED"
           : a->max_schedules && r.runs >= a->max_schedules ? "stopped at --max-schedules"
                                                            : "stopped at --wall-limit",
           r.schedules, red, r.schedules + r.left, a->preemptions);
    rc = r.outcome == SCN_DFS_INTERRUPTED ? 130 : 4;
    break;
  case SCN_DFS_ERROR:
    fprintf(stderr, "%s: error: variant %s: %s\n", s->file, v->name, r.error ? r.error : "?");
    rc = r.error && strstr(r.error, "diverged") ? 3 : 2;
    break;
  case SCN_DFS_FAILED: {
    rc = 1;
    printf("%-18s dfs  FAILING schedule %" PRIu64 " (of %" PRIu64 " runs; %s) with %" PRIu64
           " preemptions: %s\n",
           v->name, r.schedules, r.runs, red, r.fail_preemptions, r.fail_what);
    char path[1024], sched[1100], cmd[4096];
    if (cli_mkdirs(a->logdir)) {
      rc = 2;
      break;
    }
    snprintf(path, sizeof path, "%s/%s.%s.dfs-k%" PRIu64 ".log", a->logdir, s->id, v->name,
             a->preemptions);
    scn_sweep_replay_t rp;
    cli_outfile_t of;
    scn_sweep_logio_t io;
    cli_logio_init(&io, &of);
    if (scn_dfs_log(s, &o, &r, path, &io, &rp)) {
      fprintf(stderr, "storesim explore: out of host memory\n");
      rc = 3;
      break;
    }
    if (rp.log_failed) {
      scn_sweep_replay_free(&rp);
      rc = 2;
      break;
    }
    snprintf(sched, sizeof sched, "replay:%s", path);
    scn_crash_ctx_t c = {.id = s->id,
                         .file = s->file,
                         .variant = v->name,
                         .seed = (uint64_t)v->world.seed,
                         .sched = sched,
                         .duration = a->duration};
    scn_crash_command(&c, cmd, sizeof cmd);
    printf("  decision log %s (%zu decisions searched; replay %s, trace hash %016" PRIx64 ")\n"
           "  replay: %s\n",
           path, r.nfail_choices,
           rp.same ? "reproduces it, same trace hash" : "DOES NOT reproduce it", r.fail_hash, cmd);
    if (!rp.same) rc = 3;
    scn_sweep_replay_free(&rp);
    break;
  }
  }
  fflush(stdout);
  scn_dfs_res_free(&r);
  return rc;
}

/* ---- the command ---------------------------------------------------------------------------- */
static int explore_main(void *opts, char **args, size_t nargs) {
  const explore_args_t *a = opts;
  const char *file = args[0], *logdir = a->logdir;
  const char *const *variants = a->variants.v;
  size_t nvariants = a->variants.n;
  uint64_t nrandom = a->nrandom, npct = a->npct, depth = a->depth, first = a->first;
  (void)nargs;
  if (!a->dfs && (a->preemptions != UINT64_MAX || a->max_schedules || a->from || a->no_reduction)) {
    fprintf(stderr, "storesim explore: --preemptions, --max-schedules, --from and --no-reduction "
                    "need --dfs\n");
    return 2;
  }
  if (cli_dir_usable(logdir)) return 2; /* created when the first log is written */
  scn_diag_t diag;
  scn_scenario_t *s = NULL;
  scn_diag_init(&diag);
  scn_load_opts_t lo = {.sets = a->sets.v, .nsets = a->sets.n};
  if (scn_load(file, &lo, &s, &diag)) {
    fputs(diag.text ? diag.text : "", stderr);
    scn_diag_free(&diag);
    return 2;
  }
  scn_diag_free(&diag);
  for (size_t k = 0; k < nvariants; k++)
    if (!scn_variant_find(s, variants[k])) {
      fprintf(stderr, "%s: error: no variant '%s'\n", file, variants[k]);
      scn_scenario_free(s);
      return 2;
    }
  scn_interrupt_install(); /* SIGINT, SIGTERM: the counts so far, exit 130 */
  if (a->dfs) {
    explore_args_t da = *a;
    if (da.preemptions == UINT64_MAX) da.preemptions = 2;
    a = &da;
    printf("explore %s (%s): exhaustive, seed %lld, <= %llu preemptions%s\n", file, s->id,
           (long long)s->world.seed, (unsigned long long)a->preemptions,
           a->no_reduction ? ", no reduction" : ", sleep sets");
    int worst = 0;
    for (size_t i = 0; i < s->nvariants; i++) {
      int sel = nvariants == 0;
      for (size_t k = 0; k < nvariants; k++) sel |= !strcmp(variants[k], s->variants[i].name);
      if (!sel) continue;
      int rc = explore_dfs(a, s, i);
      /* the worst: an error, then interrupted, a failure, a bound hit */
      static const int rank[] = {[0] = 0, [4] = 1, [1] = 2, [130] = 3, [2] = 4, [3] = 5};
      if (rank[rc] >= rank[worst]) worst = rc;
      if (rc == 130 || rc == 2 || rc == 3) break;
    }
    scn_scenario_free(s);
    return worst;
  }
  printf("explore %s (%s): seed %lld, schedules from seed %llu, PCT depth %llu\n", file, s->id,
         (long long)s->world.seed, (unsigned long long)first, (unsigned long long)depth);
  explore_t x = {.s = s,
                 .depth = depth,
                 .pct_steps = a->pct_steps,
                 .first = first,
                 .duration = a->duration,
                 .jobs = a->jobs,
                 .wall_limit = a->wall_limit,
                 .logdir = logdir,
                 .shrink = a->shrink};
  int worst = 0;
  for (size_t i = 0; i < s->nvariants; i++) {
    int sel = nvariants == 0;
    for (size_t k = 0; k < nvariants; k++) sel |= !strcmp(variants[k], s->variants[i].name);
    if (!sel) continue;
    for (int pct = 0; pct < 2; pct++) {
      uint64_t n = pct ? npct : nrandom;
      if (n == 0) continue;
      int rc = scn_interrupted() ? 130 : explore_one(&x, i, pct, n);
      if (rc > worst) worst = rc;
      if (rc == 2 || rc == 130) goto out;
    }
  }
  if (a->shrink && !x.shrunk) printf("explore --shrink: no schedule failed: nothing to shrink\n");
out:
  scn_scenario_free(s);
  return worst;
}
