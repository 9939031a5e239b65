/*
 * storesim exhaustive search: every schedule of one variant up to a
 * preemption bound (storesim explore --dfs; docs/exhaustive.md).
 *
 * scn_dfs runs the variant again and again in this process, each time under
 * the dfs scheduler (dfs.h) with a prefix of forced choices, and backtracks
 * over the decisions each run recorded (a stateless search, as CHESS and
 * loom do). A preemption is a switch away from a thread at one of its
 * scheduling points (it could go on); switches after a block, yield or exit
 * are free (CHESS's preemption bounding, Musuvathi and Qadeer, PLDI 2007).
 * With the reduction on, sleep sets skip schedules that differ only in the
 * order of independent steps (sim/scenario/dfs.c argues why no failure
 * within the bound is lost).
 *
 * The search stops at the first failing schedule (a deadlock or hang
 * report, an expectation of the variant that fails, or a run that could not
 * run to its end), which it returns as its full list of choices: scn_dfs_log
 * writes it as a decision log that `storesim run --sched replay:LOG`
 * replays. Output depends only on the scenario and the options.
 */
#ifndef STORESIM_EXHAUST_H
#define STORESIM_EXHAUST_H

#include <stdint.h>

#include "storesim/scenario.h"
#include "storesim/sweep.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scn_dfs_opts {
  const char *variant;      /* the variant to search (required) */
  sim_time_t duration;      /* virtual time of each run (0: the scenario's) */
  uint64_t max_preemptions; /* K */
  uint64_t max_schedules;   /* stop after this many runs (0: no limit) */
  double wall_limit;        /* host seconds for the whole search (0: none) */
  int no_reduction;         /* 1: no sleep sets (every schedule within K) */
  sim_time_t from;          /* search the decisions from this virtual time on;
                               earlier ones take the default (0: all) */
  /* Called after every run with the counts so far (NULL: none). */
  void (*progress)(void *arg, uint64_t runs, uint64_t schedules, uint64_t pruned);
  void *progress_arg;
} scn_dfs_opts_t;

enum {
  SCN_DFS_DONE,        /* every schedule within the bound explored, none failed */
  SCN_DFS_FAILED,      /* a failing schedule: fail_* below */
  SCN_DFS_BUDGET,      /* max_schedules or wall_limit hit: partial */
  SCN_DFS_INTERRUPTED, /* SIGINT and friends (scn_interrupted): partial */
  SCN_DFS_ERROR        /* a run diverged from its forced prefix, or could not
                          start: error says why */
};

typedef struct scn_dfs_res {
  int outcome;            /* SCN_DFS_* */
  uint64_t runs;          /* runs made */
  uint64_t schedules;     /* of those, schedules run to their end */
  uint64_t pruned;        /* runs stopped as redundant (sleep set) */
  uint64_t sleep_skipped; /* alternatives never run: asleep where they came up */
  uint64_t bound_skipped; /* alternatives beyond the preemption bound */
  uint64_t left;          /* BUDGET, INTERRUPTED: alternatives still on the
                             search stack (each at least one more run) */
  uint64_t max_decisions; /* most decisions of one run */
  uint64_t max_used;      /* most preemptions of one schedule run */
  double seconds;         /* host time of the search */
  /* SCN_DFS_FAILED: the failing schedule's choices (thread ids, one per
   * decision), its preemptions, trace hash, what failed. */
  uint64_t *fail_choices;
  size_t nfail_choices;
  uint64_t fail_preemptions, fail_hash;
  char *fail_what;
  char *error; /* SCN_DFS_ERROR */
} scn_dfs_res_t;

/* Searches o->variant of s. Returns 0 with *res filled (its outcome says
 * how the search ended; free it with scn_dfs_res_free), SIM_EINVAL for bad
 * options (message in err), SIM_ENOMEM. */
int scn_dfs(const scn_scenario_t *s, const scn_dfs_opts_t *o, scn_dfs_res_t *res, char *err,
            size_t nerr);
void scn_dfs_res_free(scn_dfs_res_t *res);

/* Runs the failing schedule of res once more writing its decision log to
 * path (through io, as scn_sweep_replay), then replays the log; out says
 * whether both give res->fail_hash (out->same). Returns 0 or SIM_ENOMEM. */
int scn_dfs_log(const scn_scenario_t *s, const scn_dfs_opts_t *o, const scn_dfs_res_t *res,
                const char *path, const scn_sweep_logio_t *io, scn_sweep_replay_t *out);

#ifdef __cplusplus
}
#endif
#endif
