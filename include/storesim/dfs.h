/*
 * storesim dfs scheduler: one run of a stateless depth-first search over
 * schedules (the kernel's side; the search itself is scn_dfs, exhaust.h).
 *
 * A search re-executes the variant from the start for every schedule, as
 * CHESS and loom do. Each run follows a prefix of forced choices (thread ids,
 * one per decision), then the default, non-preemptive choice: at a
 * scheduling point the running thread goes on, at a pick the oldest READY
 * thread runs. At every decision (a pick among more than one READY thread, or
 * a scheduling point of the running thread with another thread READY: the
 * decisions a decision log numbers) the policy records the candidates, the
 * one chosen and, once it has run, the footprint of the chosen thread's step:
 * the sync objects it touched up to its next scheduling point or until it
 * blocked or finished. The searcher backtracks over these records.
 *
 * Reduction (sleep sets, Godefroid 1996): the searcher gives, for each
 * decision of the prefix, threads whose step from that decision was already
 * explored elsewhere ("sleepers", each with its footprint). A sleeper stays
 * asleep while the steps run after it touch none of its objects, and an
 * asleep thread is never chosen: a run whose every candidate is asleep is
 * redundant and stops at once (SIM_DFS_SLEEP_BLOCKED). Two steps are
 * dependent when their footprints share an object (a mutex, condition
 * variable or semaphore by its name; the CPU cores; the timer queue; thread
 * creation and exit). Why this is sound, and how it combines with the
 * preemption bound: sim/scenario/dfs.c and docs/exhaustive.md.
 *
 * A sim_dfs_run_t belongs to the caller; the world borrows it through
 * sim_sched_t.dfs for one run (one world) and fills its outputs.
 */
#ifndef STORESIM_DFS_H
#define STORESIM_DFS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A thread whose step from some decision is already covered: asleep from
 * that decision on until a step touches one of its objects. */
typedef struct sim_dfs_sleeper {
  uint64_t thread;
  const uint32_t *obj; /* its step's footprint (borrowed), nobj of them */
  uint32_t nobj;
} sim_dfs_sleeper_t;

/* One decision of the run. */
typedef struct sim_dfs_point {
  uint64_t running; /* the thread at its scheduling point (choosing another one
                       preempts it), or 0 for a pick (after a block, yield or
                       exit: every choice is free) */
  uint64_t chosen;
  size_t cand, ncand; /* candidates: ids[cand .. cand + ncand), running first */
  size_t fp, nfp;     /* the chosen step's footprint: objs[fp .. fp + nfp) */
} sim_dfs_point_t;

enum {
  SIM_DFS_RAN,           /* the run went to its end (or stopped for another reason) */
  SIM_DFS_SLEEP_BLOCKED, /* every candidate was asleep: redundant, stopped */
  SIM_DFS_DIVERGED       /* a forced choice was no candidate (a nondeterministic
                            model, or the searcher's bug): stopped */
};

typedef struct sim_dfs_run {
  /* In: the forced choices, and per forced decision i the sleepers added
   * there (adds[i], nadds[i]; adds NULL: no reduction). */
  const uint64_t *prefix;
  size_t nprefix;
  const sim_dfs_sleeper_t *const *adds;
  const size_t *nadds;
  int64_t from; /* decisions before this virtual time (ns) take the default
                   choice and are not recorded (0: every decision is) */
  /* Out (sim_dfs_run_reset empties them, keeping the buffers). */
  sim_dfs_point_t *pts;
  size_t npts, cappts;
  uint64_t *ids;         /* candidates of every point */
  unsigned char *asleep; /* parallel to ids: 1 when the candidate was asleep */
  size_t nids, capids;
  uint32_t *objs; /* footprints */
  size_t nobjs, capobjs;
  int status;             /* SIM_DFS_* */
  uint64_t forced_asleep; /* SIM_DFS_SLEEP_BLOCKED by an asleep thread that ran
                             as the only READY one (no decision): its id */
  char why[256];          /* SIM_DFS_DIVERGED: where */
} sim_dfs_run_t;

/* Empties the outputs of r for its next run (buffers kept). */
void sim_dfs_run_reset(sim_dfs_run_t *r);
/* Frees r's output buffers (not r). */
void sim_dfs_run_free(sim_dfs_run_t *r);
/* A footprint's objects are the world's interned names of sync objects
 * (sim_interned), or one of these pseudo-objects: */
#define SIM_DFS_OBJ_CPU 0xFFFFFF01u     /* the simulated cores */
#define SIM_DFS_OBJ_TIMERS 0xFFFFFF02u  /* the timer queue (order of equal deadlines) */
#define SIM_DFS_OBJ_THREADS 0xFFFFFF03u /* thread creation (ids) and exit */
#define SIM_DFS_OBJ_REPORTS 0xFFFFFF04u /* detector reports */

#ifdef __cplusplus
}
#endif
#endif
