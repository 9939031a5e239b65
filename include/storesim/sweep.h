/*
 * storesim sweeps: many runs of one scenario (seeds, schedules) spread over a
 * pthread worker pool, or over machines as shards.
 *
 * Each run is one variant with one seed. Runs are independent and each is
 * deterministic, and results are stored by run index, so the outcome does not
 * depend on the number of workers or on how the seeds were sharded: a shard
 * computes exactly the runs whose seed index falls to it, and concatenating
 * the shards' per-run records gives the single-machine records.
 */
#ifndef STORESIM_SWEEP_H
#define STORESIM_SWEEP_H

#include <stdint.h>

#include "storesim/scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SCN_SWEEP_FIFO, SCN_SWEEP_RANDOM, SCN_SWEEP_PCT } scn_sweep_sched_t;

typedef struct scn_sweep_opts {
  const char *variant;     /* NULL: every variant */
  scn_sweep_sched_t sched;
  uint64_t pct_depth;      /* PCT bug depth d (default 2) */
  uint64_t pct_steps;      /* PCT step estimate k (0: kernel default) */
  uint64_t seed_from, seed_to; /* inclusive range */
  int vary_world_seed;     /* also use the seed as the world seed (default for
                              fifo); else the world keeps the scenario's seed
                              and only the schedule varies */
  int jobs;                /* worker threads (>= 1) */
  unsigned shard, nshards; /* this machine runs seed indexes i with
                              i % nshards == shard (nshards 0 = 1) */
} scn_sweep_opts_t;

typedef struct scn_sweep_run {
  uint64_t seed;
  size_t variant;          /* index into s->variants */
  int ran, complete, passed;
  int deadlock, hang, lock_order, spin, misuse; /* detector reports filed */
  uint64_t trace_hash;
} scn_sweep_run_t;

typedef struct scn_sweep_res {
  scn_sweep_run_t *runs;   /* ordered by (seed, variant) */
  size_t nruns;
  int interrupted;
} scn_sweep_res_t;

/* The scheduler string of a run ("random:7", "pct:7:2", "fifo"); buf gets it. */
void scn_sweep_sched_string(const scn_sweep_opts_t *o, uint64_t seed, char *buf,
                            size_t n);
/* Runs the sweep. Returns 0 and *out (free with scn_sweep_free), SIM_EINVAL
 * for bad options (message in err), SIM_ENOMEM. */
int scn_sweep(const scn_scenario_t *s, const scn_sweep_opts_t *o,
              scn_sweep_res_t **out, char *err, size_t nerr);
void scn_sweep_free(scn_sweep_res_t *r);
/* The run options that reproduce one run of a sweep (for logs and replays). */
void scn_sweep_run_opts(const scn_scenario_t *s, const scn_sweep_opts_t *o,
                        uint64_t seed, size_t variant, char *sched, size_t nsched,
                        scn_run_opts_t *ro);

#ifdef __cplusplus
}
#endif
#endif
