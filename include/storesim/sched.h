/*
 * storesim scheduler specs: which policy picks the next simulated thread.
 *
 * A scheduler is written as text on command lines and in decision logs
 * ("fifo", "random:SEED", "pct:SEED:DEPTH[:STEPS]", "replay:FILE") and
 * parsed once into a sim_sched_t, which the scenario layer, sweeps and the
 * command line pass down to the world (sim_world_opts_t.sched_spec). The
 * policies themselves live in the kernel (sim/kernel/sched.c), one table
 * row each.
 *
 *   policy   pick among READY                scheduling points
 *   fifo     oldest READY first              never switch
 *   random   uniform                         switch with prob. 1/(1+nready)
 *   pct      highest priority                switch when a READY thread has a
 *                                            higher priority; d-1 change points
 *   replay   as named in the decision log    as recorded
 *   dfs      forced prefix, then the oldest  forced prefix, then never switch
 *            (explore --dfs, dfs.h)
 *
 * A sim_sched_t is a plain value: copy it freely. Its pointers (file,
 * replay; dfs) are borrowed; the world reads the file in sim_world_create, so it
 * must outlive that call only.
 */
#ifndef STORESIM_SCHED_H
#define STORESIM_SCHED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PCT finds bugs of depth d with d - 1 priority change points; real bugs are
 * shallow (Burckhardt et al. report d <= 3), so a bound of 1000 costs nothing
 * and keeps the change points' sort and memory small. */
#define SIM_SCHED_PCT_MAX_DEPTH 1000
#define SIM_SCHED_PCT_MAX_STEPS 1000000000000000ull
/* PCT's step estimate k when the spec leaves it out. */
#define SIM_SCHED_PCT_DEFAULT_STEPS 1000

typedef enum sim_sched_kind {
  SIM_SCHED_FIFO, /* zero: a zeroed sim_sched_t is fifo */
  SIM_SCHED_RANDOM,
  SIM_SCHED_PCT,
  SIM_SCHED_REPLAY,
  SIM_SCHED_DFS /* one run of a search (storesim explore --dfs): no text form */
} sim_sched_kind_t;

struct sim_dfs_run; /* dfs.h */

typedef struct sim_sched {
  sim_sched_kind_t kind;
  uint64_t seed;    /* random, pct: seed of the policy's own stream */
  uint64_t depth;   /* pct: bug depth d, 1 .. SIM_SCHED_PCT_MAX_DEPTH */
  uint64_t steps;   /* pct: step estimate k, 1 .. SIM_SCHED_PCT_MAX_STEPS;
                       0: not written (SIM_SCHED_PCT_DEFAULT_STEPS) */
  const char *file; /* replay: the decision log (borrowed, not empty) */
  struct sim_dfs_run *dfs; /* dfs: the search's run (borrowed; filled by the run) */
} sim_sched_t;

/* Parses text (NULL or "" is fifo) into *out. Returns 0, or SIM_EINVAL with
 * "bad scheduler '...': expected ..." in err (n bytes; err may be NULL when
 * n is 0) and *out zeroed (fifo). For replay, out->file points into text.
 * The replay file is not opened here: the world reads it
 * (sim_world_create). */
int sim_sched_parse(const char *text, sim_sched_t *out, char *err, size_t n);

/* Checks a spec built by hand (ranges, a replay file named): 0, or
 * SIM_EINVAL with the message sim_sched_parse gives for its text. */
int sim_sched_check(const sim_sched_t *s, char *err, size_t n);

/* Writes the text of s into buf (n bytes, NUL-terminated, truncated if
 * short): the form sim_sched_parse reads back into the same spec. Returns
 * the length the whole text needs, as snprintf does. */
size_t sim_sched_format(const sim_sched_t *s, char *buf, size_t n);

/* 1 when the policy draws from a seed (random, pct): a sweep over seeds
 * varies the schedule; else (fifo, replay) 0. */
int sim_sched_seeded(const sim_sched_t *s);

#ifdef __cplusplus
}
#endif
#endif
