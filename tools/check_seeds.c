/*
 * `storesim check --seeds A-B`: every variant of every scenario on each world
 * seed A..B (scheduler fifo), on the sweep engine's worker processes, and per
 * scenario and variant the fraction of seeds on which every expectation
 * holds, against the fraction the scenario promises (`seed_fraction`,
 * default 1: every seed). A verdict is a claim about a mechanism, so it is
 * checked on many seeds, not the one it was written on.
 *
 * Per scenario: PASS when every variant meets the promise and no run
 * crashed; FAIL otherwise, with the failing seeds of each variant (the
 * first 12) and the command that replays the first. A run that crashed or
 * exceeded the wall-clock limit is a failing seed too, and makes the exit
 * status 3. Results are the same for any --jobs.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storesim/sweep.h"
#include "storesim_cli.h"

enum { SHOW_SEEDS = 12 };

/* One scenario; returns 0 pass, 1 below the promise, 2 an error stopped it
 * (printed), 3 a run crashed. */
static int check_one(const scn_scenario_t *s, const cli_seeds_opts_t *co) {
  scn_sweep_opts_t o = {.sched = {.kind = SIM_SCHED_FIFO},
                        .seed_from = co->from,
                        .seed_to = co->to,
                        .vary_world_seed = 1,
                        .duration = co->duration,
                        .jobs = co->jobs,
                        .wall_limit = co->wall_limit,
                        .pool = cli_mpi_pool()};
  scn_sweep_res_t *res = NULL;
  char err[256];
  int rc = scn_sweep(s, &o, &res, err, sizeof err);
  if (rc) {
    printf("ERROR  %-28s %s  [%s]\n", s->id, rc == SIM_ENOMEM ? "out of host memory" : err,
           s->file);
    return rc == SIM_ENOMEM ? 3 : 2;
  }
  double promise = s->world.seed_fraction;
  int below = 0, crashed = 0;
  for (size_t v = 0; v < s->nvariants; v++) {
    scn_sweep_tally_t t;
    scn_sweep_tally(res, v, &t);
    uint64_t held = t.runs - t.failed;
    /* the promise of this variant (a variant may `set` its own) */
    double p = s->variants[v].world.seed_fraction;
    if (t.runs == 0 || (double)held < p * (double)t.runs - 1e-9) below = 1;
    if (t.crashed) crashed = 1;
    if (p < promise) promise = p;
  }
  const char *tag = crashed ? "ERROR" : below ? "FAIL " : "PASS ";
  printf("%s  %-28s world seeds %" PRIu64 "-%" PRIu64 ", promise %g %%%s  [%s]\n", tag, s->id,
         co->from, co->to, 100.0 * promise, res->interrupted ? " (INTERRUPTED: partial)" : "",
         s->file);
  for (size_t v = 0; v < s->nvariants; v++) {
    scn_sweep_tally_t t;
    scn_sweep_tally(res, v, &t);
    uint64_t held = t.runs - t.failed;
    double frac = t.runs ? (double)held / (double)t.runs : 0;
    char hr[48];
    snprintf(hr, sizeof hr, "%" PRIu64 "/%" PRIu64, held, t.runs);
    printf("         %-20s %13s hold (%.1f %%)", s->variants[v].name, hr, 100.0 * frac);
    if (t.crashed) printf(", %" PRIu64 " crashed", t.crashed);
    if (!t.failed) {
      printf("\n");
      continue;
    }
    printf("; failing seeds:");
    const scn_sweep_run_t *first = NULL;
    uint64_t shown = 0;
    for (size_t i = 0; i < res->nruns; i++) {
      const scn_sweep_run_t *run = &res->runs[i];
      if (run->variant != v || !run->ran || run->passed) continue;
      if (!first) first = run;
      if (shown++ < SHOW_SEEDS) printf(" %" PRIu64, run->seed);
    }
    if (shown > SHOW_SEEDS) printf(" ... (%" PRIu64 " in all)", shown);
    printf("\n");
    if (first) {
      char cmd[2048];
      scn_crash_ctx_t c = {.id = s->id,
                           .file = s->file,
                           .variant = s->variants[v].name,
                           .seed = first->seed,
                           .sched = "fifo",
                           .duration = co->duration};
      scn_crash_command(&c, cmd, sizeof cmd);
      if (first->error) printf("           seed %" PRIu64 ": %s\n", first->seed, first->error);
      else if (first->failed)
        printf("           seed %" PRIu64 ": %s\n", first->seed, first->failed);
      printf("           replay: %s\n", cmd);
    }
  }
  fflush(stdout);
  int interrupted = res->interrupted;
  scn_sweep_free(res);
  if (interrupted) return 130;
  return crashed ? 3 : below ? 1 : 0;
}

int cli_check_seeds(char **files, size_t nfiles, const scn_load_opts_t *lo,
                    const cli_seeds_opts_t *co) {
  int npass = 0, nfail = 0, worst = 0;
  scn_interrupt_install();
  for (size_t i = 0; i < nfiles && !scn_interrupted(); i++) {
    scn_diag_t diag;
    scn_scenario_t *s = NULL;
    scn_diag_init(&diag);
    if (scn_load(files[i], lo, &s, &diag)) {
      fputs(diag.text ? diag.text : "", stderr);
      printf("ERROR  %s: invalid scenario (%d error%s)\n", files[i], diag.nerrors,
             diag.nerrors == 1 ? "" : "s");
      scn_diag_free(&diag);
      nfail++;
      if (worst < 2) worst = 2;
      continue;
    }
    scn_diag_free(&diag);
    int st = check_one(s, co);
    scn_scenario_free(s);
    if (st == 130) break;
    if (st == 0) npass++;
    else nfail++;
    if (st > worst) worst = st;
  }
  printf("%d passed, %d failed\n", npass, nfail);
  if (scn_interrupted()) return 130;
  return worst;
}
